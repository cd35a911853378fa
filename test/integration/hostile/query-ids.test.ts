/**
 * Query IDs are what an off-path attacker must guess to answer a UDP question first (RFC 5452 §9.2).
 * They come from the operating system's random source on every path, not from Math.random, whose
 * state a few outputs give away: with Math.random held at one value, the IDs a server sees are
 * still spread over all 65,536.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { DnsResolver } from '../../../src/dns/resolver.js';
import { answer, rdata, startHostileDns, T, type HostileServer } from '../../helpers/hostile-dns.js';

let server: HostileServer;
beforeAll(async () => {
  server = await startHostileDns((q) => answer(q, { answers: [{ name: { pointer: 12 }, type: T.TXT, rdata: rdata.txt(`name=${q.name}`) }] }));
});
afterAll(async () => server?.close());

const paths: { path: string; resolver: () => DnsResolver }[] = [
  { path: 'one socket per query', resolver: () => new DnsResolver({ servers: [server], timeoutMs: 2000, attempts: 1, cache: false }) },
  { path: 'shared sockets', resolver: () => new DnsResolver({ servers: [server], timeoutMs: 2000, attempts: 1, cache: false, sharedTransport: 'udp' }) },
  { path: 'pipelined TCP', resolver: () => new DnsResolver({ servers: [server], timeoutMs: 2000, attempts: 1, cache: false, sharedTransport: 'tcp' }) },
];

describe('query IDs', () => {
  for (const { path, resolver } of paths) {
    it(`${path}: spread over all 16 bits whatever Math.random says`, async () => {
      const spy = vi.spyOn(Math, 'random').mockReturnValue(0.5);
      try {
        const r = resolver();
        const from = server.queries.length;
        const names = Array.from({ length: 400 }, (_, i) => `q${i}.ids.test`);
        const answers = await Promise.all(names.map((n) => r.lookup(n, 'TXT')));
        expect(answers.map((a) => a.status)).toEqual(names.map(() => 'ok'));
        const ids = server.queries.slice(from).map((q) => q.id);
        // A nudge (pipelined TCP) is a copy of a question, with its ID.
        expect(ids.length).toBeGreaterThanOrEqual(400);
        // 400 uniform draws: the chance that all fall within 60,000 of each other is below 1e-13.
        expect(Math.max(...ids) - Math.min(...ids)).toBeGreaterThan(60000);
        // About one repeat is expected among 400 of 65,536.
        expect(new Set(ids).size).toBeGreaterThan(390);
      } finally {
        spy.mockRestore();
      }
    });
  }
});
