/**
 * Crafted DMARC records through the parser, table-driven (a property test can feed the same
 * checks later): every text gets a parse with findings, never an exception, and the parser and
 * the record picker (looksLikeDmarc) agree on what is a DMARC record.
 */
import { describe, expect, it } from 'vitest';
import { looksLikeDmarc, looksLikeDmarcButForCase, parseDmarc, DMARC_MODES, type ParsedDmarc } from '../../../src/dmarc/parse.js';

const CRAFTED = [
  '',
  ' ',
  ';',
  '=',
  'v=',
  'v=DMARC1',
  'v=DMARC1;',
  'v=dmarc1; p=reject',
  'V=DMARC1; p=reject',
  'v=DMARC1 p=reject',
  'v=DMARC10; p=reject',
  'v=DMARC1;;;;',
  'v=DMARC1; p',
  'v=DMARC1; =reject',
  'v=DMARC1; p==reject',
  'v=DMARC1; p=reject; p=none',
  'v=DMARC1; __proto__=x; constructor=y; toString=z',
  'v=DMARC1; p=reject; rua=',
  'v=DMARC1; p=reject; rua=,,,',
  'v=DMARC1; p=reject; rua=mailto:',
  'v=DMARC1; p=reject; rua=mailto:@',
  'v=DMARC1; p=reject; rua=mailto:a@b!',
  'v=DMARC1; p=reject; rua=mailto:a@b!!!',
  'v=DMARC1; p=reject; rua=mailto:%ZZ@example.com',
  'v=DMARC1; p=reject; rua=mailto:a@[192.0.2.1]',
  `v=DMARC1; p=reject; rua=mailto:a@${'x'.repeat(300)}.com`,
  'v=DMARC1; p=reject; pct=-1; ri=99999999999999; fo=0:1:d:s:x; rf=afrf:iodef:',
  'v=DMARC1; p=reject; pct=1e2; ri=0x10',
  'v=DMARC1; p=reject\r\n; sp=none',
  'v=DMARC1; p=reject\u0000',
  'v=DMARC1; p=rejéct; sp=\u202equarantine',
  'v=spf1 -all',
  `v=DMARC1; ${'x=y; '.repeat(2000)}`,
];

function shape(p: ParsedDmarc): void {
  expect(typeof p.valid).toBe('boolean');
  expect(Array.isArray(p.findings)).toBe(true);
  for (const f of p.findings) expect(f).toMatchObject({ code: expect.stringMatching(/^dmarc\./), severity: expect.stringMatching(/^(error|warning|info)$/), message: expect.any(String) });
  if (p.isDmarc) expect(p.record).not.toBeNull();
  else expect(p.record).toBeNull();
}

describe('crafted DMARC records', () => {
  for (const mode of DMARC_MODES) {
    it.each(CRAFTED)(`RFC ${mode}: %j parses to findings, and is DMARC exactly when receivers would pick it`, (text) => {
      const parsed = parseDmarc(text, { mode });
      shape(parsed);
      expect(parsed.isDmarc).toBe(looksLikeDmarc(text));
    });
  }

  it('the version is exactly DMARC1: v=dmarc1 is not a DMARC record, and the finding says why', () => {
    const p = parseDmarc('v=dmarc1; p=reject');
    expect(p.isDmarc).toBe(false);
    expect(looksLikeDmarc('v=dmarc1; p=reject')).toBe(false);
    expect(looksLikeDmarcButForCase('v=dmarc1; p=reject')).toBe(true);
    expect(p.findings.map((f) => f.code)).toEqual(['dmarc.bad-version']);
    // The tag name is case-insensitive, the value is not (RFC 9989 §4.8: "v" equals %s"DMARC1").
    expect(looksLikeDmarc('V=DMARC1; p=reject')).toBe(true);
  });
});

describe('policy tags that do not stand (RFC 7489 §6.6.3 step 6, RFC 9989 §4.10.1)', () => {
  const cases: [string, '7489' | '9989', string[]][] = [
    ['v=DMARC1; p=reject', '7489', []],
    ['v=DMARC1; p=reject; sp=quarantin', '7489', ['sp']],
    ['v=DMARC1; p=maybe', '7489', ['p']],
    ['v=DMARC1; rua=mailto:d@example.com', '7489', ['p']],
    ['v=DMARC1; p=reject; np=bogus', '7489', []],
    ['v=DMARC1; p=reject; np=bogus', '9989', ['np']],
    ['v=DMARC1; p=reject; sp=x; np=y', '9989', ['sp', 'np']],
    // RFC 9989 §4.7: a record without p is treated as if it had p=none.
    ['v=DMARC1', '9989', []],
  ];
  it.each(cases)('%s (RFC %s): %j', (text, mode, tags) => {
    expect(parseDmarc(text, { mode }).record!.unusablePolicyTags).toEqual(tags);
  });

  it('RFC 9989: no p and no usable rua is p=none, and the warning names the receivers that differ', () => {
    const p = parseDmarc('v=DMARC1; adkim=s', { mode: '9989' });
    expect(p.record!.effective).toEqual({ p: 'none', sp: 'none', np: 'none' });
    const warning = p.findings.find((f) => f.code === 'dmarc.missing-p')!;
    expect(warning).toMatchObject({ severity: 'warning', rfc: 'RFC 9989 §4.7' });
    expect(warning.message).toMatch(/no usable rua.*§4\.10\.1/);
  });
});

describe('rf (RFC 7489 §6.3): an unknown report format is ignored, not an error', () => {
  it('rf=iodef is a warning and the default afrf stays', () => {
    const p = parseDmarc('v=DMARC1; p=reject; rf=iodef', { mode: '7489' });
    expect(p.valid).toBe(true);
    expect(p.findings.find((f) => f.code === 'dmarc.invalid-rf')).toMatchObject({ severity: 'warning', rfc: 'RFC 7489 §6.3' });
    expect(p.record!.rf).toBeNull();
    expect(parseDmarc('v=DMARC1; p=reject; rf=iodef:afrf', { mode: '7489' }).record!.rf).toBe('afrf');
  });
});
