/**
 * `maildns verify`: each authoritative server's status says what the server did with the SOA
 * question (refused, servfail, notimp, formerr, timeout, malformed, not authoritative, lame, no
 * zone there), in --json (`servers[].status`, and the status of that server's records) and in the
 * readable report. A server that did not serve the zone is never compared (its "missing" records
 * would be no news), and the exit code stays honest: 1 when another server was compared or a
 * server answered plainly that it does not serve the zone, 3 only when DNS could not be asked.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { answer, rdata, startHostileDns, T, type HostileQuery, type HostileReply, type HostileServer } from '../../helpers/hostile-dns.js';
import { runCli } from '../../helpers/cli.js';

const SPF = 'v=spf1 ip4:192.0.2.25 -all';

/** A server of the zone example.test (SOA serial `serial`), which holds sub.example.test's SPF record; `aa` false: the same answers without the AA bit. */
function exampleZone(serial: number, aa = true) {
  return (q: HostileQuery): HostileReply => {
    const name = q.name.toLowerCase();
    const soa = { name: 'example.test', type: T.SOA, rdata: rdata.soa('ns.example.test', 'hostmaster.example.test', serial) };
    if (name !== 'example.test' && !name.endsWith('.example.test')) return answer(q, { rcode: 5, aa: false });
    if (q.type === T.SOA && name === 'example.test') return answer(q, { aa, answers: [{ ...soa, name: { pointer: 12 } }] });
    if (q.type === T.TXT && name === 'sub.example.test') return answer(q, { aa, answers: [{ name: { pointer: 12 }, type: T.TXT, ttl: 3600, rdata: rdata.txt(SPF) }] });
    const exists = name === 'example.test' || name === 'sub.example.test' || name === 'ns.example.test';
    return answer(q, { aa, rcode: exists ? 0 : 3, authorities: [soa] });
  };
}

const testSoa = { name: 'test', type: T.SOA, rdata: rdata.soa('ns.test', 'hostmaster.test', 1) };

/** Servers that do not serve example.test, each in its own way; the status verify must give each, and the finding. */
const BAD: Record<string, { respond: (q: HostileQuery) => HostileReply; status: string; code: string; words: RegExp; tcp?: false }> = {
  refused: { respond: (q) => answer(q, { rcode: 5, aa: false }), status: 'refused', code: 'verify.server-unreachable', words: /refused the query \(REFUSED\)/ },
  servfail: { respond: (q) => answer(q, { rcode: 2, aa: false }), status: 'servfail', code: 'verify.server-unreachable', words: /SERVFAIL/ },
  notimp: { respond: (q) => answer(q, { rcode: 4, aa: false }), status: 'notimp', code: 'verify.server-unreachable', words: /NOTIMP/ },
  formerr: { respond: (q) => answer(q, { rcode: 1, aa: false }), status: 'formerr', code: 'verify.server-unreachable', words: /FORMERR/ },
  silent: { respond: () => null, status: 'timeout', code: 'verify.server-unreachable', words: /no answer in time/ },
  malformed: { respond: (q) => answer(q, { answers: [{ name: { pointer: 'self' }, type: q.type, rdata: rdata.a('192.0.2.1') }] }), status: 'malformed', code: 'verify.server-unreachable', words: /malformed/ },
  'truncated, TCP refused': { respond: (q) => answer(q, { tc: true }), tcp: false, status: 'error', code: 'verify.server-unreachable', words: /truncated \(TC=1\).*TCP.*ECONNREFUSED/ },
  'truncated, TCP silent': { respond: (q) => (q.transport === 'udp' ? answer(q, { tc: true }) : null), status: 'timeout', code: 'verify.server-unreachable', words: /truncated \(TC=1\), and over TCP: no answer from/ },
  'no AA bit': { respond: exampleZone(7, false), status: 'not-authoritative', code: 'verify.server-not-authoritative', words: /without the AA bit/ },
  'referral upwards': { respond: (q) => answer(q, { aa: false, authorities: [{ name: '', type: T.NS, rdata: rdata.name('a.root-servers.net') }] }), status: 'lame', code: 'verify.server-lame', words: /referral|not authoritative/ },
  'NXDOMAIN at the apex': { respond: (q) => answer(q, { rcode: 3, authorities: [testSoa] }), status: 'nxdomain', code: 'verify.server-lame', words: /does not exist \(NXDOMAIN\)/ },
  'no SOA at the apex': { respond: (q) => answer(q, { authorities: [testSoa] }), status: 'nodata', code: 'verify.server-lame', words: /no SOA record/ },
};

