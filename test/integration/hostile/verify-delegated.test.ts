/**
 * `maildns verify` for a planned name inside a zone delegated from the zone verified: the parent's
 * servers answer with a referral (no AA, the cut's NS set), which is not the record missing. The
 * record is "delegated" on them (RFC 1034 §4.2.1), and the delegation is followed through the main
 * resolver to the child zone's servers, where the record is compared; when it cannot be followed,
 * an error says what to do instead of "missing".
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { answer, rdata, startHostileDns, T, type HostileQuery, type HostileReply, type HostileServer } from '../../helpers/hostile-dns.js';
import { runCli } from '../../helpers/cli.js';
import { DnsResolver } from '../../../src/dns/resolver.js';
import { parsePlan } from '../../../src/plan/load.js';
import { verifyPlan } from '../../../src/verify/run.js';

const SPF = 'v=spf1 ip4:192.0.2.25 -all';
/** The record a second plan's SPF includes, at a name of the child zone that no planned record has. */
const INCLUDED_SPF = 'v=spf1 ip4:192.0.2.26 +all';
const CHILD_ADDRESS = '127.0.0.5';

const parentSoa = { name: 'example.test', type: T.SOA, rdata: rdata.soa('ns.example.test', 'hostmaster.example.test', 7) };
const childSoa = { name: 'sub.example.test', type: T.SOA, rdata: rdata.soa('ns.sub.example.test', 'hostmaster.example.test', 3) };
const below = (name: string, zone: string): boolean => name === zone || name.endsWith(`.${zone}`);

/** The child zone's one name server. */
const CHILD_SERVERS = [{ name: 'ns.sub.example.test', address: CHILD_ADDRESS }];

/**
 * The server of example.test, which delegates sub.example.test to `childServers` (by default
 * ns.sub.example.test at CHILD_ADDRESS). Asked with RD=1 it is the main resolver: it then answers
 * for the child zone as a recursive resolver would (`knowsChild`), or refuses it.
 */
function parent(knowsChild: boolean, childServers: readonly { name: string; address: string }[] = CHILD_SERVERS) {
  return (q: HostileQuery): HostileReply => {
    const name = q.name.toLowerCase();
    if (!below(name, 'example.test')) return answer(q, { rcode: 5, aa: false });
    if (below(name, 'sub.example.test')) {
      if (!q.rd) {
        return answer(q, {
          aa: false,
          authorities: childServers.map((c) => ({ name: 'sub.example.test', type: T.NS, rdata: rdata.name(c.name) })),
          additionals: childServers.map((c) => ({ name: c.name, type: T.A, rdata: rdata.a(c.address) })),
        });
      }
      if (!knowsChild) return answer(q, { rcode: 5, aa: false });
      if (name === 'sub.example.test' && q.type === T.SOA) return answer(q, { aa: false, answers: [{ ...childSoa, name: { pointer: 12 } }] });
      if (name === 'sub.example.test' && q.type === T.NS) return answer(q, { aa: false, answers: childServers.map((c) => ({ name: { pointer: 12 }, type: T.NS, rdata: rdata.name(c.name) })) });
      const server = childServers.find((c) => c.name === name);
      if (server && q.type === T.A) return answer(q, { aa: false, answers: [{ name: { pointer: 12 }, type: T.A, rdata: rdata.a(server.address) }] });
      return answer(q, { aa: false, authorities: [childSoa] });
    }
    if (name === 'example.test' && q.type === T.SOA) return answer(q, { answers: [{ ...parentSoa, name: { pointer: 12 } }] });
    return answer(q, { rcode: name === 'example.test' ? 0 : 3, authorities: [parentSoa] });
  };
}

