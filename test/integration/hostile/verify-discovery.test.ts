/**
 * `maildns verify` with the servers discovered (no --authoritative): the zone's NS names, each at
 * its address. A name with no address is named as such, and apart from a name whose address could
 * not be looked up (a failure to sit out, not a record to publish); an IPv6-only name server is
 * asked at its IPv6 address (::1 here). Every server is on the same port, as discovery takes one.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { answer, rdata, startHostileDns, T, type HostileQuery, type HostileReply, type HostileServer } from '../../helpers/hostile-dns.js';
import { DnsResolver } from '../../../src/dns/resolver.js';
import { parsePlan } from '../../../src/plan/load.js';
import { verifyPlan } from '../../../src/verify/run.js';

const SPF = 'v=spf1 ip4:192.0.2.25 -all';

/** The zone example.test with the NS names `ns` (host -> its A and AAAA, either of them 'silent', or 'silent': its address questions go unanswered). */
function zone(ns: Record<string, { a?: string | string[]; aaaa?: string | string[] } | 'silent'>) {
  return (q: HostileQuery): HostileReply => {
    const name = q.name.toLowerCase();
    const soa = { name: 'example.test', type: T.SOA, rdata: rdata.soa('ns.example.test', 'hostmaster.example.test', 7) };
    if (name !== 'example.test' && !name.endsWith('.example.test')) return answer(q, { rcode: 5, aa: false });
    if (name === 'example.test' && q.type === T.SOA) return answer(q, { answers: [{ ...soa, name: { pointer: 12 } }] });
    if (name === 'example.test' && q.type === T.NS) return answer(q, { answers: Object.keys(ns).map((h) => ({ name: { pointer: 12 }, type: T.NS, rdata: rdata.name(h) })) });
    if (name === 'example.test' && q.type === T.TXT) return answer(q, { answers: [{ name: { pointer: 12 }, type: T.TXT, ttl: 3600, rdata: rdata.txt(SPF) }] });
    const host = ns[name];
    if (host === 'silent') return null;
    if (host && ((q.type === T.A && host.a === 'silent') || (q.type === T.AAAA && host.aaaa === 'silent'))) return null;
    if (host && q.type === T.A && host.a) return answer(q, { answers: [host.a].flat().map((a) => ({ name: { pointer: 12 }, type: T.A, rdata: rdata.a(a) })) });
    if (host && q.type === T.AAAA && host.aaaa) return answer(q, { answers: [host.aaaa].flat().map((a) => ({ name: { pointer: 12 }, type: T.AAAA, rdata: rdata.aaaa(a) })) });
    return answer(q, { rcode: host || name === 'example.test' ? 0 : 3, authorities: [soa] });
  };
}

const plan = parsePlan('version: 1\ndomains:\n  - domain: example.test\n    spf: { ip4: [192.0.2.25], all: "-all" }\n', 'maildns.yaml');
const NS = {
  'ns1.example.test': { a: '127.0.0.1' },
  'ns6.example.test': { aaaa: '::1' },
  'noaddr.example.test': {},
  'slow.example.test': 'silent',
} as const;

let v4: HostileServer;
let v6: HostileServer;
beforeAll(async () => {
  // The IPv6 server takes the IPv4 server's port number; again with another port when it is taken on ::1.
  for (let i = 0; ; i++) {
    v4 = await startHostileDns(zone(NS));
    try {
      v6 = await startHostileDns(zone(NS), { host: '::1', port: v4.port });
      break;
    } catch (err) {
      await v4.close();
      if (i > 5) throw err;
    }
  }
});
afterAll(async () => {
  await Promise.all([v4?.close(), v6?.close()]);
});

