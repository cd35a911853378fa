/**
 * Published-record validation against a real DNS server on 127.0.0.1 (the embedded server):
 * good and broken DMARC setups each give the right finding; a silent server is a temporary
 * failure (exit 3), never "no record".
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEMPORARY_FAILURE_FIX } from '../../../src/dns/failure.js';
import { DnsResolver } from '../../../src/dns/resolver.js';
import { startServer, type RunningServer } from '../../../src/dns/server.js';
import { checkDmarcDomain } from '../../../src/dmarc/validate.js';
import { discoverPolicy, orgDomainByTreeWalk } from '../../../src/dmarc/discover.js';
import { parseDmarc } from '../../../src/dmarc/parse.js';
import { composeDomain } from '../../../src/plan/records.js';
import type { DomainPlan, Plan } from '../../../src/plan/types.js';
import type { DnsRecord } from '../../../src/records.js';

const run = promisify(execFile);
const txt = (name: string, value: string): DnsRecord => ({ name, type: 'TXT', ttl: 300, value });
const a = (name: string): DnsRecord => ({ name, type: 'A', ttl: 300, value: '192.0.2.1' });

const records: DnsRecord[] = [
  a('good.test'),
  txt('_dmarc.good.test', 'v=DMARC1; p=reject; rua=mailto:dmarc@good.test'),
  a('none.test'),
  txt('_dmarc.multi.test', 'v=DMARC1; p=reject; rua=mailto:d@multi.test'),
  txt('_dmarc.multi.test', 'v=DMARC1; p=none; rua=mailto:d@multi.test'),
  txt('_dmarc.spf.test', 'v=spf1 -all'),
  txt('_dmarc.unrelated.test', 'v=DMARC1; p=reject; rua=mailto:d@unrelated.test'),
  txt('_dmarc.unrelated.test', 'site-verification=abc123'),
  txt('apex.test', 'v=DMARC1; p=reject; rua=mailto:d@apex.test'),
  txt('_dmarc.badp.test', 'v=DMARC1; p=maybe; adkim=x; rua=mailto:d@badp.test'),
  txt('_dmarc.monitor.test', 'v=DMARC1; p=none; pct=50; rua=mailto:d@monitor.test'),
  txt('_dmarc.norua.test', 'v=DMARC1; p=reject'),
  txt('_dmarc.uris.test', 'v=DMARC1; p=reject; rua=reports@uris.test'),
  txt('_dmarc.ws.test', ' v=DMARC1; p=reject'),
  // External destinations: one authorised by name, one by wildcard, one not at all.
  txt('_dmarc.ext.test', 'v=DMARC1; p=reject; rua=mailto:r@auth.test,mailto:r@wildrcv.test; ruf=mailto:f@noauth.test'),
  txt('ext.test._report._dmarc.auth.test', 'v=DMARC1'),
  txt('*._report._dmarc.wildrcv.test', 'v=DMARC1'),
  // Policy discovery for subdomains.
  txt('_dmarc.org.test', 'v=DMARC1; p=reject; sp=quarantine; np=reject; rua=mailto:d@org.test'),
  a('mail.org.test'),
  txt('txtonly.org.test', 'site-verification=abc'),
  { name: 'alias.org.test', type: 'CNAME', ttl: 300, value: 'gone.org.test' },
  txt('_dmarc.b.deep.test', 'v=DMARC1; p=quarantine; rua=mailto:d@deep.test'),
  a('x.b.deep.test'),
  txt('_dmarc.psd.test', 'v=DMARC1; p=reject; psd=y'),
  a('a.b.psd.test'),
  txt('_dmarc.t.test', 'v=DMARC1; p=reject; t=y; rua=mailto:d@t.test'),
];

let server: RunningServer;
let resolver: DnsResolver;
/** Only for the silent name: a short deadline there, so that no prompt answer ever races one. */
let quickToGiveUp: DnsResolver;
let nameserver: string;

beforeAll(async () => {
  server = await startServer({ records, zones: ['test'], port: 0, silent: ['_dmarc.slow.test'] });
  nameserver = `${server.host}:${server.port}`;
  resolver = new DnsResolver({ servers: [{ host: server.host, port: server.port }], recursionDesired: false, timeoutMs: 5000, attempts: 1 });
  quickToGiveUp = new DnsResolver({ servers: [{ host: server.host, port: server.port }], recursionDesired: false, timeoutMs: 300, attempts: 1 });
});
afterAll(async () => {
  await server?.close();
});

