/**
 * `check --tls` against Debian's Postfix: one private instance (`postfix -c DIR`) with five
 * smtpd listeners on loopback addresses, one port: STARTTLS with a certificate for its MX name
 * (from a test CA made with openssl), no STARTTLS at all, STARTTLS with a certificate for another
 * host, and two with a certificate for the MX hosts that have several addresses. Two node:net fakes stand for what Postfix will not do: a server that accepts and
 * never greets, and one that offers STARTTLS and refuses it. The MX names resolve through the
 * embedded DNS server; the MTA-STS policy comes over HTTPS from the test CA's server.
 */
import net from 'node:net';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DomainResult } from '../../../src/check/audit.js';
import { DnsResolver } from '../../../src/dns/resolver.js';
import { startServer, type RunningServer } from '../../../src/dns/server.js';
import type { DnsRecord } from '../../../src/records.js';
import { auditStartTls, probeStartTls } from '../../../src/starttls/probe.js';
import { runCli } from '../../helpers/cli.js';
import { makeTestCa, serve, startPolicyServer, type PolicyServer, type TestCa } from '../../helpers/https.js';
import { createPostfix, debianLayout, hostRoot, isRoot, removeHostRoot, requireMailHostPrograms, type PostfixInstance } from '../../helpers/mailhost.js';
import { freePort } from '../../helpers/opendkim.js';

const ADDR = { good: '127.0.0.2', plain: '127.0.0.3', wrongName: '127.0.0.4', stall: '127.0.0.5', refused: '127.0.0.6', pair: '127.0.0.8', pairToo: '127.0.0.9' } as const;
const rec = (name: string, type: DnsRecord['type'], value: string): DnsRecord => ({ name, type, ttl: 300, value });
/** SPF and DMARC too, so that a domain's check status is down to its STARTTLS alone. */
const authenticated = (domain: string): DnsRecord[] => [rec(domain, 'TXT', 'v=spf1 -all'), rec(`_dmarc.${domain}`, 'TXT', 'v=DMARC1; p=reject')];
const mxDomain = (domain: string, host: string, address: string): DnsRecord[] => [rec(domain, 'MX', `10 ${host}.`), rec(host, 'A', address), ...authenticated(domain)];

const records: DnsRecord[] = [
  ...mxDomain('good.tls.test', 'mx.good.tls.test', ADDR.good),
  ...mxDomain('plain.tls.test', 'mx.plain.tls.test', ADDR.plain),
  ...mxDomain('wrongname.tls.test', 'mx.wrongname.tls.test', ADDR.wrongName),
  ...mxDomain('stall.tls.test', 'mx.stall.tls.test', ADDR.stall),
  ...mxDomain('refused.tls.test', 'mx.refused.tls.test', ADDR.refused),
  // One MX host at three addresses: good STARTTLS, none, a certificate for another name; one at two good ones.
  ...mxDomain('mixed.tls.test', 'mx.mixed.tls.test', ADDR.pair),
  rec('mx.mixed.tls.test', 'A', ADDR.plain),
  rec('mx.mixed.tls.test', 'A', ADDR.wrongName),
  ...mxDomain('twogood.tls.test', 'mx.twogood.tls.test', ADDR.pair),
  rec('mx.twogood.tls.test', 'A', ADDR.pairToo),
  // Enforced MTA-STS: one domain whose MX meets the policy, one whose MX certificate names another host.
  rec('sts.tls.test', 'MX', '10 mx.good.tls.test.'),
  ...authenticated('sts.tls.test'),
  ...authenticated('badsts.tls.test'),
  rec('_mta-sts.sts.tls.test', 'TXT', 'v=STSv1; id=1'),
  rec('mta-sts.sts.tls.test', 'A', '127.0.0.1'),
  rec('badsts.tls.test', 'MX', '10 mx.wrongname.tls.test.'),
  rec('_mta-sts.badsts.tls.test', 'TXT', 'v=STSv1; id=1'),
  rec('mta-sts.badsts.tls.test', 'A', '127.0.0.1'),
];

const policy = (mx: string): string => `version: STSv1\nmode: enforce\nmx: ${mx}\nmax_age: 604800\n`;