describe('verify with discovered servers', () => {
  it('an IPv6-only name server is asked at [::1], a name with no address and one whose address lookup failed are told apart', async () => {
    const resolver = new DnsResolver({ servers: [{ host: v4.host, port: v4.port }], timeoutMs: 300, attempts: 1 });
    const report = await verifyPlan(plan, { resolver, port: v4.port, timeoutMs: 300 });
    const d = report.domains[0]!;
    expect(d.zone).toBe('example.test');
    expect(d.servers.map((s) => [s.name, s.address, s.status, s.serial])).toEqual([
      ['noaddr.example.test', null, 'no-address', null],
      ['slow.example.test', null, 'timeout', null],
      ['ns1.example.test', `127.0.0.1:${v4.port}`, 'ok', 7],
      ['ns6.example.test', `[::1]:${v4.port}`, 'ok', 7],
    ]);
    expect(v6.queries.some((q) => q.name === 'example.test' && q.type === T.SOA)).toBe(true);
    const spf = d.records.find((r) => r.purpose === 'spf')!;
    expect(spf.servers.map((s) => [s.server, s.state])).toEqual([
      ['ns1.example.test', 'match'],
      ['ns6.example.test', 'match'],
    ]);
    const noaddr = d.findings.find((f) => f.subject === 'noaddr.example.test')!;
    expect(noaddr).toMatchObject({ code: 'verify.server-no-address', severity: 'error' });
    expect(noaddr.message).toContain('has no A or AAAA record');
    const slow = d.findings.find((f) => f.subject === 'slow.example.test')!;
    expect(slow.code).toBe('verify.server-unreachable');
    expect(slow.message).toContain('could not be looked up');
    expect(slow.message).toContain('timeout');
    expect(slow.fix).not.toMatch(/publish an A or AAAA/);
    expect(report.outcome).toBe('problems');
  });

  it("an NS name whose A records came and AAAA lookup timed out: asked at its A address, and the failed lookup named (a warning)", async () => {
    const half = await startHostileDns(zone({ 'ns1.example.test': { a: '127.0.0.1', aaaa: 'silent' } }));
    try {
      const resolver = new DnsResolver({ servers: [{ host: half.host, port: half.port }], timeoutMs: 300, attempts: 1 });
      const report = await verifyPlan(plan, { resolver, port: half.port, timeoutMs: 300 });
      const d = report.domains[0]!;
      expect(d.servers.map((s) => [s.name, s.status])).toEqual([['ns1.example.test', 'ok']]);
      expect(d.findings.map((f) => [f.code, f.severity, f.subject])).toEqual([['verify.server-addresses-unknown', 'warning', 'ns1.example.test']]);
      expect(d.findings[0]!.message).toMatch(/the AAAA records of ns1\.example\.test.*could not be looked up \(.*time.*\).*asked at 127\.0\.0\.1/);
      expect(report.outcome).toBe('ok');
    } finally {
      await half.close();
    }
  });

  it('every NS name has no address: a problem found (exit 1), not DNS unavailable', async () => {
    const only = await startHostileDns(zone({ 'noaddr.example.test': {} }));
    try {
      const resolver = new DnsResolver({ servers: [{ host: only.host, port: only.port }], timeoutMs: 300, attempts: 1 });
      const report = await verifyPlan(plan, { resolver, port: only.port, timeoutMs: 300 });
      expect(report.domains[0]!.findings.map((f) => f.code)).toEqual(['verify.server-no-address']);
      expect(report.domains[0]!.status).toBe('problems');
      expect(report.outcome).toBe('problems');
    } finally {
      await only.close();
    }
  });

  it('two NS names at one address: said to be one server, not two (a warning); the records compared on both', async () => {
    const twin = await startHostileDns(zone({ 'ns1.example.test': { a: '127.0.0.1' }, 'ns2.example.test': { a: '127.0.0.1' } }));
    try {
      const resolver = new DnsResolver({ servers: [{ host: twin.host, port: twin.port }], timeoutMs: 300, attempts: 1 });
      const report = await verifyPlan(plan, { resolver, port: twin.port, timeoutMs: 300 });
      const d = report.domains[0]!;
      expect(d.servers.map((s) => [s.name, s.status])).toEqual([
        ['ns1.example.test', 'ok'],
        ['ns2.example.test', 'ok'],
      ]);
      const f = d.findings.filter((x) => x.code === 'verify.servers-share-address');
      expect(f).toEqual([expect.objectContaining({ severity: 'warning', subject: 'example.test', rfc: 'RFC 2182 §3.1' })]);
      expect(f[0]!.message).toContain(`ns1.example.test, ns2.example.test of example.test are all at 127.0.0.1:${twin.port}`);
      expect(report.outcome).toBe('ok');
    } finally {
      await twin.close();
    }
  });

  it('an NS name whose first address is dead and second works: each address asked, the dead one named with its NS name, the zone verified through the others', async () => {
    // ns1 at 127.0.0.2 (nothing listens on the port) and 127.0.0.1 (the server); ns2 at 127.0.0.3 (silent there) and 127.0.0.1.
    const good = await startHostileDns(zone({ 'ns1.example.test': { a: ['127.0.0.2', '127.0.0.1'] }, 'ns2.example.test': { a: ['127.0.0.3', '127.0.0.1'] } }));
    const silent = await startHostileDns(() => null, { host: '127.0.0.3', port: good.port });
    try {
      const resolver = new DnsResolver({ servers: [{ host: good.host, port: good.port }], timeoutMs: 300, attempts: 1 });
      const report = await verifyPlan(plan, { resolver, port: good.port, timeoutMs: 300, attempts: 1 });
      const d = report.domains[0]!;
      expect(d.zone).toBe('example.test');
      expect(d.servers.map((s) => [s.name, s.nsName, s.address, s.status])).toEqual([
        ['ns1.example.test@127.0.0.1', 'ns1.example.test', `127.0.0.1:${good.port}`, 'ok'],
        ['ns1.example.test@127.0.0.2', 'ns1.example.test', `127.0.0.2:${good.port}`, 'error'],
        ['ns2.example.test@127.0.0.1', 'ns2.example.test', `127.0.0.1:${good.port}`, 'ok'],
        ['ns2.example.test@127.0.0.3', 'ns2.example.test', `127.0.0.3:${good.port}`, 'timeout'],
      ]);
      expect(silent.queries.some((q) => q.name === 'example.test' && q.type === T.SOA)).toBe(true);
      // The records are compared at the addresses that answered; the dead ones are not "missing".
      const spf = d.records.find((r) => r.purpose === 'spf')!;
      expect(spf.servers.map((s) => [s.server, s.state])).toEqual([
        ['ns1.example.test@127.0.0.1', 'match'],
        ['ns1.example.test@127.0.0.2', 'unreachable'],
        ['ns2.example.test@127.0.0.1', 'match'],
        ['ns2.example.test@127.0.0.3', 'unreachable'],
      ]);
      const dead = d.findings.filter((f) => f.severity !== 'info');
      expect(dead.map((f) => [f.code, f.subject])).toEqual([
        ['verify.server-unreachable', 'ns1.example.test@127.0.0.2'],
        ['verify.server-unreachable', 'ns2.example.test@127.0.0.3'],
      ]);
      expect(dead[0]!.message).toContain(`ns1.example.test at its address 127.0.0.2:${good.port}`);
      expect(dead[0]!.message).toContain(`ns1.example.test answers at its other address 127.0.0.1:${good.port}`);
      expect(dead[0]!.fix).toContain('remove that A record of ns1.example.test');
      expect(dead[1]!.message).toContain(`ns2.example.test at its address 127.0.0.3:${good.port}`);
      expect(dead[1]!.message).toContain('no answer in time');
      // ns1 and ns2 share 127.0.0.1 but not all their addresses: not said to be one server.
      expect(d.findings.some((f) => f.code === 'verify.servers-share-address')).toBe(false);
      expect(report.outcome).toBe('problems');
    } finally {
      await Promise.all([good.close(), silent.close()]);
    }
  });

  it('two NS names at the same two addresses: one server (the warning names both addresses)', async () => {
    const good = await startHostileDns(zone({ 'ns1.example.test': { a: ['127.0.0.1', '127.0.0.4'] }, 'ns2.example.test': { a: ['127.0.0.4', '127.0.0.1'] } }));
    const other = await startHostileDns(zone({}), { host: '127.0.0.4', port: good.port });
    try {
      const resolver = new DnsResolver({ servers: [{ host: good.host, port: good.port }], timeoutMs: 300, attempts: 1 });
      const report = await verifyPlan(plan, { resolver, port: good.port, timeoutMs: 300, attempts: 1 });
      const d = report.domains[0]!;
      expect(d.servers.map((s) => [s.name, s.status])).toEqual([
        ['ns1.example.test@127.0.0.1', 'ok'],
        ['ns1.example.test@127.0.0.4', 'ok'],
        ['ns2.example.test@127.0.0.1', 'ok'],
        ['ns2.example.test@127.0.0.4', 'ok'],
      ]);
      const f = d.findings.filter((x) => x.code === 'verify.servers-share-address');
      expect(f.map((x) => x.message)).toEqual([expect.stringContaining(`ns1.example.test, ns2.example.test of example.test are all at 127.0.0.1:${good.port}, 127.0.0.4:${good.port}`)]);
      expect(report.outcome).toBe('ok');
    } finally {
      await Promise.all([good.close(), other.close()]);
    }
  });
});