const codes = async (domain: string, mode: '7489' | '9989' = '9989') => {
  const c = await checkDmarcDomain(resolver, domain, { mode });
  return { check: c, codes: c.findings.map((f) => f.code) };
};

describe('published DMARC records', () => {
  it('a good record has no errors or warnings and exit code 0', async () => {
    const check = await checkDmarcDomain(resolver, 'good.test', { mode: '9989' });
    expect(check.findings.filter((f) => f.severity !== 'info')).toEqual([]);
    expect(check.parsed?.record?.p).toBe('reject');
    expect(check.discovery).toMatchObject({ status: 'found', foundAt: 'good.test', rule: 'p', policy: 'reject' });
    expect(check.dnsFailed).toBe(false);
  });

  it.each([
    ['none.test', 'dmarc.no-record', 'error'],
    ['multi.test', 'dmarc.multiple-records', 'error'],
    ['spf.test', 'dmarc.spf-record', 'error'],
    ['unrelated.test', 'dmarc.unrelated-txt', 'warning'],
    ['apex.test', 'dmarc.record-at-apex', 'error'],
    ['badp.test', 'dmarc.invalid-p', 'error'],
    ['badp.test', 'dmarc.invalid-adkim', 'error'],
    ['monitor.test', 'dmarc.policy-none', 'warning'],
    ['monitor.test', 'dmarc.removed-tag', 'warning'],
    ['norua.test', 'dmarc.no-rua', 'warning'],
    ['uris.test', 'dmarc.report-uri-invalid', 'error'],
    ['ws.test', 'dmarc.leading-whitespace', 'error'],
    ['t.test', 'dmarc.testing', 'warning'],
    ['monitor.test', 'dmarc.suggest-np', 'info'],
  ])('%s gives %s (%s)', async (domain, code, severity) => {
    const { check } = await codes(domain);
    const f = check.findings.find((x) => x.code === code);
    expect(f, JSON.stringify(check.findings, null, 1)).toBeDefined();
    expect(f!.severity).toBe(severity);
    expect(f!.rfc).toMatch(/^RFC \d+/);
    if (severity !== 'info') expect(f!.fix).toBeTruthy();
  });

  it('pct<100 is a warning with next steps under RFC 7489', async () => {
    const { check } = await codes('monitor.test', '7489');
    const f = check.findings.find((x) => x.code === 'dmarc.pct-partial');
    expect(f?.severity).toBe('warning');
    expect(f?.fix).toMatch(/raise pct/);
  });

  it('multiple records: RFC 7489 applies no policy, RFC 9989 walks on', async () => {
    expect((await discoverPolicy(resolver, 'multi.test', '7489')).status).toBe('none');
    const d = await discoverPolicy(resolver, 'multi.test', '9989');
    expect(d.status).toBe('none');
    expect(d.lookups.map((l) => l.name)).toEqual(['_dmarc.multi.test', '_dmarc.test']);
  });

  it('external report destinations: authorised by name, by wildcard, and missing with the exact record to publish', async () => {
    const { check, codes: c } = await codes('ext.test');
    const by = Object.fromEntries(check.destinations.map((d) => [d.destination, d.status]));
    expect(by).toEqual({ 'auth.test': 'authorised', 'wildrcv.test': 'authorised', 'noauth.test': 'missing' });
    const f = check.findings.filter((x) => x.code === 'dmarc.report-destination-unauthorised');
    expect(f).toHaveLength(1);
    expect(f[0]!.severity).toBe('warning');
    expect(f[0]!.fix).toContain('ext.test._report._dmarc.noauth.test. IN TXT "v=DMARC1"');
    expect(c).not.toContain('dmarc.no-record');
  });

  it('a subdomain that exists gets the sp rule of its organizational domain', async () => {
    const d = await discoverPolicy(resolver, 'mail.org.test', '7489');
    expect(d).toMatchObject({ status: 'found', foundAt: 'org.test', recordName: '_dmarc.org.test', rule: 'sp', policy: 'quarantine', orgDomain: 'org.test' });
    expect(d.reason).toMatch(/sp/);
    const { codes: c } = await codes('mail.org.test');
    expect(c).toContain('dmarc.inherited');
    expect(c).not.toContain('dmarc.no-record');
  });

  it('a subdomain that does not exist gets np', async () => {
    const d = await discoverPolicy(resolver, 'ghost.org.test', '9989');
    expect(d).toMatchObject({ status: 'found', foundAt: 'org.test', rule: 'np', policy: 'reject', fromDomainExists: false });
  });

  it('a name with only a TXT record exists for RFC 9989 (not NXDOMAIN) but not for RFC 7489 with RFC 9091 (no A, AAAA or MX)', async () => {
    const bis = await discoverPolicy(resolver, 'txtonly.org.test', '9989');
    expect(bis).toMatchObject({ status: 'found', rule: 'sp', policy: 'quarantine', fromDomainExists: true });
    const old = await discoverPolicy(resolver, 'txtonly.org.test', '7489');
    expect(old).toMatchObject({ status: 'found', rule: 'np', policy: 'reject', fromDomainExists: false });
    expect(old.reason).toContain('no A, AAAA or MX');
    expect((await discoverPolicy(resolver, 'ghost.org.test', '9989')).reason).toContain('NXDOMAIN');
    // An alias exists even when its target does not.
    expect(await discoverPolicy(resolver, 'alias.org.test', '9989')).toMatchObject({ rule: 'sp', fromDomainExists: true });
  });

  it('RFC 9989 tree walk finds an intermediate record that the RFC 7489 PSL lookup misses', async () => {
    const walk = await discoverPolicy(resolver, 'x.b.deep.test', '9989');
    expect(walk).toMatchObject({ status: 'found', foundAt: 'b.deep.test', policy: 'quarantine' });
    const psl = await discoverPolicy(resolver, 'x.b.deep.test', '7489');
    expect(psl.orgDomain).toBe('deep.test');
    expect(psl.status).toBe('none');
    expect(psl.lookups.map((l) => l.name)).toEqual(['_dmarc.x.b.deep.test', '_dmarc.deep.test']);
  });

  it('psd=y marks a public suffix domain: the organizational domain is one label below', async () => {
    const org = await orgDomainByTreeWalk(resolver, 'a.b.psd.test');
    expect(org.orgDomain).toBe('b.psd.test');
  });

  it('the tree walk asks at most 8 names, even for a long name', async () => {
    const long = 'l1.l2.l3.l4.l5.l6.l7.l8.l9.org.test';
    const d = await discoverPolicy(resolver, long, '9989', { checkExistence: false });
    expect(d.lookups.length).toBeLessThanOrEqual(8);
    expect(d.lookups[1]!.name).toBe('_dmarc.l5.l6.l7.l8.l9.org.test');
    expect(d).toMatchObject({ status: 'found', foundAt: 'org.test', rule: 'sp' });
  });

  it('t=y moves the applied policy one step down', async () => {
    const d = await discoverPolicy(resolver, 't.test', '9989');
    expect(d).toMatchObject({ policy: 'reject', appliedPolicy: 'quarantine' });
  });

  it('a silent server is a temporary failure, never "no record"', async () => {
    // Were the other names (all prompt) slow enough to meet this deadline, that would only add temporary failures.
    const check = await checkDmarcDomain(quickToGiveUp, 'slow.test', { mode: '9989' });
    expect(check.dnsFailed).toBe(true);
    expect(check.findings.map((f) => f.code)).toContain('dmarc.dns-temporary');
    // Worded and mended as every other check's DNS failure, with the RFC of DMARC's lookup.
    const failure = check.findings.find((f) => f.code === 'dmarc.dns-temporary')!;
    expect(failure).toMatchObject({ subject: '_dmarc.slow.test', fix: TEMPORARY_FAILURE_FIX, rfc: 'RFC 9989 §4.10' });
    expect(failure.message).toMatch(/^could not read the TXT records at _dmarc\.slow\.test: .*; this is a temporary failure, not a missing record$/);
    expect(check.findings.map((f) => f.code)).not.toContain('dmarc.no-record');
    expect(check.discovery.status).toBe('temperror');
  });
});

