/**
 * `maildns verify` with a planned MTA-STS policy and TLS-RPT record: Knot serves the zones, a
 * node:https server with a test CA serves the policies. Verify says when the published id or the
 * served policy differs from the plan, and when a second TLS-RPT record conflicts; and warns when
 * an address of the policy host refused the connection before another served the policy.
 */
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderZone } from '../../../providers/zone.js';
import { DnsResolver } from '../../../src/dns/resolver.js';
import { composeStsPolicy, composeStsRecord } from '../../../src/mtasts/compose.js';
import { loadPlan } from '../../../src/plan/load.js';
import { composeDomain, composeMtaStsPolicy } from '../../../src/plan/records.js';
import type { Plan } from '../../../src/plan/types.js';
import type { DnsRecord } from '../../../src/records.js';
import { verifyPlan, type DomainVerification } from '../../../src/verify/run.js';
import { runCli } from '../../helpers/cli.js';
import { makeTestCa, serve, startPolicyServer, type PolicyServer, type TestCa } from '../../helpers/https.js';
import { startKnot, type KnotServer } from '../../helpers/knot.js';

const DOMAINS = ['planned.example', 'staleid.example', 'drift.example', 'tworpt.example', 'deadfirst.example'];

/** mta-sts.deadfirst.example: nothing listens on its first address, the policy server on its second (Knot answers them in this order, their canonical one). */
const DEAD = '127.0.0.2';
const SECOND = '127.0.0.3';

function writePlan(): { file: string; plan: Plan } {
  const dir = mkdtempSync(path.join(tmpdir(), 'maildns-verify-sts-'));
  const file = path.join(dir, 'maildns.yaml');
  const domain = (d: string): string =>
    [`  - domain: ${d}`, `    mx: [mail.${d}]`, `    mta_sts: { mode: enforce, max_age: 604800 }`, `    tls_rpt: { rua: [tls-reports@${d}] }`].join('\n');
  writeFileSync(file, `version: 1\ndomains:\n${DOMAINS.map(domain).join('\n')}\n`);
  return { file, plan: loadPlan(file) };
}

