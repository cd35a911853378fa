import { execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderZone } from '../../../providers/zone.js';
import { auditDomain, type DomainResult } from '../../../src/check/audit.js';
import { runChecks } from '../../../src/check/run.js';
import { DnsResolver, type DnsAnswer, type RDataMap, type Resolver, type RRType } from '../../../src/dns/resolver.js';
import { startServer, type RunningServer } from '../../../src/dns/server.js';
import type { DnsRecord } from '../../../src/records.js';
import { runCli } from '../../helpers/cli.js';
import { LocalResolver } from '../../helpers/local-resolver.js';
import { SYSTEM_PYTHON } from '../../helpers/programs.js';
import { startKnot, type KnotServer } from '../../helpers/knot.js';

const dkimKey = (generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ type: 'spki', format: 'der' }) as Buffer).toString('base64');

/** The records of a healthy sending domain. */
function healthy(d: string): DnsRecord[] {
  return [
    { name: d, type: 'SOA', ttl: 3600, value: `ns.${d} hostmaster.${d} 1 3600 600 604800 300` },
    { name: d, type: 'NS', ttl: 3600, value: `ns.${d}` },
    { name: d, type: 'MX', ttl: 3600, value: `10 mail.${d}` },
    { name: `mail.${d}`, type: 'A', ttl: 3600, value: '192.0.2.25' },
    { name: d, type: 'TXT', ttl: 3600, value: 'v=spf1 mx ip4:192.0.2.0/24 -all' },
    { name: d, type: 'TXT', ttl: 3600, value: 'google-site-verification=abc' },
    { name: `_dmarc.${d}`, type: 'TXT', ttl: 3600, value: `v=DMARC1; p=reject; rua=mailto:dmarc@${d}` },
    { name: `mail._domainkey.${d}`, type: 'TXT', ttl: 3600, value: `v=DKIM1; k=rsa; p=${dkimKey}` },
  ];
}

const without = (recs: DnsRecord[], pred: (r: DnsRecord) => boolean): DnsRecord[] => recs.filter((r) => !pred(r));

const ZONES: Record<string, DnsRecord[]> = {
  'good.example': healthy('good.example'),
  'twospf.example': [...healthy('twospf.example'), { name: 'twospf.example', type: 'TXT', ttl: 3600, value: 'v=spf1 include:_spf.good.example ~all' }],
  'nodmarc.example': without(healthy('nodmarc.example'), (r) => r.name.startsWith('_dmarc.')),
  'nokey.example': without(healthy('nokey.example'), (r) => r.name.includes('_domainkey')),
  'nomx.example': without(healthy('nomx.example'), (r) => r.type === 'MX').map((r) => (r.type === 'TXT' && r.value.startsWith('v=spf1') ? { ...r, value: 'v=spf1 ip4:192.0.2.0/24 -all' } : r)),
  'orphan.example': [...healthy('orphan.example'), { name: '_spf.orphan.example', type: 'TXT', ttl: 3600, value: 'v=spf1 ip4:198.51.100.0/24 -all' }],
  'weak.example': healthy('weak.example').map((r) => (r.name === '_dmarc.weak.example' ? { ...r, value: 'v=DMARC1; p=none; rua=mailto:dmarc@weak.example' } : r)),
};
const PARENT: DnsRecord[] = [{ name: 'example', type: 'SOA', ttl: 3600, value: 'ns.example h.example 1 3600 600 604800 300' }];

function zoneText(apex: string, records: DnsRecord[]): string {
  return renderZone(apex, records, 3600);
}

/** Records every distinct question (the DnsResolver's cache sends each once). */
class CountingResolver implements Resolver {
  readonly asked = new Set<string>();
  constructor(readonly inner: DnsResolver) {}
  lookup<T extends RRType>(name: string, type: T): Promise<DnsAnswer<RDataMap[T]>> {
    this.asked.add(`${name.toLowerCase().replace(/\.$/, '')} ${type}`);
    return this.inner.lookup(name, type);
  }
  /** Questions about names at or below `domain` (its own cost, shared names excluded). */
  askedFor(domain: string): number {
    return [...this.asked].filter((k) => k.split(' ')[0]!.endsWith(domain) || k.includes(`${domain}._report._dmarc.`)).length;
  }
}

const codesOf = (r: DomainResult): string[] => r.findings.map((f) => f.code);

