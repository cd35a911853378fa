import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderZone } from '../../../providers/zone.js';
import { DnsResolver } from '../../../src/dns/resolver.js';
import { findAuthoritative, findZone } from '../../../src/dns/authoritative.js';
import { startServer, type RunningServer } from '../../../src/dns/server.js';
import { loadPlan } from '../../../src/plan/load.js';
import { composePlan } from '../../../src/plan/records.js';
import type { Plan } from '../../../src/plan/types.js';
import type { DnsRecord } from '../../../src/records.js';
import { verifyPlan, type DomainVerification, type VerifyReport } from '../../../src/verify/run.js';
import { runCli } from '../../helpers/cli.js';
import { startKnot, type KnotServer } from '../../helpers/knot.js';

const DOMAIN = 'shop.example';

function makeKey(): string {
  return generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
}

/** A plan directory with maildns.yaml and the DKIM key of selector "mail". */
function planDir(dmarc = 'p: reject\n      rua: [dmarc@shop.example]'): { dir: string; file: string; plan: Plan; records: DnsRecord[] } {
  const dir = mkdtempSync(path.join(tmpdir(), 'maildns-verify-'));
  mkdirSync(path.join(dir, 'keys', DOMAIN), { recursive: true });
  writeFileSync(path.join(dir, 'keys', DOMAIN, 'mail.private'), makeKey());
  const file = path.join(dir, 'maildns.yaml');
  writeFileSync(
    file,
    `version: 1
defaults:
  ttl: 3600
domains:
  - domain: ${DOMAIN}
    mx: [mail.shop.example]
    spf:
      ip4: [192.0.2.25]
      mx: true
      all: -all
    dkim: [mail]
    dmarc:
      ${dmarc}
`,
  );
  const plan = loadPlan(file);
  return { dir, file, plan, records: composePlan(plan)[0]!.records };
}

function zoneOf(records: readonly DnsRecord[], serial: number, extra: string[] = []): string {
  const head = [
    `@ IN SOA ns1.${DOMAIN}. hostmaster.${DOMAIN}. ${serial} 3600 600 604800 300`,
    `@ IN NS ns1.${DOMAIN}.`,
    `@ IN NS ns2.${DOMAIN}.`,
    'ns1 IN A 127.0.0.1',
    'ns2 IN A 127.0.0.2',
    'mail IN A 192.0.2.25',
  ];
  const body = renderZone(DOMAIN, records, 3600).split('\n');
  return [body[0], body[1], ...head, ...body.slice(2), ...extra].join('\n') + '\n';
}

const PARENT = '$ORIGIN example.\n$TTL 3600\n@ IN SOA ns.example. h.example. 1 3600 600 604800 300\n@ IN NS ns.example.\n';

const codes = (d: DomainVerification): string[] => d.findings.map((f) => f.code).sort();

