/** MTA-STS text formats (RFC 8461 §3.1, §3.2), MX matching (§4.1) and the composed policy and record. */
import { describe, expect, it } from 'vitest';
import { composeStsPolicy, composeStsRecord, stsPolicyId } from '../../../src/mtasts/compose.js';
import { mxMatchesPattern, parseStsPolicy, parseStsRecord } from '../../../src/mtasts/parse.js';
import type { PolicyFetch } from '../../../src/mtasts/fetch.js';
import { checkStsPolicy, checkStsRecords, policyDifferences, unreachedAddressFinding } from '../../../src/mtasts/validate.js';
import { auditMtaSts } from '../../../src/mtasts/evaluate.js';
import { MemoryResolver } from '../../helpers/memory-resolver.js';

describe('the _mta-sts record', () => {
  it('reads the id and extensions, with or without a trailing ";"', () => {
    expect(parseStsRecord('v=STSv1; id=20160831085700Z;')).toEqual({ id: '20160831085700Z', extensions: [], problems: [], warnings: [], miscased: [] });
    expect(parseStsRecord('v=STSv1;id=abc; ext_1=x.y')).toEqual({ id: 'abc', extensions: [{ name: 'ext_1', value: 'x.y' }], problems: [], warnings: [], miscased: [] });
  });

  // RFC 8461 §3.1: sts-field-delim = *WSP ";" *WSP; sts-id = %s"id=" 1*32(ALPHA / DIGIT); an extension value holds no space.
  it('judges each place of the grammar where white space may stand, or may not', () => {
    // Around ";": allowed, but before the first one a record no longer begins with "v=STSv1;".
    expect(parseStsRecord('v=STSv1 ;\tid=abc ; ')).toMatchObject({ id: 'abc', problems: [], warnings: [expect.stringMatching(/begins "v=STSv1 ;"/)] });
    expect(parseStsRecord('v=STSv1;\tid=abc\t;')).toMatchObject({ id: 'abc', problems: [], warnings: [] });
    // At the very end without a ";": outside the grammar, and mox refuses the record for it.
    expect(parseStsRecord('v=STSv1; id=abc ').problems).toEqual([expect.stringMatching(/ends in a space or tab after its last field.*mox/)]);
    expect(parseStsRecord('v=STSv1; id=abc\t').problems).toEqual([expect.stringMatching(/ends in a space or tab/)]);
    // Around "=": nowhere; the field is then no id.
    expect(parseStsRecord('v=STSv1; id =abc').problems).toEqual(['there is a space or tab before "=" in "id =abc"; no white space may stand around "="', 'it has no id field']);
    expect(parseStsRecord('v=STSv1; id= abc').problems).toEqual([expect.stringMatching(/^there is a space or tab after "id="/), 'it has no id field']);
  });

  it('field names are case-sensitive (%s"id="): ID= is an extension, and the record has no id', () => {
    expect(parseStsRecord('v=STSv1; ID=abc').problems).toEqual(['"ID" is not id: field names are case-sensitive, so senders ignore it as an unknown field', 'it has no id field']);
    // Beside id= the record is valid, and senders keep its id whatever ID= says: a warning.
    expect(parseStsRecord('v=STSv1; id=abc; ID=def')).toMatchObject({ id: 'abc', problems: [], miscased: ['"ID" is not id: field names are case-sensitive, so senders ignore it as an unknown field'] });
    expect(checkStsRecords(['v=STSv1; id=abc; ID=def'], 'n').findings.map((f) => [f.code, f.severity])).toEqual([['mta-sts.field-case', 'warning']]);
  });

  it('white space the grammar allows but a sender mishandles is a warning finding; what it refuses, an error', () => {
    const found = (record: string) => checkStsRecords([record], '_mta-sts.example.com').findings.map((f) => [f.code, f.severity]);
    expect(found('v=STSv1 ; id=abc')).toEqual([['mta-sts.whitespace', 'warning']]);
    expect(found('v=STSv1; id=abc ')).toEqual([['mta-sts.invalid-record', 'error']]);
    expect(found('v=STSv1; id= abc')).toEqual([['mta-sts.invalid-record', 'error']]);
    expect(found('v=STSv1; id=abc; ')).toEqual([]);
  });

  it('a record senders read, with a warning, still has its policy fetched', async () => {
    const resolver = new MemoryResolver({ records: [{ name: '_mta-sts.example.com', type: 'TXT', ttl: 300, value: 'v=STSv1 ; id=abc' }], zones: ['example.com'] });
    const audit = await auditMtaSts(resolver, 'example.com', { fetchPolicy: {} });
    expect(audit.findings.map((f) => f.code)).toEqual(['mta-sts.whitespace', 'mta-sts.policy-host-missing']);
    expect(resolver.asked).toContain('mta-sts.example.com A');
  });

  it('finds what makes a record invalid', () => {
    expect(parseStsRecord('v=STSv1').problems).toEqual(['it has no id field']);
    expect(parseStsRecord('v=STSv1; id=').problems[0]).toMatch(/1 to 32 letters and digits/);
    expect(parseStsRecord(`v=STSv1; id=${'a'.repeat(33)}`).problems[0]).toMatch(/1 to 32/);
    expect(parseStsRecord('v=STSv1; id=a; id=b').problems).toEqual(['it has more than one id field']);
    expect(parseStsRecord('v=STSv1; id=a; junk').problems).toEqual(['"junk" is not a name=value field']);
    expect(parseStsRecord('id=a; v=STSv1').problems).toEqual(['it does not begin with "v=STSv1"']);
  });

  it('counts only records that begin with v=STSv1, and names a near miss', () => {
    expect(checkStsRecords(['google-site-verification=x'], '_mta-sts.a.example').findings).toEqual([]);
    expect(checkStsRecords(['v=STSv1; id=1', 'v=STSv1; id=2'], 'n').findings.map((f) => f.code)).toEqual(['mta-sts.multiple-records']);
    expect(checkStsRecords(['v=stsv1; id=1'], 'n').findings.map((f) => [f.code, f.message])).toEqual([['mta-sts.invalid-record', '"v=stsv1; id=1" is not read as an MTA-STS record: it must begin with exactly "v=STSv1"']]);
    // The field name in another case gets its own reason (%s"v=STSv1").
    expect(checkStsRecords(['V=STSv1; id=1'], 'n').findings.map((f) => [f.code, f.message])).toEqual([['mta-sts.invalid-record', '"V=STSv1; id=1" is not read as an MTA-STS record: it must begin with exactly "v=STSv1" (V= is not v=: field names are case-sensitive)']]);
    expect(checkStsRecords(['v=STSv1; id=1', 'other'], 'n')).toMatchObject({ record: 'v=STSv1; id=1', findings: [] });
  });
});

