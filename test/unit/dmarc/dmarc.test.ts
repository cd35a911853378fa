import { describe, expect, it } from 'vitest';
import { alignment, isAligned, orgDomain } from '../../../src/dmarc/align.js';
import { composeDmarc, reportAuthorizationName } from '../../../src/dmarc/compose.js';
import { treeWalkTargets } from '../../../src/dmarc/discover.js';
import { explainDmarc } from '../../../src/dmarc/explain.js';
import { lintDmarc } from '../../../src/dmarc/lint.js';
import { parseDmarc } from '../../../src/dmarc/parse.js';
import { dmarcPlanFromTags } from '../../../src/dmarc/compose.js';
import { InputError } from '../../../src/errors.js';

const codes = (text: string, mode: '7489' | '9989' = '9989') => parseDmarc(text, { mode }).findings.map((f) => f.code);

describe('alignment', () => {
  it('organizational domain by the Public Suffix List', () => {
    expect(orgDomain('a.b.Example.COM.')).toBe('example.com');
    expect(orgDomain('mail.example.co.uk')).toBe('example.co.uk');
    expect(orgDomain('co.uk')).toBe('co.uk');
    expect(orgDomain('foo.blogspot.com')).toBe('foo.blogspot.com'); // private section counts
    expect(orgDomain('city.kawasaki.jp')).toBe('city.kawasaki.jp'); // an exception rule
    expect(orgDomain('a.b.kawasaki.jp')).toBe('a.b.kawasaki.jp'); // under a wildcard
    expect(orgDomain('d00001.example')).toBe('d00001.example'); // no rule: the last label is the suffix
  });

  it('strict means the very same name, ignoring case', () => {
    expect(isAligned('example.com', 'EXAMPLE.com', 's')).toBe(true);
    expect(isAligned('example.com', 'mail.example.com', 's')).toBe(false);
    expect(isAligned('mail.example.com', 'example.com', 's')).toBe(false);
    expect(isAligned('example.com', 'notexample.com', 's')).toBe(false);
  });

  it('relaxed means the same organizational domain', () => {
    expect(isAligned('example.com', 'bounce.mail.example.com', 'r')).toBe(true);
    expect(isAligned('a.example.co.uk', 'b.example.co.uk', 'r')).toBe(true);
    expect(isAligned('example.co.uk', 'other.co.uk', 'r')).toBe(false);
    expect(isAligned('a.blogspot.com', 'b.blogspot.com', 'r')).toBe(false);
    expect(isAligned('example.com', '', 'r')).toBe(false);
  });

  it('explains its answer', () => {
    const r = alignment('example.com', 'mail.example.com', 's');
    expect(r).toMatchObject({ aligned: false, fromOrg: 'example.com', authOrg: 'example.com' });
    expect(r.reason).toMatch(/strict/);
  });
});

