/**
 * Reverse DNS of sending addresses against Knot serving forward zones and PTR zones
 * (2.0.192.in-addr.arpa and 8.b.d.0.1.0.0.2.ip6.arpa): forward-confirmed, not confirmed, no PTR,
 * several PTRs, a HELO name that differs, from what the domain publishes and from a plan.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderZone } from '../../../providers/zone.js';
import { auditDomain, type DomainResult } from '../../../src/check/audit.js';
import { DnsResolver, type DnsAnswer, type RDataMap, type Resolver, type RRType } from '../../../src/dns/resolver.js';
import { parsePlan } from '../../../src/plan/load.js';
import { auditReverseDns, checkReverseDns, sendingAddressesFromPlan } from '../../../src/rdns/evaluate.js';
import { verifyPlan } from '../../../src/verify/run.js';
import { composePtrRecords, reverseLookupName } from '../../../src/rdns/compose.js';
import type { DnsRecord } from '../../../src/records.js';
import { runCli } from '../../helpers/cli.js';
import { startKnot, type KnotServer } from '../../helpers/knot.js';

const rec = (name: string, type: DnsRecord['type'], value: string): DnsRecord => ({ name, type, ttl: 300, value });
const soa = (apex: string): DnsRecord[] => [rec(apex, 'SOA', `ns.example. h.example. 1 3600 600 604800 300`), rec(apex, 'NS', 'ns.example.')];
const ptr = (address: string, name: string): DnsRecord => rec(reverseLookupName(address)!, 'PTR', `${name}.`);

const ZONES: Record<string, DnsRecord[]> = {
  example: [...soa('example'), rec('ns.example', 'A', '192.0.2.53')],
  'rdns.example': [
    ...soa('rdns.example'),
    rec('rdns.example', 'MX', '10 mail.rdns.example.'),
    rec('rdns.example', 'TXT', 'v=spf1 ip4:192.0.2.26 ip4:198.51.100.0/24 ip6:2001:db8::27/128 mx -all'),
    rec('mail.rdns.example', 'A', '192.0.2.25'),
    rec('mail.rdns.example', 'AAAA', '2001:db8::25'),
    rec('out.rdns.example', 'A', '192.0.2.26'),
    rec('v6.rdns.example', 'AAAA', '2001:db8::27'),
  ],
  'liar.example': [
    ...soa('liar.example'),
    rec('liar.example', 'TXT', 'v=spf1 ip4:192.0.2.40 ip4:192.0.2.42/32 -all'),
    // 192.0.2.40's PTR name points elsewhere; 192.0.2.42 has two PTR names, one of them confirmed.
    rec('mail.liar.example', 'A', '192.0.2.41'),
    rec('two.liar.example', 'A', '192.0.2.42'),
  ],
  '2.0.192.in-addr.arpa': [
    ...soa('2.0.192.in-addr.arpa'),
    ptr('192.0.2.25', 'mail.rdns.example'),
    ptr('192.0.2.26', 'out.rdns.example'),
    ptr('192.0.2.40', 'mail.liar.example'),
    ptr('192.0.2.42', 'other.liar.example'),
    ptr('192.0.2.42', 'two.liar.example'),
  ],
  // 2001:db8::25 has no PTR; 2001:db8::27 has one that is confirmed.
  '8.b.d.0.1.0.0.2.ip6.arpa': [...soa('8.b.d.0.1.0.0.2.ip6.arpa'), ptr('2001:db8::27', 'v6.rdns.example')],
};

/** Remembers every question, to show which checks ask PTRs. */
class Recording implements Resolver {
  readonly asked: string[] = [];
  constructor(private readonly inner: Resolver) {}
  lookup<T extends RRType>(name: string, type: T): Promise<DnsAnswer<RDataMap[T]>> {
    this.asked.push(`${name} ${type}`);
    return this.inner.lookup(name, type);
  }
}

