/** mergeSpf() (src/spf/merge.ts): the rules that turn several SPF records into one. */
import { describe, expect, it } from 'vitest';
import { mergeSpf, MergeInputError } from '../../../src/spf/merge.js';
import { parseSpf } from '../../../src/spf/parse.js';

const codes = (r: { findings: { code: string }[] }): string[] => r.findings.map((f) => f.code);

describe('mergeSpf', () => {
  it('removes duplicates: case, trailing dot, + and no qualifier, /32 and /128, IPv6 spelling', () => {
    const r = mergeSpf([
      'v=spf1 include:_SPF.Example.NET. ip4:192.0.2.1 ip6:2001:DB8:0:0::1 mx -all',
      'v=spf1 +include:_spf.example.net ip4:192.0.2.1/32 ip6:2001:db8::1/128 +mx ~all',
    ]);
    expect(r.record).toBe('v=spf1 ip4:192.0.2.1 ip6:2001:db8:0:0::1 mx include:_spf.example.net -all');
    expect(r.sources.find((s) => s.term === 'include:_spf.example.net')).toEqual({ term: 'include:_spf.example.net', inputs: [1, 2], original: ['include:_SPF.Example.NET.', '+include:_spf.example.net'] });
    expect(codes(r)).toContain('spf.merge-duplicates');
    expect(r.lookups).toBe(2);
    // Different prefix lengths or targets are different terms.
    expect(mergeSpf(['v=spf1 ip4:192.0.2.0/24 a -all', 'v=spf1 ip4:192.0.2.0/25 a/24 a:mail.example.com -all']).record).toBe('v=spf1 ip4:192.0.2.0/24 ip4:192.0.2.0/25 a a/24 a:mail.example.com -all');
  });

  it('orders by cost when every term passes, and keeps the inputs\' order when one does not', () => {
    const plain = mergeSpf(['v=spf1 include:a.example.com ptr exists:%{i}.x.example.com mx -all', 'v=spf1 a ip6:2001:db8::/32 ip4:192.0.2.0/24 -all']);
    expect(plain.record).toBe('v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 a mx include:a.example.com exists:%{i}.x.example.com ptr -all');
    // "-ip4:X include:Y" excludes X from Y's list: moving the include first would change that.
    const negative = mergeSpf(['v=spf1 -ip4:192.0.2.66 include:bulk.example.com ~all', 'v=spf1 ip4:198.51.100.0/24 -all']);
    expect(negative.record).toBe('v=spf1 -ip4:192.0.2.66 include:bulk.example.com ip4:198.51.100.0/24 -all');
    expect(codes(negative)).toContain('spf.merge-negative-terms');
  });

  it('ends with the strictest all, or the one asked for, and says what changed', () => {
    expect(mergeSpf(['v=spf1 mx ?all', 'v=spf1 a ~all']).record).toBe('v=spf1 a mx ~all');
    const strict = mergeSpf(['v=spf1 mx ~all', 'v=spf1 a -all', 'v=spf1 ip4:192.0.2.1 ?all']);
    expect(strict.record).toBe('v=spf1 ip4:192.0.2.1 a mx -all');
    expect(strict.sources.at(-1)).toEqual({ term: '-all', inputs: [2], original: ['-all'] });
    expect(codes(strict)).toContain('spf.merge-all-stricter');
    const asked = mergeSpf(['v=spf1 mx -all', 'v=spf1 a -all'], { all: '~all' });
    expect(asked.record).toBe('v=spf1 a mx ~all');
    expect(codes(asked)).toContain('spf.merge-all-weaker');
    expect(() => mergeSpf(['v=spf1 mx -all', 'v=spf1 a -all'], { all: '+all' as never })).toThrow(MergeInputError);
  });

  it('never keeps +all: an error finding, and the other inputs decide the ending', () => {
    const r = mergeSpf(['v=spf1 include:_spf.example.net +all', 'v=spf1 mx ~all']);
    expect(r.record).toBe('v=spf1 mx include:_spf.example.net ~all');
    const f = r.findings.find((x) => x.code === 'spf.merge-pass-all')!;
    expect(f.severity).toBe('error');
    expect(f.message).toMatch(/input 1 ends with "\+all".*every address/);
    expect(r.warnings).toContain(f.message);
    // A bare "all" is +all too; with nothing else to go by the merge ends with ~all and says so.
    const only = mergeSpf(['v=spf1 a all', 'v=spf1 mx']);
    expect(only.record).toBe('v=spf1 a mx ~all');
    expect(codes(only)).toEqual(expect.arrayContaining(['spf.merge-pass-all', 'spf.merge-no-all']));
  });

  it('turns a redirect into an include, and drops one that receivers ignore', () => {
    const r = mergeSpf(['v=spf1 ip4:192.0.2.0/24 redirect=_spf.Mailer.example.', 'v=spf1 include:_spf.example.net -all']);
    expect(r.record).toBe('v=spf1 ip4:192.0.2.0/24 include:_spf.mailer.example include:_spf.example.net -all');
    expect(r.sources.find((s) => s.term === 'include:_spf.mailer.example')!.original).toEqual(['redirect=_spf.Mailer.example.']);
    expect(r.findings.find((f) => f.code === 'spf.merge-redirect-as-include')).toMatchObject({ severity: 'info' });
    expect(parseSpf(r.record).redirect).toBeUndefined();
    const ignored = mergeSpf(['v=spf1 mx redirect=other.example.com -all', 'v=spf1 a -all']);
    expect(ignored.record).toBe('v=spf1 a mx -all');
    expect(codes(ignored)).toContain('spf.merge-redirect-ignored');
    // A redirect already in the list as an include is one term.
    expect(mergeSpf(['v=spf1 redirect=_spf.example.net', 'v=spf1 include:_spf.example.net -all']).record).toBe('v=spf1 include:_spf.example.net -all');
  });

  it('keeps exp= only when the inputs agree, and unknown modifiers once each', () => {
    expect(mergeSpf(['v=spf1 mx -all exp=why.example.com', 'v=spf1 a -all']).record).toBe('v=spf1 a mx -all exp=why.example.com');
    expect(mergeSpf(['v=spf1 mx -all exp=why.example.com', 'v=spf1 a -all exp=WHY.example.com.']).record).toBe('v=spf1 a mx -all exp=why.example.com');
    const two = mergeSpf(['v=spf1 mx -all exp=why.example.com', 'v=spf1 a -all exp=other.example.com']);
    expect(two.record).toBe('v=spf1 a mx -all');
    expect(codes(two)).toContain('spf.merge-exp-dropped');
    expect(mergeSpf(['v=spf1 mx x-id=abc -all', 'v=spf1 a x-id=abc x-id=def -all']).record).toBe('v=spf1 a mx -all x-id=abc x-id=def');
  });

  it('keeps the first of two qualifiers for one mechanism, and warns', () => {
    const r = mergeSpf(['v=spf1 ~include:bulk.example.com -all', 'v=spf1 -include:bulk.example.com ip4:192.0.2.1 -all']);
    expect(r.record).toBe('v=spf1 ~include:bulk.example.com ip4:192.0.2.1 -all');
    const f = r.findings.find((x) => x.code === 'spf.merge-qualifier-conflict')!;
    expect(f.message).toMatch(/input 2 has "-include:bulk.example.com" but input 1 already has "~include:bulk.example.com"/);
    // + and no qualifier are the same, so no conflict there.
    expect(codes(mergeSpf(['v=spf1 +mx -all', 'v=spf1 mx -all']))).not.toContain('spf.merge-qualifier-conflict');
  });

  it('leaves out terms after all, which receivers never reached', () => {
    const r = mergeSpf(['v=spf1 mx -all a:late.example.com', 'v=spf1 a -all']);
    expect(r.record).toBe('v=spf1 a mx -all');
    expect(codes(r)).toContain('spf.merge-terms-after-all');
  });

  it('refuses an input with a syntax error, naming the input and the column', () => {
    expect(() => mergeSpf(['v=spf1 mx -all', 'v=spf1 ip4:192.0.2.300 -all'])).toThrow(/input 2 \("v=spf1 ip4:192.0.2.300 -all"\) is not valid SPF: column 12 \(in "ip4:192.0.2.300"\)/);
    try {
      mergeSpf(['spf1 mx', 'v=spf1 -all']);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(MergeInputError);
      expect((err as MergeInputError).input).toBe(1);
    }
    expect(() => mergeSpf([])).toThrow(MergeInputError);
  });

  it('splits a long result into character-strings and warns on size and lookups', () => {
    const nets = (base: number) => Array.from({ length: 12 }, (_, i) => `ip4:10.${base}.${i}.0/24`).join(' ');
    const includes = (p: string) => Array.from({ length: 6 }, (_, i) => `include:_spf${i}.${p}.example.com`).join(' ');
    const r = mergeSpf([`v=spf1 ${nets(1)} ${includes('one')} -all`, `v=spf1 ${nets(2)} ${includes('two')} ~all`]);
    expect(r.length).toBe(Buffer.byteLength(r.record));
    expect(r.length).toBeGreaterThan(450);
    expect(r.strings.length).toBe(Math.ceil(r.length / 255));
    expect(r.strings.every((s) => Buffer.byteLength(s) <= 255)).toBe(true);
    expect(r.strings.join('')).toBe(r.record);
    expect(r.lookups).toBe(12);
    expect(codes(r)).toEqual(expect.arrayContaining(['spf.merge-several-strings', 'spf.merge-too-long', 'spf.merge-too-many-lookups']));
    expect(r.findings.find((f) => f.code === 'spf.merge-too-many-lookups')!.fix).toMatch(/maildns spf flatten/);
    expect(parseSpf(r.record).errors).toEqual([]);
    const small = mergeSpf(['v=spf1 mx -all', 'v=spf1 a -all']);
    expect(small.strings).toEqual([small.record]);
    expect(codes(small)).not.toContain('spf.merge-several-strings');
  });
});
