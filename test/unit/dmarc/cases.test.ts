/**
 * The vendored DMARC cases (test/fixtures/dmarc/cases.json, see its README): every row is run
 * against the semantics its section names (OpenDMARC: RFC 7489, checkdmarc: RFC 9989).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { isAligned } from '../../../src/dmarc/align.js';
import { lintDmarc } from '../../../src/dmarc/lint.js';
import { parseDmarc, type DmarcMode } from '../../../src/dmarc/parse.js';

interface ParseRow {
  record: string;
  expect: string;
  test?: string;
  doc?: string;
  opendmarc_status?: string;
  rfc7489_note?: string;
  parked?: boolean;
}
interface AlignRow {
  domain: string;
  against: string;
  mode: 'r' | 's';
  aligned: boolean;
}
const cases = JSON.parse(readFileSync(new URL('../../fixtures/dmarc/cases.json', import.meta.url), 'utf8')) as {
  opendmarc_parse: ParseRow[];
  opendmarc_alignment: AlignRow[];
  checkdmarc_parse: ParseRow[];
};

/** Rows where maildns deliberately gives another answer than the tool the row comes from. */
const KNOWN: Record<string, { ours: 'valid' | 'invalid'; code?: string; why: string }> = {
  'v=DMARC1; p=n;': {
    ours: 'invalid',
    code: 'dmarc.invalid-p',
    why: 'OpenDMARC looks only at the first letter of p; the RFC 7489 §6.4 grammar allows only the words none, quarantine and reject',
  },
  ...Object.fromEntries(
    ['v=DMARC1; p=none; rf=bob;', 'v=DMARC1; p=none; rf=000000000000000000000000000000000'].map((record) => [
      record,
      {
        ours: 'valid' as const,
        code: 'dmarc.invalid-rf',
        why: 'OpenDMARC refuses the record; RFC 7489 §6.3 says a receiver that sees an unregistered rf value SHOULD ignore it (it MAY ignore the record), so maildns warns',
      },
    ]),
  ),
};

/** checkdmarc exception names and the finding code maildns gives for the same fault. */
const CODE_FOR: Record<string, (row: ParseRow) => string> = {
  InvalidDMARCReportURI: () => 'dmarc.report-uri-invalid',
  InvalidDMARCTag: () => 'dmarc.duplicate-tag',
  DMARCSyntaxError: () => 'dmarc.syntax',
  SPFRecordFoundWhereDMARCRecordShouldBe: () => 'dmarc.spf-record',
  InvalidDMARCTagValue: (row) => {
    const m = /;\s*(p|sp|np|psd|t|fo)=(?:foo|invalid|x|invalid_value)\b/.exec(row.record);
    return `dmarc.invalid-${m?.[1] ?? 'p'}`;
  },
};

/** Findings checkdmarc's test expects as warnings, by its test name. */
const WARNING_FOR: Record<string, string> = {
  testRFC9989PctRemovedWarning: 'dmarc.removed-tag',
  testRFC9989RfRemovedWarning: 'dmarc.removed-tag',
  testRFC9989RiRemovedWarning: 'dmarc.removed-tag',
  testRFC9989MissingPTagWarning: 'dmarc.missing-p',
  testDMARCUnknownTagIgnored: 'dmarc.unknown-tag',
  testDMARCFoRedundancy: 'dmarc.fo-redundant',
  testDMARCSpNoneWarning: 'dmarc.subdomain-policy-none',
  testDMARCMissingRuaWarning: 'dmarc.no-rua',
  testDMARCPTagPositionWarns: 'dmarc.p-not-second',
  testRuaSizeLimitWarning: 'dmarc.report-size-obsolete',
  testRufBranchesCovered: 'dmarc.report-size-obsolete',
  testDMARCPctRemovedNotValidated: 'dmarc.removed-tag',
  testDMARCRiRemovedNotValidated: 'dmarc.removed-tag',
  testDMARCRfRemovedNotValidated: 'dmarc.removed-tag',
  testDMARCParkedDomainPolicyWarning: 'dmarc.policy-none',
};

function check(record: string, mode: DmarcMode) {
  const parsed = parseDmarc(record, { mode, subject: '_dmarc.example.com' });
  const findings = [...parsed.findings, ...lintDmarc(parsed)];
  return { parsed, findings, valid: !findings.some((f) => f.severity === 'error'), codes: findings.map((f) => f.code) };
}

function runParseRows(section: string, rows: ParseRow[], mode: DmarcMode): void {
  describe(`${section} (RFC ${mode})`, () => {
    rows.forEach((row, i) => {
      const known = KNOWN[row.record];
      const label = `#${i} ${row.test ?? row.opendmarc_status ?? ''} ${JSON.stringify(row.record)}`;
      it(known ? `${label} [known difference: ${known.why}]` : label, () => {
        const r = check(row.record, mode);
        if (known) {
          expect(r.valid ? 'valid' : 'invalid').toBe(known.ours);
          if (known.code) expect(r.codes).toContain(known.code);
          return;
        }
        const [want, kind] = row.expect.split(':');
        expect(r.valid ? 'valid' : 'invalid', JSON.stringify(r.findings, null, 1)).toBe(want);
        if (kind) expect(r.codes).toContain(CODE_FOR[kind]!(row));
        const warn = row.test ? WARNING_FOR[row.test] : undefined;
        if (warn) expect(r.codes).toContain(warn);
      });
    });
  });
}

runParseRows('opendmarc_parse', cases.opendmarc_parse, '7489');
runParseRows('checkdmarc_parse', cases.checkdmarc_parse.filter((r) => !r.rfc7489_note), '9989');

describe('opendmarc_alignment (RFC 7489, Public Suffix List)', () => {
  cases.opendmarc_alignment.forEach((row, i) => {
    it(`#${i} ${row.domain} vs ${row.against} (${row.mode}) -> ${row.aligned}`, () => {
      expect(isAligned(row.domain, row.against, row.mode)).toBe(row.aligned);
    });
  });
});

describe('the known-difference list stays honest', () => {
  it('every known row exists in the fixture', () => {
    const all = [...cases.opendmarc_parse, ...cases.checkdmarc_parse].map((r) => r.record);
    for (const rec of Object.keys(KNOWN)) expect(all).toContain(rec);
  });
});