describe('reverse DNS of sending addresses, against Knot', () => {
  let knot: KnotServer;
  let resolver: DnsResolver;
  beforeAll(async () => {
    knot = await startKnot(Object.fromEntries(Object.entries(ZONES).map(([apex, recs]) => [apex, renderZone(apex, recs, 300)])));
    resolver = new DnsResolver({ servers: [{ host: knot.host, port: knot.port }], timeoutMs: 2000 });
  });
  afterAll(async () => knot?.stop());

  it('knows the reverse names of IPv4 and IPv6 addresses', () => {
    expect(reverseLookupName('192.0.2.25')).toBe('25.2.0.192.in-addr.arpa');
    expect(reverseLookupName('2001:db8::27')).toBe('7.2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa');
    expect(reverseLookupName('::ffff:192.0.2.25')).toBe('25.2.0.192.in-addr.arpa');
    expect(reverseLookupName('mail.example')).toBeNull();
  });

  it('checks the SPF single hosts and the MX hosts a domain publishes: confirmed, and an IPv6 address without PTR', async () => {
    const r = await auditReverseDns(resolver, 'rdns.example');
    expect(r.results.map((x) => [x.address, x.source, x.state, x.confirmedName])).toEqual([
      ['192.0.2.26', 'spf ip4:192.0.2.26', 'confirmed', 'out.rdns.example'],
      ['2001:db8::27', 'spf ip6:2001:db8::27/128', 'confirmed', 'v6.rdns.example'],
      ['192.0.2.25', 'mx mail.rdns.example', 'confirmed', 'mail.rdns.example'],
      ['2001:db8::25', 'mx mail.rdns.example', 'no-ptr', null],
    ]);
    expect(r.findings.map((f) => [f.code, f.subject])).toEqual([['rdns.no-ptr', '2001:db8::25 (mx mail.rdns.example)']]);
    expect(r.findings[0]!.rfc).toBe('RFC 1912 §2.1');
  });

  it('finds a PTR name that does not resolve back, and several PTR names', async () => {
    const r = await auditReverseDns(resolver, 'liar.example');
    expect(r.results.map((x) => [x.address, x.state, x.ptr])).toEqual([
      ['192.0.2.40', 'not-confirmed', ['mail.liar.example']],
      ['192.0.2.42', 'confirmed', expect.arrayContaining(['other.liar.example', 'two.liar.example'])],
    ]);
    expect(r.findings.map((f) => f.code).sort()).toEqual(['rdns.multiple-ptr', 'rdns.not-forward-confirmed']);
  });

  it('from a plan: compares the PTR name with the HELO name the plan gives', async () => {
    const plan = parsePlan(
      [
        'domains:',
        '  - domain: rdns.example',
        '    mx: [mail.rdns.example]',
        '    spf: { ip4: [192.0.2.26, 203.0.113.0/24] }',
        '    sending_hosts:',
        '      - { address: 192.0.2.26, helo: mail.rdns.example }',
        '      - { address: 192.0.2.25, helo: mail.rdns.example }',
      ].join('\n'),
      'plan.yaml',
    );
    const d = plan.domains[0]!;
    const found = await sendingAddressesFromPlan(resolver, d);
    expect(found.addresses.map((a) => [a.address, a.helo ?? null])).toEqual([
      ['192.0.2.26', 'mail.rdns.example'],
      ['192.0.2.25', 'mail.rdns.example'],
      ['2001:db8::25', null],
    ]);
    const report = await checkReverseDns(resolver, found.addresses);
    expect(report.findings.map((f) => [f.code, f.severity, f.subject])).toEqual([
      ['rdns.helo-mismatch', 'warning', '192.0.2.26 (spf ip4:192.0.2.26)'],
      ['rdns.no-ptr', 'error', '2001:db8::25 (mx mail.rdns.example)'],
    ]);
    expect(composePtrRecords(d.sendingHosts!, 3600).map((p) => `${p.name} PTR ${p.value}`)).toEqual([
      '26.2.0.192.in-addr.arpa PTR mail.rdns.example',
      '25.2.0.192.in-addr.arpa PTR mail.rdns.example',
    ]);
  });

  it('verify checks the reverse DNS of a domain that lists sending_hosts, and of every domain with rdns', async () => {
    const plan = parsePlan(
      ['domains:', '  - domain: rdns.example', '    sending_hosts: [{ address: 192.0.2.26, helo: mail.rdns.example }]', '  - domain: liar.example', '    spf: { ip4: [192.0.2.40] }'].join('\n'),
      'plan.yaml',
    );
    const opts = { resolver, authoritative: [`127.0.0.1:${knot.port}`] };
    const rdnsCodes = (r: Awaited<ReturnType<typeof verifyPlan>>): string[][] => r.domains.map((d) => d.findings.filter((f) => f.code.startsWith('rdns.')).map((f) => f.code));
    expect(rdnsCodes(await verifyPlan(plan, opts))).toEqual([['rdns.helo-mismatch'], []]);
    expect(rdnsCodes(await verifyPlan(plan, { ...opts, rdns: true }))).toEqual([['rdns.helo-mismatch'], ['rdns.not-forward-confirmed']]);
  });

  it('the default check asks no PTR; --rdns does, and reports it in JSON', async () => {
    const recording = new Recording(resolver);
    const plain = await auditDomain(recording, 'liar.example', { selectors: [], failOn: 'error' });
    expect(recording.asked.filter((q) => q.endsWith(' PTR'))).toEqual([]);
    expect(plain.rdns).toBeUndefined();

    const cli = await runCli(['check', 'rdns.example', 'liar.example', '--rdns', '--nameserver', `127.0.0.1:${knot.port}`, '--json']);
    expect(cli.code).toBe(1);
    const doc = JSON.parse(cli.stdout) as { domains: DomainResult[] };
    const rdnsCodes = doc.domains.map((d) => [d.domain, d.findings.filter((f) => f.code.startsWith('rdns.')).map((f) => f.code).sort()]);
    expect(rdnsCodes).toEqual([
      ['rdns.example', ['rdns.no-ptr']],
      ['liar.example', ['rdns.multiple-ptr', 'rdns.not-forward-confirmed']],
    ]);
    expect(doc.domains[0]!.rdns!.results).toHaveLength(4);
  });
});