describe('the policy file', () => {
  it('reads LF and CRLF lines, repeated mx, unknown fields, first of a repeated field', () => {
    const p = parseStsPolicy('version: STSv1\nmode: enforce\nmx: mail.example.com\r\nmx: *.example.net\nmax_age: 86400\nmode: none\nfuture: 1\n');
    expect(p).toEqual({ version: 'STSv1', mode: 'enforce', maxAge: 86400, mx: ['mail.example.com', '*.example.net'], unknown: ['future'], problems: [] });
  });

  it('finds missing and malformed fields', () => {
    expect(parseStsPolicy('version: STSv1\nmode: enforce\nmax_age: 1\n').problems).toEqual(['mode enforce needs at least one "mx:" line']);
    expect(parseStsPolicy('mode: none\nmax_age: 1\n').problems).toEqual(['there is no "version: STSv1" line']);
    expect(parseStsPolicy('version: STSv1\nmode: strict\nmax_age: soon\nmx: mx*.example.com\n').problems).toEqual([
      'line 2: mode must be enforce, testing or none (got "strict")',
      'line 3: max_age must be a number of seconds (got "soon")',
      'line 4: "mx*.example.com" is not a host name or a "*." pattern',
    ]);
    expect(parseStsPolicy('<html>\n').problems[0]).toMatch(/not a "key: value" line/);
    expect(parseStsPolicy('\ufeffversion: STSv1\nmode: none\nmax_age: 1\n').problems).toEqual(['line 1 begins with a byte order mark (U+FEFF), which is no part of a policy', 'there is no "version: STSv1" line']);
  });

  it('matches MX hosts as §4.1 says: a wildcard stands for exactly one leftmost label', () => {
    expect(mxMatchesPattern('mail.example.com', 'mail.example.com')).toBe(true);
    expect(mxMatchesPattern('MAIL.Example.com.', 'mail.example.com')).toBe(true);
    expect(mxMatchesPattern('mx1.example.net', '*.example.net')).toBe(true);
    expect(mxMatchesPattern('example.net', '*.example.net')).toBe(false);
    expect(mxMatchesPattern('a.b.example.net', '*.example.net')).toBe(false);
    expect(mxMatchesPattern('mail.example.com', 'example.com')).toBe(false);
  });

  it('checks max_age bounds and MX coverage, by mode', () => {
    const policy = (text: string) => parseStsPolicy(text);
    const enforce = policy('version: STSv1\nmode: enforce\nmx: mail.example.com\nmax_age: 99999999\n');
    expect(checkStsPolicy(enforce, ['mail.example.com', 'backup.example.org'], 'example.com').map((f) => [f.code, f.severity])).toEqual([
      ['mta-sts.max-age-too-large', 'error'],
      ['mta-sts.mx-not-covered', 'error'],
    ]);
    const testing = policy('version: STSv1\nmode: testing\nmx: mail.example.com\nmax_age: 604800\n');
    expect(checkStsPolicy(testing, ['backup.example.org'], 'example.com').map((f) => [f.code, f.severity])).toEqual([
      ['mta-sts.mode-testing', 'info'],
      ['mta-sts.mx-not-covered', 'warning'],
    ]);
    const none = policy('version: STSv1\nmode: none\nmax_age: 60\n');
    expect(checkStsPolicy(none, ['anything.example'], 'example.com').map((f) => f.code)).toEqual(['mta-sts.mode-none']);
  });

  it('warns of the policy host\'s addresses given up before the one that served the policy, and of nothing else', () => {
    const base = { url: 'https://mta-sts.example.com/.well-known/mta-sts.txt', host: 'mta-sts.example.com', address: '192.0.2.3' };
    const fetched: PolicyFetch = {
      ...base,
      ok: true,
      body: 'version: STSv1\n',
      unreached: [
        { address: '192.0.2.1', detail: 'no connection to 192.0.2.1 port 443 within 3750 ms' },
        { address: '192.0.2.2', detail: 'ECONNREFUSED connecting to 192.0.2.2 port 443' },
      ],
    };
    expect(unreachedAddressFinding(fetched, 'example.com')).toEqual({
      code: 'mta-sts.policy-address-unreachable',
      severity: 'warning',
      subject: base.url,
      message:
        'not every address of mta-sts.example.com took the connection (no connection to 192.0.2.1 port 443 within 3750 ms; ECONNREFUSED connecting to 192.0.2.2 port 443); the policy was served by 192.0.2.3, so senders that try those addresses first lose time on each policy refresh, and one that waits less or tries a single address may treat example.com as having no MTA-STS policy',
      fix: 'make every address of mta-sts.example.com serve the policy, or remove the dead addresses 192.0.2.1, 192.0.2.2 from DNS',
      rfc: 'RFC 8461 §3.3',
    });
    // Every address that was tried took the connection; or the fetch failed, and its own finding names them.
    expect(unreachedAddressFinding({ ...base, ok: true, body: 'version: STSv1\n' }, 'example.com')).toBeNull();
    expect(unreachedAddressFinding({ ...base, ok: true, body: 'version: STSv1\n', unreached: [] }, 'example.com')).toBeNull();
    expect(unreachedAddressFinding({ ...fetched, ok: false, failure: 'timeout', detail: 'no complete answer within 15000 ms' }, 'example.com')).toBeNull();
  });
});

