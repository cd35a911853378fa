import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DnsResolver } from '../../../src/dns/resolver.js';
import { loadPlan } from '../../../src/plan/load.js';
import type { Plan } from '../../../src/plan/types.js';
import { renderVerifyReport } from '../../../src/cli/render/verify.js';
import { verifyPlan, type DomainVerification, type VerifyReport } from '../../../src/verify/run.js';
import { runCli } from '../../helpers/cli.js';
import { startKnot, type KnotServer } from '../../helpers/knot.js';

const DOMAIN = 'shop.example';

/** A plan file in a temporary directory: one domain with an SPF record and the given name servers. */
function planFile(nameservers: string, domain = DOMAIN): { file: string; plan: Plan } {
  const dir = mkdtempSync(path.join(tmpdir(), 'maildns-verify-ns-'));
  const file = path.join(dir, 'maildns.yaml');
  writeFileSync(
    file,
    `version: 1
defaults:
  ttl: 3600
domains:
  - domain: ${domain}
    spf:
      ip4: [192.0.2.25]
      all: -all
    nameservers:
${nameservers.replace(/^/gm, '      ')}
`,
  );
  return { file, plan: loadPlan(file) };
}

/** The zone of shop.example with these NS hosts and extra lines (addresses, more records). */
function zone(ns: string[], extra: string[] = [], serial = 1): string {
  return [
    `$ORIGIN ${DOMAIN}.`,
    '$TTL 3600',
    `@ IN SOA ns1.${DOMAIN}. hostmaster.${DOMAIN}. ${serial} 3600 600 604800 300`,
    ...ns.map((h) => `@ IN NS ${h}.`),
    '@ IN TXT "v=spf1 ip4:192.0.2.25 -all"',
    ...extra,
  ].join('\n') + '\n';
}

const PARENT = '$ORIGIN example.\n$TTL 3600\n@ IN SOA ns.example. h.example. 1 3600 600 604800 300\n@ IN NS ns.example.\n';
const NS12 = [`ns1.${DOMAIN}`, `ns2.${DOMAIN}`];
const ADDRS = ['ns1 IN A 127.0.0.1', 'ns2 IN A 127.0.0.1'];
const PLANNED = `- host: ns1.${DOMAIN}\n  addresses: [127.0.0.1]\n- ns2.${DOMAIN}`;

const nsCodes = (d: DomainVerification): string[] => d.findings.map((f) => f.code).filter((c) => c.startsWith('verify.ns')).sort();
const resolverFor = (k: KnotServer): DnsResolver => new DnsResolver({ servers: [{ host: k.host, port: k.port }], timeoutMs: 1000 });
const at = (k: KnotServer): string => `${k.host}:${k.port}`;