describe('maildns check against Knot', () => {
  let knot: KnotServer;
  let resolver: DnsResolver;
  beforeAll(async () => {
    knot = await startKnot({ example: zoneText('example', PARENT), ...Object.fromEntries(Object.entries(ZONES).map(([apex, recs]) => [apex, zoneText(apex, recs)])) });
    resolver = new DnsResolver({ servers: [{ host: knot.host, port: knot.port }], timeoutMs: 1000 });
  });
  afterAll(async () => knot?.stop());
  const audit = (d: string): Promise<DomainResult> => auditDomain(resolver, d, { selectors: ['mail'], failOn: 'error' });

  it('passes a healthy domain without errors or warnings', async () => {
    const r = await audit('good.example');
    expect(r.findings.filter((f) => f.severity !== 'info')).toEqual([]);
    expect(r.status).toBe('pass');
    expect(r.spf.published).toBe('v=spf1 mx ip4:192.0.2.0/24 -all');
    expect(r.mx.published).toEqual(['10 mail.good.example']);
    expect(r.dkim[0]!.published).toMatch(/^v=DKIM1; k=rsa; p=/);
  });

  it('finds each kind of breakage with its own code', async () => {
    expect(codesOf(await audit('twospf.example'))).toContain('spf.multiple-records');
    expect(codesOf(await audit('nodmarc.example'))).toContain('dmarc.no-record');
    expect(codesOf(await audit('nokey.example'))).toContain('dkim.no-record');
    expect(codesOf(await audit('nomx.example'))).toContain('mx.none');
    const weak = await audit('weak.example');
    expect(codesOf(weak)).toContain('dmarc.policy-none');
    expect(weak.status).toBe('pass'); // a warning: fails only with --fail-on warning
    expect((await auditDomain(resolver, 'weak.example', { selectors: ['mail'], failOn: 'warning' })).status).toBe('fail');
    for (const d of ['twospf.example', 'nodmarc.example', 'nokey.example']) expect((await audit(d)).status).toBe('fail');
  });

  it('sends the stray-SPF probes only with --deep (bulk mode stays within its query budget)', async () => {
    const quick = new CountingResolver(new DnsResolver({ servers: [{ host: knot.host, port: knot.port }], timeoutMs: 1000 }));
    const fast = await auditDomain(quick, 'orphan.example', { selectors: ['mail'], failOn: 'error' });
    expect(codesOf(fast)).not.toContain('spf.orphan-record');
    expect(quick.asked.has('_spf.orphan.example TXT')).toBe(false);
    const deep = await auditDomain(resolver, 'orphan.example', { selectors: ['mail'], failOn: 'error', deep: true });
    expect(codesOf(deep)).toContain('spf.orphan-record');
  });

  it('asks a shared include once for the whole run and reports results in input order', async () => {
    const r = new CountingResolver(new DnsResolver({ servers: [{ host: knot.host, port: knot.port }], timeoutMs: 1000 }));
    const order: string[] = [];
    const names = ['twospf.example', 'good.example', 'nodmarc.example', 'good.example', 'weak.example'];
    const summary = await runChecks(names, { resolver: r, selectors: ['mail'], failOn: 'error', concurrency: 3, onResult: (res) => void order.push(res.domain) });
    expect(order).toEqual(names);
    expect(summary).toMatchObject({ domains: 5, fail: 2, pass: 3, dnsError: 0, outcome: 'problems' });
    // good.example is checked twice but asked once; every domain costs at most 9 queries of its own
    // (DKIM included, and the _mta-sts, _smtp._tls and default._bimi probes).
    expect(r.inner.queriesSent).toBe(r.asked.size);
    for (const d of new Set(names)) expect(r.askedFor(d)).toBeLessThanOrEqual(9);
    expect(r.asked.has('_dmarc.example TXT')).toBe(true); // the DMARC tree walk's shared name, asked once
  });

  it('prints text, JSON and JUnit through the CLI with honest exit codes', async () => {
    const ns = `127.0.0.1:${knot.port}`;
    const dir = mkdtempSync(path.join(tmpdir(), 'maildns-check-'));
    const list = path.join(dir, 'domains.txt');
    writeFileSync(list, '# nightly list\ngood.example\n\ntwospf.example   # two SPF records\nweak.example\n');
    // Independent runs, started together: each costs a node start-up.
    const [ok, json, strict, junit] = await Promise.all([
      runCli(['check', 'good.example', '-s', 'mail', '--nameserver', ns]),
      runCli(['check', '--domains-file', list, '--selectors', 'mail', '--nameserver', ns, '--json']),
      runCli(['check', 'weak.example', '--nameserver', ns, '--fail-on', 'warning']),
      runCli(['check', '--domains-file', list, '-s', 'mail', '--nameserver', ns, '--format', 'junit']),
    ]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/^PASS {2}good\.example$/m);
    expect(ok.stderr).toBe(''); // no progress display on a pipe

    expect(json.code).toBe(1);
    const doc = JSON.parse(json.stdout) as { version: number; domains: DomainResult[]; summary: { exitCode: number; fail: number } };
    expect(doc.version).toBe(1);
    expect(doc.domains.map((d) => [d.domain, d.status])).toEqual([
      ['good.example', 'pass'],
      ['twospf.example', 'fail'],
      ['weak.example', 'pass'],
    ]);
    expect(doc.summary).toMatchObject({ exitCode: 1, fail: 1 });

    expect(strict.code).toBe(1);

    expect(junit.code).toBe(1);
    const xmlFile = path.join(dir, 'report.xml');
    writeFileSync(xmlFile, junit.stdout);
    // Parse it with a real XML parser and read the counts back.
    const parsed = execFileSync(
      SYSTEM_PYTHON,
      ['-c', 'import sys,xml.etree.ElementTree as E;r=E.parse(sys.argv[1]).getroot();s=r.find("testsuite");print(s.get("tests"),s.get("failures"),s.get("errors"),";".join(c.get("name")+":"+("F" if c.find("failure") is not None else "E" if c.find("error") is not None else "ok") for c in s))', xmlFile],
      { encoding: 'utf8' },
    ).trim();
    expect(parsed).toBe('3 1 0 good.example:ok;twospf.example:F;weak.example:ok');
    expect(readFileSync(xmlFile, 'utf8')).toMatch(/<failure type="spf\.multiple-records"/);
  });

  it('rejects bad input with exit 2 and the file and line', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'maildns-check-'));
    const list = path.join(dir, 'domains.txt');
    writeFileSync(list, 'good.example\nbad..example\n');
    const [bad, none, noConcurrency, noRate, paced, missing] = await Promise.all([
      runCli(['check', '--domains-file', list, '--nameserver', `127.0.0.1:${knot.port}`]),
      runCli(['check']),
      runCli(['check', 'good.example', '--concurrency', '0']),
      runCli(['check', 'good.example', '--rate', '0']),
      runCli(['check', 'good.example', 'weak.example', '-s', 'mail', '--nameserver', `127.0.0.1:${knot.port}`, '--rate', '20', '--json']),
      runCli(['check', '--domains-file', path.join(dir, 'missing.txt')]),
    ]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain(`${list}:2`);
    expect(bad.stdout).toBe('');
    expect(none.code).toBe(2);
    expect(noConcurrency.code).toBe(2);
    expect(noRate.code).toBe(2);
    expect(paced.code).toBe(0);
    expect((JSON.parse(paced.stdout) as { summary: { pass: number } }).summary.pass).toBe(2);
    expect(missing.code).toBe(2);
  });
});

