/** `maildns spf merge`: mergeSpf() rules, check_host() equivalence on the embedded DNS server, and the CLI. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DnsResolver } from '../../../src/dns/resolver.js';
import { startServer, type RunningServer } from '../../../src/dns/server.js';
import type { DnsRecord } from '../../../src/records.js';
import { checkHost, type SpfVerdict } from '../../../src/spf/evaluate.js';
import { mergeSpf, MergeInputError } from '../../../src/spf/merge.js';
import { parseSpf } from '../../../src/spf/parse.js';
import { runCli } from '../../helpers/cli.js';

const txt = (name: string, value: string): DnsRecord => ({ name, type: 'TXT', ttl: 300, value });
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

// Two services' records as the domain owner received them, a third that hands over with redirect=,
// and the provider records they include.
const GOOGLE = 'v=spf1 include:_spf.google.test ~all';
const OWN = 'v=spf1 ip4:192.0.2.0/24 include:sendgrid.test -all';
const MAILER = 'v=spf1 redirect=_spf.mailer.test';
const providers: DnsRecord[] = [
  txt('_spf.google.test', 'v=spf1 ip4:203.0.113.0/26 ip6:2001:db8:1::/48 include:_netblocks.google.test ~all'),
  txt('_netblocks.google.test', 'v=spf1 ip4:198.51.100.0/25 ~all'),
  txt('sendgrid.test', 'v=spf1 ip4:198.51.100.128/26 a:mta.sendgrid.test -all'),
  { name: 'mta.sendgrid.test', type: 'A', ttl: 300, value: '100.64.0.5' },
  txt('_spf.mailer.test', 'v=spf1 ip4:100.64.1.0/24 -all'),
];

let server: RunningServer;
let ns: string;
let resolver: DnsResolver;
const merged = mergeSpf([GOOGLE, OWN, MAILER]);
beforeAll(async () => {
  server = await startServer({
    records: [
      ...providers,
      txt('google-only.test', GOOGLE),
      txt('own-only.test', OWN),
      txt('mailer-only.test', MAILER),
      txt('merged.test', merged.record),
      // The broken state the merge repairs: two records at one name.
      txt('dual.test', GOOGLE),
      txt('dual.test', OWN),
      txt('dual.test', 'google-site-verification=abc123'),
      txt('one.test', OWN),
      txt('passall.test', 'v=spf1 include:_spf.google.test +all'),
      txt('passall.test', OWN),
      txt('badsyntax.test', 'v=spf1 ip4:192.0.2.0/33 -all'),
      txt('badsyntax.test', OWN),
    ],
    zones: [''],
    silent: ['slow.test'],
  });
  ns = `${server.host}:${server.port}`;
  resolver = new DnsResolver({ servers: [{ host: server.host, port: server.port }], timeoutMs: 1000 });
});
afterAll(async () => {
  await server.close();
});

describe('the merged record on the wire (check_host)', () => {
  const verdict = (domain: string, ip: string): Promise<SpfVerdict> => checkHost(resolver, { ip, domain, sender: `bounce@${domain}`, helo: domain });

  it('passes every address either original passes, and gives the rest the merged all', async () => {
    expect(merged.record).toBe('v=spf1 ip4:192.0.2.0/24 include:_spf.google.test include:sendgrid.test include:_spf.mailer.test -all');
    const ips = [
      '192.0.2.1', '192.0.2.254', // OWN's own network
      '203.0.113.10', '2001:db8:1::25', '198.51.100.7', // Google's lists, one level and two levels down
      '198.51.100.130', '100.64.0.5', // SendGrid's network and its a: host
      '100.64.1.77', // the redirect target
      '203.0.113.200', '198.51.100.250', '2001:db8:2::1', '100.64.0.6', '192.0.3.1', // nobody's
    ];
    let passed = 0;
    let unmatched = 0;
    for (const ip of ips) {
      const originals = await Promise.all(['google-only.test', 'own-only.test', 'mailer-only.test'].map((d) => verdict(d, ip)));
      const m = await verdict('merged.test', ip);
      expect(originals.map((o) => o.result)).not.toContain('permerror');
      if (originals.some((o) => o.result === 'pass')) {
        expect(m.result, ip).toBe('pass');
        passed++;
      } else {
        // No original lists it: the merged record ends in its own all.
        expect(m.result, ip).toBe('fail');
        expect(m.matched?.term, ip).toBe('-all');
        unmatched++;
      }
    }
    expect([passed, unmatched]).toEqual([8, 5]);
  });

  it('the two records published side by side are a permerror for everyone', async () => {
    expect((await verdict('dual.test', '192.0.2.1')).result).toBe('permerror');
  });
});

describe('maildns spf merge', () => {
  it('--json: the record, where each term came from, and the lookups with the includes walked', async () => {
    const r = await runCli(['spf', 'merge', GOOGLE, OWN, '--nameserver', ns, '--json']);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.record).toBe('v=spf1 ip4:192.0.2.0/24 include:_spf.google.test include:sendgrid.test -all');
    expect(out.strings).toEqual([out.record]);
    expect(out.lookups).toBe(2);
    // include:_spf.google.test (1) + its include (1) + include:sendgrid.test (1) + its a: (1)
    expect(out.totalLookups).toBe(4);
    expect(out.check.findings.filter((f: { severity: string }) => f.severity === 'error')).toEqual([]);
    expect(out.sources[0]).toEqual({ term: 'ip4:192.0.2.0/24', inputs: [2], original: ['ip4:192.0.2.0/24'] });
    expect(out.warnings.length).toBe(out.findings.length);
    // Bare a and mx belong to a domain not named here: not checked, not counted as void.
    const bare = await runCli(['spf', 'merge', 'v=spf1 mx -all', 'v=spf1 a -all', '--nameserver', ns, '--json']);
    expect(bare.code).toBe(0);
    const b = JSON.parse(bare.stdout);
    expect([b.record, b.totalLookups, b.voidLookups]).toEqual(['v=spf1 a mx -all', 2, 0]);
    expect(b.check.findings.map((f: { code: string }) => f.code)).toEqual(['spf.merge-domain-unknown']);
  });

  it('--domain merges every record published there and checks the result as if it were published', async () => {
    const r = await runCli(['spf', 'merge', '--domain', 'dual.test', '--nameserver', ns]);
    expect(r.code).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toBe('v=spf1 ip4:192.0.2.0/24 include:_spf.google.test include:sendgrid.test -all');
    expect(r.stdout).toContain('merged from 2 records published at dual.test');
    expect(r.stdout).toContain('DNS-querying terms, includes walked: 4/10');
    expect(r.stdout).not.toContain('spf.multiple-records');
    // A new service added to what is published, with the ending chosen.
    const j = JSON.parse((await runCli(['spf', 'merge', '--domain', 'dual.test', 'v=spf1 redirect=_spf.mailer.test', '--all', '~all', '--nameserver', ns, '--json'])).stdout);
    expect(j.record).toBe('v=spf1 ip4:192.0.2.0/24 include:_spf.google.test include:sendgrid.test include:_spf.mailer.test ~all');
    expect(j.inputs).toHaveLength(3);
    expect(j.totalLookups).toBe(5);
  });

  it('exit 1 when the merge needs attention: +all in an input, too many lookups', async () => {
    const pass = await runCli(['spf', 'merge', '--domain', 'passall.test', '--nameserver', ns]);
    expect(pass.code).toBe(1);
    expect(pass.stdout).toContain('spf.merge-pass-all');
    expect(pass.stdout.split('\n')[0]).toBe('v=spf1 ip4:192.0.2.0/24 include:_spf.google.test include:sendgrid.test -all');
    // Nine DNS-querying terms of its own (not over 10), two more below its includes.
    const big = [OWN, GOOGLE, 'v=spf1 include:_spf.mailer.test include:_netblocks.google.test exists:%{i}.x.sendgrid.test mx:sendgrid.test a:sendgrid.test a:mta.sendgrid.test ptr:sendgrid.test -all'];
    const over = await runCli(['spf', 'merge', ...big, '--nameserver', ns, '--json']);
    expect(over.code).toBe(1);
    const out = JSON.parse(over.stdout);
    expect([out.lookups, out.totalLookups]).toEqual([9, 11]);
    expect(out.check.findings.map((f: { code: string }) => f.code)).toContain('spf.too-many-lookups');
  });

  it('exit 2 on bad input: one record, a syntax error, nothing to merge, a wrong --all', async () => {
    const one = await runCli(['spf', 'merge', OWN, '--offline']);
    expect(one.code).toBe(2);
    expect(one.stderr).toMatch(/only one SPF record was given: there is nothing to merge/);
    const oneAt = await runCli(['spf', 'merge', '--domain', 'one.test', '--nameserver', ns]);
    expect(oneAt.code).toBe(2);
    expect(oneAt.stderr).toMatch(/one\.test publishes only one SPF record: there is nothing to merge/);
    const bad = await runCli(['spf', 'merge', '--domain', 'badsyntax.test', '--nameserver', ns]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/input 1 of the records published at badsyntax\.test \(.*column 21 .*above 32/);
    expect((await runCli(['spf', 'merge', '--offline'])).code).toBe(2);
    expect((await runCli(['spf', 'merge', '--domain', 'nothing.test', '--nameserver', ns])).code).toBe(2);
    const plus = await runCli(['spf', 'merge', GOOGLE, OWN, '--all', '+all', '--offline']);
    expect(plus.code).toBe(2);
    expect(plus.stderr).toMatch(/every address/);
  });

  it('--all takes "-all" as its value; exit 3 when the domain cannot be asked', async () => {
    const r = await runCli(['spf', 'merge', 'v=spf1 mx ~all', 'v=spf1 a ?all', '--all', '-all', '--offline']);
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n')[0]).toBe('v=spf1 a mx -all');
    expect((await runCli(['spf', 'merge', '--domain', 'slow.test', '--nameserver', ns, '--timeout', '300'])).code).toBe(3);
  });
});
