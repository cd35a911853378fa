/**
 * Every check that reads DNS, run in-process against the hostile server: a malformed answer, a
 * CNAME loop or an answer to another question is a temporary failure with its own finding in
 * SPF validation, check_host, DMARC, DKIM, the bulk audit and verify, never "no record".
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditDomain, isTemporaryFinding } from '../../../src/check/audit.js';
import { auditDkim } from '../../../src/check/mechanisms.js';
import { checkDmarcDomain } from '../../../src/dmarc/validate.js';
import { DnsResolver } from '../../../src/dns/resolver.js';
import { loadPlan } from '../../../src/plan/load.js';
import { checkHost } from '../../../src/spf/evaluate.js';
import { validateSpf } from '../../../src/spf/validate.js';
import { verifyPlan } from '../../../src/verify/run.js';
import { hostileZone, startHostileDns, type HostileServer } from '../../helpers/hostile-dns.js';

const TIMEOUT_MS = 250;
/** Codes that would mean a broken answer was read as a missing record. */
const NO_RECORD = ['spf.none', 'spf.include-no-record', 'dmarc.no-record', 'dkim.no-record', 'mx.none', 'verify.missing'];

let server: HostileServer;
beforeAll(async () => {
  server = await startHostileDns(hostileZone);
});
afterAll(async () => server?.close());

const perQuery = (): DnsResolver => new DnsResolver({ servers: [server], timeoutMs: TIMEOUT_MS, attempts: 1 });
const codes = (findings: readonly { code: string }[]): string[] => findings.map((f) => f.code);

describe('SPF validation', () => {
  it('reports a malformed answer at the domain as spf.dns-malformed, DNS unavailable, no record assumed', async () => {
    const report = await validateSpf(perQuery(), 'pointer-loop.hostile.test', { probeOrphans: false });
    expect(report.dnsUnavailable).toBe(true);
    expect(codes(report.findings)).toEqual(['spf.dns-malformed']);
    expect(report.findings[0]!.message).toMatch(/the server sent a malformed answer \(.*compression pointer/);
  });

  it('reports a malformed answer at an include as spf.dns-malformed at that include, not as a missing record', async () => {
    const report = await validateSpf(perQuery(), 'include.short-rdata.hostile.test', { probeOrphans: false });
    expect(codes(report.findings)).toContain('spf.dns-malformed');
    expect(codes(report.findings).filter((c) => NO_RECORD.includes(c))).toEqual([]);
    expect(report.tree!.children[0]).toMatchObject({ domain: 'short-rdata.hostile.test', problem: 'temperror' });
  });

  it('reports a CNAME loop at the domain as a temporary failure that names the loop, not spf.none', async () => {
    const report = await validateSpf(perQuery(), 'cname-loop.hostile.test', { probeOrphans: false });
    expect(report.dnsUnavailable).toBe(true);
    expect(codes(report.findings)).toEqual(['spf.temperror']);
    expect(report.findings[0]!.message).toMatch(/CNAME loop: cname-loop\.hostile\.test -> loop-b\.cname-loop\.hostile\.test -> cname-loop\.hostile\.test/);
  });

  it('reports an answer to another question as a timeout (spf.temperror), not as a missing record', async () => {
    const report = await validateSpf(perQuery(), 'other-name.hostile.test', { probeOrphans: false });
    expect(report.dnsUnavailable).toBe(true);
    expect(codes(report.findings)).toEqual(['spf.temperror']);
  });
});

describe('check_host', () => {
  for (const domain of ['long-label.hostile.test', 'include.trailing.hostile.test', 'cname-loop.hostile.test', 'other-class.hostile.test']) {
    it(`is temperror for ${domain}`, async () => {
      const verdict = await checkHost(perQuery(), { ip: '192.0.2.1', domain });
      expect(verdict.result).toBe('temperror');
    });
  }
});

describe('DMARC', () => {
  it('reports a malformed answer at _dmarc as dmarc.dns-malformed, not dmarc.no-record', async () => {
    const check = await checkDmarcDomain(perQuery(), 'wrong-section.hostile.test');
    expect(check.dnsFailed).toBe(true);
    expect(codes(check.findings)).toContain('dmarc.dns-malformed');
    expect(codes(check.findings).filter((c) => NO_RECORD.includes(c))).toEqual([]);
  });

  it('reports a CNAME loop at _dmarc and at the apex as a temporary failure that names the loop', async () => {
    const check = await checkDmarcDomain(perQuery(), 'cname-loop.hostile.test');
    expect(check.dnsFailed).toBe(true);
    expect(check.findings.every(isTemporaryFinding)).toBe(true);
    expect(check.findings[0]!.message).toMatch(/CNAME loop: _dmarc\.cname-loop\.hostile\.test -> /);
  });
});

describe('DKIM', () => {
  it('reports a malformed key record as dkim.dns-malformed, not dkim.no-record', async () => {
    const result = await auditDkim(perQuery(), 'long-name.hostile.test', 'sel');
    expect(result.dnsFailed).toBe(true);
    expect(codes(result.findings)).toEqual(['dkim.dns-malformed']);
  });
});

describe('the bulk audit (check, over shared sockets)', () => {
  const shared = (): DnsResolver => new DnsResolver({ servers: [server], timeoutMs: TIMEOUT_MS, attempts: 1, sharedTransport: 'udp' });

  it('calls a domain whose every answer is malformed a DNS error, with a malformed finding per mechanism', async () => {
    const result = await auditDomain(shared(), 'cut-short.hostile.test', { selectors: ['sel'], failOn: 'error' });
    expect(result.status).toBe('dns-error');
    expect(codes(result.findings).sort()).toEqual(['bimi.dns-malformed', 'dkim.dns-malformed', 'dmarc.dns-malformed', 'mta-sts.dns-malformed', 'mx.dns-malformed', 'spf.dns-malformed', 'tls-rpt.dns-malformed']);
  });

  it('gives an answer to another question the verdict the per-query path gives: a DNS error', async () => {
    const [bulk, single] = await Promise.all([
      auditDomain(shared(), 'other-type.hostile.test', { selectors: [], failOn: 'error' }),
      auditDomain(perQuery(), 'other-type.hostile.test', { selectors: [], failOn: 'error' }),
    ]);
    expect(bulk.status).toBe('dns-error');
    expect(single.status).toBe('dns-error');
    expect(codes(bulk.findings).sort()).toEqual(codes(single.findings).sort());
  });
});

describe('verify', () => {
  it('reports records the server answers with malformed messages as verify.dns-malformed, never verify.missing', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'maildns-hostile-'));
    const file = path.join(dir, 'maildns.yaml');
    writeFileSync(file, 'version: 1\ndomains:\n  - domain: pointer-loop.hostile.test\n    spf:\n      ip4: [192.0.2.25]\n      all: -all\n    dmarc:\n      p: reject\n');
    const report = await verifyPlan(loadPlan(file), { resolver: perQuery(), authoritative: [server.address], timeoutMs: TIMEOUT_MS, attempts: 1 });
    const d = report.domains[0]!;
    expect(d.zone).toBe('hostile.test');
    expect(codes(d.findings)).not.toContain('verify.missing');
    expect(d.findings.filter((f) => f.code === 'verify.dns-malformed').map((f) => f.subject).sort()).toEqual(['_dmarc.pointer-loop.hostile.test TXT (dmarc)', 'pointer-loop.hostile.test TXT (spf)']);
  });
});