describe('maildns check with slow and silent DNS', () => {
  let srv: RunningServer;
  let silentAll: RunningServer;
  beforeAll(async () => {
    const records = [...PARENT, ...healthy('slow.example'), ...healthy('quiet.example')];
    srv = await startServer({ records, zones: ['example', 'slow.example', 'quiet.example'], delayMs: 60, silent: ['_dmarc.quiet.example'] });
    silentAll = await startServer({ records, zones: ['example', 'slow.example', 'quiet.example'], silent: [...new Set(records.map((r) => r.name))] });
  });
  afterAll(async () => {
    await srv?.close();
    await silentAll?.close();
  });

  it('a slow server still gives real results; a name that times out is a temporary failure, never "missing"', async () => {
    // The engine in this process: each answer of the slow server takes 60 ms, far inside the long
    // deadline; only the one silent name gets the short one, so nothing races a timer.
    const domains: DomainResult[] = [];
    const summary = await runChecks(['slow.example', 'quiet.example'], {
      resolver: new LocalResolver(srv, { silent: ['_dmarc.quiet.example'] }),
      selectors: ['mail'],
      failOn: 'error',
      concurrency: 2,
      onResult: (result) => void domains.push(result),
    });
    expect(summary.outcome).toBe('problems');
    const [slow, quiet] = domains;
    expect(slow!.status).toBe('pass');
    expect(quiet!.status).toBe('dns-error');
    expect(quiet!.dmarc.dnsFailed).toBe(true);
    expect(quiet!.findings.map((f) => f.code)).toContain('dmarc.dns-temporary');
    expect(quiet!.findings.map((f) => f.code)).not.toContain('dmarc.no-record');
    expect(quiet!.spf.published).toBe('v=spf1 mx ip4:192.0.2.0/24 -all'); // the rest was still checked
  });

  it('exits 3 when no domain could be asked at all, and says so in JUnit as errors', async () => {
    const r = await runCli(['check', 'slow.example', 'quiet.example', '--nameserver', `127.0.0.1:${silentAll.port}`, '--timeout', '100', '--format', 'junit']);
    expect(r.code).toBe(3);
    expect(r.stdout).toMatch(/<testsuite name="maildns check" tests="2" failures="0" errors="2"/);
    expect(r.stdout).not.toMatch(/<failure/);
  });
});

