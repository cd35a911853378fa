/**
 * The STARTTLS probe against SMTP servers that misbehave on purpose: node:net fakes on 127.0.0.1
 * (and ::1, for MX hosts with several addresses), each playing one hostile server (no Postfix, no root). Each gets a verdict naming what it did,
 * within the step deadline and a bounded amount of memory.
 */
import { X509Certificate } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import tls from 'node:tls';
import { afterAll, describe, expect, it } from 'vitest';
import { startServer } from '../../../src/dns/server.js';
import type { DnsRecord } from '../../../src/records.js';
import { DnsResolver } from '../../../src/dns/resolver.js';
import { composeTlsa311, tlsaText } from '../../../src/dnssec/tlsa.js';
import { parseStsPolicy } from '../../../src/mtasts/parse.js';
import { auditStartTls, probeStartTls } from '../../../src/starttls/probe.js';
import { Slots } from '../../../src/slots.js';
import { answer, rdata, startHostileDns, T } from '../../helpers/hostile-dns.js';
import { runCli } from '../../helpers/cli.js';
import { makeTestCa } from '../../helpers/https.js';

const servers: net.Server[] = [];
afterAll(() => {
  for (const s of servers) s.close();
});

/** A fake SMTP server on 127.0.0.1 (or `at`'s address and port); its port. */
async function fake(onConnection: (s: net.Socket) => void, at: { host: string; port: number } = { host: '127.0.0.1', port: 0 }): Promise<number> {
  const server = net.createServer((s) => {
    s.on('error', () => {});
    onConnection(s);
  });
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(at.port, at.host, resolve));
  servers.push(server);
  return (server.address() as net.AddressInfo).port;
}

/** Write `text` every millisecond until the client goes away: a flood in small pieces, each line ended. */
function flood(s: net.Socket, text: string): void {
  const timer = setInterval(() => (s.destroyed ? clearInterval(timer) : s.write(text)), 1);
  s.on('close', () => clearInterval(timer));
}

/**
 * A fake SMTP server that offers STARTTLS and hands the session to TLS with `context`; its port, and
 * the connections it has had. `ahead`: what it sends with its 220 to STARTTLS on each connection;
 * `at`: as for fake.
 */
async function startTlsServer(name: string, contexts: tls.SecureContext | ((connection: number) => tls.SecureContext), ahead: (connection: number) => string = () => '', at?: { host: string; port: number }): Promise<{ port: number; connections: () => number }> {
  let connections = 0;
  const port = await fake((s) => {
    connections++;
    const context = typeof contexts === 'function' ? contexts(connections) : contexts;
    s.write(`220 ${name} ESMTP\r\n`);
    const onData = (d: Buffer): void => {
      const line = d.toString('latin1');
      if (/^EHLO/i.test(line)) s.write(`250-${name}\r\n250 STARTTLS\r\n`);
      else if (/^STARTTLS/i.test(line)) {
        s.off('data', onData);
        s.write(`220 2.0.0 Ready to start TLS\r\n${ahead(connections)}`);
        new tls.TLSSocket(s, { isServer: true, secureContext: context }).on('error', () => {}).resume();
      }
    };
    s.on('data', onData);
  }, at);
  return { port, connections: () => connections };
}

/** A one-domain zone on 127.0.0.1 whose MX host is `mx.<domain>` at 127.0.0.1. */
function mxZone(domain: string): Promise<Awaited<ReturnType<typeof startServer>>> {
  return startServer({ records: [{ name: domain, type: 'MX', ttl: 300, value: `10 mx.${domain}.` }, { name: `mx.${domain}`, type: 'A', ttl: 300, value: '127.0.0.1' }], zones: [domain] });
}

/** The STARTTLS audit of `domain`, its one MX host on 127.0.0.1, with the embedded DNS server serving it for the call. */
async function auditAt(domain: string, opts: Parameters<typeof auditStartTls>[2]): Promise<Awaited<ReturnType<typeof auditStartTls>>> {
  const dns = await mxZone(domain);
  try {
    return await auditStartTls(new DnsResolver({ servers: [{ host: dns.host, port: dns.port }], timeoutMs: 2000 }), domain, opts);
  } finally {
    await dns.close();
  }
}

