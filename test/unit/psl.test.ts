/**
 * The Public Suffix List lookups (src/psl.ts) against tldts, the library whose copy of the list
 * src/psl-rules.ts is generated from: the same public suffix and registrable domain for names made
 * from every rule of the list (each rule, a label below it, two labels below it, each wildcard
 * filled in), in both readings (ICANN and private sections, ICANN alone), and for generated names
 * built of the list's labels. And the generated file is tldts' list as installed.
 */
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import fc from 'fast-check';
import { getDomain, getPublicSuffix } from 'tldts';
import { describe, expect, it } from 'vitest';
import { publicSuffix, registrableDomain, registrySuffix, type PslSections } from '../../src/psl.js';
import { PSL_RULES } from '../../src/psl-rules.js';

const RUNS = Number(process.env['MAILDNS_FUZZ_RUNS'] ?? 300);
const run = promisify(execFile);

const tldtsOptions = (sections: PslSections) => ({ allowIcannDomains: true, allowPrivateDomains: sections === 'icann+private', validateHosts: false });
const reference = (name: string, sections: PslSections) => ({ suffix: getPublicSuffix(name, tldtsOptions(sections)), domain: getDomain(name, tldtsOptions(sections)) });
const ours = (name: string, sections: PslSections) => ({ suffix: publicSuffix(name, sections), domain: registrableDomain(name, sections) });

/** The generated text's lines: [top-level label, ICANN rules, private rules]. */
const sections = new Map(PSL_RULES.trim().split('\n').map((line) => {
  const [tld, icann, priv] = line.split(/[:|]/) as [string, string, string];
  return [tld, [icann.split(' ').filter(Boolean), priv.split(' ').filter(Boolean)]] as const;
}));
const rules = [...sections.values()].flatMap(([icann, priv]) => [...icann, ...priv]);
/** A rule as a name: the exception mark dropped, a wildcard filled in. */
const asName = (rule: string): string => rule.replace(/^!/, '').replace(/^\*\./, 'wild.');

describe('the Public Suffix List', () => {
  it('is the list in the installed tldts (npm run psl-rules writes it)', async () => {
    await expect(run(process.execPath, ['scripts/psl-rules.mjs', '--check'])).resolves.toBeDefined();
  });

  it('is what the code reads at run time: no source file names tldts', () => {
    const files = readdirSync(new URL('../../src/', import.meta.url), { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts') && f !== 'psl-rules.ts');
    expect(files.length).toBeGreaterThan(50);
    expect(files.filter((f) => /['"]tldts['"/]/.test(readFileSync(new URL(`../../src/${f}`, import.meta.url), 'utf8')))).toEqual([]);
  });

  it('has its rules in their sections', () => {
    expect(rules.length).toBeGreaterThan(9000);
    expect(sections.get('uk')![0]).toContain('co.uk');
    expect(sections.get('com')![1]).toContain('blogspot.com');
    expect(sections.get('jp')![0]).toEqual(expect.arrayContaining(['*.kawasaki.jp', '!city.kawasaki.jp']));
  });

  it.each(['icann+private', 'icann'] as const)('gives the public suffix and registrable domain tldts gives, for names from every rule (%s)', (sections) => {
    const differ: string[] = [];
    for (const rule of rules) {
      for (const name of [asName(rule), `x.${asName(rule)}`, `y.x.${asName(rule)}`]) {
        const want = reference(name, sections);
        const got = ours(name, sections);
        if (got.suffix !== want.suffix || got.domain !== want.domain) differ.push(`${name}: ${JSON.stringify(got)} against ${JSON.stringify(want)}`);
      }
    }
    expect(differ).toEqual([]);
  });

  it('agrees with tldts on names built of the list\'s labels', () => {
    const labels = [...new Set(rules.flatMap((r) => asName(r).split('.')))];
    const name = fc.array(fc.oneof(fc.constantFrom(...labels), fc.constantFrom('a', 'mail', 'www', 'city')), { minLength: 1, maxLength: 6 }).map((l) => l.join('.'));
    fc.assert(
      fc.property(name, fc.constantFrom<PslSections>('icann+private', 'icann'), (n, sections) => {
        expect(ours(n, sections)).toEqual(reference(n, sections));
      }),
      { numRuns: RUNS * 10 },
    );
  });

  it('reads the list\'s own examples, and names no rule covers', () => {
    expect(ours('mail.example.co.uk', 'icann+private')).toEqual({ suffix: 'co.uk', domain: 'example.co.uk' });
    expect(ours('b.city.kawasaki.jp', 'icann')).toEqual({ suffix: 'kawasaki.jp', domain: 'city.kawasaki.jp' }); // an exception
    expect(ours('a.b.kawasaki.jp', 'icann')).toEqual({ suffix: 'b.kawasaki.jp', domain: 'a.b.kawasaki.jp' }); // a wildcard
    expect(ours('foo.blogspot.com', 'icann+private')).toEqual({ suffix: 'blogspot.com', domain: 'foo.blogspot.com' });
    expect(ours('foo.blogspot.com', 'icann')).toEqual({ suffix: 'com', domain: 'blogspot.com' });
    expect(ours('d00001.example', 'icann+private')).toEqual({ suffix: 'example', domain: 'd00001.example' });
    expect(ours('co.uk', 'icann+private')).toEqual({ suffix: 'co.uk', domain: null });
    expect(ours('', 'icann+private')).toEqual({ suffix: '', domain: null });
    // Not names: no registrable domain.
    for (const text of ['192.0.2.1', '2001:db8::1', 'a..com', '.com']) expect(registrableDomain(text), text).toBeNull();
    // A crafted label holding the text's separators is no top-level label of the list.
    for (const text of ['a.com:com|', 'a.uk\nco', 'x.com|blogspot']) expect(ours(text, 'icann+private').suffix, text).toBe(text.slice(text.lastIndexOf('.') + 1));
  });

  it('gives the registry suffix of names under a listed top-level label, and none under an unlisted one', () => {
    expect(['mail.example.com', 'example.co.uk', 'user.github.io', 'x.example.corp', 'd00001.example'].map(registrySuffix)).toEqual(['com', 'co.uk', 'io', null, null]);
  });
});