describe('bulk check against the benchmark data (mkbulk.py, N=60)', () => {
  it('gives the same report over pipelined TCP (the default) and over UDP', async () => {
    const { generate } = await import('../../../bench/run.js');
    const dir = mkdtempSync(path.join(tmpdir(), 'maildns-bulk-'));
    generate(60, dir);
    const apexes = readFileSync(path.join(dir, 'zones.txt'), 'utf8').split('\n').filter(Boolean);
    const knot = await startKnot({ dir: path.join(dir, 'zones'), apexes });
    try {
      const args = ['check', '--domains-file', path.join(dir, 'domains.txt'), '-s', 'mail', '--json', '--nameserver', `127.0.0.1:${knot.port}`];
      const [tcp, udp] = await Promise.all([runCli(args), runCli([...args, '--transport', 'udp'])]);
      // Timings aside, and the query count: over TCP it also counts the copies written to get held answers out (nudges).
      const timingsAside = (out: string): unknown => {
        const doc = JSON.parse(out) as { domains: DomainResult[]; summary: Record<string, unknown> };
        return { domains: doc.domains.map((d) => ({ ...d, ms: 0 })), summary: { ...doc.summary, ms: 0, queries: 0 } };
      };
      expect([tcp.code, udp.code]).toEqual([1, 1]);
      expect(timingsAside(tcp.stdout)).toEqual(timingsAside(udp.stdout));
      const queries = (out: string): number => (JSON.parse(out) as { summary: { queries: number } }).summary.queries;
      expect(queries(tcp.stdout)).toBeGreaterThanOrEqual(queries(udp.stdout));
      expect(queries(tcp.stdout)).toBeLessThanOrEqual(queries(udp.stdout) * 1.1);
      expect((JSON.parse(tcp.stdout) as { summary: { dnsError: number } }).summary.dnsError).toBe(0);
    } finally {
      await knot.stop();
    }
  });

  it('finds every broken domain of the manifest, raises no false alarm, averages at most 9 queries per domain', async () => {
    const { generate, benchCheck } = await import('../../../bench/run.js');
    const dir = mkdtempSync(path.join(tmpdir(), 'maildns-bulk-'));
    generate(60, dir);
    const apexes = readFileSync(path.join(dir, 'zones.txt'), 'utf8').split('\n').filter(Boolean);
    const knot = await startKnot({ dir: path.join(dir, 'zones'), apexes });
    try {
      const counting = new CountingResolver(new DnsResolver({ servers: [{ host: knot.host, port: knot.port }], timeoutMs: 2000 }));
      const result = await benchCheck(dir, knot, { concurrency: 16, resolver: counting });
      expect(result.domains).toBe(60);
      expect(result.score.missed).toEqual([]);
      expect(result.score.falseAlarms).toEqual([]);
      expect(result.score.dnsErrors).toEqual([]);
      expect(result.score.broken).toBe(3);
      expect(result.score.found).toBe(3);
      // Each domain's own questions (shared includes, parents and MX providers excluded: asked once per run).
      const domains = readFileSync(path.join(dir, 'domains.txt'), 'utf8').split('\n').filter(Boolean);
      const own = domains.map((d) => counting.askedFor(d));
      // 7 for every domain (apex TXT, _dmarc, the DKIM selector, MX, _mta-sts, _smtp._tls, default._bimi),
      // more only for what its records ask for: SPF a/mx mechanisms (A+AAAA), an external report
      // address, an own MX host's address.
      expect(Math.min(...own)).toBeGreaterThanOrEqual(7);
      expect(own.reduce((a, b) => a + b, 0) / own.length).toBeLessThanOrEqual(9);
      expect(counting.inner.queriesSent).toBe(counting.asked.size);
      // The data has no MTA-STS, TLS-RPT or BIMI records: their probes add no finding, so every
      // domain's findings are those of the SPF, DMARC, DKIM and MX audits alone.
      const added: string[] = [];
      await runChecks(domains, {
        resolver: new DnsResolver({ servers: [{ host: knot.host, port: knot.port }], timeoutMs: 2000 }),
        selectors: ['mail'],
        failOn: 'error',
        concurrency: 16,
        onResult: (r) => {
          added.push(...r.findings.filter((f) => /^(mta-sts|tls-rpt|bimi|rdns)\./.test(f.code)).map((f) => `${r.domain} ${f.code}`));
          expect([r.mtaSts.published, r.tlsRpt.published, r.bimi.published]).toEqual([null, null, null]);
        },
      });
      expect(added).toEqual([]);
    } finally {
      await knot.stop();
    }
  });
});