describe('STARTTLS probe against hostile SMTP servers', () => {
  it('ends an endless multi-line greeting, sent a line at a time, at the reply bound, not at the deadline', async () => {
    const port = await fake((s) => flood(s, `220-${'e'.repeat(1000)}\r\n`.repeat(8)));
    const r = await probeStartTls('mx.flood.test', '127.0.0.1', { port, stepTimeoutMs: 5000 });
    expect(r).toMatchObject({ state: 'unreachable', step: 'greeting', detail: expect.stringContaining('more than 65536 bytes without ending its reply') });
  });

  it('ends an endless multi-line EHLO reply the same way', async () => {
    const port = await fake((s) => {
      s.write('220 mx.flood.test ESMTP\r\n');
      s.once('data', () => flood(s, `250-${'E'.repeat(1000)}\r\n`.repeat(8)));
    });
    const r = await probeStartTls('mx.flood.test', '127.0.0.1', { port, stepTimeoutMs: 5000 });
    expect(r).toMatchObject({ state: 'unreachable', step: 'ehlo', detail: expect.stringContaining('more than 65536 bytes') });
  });

  it('says in one line why the handshake failed when the server answers the ClientHello with plain text', async () => {
    const port = await fake((s) => {
      s.write('220 mx.plain.test ESMTP\r\n');
      s.on('data', (d: Buffer) => {
        const line = d.toString('latin1');
        if (/^EHLO/i.test(line)) s.write('250-mx.plain.test\r\n250 STARTTLS\r\n');
        else if (/^STARTTLS/i.test(line)) s.write('220 2.0.0 Ready to start TLS\r\n');
        else s.write('500 5.5.1 this is not TLS\r\n');
      });
    });
    const r = await probeStartTls('mx.plain.test', '127.0.0.1', { port, stepTimeoutMs: 5000 });
    expect(r).toMatchObject({ state: 'handshake-failed', step: 'handshake', detail: 'wrong version number' });
  });

  it('maildns check --tls: a refusal full of terminal escapes and carriage returns is shown, not obeyed', async () => {
    const port = await fake((s) => s.end(Buffer.from('554 \x1b[2J\x1b[32mPASS\rall good\x07\x9b\r\n', 'latin1')));
    const rec = (name: string, type: DnsRecord['type'], value: string): DnsRecord => ({ name, type, ttl: 300, value });
    const dns = await startServer({ records: [rec('escape.test', 'MX', '10 mx.escape.test.'), rec('mx.escape.test', 'A', '127.0.0.1')], zones: ['escape.test'] });
    try {
      const r = await runCli(['check', 'escape.test', '--tls', '--nameserver', `${dns.host}:${dns.port}`], { env: { MAILDNS_SMTP_PORT: String(port) }, killAfterMs: 30_000 });
      expect(r.code).toBe(1);
      expect(r.stdout).toContain('(554 \\x1b[2J\\x1b[32mPASS\\x0dall good\\x07\\x9b)');
      expect(r.stdout).not.toMatch(/[\x00-\x09\x0b-\x1f\x7f-\x9f]/);
    } finally {
      await dns.close();
    }
  });

  it('check --tls connects to an MX host shared by the run\'s domains once, and reports it for each of them', async () => {
    let connections = 0;
    const port = await fake((s) => {
      connections++;
      s.write('220 mx.hosted.test ESMTP\r\n');
      s.on('data', (d: Buffer) => (/^EHLO/i.test(d.toString('latin1')) ? s.write('250-mx.hosted.test\r\n250 PIPELINING\r\n') : s.end('221 2.0.0 Bye\r\n')));
    });
    const rec = (name: string, type: DnsRecord['type'], value: string): DnsRecord => ({ name, type, ttl: 300, value });
    const domains = ['one.hosted.test', 'two.hosted.test', 'three.hosted.test'];
    const dns = await startServer({ records: [...domains.map((d) => rec(d, 'MX', '10 mx.hosted.test.')), rec('mx.hosted.test', 'A', '127.0.0.1')], zones: [...domains, 'mx.hosted.test'] });
    try {
      const r = await runCli(['check', ...domains, '--tls', '--format', 'json', '--nameserver', `${dns.host}:${dns.port}`], { env: { MAILDNS_SMTP_PORT: String(port) }, killAfterMs: 30_000 });
      expect(r.code).toBe(1);
      const report = JSON.parse(r.stdout) as { domains: { domain: string; findings: { code: string; subject: string }[] }[] };
      for (const d of report.domains) expect(d.findings.filter((f) => f.code.startsWith('tls.')).map((f) => [f.code, f.subject])).toEqual([['tls.no-starttls', `mx.hosted.test (127.0.0.1:${port})`]]);
      expect(connections).toBe(1);
    } finally {
      await dns.close();
    }
  });

  it('holds a run\'s SMTP sessions open at once to its bound (StartTlsOptions.sessions), however many hosts its domains name', async () => {
    // One server behind three MX host names; it greets only once `together` sessions are open (or
    // after 2 s, which fails the bound of 3), so that sessions allowed at once are seen at once.
    const domains = ['a.bound.test', 'b.bound.test', 'c.bound.test'];
    const dns = await startServer({ records: domains.flatMap((d): DnsRecord[] => [{ name: d, type: 'MX', ttl: 300, value: `10 mx.${d}.` }, { name: `mx.${d}`, type: 'A', ttl: 300, value: '127.0.0.1' }]), zones: domains });
    let together = 0;
    let open = 0;
    let most = 0;
    const waiting: net.Socket[] = [];
    const greet = (s: net.Socket) => s.write('220 mx.bound.test ESMTP\r\n');
    const port = await fake((s) => {
      open++;
      most = Math.max(most, open);
      // A session is over for the client once it has sent QUIT (it closes the connection next).
      s.on('data', (d: Buffer) => {
        if (/^EHLO/i.test(d.toString('latin1'))) return void s.write('250-mx.bound.test\r\n250 PIPELINING\r\n');
        open--;
        s.end('221 2.0.0 Bye\r\n');
      });
      waiting.push(s);
      if (waiting.length >= together) waiting.splice(0).forEach(greet);
      else setTimeout(() => waiting.includes(s) && waiting.splice(waiting.indexOf(s), 1) && greet(s), 2000);
    });
    const resolver = new DnsResolver({ servers: [{ host: dns.host, port: dns.port }], timeoutMs: 2000 });
    try {
      for (const bound of [1, 3]) {
        together = bound;
        most = 0;
        const sessions = new Slots(bound);
        const audits = await Promise.all(domains.map((d) => auditStartTls(resolver, d, { port, stepTimeoutMs: 5000, sessions })));
        expect(audits.map((a) => a.findings.map((f) => f.code)), `bound ${bound}`).toEqual(domains.map(() => ['tls.no-starttls']));
        expect(most, `bound ${bound}`).toBe(bound);
      }
    } finally {
      await dns.close();
    }
  });

  it('maildns check --tls, the launcher: a certificate from a CA of NODE_EXTRA_CA_CERTS is trusted', async () => {
    const ca = makeTestCa();
    const { port } = await startTlsServer('mx.private.test', tls.createSecureContext(ca.issue(['mx.private.test'])));
    const dns = await mxZone('private.test');
    try {
      const tlsCodes = async (extra: string): Promise<string[]> => {
        const r = await runCli(['check', 'private.test', '--tls', '--format', 'json', '--nameserver', `${dns.host}:${dns.port}`], { launcher: true, env: { MAILDNS_SMTP_PORT: String(port), NODE_EXTRA_CA_CERTS: extra }, killAfterMs: 30_000 });
        expect(r.stderr).toBe('');
        return (JSON.parse(r.stdout) as { domains: { findings: { code: string }[] }[] }).domains[0]!.findings.map((f) => f.code).filter((c) => c.startsWith('tls.'));
      };
      expect(await tlsCodes(ca.caFile)).toEqual(['tls.ok']);
      expect(await tlsCodes('')).toEqual(['tls.certificate-untrusted']);
    } finally {
      await dns.close();
    }
  });

  it('maildns check --tls, the launcher: trusts what node trusts with NODE_EXTRA_CA_CERTS, read as Node reads it and added to Node\'s own CA store', async () => {
    const ca = makeTestCa();
    const other = makeTestCa();
    const { port } = await startTlsServer('mx.store.test', tls.createSecureContext(ca.issue(['mx.store.test'])));
    const dns = await mxZone('store.test');
    const file = (name: string, text: string): string => {
      writeFileSync(path.join(ca.dir, name), text);
      return path.join(ca.dir, name);
    };
    const bad = '-----BEGIN CERTIFICATE-----\nMIIBnotacertificate\n-----END CERTIFICATE-----\n';
    try {
      const tlsCodes = async (env: NodeJS.ProcessEnv, launcher: boolean): Promise<string[]> => {
        const r = await runCli(['check', 'store.test', '--tls', '--format', 'json', '--nameserver', `${dns.host}:${dns.port}`], { launcher, env: { MAILDNS_SMTP_PORT: String(port), NODE_EXTRA_CA_CERTS: '', ...env }, killAfterMs: 30_000 });
        return (JSON.parse(r.stdout) as { domains: { findings: { code: string }[] }[] }).domains[0]!.findings.map((f) => f.code).filter((c) => c.startsWith('tls.'));
      };
      // OpenSSL's PEM reader, as Node's: the old "X509 CERTIFICATE" label is a certificate, and a block it cannot read ends the file.
      const cases: [string, string, string][] = [
        ['old label', file('old-label.pem', ca.caPem.replace(/(BEGIN|END) CERTIFICATE/g, '$1 X509 CERTIFICATE')), 'tls.ok'],
        ['unreadable block first', file('bad-first.pem', bad + ca.caPem), 'tls.certificate-untrusted'],
        ['unreadable block after', file('bad-after.pem', ca.caPem + bad), 'tls.ok'],
      ];
      for (const [what, extra, code] of cases) {
        const direct = await tlsCodes({ NODE_EXTRA_CA_CERTS: extra }, false);
        expect(direct, `node: ${what}`).toEqual([code]);
        expect(await tlsCodes({ NODE_EXTRA_CA_CERTS: extra }, true), `launcher: ${what}`).toEqual(direct);
      }
      // Node's CA store is OpenSSL's (--use-openssl-ca here; some builds default to it): the file's CAs are added to that store, not to the bundled roots.
      const store = { NODE_OPTIONS: '--use-openssl-ca', SSL_CERT_FILE: ca.caFile };
      expect(await tlsCodes({ ...store, NODE_EXTRA_CA_CERTS: other.caFile }, false)).toEqual(['tls.ok']);
      expect(await tlsCodes({ ...store, MAILDNS_DEFERRED_EXTRA_CA_CERTS: other.caFile }, false)).toEqual(['tls.ok']);
      // A deferred name inherited beside a NODE_EXTRA_CA_CERTS that Node read itself takes nothing from Node's store.
      expect(await tlsCodes({ NODE_EXTRA_CA_CERTS: ca.caFile, MAILDNS_DEFERRED_EXTRA_CA_CERTS: other.caFile }, false)).toEqual(['tls.ok']);
    } finally {
      await dns.close();
    }
  });

  it('reports, and never reads, a reply sent ahead of the TLS handshake with the 220 to STARTTLS', async () => {
    const ca = makeTestCa();
    const cert = ca.issue(['mx.ahead.test']);
    const port = await fake((s) => {
      s.write('220 mx.ahead.test ESMTP\r\n');
      const onData = (d: Buffer): void => {
        const line = d.toString('latin1');
        if (/^EHLO/i.test(line)) s.write('250-mx.ahead.test\r\n250 STARTTLS\r\n');
        else if (/^STARTTLS/i.test(line)) {
          s.off('data', onData);
          // One write: the 220 and an injected reply arrive together, then the handshake.
          s.write('220 2.0.0 Ready to start TLS\r\n250 2.1.0 injected\r\n');
          new tls.TLSSocket(s, { isServer: true, ...cert }).on('error', () => {}).resume();
        }
      };
      s.on('data', onData);
    });
    const dns = await startServer({ records: [{ name: 'ahead.test', type: 'MX', ttl: 300, value: '10 mx.ahead.test.' }, { name: 'mx.ahead.test', type: 'A', ttl: 300, value: '127.0.0.1' }], zones: ['ahead.test'] });
    try {
      const audit = await auditStartTls(new DnsResolver({ servers: [{ host: dns.host, port: dns.port }], timeoutMs: 2000 }), 'ahead.test', { port, ca: ca.caPem, stepTimeoutMs: 5000 });
      expect(audit.results).toEqual([expect.objectContaining({ state: 'tls', sentAhead: '250 2.1.0 injected\r\n'.length, certificate: expect.objectContaining({ trusted: true, nameValid: true }) })]);
      expect(audit.findings.map((f) => [f.code, f.severity])).toEqual([['tls.sent-ahead', 'warning']]);
      expect(audit.findings[0]!.message).toContain('sent 20 bytes after its 220 reply to STARTTLS');
    } finally {
      await dns.close();
    }
  });

  it('reports a reply sent ahead of a handshake that then failed', async () => {
    const port = await fake((s) => {
      s.write('220 mx.aheadfail.test ESMTP\r\n');
      s.on('data', (d: Buffer) => {
        const line = d.toString('latin1');
        if (/^EHLO/i.test(line)) s.write('250-mx.aheadfail.test\r\n250 STARTTLS\r\n');
        else if (/^STARTTLS/i.test(line)) s.write('220 2.0.0 Ready to start TLS\r\n250 2.1.0 injected\r\n');
        else s.write('500 5.5.1 this is not TLS\r\n');
      });
    });
    const audit = await auditAt('aheadfail.test', { port, stepTimeoutMs: 5000 });
    expect(audit.results[0]).toMatchObject({ state: 'handshake-failed', detail: 'wrong version number', sentAhead: 20 });
    expect(audit.findings.map((f) => [f.code, f.severity])).toEqual([['tls.handshake-failed', 'error'], ['tls.sent-ahead', 'warning']]);
    expect(audit.findings[1]!.message).toContain('sent 20 bytes after its 220 reply to STARTTLS');
  });

  it('reports a reply sent ahead in the second session of a TLS-1.0-only server, saying it was that session, and in both when both had one', async () => {
    const ca = makeTestCa();
    const context = tls.createSecureContext({ ...ca.issue(['mx.oldahead.test']), minVersion: 'TLSv1', maxVersion: 'TLSv1', ciphers: 'DEFAULT:@SECLEVEL=0' });
    const second = await startTlsServer('mx.oldahead.test', context, (n) => (n === 2 ? '250 2.1.0 injected\r\n' : ''));
    const both = await startTlsServer('mx.oldahead.test', context, (n) => (n === 1 ? '250 ok\r\n' : '250 2.1.0 injected\r\n'));
    const dns = await mxZone('oldahead.test');
    try {
      const resolver = new DnsResolver({ servers: [{ host: dns.host, port: dns.port }], timeoutMs: 2000 });
      const audit = await auditStartTls(resolver, 'oldahead.test', { port: second.port, ca: ca.caPem, stepTimeoutMs: 5000 });
      expect(audit.results[0]).toMatchObject({ state: 'handshake-failed', legacyTls: { tlsVersion: 'TLSv1', sentAhead: 20 } });
      expect(audit.results[0]).not.toHaveProperty('sentAhead');
      expect(audit.findings.map((f) => [f.code, f.severity])).toEqual([['tls.old-version', 'warning'], ['tls.sent-ahead', 'warning']]);
      expect(audit.findings[1]!.message).toContain('sent 20 bytes in the second session (offering TLS 1.0 and 1.1) after its 220 reply to STARTTLS');
      const twice = await auditStartTls(resolver, 'oldahead.test', { port: both.port, ca: ca.caPem, stepTimeoutMs: 5000 });
      expect(twice.results[0]).toMatchObject({ sentAhead: 8, legacyTls: { sentAhead: 20 } });
      expect(twice.findings.map((f) => f.code)).toEqual(['tls.old-version', 'tls.sent-ahead']);
      expect(twice.findings[1]!.message).toContain('sent 8 bytes in the first session (offering TLS 1.2 and 1.3) and 20 bytes in the second session (offering TLS 1.0 and 1.1) after its 220 reply');
    } finally {
      await dns.close();
    }
  });

  it('says which old version a server that speaks only TLS 1.0 chose, and does not judge the certificate that handshake showed', async () => {
    const ca = makeTestCa();
    // OpenSSL 3 speaks TLS 1.0 only at security level 0.
    const server = await startTlsServer('mx.old.test', tls.createSecureContext({ ...ca.issue(['mx.old.test']), minVersion: 'TLSv1', maxVersion: 'TLSv1', ciphers: 'DEFAULT:@SECLEVEL=0' }));
    const audit = await auditAt('old.test', { port: server.port, ca: ca.caPem, stepTimeoutMs: 5000 });
    const [probe] = audit.results;
    expect(probe).toMatchObject({ state: 'handshake-failed', step: 'handshake', detail: 'tlsv1 alert protocol version', legacyTls: { tlsVersion: 'TLSv1', cipher: expect.any(String) } });
    expect(probe).not.toHaveProperty('certificate');
    expect(server.connections()).toBe(2);
    expect(audit.findings.map((f) => [f.code, f.severity, f.rfc])).toEqual([['tls.old-version', 'warning', 'RFC 8996']]);
    expect(audit.findings[0]!.message).toContain(`chose TLSv1 (${probe!.legacyTls!.cipher})`);
    expect(audit.findings[0]!.message).toContain('the certificate was not judged');
  });

  it('matches the chain a TLS-1.0-only server presents against its TLSA records, and gives DANE the verdict of that session, not "no TLS"', async () => {
    const ca = makeTestCa();
    const pair = ca.issue(['mx.olddane.test']);
    const server = await startTlsServer('mx.olddane.test', tls.createSecureContext({ ...pair, minVersion: 'TLSv1', maxVersion: 'TLSv1', ciphers: 'DEFAULT:@SECLEVEL=0' }));
    const ee = composeTlsa311(new X509Certificate(pair.cert).publicKey.export({ type: 'spki', format: 'der' }));
    const elsewhere = composeTlsa311(new X509Certificate(ca.issue(['elsewhere.test']).cert).publicKey.export({ type: 'spki', format: 'der' }));
    const dns = await mxZone('olddane.test');
    try {
      const resolver = new DnsResolver({ servers: [{ host: dns.host, port: dns.port }], timeoutMs: 2000 });
      const audit = await auditStartTls(resolver, 'olddane.test', { port: server.port, ca: ca.caPem, stepTimeoutMs: 5000, tlsa: new Map([['mx.olddane.test', [ee]]]) });
      expect(audit.results[0]).toMatchObject({ state: 'handshake-failed', legacyTls: { tlsVersion: 'TLSv1' }, dane: { tlsa: [tlsaText(ee)], matched: tlsaText(ee) } });
      expect(audit.results[0]).not.toHaveProperty('certificate');
      expect(audit.findings.map((f) => f.code)).toEqual(['tls.old-version', 'dane.match']);
      const rekeyed = await auditStartTls(resolver, 'olddane.test', { port: server.port, ca: ca.caPem, stepTimeoutMs: 5000, tlsa: new Map([['mx.olddane.test', [elsewhere]]]) });
      expect(rekeyed.results[0]!.dane).toEqual({ tlsa: [tlsaText(elsewhere)], matched: null });
      expect(rekeyed.findings.map((f) => f.code)).toEqual(['tls.old-version', 'dane.no-match']);
    } finally {
      await dns.close();
    }
  });

  it('says the second session was tried, and how it ended, when a server that refused TLS 1.2 and 1.3 drops it, answers it 421 or stalls', async () => {
    const ca = makeTestCa();
    const context = tls.createSecureContext({ ...ca.issue(['mx.retry.test']), minVersion: 'TLSv1', maxVersion: 'TLSv1', ciphers: 'DEFAULT:@SECLEVEL=0' });
    /** TLS 1.0 only on the first connection; the second one gets `second`. */
    const refusing = async (second: (s: net.Socket) => void): Promise<number> => {
      let connections = 0;
      const tlsOnly = await startTlsServer('mx.retry.test', context);
      return fake((s) => {
        if (++connections > 1) return second(s);
        // The first connection goes on to the TLS 1.0 server.
        const onward = net.connect(tlsOnly.port, '127.0.0.1');
        onward.on('error', () => s.destroy());
        s.pipe(onward).pipe(s);
      });
    };
    const dropped = await refusing((s) => s.destroy());
    const busy = await refusing((s) => s.end('421 4.3.2 Too many connections\r\n'));
    const silent = await refusing(() => {});
    const audit = await auditAt('retry.test', { port: dropped, ca: ca.caPem, stepTimeoutMs: 5000 });
    expect(audit.results[0]).toMatchObject({ state: 'handshake-failed', step: 'handshake', detail: 'tlsv1 alert protocol version', legacyTlsFailed: { state: 'unreachable', step: 'greeting', detail: 'the server closed the connection' } });
    expect(audit.results[0]).not.toHaveProperty('legacyTls');
    expect(audit.findings.map((f) => f.code)).toEqual(['tls.handshake-failed']);
    expect(audit.findings[0]!.message).toContain('a second session, offering TLS 1.0 and 1.1, got no TLS either (unreachable at the greeting step: the server closed the connection)');
    expect(await probeStartTls('mx.retry.test', '127.0.0.1', { port: busy, ca: ca.caPem, stepTimeoutMs: 5000 })).toMatchObject({ legacyTlsFailed: { state: 'smtp-refused', step: 'greeting', reply: '421 4.3.2 Too many connections' } });
    expect(await probeStartTls('mx.retry.test', '127.0.0.1', { port: silent, ca: ca.caPem, stepTimeoutMs: 300 })).toMatchObject({ legacyTlsFailed: { state: 'timeout', step: 'greeting', detail: 'no complete reply within 300 ms' } });
    // The second connection reaches a backend that speaks TLS 1.2 and 1.3 only, and sends bytes ahead of its handshake.
    const pool = await startTlsServer('mx.retry.test', (n) => (n === 1 ? context : tls.createSecureContext(ca.issue(['mx.retry.test']))), (n) => (n === 2 ? '250 2.1.0 injected\r\n' : ''));
    const pooled = await auditAt('retry.test', { port: pool.port, ca: ca.caPem, stepTimeoutMs: 5000 });
    expect(pooled.results[0]).toMatchObject({ state: 'handshake-failed', legacyTlsFailed: { state: 'handshake-failed', step: 'handshake', sentAhead: 20 } });
    expect(pooled.findings.map((f) => f.code)).toEqual(['tls.handshake-failed', 'tls.sent-ahead']);
    expect(pooled.findings[1]!.message).toContain('sent 20 bytes in the second session (offering TLS 1.0 and 1.1)');
  });

  it('does not call TLS 1.2 or 1.3 an old version when the second session gets it (an MX pool whose backends differ)', async () => {
    const ca = makeTestCa();
    const cert = ca.issue(['mx.pool.test']);
    // The first connection reaches a backend speaking only TLS 1.0, the second one speaking 1.2 and 1.3.
    const server = await startTlsServer('mx.pool.test', (n) => tls.createSecureContext(n === 1 ? { ...cert, minVersion: 'TLSv1', maxVersion: 'TLSv1', ciphers: 'DEFAULT:@SECLEVEL=0' } : cert));
    const audit = await auditAt('pool.test', { port: server.port, ca: ca.caPem, stepTimeoutMs: 5000 });
    expect(audit.results[0]).toMatchObject({ state: 'handshake-failed', detail: 'tlsv1 alert protocol version' });
    expect(audit.results[0]).not.toHaveProperty('legacyTls');
    expect(audit.findings.map((f) => f.code)).toEqual(['tls.handshake-failed']);
  });

  it('gives a TLS 1.2 server its ordinary verdict in one session, with no old-version finding', async () => {
    const ca = makeTestCa();
    const server = await startTlsServer('mx.twelve.test', tls.createSecureContext({ ...ca.issue(['mx.twelve.test']), maxVersion: 'TLSv1.2' }));
    const audit = await auditAt('twelve.test', { port: server.port, ca: ca.caPem, stepTimeoutMs: 5000 });
    expect(audit.results).toEqual([expect.objectContaining({ state: 'tls', tlsVersion: 'TLSv1.2', certificate: expect.objectContaining({ trusted: true, nameValid: true }) })]);
    expect(audit.results[0]).not.toHaveProperty('legacyTls');
    expect(server.connections()).toBe(1);
    expect(audit.findings.map((f) => f.code)).toEqual(['tls.ok']);
  });

  it('reads no keyword from an EHLO line with no separator after the code, and says why STARTTLS was not found', async () => {
    const port = await fake((s) => {
      s.write('220 mx.glued.test ESMTP\r\n');
      s.on('data', (d: Buffer) => {
        if (/^EHLO/i.test(d.toString('latin1'))) s.write('250-mx.glued.test\r\n250-PIPELINING\r\n250STARTTLS\r\n');
        else s.end('221 2.0.0 Bye\r\n');
      });
    });
    const audit = await auditAt('glued.test', { port, stepTimeoutMs: 5000 });
    expect(audit.results).toEqual([expect.objectContaining({ state: 'no-starttls', extensions: ['PIPELINING'] })]);
    expect(audit.findings.map((f) => f.code)).toEqual(['tls.no-starttls']);
    expect(audit.findings[0]!.message).toContain('(EHLO offered PIPELINING; the EHLO reply has a line with no "-" or space after the reply code, naming no extension: 250STARTTLS)');
  });

  it('reads the keywords of EHLO lines with "-" or a space after the code, the last one included', async () => {
    const port = await fake((s) => {
      s.write('220 mx.spaced.test ESMTP\r\n');
      s.on('data', (d: Buffer) => {
        if (/^EHLO/i.test(d.toString('latin1'))) s.write('250-mx.spaced.test greets you\r\n250-size 10240000\r\n250 STARTTLS\r\n');
        else s.end('454 4.7.0 TLS not available\r\n');
      });
    });
    const r = await probeStartTls('mx.spaced.test', '127.0.0.1', { port, stepTimeoutMs: 5000 });
    expect(r).toMatchObject({ state: 'starttls-refused', extensions: ['SIZE', 'STARTTLS'], detail: 'STARTTLS was refused' });
  });
});

