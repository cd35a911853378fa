import dgram from 'node:dgram';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { DnsResolver, isNoRecord, isTemporary, txtValues } from '../../../src/dns/resolver.js';
import { packetCodec } from '../../../src/dns/packet.js';
import { startServer, type RunningServer } from '../../../src/dns/server.js';
import type { DnsRecord } from '../../../src/records.js';
import { startKnot, type KnotServer } from '../../helpers/knot.js';
import { LocalResolver } from '../../helpers/local-resolver.js';

const Packet = packetCodec();

const chunk = (c: string): string => c.repeat(250);
const bigTxt = Array.from({ length: 8 }, (_, i) => `big IN TXT "${chunk(String.fromCharCode(97 + i))}"`).join('\n');

const zoneOne = `$ORIGIN one.example.
$TTL 300
@ IN SOA ns.one.example. hostmaster.one.example. 7 3600 600 604800 60
@ IN NS ns.one.example.
ns IN A 127.0.0.1
www IN A 192.0.2.10
a.b IN TXT "below an empty non-terminal"
alias IN CNAME www
far IN CNAME target.two.example.
dangling IN CNAME gone
${bigTxt}
`;
const zoneTwo = `$ORIGIN two.example.
$TTL 300
@ IN SOA ns.two.example. hostmaster.two.example. 1 3600 600 604800 60
@ IN NS ns.two.example.
target IN TXT "v=spf1 -all"
`;

describe('DnsResolver against Knot', () => {
  let knot: KnotServer;
  const server = () => ({ host: knot.host, port: knot.port });
  beforeAll(async () => {
    knot = await startKnot({ 'one.example': zoneOne, 'two.example': zoneTwo });
  });
  afterAll(async () => knot?.stop());

  it('tells NXDOMAIN from NODATA, including at an empty non-terminal', async () => {
    const r = new DnsResolver({ servers: [server()] });
    const nx = await r.lookup('nothing-here.one.example', 'TXT');
    expect(nx.status).toBe('nxdomain');
    expect(isNoRecord(nx.status)).toBe(true);
    const nodata = await r.lookup('www.one.example', 'TXT');
    expect(nodata.status).toBe('nodata');
    const ent = await r.lookup('b.one.example', 'TXT');
    expect(ent.status).toBe('nodata');
    const ok = await r.lookup('www.one.example', 'A');
    expect(ok.status).toBe('ok');
    expect(ok.records).toEqual(['192.0.2.10']);
    expect(ok.ttl).toBe(300);
    expect(ok.authoritative).toBe(true);
  });

  it('keeps the CNAME chain of an NXDOMAIN answer: the RCODE is about the chain\'s end (RFC 6604)', async () => {
    const r = new DnsResolver({ servers: [server()], recursionDesired: false });
    const dangling = await r.lookup('dangling.one.example', 'A');
    expect(dangling).toMatchObject({ status: 'nxdomain', cnameChain: ['gone.one.example'] });
    expect(r.queriesSent).toBe(1); // Knot sends the CNAME and the NXDOMAIN in one answer
    expect((await r.lookup('nothing-here.one.example', 'A')).cnameChain).toEqual([]);
  });

  it('falls back to TCP when the UDP answer is truncated and returns every record whole', async () => {
    const r = new DnsResolver({ servers: [server()] });
    const answer = await r.lookup('big.one.example', 'TXT');
    expect(answer.status).toBe('ok');
    const values = txtValues(answer).sort();
    expect(values).toHaveLength(8);
    expect(values[0]).toBe(chunk('a'));
    expect(values[7]).toBe(chunk('h'));
  });

  it('follows a CNAME inside the zone and, without recursion, into another zone', async () => {
    const r = new DnsResolver({ servers: [server()] });
    const inZone = await r.lookup('alias.one.example', 'A');
    expect(inZone.status).toBe('ok');
    expect(inZone.records).toEqual(['192.0.2.10']);
    expect(inZone.cnameChain).toEqual(['www.one.example']);

    const direct = new DnsResolver({ servers: [server()], recursionDesired: false });
    const crossZone = await direct.lookup('far.one.example', 'TXT');
    expect(crossZone.status).toBe('ok');
    expect(txtValues(crossZone)).toEqual(['v=spf1 -all']);
    expect(crossZone.cnameChain).toEqual(['target.two.example']);
    expect(crossZone.name).toBe('far.one.example');
  });

  it('reports a name outside every served zone as refused, a temporary failure', async () => {
    const r = new DnsResolver({ servers: [server()], attempts: 1 });
    const answer = await r.lookup('elsewhere.test', 'TXT');
    expect(answer.status).toBe('refused');
    expect(isTemporary(answer.status)).toBe(true);
    expect(isNoRecord(answer.status)).toBe(false);
  });

  it('asks the next server when the first one does not answer', async () => {
    const silent = await startServer({ records: [], zones: ['one.example'], silent: ['www.one.example'] });
    try {
      // One deadline for both servers: long enough that Knot's answer never meets it on a loaded machine.
      const r = new DnsResolver({ servers: [{ host: silent.host, port: silent.port }, server()], timeoutMs: 1000, attempts: 1 });
      const answer = await r.lookup('www.one.example', 'A');
      expect(answer.status).toBe('ok');
      expect(answer.server).toBe(`127.0.0.1:${knot.port}`);
      expect(silent.queries).toBe(1);
    } finally {
      await silent.close();
    }
  });
});

