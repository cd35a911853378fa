/**
 * Every parser of outside text, fed arbitrary input (fast-check): each returns its verdict or
 * throws one of the library's typed errors, nothing else, and says the same twice. The strings
 * are built from the characters these formats are made of, so the parsers get past their first
 * check and into the grammar. `npm test` runs a few hundred cases each; `npm run fuzz` with
 * MAILDNS_FUZZ_RUNS runs them longer.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InputError } from '../../../src/errors.js';
import { parseSpf } from '../../../src/spf/parse.js';
import { mergeSpf, MergeInputError } from '../../../src/spf/merge.js';
import { tokenizeMacroString } from '../../../src/spf/macro.js';
import { parseDmarc } from '../../../src/dmarc/parse.js';
import { lintDmarc } from '../../../src/dmarc/lint.js';
import { parseDkimKeyRecord, parseTagList } from '../../../src/dkim/parse.js';
import { validateDkimRecord } from '../../../src/dkim/validate.js';
import { parseMessage } from '../../../src/message/message.js';
import { parsePlan } from '../../../src/plan/load.js';
import { parseStsPolicy, parseStsRecord } from '../../../src/mtasts/parse.js';
import { parseTlsRpt } from '../../../src/tlsrpt/parse.js';
import { parseBimi } from '../../../src/bimi/parse.js';
import { parseMainCf } from '../../../src/postfix/main-cf.js';
import { unquoteCharacterStrings } from '../../../src/txt.js';

const RUNS = Number(process.env['MAILDNS_FUZZ_RUNS'] ?? 300);
const TIMEOUT = process.env['MAILDNS_FUZZ_RUNS'] ? 24 * 3600_000 : 30_000;
const params = { numRuns: RUNS };

/** Text from the pieces of the formats, glued at random: tags, separators, quotes, odd bytes. */
const pieces = ['v=spf1', 'v=DMARC1', 'v=DKIM1', 'v=STSv1', 'v=TLSRPTv1', 'v=BIMI1', 'p=', 'k=rsa', 'k=ed25519', 'ip4:', 'ip6:', 'include:', 'redirect=', 'exp=',
  'all', '-all', '~', '?', '+', 'a', 'mx', 'ptr', 'exists:', '%{d}', '%{i}', '%{l1r-}', '%%', '%_', '%-', '/', '//', ':', ';', '=', ',', ' ', '\t', '\r\n', '\n',
  '"', '\\', '.', '..', '192.0.2.1', '2001:db8::1', '/24', '/129', 'example.com', 'mailto:', 'https://', 'rua=', 'ruf=', 'sp=', 'np=', 'pct=', 'adkim=s', 't=y',
  'h=sha256', 's=email', 'MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA', '==', 'mode: enforce', 'mx: *.example.com', 'max_age: 86400', 'version: STSv1',
  'From: a@example.com', 'DKIM-Signature: ', 'Subject:', ': ', '\u00e9', '\u0000', '\u00ff', '\ufeff', 'l=', 'a=', 'domains:', '  - domain: ', '- ', '{', '}', '[', ']', '&a', '*a', '#', 'x'.repeat(300)];
const text = fc.array(fc.oneof(fc.constantFrom(...pieces), fc.string({ maxLength: 8 })), { maxLength: 30 }).map((parts) => parts.join(''));

/** Runs `f` twice on the same input: only a typed error may come out, and the same result both times. */
function holds(f: (input: string) => unknown, allowed: readonly (new (...args: never[]) => Error)[] = [InputError]): (input: string) => void {
  const outcome = (input: string): unknown => {
    try {
      return { value: JSON.stringify(f(input)) };
    } catch (err) {
      if (!allowed.some((E) => err instanceof E)) throw err;
      return { error: (err as Error).message };
    }
  };
  return (input) => {
    expect(outcome(input)).toEqual(outcome(input));
  };
}

describe('parsers give a verdict or a typed error for any input', () => {
  const cases: [string, (s: string) => unknown, (new (...args: never[]) => Error)[]?][] = [
    ['SPF record', (s) => parseSpf(s)],
    ['SPF macro string', (s) => tokenizeMacroString(s)],
    ['SPF merge', (s) => mergeSpf([s, 'v=spf1 -all']), [MergeInputError]],
    ['DMARC record (RFC 9989)', (s) => lintDmarc(parseDmarc(s, { mode: '9989' }))],
    ['DMARC record (RFC 7489)', (s) => parseDmarc(s, { mode: '7489' })],
    ['DKIM tag list', (s) => parseTagList(s)],
    ['DKIM key record', (s) => parseDkimKeyRecord(s)],
    ['DKIM key record, validated', (s) => validateDkimRecord(s)],
    ['message', (s) => parseMessage(Buffer.from(s, 'latin1'))],
    ['plan', (s) => parsePlan(s, 'maildns.yaml')],
    ['MTA-STS record', (s) => parseStsRecord(s)],
    ['MTA-STS policy', (s) => parseStsPolicy(s)],
    ['TLS-RPT record', (s) => parseTlsRpt(s)],
    ['BIMI record', (s) => parseBimi(s)],
    ['Postfix main.cf', (s) => [...parseMainCf(s)]],
    ['pasted TXT strings', (s) => unquoteCharacterStrings(s)],
  ];
  for (const [what, f, allowed] of cases) {
    it(what, () => fc.assert(fc.property(text, holds(f, allowed ?? [InputError])), params), TIMEOUT);
  }

  it('the generator reaches the grammar: some inputs parse cleanly, some do not', () => {
    // A fixed seed: this checks the generator, not luck.
    const samples = fc.sample(text, { numRuns: 5000, seed: 20261201 });
    const records = samples.map((s) => `v=spf1 ${s}`);
    const clean = records.filter((s) => parseSpf(s).errors.length === 0).length;
    const broken = records.length - clean;
    expect(clean).toBeGreaterThan(0);
    expect(broken).toBeGreaterThan(0);
  });
});
