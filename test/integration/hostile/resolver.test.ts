/**
 * The resolver against a server that sends broken and unrelated answers: one socket per query
 * (spf, dmarc, verify) and the shared sockets of bulk checks (check) must give the same status,
 * and no broken answer may ever read as "no record".
 */
import dgram from 'node:dgram';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { DnsResolver, isNoRecord, isTemporary } from '../../../src/dns/resolver.js';
import { answer, HOSTILE_STATUS, hostileZone, rdata, startHostileDns, T, type HostileScenario, type HostileServer } from '../../helpers/hostile-dns.js';

const TIMEOUT_MS = 250;

let server: HostileServer;
beforeAll(async () => {
  server = await startHostileDns(hostileZone);
});
afterAll(async () => server?.close());

/**
 * Over UDP a datagram that does not answer the question is ignored and the wait goes on (it may be
 * forged, RFC 5452 §9.1); on a TCP connection nobody else can inject it, so it is the server's
 * broken answer, as a query on a connection of its own already treats it.
 */
const OVER_TCP: Partial<Record<HostileScenario, string>> = { 'other-name': 'malformed', 'other-type': 'malformed', 'other-class': 'malformed', echo: 'malformed', 'stray-first': 'malformed' };

const resolvers = (): { path: string; resolver: DnsResolver; tcp?: boolean }[] => [
  { path: 'one socket per query', resolver: new DnsResolver({ servers: [server], timeoutMs: TIMEOUT_MS, attempts: 1 }) },
  { path: 'shared sockets', resolver: new DnsResolver({ servers: [server], timeoutMs: TIMEOUT_MS, attempts: 1, sharedTransport: 'udp' }) },
  { path: 'pipelined TCP', resolver: new DnsResolver({ servers: [server], timeoutMs: TIMEOUT_MS, attempts: 1, sharedTransport: 'tcp' }), tcp: true },
];

describe('every path gives a broken or unrelated answer the same honest status', () => {
  for (const [scenario, expected] of Object.entries(HOSTILE_STATUS) as [HostileScenario, string][]) {
    it(`${scenario}: ${expected}`, async () => {
      const name = `${scenario}.hostile.test`;
      const answers = await Promise.all(resolvers().map(async ({ path, resolver, tcp }) => ({ path, answer: await resolver.lookup(name, 'TXT'), expected: (tcp && OVER_TCP[scenario]) || expected })));
      for (const { path, answer, expected } of answers) {
        expect({ path, status: answer.status }).toEqual({ path, status: expected });
        if (expected === 'ok') expect(answer.records).toEqual([['v=spf1 -all']]);
        else {
          expect(answer.records).toEqual([]);
          // A referral is the one answer here that says something about the name (as before: no record here).
          expect(expected === 'nodata' ? isNoRecord(answer.status) : isTemporary(answer.status) && !isNoRecord(answer.status)).toBe(true);
        }
      }
    });
  }
});

