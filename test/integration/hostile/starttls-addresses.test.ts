/**
 * STARTTLS at every address of an MX host, when DNS names one server more than once: the same A
 * record twice (a hostile or broken server may send an RRset with duplicates) or an AAAA record
 * that is the IPv4-mapped form of an A record. Each server is probed once.
 */
import net from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { DnsResolver } from '../../../src/dns/resolver.js';
import { RecentMap } from '../../../src/recent.js';
import { auditStartTls, type StartTlsProbe } from '../../../src/starttls/probe.js';
import { answer, rdata, startHostileDns, T } from '../../helpers/hostile-dns.js';

const servers: net.Server[] = [];
afterAll(() => {
  for (const s of servers) s.close();
});

/** A plain SMTP server (no STARTTLS) on 127.0.0.1 that counts its connections. */
async function plainSmtp(name: string): Promise<{ port: number; connections: () => number }> {
  let connections = 0;
  const server = net.createServer((s) => {
    connections++;
    s.on('error', () => {});
    s.write(`220 ${name} ESMTP\r\n`);
    s.on('data', (d: Buffer) => {
      if (/^EHLO/i.test(d.toString('latin1'))) s.write(`250-${name}\r\n250 PIPELINING\r\n`);
      else s.end('221 2.0.0 Bye\r\n');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.push(server);
  return { port: (server.address() as net.AddressInfo).port, connections: () => connections };
}

describe('STARTTLS at each different address of an MX host', () => {
  it.each([
    ['the same A record twice', [rdata.a('127.0.0.1'), rdata.a('127.0.0.1')], []],
    ['an AAAA record that is the IPv4-mapped form of the A record', [rdata.a('127.0.0.1')], [rdata.aaaa('::ffff:127.0.0.1')]],
  ])('probes one server once when DNS gives %s', async (_what, a, aaaa) => {
    const smtp = await plainSmtp('mx.dup.test');
    const dns = await startHostileDns((q) => {
      const records = (type: number, list: Buffer[]) => answer(q, { answers: list.map((r) => ({ name: { pointer: 12 }, type, rdata: r })) });
      if (q.type === T.MX) return records(T.MX, [rdata.mx(10, 'mx.dup.test')]);
      if (q.type === T.A) return records(T.A, a);
      if (q.type === T.AAAA) return records(T.AAAA, aaaa);
      return answer(q, { rcode: 3 });
    });
    try {
      const audit = await auditStartTls(new DnsResolver({ servers: [{ host: dns.host, port: dns.port }], timeoutMs: 2000 }), 'dup.test', { port: smtp.port, stepTimeoutMs: 5000 });
      expect(audit.results.map((r) => [r.address, r.state])).toEqual([['127.0.0.1', 'no-starttls']]);
      expect(audit.findings.map((f) => [f.code, f.subject])).toEqual([['tls.no-starttls', `mx.dup.test (127.0.0.1:${smtp.port})`]]);
      expect(audit.findings[0]!.message).toMatch(/^the MX host does not offer STARTTLS/);
      expect(smtp.connections()).toBe(1);
    } finally {
      await dns.close();
    }
  });

  it('does not let copies of one address take the places of the 8 probed, leaving another untried', async () => {
    // A port held on 127.0.0.1; the addresses are in a loopback block no other test uses, where each connection is refused at once.
    const { port } = await plainSmtp('mx.copies.test');
    const dns = await startHostileDns((q) => {
      const records = (type: number, list: Buffer[]) => answer(q, { answers: list.map((r) => ({ name: { pointer: 12 }, type, rdata: r })) });
      if (q.type === T.MX) return records(T.MX, [rdata.mx(10, 'mx.copies.test')]);
      if (q.type === T.A) return records(T.A, [...Array<Buffer>(8).fill(rdata.a('127.0.101.1')), rdata.a('127.0.101.2')]);
      return answer(q, { rcode: 0 });
    });
    try {
      const audit = await auditStartTls(new DnsResolver({ servers: [{ host: dns.host, port: dns.port }], timeoutMs: 2000 }), 'copies.test', { port, stepTimeoutMs: 5000 });
      expect(audit.results.map((r) => [r.address, r.state])).toEqual([['127.0.101.1', 'unreachable'], ['127.0.101.2', 'unreachable']]);
      expect(audit.findings.map((f) => f.code)).toEqual(['tls.unreachable', 'tls.unreachable']);
    } finally {
      await dns.close();
    }
  });

  it('tries the same addresses in the same order on every run when DNS rotates them (round robin), so that runs compare', async () => {
    const { port } = await plainSmtp('mx.rotate.test');
    // Ten addresses, in a loopback block no other test uses (each connection refused at once), given
    // one place further round at each question, as a round-robin server gives them.
    const a = Array.from({ length: 10 }, (_, i) => `127.0.102.${i + 1}`);
    let asked = 0;
    const dns = await startHostileDns((q) => {
      const records = (type: number, list: Buffer[]) => answer(q, { answers: list.map((r) => ({ name: { pointer: 12 }, type, rdata: r })) });
      if (q.type === T.MX) return records(T.MX, [rdata.mx(10, 'mx.rotate.test')]);
      if (q.type === T.A) {
        const turn = asked++ % a.length;
        return records(T.A, [...a.slice(turn), ...a.slice(0, turn)].map(rdata.a));
      }
      return answer(q, { rcode: 0 });
    });
    try {
      const audit = () => auditStartTls(new DnsResolver({ servers: [{ host: dns.host, port: dns.port }], timeoutMs: 2000 }), 'rotate.test', { port, stepTimeoutMs: 5000 });
      const [first, second] = [await audit(), await audit()];
      expect(asked).toBe(2);
      expect(second.results.map((r) => r.address)).toEqual(first.results.map((r) => r.address));
      expect(second.findings).toEqual(first.findings);
      expect(first.results.map((r) => r.address)).toEqual(['127.0.102.1', '127.0.102.2', '127.0.102.3', '127.0.102.4', '127.0.102.5', '127.0.102.6', '127.0.102.7', '127.0.102.8']);
      expect(first.findings.at(-1)?.message).toBe('the MX host has 10 addresses; STARTTLS was tried at the first 8 (A before AAAA, each in address order), not at 127.0.102.9, 127.0.102.10');
    } finally {
      await dns.close();
    }
  });

  it('probes a host at an address once a run, however many of the run\'s domains name it as their MX', async () => {
    const smtp = await plainSmtp('mx.shared.test');
    const dns = await startHostileDns((q) => {
      const records = (type: number, list: Buffer[]) => answer(q, { answers: list.map((r) => ({ name: { pointer: 12 }, type, rdata: r })) });
      if (q.type === T.MX) return records(T.MX, [rdata.mx(10, 'mx.shared.test')]);
      if (q.type === T.A) return records(T.A, [rdata.a('127.0.0.1')]);
      return answer(q, { rcode: 0 });
    });
    const domains = ['a.shared.test', 'b.shared.test', 'c.shared.test'];
    try {
      const resolver = new DnsResolver({ servers: [{ host: dns.host, port: dns.port }], timeoutMs: 2000 });
      // Without a run's shared probes (a library caller's audit of one domain): a connection each.
      const alone = await Promise.all(domains.map((d) => auditStartTls(resolver, d, { port: smtp.port, stepTimeoutMs: 5000 })));
      expect(smtp.connections()).toBe(3);
      // A run's domains, checked at once: one connection, and each domain has the same results and findings.
      const opts = { port: smtp.port, stepTimeoutMs: 5000, probes: new RecentMap<string, Promise<StartTlsProbe>>(16) };
      const run = await Promise.all(domains.map((d) => auditStartTls(resolver, d, opts)));
      expect(smtp.connections()).toBe(4);
      expect(run).toEqual(alone);
      expect(run.map((r) => r.findings.map((f) => [f.code, f.subject]))).toEqual(domains.map(() => [['tls.no-starttls', `mx.shared.test (127.0.0.1:${smtp.port})`]]));
    } finally {
      await dns.close();
    }
  });
});
