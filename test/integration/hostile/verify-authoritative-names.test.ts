/**
 * `maildns verify --authoritative NAME:PORT`: a host name given is looked up through maildns's own
 * resolver (the --nameserver servers here), within --timeout and --deadline, never the system's
 * getaddrinfo, which has no deadline maildns can set. A lookup that fails is a server that could not
 * be asked, named with what went wrong, not a hang nor a "query failed" at the name. (The system's
 * resolver itself hung: test/integration/netns/verify-hung-system-resolver.test.ts.)
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { answer, rdata, startHostileDns, T, type HostileQuery, type HostileReply, type HostileServer } from '../../helpers/hostile-dns.js';
import { runCli } from '../../helpers/cli.js';

const SPF = 'v=spf1 ip4:192.0.2.25 -all';

/**
 * A server of the zone example.test that is also the resolver the names given are looked up at:
 * ns.hidden.test is at 127.0.0.1, slow.hidden.test's address questions go unanswered, and no other
 * name of hidden.test exists.
 */
function zoneAndResolver(q: HostileQuery): HostileReply {
  const name = q.name.toLowerCase();
  if (name === 'slow.hidden.test') return null;
  if (name === 'ns.hidden.test' && q.type === T.A) return answer(q, { answers: [{ name: { pointer: 12 }, type: T.A, rdata: rdata.a('127.0.0.1') }] });
  const hidden = { name: 'hidden.test', type: T.SOA, rdata: rdata.soa('ns.hidden.test', 'hostmaster.hidden.test', 1) };
  if (name === 'ns.hidden.test') return answer(q, { authorities: [hidden] });
  if (name.endsWith('.hidden.test')) return answer(q, { rcode: 3, authorities: [hidden] });
  const soa = { name: 'example.test', type: T.SOA, rdata: rdata.soa('ns.example.test', 'hostmaster.example.test', 7) };
  if (name !== 'example.test') return answer(q, { rcode: 5, aa: false });
  if (q.type === T.SOA) return answer(q, { answers: [{ ...soa, name: { pointer: 12 } }] });
  if (q.type === T.TXT) return answer(q, { answers: [{ name: { pointer: 12 }, type: T.TXT, ttl: 3600, rdata: rdata.txt(SPF) }] });
  return answer(q, { authorities: [soa] });
}

let server: HostileServer;
let silent: HostileServer;
let dir: string;
beforeAll(async () => {
  server = await startHostileDns(zoneAndResolver);
  silent = await startHostileDns(() => null);
  dir = mkdtempSync(path.join(tmpdir(), 'maildns-verify-names-'));
  writeFileSync(path.join(dir, 'maildns.yaml'), 'version: 1\ndomains:\n  - domain: example.test\n    spf: { ip4: [192.0.2.25], all: "-all" }\n');
});
afterAll(async () => {
  await Promise.all([server?.close(), silent?.close()]);
  rmSync(dir, { recursive: true, force: true });
});

interface Report {
  exitCode: number;
  outcome: string;
  domains: { zone: string | null; status: string; servers: { name: string; address: string | null; status: string; detail?: string }[]; findings: { code: string; subject: string; message: string; fix?: string }[] }[];
}

async function verify(args: string[]): Promise<{ code: number | null; report: Report; ms: number }> {
  const started = performance.now();
  const r = await runCli(['verify', '--json', ...args], { cwd: dir, killAfterMs: 20_000 });
  return { code: r.code, report: JSON.parse(r.stdout) as Report, ms: performance.now() - started };
}

