/** `maildns spf merge`: check_host() equivalence on the embedded DNS server, and the CLI (the merge rules: test/unit/spf/merge.test.ts). */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../../../src/dns/server.js';
import type { DnsRecord } from '../../../src/records.js';
import { checkHost, type SpfVerdict } from '../../../src/spf/evaluate.js';
import { mergeSpf } from '../../../src/spf/merge.js';
import { runCli } from '../../helpers/cli.js';
import { LocalResolver } from '../../helpers/local-resolver.js';

const txt = (name: string, value: string): DnsRecord => ({ name, type: 'TXT', ttl: 300, value });

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
let resolver: LocalResolver;
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
  resolver = new LocalResolver(server, { silent: ['slow.test'] });
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

// The runs of one test are independent, so they start together: each costs a node start-up.
describe('maildns spf merge', () => {
  it('--json: the record, where each term came from, and the lookups with the includes walked', async () => {
    const [r, bare] = await Promise.all([
      runCli(['spf', 'merge', GOOGLE, OWN, '--nameserver', ns, '--json']),
      runCli(['spf', 'merge', 'v=spf1 mx -all', 'v=spf1 a -all', '--nameserver', ns, '--json']),
    ]);
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
    expect(bare.code).toBe(0);
    const b = JSON.parse(bare.stdout);
    expect([b.record, b.totalLookups, b.voidLookups]).toEqual(['v=spf1 a mx -all', 2, 0]);
    expect(b.check.findings.map((f: { code: string }) => f.code)).toEqual(['spf.merge-domain-unknown']);
  });

  it('--domain merges every record published there and checks the result as if it were published', async () => {
    const [r, added] = await Promise.all([
      runCli(['spf', 'merge', '--domain', 'dual.test', '--nameserver', ns]),
      // A new service added to what is published, with the ending chosen.
      runCli(['spf', 'merge', '--domain', 'dual.test', 'v=spf1 redirect=_spf.mailer.test', '--all', '~all', '--nameserver', ns, '--json']),
    ]);
    expect(r.code).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toBe('v=spf1 ip4:192.0.2.0/24 include:_spf.google.test include:sendgrid.test -all');
    expect(r.stdout).toContain('merged from 2 records published at dual.test');
    expect(r.stdout).toContain('DNS-querying terms, includes walked: 4/10');
    expect(r.stdout).not.toContain('spf.multiple-records');
    const j = JSON.parse(added.stdout);
    expect(j.record).toBe('v=spf1 ip4:192.0.2.0/24 include:_spf.google.test include:sendgrid.test include:_spf.mailer.test ~all');
    expect(j.inputs).toHaveLength(3);
    expect(j.totalLookups).toBe(5);
  });

  it('exit 1 when the merge needs attention: +all in an input, too many lookups', async () => {
    // Nine DNS-querying terms of its own (not over 10), two more below its includes.
    const big = [OWN, GOOGLE, 'v=spf1 include:_spf.mailer.test include:_netblocks.google.test exists:%{i}.x.sendgrid.test mx:sendgrid.test a:sendgrid.test a:mta.sendgrid.test ptr:sendgrid.test -all'];
    const [pass, over] = await Promise.all([
      runCli(['spf', 'merge', '--domain', 'passall.test', '--nameserver', ns]),
      runCli(['spf', 'merge', ...big, '--nameserver', ns, '--json']),
    ]);
    expect(pass.code).toBe(1);
    expect(pass.stdout).toContain('spf.merge-pass-all');
    expect(pass.stdout.split('\n')[0]).toBe('v=spf1 ip4:192.0.2.0/24 include:_spf.google.test include:sendgrid.test -all');
    expect(over.code).toBe(1);
    const out = JSON.parse(over.stdout);
    expect([out.lookups, out.totalLookups]).toEqual([9, 11]);
    expect(out.check.findings.map((f: { code: string }) => f.code)).toContain('spf.too-many-lookups');
  });

  it('exit 2 on bad input: one record, a syntax error, nothing to merge, a wrong --all', async () => {
    const [one, oneAt, bad, none, nothingThere, plus] = await Promise.all([
      runCli(['spf', 'merge', OWN, '--offline']),
      runCli(['spf', 'merge', '--domain', 'one.test', '--nameserver', ns]),
      runCli(['spf', 'merge', '--domain', 'badsyntax.test', '--nameserver', ns]),
      runCli(['spf', 'merge', '--offline']),
      runCli(['spf', 'merge', '--domain', 'nothing.test', '--nameserver', ns]),
      runCli(['spf', 'merge', GOOGLE, OWN, '--all', '+all', '--offline']),
    ]);
    expect(one.code).toBe(2);
    expect(one.stderr).toMatch(/only one SPF record was given: there is nothing to merge/);
    expect(oneAt.code).toBe(2);
    expect(oneAt.stderr).toMatch(/one\.test publishes only one SPF record: there is nothing to merge/);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/input 1 of the records published at badsyntax\.test \(.*column 21 .*above 32/);
    expect(none.code).toBe(2);
    expect(nothingThere.code).toBe(2);
    expect(plus.code).toBe(2);
    expect(plus.stderr).toMatch(/every address/);
  });

  it('--all takes "-all" as its value; exit 3 when the domain cannot be asked', async () => {
    const [r, slow] = await Promise.all([
      runCli(['spf', 'merge', 'v=spf1 mx ~all', 'v=spf1 a ?all', '--all', '-all', '--offline']),
      runCli(['spf', 'merge', '--domain', 'slow.test', '--nameserver', ns, '--timeout', '300']),
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n')[0]).toBe('v=spf1 a mx -all');
    expect(slow.code).toBe(3);
  });
});