/** The server of sub.example.test; `spf`: the SPF record it publishes there, or none. */
function child(spf: string | null) {
  return (q: HostileQuery): HostileReply => {
    const name = q.name.toLowerCase();
    if (!below(name, 'sub.example.test')) return answer(q, { rcode: 5, aa: false });
    if (name === 'sub.example.test' && q.type === T.SOA) return answer(q, { answers: [{ ...childSoa, name: { pointer: 12 } }] });
    if (name === 'sub.example.test' && q.type === T.TXT && spf) return answer(q, { answers: [{ name: { pointer: 12 }, type: T.TXT, ttl: 3600, rdata: rdata.txt(spf) }] });
    if (name === '_spf.sub.example.test' && q.type === T.TXT) return answer(q, { answers: [{ name: { pointer: 12 }, type: T.TXT, ttl: 3600, rdata: rdata.txt(INCLUDED_SPF) }] });
    return answer(q, { authorities: [childSoa] });
  };
}

const planText = 'version: 1\ndomains:\n  - domain: sub.example.test\n    spf: { ip4: [192.0.2.25], all: "-all" }\n';
const plan = parsePlan(planText, 'maildns.yaml');

let knowing: HostileServer;
let unknowing: HostileServer;
let dir: string;
beforeAll(async () => {
  knowing = await startHostileDns(parent(true));
  unknowing = await startHostileDns(parent(false));
  dir = mkdtempSync(path.join(tmpdir(), 'maildns-verify-delegated-'));
  writeFileSync(path.join(dir, 'maildns.yaml'), planText);
});
afterAll(async () => {
  await Promise.all([knowing?.close(), unknowing?.close()]);
  rmSync(dir, { recursive: true, force: true });
});