describe('verify --authoritative with a host name', () => {
  it("is asked at the address maildns's resolver (--nameserver) gives the name", async () => {
    const given = `ns.hidden.test:${server.port}`;
    const { code, report } = await verify(['--authoritative', given, '--nameserver', server.address, '--timeout', '1000']);
    const d = report.domains[0]!;
    expect(d.servers.map((s) => [s.name, s.address, s.status])).toEqual([[given, `127.0.0.1:${server.port}`, 'ok']]);
    expect(server.queries.some((q) => q.name === 'ns.hidden.test' && q.type === T.A)).toBe(true);
    expect(d.status).toBe('as-planned');
    expect(code).toBe(0);
  });

  it('whose lookup gets no answer: a temporary failure naming the host and the resolver asked, within --timeout (exit 3)', async () => {
    const given = `ns.hidden.test:${server.port}`;
    const { code, report, ms } = await verify(['--authoritative', given, '--nameserver', silent.address, '--timeout', '300']);
    const d = report.domains[0]!;
    expect(d.status).toBe('dns-unavailable');
    expect(d.servers.map((s) => [s.name, s.address, s.status])).toEqual([[given, null, 'timeout']]);
    expect(d.findings.map((f) => [f.code, f.subject])).toEqual([['verify.server-unreachable', given]]);
    expect(d.findings[0]!.message).toMatch(new RegExp(`^--authoritative names ${given}, but its address could not be looked up: no answer in time \\(timeout\\) \\(no answer from ${silent.address.replace(/\./g, '\\.')} for ns\\.hidden\\.test A{1,4}\\)`));
    expect(d.findings[0]!.fix).toContain('--nameserver');
    expect(code).toBe(3);
    // Two attempts of 300 ms, and the start of node: far from any timeout of the system's.
    expect(ms).toBeLessThan(5_000);
  });

  it('whose lookup is still unanswered at --deadline: cut short then, not at --timeout', async () => {
    const given = `ns.hidden.test:${server.port}`;
    const { code, report, ms } = await verify(['--authoritative', given, '--nameserver', silent.address, '--timeout', '15000', '--deadline', '400']);
    const d = report.domains[0]!;
    expect(d.servers.map((s) => [s.name, s.status])).toEqual([[given, 'timeout']]);
    expect(d.findings[0]!.message).toContain(`--authoritative names ${given}, but its address could not be looked up: no answer in time (timeout) (the deadline of 400 ms passed before an answer came), asking for the A`);
    expect(code).toBe(3);
    expect(ms).toBeLessThan(5_000);
  });

  it('beside a server given by address: that one is compared, the name said as a server that could not be asked (exit 1)', async () => {
    const slow = `slow.hidden.test:${server.port}`;
    const { code, report } = await verify(['--authoritative', `${server.address},${slow}`, '--nameserver', server.address, '--timeout', '300']);
    const d = report.domains[0]!;
    expect(d.zone).toBe('example.test');
    expect(d.servers.map((s) => [s.name, s.status])).toEqual([
      [slow, 'timeout'],
      [server.address, 'ok'],
    ]);
    expect(d.findings.map((f) => [f.code, f.subject])).toEqual([['verify.server-unreachable', slow]]);
    expect(d.findings[0]!.message).toMatch(/could not be looked up: no answer in time .*slow\.hidden\.test/);
    expect(code).toBe(1);
  });

  it('that does not exist: a server with no address, a problem to fix (exit 1), not DNS unavailable', async () => {
    const given = `nosuch.hidden.test:${server.port}`;
    const { code, report } = await verify(['--authoritative', given, '--nameserver', server.address, '--timeout', '300']);
    const d = report.domains[0]!;
    expect(d.servers.map((s) => [s.name, s.address, s.status])).toEqual([[given, null, 'no-address']]);
    expect(d.findings.map((f) => [f.code, f.subject])).toEqual([['verify.server-no-address', given]]);
    expect(d.findings[0]!.message).toBe(`--authoritative names ${given} but it cannot be reached: the name has no A or AAAA record (the name does not exist (NXDOMAIN)), and /etc/hosts does not list it`);
    expect(d.status).toBe('problems');
    expect(code).toBe(1);
  });

  it('listed twice, with no address: one server, said to be listed twice, and not said to have been asked', async () => {
    const given = `nosuch.hidden.test:${server.port}`;
    const { report } = await verify(['--authoritative', `${given},${server.address},${given}`, '--nameserver', server.address, '--timeout', '300']);
    const d = report.domains[0]!;
    expect(d.servers.map((s) => [s.name, s.status])).toEqual([
      [given, 'no-address'],
      [server.address, 'ok'],
    ]);
    const twice = d.findings.find((f) => f.code === 'verify.server-listed-twice')!;
    expect(twice.message).toBe(`--authoritative lists ${given} more than once: counted as one server, which could not be asked (its address was not found)`);
    expect(twice.message).not.toContain('asked once');
  });
});
