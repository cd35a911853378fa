/**
 * MTA-STS policies fetched over real HTTPS: a node:https server on 127.0.0.1 with certificates
 * from a CA the test makes with openssl, found through the embedded DNS server (mta-sts.<domain>
 * A 127.0.0.1), reached with SNI = the policy host. maildns is told to trust the test CA and, for
 * the CLI, the server's port (MAILDNS_MTA_STS_PORT, which exists for tests only).
 */
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DnsResolver } from '../../../src/dns/resolver.js';
import { startServer, type RunningServer } from '../../../src/dns/server.js';
import { auditMtaSts, auditStsPolicy } from '../../../src/mtasts/evaluate.js';
import { fetchStsPolicy } from '../../../src/mtasts/fetch.js';
import { composeStsPolicy, composeStsRecord } from '../../../src/mtasts/compose.js';
import type { DomainResult } from '../../../src/check/audit.js';
import type { DnsRecord } from '../../../src/records.js';
import { startBlackHole, type BlackHole } from '../../helpers/black-hole.js';
import { answer, rdata, startHostileDns, T } from '../../helpers/hostile-dns.js';
import { runCli } from '../../helpers/cli.js';
import { makeTestCa, serve, startPolicyServer, type Handler, type PolicyServer, type TestCa } from '../../helpers/https.js';

const rec = (name: string, type: DnsRecord['type'], value: string): DnsRecord => ({ name, type, ttl: 300, value });

const enforce = (mx: string[]): string => composeStsPolicy({ mode: 'enforce', mx, maxAge: 604800 });

/** A domain with an MX host, an _mta-sts record for `policy` and mta-sts.<d> on 127.0.0.1. */
function stsDomain(d: string, policy: string, mxHosts = [`mail.${d}`]): DnsRecord[] {
  return [
    ...mxHosts.map((h, i) => rec(d, 'MX', `${10 * (i + 1)} ${h}`)),
    ...mxHosts.filter((h) => h.endsWith(`.${d}`)).map((h) => rec(h, 'A', '192.0.2.25')),
    rec(`_mta-sts.${d}`, 'TXT', composeStsRecord(policy)),
    rec(`mta-sts.${d}`, 'A', '127.0.0.1'),
  ];
}

/** stsDomain with the policy host at these addresses, in this order, instead of 127.0.0.1 alone. */
function stsDomainAt(d: string, policy: string, addresses: string[]): DnsRecord[] {
  const host = `mta-sts.${d}`;
  return [...stsDomain(d, policy).filter((r) => r.name !== host), ...addresses.map((a) => rec(host, a.includes(':') ? 'AAAA' : 'A', a))];
}

const GOOD = enforce(['mail.good.example']);
const UNCOVERED = enforce(['*.uncovered.example']);
const DOMAINS = ['good', 'wrongname', 'redirect', 'html', 'big', 'uncovered', 'hang', 'nohost', 'two', 'badid', 'norecord', 'testing', 'garbage', 'binary', 'crafted', 'upgrade', 'bom', 'gzip', 'bomb', 'zstd', 'hangup', 'notmodified', 'bigzip', 'fallback', 'refusing', 'silentfirst', 'silent', 'silentrefusing', 'hangfirst', 'slowfirst', 'resetfirst', 'linklocal', 'dualstack'].map((n) => `${n}.example`);