describe('what the status says', () => {
  it('names what is broken in a malformed answer', async () => {
    for (const { resolver } of resolvers()) {
      expect((await resolver.lookup('pointer-loop.hostile.test', 'TXT')).detail).toMatch(/compression pointer at offset \d+ points to \d+, not to an earlier name/);
      expect((await resolver.lookup('short-rdata.hostile.test', 'TXT')).detail).toMatch(/declares 32 octets of RDATA, only 12 remain/);
      expect((await resolver.lookup('long-label.hostile.test', 'TXT')).detail).toMatch(/label length 64 .* over 63 octets/);
      expect((await resolver.lookup('long-name.hostile.test', 'TXT')).detail).toMatch(/longer than 255 octets/);
      expect((await resolver.lookup('wrong-section.hostile.test', 'TXT')).detail).toBe('the TXT records of wrong-section.hostile.test came in the additional section, not as an answer');
      expect((await resolver.lookup('tcp-other-name.hostile.test', 'TXT')).detail).toMatch(/over TCP the server sent an answer to another question \(elsewhere\.hostile\.test/);
    }
  });

  it('says a server that only answered other questions sent them, rather than nothing', async () => {
    for (const { resolver, tcp } of resolvers()) {
      expect((await resolver.lookup('other-name.hostile.test', 'TXT')).detail).toMatch(
        tcp ? /^over TCP the server sent an answer to another question \(elsewhere\.hostile\.test type 16 class 1\)/ : /it sent 1 message that did not answer it, the last an answer to another question \(elsewhere\.hostile\.test type 16 class 1\)/,
      );
      expect((await resolver.lookup('echo.hostile.test', 'TXT')).detail).toMatch(/not a response \(QR=0\)/);
      expect((await resolver.lookup('silent.hostile.test', 'TXT')).detail).not.toMatch(/it sent/);
    }
    // On a shared socket a datagram with an ID nobody waits for belongs to no query, so only a socket of its own can say so.
    const [own] = resolvers();
    expect((await own!.resolver.lookup('other-id.hostile.test', 'TXT')).detail).toMatch(/an answer with another ID/);
  });

  it('calls a CNAME loop a loop, both when the server sends the loop and when it is followed query by query', async () => {
    const recursive = new DnsResolver({ servers: [server], timeoutMs: TIMEOUT_MS, attempts: 1 });
    const loop = await recursive.lookup('_dmarc.cname-loop.hostile.test', 'TXT');
    expect(loop).toMatchObject({ status: 'error', detail: 'CNAME loop: _dmarc.cname-loop.hostile.test -> loop-b._dmarc.cname-loop.hostile.test -> _dmarc.cname-loop.hostile.test' });
    const authoritative = new DnsResolver({ servers: [server], timeoutMs: TIMEOUT_MS, attempts: 1, recursionDesired: false });
    expect(await authoritative.lookup('cname-loop.hostile.test', 'TXT')).toMatchObject({ status: 'error', detail: expect.stringMatching(/^CNAME loop: /) });
  });

  it('keeps listening after a stray datagram and takes the answer that follows it', async () => {
    for (const { resolver } of resolvers().filter((r) => !r.tcp)) {
      const before = server.queries.length;
      expect(await resolver.lookup('stray-first.hostile.test', 'TXT')).toMatchObject({ status: 'ok', records: [['v=spf1 -all']] });
      expect(server.queries.length - before).toBe(1);
    }
  });

  it('gives the RCODE of an answer that has no status of its own as a number (FORMERR, NOTIMP, NOTAUTH, an extended RCODE), and none in the others', async () => {
    // rcode-N.test answers RCODE N: the low 4 bits in the header, the upper 8 in the OPT record's TTL (RFC 6891 §6.1.3).
    const rcodes = await startHostileDns((q) => {
      const n = Number(/^rcode-(\d+)\.test$/.exec(q.name.toLowerCase())?.[1] ?? 0);
      const opt = { name: '', type: T.OPT, class: 1232, ttl: (n >> 4) << 24, rdata: Buffer.alloc(0) };
      return answer(q, { rcode: n & 0xf, aa: false, additionals: n > 15 ? [opt] : [], authorities: n === 0 ? [{ name: 'test', type: T.SOA, rdata: rdata.soa('ns.test', 'hostmaster.test', 1) }] : [] });
    });
    try {
      const paths = [
        new DnsResolver({ servers: [rcodes], timeoutMs: TIMEOUT_MS, attempts: 1 }),
        new DnsResolver({ servers: [rcodes], timeoutMs: TIMEOUT_MS, attempts: 1, sharedTransport: 'udp' }),
        new DnsResolver({ servers: [rcodes], timeoutMs: TIMEOUT_MS, attempts: 1, sharedTransport: 'tcp' }),
      ];
      for (const resolver of paths) {
        const seen = await Promise.all([1, 4, 9, 16, 2, 3, 5, 0].map(async (n) => (({ status, rcode }) => [n, status, rcode])(await resolver.lookup(`rcode-${n}.test`, 'SOA'))));
        expect(seen).toEqual([
          [1, 'error', 1],
          [4, 'error', 4],
          [9, 'error', 9],
          [16, 'error', 16],
          [2, 'servfail', undefined],
          [3, 'nxdomain', undefined],
          [5, 'refused', undefined],
          [0, 'nodata', undefined],
        ]);
      }
      // And none where no server answered.
      const silent = await startHostileDns(() => null);
      try {
        expect((await new DnsResolver({ servers: [silent], timeoutMs: 100, attempts: 1 }).lookup('rcode-4.test', 'SOA')).rcode).toBeUndefined();
      } finally {
        await silent.close();
      }
    } finally {
      await rcodes.close();
    }
  });

  it('says the UDP answer was truncated when the deadline, not the timeout, ends the question asked again over TCP', async () => {
    const tcSilent = await startHostileDns((q) => (q.transport === 'udp' ? answer(q, { tc: true }) : null));
    try {
      for (const sharedTransport of [undefined, 'udp'] as const) {
        const byDeadline = new DnsResolver({ servers: [tcSilent], timeoutMs: 10_000, deadlineMs: 300, ...(sharedTransport ? { sharedTransport } : {}) });
        // The resolver's own deadline, then a scope's (one domain of a run; its deadline starts with it).
        const own = await byDeadline.lookup('example.test', 'TXT');
        const scope = byDeadline.scope('example.test');
        for (const answer of [own, await scope.lookup('example.test', 'SOA')]) {
          expect({ sharedTransport, status: answer.status, detail: answer.detail }).toEqual({ sharedTransport, status: 'timeout', detail: 'the answer over UDP was truncated (TC=1), and over TCP: the deadline of 300 ms passed before an answer came' });
        }
        scope.end();
        // The timeout said it already.
        const byTimeout = new DnsResolver({ servers: [tcSilent], timeoutMs: 200, attempts: 1, ...(sharedTransport ? { sharedTransport } : {}) });
        expect((await byTimeout.lookup('example.test', 'TXT')).detail).toMatch(/^the answer over UDP was truncated \(TC=1\), and over TCP: no answer from 127\.0\.0\.1:\d+ for example\.test TXT$/);
      }
    } finally {
      await tcSilent.close();
    }
  });

  it('asks a malformed answer again like any temporary failure, once per attempt', async () => {
    const r = new DnsResolver({ servers: [server], timeoutMs: TIMEOUT_MS, attempts: 2 });
    const before = server.queries.length;
    expect((await r.lookup('trailing.hostile.test', 'TXT')).status).toBe('malformed');
    expect(server.queries.length - before).toBe(2);
  });
});

describe('a server that is not there', () => {
  /** A port nothing listens at, on UDP or TCP: bound, then closed. */
  async function closedPort(): Promise<number> {
    const udp = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => udp.bind(0, '127.0.0.1', resolve));
    const port = udp.address().port;
    await new Promise<void>((resolve) => udp.close(() => resolve()));
    return port;
  }

  /** A server on `port` that answers every query with its own question, no record (NODATA). */
  function answeringAt(port: number, onQuery: () => void = () => undefined): Promise<dgram.Socket> {
    const server = dgram.createSocket('udp4');
    server.on('message', (m, from) => {
      onQuery();
      const reply = Buffer.from(m);
      reply[2]! |= 0x80;
      server.send(reply, from.port, from.address);
    });
    return new Promise((resolve) => server.bind(port, '127.0.0.1', () => resolve(server)));
  }

  it('fails at once on every path when the port is closed (ICMP port unreachable), not at the deadline', async () => {
    const port = await closedPort();
    const at = { host: '127.0.0.1', port };
    // A deadline far beyond the test's: only the refusal can end these lookups in time.
    const slow = { servers: [at], timeoutMs: 60_000, attempts: 2 };
    const paths = [
      new DnsResolver(slow),
      new DnsResolver({ ...slow, sharedTransport: 'udp' }),
      new DnsResolver({ ...slow, sharedTransport: 'tcp', udpUntilInFlight: 32 }),
      new DnsResolver({ ...slow, sharedTransport: 'tcp' }),
    ];
    for (const resolver of paths) {
      const answer = await resolver.lookup('example.com', 'TXT');
      expect(answer).toMatchObject({ status: 'error', detail: `connection refused: nothing listens at 127.0.0.1:${port}` });
      expect(isTemporary(answer.status)).toBe(true);
    }
  });

  it('fails a bulk run\'s queries soon too (a probe\'s time), although the kernel sends "port unreachable" for a burst of them only', async () => {
    const port = await closedPort();
    const resolver = new DnsResolver({ servers: [{ host: '127.0.0.1', port }], timeoutMs: 60_000, attempts: 2, sharedTransport: 'udp', maxInFlight: 500 });
    const answers = await Promise.all(Array.from({ length: 500 }, (_, i) => resolver.lookup(`d${i}.example.com`, 'TXT')));
    expect(new Set(answers.map((a) => `${a.status} ${a.detail}`))).toEqual(new Set([`error connection refused: nothing listens at 127.0.0.1:${port}`]));
    // What failed without going out (the port known closed) is no query sent: the 500 of the first
    // attempt went out, and of the retries only the few before the refusal came and the probes.
    expect(resolver.queriesSent).toBeGreaterThanOrEqual(500);
    expect(resolver.queriesSent).toBeLessThan(1000);
  });

  it('fails at once with the error of a connect that fails (one socket per query), and throws nothing', async () => {
    // The limited broadcast address: connect() refuses it (EACCES) without a datagram going out.
    const resolver = new DnsResolver({ servers: [{ host: '255.255.255.255', port: 53 }], timeoutMs: 60_000, attempts: 1 });
    const started = Date.now();
    const answer = await resolver.lookup('example.com', 'TXT');
    expect(answer).toMatchObject({ status: 'error', detail: 'connect EACCES 255.255.255.255:53' });
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('lets the event loop turn while it fails queries to a port known closed, so a port that opens is heard of', async () => {
    const port = await closedPort();
    const resolver = new DnsResolver({ servers: [{ host: '127.0.0.1', port }], timeoutMs: 60_000, attempts: 1, sharedTransport: 'udp', cache: false });
    // A server that comes up on the port after 100 ms: it answers every query with its question (no record).
    let server: dgram.Socket | undefined;
    setTimeout(() => void answeringAt(port).then((s) => (server = s)), 100);
    // A worker that asks again the moment a lookup fails, as a bulk run's do.
    const started = Date.now();
    let answer = await resolver.lookup('d0.example.com', 'TXT');
    // Bounded only so that a failure ends: a loop that starved the event loop would still be failing at the bound.
    for (let i = 1; answer.status === 'error' && Date.now() - started < 10_000; i++) answer = await resolver.lookup(`d${i}.example.com`, 'TXT');
    server?.close();
    expect(answer.status).toBe('nodata');
  });

  it('holds a question to a port known closed until the probe is answered, then asks it; the probe counts as a query sent', async () => {
    const port = await closedPort();
    const resolver = new DnsResolver({ servers: [{ host: '127.0.0.1', port }], timeoutMs: 60_000, attempts: 1, sharedTransport: 'udp', cache: false });
    expect((await resolver.lookup('first.example.com', 'TXT')).detail).toMatch(/^connection refused/);
    let received = 0;
    const server = await answeringAt(port, () => received++);
    // The port opened (a server restarted): the next question is held, a copy of it goes out as the
    // probe, and the probe's answer ends the refusal; the question is then asked and answered.
    const before = resolver.queriesSent;
    expect((await resolver.lookup('probe.example.com', 'TXT')).status).toBe('nodata');
    expect(received).toBe(2);
    expect(resolver.queriesSent - before).toBe(received);
    expect((await resolver.lookup('after.example.com', 'TXT')).status).toBe('nodata');
    expect(resolver.queriesSent - before).toBe(received);
    server.close();
  });

  it('loses no question of a bulk run to a server that restarts: what meets the closed port waits for it to open', async () => {
    const port = await closedPort();
    let server = await answeringAt(port);
    // A datagram lost as the port closed (no ICMP for it) is asked again after this timeout, as over any UDP.
    const resolver = new DnsResolver({ servers: [{ host: '127.0.0.1', port }], timeoutMs: 5_000, attempts: 2, sharedTransport: 'udp', cache: false });
    const statuses = new Set<string>();
    let asked = 0;
    let running = true;
    const workers = Array.from({ length: 32 }, async () => {
      while (running) statuses.add((await resolver.lookup(`d${asked++}.example.com`, 'TXT')).status);
    });
    await new Promise((resolve) => setTimeout(resolve, 100));
    // Down for 30 ms, as a restart.
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await new Promise((resolve) => setTimeout(resolve, 30));
    server = await answeringAt(port);
    await new Promise((resolve) => setTimeout(resolve, 200));
    running = false;
    await Promise.all(workers);
    server.close();
    expect(asked).toBeGreaterThan(100);
    expect([...statuses]).toEqual(['nodata']);
  });

  it('sends no probe once the last question held has met its deadline, so nothing is counted nor keeps the process up after it', async () => {
    const port = await closedPort();
    const resolver = new DnsResolver({ servers: [{ host: '127.0.0.1', port }], timeoutMs: 30, attempts: 1, sharedTransport: 'udp', cache: false });
    expect((await resolver.lookup('first.example.com', 'TXT')).detail).toMatch(/^connection refused/);
    // A server that says nothing: a probe to it would wait PROBE_VERDICT_MS for a verdict.
    const server = dgram.createSocket('udp4');
    let received = 0;
    server.on('message', () => received++);
    await new Promise<void>((resolve) => server.bind(port, '127.0.0.1', resolve));
    try {
      // The first question, refused and held, ended at its deadline (30 ms), before the probe was
      // due (50 ms after the refusal): no probe goes out for it afterwards.
      const sent = resolver.queriesSent;
      await new Promise((resolve) => setTimeout(resolve, 120));
      expect(received).toBe(0);
      expect(resolver.queriesSent).toBe(sent);
    } finally {
      server.close();
    }
  });

  it('still probes a port known closed when the wall clock is set back', async () => {
    const port = await closedPort();
    const resolver = new DnsResolver({ servers: [{ host: '127.0.0.1', port }], timeoutMs: 60_000, attempts: 1, sharedTransport: 'udp', cache: false });
    expect((await resolver.lookup('first.example.com', 'TXT')).detail).toMatch(/^connection refused/);
    const server = await answeringAt(port);
    const wall = Date.now.bind(Date);
    const setBack = vi.spyOn(Date, 'now').mockImplementation(() => wall() - 3_600_000);
    try {
      const started = performance.now();
      let answer = await resolver.lookup('d0.example.com', 'TXT');
      for (let i = 1; answer.status === 'error' && performance.now() - started < 2_000; i++) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        answer = await resolver.lookup(`d${i}.example.com`, 'TXT');
      }
      expect(answer.status).toBe('nodata');
    } finally {
      setBack.mockRestore();
      server.close();
    }
  });
});
