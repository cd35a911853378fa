/**
 * `maildns verify --authoritative HOST[:PORT],...` finds the zone by asking the servers given: a
 * server that gives no usable answer then (silence, SERVFAIL, REFUSED, a malformed answer) does not
 * make the domain its own zone. The next server given is asked; when none answers, the zone is
 * unknown and the verdict is DNS unavailable (exit 3), not a comparison at a zone that was guessed.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { answer, rdata, startHostileDns, T, type HostileQuery, type HostileReply, type HostileServer } from '../../helpers/hostile-dns.js';
import { runCli } from '../../helpers/cli.js';

const SPF = 'v=spf1 ip4:192.0.2.25 -all';

/** A good server of the zone example.test, which holds sub.example.test's SPF record. */
function exampleZone(q: HostileQuery): HostileReply {
  const name = q.name.toLowerCase();
  const soa = { name: 'example.test', type: T.SOA, rdata: rdata.soa('ns.example.test', 'hostmaster.example.test', 7) };
  if (name !== 'example.test' && !name.endsWith('.example.test')) return answer(q, { rcode: 5, aa: false });
  if (q.type === T.SOA && name === 'example.test') return answer(q, { answers: [{ ...soa, name: { pointer: 12 } }] });
  if (q.type === T.TXT && name === 'sub.example.test') return answer(q, { answers: [{ name: { pointer: 12 }, type: T.TXT, ttl: 3600, rdata: rdata.txt(SPF) }] });
  const exists = name === 'example.test' || name === 'sub.example.test' || name === 'ns.example.test';
  return answer(q, { rcode: exists ? 0 : 3, authorities: [soa] });
}

/** Servers that give no usable answer to anything, each in its own way. */
const BROKEN = {
  silent: (): HostileReply => null,
  servfail: (q: HostileQuery): HostileReply => answer(q, { rcode: 2, aa: false }),
  refused: (q: HostileQuery): HostileReply => answer(q, { rcode: 5, aa: false }),
  malformed: (q: HostileQuery): HostileReply => answer(q, { answers: [{ name: { pointer: 'self' }, type: q.type, rdata: rdata.a('192.0.2.1') }] }),
} as const;

let good: HostileServer;
const broken = new Map<string, HostileServer>();
let dir: string;
beforeAll(async () => {
  good = await startHostileDns(exampleZone);
  for (const [kind, respond] of Object.entries(BROKEN)) broken.set(kind, await startHostileDns(respond));
  dir = mkdtempSync(path.join(tmpdir(), 'maildns-verify-zone-'));
  writeFileSync(path.join(dir, 'maildns.yaml'), 'version: 1\ndomains:\n  - domain: sub.example.test\n    spf: { ip4: [192.0.2.25], all: "-all" }\n');
});
afterAll(async () => {
  await Promise.all([good?.close(), ...[...broken.values()].map((s) => s.close())]);
  rmSync(dir, { recursive: true, force: true });
});

interface Report {
  exitCode: number;
  outcome: string;
  domains: { domain: string; zone: string | null; status: string; servers: { name: string; answered: boolean; serial: number | null }[]; findings: { code: string; subject: string; message: string }[] }[];
}

async function verify(authoritative: string[]): Promise<{ code: number | null; report: Report }> {
  const r = await runCli(['verify', '--json', '--authoritative', authoritative.join(','), '--nameserver', good.address, '--timeout', '300'], { cwd: dir, killAfterMs: 20_000 });
  return { code: r.code, report: JSON.parse(r.stdout) as Report };
}

describe('verify --authoritative when a server gives no usable answer while the zone is found', () => {
  it.each(Object.keys(BROKEN))('the only server given is %s: the zone is unknown, DNS unavailable, exit 3', async (kind) => {
    const { code, report } = await verify([broken.get(kind)!.address]);
    expect(code).toBe(3);
    expect(report).toMatchObject({ exitCode: 3, outcome: 'dns-unavailable' });
    const d = report.domains[0]!;
    expect(d).toMatchObject({ domain: 'sub.example.test', zone: null, status: 'dns-unavailable' });
    expect(d.findings.map((f) => f.code)).toEqual(['verify.dns-unavailable']);
    expect(d.findings[0]!.message).toContain(`${broken.get(kind)!.address}: `);
  });

  it.each(Object.keys(BROKEN))('the first server given is %s: the zone is the one the next server holds, the first is unreachable, exit 1', async (kind) => {
    const { code, report } = await verify([broken.get(kind)!.address, good.address]);
    const d = report.domains[0]!;
    expect(d.zone).toBe('example.test');
    expect(d.servers.map((s) => [s.name, s.answered, s.serial])).toEqual([
      [broken.get(kind)!.address, false, null],
      [good.address, true, 7],
    ]);
    expect(d.findings.map((f) => f.code)).toEqual(['verify.server-unreachable']);
    expect(code).toBe(1);
    expect(report.exitCode).toBe(1);
  });

  it('a good server given first finds the zone, as before', async () => {
    const { code, report } = await verify([good.address]);
    expect(report.domains[0]).toMatchObject({ zone: 'example.test', status: 'as-planned' });
    expect(code).toBe(0);
  });
});