describe('records for a domain that receives reports for others', () => {
  it('accept_reports_for composes <source>._report._dmarc.<receiver> "v=DMARC1", and the source then passes', async () => {
    const d: DomainPlan = { domain: 'rcv.test', ttl: 300, mx: [], dkim: [], txt: [], nameservers: [], acceptReportsFor: ['src.test', 'other.example'] };
    const plan: Plan = { file: null, keysDir: '/nonexistent', domains: [d] };
    const composed = composeDomain(plan, d);
    const auth = composed.records.filter((r) => r.purpose === 'dmarc-report-authorization');
    expect(auth.map((r) => [r.name, r.type, r.value])).toEqual([
      ['src.test._report._dmarc.rcv.test', 'TXT', 'v=DMARC1'],
      ['other.example._report._dmarc.rcv.test', 'TXT', 'v=DMARC1'],
    ]);
    expect(parseDmarc(auth[0]!.value).isDmarc).toBe(true);
    const srv = await startServer({ records: [...auth, txt('_dmarc.src.test', 'v=DMARC1; p=reject; rua=mailto:agg@rcv.test')], zones: ['test'], port: 0 });
    try {
      const r = new DnsResolver({ servers: [{ host: srv.host, port: srv.port }], recursionDesired: false, timeoutMs: 5000, attempts: 1 });
      const check = await checkDmarcDomain(r, 'src.test');
      expect(check.destinations).toEqual([expect.objectContaining({ destination: 'rcv.test', status: 'authorised' })]);
      expect(check.findings.map((f) => f.code)).not.toContain('dmarc.report-destination-unauthorised');
    } finally {
      await srv.close();
    }
  });
});