const records: DnsRecord[] = [
  ...stsDomain('good.example', GOOD),
  ...stsDomain('wrongname.example', enforce(['mail.wrongname.example'])),
  ...stsDomain('redirect.example', enforce(['mail.redirect.example'])),
  ...stsDomain('html.example', enforce(['mail.html.example'])),
  ...stsDomain('big.example', enforce(['mail.big.example'])),
  // mx1 is covered by the wildcard; a.mx is two labels below the domain, which "*." does not cover (RFC 8461 §4.1).
  ...stsDomain('uncovered.example', UNCOVERED, ['mx1.uncovered.example', 'a.mx.uncovered.example']),
  ...stsDomain('hang.example', enforce(['mail.hang.example'])),
  ...stsDomainAt('nohost.example', enforce(['mail.nohost.example']), []),
  ...stsDomain('two.example', GOOD),
  rec('_mta-sts.two.example', 'TXT', 'v=STSv1; id=20240101'),
  rec('_smtp._tls.good.example', 'TXT', 'v=TLSRPTv1; rua=mailto:tls@good.example'),
  rec('_smtp._tls.two.example', 'TXT', 'v=TLSRPTv1; rua=mailto:tls@two.example'),
  rec('_smtp._tls.two.example', 'TXT', 'v=TLSRPTv1; rua=https://reports.two.example/tls'),
  rec('_smtp._tls.badid.example', 'TXT', 'v=TLSRPTv1; rua=ftp://reports.badid.example/'),
  rec('_mta-sts.badid.example', 'TXT', 'v=STSv1; id=not-letters-and-digits'),
  rec('norecord.example', 'MX', '10 mail.norecord.example'),
  ...stsDomain('garbage.example', GOOD),
  ...stsDomain('binary.example', GOOD),
  ...stsDomain('crafted.example', GOOD),
  ...stsDomain('upgrade.example', GOOD),
  ...stsDomain('bom.example', enforce(['mail.bom.example'])),
  ...stsDomain('gzip.example', enforce(['mail.gzip.example'])),
  ...stsDomain('bomb.example', enforce(['mail.bomb.example'])),
  ...stsDomain('zstd.example', enforce(['mail.zstd.example'])),
  ...stsDomain('hangup.example', GOOD),
  ...stsDomain('notmodified.example', GOOD),
  ...stsDomain('bigzip.example', GOOD),
  ...stsDomain('testing.example', composeStsPolicy({ mode: 'testing', mx: ['mail.testing.example'], maxAge: 3600 })),
  // The policy host's first address refuses connections (nothing listens on 127.0.0.2); its second serves the policy.
  ...stsDomainAt('fallback.example', enforce(['mail.fallback.example']), ['127.0.0.2', '127.0.0.1']),
  // Every address refuses.
  ...stsDomainAt('refusing.example', enforce(['mail.refusing.example']), ['127.0.0.2', '127.0.0.3']),
  // 127.0.0.4 and 127.0.0.5 never complete the TCP handshake (a black hole on the server's port).
  ...stsDomainAt('silentfirst.example', enforce(['mail.silentfirst.example']), ['127.0.0.4', '127.0.0.1']),
  ...stsDomainAt('silentrefusing.example', GOOD, ['127.0.0.4', '127.0.0.2']),
  ...stsDomainAt('silent.example', GOOD, ['127.0.0.4', '127.0.0.5']),
  // The first address takes the connection and never finishes its answer; the second is silent.
  ...stsDomain('hangfirst.example', enforce(['mail.hangfirst.example'])),
  rec('mta-sts.hangfirst.example', 'A', '127.0.0.4'),
  // Likewise, but the first address finishes its answer after more than its share of the deadline to connect.
  ...stsDomain('slowfirst.example', enforce(['mail.slowfirst.example'])),
  rec('mta-sts.slowfirst.example', 'A', '127.0.0.4'),
  // The first address takes the connection and resets it at the TLS handshake (127.0.0.6); the second serves the policy.
  ...stsDomainAt('resetfirst.example', GOOD, ['127.0.0.6', '127.0.0.1']),
  // IPv6 only: a link-local first address (no zone: the connect fails with EINVAL), then 127.0.0.1 as an IPv4-mapped one.
  ...stsDomainAt('linklocal.example', GOOD, ['fe80::1', '::ffff:127.0.0.1']),
  // Both families: the IPv4 address refuses connections, the IPv6 one (::1) serves the policy.
  ...stsDomainAt('dualstack.example', enforce(['mail.dualstack.example']), ['127.0.0.2', '::1']),
];

/** What a fetch may take beyond its timeout: timers fire late on a loaded machine, and the DNS lookup comes before the deadline. */
const DEADLINE_MARGIN_MS = 1000;