describe('verify: a planned name in a zone delegated from the zone verified', () => {
  it.each([
    ['publishes it', SPF, 'match', 'ok'],
    ['does not publish it', null, 'missing', 'problems'],
  ] as const)('the parent server gives a referral: delegated there, followed to the child zone, whose server %s', async (_kind, spf, state, outcome) => {
    const childServer = await startHostileDns(child(spf), { host: CHILD_ADDRESS, port: knowing.port });
    try {
      const resolver = new DnsResolver({ servers: [{ host: knowing.host, port: knowing.port }], timeoutMs: 300, attempts: 1 });
      const report = await verifyPlan(plan, { resolver, authoritative: [knowing.address], port: knowing.port, timeoutMs: 300, attempts: 1 });
      const d = report.domains[0]!;
      expect(d.zone).toBe('example.test');
      const rec = d.records.find((r) => r.purpose === 'spf')!;
      expect(rec.servers.map((s) => [s.server, s.state, s.delegatedTo])).toEqual([
        [knowing.address, 'delegated', 'sub.example.test'],
        ['ns.sub.example.test', state, undefined],
      ]);
      const f = d.findings.find((x) => x.code === 'verify.delegated')!;
      expect(f).toMatchObject({ severity: 'info', subject: 'sub.example.test TXT', rfc: 'RFC 1034 §4.2.1' });
      expect(f.message).toContain('sub.example.test lies in the zone sub.example.test, delegated from example.test');
      expect(f.message).toContain('compared on the servers of sub.example.test (ns.sub.example.test)');
      const missing = d.findings.filter((x) => x.code === 'verify.missing');
      if (spf) expect(missing).toEqual([]);
      else expect(missing.map((x) => x.message)).toEqual([expect.stringContaining('not published on ns.sub.example.test')]);
      expect(report.outcome).toBe(outcome);
    } finally {
      await childServer.close();
    }
  });

  it('through the CLI, the delegation cannot be followed (the main resolver refuses the child zone): verify.delegated says so and what to do, not "missing"', async () => {
    const r = await runCli(['verify', '--json', '--authoritative', unknowing.address, '--nameserver', unknowing.address, '--timeout', '300'], { cwd: dir, killAfterMs: 20_000 });
    const report = JSON.parse(r.stdout) as { domains: { zone: string; records: { purpose: string; servers: { server: string; state: string }[] }[]; findings: { code: string; severity: string; message: string; fix?: string }[] }[] };
    const d = report.domains[0]!;
    expect(d.zone).toBe('example.test');
    expect(d.records.find((x) => x.purpose === 'spf')!.servers.map((s) => [s.server, s.state])).toEqual([[unknowing.address, 'delegated']]);
    // The checks of what is published then ask the main resolver, which refuses the child zone too: they say so, not "no SPF record".
    expect(d.findings.map((f) => [f.code, f.severity])).toEqual([
      ['verify.delegated', 'error'],
      ['spf.temperror', 'error'],
    ]);
    expect(d.findings[1]!.message).toContain('the server refused the query (REFUSED)');
    expect(d.findings[0]!.message).toContain('delegated from example.test');
    expect(d.findings[0]!.message).toContain('could not be asked');
    expect(d.findings[0]!.fix).toContain('--authoritative');
    expect(r.code).toBe(1);
    // The readable report marks the record as delegated, not missing.
    const text = await runCli(['verify', '--authoritative', unknowing.address, '--nameserver', unknowing.address, '--timeout', '300'], { cwd: dir, killAfterMs: 20_000 });
    expect(text.stdout).toContain(`${unknowing.address}: delegated (to sub.example.test)`);
  });

  it('the checks of what is published read a name below the cut from the child zone\'s server, not the parent\'s referral', async () => {
    // The SPF record includes _spf.sub.example.test, which only the child zone's server publishes:
    // read from the parent's referral it is "no record" (spf.include-no-record), a false alarm;
    // read from the child's server, its +all is found (spf.include-pass-all).
    const including = parsePlan('version: 1\ndomains:\n  - domain: sub.example.test\n    spf: { ip4: [192.0.2.25], include: [_spf.sub.example.test], all: "-all" }\n', 'maildns.yaml');
    const composed = 'v=spf1 ip4:192.0.2.25 include:_spf.sub.example.test -all';
    const childServer = await startHostileDns(child(composed), { host: CHILD_ADDRESS, port: knowing.port });
    try {
      const resolver = new DnsResolver({ servers: [{ host: knowing.host, port: knowing.port }], timeoutMs: 300, attempts: 1 });
      const report = await verifyPlan(including, { resolver, authoritative: [knowing.address], port: knowing.port, timeoutMs: 300, attempts: 1 });
      const codes = report.domains[0]!.findings.map((f) => f.code);
      expect(codes).not.toContain('spf.include-no-record');
      expect(codes).toContain('spf.include-pass-all');
      expect(report.domains[0]!.findings.find((f) => f.code === 'spf.include-pass-all')!.message).toContain('_spf.sub.example.test');
    } finally {
      await childServer.close();
    }
  });

  it('with the child zone\'s first server down, the checks below the cut read its next server', async () => {
    // a.ns.sub.example.test sorts first, and nothing listens at its address: read from it alone,
    // the include would be a temporary failure (spf.temperror) though ns.sub.example.test answers.
    const twoServers = await startHostileDns(parent(true, [{ name: 'a.ns.sub.example.test', address: '127.0.0.6' }, ...CHILD_SERVERS]));
    const including = parsePlan('version: 1\ndomains:\n  - domain: sub.example.test\n    spf: { ip4: [192.0.2.25], include: [_spf.sub.example.test], all: "-all" }\n', 'maildns.yaml');
    const childServer = await startHostileDns(child('v=spf1 ip4:192.0.2.25 include:_spf.sub.example.test -all'), { host: CHILD_ADDRESS, port: twoServers.port });
    try {
      const resolver = new DnsResolver({ servers: [{ host: twoServers.host, port: twoServers.port }], timeoutMs: 300, attempts: 1 });
      const report = await verifyPlan(including, { resolver, authoritative: [twoServers.address], port: twoServers.port, timeoutMs: 300, attempts: 1 });
      const d = report.domains[0]!;
      expect(d.records.find((r) => r.purpose === 'spf')!.servers.map((s) => s.server)).toEqual([twoServers.address, 'a.ns.sub.example.test', 'ns.sub.example.test']);
      const codes = d.findings.map((f) => f.code);
      expect(codes).not.toContain('spf.temperror');
      expect(codes).toContain('spf.include-pass-all');
    } finally {
      await Promise.all([childServer.close(), twoServers.close()]);
    }
  });
});