describe('CLI (node dist/cli/main.js)', () => {
  const cli = new URL('../../../dist/cli/main.js', import.meta.url).pathname;
  const exec = async (args: string[]) => {
    expect(existsSync(cli), 'build first: npx tsc -p tsconfig.json').toBe(true);
    try {
      const r = await run('node', [cli, ...args], { env: { ...process.env, MAILDNS_NAMESERVER: '', NO_COLOR: '1' } });
      return { code: 0, stdout: r.stdout, stderr: r.stderr };
    } catch (e) {
      const err = e as { code: number; stdout: string; stderr: string };
      return { code: err.code, stdout: err.stdout, stderr: err.stderr };
    }
  };
  // The runs of one test are independent, so they start together: each costs a node start-up.
  it('exit codes: 0 good, 1 errors, 2 bad input, 3 DNS failed', async () => {
    const [good, bad, notADomain, badMode, slow] = await Promise.all([
      exec(['dmarc', 'good.test', '--nameserver', nameserver]),
      exec(['dmarc', 'badp.test', '--nameserver', nameserver, '--json']),
      exec(['dmarc', 'not a domain', '--nameserver', nameserver]),
      exec(['dmarc', 'good.test', '--mode', '1234', '--nameserver', nameserver]),
      exec(['dmarc', 'slow.test', '--nameserver', nameserver, '--json', '--timeout', '300']),
    ]);
    expect(good.code).toBe(0);
    expect(good.stdout).toContain('mail from this domain that fails DMARC: refuse it');
    expect(bad.code).toBe(1);
    expect(JSON.parse(bad.stdout).findings.map((f: { code: string }) => f.code)).toContain('dmarc.invalid-p');
    expect(notADomain.code).toBe(2);
    expect(badMode.code).toBe(2);
    expect(slow.code).toBe(3);
    expect(JSON.parse(slow.stdout).findings.map((f: { code: string }) => f.code)).toContain('dmarc.dns-temporary');
  });

  it('compose: a record from flags; bad flags exit 2', async () => {
    const badFlags = [['--p', 'maybe'], [], ['--p', 'reject', '--adkim', 'x'], ['--p', 'reject', '--pct', '150'], ['--p', 'reject', '--rua', 'nobody'], ['--p', 'reject', '--fo', '2']];
    const [ok, zone, ...bad] = await Promise.all([
      exec(['dmarc', 'compose', '--p', 'reject', '--np', 'reject', '--rua', 'dmarc@example.com', '--adkim', 's']),
      exec(['dmarc', 'compose', '--p', 'none', '--rua', 'mailto:d@example.com', '--domain', 'example.com']),
      ...badFlags.map((args) => exec(['dmarc', 'compose', ...args])),
    ]);
    expect(ok!.code).toBe(0);
    expect(ok!.stdout.trim()).toBe('v=DMARC1; p=reject; np=reject; adkim=s; rua=mailto:dmarc@example.com');
    expect(zone!.stdout.trim()).toBe('_dmarc.example.com. 3600 IN TXT "v=DMARC1; p=none; rua=mailto:d@example.com"');
    bad.forEach((r, i) => {
      expect(r.code, badFlags[i]!.join(' ')).toBe(2);
      expect(r.stderr).toMatch(/^maildns: /);
    });
  });
});