describe('parser', () => {
  it('reads every tag with its defaults', () => {
    const p = parseDmarc('v=DMARC1; p=Reject; sp=quarantine; np=reject; psd=n; t=y; adkim=S; aspf=r; rua=mailto:a@example.com,mailto:b@example.net!10m; ruf=mailto:f@example.com; fo=1:d', { mode: '9989' });
    expect(p.record).toMatchObject({ p: 'reject', sp: 'quarantine', np: 'reject', psd: 'n', t: 'y', adkim: 's', aspf: 'r', fo: ['1', 'd'] });
    expect(p.record!.rua.map((u) => [u.address, u.size])).toEqual([['a@example.com', null], ['b@example.net', '10m']]);
    const d = parseDmarc('v=DMARC1; p=quarantine').record!;
    expect(d).toMatchObject({ adkim: 'r', aspf: 'r', psd: 'u', t: 'n', effective: { p: 'quarantine', sp: 'quarantine', np: 'quarantine' } });
    expect(parseDmarc('v=DMARC1; p=reject; sp=none').record!.effective.np).toBe('none');
  });

  it('allows spaces and tabs around = and ;, and a trailing ;', () => {
    expect(parseDmarc('v = DMARC1 ;\tp =\treject ; ').valid).toBe(true);
    // A bare v=DMARC1 (the report-authorisation record): RFC 9989 reads p=none, RFC 7489 requires p.
    expect(parseDmarc('v=DMARC1').valid).toBe(true);
    expect(parseDmarc('v=DMARC1', { mode: '7489' }).findings[0]).toMatchObject({ code: 'dmarc.missing-p', severity: 'error' });
  });

  it('gives the exact reason, with its RFC', () => {
    expect(codes('v=dmarc1; p=reject')).toEqual(['dmarc.bad-version']);
    expect(codes('p=reject; v=DMARC1')).toContain('dmarc.no-version');
    expect(codes(' v=DMARC1; p=reject')).toContain('dmarc.leading-whitespace');
    expect(codes('v=DMARC1; p=reject; adkim=x')).toContain('dmarc.invalid-adkim');
    expect(codes('v=DMARC1; p=reject; aspf=relaxed')).toContain('dmarc.invalid-aspf');
    expect(codes('v=DMARC1; p=reject; rua=')).toContain('dmarc.invalid-rua');
    expect(codes('v=DMARC1; p=reject; rua=mailto:a@example.com,,mailto:b@example.com')).toContain('dmarc.report-uri-invalid');
    expect(codes('v=DMARC1; p=reject; rua=https://example.com/r')).toContain('dmarc.report-uri-scheme');
    expect(codes('v=DMARC1; p=reject; rua=mailto:a@example.com!10x', '7489')).toContain('dmarc.report-size-invalid');
    expect(codes('v=DMARC1; p=reject;; sp=none')).toContain('dmarc.empty-tag');
    expect(codes('v=DMARC1; p=reject; psd=maybe')).toContain('dmarc.invalid-psd');
    const f = parseDmarc('v=DMARC1; p=reject; p=none', { subject: '_dmarc.example.com' }).findings[0]!;
    expect(f).toMatchObject({ code: 'dmarc.duplicate-tag', severity: 'error', subject: '_dmarc.example.com', rfc: 'RFC 6376 §3.2' });
  });

  it('judges a report URI raw for what ends it, and decoded for what an address may be (RFC 7489 §6.2, RFC 5322 §3.4.1)', () => {
    const rua = (uri: string) => parseDmarc(`v=DMARC1; p=none; rua=${uri}`);
    // A "," carried %-encoded, inside a quoted local part: one deliverable address.
    const quoted = rua('mailto:%22d%2Cx%22@example.com');
    expect(quoted.findings).toEqual([]);
    expect(quoted.record!.rua).toMatchObject([{ uri: 'mailto:%22d%2Cx%22@example.com', address: '"d,x"@example.com', domain: 'example.com', deliverable: true }]);
    expect(rua('mailto:d%21x@example.com').record!.rua[0]).toMatchObject({ address: 'd!x@example.com', deliverable: true });
    // Decoded, d,x@example.com is no address: outside quotes a local part holds no ",".
    const bare = rua('mailto:d%2Cx@example.com').findings;
    expect(bare).toMatchObject([{ code: 'dmarc.report-address-invalid', severity: 'warning' }]);
    expect(bare[0]!.message).toContain('the local part "d,x"');
    expect(bare[0]!.fix).toBe('write mailto:%22d%2Cx%22@example.com (the local part in quotes), or use another mailbox');
    // A "?" that was %-encoded belongs to the address; only a raw one starts the query.
    expect(rua('mailto:a@example.com%3Fx').record!.rua[0]!.deliverable).toBe(false);
    expect(rua('mailto:a@example.com?subject=x').record!.rua[0]).toMatchObject({ address: 'a@example.com', deliverable: true });
    expect(rua('mailto:a%zz@example.com').findings[0]!.message).toContain('"%zz" is not a %-escape');
    expect(rua('mailto:j%C3%B6rg@example.com').findings[0]!.message).toContain('RFC 8616 §6');
    // A raw space is in no URI: two addresses with a space between them are not one odd local part.
    const spaced = rua('mailto:a@example.com mailto:b@example.com').findings[0]!;
    expect(spaced.message).toContain('a URI holds no white space');
    expect(spaced.fix).toMatch(/^separate report URIs with ","/);
  });

  it('applies the semantics of the chosen RFC', () => {
    expect(parseDmarc('v=DMARC1; p=reject; pct=150', { mode: '7489' }).valid).toBe(false);
    expect(parseDmarc('v=DMARC1; p=reject; pct=150', { mode: '9989' }).valid).toBe(true);
    expect(codes('v=DMARC1; p=reject; t=y', '7489')).toContain('dmarc.tag-not-in-7489');
    expect(codes('v=DMARC1; p=reject; rua=mailto:a@example.com!10m', '7489')).not.toContain('dmarc.report-size-obsolete');
    expect(codes('v=DMARC1; p=reject; rua=mailto:a@example.com!10m', '9989')).toContain('dmarc.report-size-obsolete');
    expect(parseDmarc('v=DMARC1; rua=mailto:a@example.com', { mode: '9989' }).record!.p).toBe('none');
  });
});

