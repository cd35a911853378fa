/**
 * BIMI against the embedded DNS server: the Assertion Record and the DMARC policy it depends on
 * (p, sp and pct, read from the record that governs the domain, the organizational one included).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditBimi } from '../../../src/bimi/evaluate.js';
import type { DomainResult } from '../../../src/check/audit.js';
import { DnsResolver } from '../../../src/dns/resolver.js';
import { startServer, type RunningServer } from '../../../src/dns/server.js';
import type { DnsRecord } from '../../../src/records.js';
import { runCli } from '../../helpers/cli.js';

const txt = (name: string, value: string): DnsRecord => ({ name, type: 'TXT', ttl: 300, value });
const logo = (d: string): DnsRecord => txt(`default._bimi.${d}`, `v=BIMI1; l=https://${d}/bimi/logo.svg; a=https://${d}/bimi/vmc.pem`);

const records: DnsRecord[] = [
  logo('good.test'),
  txt('_dmarc.good.test', 'v=DMARC1; p=reject'),
  logo('monitor.test'),
  txt('_dmarc.monitor.test', 'v=DMARC1; p=none; rua=mailto:d@monitor.test'),
  logo('partial.test'),
  txt('_dmarc.partial.test', 'v=DMARC1; p=quarantine; pct=50'),
  logo('subnone.test'),
  txt('_dmarc.subnone.test', 'v=DMARC1; p=reject; sp=none'),
  logo('nodmarc.test'),
  // A subdomain with its own logo, governed by the organizational domain's record (RFC 9989 tree walk).
  logo('news.good.test'),
  txt('default._bimi.declined.test', 'v=BIMI1; l=; a=;'),
  txt('_dmarc.declined.test', 'v=DMARC1; p=none'),
  txt('default._bimi.broken.test', 'v=BIMI1; l=https://broken.test/logo.png'),
];

describe('BIMI records and their DMARC prerequisite', () => {
  let dns: RunningServer;
  let resolver: DnsResolver;
  beforeAll(async () => {
    dns = await startServer({ records, zones: ['test', 'good.test', 'monitor.test', 'partial.test', 'subnone.test', 'nodmarc.test', 'declined.test', 'broken.test', 'plain.test'] });
    resolver = new DnsResolver({ servers: [{ host: dns.host, port: dns.port }], timeoutMs: 2000 });
  });
  afterAll(async () => dns?.close());
  const codes = async (d: string): Promise<string[]> => (await auditBimi(resolver, d)).findings.map((f) => f.code);

  it('accepts a logo under p=reject, also for a subdomain the organizational record governs', async () => {
    const r = await auditBimi(resolver, 'good.test');
    expect(r).toMatchObject({ findings: [], dnsFailed: false, published: 'v=BIMI1; l=https://good.test/bimi/logo.svg; a=https://good.test/bimi/vmc.pem' });
    expect(await codes('news.good.test')).toEqual([]);
  });

  it('names each DMARC setting that keeps the logo from being shown', async () => {
    expect(await codes('monitor.test')).toEqual(['bimi.dmarc-not-enforced']);
    expect(await codes('partial.test')).toEqual(['bimi.dmarc-pct']);
    expect(await codes('subnone.test')).toEqual(['bimi.dmarc-subdomain-none']);
    expect(await codes('nodmarc.test')).toEqual(['bimi.dmarc-missing']);
    const r = await auditBimi(resolver, 'monitor.test');
    expect(r.findings[0]!.rfc).toMatch(/^draft-brand-indicators-for-message-identification §7\.1/);
  });

  it('a declination asks nothing of DMARC; a bad record is a finding; no record, no finding', async () => {
    expect(await codes('declined.test')).toEqual(['bimi.declined']);
    expect(await codes('broken.test')).toEqual(['bimi.invalid-record']);
    expect(await auditBimi(resolver, 'plain.test')).toEqual({ findings: [], dnsFailed: false, published: null });
  });

  it('maildns check reports BIMI in the default run', async () => {
    const r = await runCli(['check', 'good.test', 'monitor.test', '--nameserver', `127.0.0.1:${dns.port}`, '--json']);
    const doc = JSON.parse(r.stdout) as { domains: DomainResult[] };
    expect(doc.domains[0]!.bimi.published).toMatch(/^v=BIMI1; /);
    expect(doc.domains[1]!.findings.map((f) => f.code)).toContain('bimi.dmarc-not-enforced');
  });
});