let good: HostileServer;
let behind: HostileServer;
let wrapped: HostileServer;
let beforeWrap: HostileServer;
const bad = new Map<string, HostileServer>();
let dir: string;
beforeAll(async () => {
  good = await startHostileDns(exampleZone(7));
  behind = await startHostileDns(exampleZone(5));
  wrapped = await startHostileDns(exampleZone(3));
  beforeWrap = await startHostileDns(exampleZone(4294967290));
  for (const [kind, b] of Object.entries(BAD)) bad.set(kind, await startHostileDns(b.respond, b.tcp === false ? { tcp: false } : {}));
  dir = mkdtempSync(path.join(tmpdir(), 'maildns-verify-servers-'));
  writeFileSync(path.join(dir, 'maildns.yaml'), 'version: 1\ndomains:\n  - domain: sub.example.test\n    spf: { ip4: [192.0.2.25], all: "-all" }\n');
});
afterAll(async () => {
  await Promise.all([good?.close(), behind?.close(), wrapped?.close(), beforeWrap?.close(), ...[...bad.values()].map((s) => s.close())]);
  rmSync(dir, { recursive: true, force: true });
});

interface Report {
  exitCode: number;
  outcome: string;
  domains: {
    zone: string | null;
    status: string;
    servers: { name: string; status: string; answered: boolean; serial: number | null; detail?: string }[];
    records: { purpose: string; servers: { server: string; status: string; state: string }[] }[];
    findings: { code: string; severity: string; subject: string; message: string; fix?: string; rfc?: string }[];
  }[];
}

async function verify(authoritative: string[], json = true): Promise<{ code: number | null; stdout: string; report: Report | null }> {
  const r = await runCli(['verify', ...(json ? ['--json'] : []), '--authoritative', authoritative.join(','), '--nameserver', good.address, '--timeout', '300'], { cwd: dir, killAfterMs: 20_000 });
  return { code: r.code, stdout: r.stdout, report: json ? (JSON.parse(r.stdout) as Report) : null };
}