describe('maildns verify: MTA-STS and TLS-RPT against the plan', () => {
  const { file, plan } = writePlan();
  let ca: TestCa;
  let knot: KnotServer;
  let web: PolicyServer;
  let servedFile = '';
  const policyOf = (d: string): string => composeMtaStsPolicy(plan.domains.find((p) => p.domain === d)!)!.text;

  beforeAll(async () => {
    const zones: Record<string, string> = {};
    for (const d of plan.domains) {
      let records: DnsRecord[] = composeDomain(plan, d).records;
      // An id left over from an earlier policy: the record was not updated with the policy.
      if (d.domain === 'staleid.example') records = records.map((r) => (r.purpose === 'mta-sts' ? { ...r, value: composeStsRecord(composeStsPolicy({ mode: 'testing', mx: ['mail.staleid.example'], maxAge: 86400 })) } : r));
      if (d.domain === 'tworpt.example') records = [...records, { name: '_smtp._tls.tworpt.example', type: 'TXT', ttl: 3600, value: 'v=TLSRPTv1; rua=mailto:old@tworpt.example' }];
      const head: DnsRecord[] = [
        { name: d.domain, type: 'SOA', ttl: 3600, value: `ns.${d.domain} hostmaster.${d.domain} 1 3600 600 604800 300` },
        { name: d.domain, type: 'NS', ttl: 3600, value: `ns.${d.domain}` },
        { name: `ns.${d.domain}`, type: 'A', ttl: 3600, value: '127.0.0.1' },
        { name: `mail.${d.domain}`, type: 'A', ttl: 3600, value: '192.0.2.25' },
        ...(d.domain === 'deadfirst.example' ? [DEAD, SECOND] : ['127.0.0.1']).map((value): DnsRecord => ({ name: `mta-sts.${d.domain}`, type: 'A', ttl: 3600, value })),
      ];
      zones[d.domain] = renderZone(d.domain, [...head, ...records], 3600);
    }
    knot = await startKnot(zones);
    // The planned domain's policy is the file `maildns mta-sts --out` writes, served as it is.
    const docroot = mkdtempSync(path.join(tmpdir(), 'maildns-www-'));
    const written = await runCli(['mta-sts', '--plan', file, '--out', docroot, '-d', 'planned.example']);
    expect(written.code).toBe(0);
    servedFile = path.join(docroot, 'mta-sts.planned.example', '.well-known', 'mta-sts.txt');
    expect(written.stdout).toContain(servedFile);
    ca = makeTestCa();
    const cert = ca.issue(DOMAINS.map((d) => `mta-sts.${d}`));
    web = await startPolicyServer(
      { '*': cert },
      {
        'mta-sts.planned.example': (_req, res) => res.writeHead(200, { 'content-type': 'text/plain' }).end(readFileSync(servedFile)),
        'mta-sts.staleid.example': serve(policyOf('staleid.example')),
        // The web server still has the testing policy of before.
        'mta-sts.drift.example': serve(composeStsPolicy({ mode: 'testing', mx: ['mail.drift.example', 'old.drift.example'], maxAge: 604800 })),
        'mta-sts.tworpt.example': serve(policyOf('tworpt.example')),
        'mta-sts.deadfirst.example': serve(policyOf('deadfirst.example')),
      },
      { alsoOn: [SECOND] },
    );
  });
  afterAll(async () => {
    await web?.close();
    await knot?.stop();
  });

  const codesOf = (d: DomainVerification): string[] => d.findings.filter((f) => f.severity !== 'info').map((f) => f.code);

  it('finds each published difference, through the library', async () => {
    const resolver = new DnsResolver({ servers: [{ host: knot.host, port: knot.port }], timeoutMs: 2000 });
    const report = await verifyPlan(plan, { resolver, authoritative: [`127.0.0.1:${knot.port}`], mtaStsPolicy: { ca: ca.caPem, port: web.port } });
    const byDomain = Object.fromEntries(report.domains.map((d) => [d.domain, d]));
    expect(codesOf(byDomain['planned.example']!)).toEqual([]);
    expect(byDomain['planned.example']!.status).toBe('as-planned');
    expect(codesOf(byDomain['staleid.example']!)).toEqual(['verify.different']);
    expect(byDomain['staleid.example']!.findings[0]!.subject).toBe('_mta-sts.staleid.example TXT (mta-sts)');
    expect(codesOf(byDomain['drift.example']!)).toEqual(['verify.mta-sts-policy-different']);
    expect(byDomain['drift.example']!.findings.find((f) => f.code === 'verify.mta-sts-policy-different')!.message).toBe(
      'the policy served differs from the plan: mode is testing, the plan says enforce; mx old.drift.example is not in the plan',
    );
    expect(codesOf(byDomain['tworpt.example']!)).toEqual(['verify.conflicting-record']);
    expect(byDomain['tworpt.example']!.findings[0]!.message).toMatch(/a second TLS-RPT record .*RFC 8460 §3/);
    // The policy is the plan's, served by the second address: a warning names the first, which refused.
    const deadFirst = byDomain['deadfirst.example']!;
    expect(codesOf(deadFirst)).toEqual(['mta-sts.policy-address-unreachable']);
    expect(deadFirst.status).toBe('as-planned');
    const warning = deadFirst.findings.find((f) => f.code === 'mta-sts.policy-address-unreachable')!;
    expect(warning).toMatchObject({ severity: 'warning', subject: 'https://mta-sts.deadfirst.example/.well-known/mta-sts.txt', rfc: 'RFC 8461 §3.3', fix: `make every address of mta-sts.deadfirst.example serve the policy, or remove the dead address ${DEAD} from DNS` });
    expect(warning.message).toContain(`(ECONNREFUSED connecting to ${DEAD} port ${web.port}); the policy was served by ${SECOND}, `);
  });

  it('maildns mta-sts writes the planned policy world-readable, and says so as JSON too', async () => {
    expect(readFileSync(servedFile, 'utf8')).toBe(policyOf('planned.example'));
    expect(statSync(servedFile).mode & 0o777).toBe(0o644);
    const json = await runCli(['mta-sts', '--plan', file, '-d', 'drift.example', '--json']);
    expect(JSON.parse(json.stdout)).toEqual({
      version: 1,
      policies: [{ domain: 'drift.example', url: 'https://mta-sts.drift.example/.well-known/mta-sts.txt', host: 'mta-sts.drift.example', file: null, text: policyOf('drift.example'), record: { name: '_mta-sts.drift.example', type: 'TXT', value: composeStsRecord(policyOf('drift.example')) } }],
    });
    expect((await runCli(['mta-sts', '--plan', file, '-d', 'other.example'])).code).toBe(2);
  });

  it('through the CLI, with --ca-file and the test port, as JSON', async () => {
    const r = await runCli(['verify', '--plan', file, '--authoritative', `127.0.0.1:${knot.port}`, '--nameserver', `127.0.0.1:${knot.port}`, '--ca-file', ca.caFile, '--json'], {
      env: { MAILDNS_MTA_STS_PORT: String(web.port) },
    });
    expect(r.code).toBe(1);
    const doc = JSON.parse(r.stdout) as { domains: DomainVerification[] };
    expect(doc.domains.map((d) => [d.domain, d.status])).toEqual([
      ['planned.example', 'as-planned'],
      ['staleid.example', 'problems'],
      ['drift.example', 'problems'],
      ['tworpt.example', 'problems'],
      ['deadfirst.example', 'as-planned'],
    ]);
    // A warning, not a problem at the default --fail-on error; there as any finding is.
    expect(codesOf(doc.domains[4]!)).toEqual(['mta-sts.policy-address-unreachable']);
    expect(doc.domains[4]!.findings.find((f) => f.code === 'mta-sts.policy-address-unreachable')!.message).toContain(`(ECONNREFUSED connecting to ${DEAD} port ${web.port}); the policy was served by ${SECOND}, `);
    expect(codesOf(doc.domains[0]!)).toEqual([]);
    // Without the test CA the policy host is not trusted: verify says so rather than passing.
    const untrusted = await runCli(['verify', '--plan', file, '-d', 'planned.example', '--authoritative', `127.0.0.1:${knot.port}`, '--nameserver', `127.0.0.1:${knot.port}`, '--json'], {
      env: { MAILDNS_MTA_STS_PORT: String(web.port) },
    });
    expect(untrusted.code).toBe(1);
    expect((JSON.parse(untrusted.stdout) as { domains: DomainVerification[] }).domains[0]!.findings.map((f) => f.code)).toContain('mta-sts.policy-certificate');
  });
});