describe('maildns verify against Knot', () => {
  const base = planDir();
  let right: KnotServer;
  let lagging: KnotServer;
  const resolverFor = (k: KnotServer): DnsResolver => new DnsResolver({ servers: [{ host: k.host, port: k.port }], timeoutMs: 1000 });
  const run = (k: KnotServer[], plan: Plan = base.plan): Promise<VerifyReport> =>
    verifyPlan(plan, { resolver: resolverFor(k[0]!), authoritative: k.map((s) => `${s.host}:${s.port}`), timeoutMs: 1000 });

  beforeAll(async () => {
    right = await startKnot({ example: PARENT, [DOMAIN]: zoneOf(base.records, 2) });
    // The second server missed the last change: no DMARC record yet, older serial.
    lagging = await startKnot({ example: PARENT, [DOMAIN]: zoneOf(base.records.filter((r) => r.purpose !== 'dmarc'), 1) });
  });
  afterAll(async () => {
    await right?.stop();
    await lagging?.stop();
  });

  it('finds the zone and its servers through the main resolver', async () => {
    const r = resolverFor(right);
    expect((await findZone(r, `mail._domainkey.${DOMAIN}`)).zone).toBe(DOMAIN);
    const auth = await findAuthoritative(r, DOMAIN, { port: right.port });
    expect(auth.zone).toBe(DOMAIN);
    expect(auth.servers.map((s) => [s.name, s.address.host])).toEqual([
      [`ns1.${DOMAIN}`, '127.0.0.1'],
      [`ns2.${DOMAIN}`, '127.0.0.2'],
    ]);
    const missing = await findAuthoritative(r, 'nowhere.invalid');
    expect(missing.failure?.temporary).toBe(true); // Knot refuses names it does not serve
  });

  it('reports a zone published exactly as planned: exit 0, every record matches', async () => {
    const report = await run([right]);
    const d = report.domains[0]!;
    expect(d.findings.filter((f) => f.severity !== 'info')).toEqual([]);
    expect(d.status).toBe('as-planned');
    expect(report.outcome).toBe('ok');
    expect(d.records.length).toBe(base.records.length);
    expect(d.records.every((r) => r.servers.every((s) => s.state === 'match'))).toBe(true);
    expect(d.servers[0]!.serial).toBe(2);
  });

  it('sees a half-propagated change: serials differ and the record is on one server only', async () => {
    const report = await run([right, lagging]);
    const d = report.domains[0]!;
    expect(report.outcome).toBe('problems');
    expect(codes(d)).toEqual(['verify.not-everywhere', 'verify.serials-differ']);
    const dmarc = d.records.find((r) => r.purpose === 'dmarc')!;
    expect(dmarc.servers.map((s) => s.state)).toEqual(['match', 'missing']);
    expect(d.findings.find((f) => f.code === 'verify.not-everywhere')!.message).toMatch(/as planned on 127\.0\.0\.1:\d+; missing on 127\.0\.0\.1:\d+/);
  });

  it('reports drift: changed SPF, second SPF, missing DMARC, a foreign DKIM key and a TTL change', async () => {
    const drifted = base.records
      .filter((r) => r.purpose !== 'dmarc')
      .map((r) => {
        if (r.purpose === 'spf') return { ...r, value: 'v=spf1 ip4:192.0.2.26 mx -all' };
        if (r.purpose === 'mx') return { ...r, ttl: 300 };
        if (r.purpose === 'dkim:mail') return { ...r, value: `v=DKIM1; k=rsa; p=${otherPublicKey()}` };
        return r;
      });
    const k = await startKnot({ example: PARENT, [DOMAIN]: zoneOf(drifted, 3, ['@ IN TXT "v=spf1 include:other.example ~all"']) });
    try {
      const report = await run([k]);
      const d = report.domains[0]!;
      expect(report.outcome).toBe('problems');
      expect(codes(d)).toEqual(
        expect.arrayContaining(['verify.different', 'verify.conflicting-record', 'verify.missing', 'verify.dkim-key-mismatch', 'verify.ttl-differs']),
      );
      const spf = d.findings.find((f) => f.code === 'verify.different' && f.subject.includes('(spf)'))!;
      expect(spf.message).toMatch(/planned "[^"]*192\.0\.2\.25 mx -all", published "[^"]*192\.0\.2\.26 mx -all"/);
      expect(d.findings.find((f) => f.code === 'verify.conflicting-record')!.message).toMatch(/second SPF record/);
      expect(d.findings.find((f) => f.code === 'verify.missing')!.subject).toBe(`_dmarc.${DOMAIN} TXT (dmarc)`);
      expect(d.findings.find((f) => f.code === 'verify.ttl-differs')!.severity).toBe('info');
      const dkim = d.records.find((r) => r.purpose === 'dkim:mail')!;
      expect(dkim.servers[0]!.state).toBe('different');
    } finally {
      await k.stop();
    }
  });

  it('runs the validators on what is published: a p=none policy and an unauthorised report address', async () => {
    const weak = planDir('p: none\n      rua: [dmarc@reports.example]');
    const k = await startKnot({ example: PARENT, 'reports.example': PARENT.replace(/example\./g, 'reports.example.'), [DOMAIN]: zoneOf(weak.records, 1) });
    try {
      const report = await run([k], weak.plan);
      const d = report.domains[0]!;
      const found = codes(d);
      expect(found).toContain('dmarc.policy-none');
      expect(found).toContain('dmarc.report-destination-unauthorised');
      expect(found.filter((c) => c.startsWith('verify.'))).toEqual([]);
      expect(report.outcome).toBe('ok'); // warnings only: as planned
      const strict = await verifyPlan(weak.plan, { resolver: resolverFor(k), authoritative: [`${k.host}:${k.port}`], failOn: 'warning' });
      expect(strict.outcome).toBe('problems');
    } finally {
      await k.stop();
    }
  });

  it('exits 0 / 1 and prints JSON through the CLI', async () => {
    const [ok, half] = await Promise.all([
      runCli(['verify', '--plan', base.file, '--nameserver', `127.0.0.1:${right.port}`, '--authoritative', `127.0.0.1:${right.port}`, '--json']),
      runCli(['verify', '--plan', base.file, '--nameserver', `127.0.0.1:${right.port}`, '--authoritative', `127.0.0.1:${right.port},127.0.0.1:${lagging.port}`]),
    ]);
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
    const json = JSON.parse(ok.stdout) as VerifyReport;
    expect(json.version).toBe(1);
    expect(json.domains[0]!.status).toBe('as-planned');
    expect(half.code).toBe(1);
    expect(half.stdout).toMatch(/PROBLEMS/);
    expect(half.stdout).toMatch(/verify\.not-everywhere/);
    expect(half.stdout).not.toMatch(/\u001b\[/); // no colour on a pipe
  });
});

function otherPublicKey(): string {
  const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return (publicKey.export({ type: 'spki', format: 'der' }) as Buffer).toString('base64');
}

describe('maildns verify against slow and silent servers', () => {
  const base = planDir();
  const zoneRecords = (records: DnsRecord[]): DnsRecord[] => [
    { name: DOMAIN, type: 'SOA', ttl: 3600, value: `ns1.${DOMAIN} hostmaster.${DOMAIN} 5 3600 600 604800 300` },
    { name: `mail.${DOMAIN}`, type: 'A', ttl: 3600, value: '192.0.2.25' },
    ...records,
  ];
  let slow: RunningServer;
  let prompt: RunningServer;
  let silent: RunningServer;
  beforeAll(async () => {
    slow = await startServer({ records: zoneRecords(base.records), zones: [DOMAIN, 'example'], delayMs: 150 });
    prompt = await startServer({ records: zoneRecords(base.records), zones: [DOMAIN, 'example'] });
    const names = [...new Set(zoneRecords(base.records).map((r) => r.name))];
    silent = await startServer({ records: zoneRecords(base.records), zones: [DOMAIN], silent: names });
  });
  afterAll(async () => {
    await slow?.close();
    await prompt?.close();
    await silent?.close();
  });

  it('a slow server is still compared (as planned), not reported missing', async () => {
    const r = new DnsResolver({ servers: [{ host: slow.host, port: slow.port }], timeoutMs: 1500 });
    const report = await verifyPlan(base.plan, { resolver: r, authoritative: [`127.0.0.1:${slow.port}`], timeoutMs: 1500 });
    expect(report.domains[0]!.findings.filter((f) => f.severity !== 'info')).toEqual([]);
    expect(report.outcome).toBe('ok');
  });

  it('a server that never answers gives exit 3 and a temporary failure, never "missing"', async () => {
    const res = await runCli(['verify', '--plan', base.file, '--nameserver', `127.0.0.1:${silent.port}`, '--authoritative', `127.0.0.1:${silent.port}`, '--timeout', '150', '--json']);
    expect(res.code).toBe(3);
    const json = JSON.parse(res.stdout) as VerifyReport;
    const d = json.domains[0]!;
    expect(d.status).toBe('dns-unavailable');
    // The zone could not be found (the one server given never answered): unknown, not the domain guessed.
    expect(d.zone).toBeNull();
    expect(d.findings.map((f) => f.code)).toEqual(['verify.dns-unavailable']);
    expect(JSON.stringify(json)).not.toMatch(/verify\.missing/);
  });

  it('one silent server beside a good one: the good one is compared, the silent one reported', async () => {
    // One deadline for both servers, short so the silent one costs little: the good one answers at
    // once, far inside it (the slow server's 150 ms would race a deadline this short).
    const r = new DnsResolver({ servers: [{ host: prompt.host, port: prompt.port }], timeoutMs: 1500 });
    const report = await verifyPlan(base.plan, { resolver: r, authoritative: [`127.0.0.1:${prompt.port}`, `127.0.0.1:${silent.port}`], timeoutMs: 500 });
    const d = report.domains[0]!;
    expect(report.outcome).toBe('problems');
    expect(d.findings.filter((f) => f.severity !== 'info').map((f) => f.code)).toEqual(['verify.server-unreachable']);
    expect(d.records.every((rec) => rec.servers[0]!.state === 'match' && rec.servers[1]!.state === 'unreachable')).toBe(true);
  });

  it('bad input exits 2 with one line', async () => {
    const [missing, badServer] = await Promise.all([runCli(['verify', '--plan', '/nonexistent/maildns.yaml']), runCli(['verify', '--plan', base.file, '--authoritative', 'host:99999'])]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/plan file not found/);
    expect(badServer.code).toBe(2);
    expect(badServer.stderr).toMatch(/--authoritative/);
  });
});