describe('DnsResolver against the embedded server', () => {
  const records: DnsRecord[] = [
    { name: 'ex.test', type: 'TXT', ttl: 60, value: 'v=spf1 -all' },
    { name: 'long.ex.test', type: 'TXT', ttl: 60, value: 'x'.repeat(1500) },
    { name: 'a.ex.test', type: 'A', ttl: 60, value: '192.0.2.1' },
    { name: 'b.ex.test', type: 'A', ttl: 60, value: '192.0.2.2' },
    { name: 'c.ex.test', type: 'A', ttl: 60, value: '192.0.2.3' },
  ];
  let srv: RunningServer;
  const server = () => ({ host: srv.host, port: srv.port });
  beforeAll(async () => {
    srv = await startServer({ records, zones: ['ex.test'], silent: ['quiet.ex.test'], maxUdpPayload: 512 });
  });
  afterAll(async () => srv?.close());

  it('calls a server that never answers a timeout, never "no record"', async () => {
    const r = new DnsResolver({ servers: [server()], timeoutMs: 150, attempts: 2 });
    const before = srv.queries;
    const answer = await r.lookup('quiet.ex.test', 'TXT');
    expect(answer.status).toBe('timeout');
    expect(isTemporary(answer.status)).toBe(true);
    expect(isNoRecord(answer.status)).toBe(false);
    expect(answer.records).toEqual([]);
    expect(srv.queries - before).toBe(2); // one per attempt, then it gives up
  });

  it('gets a long TXT over TCP when the server caps UDP answers', async () => {
    const r = new DnsResolver({ servers: [server()] });
    const answer = await r.lookup('long.ex.test', 'TXT');
    expect(answer.status).toBe('ok');
    expect(txtValues(answer)).toEqual(['x'.repeat(1500)]);
    expect(answer.records[0]!.length).toBe(6); // split into <=255-octet strings on the wire
  });

  it('answers a repeated question from the cache without sending it again', async () => {
    const r = new DnsResolver({ servers: [server()] });
    const before = srv.queries;
    const [first, second] = await Promise.all([r.lookup('ex.test', 'TXT'), r.lookup('EX.test.', 'TXT')]);
    const third = await r.lookup('ex.test', 'TXT');
    expect(txtValues(first)).toEqual(['v=spf1 -all']);
    expect(second).toBe(first);
    expect(third).toBe(first);
    expect(r.queriesSent).toBe(1);
    expect(srv.queries - before).toBe(1);
  });

  it('drops the answers not used for longest when the cache is bounded', async () => {
    // Limit 4: two generations of two answers each.
    const r = new DnsResolver({ servers: [server()], cacheLimit: 4 });
    await r.lookup('a.ex.test', 'A');
    await r.lookup('b.ex.test', 'A');
    await r.lookup('a.ex.test', 'A'); // hit: a is used again and kept
    await r.lookup('c.ex.test', 'A'); // b, not used since, is dropped
    expect(r.queriesSent).toBe(3);
    await r.lookup('a.ex.test', 'A');
    expect(r.queriesSent).toBe(3);
    await r.lookup('b.ex.test', 'A');
    expect(r.queriesSent).toBe(4);
  });

  it('does not cache when asked not to', async () => {
    const r = new DnsResolver({ servers: [server()], cache: false });
    await r.lookup('a.ex.test', 'A');
    await r.lookup('a.ex.test', 'A');
    expect(r.queriesSent).toBe(2);
  });
});