describe('maildns verify: name servers against the plan (Knot)', () => {
  let good: KnotServer;
  let extra: KnotServer;
  beforeAll(async () => {
    good = await startKnot({ example: PARENT, [DOMAIN]: zone(NS12, ADDRS) });
    extra = await startKnot({ example: PARENT, [DOMAIN]: zone([...NS12, 'ns.old-host.example'], ADDRS) });
  });
  afterAll(async () => {
    await good?.stop();
    await extra?.stop();
  });

  it('name servers as planned: exit 0, no ns finding, NS and address rows match', async () => {
    const { plan } = planFile(PLANNED);
    const report = await verifyPlan(plan, { resolver: resolverFor(good), authoritative: [at(good)], timeoutMs: 1000 });
    const d = report.domains[0]!;
    expect(d.findings.filter((f) => f.severity !== 'info')).toEqual([]);
    expect(nsCodes(d)).toEqual([]);
    expect(report.outcome).toBe('ok');
    const ns = d.records.filter((r) => r.purpose === 'ns');
    expect(ns.map((r) => [r.name, r.type, r.planned.value])).toEqual([
      [DOMAIN, 'NS', `ns1.${DOMAIN}`],
      [DOMAIN, 'NS', `ns2.${DOMAIN}`],
    ]);
    expect(ns.every((r) => r.servers.every((s) => s.state === 'match'))).toBe(true);
    const glue = d.records.filter((r) => r.purpose === 'ns-address');
    expect(glue.map((r) => [r.name, r.type, r.planned.value, r.servers[0]!.state])).toEqual([[`ns1.${DOMAIN}`, 'A', '127.0.0.1', 'match']]);
    expect(renderVerifyReport(report, false)).toMatch(new RegExp(`ok NS   ${DOMAIN} \\(ns\\)`));
  });

  it('upper case and trailing dots in the plan compare equal, and discovery through the resolver agrees', async () => {
    const { plan } = planFile(`- host: NS2.Shop.Example.\n- host: ns1.shop.example\n  addresses: [127.0.0.1]`);
    // Discovery: the NS set and the addresses come from the main resolver, each server is asked at the Knot port.
    const report = await verifyPlan(plan, { resolver: resolverFor(good), port: good.port, timeoutMs: 1000 });
    const d = report.domains[0]!;
    expect(d.servers.map((s) => s.name)).toEqual(NS12);
    expect(nsCodes(d)).toEqual([]);
    expect(report.outcome).toBe('ok');
    expect(d.records.filter((r) => r.purpose === 'ns').every((r) => r.servers.length === 2 && r.servers.every((s) => s.state === 'match'))).toBe(true);
  });

  it('a planned name server the zone does not list: verify.ns-missing, exit 1', async () => {
    const { plan, file } = planFile(`${PLANNED}\n- ns3.${DOMAIN}`);
    const report = await verifyPlan(plan, { resolver: resolverFor(good), authoritative: [at(good)], timeoutMs: 1000 });
    const d = report.domains[0]!;
    expect(report.outcome).toBe('problems');
    expect(nsCodes(d)).toEqual(['verify.ns-missing']);
    const f = d.findings.find((x) => x.code === 'verify.ns-missing')!;
    expect(f.severity).toBe('error');
    expect(f.subject).toBe(`${DOMAIN} NS`);
    expect(f.message).toContain(`ns3.${DOMAIN} is missing`);
    expect(f.message).toContain(`(published there: {ns1.${DOMAIN}, ns2.${DOMAIN}})`);
    const row = d.records.find((r) => r.purpose === 'ns' && r.planned.value === `ns3.${DOMAIN}`)!;
    expect(row.servers.map((s) => s.state)).toEqual(['missing']);

    const cli = await runCli(['verify', '--plan', file, '--nameserver', at(good), '--authoritative', at(good), '--json']);
    expect(cli.code).toBe(1);
    const json = JSON.parse(cli.stdout) as VerifyReport;
    expect(json.domains[0]!.findings.map((x) => x.code)).toContain('verify.ns-missing');
    expect(json.domains[0]!.records.filter((r) => r.type === 'NS').map((r) => r.servers[0]!.state)).toEqual(['match', 'match', 'missing']);
  });

  it('a published name server the plan does not list: a warning, exit 0 by default and 1 with --fail-on warning', async () => {
    const { plan, file } = planFile(PLANNED);
    const report = await verifyPlan(plan, { resolver: resolverFor(extra), authoritative: [at(extra)], timeoutMs: 1000 });
    const d = report.domains[0]!;
    expect(nsCodes(d)).toEqual(['verify.ns-extra']);
    const f = d.findings.find((x) => x.code === 'verify.ns-extra')!;
    expect(f.severity).toBe('warning');
    expect(f.message).toMatch(/^127\.0\.0\.1:\d+ publishes ns\.old-host\.example as a name server of shop\.example/);
    expect(report.outcome).toBe('ok');

    const [lenient, strict] = await Promise.all([
      runCli(['verify', '--plan', file, '--nameserver', at(extra), '--authoritative', at(extra)]),
      runCli(['verify', '--plan', file, '--nameserver', at(extra), '--authoritative', at(extra), '--fail-on', 'warning']),
    ]);
    expect(lenient.code).toBe(0);
    expect(lenient.stdout).toMatch(/WARNING verify\.ns-extra/);
    expect(strict.code).toBe(1);
    expect(strict.stdout).toMatch(/PROBLEMS/);
  });

  it('servers that disagree about the NS set: missing on one, as planned on the other', async () => {
    const lagging = await startKnot({ example: PARENT, [DOMAIN]: zone([`ns1.${DOMAIN}`], ADDRS, 0) });
    try {
      const { plan } = planFile(PLANNED);
      const report = await verifyPlan(plan, { resolver: resolverFor(good), authoritative: [at(good), at(lagging)], timeoutMs: 1000 });
      const d = report.domains[0]!;
      expect(report.outcome).toBe('problems');
      expect(nsCodes(d)).toEqual(['verify.ns-missing']);
      expect(d.findings.find((x) => x.code === 'verify.ns-missing')!.message).toMatch(
        new RegExp(`ns2\\.shop\\.example is missing from the NS records on ${at(lagging)} \\(published there: \\{ns1\\.shop\\.example\\}\\); as planned on ${at(good)}$`),
      );
      const ns2 = d.records.find((r) => r.planned.value === `ns2.${DOMAIN}`)!;
      expect(ns2.servers.map((s) => s.state)).toEqual(['match', 'missing']);
    } finally {
      await lagging.stop();
    }
  });

  it('addresses of an in-zone name server: a missing planned address and an unplanned one', async () => {
    const k = await startKnot({ example: PARENT, [DOMAIN]: zone(NS12, ['ns1 IN A 127.0.0.9', 'ns1 IN AAAA 2001:db8::53', 'ns2 IN A 127.0.0.1']) });
    try {
      // 2001:DB8:0:0::53 is 2001:db8::53 written otherwise: it matches.
      const { plan } = planFile(`- host: ns1.${DOMAIN}\n  addresses: [127.0.0.1, "2001:DB8:0:0::53"]\n- ns2.${DOMAIN}`);
      const report = await verifyPlan(plan, { resolver: resolverFor(k), authoritative: [at(k)], timeoutMs: 1000 });
      const d = report.domains[0]!;
      expect(report.outcome).toBe('problems');
      expect(nsCodes(d)).toEqual(['verify.ns-address-extra', 'verify.ns-address-missing']);
      const missing = d.findings.find((x) => x.code === 'verify.ns-address-missing')!;
      expect(missing.subject).toBe(`ns1.${DOMAIN} A`);
      expect(missing.message).toContain('planned address 127.0.0.1 is not published');
      expect(missing.message).toContain('(published there: {127.0.0.9})');
      expect(d.findings.find((x) => x.code === 'verify.ns-address-extra')!.message).toContain('A 127.0.0.9 for the name server ns1.shop.example');
      const rows = d.records.filter((r) => r.purpose === 'ns-address').map((r) => [r.type, r.planned.value, r.servers[0]!.state]);
      expect(rows).toEqual([
        ['A', '127.0.0.1', 'missing'],
        ['AAAA', '2001:db8::53', 'match'],
      ]);
    } finally {
      await k.stop();
    }
  });

  it('the main resolver hands discovery another NS set than the servers publish: verify.ns-resolver-differs', async () => {
    // The "resolver" serves an older copy of the zone that still lists ns3; every listed host leads to `good`.
    const stale = await startKnot({ example: PARENT, [DOMAIN]: zone([...NS12, `ns3.${DOMAIN}`], [...ADDRS, 'ns3 IN A 127.0.0.1']) });
    try {
      const { plan } = planFile(PLANNED);
      const report = await verifyPlan(plan, { resolver: resolverFor(stale), port: good.port, timeoutMs: 1000 });
      const d = report.domains[0]!;
      expect(d.servers.map((s) => s.name)).toEqual([...NS12, `ns3.${DOMAIN}`]);
      expect(nsCodes(d)).toEqual(['verify.ns-resolver-differs']);
      const f = d.findings.find((x) => x.code === 'verify.ns-resolver-differs')!;
      expect(f.severity).toBe('warning');
      expect(f.message).toContain(`the main resolver answers NS {ns1.${DOMAIN}, ns2.${DOMAIN}, ns3.${DOMAIN}}`);
      expect(f.message).toContain(`ns3.${DOMAIN} publishes {ns1.${DOMAIN}, ns2.${DOMAIN}}`);
      expect(report.outcome).toBe('ok');
    } finally {
      await stale.stop();
    }
  });

  it('a domain inside a parent zone: one note, the name servers are not compared', async () => {
    const sub = `news.${DOMAIN}`;
    const k = await startKnot({ example: PARENT, [DOMAIN]: zone(NS12, [...ADDRS, 'news IN TXT "v=spf1 ip4:192.0.2.25 -all"']) });
    try {
      const { plan, file } = planFile(`- ns1.${sub}\n- ns2.${sub}`, sub);
      const report = await verifyPlan(plan, { resolver: resolverFor(k), authoritative: [at(k)], timeoutMs: 1000 });
      const d = report.domains[0]!;
      expect(d.zone).toBe(DOMAIN);
      expect(nsCodes(d)).toEqual(['verify.ns-not-apex']);
      const f = d.findings.find((x) => x.code === 'verify.ns-not-apex')!;
      expect(f.severity).toBe('info');
      expect(f.subject).toBe(sub);
      expect(f.message).toContain(`not a zone apex (its records are served in the zone ${DOMAIN})`);
      expect(d.records.some((r) => r.type === 'NS')).toBe(false);
      expect(report.outcome).toBe('ok');
      const cli = await runCli(['verify', '--plan', file, '--nameserver', at(k), '--authoritative', at(k)]);
      expect(cli.code).toBe(0);
      expect(cli.stdout).toMatch(/INFO    verify\.ns-not-apex/);
    } finally {
      await k.stop();
    }
  });
});