describe.skipIf(!isRoot)('check --tls: STARTTLS on the MX hosts (Debian Postfix, needs root)', () => {
  let root: string;
  let postfix: PostfixInstance | undefined;
  let dns: RunningServer;
  let resolver: DnsResolver;
  let ca: TestCa;
  let policyServer: PolicyServer;
  let port: number;
  const fakes: net.Server[] = [];

  async function fake(address: string, onConnection: (s: net.Socket) => void): Promise<void> {
    const server = net.createServer(onConnection);
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, address, resolve));
    fakes.push(server);
  }

  beforeAll(async () => {
    requireMailHostPrograms();
    ca = makeTestCa();
    port = await freePort();
    root = hostRoot('maildns-starttls-');
    const layout = debianLayout(root);
    const files = (name: string, pair: { key: string; cert: string }): { key: string; cert: string } => {
      const f = { key: path.join(root, `${name}.key`), cert: path.join(root, `${name}.pem`) };
      writeFileSync(f.key, pair.key, { mode: 0o600 });
      writeFileSync(f.cert, pair.cert);
      return f;
    };
    const good = files('good', ca.issue(['mx.good.tls.test']));
    const other = files('other', ca.issue(['other.example.net']));
    const pair = files('pair', ca.issue(['mx.mixed.tls.test', 'mx.twogood.tls.test']));
    postfix = await createPostfix(layout, port);
    await postfix.postconf('-e', // Postfix accepts only addresses an interface carries in inet_interfaces; each listener below names its own.
      'inet_interfaces = all', 'smtpd_tls_security_level = none', 'mynetworks = 127.0.0.0/8');
    await postfix.postconf('-MX', `${port}/inet`);
    const listener = (address: string, tls: string): string => `${address}:${port}/inet=${address}:${port} inet n - n - - smtpd ${tls}`;
    await postfix.postconf('-M', listener(ADDR.good, `-o smtpd_tls_security_level=may -o smtpd_tls_cert_file=${good.cert} -o smtpd_tls_key_file=${good.key}`));
    await postfix.postconf('-M', listener(ADDR.plain, '-o smtpd_tls_security_level=none'));
    await postfix.postconf('-M', listener(ADDR.wrongName, `-o smtpd_tls_security_level=may -o smtpd_tls_cert_file=${other.cert} -o smtpd_tls_key_file=${other.key}`));
    for (const address of [ADDR.pair, ADDR.pairToo]) await postfix.postconf('-M', listener(address, `-o smtpd_tls_security_level=may -o smtpd_tls_cert_file=${pair.cert} -o smtpd_tls_key_file=${pair.key}`));
    await postfix.start();
    // Accepts the connection and never greets.
    await fake(ADDR.stall, () => {});
    // Offers STARTTLS, then refuses it as a server with a broken key does.
    await fake(ADDR.refused, (s) => {
      s.write('220 mx.refused.tls.test ESMTP\r\n');
      s.on('data', (d: Buffer) => {
        const line = d.toString('latin1');
        if (/^EHLO/i.test(line)) s.write('250-mx.refused.tls.test\r\n250-PIPELINING\r\n250 STARTTLS\r\n');
        else if (/^STARTTLS/i.test(line)) s.write('454 4.7.0 TLS not available due to local problem\r\n');
        else if (/^QUIT/i.test(line)) s.end('221 2.0.0 Bye\r\n');
      });
    });
    dns = await startServer({ records, zones: ['test', 'tls.test'] });
    resolver = new DnsResolver({ servers: [{ host: dns.host, port: dns.port }], timeoutMs: 2000 });
    const policyCert = ca.issue(['mta-sts.sts.tls.test', 'mta-sts.badsts.tls.test']);
    policyServer = await startPolicyServer({ '*': policyCert }, { 'mta-sts.sts.tls.test': serve(policy('*.good.tls.test')), 'mta-sts.badsts.tls.test': serve(policy('mx.wrongname.tls.test')) });
  }, 120_000);

  afterAll(async () => {
    await postfix?.stop();
    for (const f of fakes) f.close();
    await dns?.close();
    await policyServer?.close();
    removeHostRoot(root);
  });

  const cli = (args: string[]) =>
    runCli(['check', ...args, '--tls', '--nameserver', `${dns.host}:${dns.port}`, '--json'], { env: { MAILDNS_SMTP_PORT: String(port), MAILDNS_MTA_STS_PORT: String(policyServer.port) }, killAfterMs: 60_000 });
  const codes = (d: DomainResult): string[] => d.findings.map((f) => f.code);

  it('Postfix with a certificate for its MX name: TLS 1.2 or 1.3, trusted under --ca-file, named for the host', async () => {
    const r = await cli(['good.tls.test', '--ca-file', ca.caFile]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const d = (JSON.parse(r.stdout) as { domains: DomainResult[] }).domains[0]!;
    expect(d.tls!.results).toEqual([
      expect.objectContaining({ host: 'mx.good.tls.test', address: ADDR.good, port, state: 'tls', tlsVersion: expect.stringMatching(/^TLSv1\.[23]$/), certificate: expect.objectContaining({ trusted: true, nameValid: true, altNames: ['mx.good.tls.test'] }) }),
    ]);
    expect(d.tls!.results[0]!.greeting).toMatch(/^220 /);
    expect(d.tls!.results[0]!.extensions).toContain('STARTTLS');
    expect(codes(d)).toContain('tls.ok');
  });

  it('the bulk-senders profile says what --tls saw of the receiving side, but keeps the sending-side TLS rule not checkable', async () => {
    const r = await runCli(['check', 'good.tls.test', '--tls', '--ca-file', ca.caFile, '--profile', 'bulk-senders', '--nameserver', `${dns.host}:${dns.port}`, '--json'], { env: { MAILDNS_SMTP_PORT: String(port) }, killAfterMs: 60_000 });
    const rules = (JSON.parse(r.stdout) as { domains: { rules: { id: string; verdict: string; reason: string }[] }[] }).domains[0]!.rules;
    expect(rules.find((x) => x.id === 'tls')).toMatchObject({ verdict: 'not-checkable', reason: expect.stringContaining('of the receiving side, 1 of 1 MX host offers STARTTLS with a trusted certificate') });
  });

  it('the same server without --ca-file: the test CA is not among the built-in roots, so the certificate is untrusted (a warning)', async () => {
    const r = await cli(['good.tls.test']);
    expect(r.code).toBe(0);
    const d = (JSON.parse(r.stdout) as { domains: DomainResult[] }).domains[0]!;
    expect(d.tls!.results[0]!.certificate).toMatchObject({ trusted: false, nameValid: true });
    expect(d.findings.find((f) => f.code === 'tls.certificate-untrusted')).toMatchObject({ severity: 'warning', rfc: 'RFC 3207 §4.1' });
  });

  it('Postfix without STARTTLS, and Postfix whose certificate names another host', async () => {
    const r = await cli(['plain.tls.test', 'wrongname.tls.test', '--ca-file', ca.caFile, '--fail-on', 'warning']);
    expect(r.code).toBe(1);
    const [plain, wrong] = (JSON.parse(r.stdout) as { domains: DomainResult[] }).domains;
    expect(plain!.tls!.results[0]).toMatchObject({ state: 'no-starttls', greeting: expect.stringMatching(/^220 /) });
    expect(plain!.tls!.results[0]!.extensions).not.toContain('STARTTLS');
    expect(plain!.findings.find((f) => f.code === 'tls.no-starttls')).toMatchObject({ severity: 'warning', rfc: 'RFC 3207 §4' });
    expect(wrong!.tls!.results[0]).toMatchObject({ state: 'tls', certificate: { trusted: true, nameValid: false, altNames: ['other.example.net'] } });
    expect(wrong!.findings.find((f) => f.code === 'tls.certificate-name')!.message).toContain('names other.example.net, not mx.wrongname.tls.test');
  });

  it('a server that never greets gets a timeout at the greeting step; STARTTLS refused gets its reply', async () => {
    const stalled = await auditStartTls(resolver, 'stall.tls.test', { port, stepTimeoutMs: 1000 });
    expect(stalled.results).toEqual([expect.objectContaining({ state: 'timeout', step: 'greeting' })]);
    expect(stalled.findings).toEqual([expect.objectContaining({ code: 'tls.timeout', severity: 'error', message: expect.stringContaining('stalled at the greeting step') })]);
    const refused = await probeStartTls('mx.refused.tls.test', ADDR.refused, { port });
    expect(refused).toMatchObject({ state: 'starttls-refused', step: 'starttls', reply: '454 4.7.0 TLS not available due to local problem' });
    const r = await cli(['refused.tls.test']);
    expect(r.code).toBe(1);
    expect(codes((JSON.parse(r.stdout) as { domains: DomainResult[] }).domains[0]!)).toContain('tls.starttls-refused');
    // Nothing listens there: refused at connect, at once.
    const closed = await probeStartTls('mx.none.tls.test', '127.0.0.7', { port });
    expect(closed).toMatchObject({ state: 'unreachable', step: 'connect' });
  });

  it('against an enforced MTA-STS policy: met when the host matches and the certificate is valid, an error when the name is wrong', async () => {
    const r = await cli(['sts.tls.test', 'badsts.tls.test', '--mta-sts-policy', '--ca-file', ca.caFile]);
    expect(r.code).toBe(1);
    const [sts, bad] = (JSON.parse(r.stdout) as { domains: DomainResult[] }).domains;
    expect(sts!.status).toBe('pass');
    expect(sts!.tls!.results[0]!.mtaSts).toEqual({ mode: 'enforce', pattern: '*.good.tls.test', satisfied: true });
    expect(bad!.tls!.results[0]!.mtaSts).toEqual({ mode: 'enforce', pattern: 'mx.wrongname.tls.test', satisfied: false });
    expect(bad!.findings.find((f) => f.code === 'tls.certificate-name')).toMatchObject({ severity: 'error', rfc: 'RFC 8461 §4.1' });
  });

  it('an MX host at three addresses: every one probed, and the findings name the address without STARTTLS and the one with a certificate for another name', async () => {
    const r = await cli(['mixed.tls.test', '--ca-file', ca.caFile]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const d = (JSON.parse(r.stdout) as { domains: DomainResult[] }).domains[0]!;
    // In address order (127.0.0.3, .4, .8), whatever order DNS gives them in.
    expect(d.tls!.results).toEqual([
      expect.objectContaining({ host: 'mx.mixed.tls.test', address: ADDR.plain, state: 'no-starttls' }),
      expect.objectContaining({ host: 'mx.mixed.tls.test', address: ADDR.wrongName, state: 'tls', certificate: expect.objectContaining({ trusted: true, nameValid: false, altNames: ['other.example.net'] }) }),
      expect.objectContaining({ host: 'mx.mixed.tls.test', address: ADDR.pair, state: 'tls', certificate: expect.objectContaining({ trusted: true, nameValid: true }) }),
    ]);
    const tls = d.findings.filter((f) => f.code.startsWith('tls.'));
    expect(tls.map((f) => [f.code, f.severity, f.subject])).toEqual([
      ['tls.no-starttls', 'warning', `mx.mixed.tls.test (${ADDR.plain}:${port})`],
      ['tls.certificate-name', 'warning', `mx.mixed.tls.test (${ADDR.wrongName}:${port})`],
      ['tls.ok', 'info', `mx.mixed.tls.test (${ADDR.pair}:${port})`],
    ]);
    expect(tls[0]!.message).toMatch(/^the MX host does not offer STARTTLS/);
    expect(tls[1]!.message).toBe('the certificate names other.example.net, not mx.mixed.tls.test');
  });

  it('an MX host at two addresses that both offer STARTTLS with a good certificate: no problem, and the profile counts one good host', async () => {
    const r = await cli(['twogood.tls.test', '--ca-file', ca.caFile]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const d = (JSON.parse(r.stdout) as { domains: DomainResult[] }).domains[0]!;
    expect(d.tls!.results.map((p) => [p.address, p.state, p.certificate?.trusted, p.certificate?.nameValid])).toEqual([
      [ADDR.pair, 'tls', true, true],
      [ADDR.pairToo, 'tls', true, true],
    ]);
    expect(d.findings.filter((f) => f.code.startsWith('tls.')).map((f) => [f.code, f.subject])).toEqual([
      ['tls.ok', `mx.twogood.tls.test (${ADDR.pair}:${port})`],
      ['tls.ok', `mx.twogood.tls.test (${ADDR.pairToo}:${port})`],
    ]);
    const profiled = await runCli(['check', 'twogood.tls.test', 'mixed.tls.test', '--tls', '--ca-file', ca.caFile, '--profile', 'bulk-senders', '--nameserver', `${dns.host}:${dns.port}`, '--json'], { env: { MAILDNS_SMTP_PORT: String(port) }, killAfterMs: 60_000 });
    const reasons = (JSON.parse(profiled.stdout) as { domains: { rules: { id: string; reason: string }[] }[] }).domains.map((x) => x.rules.find((rule) => rule.id === 'tls')!.reason);
    expect(reasons[0]).toContain('of the receiving side, 1 of 1 MX host offers STARTTLS with a trusted certificate for their name at every address tried');
    expect(reasons[1]).toContain('of the receiving side, 0 of 1 MX host offers STARTTLS');
  });
});