describe('DnsResolver pacing and in-flight bound', () => {
  /**
   * A UDP server that answers at once, or holds every query until the test releases it, and keeps
   * count: queries held now, the most held at once, all received. Nothing in it depends on time.
   */
  async function countingServer(mode: 'answer at once' | 'hold') {
    const socket = dgram.createSocket('udp4');
    const state = { held: 0, peak: 0, total: 0 };
    const queue: (() => void)[] = [];
    let onArrival = (): void => undefined;
    socket.on('message', (msg, rinfo) => {
      const query = Packet.parse(msg);
      const reply = (): void => {
        state.held--;
        const response = new Packet();
        response.header.id = query.header.id;
        response.header.qr = 1;
        response.header.aa = 1;
        response.questions.push(query.questions[0]!);
        response.answers.push({ name: query.questions[0]!.name, type: 1, class: 1, ttl: 60, address: '192.0.2.7' });
        socket.send(response.toBuffer(), rinfo.port, rinfo.address);
      };
      state.total++;
      state.held++;
      state.peak = Math.max(state.peak, state.held);
      if (mode === 'hold') queue.push(reply);
      else reply();
      onArrival();
    });
    await new Promise<void>((r) => socket.bind(0, '127.0.0.1', () => r()));
    return {
      port: socket.address().port,
      state,
      /** Answer the query held longest. */
      releaseOne: () => queue.shift()!(),
      /** Resolves once `n` queries have arrived in all. */
      arrived: (n: number) =>
        new Promise<void>((resolve) => {
          onArrival = () => void (state.total >= n && resolve());
          onArrival();
        }),
      close: () => new Promise<void>((r) => socket.close(() => r())),
    };
  }

  it('sends at most maxQueriesPerSecond, after a first burst of a tenth of a second\'s worth', async () => {
    const srv = await countingServer('answer at once');
    // The pacer's clock and timers are fake, so the schedule is exact however loaded the machine is;
    // the queries and answers still go over real sockets. (The wire deadlines, fake too, never fire.)
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
    try {
      // 100 a second: 10 ms apart, the first 11 at once (a burst of 10 ms x 10 ahead of the schedule).
      const r = new DnsResolver({ servers: [{ host: '127.0.0.1', port: srv.port }], maxInFlight: 64, maxQueriesPerSecond: 100, timeoutMs: 5000 });
      const all = Promise.all(Array.from({ length: 41 }, (_, i) => r.lookup(`n${i}.rate.test`, 'A')));
      await vi.advanceTimersByTimeAsync(0);
      expect(r.queriesSent).toBe(11);
      const sent: number[] = [];
      for (let ms = 10; ms <= 320; ms += 10) {
        await vi.advanceTimersByTimeAsync(10);
        sent.push(r.queriesSent);
      }
      // One more every 10 ms until all 41 are out, and never two in one interval.
      expect(sent).toEqual(Array.from({ length: 32 }, (_, i) => Math.min(41, 12 + i)));
      await srv.arrived(41);
      const answers = await all;
      expect(answers.every((a) => a.status === 'ok')).toBe(true);
      expect(srv.state.total).toBe(41);
    } finally {
      vi.useRealTimers();
      await srv.close();
    }
  });

  it('never has more queries outstanding than maxInFlight, and sends the next as soon as one is answered', async () => {
    const srv = await countingServer('hold');
    try {
      // The deadline is a safety net: the test answers every held query itself, in turn.
      const r = new DnsResolver({ servers: [{ host: '127.0.0.1', port: srv.port }], maxInFlight: 3, timeoutMs: 20_000 });
      const all = Promise.all(Array.from({ length: 15 }, (_, i) => r.lookup(`n${i}.bound.test`, 'A')));
      await srv.arrived(3);
      expect(r.queriesSent).toBe(3); // three out, twelve waiting for a place
      for (let answered = 1; answered <= 15; answered++) {
        srv.releaseOne();
        const expected = Math.min(15, 3 + answered);
        await srv.arrived(expected);
        expect(r.queriesSent).toBe(expected);
        expect(srv.state.held).toBe(Math.min(3, 15 - answered));
      }
      const answers = await all;
      expect(answers.every((a) => a.status === 'ok')).toBe(true);
      expect(srv.state.total).toBe(15);
      expect(srv.state.peak).toBe(3);
    } finally {
      await srv.close();
    }
  });
});

describe('DnsResolver over shared sockets (bulk mode)', () => {
  const records: DnsRecord[] = [
    { name: 'ex.test', type: 'TXT', ttl: 60, value: 'v=spf1 -all' },
    { name: 'long.ex.test', type: 'TXT', ttl: 60, value: 'y'.repeat(1500) },
    ...Array.from({ length: 40 }, (_, i): DnsRecord => ({ name: `h${i}.ex.test`, type: 'A', ttl: 60, value: `192.0.2.${i + 1}` })),
  ];
  let srv: RunningServer;
  beforeAll(async () => {
    srv = await startServer({ records, zones: ['ex.test'], silent: ['quiet.ex.test'], maxUdpPayload: 512 });
  });
  afterAll(async () => srv?.close());

  it('matches many concurrent answers to their questions, falls back to TCP, and times out cleanly', async () => {
    // Two resolvers on shared sockets: the silent name's short deadline never meets the other answers.
    const r = new LocalResolver(srv, { silent: ['quiet.ex.test'], sharedTransport: 'udp' });
    const answers = await Promise.all(Array.from({ length: 40 }, (_, i) => r.lookup(`h${i}.ex.test`, 'A')));
    answers.forEach((a, i) => {
      expect(a.status).toBe('ok');
      expect(a.records).toEqual([`192.0.2.${i + 1}`]);
    });
    expect(txtValues(await r.lookup('long.ex.test', 'TXT'))).toEqual(['y'.repeat(1500)]);
    expect((await r.lookup('nothing.ex.test', 'TXT')).status).toBe('nxdomain');
    const quiet = await r.lookup('quiet.ex.test', 'TXT');
    expect(quiet.status).toBe('timeout');
    expect(r.queriesSent).toBe(43);
  });
});