describe('MTA-STS policy over HTTPS', () => {
  let ca: TestCa;
  let dns: RunningServer;
  let web: PolicyServer;
  let resolver: DnsResolver;
  let blackHole: BlackHole;
  // Takes each connection and resets it at the client's first bytes (its TLS hello).
  const resetting = net.createServer((s) => s.once('data', () => s.resetAndDestroy()));
  const hung: import('node:http').ServerResponse[] = [];
  // Sends the headers and then nothing: only the deadline ends this fetch.
  const hang: Handler = (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.write('version: STSv1\r\n');
    hung.push(res);
  };

  beforeAll(async () => {
    ca = makeTestCa();
    const valid = ca.issue(DOMAINS.filter((d) => d !== 'wrongname.example').map((d) => `mta-sts.${d}`));
    const other = ca.issue(['www.elsewhere.example']);
    web = await startPolicyServer(
      { '*': valid, 'mta-sts.wrongname.example': other },
      {
        'mta-sts.good.example': serve(GOOD),
        'mta-sts.wrongname.example': serve(enforce(['mail.wrongname.example'])),
        'mta-sts.redirect.example': (_req, res) => res.writeHead(301, { location: 'https://mta-sts.good.example/.well-known/mta-sts.txt' }).end(),
        'mta-sts.notmodified.example': (_req, res) => res.writeHead(304).end(),
        'mta-sts.html.example': serve(`<html><body><pre>${enforce(['mail.html.example'])}</pre></body></html>`, 'text/html; charset=utf-8'),
        'mta-sts.big.example': serve(`${enforce(['mail.big.example'])}${'x-padding: 0123456789abcdef\r\n'.repeat(4000)}`),
        'mta-sts.uncovered.example': serve(UNCOVERED, 'text/plain; charset=us-ascii'),
        'mta-sts.hang.example': hang,
        'mta-sts.hangfirst.example': hang,
        'mta-sts.slowfirst.example': (_req, res) => {
          res.writeHead(200, { 'content-type': 'text/plain' });
          // Past its 1000 ms share to connect, counted from before the connection, with 800 ms of the deadline to spare for a slow handshake.
          setTimeout(() => res.end(enforce(['mail.slowfirst.example'])), 1200);
        },
        // Crafted answers: not HTTP at all, bytes that are not text, a policy of nonsense lines.
        'mta-sts.garbage.example': (req) => {
          req.socket.write('SMTP? no.\r\n\r\n');
          req.socket.destroy();
        },
        'mta-sts.hangup.example': (req) => req.socket.end(),
        'mta-sts.binary.example': serve(Buffer.from([0xff, 0xfe, 0x00, 0x80, 0x0a])),
        'mta-sts.crafted.example': serve(`version: STSv1\nmode: enforce\nmx: ${'a'.repeat(300)}.example\nmax_age: -1\n\u0000\n`),
        // A switch of protocol nobody asked for, then nothing: node's client closes the socket without a response or an error.
        'mta-sts.upgrade.example': (req) => {
          req.socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n');
        },
        'mta-sts.bom.example': serve(`\ufeff${enforce(['mail.bom.example'])}`),
        // Compressed answers, though none was asked for (HTTP allows it): the policy is the decoded body.
        'mta-sts.gzip.example': (_req, res) => res.writeHead(200, { 'content-type': 'text/plain', 'content-encoding': 'gzip' }).end(gzipSync(enforce(['mail.gzip.example']))),
        'mta-sts.bomb.example': (_req, res) => res.writeHead(200, { 'content-type': 'text/plain', 'content-encoding': 'gzip' }).end(gzipSync(Buffer.alloc(64 << 20, 'x'))),
        // Compressed, and larger than the bound as sent: refused on its Content-Length, before anything is decoded.
        'mta-sts.bigzip.example': (_req, res) => {
          const body = gzipSync(randomBytes(80 * 1024));
          res.writeHead(200, { 'content-type': 'text/plain', 'content-encoding': 'gzip', 'content-length': body.length }).end(body);
        },
        'mta-sts.zstd.example': (_req, res) => res.writeHead(200, { 'content-type': 'text/plain', 'content-encoding': 'zstd' }).end('(\xb5/\xfd'),
        'mta-sts.testing.example': serve(composeStsPolicy({ mode: 'testing', mx: ['mail.testing.example'], maxAge: 3600 })),
        'mta-sts.fallback.example': serve(enforce(['mail.fallback.example'])),
        'mta-sts.silentfirst.example': serve(enforce(['mail.silentfirst.example'])),
        'mta-sts.linklocal.example': serve(GOOD),
        'mta-sts.dualstack.example': serve(enforce(['mail.dualstack.example'])),
        'mta-sts.half.example': serve(GOOD),
      },
      { alsoOn: ['::1'] },
    );
    blackHole = await startBlackHole(['127.0.0.4', '127.0.0.5'], web.port);
    await new Promise<void>((resolve) => resetting.listen(web.port, '127.0.0.6', resolve));
    dns = await startServer({ records, zones: DOMAINS });
    resolver = new DnsResolver({ servers: [{ host: dns.host, port: dns.port }], timeoutMs: 2000 });
  });
  afterAll(async () => {
    await blackHole?.close();
    resetting.close();
    await web?.close();
    await dns?.close();
  });

  const audit = (d: string, timeoutMs = 10_000) => auditMtaSts(resolver, d, { fetchPolicy: { ca: ca.caPem, port: web.port, timeoutMs } });
  const codes = async (d: string): Promise<string[]> => (await audit(d)).findings.map((f) => f.code);

  it('goes on to the policy host\'s next address when one refuses the connection, as a sender\'s HTTPS client does, and warns of the one that refused', async () => {
    const r = await audit('fallback.example');
    expect(r.policy).toMatchObject({ fetched: true, text: enforce(['mail.fallback.example']) });
    expect(web.requests).toContain('mta-sts.fallback.example /.well-known/mta-sts.txt');
    // The policy is good; that the first address refused is a warning, and the only finding.
    expect(r.findings).toEqual([
      {
        code: 'mta-sts.policy-address-unreachable',
        severity: 'warning',
        subject: 'https://mta-sts.fallback.example/.well-known/mta-sts.txt',
        message: `not every address of mta-sts.fallback.example took the connection (ECONNREFUSED connecting to 127.0.0.2 port ${web.port}); the policy was served by 127.0.0.1, so senders that try that address first lose time on each policy refresh, and one that waits less or tries a single address may treat fallback.example as having no MTA-STS policy`,
        fix: 'make every address of mta-sts.fallback.example serve the policy, or remove the dead address 127.0.0.2 from DNS',
        rfc: 'RFC 8461 §3.3',
      },
    ]);
    const fetch = await fetchStsPolicy(resolver, 'fallback.example', { ca: ca.caPem, port: web.port, timeoutMs: 10_000 });
    expect(fetch).toMatchObject({ ok: true, address: '127.0.0.1', unreached: [{ address: '127.0.0.2', detail: `ECONNREFUSED connecting to 127.0.0.2 port ${web.port}` }] });
    // Every address took the connection: nothing given up, no warning.
    const first = await fetchStsPolicy(resolver, 'good.example', { ca: ca.caPem, port: web.port, timeoutMs: 10_000 });
    expect(first).toMatchObject({ ok: true, address: '127.0.0.1' });
    expect(first).not.toHaveProperty('unreached');
    // When every address refuses, the finding names each.
    const refused = await audit('refusing.example');
    expect(refused.findings.map((f) => f.code)).toEqual(['mta-sts.policy-unreachable']);
    expect(refused.policy!.detail).toBe(`ECONNREFUSED connecting to 127.0.0.2 port ${web.port}; then ECONNREFUSED connecting to 127.0.0.3 port ${web.port}`);
  });

  it('goes on to the next address whatever stopped the connection to one from being made, not only the errors it knows', async () => {
    const fetch = await fetchStsPolicy(resolver, 'linklocal.example', { ca: ca.caPem, port: web.port, timeoutMs: 10_000 });
    expect(fetch).toMatchObject({ ok: true, address: expect.stringMatching(/^::ffff:/), body: GOOD });
    expect(web.requests).toContain('mta-sts.linklocal.example /.well-known/mta-sts.txt');
  });

  it('goes on to the policy host\'s IPv6 addresses when none of its IPv4 ones takes the connection, and warns of those', async () => {
    const fetch = await fetchStsPolicy(resolver, 'dualstack.example', { ca: ca.caPem, port: web.port, timeoutMs: 10_000 });
    expect(fetch).toMatchObject({ ok: true, address: '::1', body: enforce(['mail.dualstack.example']), unreached: [{ address: '127.0.0.2', detail: `ECONNREFUSED connecting to 127.0.0.2 port ${web.port}` }] });
    const r = await audit('dualstack.example');
    expect(r.policy).toMatchObject({ fetched: true, text: enforce(['mail.dualstack.example']) });
    expect(r.findings.map((f) => [f.code, f.severity])).toEqual([['mta-sts.policy-address-unreachable', 'warning']]);
    expect(r.findings[0]!.message).toContain('the policy was served by ::1, so senders that try that address first');
  });

  it('says a fetch is undecided, not failed, when the addresses it has refuse and the other family\'s lookup failed for now', async () => {
    // A server that gives mta-sts.half.example an IPv4 address where nothing listens, and SERVFAIL for its AAAA records.
    const hostile = await startHostileDns((q) => {
      const name = q.name.toLowerCase();
      if (name === 'mta-sts.half.example' && q.type === T.A) return answer(q, { answers: [{ name: { pointer: 12 }, type: T.A, rdata: rdata.a('127.0.0.2') }] });
      if (name === 'mta-sts.half.example' && q.type === T.AAAA) return answer(q, { rcode: 2, aa: false });
      return answer(q, {});
    });
    try {
      const half = new DnsResolver({ servers: [{ host: hostile.host, port: hostile.port }], timeoutMs: 2000, attempts: 1 });
      const fetch = await fetchStsPolicy(half, 'half.example', { ca: ca.caPem, port: web.port, timeoutMs: 10_000 });
      expect(fetch).toMatchObject({ ok: false, failure: 'dns-temporary', dnsStatus: 'servfail' });
      const r = await auditStsPolicy(half, 'half.example', { ca: ca.caPem, port: web.port, timeoutMs: 10_000 });
      expect(r.dnsFailed).toBe(true);
      expect(r.findings.map((f) => f.code)).toEqual(['mta-sts.dns-temporary']);
      expect(r.findings[0]!.message).toBe(
        `could not read the AAAA records of mta-sts.half.example, after no IPv4 address took the connection (ECONNREFUSED connecting to 127.0.0.2 port ${web.port}): the server failed to answer (SERVFAIL); this is a temporary failure, not a missing record`,
      );
    } finally {
      await hostile.close();
    }
  });

  it('fetches over IPv4 once the A addresses are known, without waiting for an AAAA lookup that never ends', async () => {
    // Answers the A question of mta-sts.dualstack.example with 127.0.0.1, where the policy is served, and never the AAAA one.
    const hostile = await startHostileDns((q) => {
      if (q.name.toLowerCase() !== 'mta-sts.dualstack.example' || q.type === T.AAAA) return null;
      return answer(q, q.type === T.A ? { answers: [{ name: { pointer: 12 }, type: T.A, rdata: rdata.a('127.0.0.1') }] } : {});
    });
    try {
      // The AAAA lookup would take the resolver's whole timeout, far past the point this test waits to.
      const aaaaWaitMs = 60_000;
      const waitedFor = 20_000;
      const hanging = new DnsResolver({ servers: [{ host: hostile.host, port: hostile.port }], timeoutMs: aaaaWaitMs, attempts: 1 });
      let timer: NodeJS.Timeout | undefined;
      const gaveUp = new Promise<'still waiting'>((resolve) => {
        timer = setTimeout(() => resolve('still waiting'), waitedFor);
      });
      const fetch = await Promise.race([fetchStsPolicy(hanging, 'dualstack.example', { ca: ca.caPem, port: web.port, timeoutMs: 10_000 }), gaveUp]);
      clearTimeout(timer);
      expect(fetch).toMatchObject({ ok: true, address: '127.0.0.1', body: enforce(['mail.dualstack.example']) });
      expect(fetch).not.toHaveProperty('unreached');
    } finally {
      await hostile.close();
    }
  }, 30_000);

  it('goes on to the next address when one never completes the TCP handshake, within the one deadline of the fetch', async () => {
    const timeoutMs = 2000;
    const started = Date.now();
    const fetch = await fetchStsPolicy(resolver, 'silentfirst.example', { ca: ca.caPem, port: web.port, timeoutMs });
    expect(Date.now() - started).toBeLessThan(timeoutMs + DEADLINE_MARGIN_MS);
    expect(fetch).toMatchObject({ ok: true, address: '127.0.0.1', body: enforce(['mail.silentfirst.example']) });
    expect(fetch.unreached).toEqual([{ address: '127.0.0.4', detail: expect.stringMatching(new RegExp(`^no connection to 127\\.0\\.0\\.4 port ${web.port} within \\d+ ms$`)) }]);
    // The policy is good, and the audit warns of the address that did not take the connection.
    const silentFirst = await audit('silentfirst.example', timeoutMs);
    expect(silentFirst.policy).toMatchObject({ fetched: true, text: enforce(['mail.silentfirst.example']) });
    expect(silentFirst.findings.map((f) => [f.code, f.severity])).toEqual([['mta-sts.policy-address-unreachable', 'warning']]);
    expect(silentFirst.findings[0]!.message).toMatch(new RegExp(`\\(no connection to 127\\.0\\.0\\.4 port ${web.port} within \\d+ ms\\); the policy was served by 127\\.0\\.0\\.1, `));
    expect(silentFirst.findings[0]!.fix).toBe('make every address of mta-sts.silentfirst.example serve the policy, or remove the dead address 127.0.0.4 from DNS');
    // The silent address is named, then what the next one did.
    const refusing = await audit('silentrefusing.example', timeoutMs);
    expect(refusing.findings.map((f) => f.code)).toEqual(['mta-sts.policy-unreachable']);
    expect(refusing.policy!.detail).toMatch(new RegExp(`^no connection to 127\\.0\\.0\\.4 port ${web.port} within \\d+ ms; then ECONNREFUSED connecting to 127\\.0\\.0\\.2 port ${web.port}$`));
  });

  it('takes a connection that breaks once made as the answer, and does not try the next address', async () => {
    const r = await audit('resetfirst.example');
    expect(r.findings.map((f) => f.code)).toEqual(['mta-sts.policy-unreachable']);
    expect(r.policy!.detail).toBe(`ECONNRESET on the connection to 127.0.0.6 port ${web.port}`);
    expect(web.requests).not.toContain('mta-sts.resetfirst.example /.well-known/mta-sts.txt');
  });

  it('ends within its timeout when no address completes the TCP handshake, naming each', async () => {
    const timeoutMs = 2000;
    const started = Date.now();
    const r = await audit('silent.example', timeoutMs);
    // The last address has all that is left to connect: the fetch gives up at its deadline, not before (timers never fire much early).
    expect(Date.now() - started).toBeGreaterThanOrEqual(timeoutMs - 100);
    expect(Date.now() - started).toBeLessThan(timeoutMs + DEADLINE_MARGIN_MS);
    // No connection was made: the host could not be reached, which is not a server slow to answer.
    expect(r.findings.map((f) => f.code)).toEqual(['mta-sts.policy-unreachable']);
    expect(r.findings[0]!.fix).toContain('no firewall drops the connection');
    const shares = new RegExp(`^no connection to 127\\.0\\.0\\.4 port ${web.port} within (\\d+) ms; then no connection to 127\\.0\\.0\\.5 port ${web.port} within (\\d+) ms$`).exec(r.policy!.detail ?? '');
    expect(shares, r.policy!.detail).not.toBeNull();
    // The first of two addresses had at most half the deadline to connect; the second had what was left.
    expect(Number(shares![1])).toBeLessThanOrEqual(timeoutMs / 2);
    expect(Number(shares![2])).toBeGreaterThan(0);
  });

  it('accepts a valid policy served with a certificate for the policy host, and checks it against the MX hosts', async () => {
    const r = await audit('good.example');
    expect(r.findings).toEqual([]);
    expect(r.published).toBe(composeStsRecord(GOOD));
    expect(r.policy).toMatchObject({ fetched: true, text: GOOD, url: 'https://mta-sts.good.example/.well-known/mta-sts.txt' });
    expect(r.policy!.parsed).toMatchObject({ mode: 'enforce', maxAge: 604800, mx: ['mail.good.example'], problems: [] });
    expect(web.requests).toContain('mta-sts.good.example /.well-known/mta-sts.txt');
  });

  it('refuses a certificate that is not for mta-sts.<domain>', async () => {
    const r = await audit('wrongname.example');
    expect(r.findings.map((f) => f.code)).toEqual(['mta-sts.policy-certificate']);
    expect(r.findings[0]!.message).toMatch(/mta-sts\.wrongname\.example/);
    expect(r.findings[0]!.rfc).toBe('RFC 8461 §3.3');
  });

  it('does not trust the server without the test CA', async () => {
    const r = await auditMtaSts(resolver, 'good.example', { fetchPolicy: { port: web.port, timeoutMs: 10_000 } });
    expect(r.findings.map((f) => f.code)).toEqual(['mta-sts.policy-certificate']);
  });

  it('does not follow a redirect, even to a valid policy', async () => {
    const before = web.requests.filter((q) => q.startsWith('mta-sts.good.example')).length;
    const r = await audit('redirect.example');
    expect(r.findings.map((f) => f.code)).toEqual(['mta-sts.policy-redirect']);
    expect(r.findings[0]!.message).toContain('https://mta-sts.good.example/.well-known/mta-sts.txt');
    expect(web.requests.filter((q) => q.startsWith('mta-sts.good.example')).length).toBe(before);
    // 304 is of the 3xx class but sends nowhere: the policy URL does not answer 200, which is what it is told.
    const notModified = await audit('notmodified.example');
    expect(notModified.findings.map((f) => f.code)).toEqual(['mta-sts.policy-http-status']);
    expect(notModified.policy!.detail).toBe('HTTP 304 Not Modified');
  });

  it('refuses a policy that is not served as text/plain', async () => {
    const r = await audit('html.example');
    expect(r.findings.map((f) => f.code)).toEqual(['mta-sts.policy-content-type']);
    expect(r.findings[0]!.message).toContain('text/html');
  });

  it('stops reading a policy larger than 64 KiB', async () => {
    const r = await audit('big.example');
    expect(r.findings.map((f) => f.code)).toEqual(['mta-sts.policy-too-large']);
    expect(r.policy!.text).toBeNull();
  });

  it('names each MX host no mx: pattern covers (the wildcard covers one label)', async () => {
    const r = await audit('uncovered.example');
    expect(r.findings.map((f) => [f.code, f.severity])).toEqual([['mta-sts.mx-not-covered', 'error']]);
    expect(r.findings[0]!.message).toContain('a.mx.uncovered.example');
    expect(r.findings[0]!.message).not.toContain('mx1.uncovered.example');
  });

  it('ends a fetch the server never finishes at the deadline', async () => {
    const r = await audit('hang.example', 1000);
    expect(r.findings.map((f) => f.code)).toEqual(['mta-sts.policy-timeout']);
    // A server that took the connection is the answer, with the whole deadline, not its share of it to connect.
    const first = await audit('hangfirst.example', 1000);
    expect(first.findings.map((f) => f.code)).toEqual(['mta-sts.policy-timeout']);
    expect(first.policy!.detail).toBe('no complete answer within 1000 ms');
    // Its share to connect was half of 2000 ms; once connected, it had until the end of them to answer.
    const slow = await audit('slowfirst.example', 2000);
    expect(slow.findings).toEqual([]);
    expect(slow.policy).toMatchObject({ fetched: true, text: enforce(['mail.slowfirst.example']) });
  });

  it('reports the record problems without fetching, and a policy host without an address', async () => {
    expect(await codes('nohost.example')).toEqual(['mta-sts.policy-host-missing']);
    expect(await codes('two.example')).toEqual(['mta-sts.multiple-records']);
    expect(await codes('badid.example')).toEqual(['mta-sts.invalid-record']);
    const none = await audit('norecord.example');
    expect(none).toMatchObject({ findings: [], published: null, dnsFailed: false });
    expect(none.policy).toBeUndefined();
  });

  it('gives a verdict, never a crash, for crafted answers', async () => {
    expect(await codes('garbage.example')).toEqual(['mta-sts.policy-unreachable']);
    // Connected, TLS set up, the request taken: then closed. Not a failure to connect.
    const hangup = await audit('hangup.example');
    expect(hangup.findings.map((f) => f.code)).toEqual(['mta-sts.policy-unreachable']);
    expect(hangup.policy!.detail).toBe('the server closed the connection without answering the request');
    expect(await codes('binary.example')).toEqual(['mta-sts.policy-invalid']);
    const crafted = await audit('crafted.example');
    expect(crafted.findings.map((f) => f.code)).toEqual(['mta-sts.policy-invalid']);
    expect(crafted.findings[0]!.message).toMatch(/max_age must be a number/);
    // A byte order mark is not stripped: the policy's first line is then no "version: STSv1" line.
    const bom = await audit('bom.example');
    expect(bom.findings.map((f) => f.code)).toEqual(['mta-sts.policy-invalid']);
    expect(bom.findings[0]!.message).toContain('line 1 begins with a byte order mark (U+FEFF)');
  });

  it('answers an unasked-for 101 at once, not at the deadline as a timeout', async () => {
    const started = Date.now();
    const r = await audit('upgrade.example', 20_000);
    expect(r.findings.map((f) => f.code)).toEqual(['mta-sts.policy-http-status']);
    expect(r.findings[0]!.message).toContain('HTTP 101');
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('says in one line why no TLS session could be set up (not OpenSSL\'s error queue)', async () => {
    const plain = net.createServer((s) => s.on('error', () => {}).end('HTTP/1.1 400 Bad Request\r\n\r\n'));
    await new Promise<void>((resolve) => plain.listen(0, '127.0.0.1', resolve));
    try {
      const r = await auditMtaSts(resolver, 'good.example', { fetchPolicy: { ca: ca.caPem, port: (plain.address() as net.AddressInfo).port, timeoutMs: 10_000 } });
      expect(r.findings.map((f) => f.code)).toEqual(['mta-sts.policy-unreachable']);
      expect(r.policy!.detail).toBe('wrong version number');
      expect(r.findings[0]!.message).not.toMatch(/\n|openssl|SSL routines/);
    } finally {
      plain.close();
    }
  });

  it('reads a gzip-compressed policy as HTTP clients do, and bounds what it decodes', async () => {
    const gzip = await audit('gzip.example');
    expect(gzip.findings).toEqual([]);
    expect(gzip.policy).toMatchObject({ fetched: true, text: enforce(['mail.gzip.example']) });
    // 64 KiB of gzip that would decode to 64 MiB: decoding stops at the bound.
    const bomb = await audit('bomb.example');
    expect(bomb.findings.map((f) => f.code)).toEqual(['mta-sts.policy-too-large']);
    expect(bomb.policy!.detail).toBe('larger than 65536 bytes once decoded (Content-Encoding gzip)');
    const bigzip = await audit('bigzip.example');
    expect(bigzip.findings.map((f) => f.code)).toEqual(['mta-sts.policy-too-large']);
    expect(bigzip.policy!.detail).toMatch(/^larger than 65536 bytes \(Content-Length \d+, Content-Encoding gzip\)$/);
    const zstd = await audit('zstd.example');
    expect(zstd.findings.map((f) => f.code)).toEqual(['mta-sts.policy-content-encoding']);
    expect(zstd.findings[0]!.message).toContain('Content-Encoding "zstd"');
  });

  it('says what testing mode and a short max_age mean', async () => {
    const r = await audit('testing.example');
    expect(r.findings.map((f) => [f.code, f.severity])).toEqual([
      ['mta-sts.max-age-short', 'warning'],
      ['mta-sts.mode-testing', 'info'],
    ]);
  });

  it('maildns check: the record by default, the policy with --mta-sts-policy --ca-file, as JSON', async () => {
    const ns = `127.0.0.1:${dns.port}`;
    const env = { MAILDNS_MTA_STS_PORT: String(web.port) };
    const fetchedBefore = web.requests.length;
    const quick = await runCli(['check', 'good.example', 'two.example', '--nameserver', ns, '--json'], { env });
    const quickDoc = JSON.parse(quick.stdout) as { domains: DomainResult[] };
    expect(quickDoc.domains[0]!.mtaSts).toEqual({ published: composeStsRecord(GOOD), dnsFailed: false });
    expect(quickDoc.domains[0]!.tlsRpt).toEqual({ published: 'v=TLSRPTv1; rua=mailto:tls@good.example', dnsFailed: false });
    expect(quickDoc.domains[0]!.findings.filter((f) => f.severity !== 'info' && /^(mta-sts|tls-rpt)\./.test(f.code))).toEqual([]);
    expect(quickDoc.domains[1]!.findings.map((f) => f.code)).toEqual(expect.arrayContaining(['mta-sts.multiple-records', 'tls-rpt.multiple-records']));
    const badRpt = await runCli(['check', 'badid.example', '--nameserver', ns, '--json'], { env });
    expect((JSON.parse(badRpt.stdout) as { domains: DomainResult[] }).domains[0]!.findings.filter((f) => f.code.startsWith('tls-rpt.')).map((f) => [f.code, f.rfc])).toEqual([['tls-rpt.invalid-record', 'RFC 8460 §3']]);
    expect(web.requests.length).toBe(fetchedBefore); // no HTTPS without --mta-sts-policy

    const names = ['good.example', 'wrongname.example', 'redirect.example', 'html.example', 'big.example', 'uncovered.example', 'fallback.example'];
    const full = await runCli(['check', ...names, '--nameserver', ns, '--mta-sts-policy', '--ca-file', ca.caFile, '--json'], { env });
    expect(full.code).toBe(1);
    const doc = JSON.parse(full.stdout) as { domains: DomainResult[] };
    const mtaStsCodes = doc.domains.map((d) => [d.domain, d.findings.filter((f) => f.code.startsWith('mta-sts.')).map((f) => f.code)]);
    expect(mtaStsCodes).toEqual([
      ['good.example', []],
      ['wrongname.example', ['mta-sts.policy-certificate']],
      ['redirect.example', ['mta-sts.policy-redirect']],
      ['html.example', ['mta-sts.policy-content-type']],
      ['big.example', ['mta-sts.policy-too-large']],
      ['uncovered.example', ['mta-sts.mx-not-covered']],
      ['fallback.example', ['mta-sts.policy-address-unreachable']],
    ]);
    expect(doc.domains[0]!.mtaSts.policy).toMatchObject({ fetched: true, text: GOOD });
    expect(doc.domains[6]!.mtaSts.policy).toMatchObject({ fetched: true, text: enforce(['mail.fallback.example']) });
    expect(doc.domains[6]!.findings.find((f) => f.code === 'mta-sts.policy-address-unreachable')).toMatchObject({ severity: 'warning', rfc: 'RFC 8461 §3.3', message: expect.stringContaining(`(ECONNREFUSED connecting to 127.0.0.2 port ${web.port}); the policy was served by 127.0.0.1`) });

    const badCa = await runCli(['check', 'good.example', '--nameserver', ns, '--mta-sts-policy', '--ca-file', '/nonexistent/ca.pem'], { env });
    expect(badCa.code).toBe(2);
    expect((await runCli(['check', 'good.example', '--nameserver', ns, '--ca-file', ca.caFile], { env })).code).toBe(2);
  });

  it('maildns, the launcher: NODE_EXTRA_CA_CERTS\' CAs are trusted for the policy, read when the fetch needs them', async () => {
    const ns = `127.0.0.1:${dns.port}`;
    const run = (extra: string) => runCli(['check', 'good.example', '--nameserver', ns, '--mta-sts-policy', '--json'], { launcher: true, env: { MAILDNS_MTA_STS_PORT: String(web.port), NODE_EXTRA_CA_CERTS: extra } });
    const policyCodes = (stdout: string) => (JSON.parse(stdout) as { domains: DomainResult[] }).domains[0]!.findings.filter((f) => f.code.startsWith('mta-sts.policy')).map((f) => f.code);
    const trusted = await run(ca.caFile);
    expect(trusted.stderr).toBe('');
    expect(policyCodes(trusted.stdout)).toEqual([]);
    expect((JSON.parse(trusted.stdout) as { domains: DomainResult[] }).domains[0]!.mtaSts.policy).toMatchObject({ fetched: true, text: GOOD });
    // Node's roots alone do not know the test CA.
    expect(policyCodes((await run('')).stdout)).toEqual(['mta-sts.policy-certificate']);
    // A file that cannot be read is named once, as Node names it, and the roots alone are trusted.
    const missing = await run('/nonexistent/extra-ca.pem');
    expect(missing.stderr.match(/Ignoring extra certs from `\/nonexistent\/extra-ca\.pem`, load failed: .*ENOENT/g)).toHaveLength(1);
    expect(policyCodes(missing.stdout)).toEqual(['mta-sts.policy-certificate']);
  });
});