describe('verify: what each authoritative server did with the SOA question', () => {
  it.each(Object.keys(BAD))('a server that is %s beside a good one: its status says so, its records are not compared, exit 1', async (kind) => {
    const b = BAD[kind]!;
    const server = bad.get(kind)!.address;
    const { code, report } = await verify([good.address, server]);
    const d = report!.domains[0]!;
    expect(d.zone).toBe('example.test');
    expect(d.servers.map((s) => [s.name, s.status, s.answered])).toEqual([
      [good.address, 'ok', true],
      [server, b.status, false],
    ]);
    // The record views of the server carry its status, not "timeout".
    const spf = d.records.find((r) => r.purpose === 'spf')!;
    expect(spf.servers).toEqual([
      expect.objectContaining({ server: good.address, status: 'ok', state: 'match' }),
      { server, status: b.status, state: 'unreachable' },
    ]);
    const mine = d.findings.filter((f) => f.subject === server);
    expect(mine.map((f) => f.code)).toEqual([b.code]);
    expect(mine[0]!.message).toMatch(b.words);
    expect(mine[0]!.fix).toBeTruthy();
    // Nothing else is said about the records: the good server has them as planned.
    expect(d.findings.filter((f) => f.subject !== server && f.severity !== 'info').map((f) => f.code)).toEqual([]);
    expect(code).toBe(1);
    expect(report!.exitCode).toBe(1);
  });

  it('a server that truncates over UDP and is silent over TCP, cut short by --deadline (not --timeout): the finding says the answer was truncated', async () => {
    const server = bad.get('truncated, TCP silent')!.address;
    const r = await runCli(['verify', '--json', '--authoritative', `${good.address},${server}`, '--nameserver', good.address, '--timeout', '10000', '--deadline', '1500'], { cwd: dir, killAfterMs: 20_000 });
    const d = (JSON.parse(r.stdout) as Report).domains[0]!;
    expect(d.servers.map((s) => [s.name, s.status])).toEqual([
      [good.address, 'ok'],
      [server, 'timeout'],
    ]);
    const mine = d.findings.filter((f) => f.subject === server);
    expect(mine.map((f) => f.code)).toEqual(['verify.server-unreachable']);
    expect(mine[0]!.message).toContain('the answer over UDP was truncated (TC=1), and over TCP: the deadline of 1500 ms passed before an answer came');
    expect(r.code).toBe(1);
  });

  it('the readable report names each server with what it did', async () => {
    const { code, stdout } = await verify([good.address, bad.get('refused')!.address, bad.get('no AA bit')!.address, bad.get('silent')!.address], false);
    expect(code).toBe(1);
    const line = stdout.split('\n').find((l) => l.includes('servers:'))!;
    expect(line).toContain(`${good.address} serial 7`);
    expect(line).toContain(`${bad.get('refused')!.address} refused (REFUSED)`);
    expect(line).toContain(`${bad.get('no AA bit')!.address} not authoritative (no AA bit)`);
    expect(line).toContain(`${bad.get('silent')!.address} timeout`);
    // Each record line says why a server's record is not compared.
    expect(stdout).toContain(`${bad.get('refused')!.address}: unreachable (refused), ${bad.get('no AA bit')!.address}: unreachable (not-authoritative), ${bad.get('silent')!.address}: unreachable (timeout)`);
    // The old label said only "no answer", whatever the server did.
    expect(stdout).not.toMatch(/:\d+ no answer(;|$)/m);
  });

  it('the only server given answers without the AA bit: a problem found (exit 1), not DNS unavailable, nothing compared', async () => {
    const { code, report } = await verify([bad.get('no AA bit')!.address]);
    const d = report!.domains[0]!;
    expect(d.servers.map((s) => s.status)).toEqual(['not-authoritative']);
    expect(d.status).toBe('problems');
    expect(d.findings.map((f) => f.code)).toEqual(['verify.server-not-authoritative']);
    expect(code).toBe(1);
  });

  it('the only server given says NXDOMAIN for the apex: lame, exit 1, no "missing" records', async () => {
    const { code, report } = await verify([bad.get('NXDOMAIN at the apex')!.address]);
    const d = report!.domains[0]!;
    expect(d.servers.map((s) => s.status)).toEqual(['nxdomain']);
    expect(d.findings.map((f) => f.code)).toEqual(['verify.server-lame']);
    expect(code).toBe(1);
  });

  it('every server failed to answer (servfail, silent): DNS unavailable, exit 3', async () => {
    const { code, report } = await verify([bad.get('servfail')!.address, bad.get('silent')!.address]);
    // The zone is not found from these two: DNS unavailable before any server is asked for it.
    expect(report!.outcome).toBe('dns-unavailable');
    expect(code).toBe(3);
  });

  it('a server behind on the zone: serials-differ names both serials and which server lags', async () => {
    const { code, report } = await verify([good.address, behind.address]);
    const d = report!.domains[0]!;
    expect(d.servers.map((s) => [s.status, s.serial])).toEqual([
      ['ok', 7],
      ['ok', 5],
    ]);
    const f = d.findings.find((x) => x.code === 'verify.serials-differ')!;
    expect(f.message).toContain(`${good.address} serial 7`);
    expect(f.message).toContain(`${behind.address} serial 5`);
    expect(f.message).toMatch(new RegExp(`behind.*${behind.address.replace(/\./g, '\\.')}|${behind.address.replace(/\./g, '\\.')}.*behind`));
    expect(code).toBe(0);
  });

  it('serials across the wrap (RFC 1982): 3 is newer than 4294967290, so the server at 4294967290 is the one behind', async () => {
    const { report } = await verify([wrapped.address, beforeWrap.address]);
    const f = report!.domains[0]!.findings.find((x) => x.code === 'verify.serials-differ')!;
    expect(f.message).toContain(`; ${beforeWrap.address} is behind the newest serial 3`);
    expect(f.rfc).toBe('RFC 1982 §3.2');
  });

  it.each(['NXDOMAIN at the apex', 'no SOA at the apex', 'no AA bit', 'referral upwards'])('a server that is %s given first: the zone is the one the next server holds, not the domain', async (kind) => {
    const server = bad.get(kind)!.address;
    const { code, report } = await verify([server, good.address]);
    const d = report!.domains[0]!;
    expect(d.zone).toBe('example.test');
    expect(d.servers.map((s) => [s.name, s.status])).toEqual([
      [server, BAD[kind]!.status],
      [good.address, 'ok'],
    ]);
    expect(d.records.find((r) => r.purpose === 'spf')!.servers.map((s) => s.state)).toEqual(['unreachable', 'match']);
    expect(d.findings.filter((f) => f.severity !== 'info').map((f) => f.code)).toEqual([BAD[kind]!.code]);
    expect(code).toBe(1);
  });

  it.each([
    ['the same HOST:PORT twice', (): string[] => [good.address, good.address], (): string => good.address],
    ['a name and its address', (): string[] => [`localhost:${good.port}`, good.address], (): string => `localhost:${good.port}`],
  ])('one server listed twice (%s): asked once, counted once, said in a note', async (_kind, list, first) => {
    const txtAsked = (): number => good.queries.filter((q) => q.name === 'sub.example.test' && q.type === T.TXT).length;
    const before = txtAsked();
    const { code, report } = await verify(list());
    const d = report!.domains[0]!;
    expect(d.servers.map((s) => [s.name, s.status])).toEqual([[first(), 'ok']]);
    expect(d.records.find((r) => r.purpose === 'spf')!.servers.map((s) => [s.server, s.state])).toEqual([[first(), 'match']]);
    expect(txtAsked() - before).toBe(1);
    const notes = d.findings.filter((f) => f.code === 'verify.server-listed-twice');
    expect(notes).toEqual([expect.objectContaining({ severity: 'info', subject: list()[1] })]);
    expect(notes[0]!.message).toContain(`asked once, as ${first()}`);
    expect(d.findings.filter((f) => f.severity !== 'info')).toEqual([]);
    expect(code).toBe(0);
  });
});