describe('composition', () => {
  it('composes a record the parser reads back unchanged', () => {
    const text = composeDmarc({ p: 'reject', sp: 'quarantine', np: 'reject', adkim: 's', aspf: 's', rua: ['mailto:a@example.com'], ruf: [], t: 'y' });
    expect(text).toBe('v=DMARC1; p=reject; sp=quarantine; np=reject; adkim=s; aspf=s; t=y; rua=mailto:a@example.com');
    const p = parseDmarc(text);
    expect(p.valid).toBe(true);
    expect(p.record).toMatchObject({ p: 'reject', sp: 'quarantine', np: 'reject', adkim: 's', aspf: 's', t: 'y' });
    expect(reportAuthorizationName('example.com', 'reports.example.net')).toBe('example.com._report._dmarc.reports.example.net');
  });

  it('tag values given to compose are validated, and the errors name the tag', () => {
    expect(dmarcPlanFromTags({ p: 'REJECT', rua: ['a@example.com'] }, '9989')).toEqual({ p: 'reject', rua: ['mailto:a@example.com'], ruf: [] });
    expect(() => dmarcPlanFromTags({}, '9989')).toThrow(InputError);
    expect(() => dmarcPlanFromTags({ p: 'reject', aspf: 'x' }, '9989')).toThrow(/^aspf=x is not valid/);
    expect(() => dmarcPlanFromTags({ p: 'reject', rua: ['mailto:nobody'] }, '9989')).toThrow(/^rua=mailto:nobody/);
    expect(() => dmarcPlanFromTags({ p: 'reject', pct: 1.5 }, '9989')).toThrow(/^pct=1.5/);
  });

  it('explains a record tag by tag', () => {
    const lines = explainDmarc(parseDmarc('v=DMARC1; p=reject; rua=mailto:a@example.com'));
    expect(lines.find((l) => l.tag === 'p')!.meaning).toMatch(/refuse/);
    expect(lines.find((l) => l.tag === 'sp')!.meaning).toMatch(/follow p/);
  });
});

describe('tree walk targets (RFC 9989 §4.10)', () => {
  it('drops one label at a time, jumping to 7 labels for long names', () => {
    expect(treeWalkTargets('a.b.example.com')).toEqual(['b.example.com', 'example.com', 'com']);
    const t = treeWalkTargets('1.2.3.4.5.6.7.8.9.com');
    expect(t[0]).toBe('4.5.6.7.8.9.com');
    expect(t.length + 1).toBeLessThanOrEqual(8);
  });
});

describe('advice on report addresses', () => {
  const three = 'v=DMARC1; p=reject; rua=mailto:a@example.com,mailto:b@example.com,mailto:c@example.com';
  it('warns of more than two rua URIs under RFC 7489, notes it under RFC 9989 (which asks receivers to send to all)', () => {
    const old = lintDmarc(parseDmarc(three, { mode: '7489' })).find((f) => f.code === 'dmarc.too-many-uris');
    const bis = lintDmarc(parseDmarc(three, { mode: '9989' })).find((f) => f.code === 'dmarc.too-many-uris');
    expect(old).toMatchObject({ severity: 'warning', rfc: 'RFC 7489 §6.2' });
    expect(bis).toMatchObject({ severity: 'info' });
    expect(bis!.message).toContain('RFC 7489');
    expect(lintDmarc(parseDmarc('v=DMARC1; p=reject; rua=mailto:a@example.com,mailto:b@example.com', { mode: '7489' })).map((f) => f.code)).not.toContain('dmarc.too-many-uris');
  });
});