describe('composing', () => {
  const input = { mode: 'enforce' as const, mx: ['Mail.Example.com.', '*.example.net'], maxAge: 604800 };

  it('writes a policy that parses back to the plan, with CRLF lines', () => {
    const text = composeStsPolicy(input);
    expect(text).toBe('version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\nmx: *.example.net\r\nmax_age: 604800\r\n');
    const parsed = parseStsPolicy(text);
    expect(parsed.problems).toEqual([]);
    expect(policyDifferences(input, parsed)).toEqual([]);
  });

  it('derives the id from the policy text: the same every run, another for another policy', () => {
    const text = composeStsPolicy(input);
    expect(stsPolicyId(text)).toBe(stsPolicyId(composeStsPolicy({ ...input })));
    expect(stsPolicyId(text)).not.toBe(stsPolicyId(composeStsPolicy({ ...input, mode: 'testing' })));
    const record = composeStsRecord(text);
    expect(record).toMatch(/^v=STSv1; id=[0-9a-f]{32}$/);
    expect(parseStsRecord(record).problems).toEqual([]);
  });

  it('says how a published policy differs from the plan', () => {
    const published = parseStsPolicy('version: STSv1\nmode: testing\nmx: mail.example.com\nmx: old.example.org\nmax_age: 86400\n');
    expect(policyDifferences(input, published)).toEqual([
      'mode is testing, the plan says enforce',
      'max_age is 86400, the plan says 604800',
      'mx *.example.net is missing',
      'mx old.example.org is not in the plan',
    ]);
  });
});