/** Greets and answers EHLO without STARTTLS: mail to it travels in plain text. */
function plainSmtp(name: string): (s: net.Socket) => void {
  return (s) => {
    s.write(`220 ${name} ESMTP\r\n`);
    s.on('data', (d: Buffer) => {
      if (/^EHLO/i.test(d.toString('latin1'))) s.write(`250-${name}\r\n250 PIPELINING\r\n`);
      else s.end('221 2.0.0 Bye\r\n');
    });
  };
}

describe('STARTTLS at every address of an MX host', () => {
  const rec = (name: string, type: DnsRecord['type'], value: string): DnsRecord => ({ name, type, ttl: 300, value });

  it('probes the A and the AAAA address of a host, and names the one without STARTTLS in its finding', async () => {
    const ca = makeTestCa();
    const good = await startTlsServer('mx.dual.test', tls.createSecureContext(ca.issue(['mx.dual.test'])));
    // The same port on ::1: one host, two servers, as a dual-stack MX whose IPv6 side was left without TLS.
    await fake(plainSmtp('mx.dual.test'), { host: '::1', port: good.port });
    const dns = await startServer({ records: [rec('dual.test', 'MX', '10 mx.dual.test.'), rec('mx.dual.test', 'AAAA', '::1'), rec('mx.dual.test', 'A', '127.0.0.1')], zones: ['dual.test'] });
    try {
      const audit = await auditStartTls(new DnsResolver({ servers: [{ host: dns.host, port: dns.port }], timeoutMs: 2000 }), 'dual.test', { port: good.port, ca: ca.caPem, stepTimeoutMs: 5000 });
      expect(audit.results).toEqual([
        expect.objectContaining({ host: 'mx.dual.test', address: '127.0.0.1', state: 'tls', certificate: expect.objectContaining({ trusted: true, nameValid: true }) }),
        expect.objectContaining({ host: 'mx.dual.test', address: '::1', state: 'no-starttls', extensions: ['PIPELINING'] }),
      ]);
      expect(audit.findings.map((f) => [f.code, f.subject])).toEqual([['tls.ok', `mx.dual.test (127.0.0.1:${good.port})`], ['tls.no-starttls', `mx.dual.test ([::1]:${good.port})`]]);
      // The subject names the address; the message does not repeat it.
      expect(audit.findings[0]!.message).toMatch(/^STARTTLS with TLSv1\.[23]/);
      expect(audit.findings[1]!.message).toMatch(/^the MX host does not offer STARTTLS/);
      expect(audit.dnsFailed).toBe(false);
    } finally {
      await dns.close();
    }
  });

  it('matches the chain at each address against the TLSA records and the policy, and names the address whose key the records do not have', async () => {
    const ca = makeTestCa();
    const current = ca.issue(['mx.rekey.test']);
    const server = await startTlsServer('mx.rekey.test', tls.createSecureContext(current));
    // The IPv6 side of the pool kept the key from before the TLSA record was changed.
    await startTlsServer('mx.rekey.test', tls.createSecureContext(ca.issue(['mx.rekey.test'])), undefined, { host: '::1', port: server.port });
    const tlsa = composeTlsa311(new X509Certificate(current.cert).publicKey.export({ type: 'spki', format: 'der' }));
    const dns = await startServer({ records: [rec('rekey.test', 'MX', '10 mx.rekey.test.'), rec('mx.rekey.test', 'A', '127.0.0.1'), rec('mx.rekey.test', 'AAAA', '::1')], zones: ['rekey.test'] });
    try {
      const policy = parseStsPolicy('version: STSv1\nmode: enforce\nmx: mx.rekey.test\nmax_age: 86400\n');
      const audit = await auditStartTls(new DnsResolver({ servers: [{ host: dns.host, port: dns.port }], timeoutMs: 2000 }), 'rekey.test', { port: server.port, ca: ca.caPem, stepTimeoutMs: 5000, policy, tlsa: new Map([['mx.rekey.test', [tlsa]]]) });
      const met = { mode: 'enforce', pattern: 'mx.rekey.test', satisfied: true };
      expect(audit.results.map((r) => [r.address, r.mtaSts, r.dane])).toEqual([
        ['127.0.0.1', met, { tlsa: [tlsaText(tlsa)], matched: tlsaText(tlsa) }],
        ['::1', met, { tlsa: [tlsaText(tlsa)], matched: null }],
      ]);
      expect(audit.findings.map((f) => [f.code, f.subject])).toEqual([
        ['tls.ok', `mx.rekey.test (127.0.0.1:${server.port})`],
        ['dane.match', `mx.rekey.test (127.0.0.1:${server.port})`],
        ['tls.ok', `mx.rekey.test ([::1]:${server.port})`],
        ['dane.no-match', `mx.rekey.test ([::1]:${server.port})`],
      ]);
    } finally {
      await dns.close();
    }
  });

  it('reports a temporary failure of the A lookup and still probes the address the AAAA lookup gave', async () => {
    const port = await fake(plainSmtp('mx.halfdns.test'), { host: '::1', port: 0 });
    const dns = await startHostileDns((q) => {
      if (q.type === T.MX) return answer(q, { answers: [{ name: { pointer: 12 }, type: T.MX, rdata: rdata.mx(10, 'mx.halfdns.test') }] });
      if (q.type === T.AAAA) return answer(q, { answers: [{ name: { pointer: 12 }, type: T.AAAA, rdata: rdata.aaaa('::1') }] });
      return answer(q, { rcode: 2 });
    });
    try {
      const audit = await auditStartTls(new DnsResolver({ servers: [{ host: dns.host, port: dns.port }], timeoutMs: 2000 }), 'halfdns.test', { port, stepTimeoutMs: 5000 });
      expect(audit.results).toEqual([expect.objectContaining({ host: 'mx.halfdns.test', address: '::1', state: 'no-starttls' })]);
      expect(audit.dnsFailed).toBe(true);
      expect(audit.findings.map((f) => [f.code, f.subject])).toEqual([['tls.dns-temporary', 'mx.halfdns.test'], ['tls.no-starttls', `mx.halfdns.test ([::1]:${port})`]]);
      expect(audit.findings[0]!.message).toContain('could not read the A records of the MX host mx.halfdns.test: the server failed to answer (SERVFAIL)');
      // One address probed: the message reads as for any host with one.
      expect(audit.findings[1]!.message).toMatch(/^the MX host does not offer STARTTLS/);
    } finally {
      await dns.close();
    }
  });

  it('probes at most 8 addresses of a host, A before AAAA, each in address order, and names those left out', async () => {
    // A port held on 127.0.0.1, so that no server listening on every address can have it; the host's
    // addresses are in a loopback block no other test uses, where each connection is refused at once.
    const port = await fake(() => {});
    const a = Array.from({ length: 9 }, (_, i) => `127.0.100.${i + 1}`);
    const dns = await startServer({ records: [rec('many.test', 'MX', '10 mx.many.test.'), rec('mx.many.test', 'AAAA', '::1'), ...a.map((ip) => rec('mx.many.test', 'A', ip))], zones: ['many.test'] });
    try {
      const audit = await auditStartTls(new DnsResolver({ servers: [{ host: dns.host, port: dns.port }], timeoutMs: 2000 }), 'many.test', { port, stepTimeoutMs: 5000 });
      expect(audit.results.map((r) => [r.address, r.state])).toEqual(a.slice(0, 8).map((ip) => [ip, 'unreachable']));
      expect(audit.findings.map((f) => f.code)).toEqual([...Array(8).fill('tls.unreachable'), 'tls.addresses-left-out']);
      expect(audit.findings.slice(0, 8).map((f) => f.subject)).toEqual(a.slice(0, 8).map((ip) => `mx.many.test (${ip}:${port})`));
      expect(audit.findings.at(-1)).toEqual({ code: 'tls.addresses-left-out', severity: 'info', subject: 'mx.many.test', message: 'the MX host has 10 addresses; STARTTLS was tried at the first 8 (A before AAAA, each in address order), not at 127.0.100.9, ::1', rfc: 'RFC 5321 §5.1' });
    } finally {
      await dns.close();
    }
  });
});
