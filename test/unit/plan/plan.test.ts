import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadPlan, parsePlan } from '../../../src/plan/load.js';
import { starterPlan } from '../../../src/plan/init.js';

const good = `version: 1
domains:
  - domain: Example.COM.
    mx: [mail.example.com]
    spf:
      ip4: [192.0.2.0/24]
      include: [_spf.relay.example.net]
    dkim:
      - selector: mail
    dmarc:
      p: reject
      rua: dmarc@example.com
`;

function errorOf(text: string, file = 'maildns.yaml'): string {
  try {
    parsePlan(text, file);
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error('expected the plan to be rejected');
}

describe('plan validation', () => {
  it('reads a valid plan with defaults filled in and names normalised', () => {
    const plan = parsePlan(good, '/srv/maildns.yaml');
    const d = plan.domains[0]!;
    expect(d.domain).toBe('example.com');
    expect(d.ttl).toBe(3600);
    expect(d.mx).toEqual([{ host: 'mail.example.com', priority: 10, addresses: [] }]);
    expect(d.spf?.all).toBe('-all');
    expect(d.dkim).toEqual([{ selector: 'mail', algorithm: 'rsa-2048', testing: false }]);
    expect(d.dmarc?.rua).toEqual(['mailto:dmarc@example.com']);
    expect(plan.keysDir).toBe('/srv/keys');
  });

  it('names file, line and key for a bad enum value, with the allowed values', () => {
    const msg = errorOf(good.replace('p: reject', 'p: quarantin'));
    expect(msg).toBe('maildns.yaml:11: domains[0].dmarc.p must be one of none, quarantine, reject (got "quarantin")');
  });

  it('points at the offending list item', () => {
    expect(errorOf(good.replace('192.0.2.0/24', '192.0.2.0/33'))).toMatch(/^maildns\.yaml:6: domains\[0\]\.spf\.ip4\[0\] "192\.0\.2\.0\/33" has the prefix length \/33; write a whole number from 0 to 32/);
  });

  it('rejects unknown keys and says which keys are known', () => {
    expect(errorOf(good.replace('    mx:', '    mxx:'))).toMatch(/^maildns\.yaml:4: domains\[0\]\.mxx is not a known key \(known here: domain, ttl, mx,/);
  });

  it('rejects a duplicated domain and a duplicated selector', () => {
    const twice = `${good}  - domain: example.com\n`;
    expect(errorOf(twice)).toMatch(/:13: domains\[1\]\.domain "example.com" is planned twice/);
    expect(errorOf(good.replace('      - selector: mail', '      - selector: mail\n      - selector: MAIL'))).toMatch(/:10: domains\[0\]\.dkim\[1\]\.selector "mail" is listed twice/);
  });

  it('reports YAML syntax errors at their own line and column', () => {
    expect(errorOf('domains:\n  - domain: [oops\n')).toMatch(/^maildns\.yaml:3:1: not valid YAML or JSON/);
    expect(errorOf('version: 1\ndomains:\n  - domain: example.com\n\tspf: {}\n')).toBe('maildns.yaml:4:1: not valid YAML or JSON: Tabs are not allowed as indentation');
  });

  it('reads the rotation dates and the grace period, and refuses days that do not exist', () => {
    const plan = parsePlan('defaults: { dkim_retire_after_days: 14 }\ndomains:\n  - domain: example.com\n    dkim: [{ selector: old, state: retiring, since: 2026-11-30 }]\n', 'maildns.yaml');
    expect(plan.dkimRetireAfterDays).toBe(14);
    expect(plan.domains[0]!.dkim[0]!.since).toBe('2026-11-30');
    expect(parsePlan('domains: [{ domain: example.com }]\n', 'maildns.yaml').dkimRetireAfterDays).toBe(7);
    expect(errorOf('domains:\n  - domain: example.com\n    dkim: [{ selector: old, since: 2026-02-30 }]\n')).toBe('maildns.yaml:3: domains[0].dkim[0].since must be a date written YYYY-MM-DD (got "2026-02-30")');
    expect(errorOf('defaults: { dkim_retire_after_days: -1 }\ndomains: [{ domain: example.com }]\n')).toMatch(/^maildns\.yaml:1: defaults\.dkim_retire_after_days must be a whole number from 0 to 3650/);
  });

  it('refuses aliases to nothing and aliases that expand without bound, naming the file', () => {
    expect(errorOf('version: 1\ndomains: *nope\n')).toMatch(/^maildns\.yaml: not a usable YAML document: .*alias/);
    const laughs = ['a: &a [x, x, x, x, x, x, x, x, x, x]', ...Array.from({ length: 8 }, (_, i) => `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(10).fill(`*${String.fromCharCode(97 + i)}`).join(', ')}]`), 'domains: [{ domain: example.com }]'].join('\n');
    expect(errorOf(laughs)).toMatch(/^maildns\.yaml: not a usable YAML document/);
  });

  it('requires a DMARC policy and at least one domain', () => {
    expect(errorOf(good.replace('      p: reject\n', ''))).toMatch(/domains\[0\]\.dmarc needs a policy/);
    expect(errorOf('version: 1\ndomains: []\n')).toMatch(/^maildns\.yaml:2: domains must list at least one domain/);
  });

  it('refuses a txt name that no zone of the domain can hold, naming the entry and the fix', () => {
    const txt = (name: string): string => `version: 1\ndomains:\n  - domain: example.com\n    txt:\n      - { name: ${JSON.stringify(name)}, value: "v=1" }\n`;
    const fix = 'write it relative to example.com, such as _verify, or in full with its trailing dot, such as _verify.example.com.';
    expect(errorOf(txt('foo bar'))).toBe(`maildns.yaml:5: domains[0].txt[0].name "foo bar" has a label with characters a host name cannot carry: "foo bar"; ${fix}`);
    expect(errorOf(txt('other.example.org.'))).toBe(`maildns.yaml:5: domains[0].txt[0].name "other.example.org." is outside example.com, so it is no name of this domain's zone; ${fix}, or plan that name under its own domain`);
    // Read relative to the origin, as a zone file reads it, this would be _verify.example.com.example.com.
    expect(errorOf(txt('_verify.example.com'))).toBe('maildns.yaml:5: domains[0].txt[0].name "_verify.example.com" is the full name without its trailing dot, so it would be read as _verify.example.com.example.com; write "_verify.example.com." or "_verify"');
    expect(errorOf(txt('Example.COM'))).toMatch(/would be read as example\.com\.example\.com; write "example\.com\." or "@"$/);
    expect(errorOf(txt('x..y'))).toMatch(/^maildns\.yaml:5: domains\[0\]\.txt\[0\]\.name "x\.\.y" has an empty label/);
    expect(errorOf(txt(`${'a'.repeat(60)}.${'b'.repeat(60)}.${'c'.repeat(60)}.${'d'.repeat(60)}`))).toMatch(/with example\.com added is 255 characters long \(at most 253\)/);
    for (const name of ['@', '_verify', '*', '*.lists', '_verify.example.com.', 'EXAMPLE.com.']) {
      expect(parsePlan(txt(name), 'maildns.yaml').domains[0]!.txt[0]!.name).toBe(name);
    }
  });

  it('accepts JSON', () => {
    const plan = parsePlan(JSON.stringify({ domains: [{ domain: 'example.org', spf: { ip6: ['2001:db8::/32'] } }] }), 'plan.json');
    expect(plan.domains[0]!.spf?.ip6).toEqual(['2001:db8::/32']);
  });

  it('says how to create a plan when the file is missing', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'maildns-plan-'));
    expect(() => loadPlan(path.join(dir, 'maildns.yaml'))).toThrow(/maildns\.yaml: plan file not found; create one with `maildns init <domain>`/);
    writeFileSync(path.join(dir, 'maildns.yaml'), good);
    expect(loadPlan(path.join(dir, 'maildns.yaml')).domains).toHaveLength(1);
  });

  it('writes a starter plan that is itself valid', () => {
    const text = starterPlan({ domain: 'example.net', ip4: ['203.0.113.9'], ip6: [], include: ['_spf.relay.example.net'], mx: [], selector: 'mail', dkimAlg: 'ed25519', dmarcPolicy: 'none', rua: ['dmarc@example.net'] });
    const d = parsePlan(text, 'maildns.yaml').domains[0]!;
    expect(d.spf).toMatchObject({ ip4: ['203.0.113.9'], include: ['_spf.relay.example.net'], all: '-all' });
    expect(d.dkim[0]).toMatchObject({ selector: 'mail', algorithm: 'ed25519' });
    expect(d.dmarc).toMatchObject({ p: 'none', np: 'reject', rua: ['mailto:dmarc@example.net'] });
  });

  it('says in the starter plan that the lowest MX preference number is the most preferred', () => {
    const text = starterPlan({ domain: 'example.net', ip4: [], ip6: [], include: [], mx: ['mx1.example.net', 'mx2.example.net'], selector: 'mail', dkimAlg: 'rsa-2048', dmarcPolicy: 'none', rua: [] });
    expect(text).toContain('    # Mail servers that receive mail for the domain, lowest preference number first — the most preferred.\n');
    expect(parsePlan(text, 'maildns.yaml').domains[0]!.mx.map((m) => [m.host, m.priority])).toEqual([['mx1.example.net', 10], ['mx2.example.net', 20]]);
  });
});
