/**
 * Pipelined TCP (the default transport of bulk checks) against servers that answer out of order,
 * close connections under it, take no TCP at all, or say nothing: every query still gets its own
 * answer or an honest failure within its deadline.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { DnsResolver } from '../../../src/dns/resolver.js';
import { bulkResolverSettings, UDP_UNTIL_IN_FLIGHT } from '../../../src/check/settings.js';
import { runCli } from '../../helpers/cli.js';
import { SYSTEM_PYTHON } from '../../helpers/programs.js';
import { answer, frame, onTcpQueries, rdata, readQuery, startHostileDns, T, type HostileQuery } from '../../helpers/hostile-dns.js';

const TIMEOUT_MS = 1500;
const closers: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

/** Each name's TXT record says its own name, so an answer given to the wrong query shows. */
const txtOfName = (q: HostileQuery): Buffer => answer(q, { answers: [{ name: { pointer: 12 }, type: T.TXT, rdata: rdata.txt(`name=${q.name}`) }] });
const names = (n: number): string[] => Array.from({ length: n }, (_, i) => `n${i}.pipe.test`);
const pipelined = (port: number, timeoutMs = TIMEOUT_MS): DnsResolver =>
  new DnsResolver({ servers: [{ host: '127.0.0.1', port }], timeoutMs, attempts: 1, sharedTransport: 'tcp', maxInFlight: 128, cache: false });

/** One of the Python listeners below, killed after the test: its port (its first line) and what it has printed since. */
async function pythonListener(script: string): Promise<{ listener: ChildProcess; port: number; seen: () => string }> {
  const listener = spawn(SYSTEM_PYTHON, ['-c', script], { stdio: ['pipe', 'pipe', 'inherit'] });
  closers.push(() => void listener.kill());
  let seen = '';
  const port = await new Promise<string>((resolve) => listener.stdout!.once('data', (d: Buffer) => resolve(d.toString().trim())));
  listener.stdout!.on('data', (d: Buffer) => void (seen += d.toString()));
  return { listener, port: Number(port), seen: () => seen };
}

/** A TCP-only server on 127.0.0.1 whose connections `serve` sets up, reader included; closed after the test. */
async function tcpServer(serve: (socket: net.Socket, queries: HostileQuery[]) => void): Promise<{ port: number; connections: () => number; queries: HostileQuery[] }> {
  let connections = 0;
  const queries: HostileQuery[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    connections++;
    sockets.add(socket);
    socket.setNoDelay(true);
    socket.on('error', () => socket.destroy());
    serve(socket, queries);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  closers.push(
    () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  );
  return { port: (server.address() as net.AddressInfo).port, connections: () => connections, queries };
}

/** A TCP-only server that hands each query it reads to `onQuery`. */
const tcpOnlyServer = (onQuery: (q: HostileQuery, socket: net.Socket) => void) =>
  tcpServer((socket, queries) =>
    onTcpQueries(socket, (q) => {
      queries.push(q);
      onQuery(q, socket);
    }),
  );

/** Answers every query after a random delay, so the answers come back out of order. */
const outOfOrderServer = () =>
  tcpOnlyServer((q, socket) => {
    setTimeout(() => {
      if (!socket.destroyed) socket.write(frame(txtOfName(q)));
    }, Math.floor(Math.random() * 30));
  });

describe('pipelined TCP', () => {
  it('matches answers that come back out of order to their own queries, over one connection', async () => {
    const srv = await outOfOrderServer();
    const r = pipelined(srv.port);
    const all = names(300);
    const answers = await Promise.all(all.map((n) => r.lookup(n, 'TXT')));
    expect(answers.map((a) => a.records)).toEqual(all.map((n) => [[`name=${n}`]]));
    // Each asked once; a silence with few left waiting may add a nudge, a copy counted as sent.
    expect(new Set(srv.queries.map((q) => q.name)).size).toBe(300);
    expect(r.queriesSent).toBe(srv.queries.length);
    expect(srv.connections()).toBe(1);
  });

  it('puts together answers that arrive cut into pieces at any octet', async () => {
    const out: Buffer[] = [];
    const srv = await tcpOnlyServer((q, socket) => {
      out.push(frame(txtOfName(q)));
      if (out.length < 20) return;
      // All twenty answers as one stream, written seven octets at a time.
      const stream = Buffer.concat(out.splice(0));
      let at = 0;
      const next = (): void => {
        if (at >= stream.length || socket.destroyed) return;
        socket.write(stream.subarray(at, (at += 7)));
        setTimeout(next, 1);
      };
      next();
    });
    const r = pipelined(srv.port, 5000);
    const all = names(20);
    const answers = await Promise.all(all.map((n) => r.lookup(n, 'TXT')));
    expect(answers.map((a) => a.records)).toEqual(all.map((n) => [[`name=${n}`]]));
  });

  /**
   * A server that holds an answer while an earlier one is unacknowledged, as a kernel with Nagle's
   * algorithm on does (Knot's), and takes the client's next data as the acknowledgement (a client
   * kernel with nothing to send delays its ACK by 40 ms; this one never sends it).
   */
  const naglingServer = () =>
    tcpServer((socket, queries) => {
      const held: Buffer[] = [];
      let unacknowledged = false;
      // Registered before the query reader: data from the client first acknowledges what went out.
      socket.on('data', () => {
        unacknowledged = held.length > 0;
        if (held.length) socket.write(Buffer.concat(held.splice(0)));
      });
      onTcpQueries(socket, (q) => {
        queries.push(q);
        const out = frame(txtOfName(q));
        if (unacknowledged) held.push(out);
        else {
          socket.write(out);
          unacknowledged = true;
        }
      });
    });

  it('gets an answer a server holds for an acknowledgement: after a silence it writes a copy of the waiting question, whose own answer is dropped', async () => {
    const srv = await naglingServer();
    const r = pipelined(srv.port);
    // One at a time first (each answered at once, as nothing is unacknowledged): the quickest answer
    // sets how long a silence is let run, and a loaded machine may slow some of them.
    const warmUp = Array.from({ length: 8 }, (_, i) => `w${i}.pipe.test`);
    for (const n of warmUp) expect((await r.lookup(n, 'TXT')).status).toBe('ok');
    const [first, second] = await Promise.all([r.lookup('first.pipe.test', 'TXT'), r.lookup('second.pipe.test', 'TXT')]);
    expect(first.records).toEqual([['name=first.pipe.test']]);
    // Held until the client wrote again: without the copy, a timeout.
    expect(second.status).toBe('ok');
    expect(second.records).toEqual([['name=second.pipe.test']]);
    expect(srv.queries.map((q) => q.name)).toEqual([...warmUp, 'first.pipe.test', 'second.pipe.test', 'second.pipe.test']);
    expect(new Set(srv.queries.slice(-3).map((q) => q.id)).size).toBe(3);
    // The copy is counted as a query sent.
    expect(r.queriesSent).toBe(warmUp.length + 3);
  });

  it('writes no copy while many questions wait: a silence then is the server at work', async () => {
    let answered = 0;
    const late: (() => void)[] = [];
    const srv = await tcpOnlyServer((q, socket) => {
      const send = (): void => void (socket.destroyed || socket.write(frame(txtOfName(q))));
      // The first answer at once, the other 39 together a little later.
      if (answered++ === 0) return send();
      late.push(send);
      if (late.length === 39) setTimeout(() => late.forEach((f) => f()), 100);
    });
    const r = pipelined(srv.port);
    const all = names(40);
    const answers = await Promise.all(all.map((n) => r.lookup(n, 'TXT')));
    expect(answers.map((a) => a.records)).toEqual(all.map((n) => [[`name=${n}`]]));
    expect(srv.queries.length).toBe(40);
    expect(r.queriesSent).toBe(40);
  });

  it('sends again, on a new connection, what waited on one the server closed', async () => {
    let answered = 0;
    const srv = await startHostileDns((q) => {
      if (q.transport === 'udp') return null;
      const framed = frame(txtOfName(q));
      // Every seventh answer is the connection's last: what else waits on it is lost.
      return { raw: framed, close: ++answered % 7 === 0 };
    });
    closers.push(() => srv.close());
    const r = pipelined(srv.port);
    const all = names(100);
    const answers = await Promise.all(all.map((n) => r.lookup(n, 'TXT')));
    expect(answers.map((a) => a.records)).toEqual(all.map((n) => [[`name=${n}`]]));
    expect(srv.queries.every((q) => q.transport === 'tcp')).toBe(true);
    // Each question written again counts as a query sent: at least every one the server read (some
    // written were lost unread with their connection).
    expect(srv.queries.length).toBeGreaterThan(all.length);
    expect(r.queriesSent).toBeGreaterThanOrEqual(srv.queries.length);
  });

  it('asks over UDP a server that closes every connection before answering', async () => {
    const srv = await startHostileDns((q) => (q.transport === 'tcp' ? { raw: Buffer.alloc(0), close: true } : txtOfName(q)));
    closers.push(() => srv.close());
    const r = pipelined(srv.port);
    const all = names(40);
    const answers = await Promise.all(all.map((n) => r.lookup(n, 'TXT')));
    expect(answers.map((a) => a.records)).toEqual(all.map((n) => [[`name=${n}`]]));
    expect(srv.queries.filter((q) => q.transport === 'udp').length).toBeGreaterThanOrEqual(40);
  });

  it('asks over UDP a server with no TCP listener at all', async () => {
    const udp = dgram.createSocket('udp4');
    udp.on('message', (msg, rinfo) => {
      const q = readQuery(msg, 'udp');
      if (q) udp.send(txtOfName(q), rinfo.port, rinfo.address);
    });
    await new Promise<void>((resolve) => udp.bind(0, '127.0.0.1', () => resolve()));
    closers.push(() => new Promise<void>((r) => udp.close(() => r())));
    const port = udp.address().port;
    // Nothing listens on this TCP port (a listener would have to be ours, and we hold none).
    const r = pipelined(port);
    const answers = await Promise.all(names(20).map((n) => r.lookup(n, 'TXT')));
    expect(answers.map((a) => a.status)).toEqual(Array(20).fill('ok'));
  });

  it('ends a query the server never answers at its deadline, a timeout and not "no record"', async () => {
    const srv = await startHostileDns(() => null);
    closers.push(() => srv.close());
    const r = pipelined(srv.port, 300);
    const started = Date.now();
    const a = await r.lookup('silent.pipe.test', 'TXT');
    expect(a.status).toBe('timeout');
    expect(Date.now() - started).toBeLessThan(300 + 1000);
  });

  it('sends again what a connection cut in the middle of a frame left waiting', async () => {
    let cut = false;
    const srv = await startHostileDns((q) => {
      if (q.transport === 'udp') return null;
      const msg = txtOfName(q);
      if (!cut) {
        cut = true;
        return { raw: frame(msg).subarray(0, 9), close: true };
      }
      return msg;
    });
    closers.push(() => srv.close());
    const r = pipelined(srv.port);
    expect(await r.lookup('cut.pipe.test', 'TXT')).toMatchObject({ status: 'ok', records: [['name=cut.pipe.test']] });
  });

  it('asks over UDP until more than udpUntilInFlight questions are in flight, then pipelines everything', async () => {
    const srv = await startHostileDns((q) => txtOfName(q));
    closers.push(() => srv.close());
    const r = new DnsResolver({ servers: [{ host: srv.host, port: srv.port }], timeoutMs: TIMEOUT_MS, attempts: 1, sharedTransport: 'tcp', udpUntilInFlight: 4, maxInFlight: 128, cache: false });
    // One at a time: each is alone in flight.
    for (const n of names(3)) expect(await r.lookup(n, 'TXT')).toMatchObject({ status: 'ok', records: [[`name=${n}`]] });
    expect(srv.queries.map((q) => q.transport)).toEqual(['udp', 'udp', 'udp']);
    // Forty at once: the first four go over UDP, the other 36 over the pipelined connection.
    const burst = Array.from({ length: 40 }, (_, i) => `b${i}.pipe.test`);
    const answers = await Promise.all(burst.map((n) => r.lookup(n, 'TXT')));
    expect(answers.map((a) => a.records)).toEqual(burst.map((n) => [[`name=${n}`]]));
    const sent = srv.queries.slice(3);
    expect(sent.filter((q) => q.transport === 'udp').length).toBe(4);
    // Over the connection, nudges aside (copies of questions sent there, after a silence).
    expect(new Set(sent.filter((q) => q.transport === 'tcp').map((q) => q.name)).size).toBe(36);
    // For good: a question alone now goes over the connection too.
    expect(await r.lookup('after.pipe.test', 'TXT')).toMatchObject({ status: 'ok', records: [['name=after.pipe.test']] });
    expect(srv.queries.at(-1)).toMatchObject({ name: 'after.pipe.test', transport: 'tcp' });
  });

  it('a server that answers over TCP alone: the UDP-first attempt times out and the retry, and all after it, go over the connection', async () => {
    const srv = await tcpOnlyServer((q, socket) => socket.write(frame(txtOfName(q))));
    const r = new DnsResolver({ servers: [{ host: '127.0.0.1', port: srv.port }], timeoutMs: 300, attempts: 2, sharedTransport: 'tcp', udpUntilInFlight: 4, maxInFlight: 128, cache: false });
    expect(await r.lookup('first.pipe.test', 'TXT')).toMatchObject({ status: 'ok', records: [['name=first.pipe.test']] });
    expect(await r.lookup('second.pipe.test', 'TXT')).toMatchObject({ status: 'ok', records: [['name=second.pipe.test']] });
    expect(srv.queries.map((q) => q.name)).toEqual(['first.pipe.test', 'second.pipe.test']);
  });

  it("check's settings: auto starts over UDP, --transport tcp pipelines from the first question (a path with no UDP answers at once)", async () => {
    expect(bulkResolverSettings(32).udpUntilInFlight).toBe(UDP_UNTIL_IN_FLIGHT);
    const srv = await tcpOnlyServer((q, socket) => socket.write(frame(txtOfName(q))));
    const r = new DnsResolver({ servers: [{ host: '127.0.0.1', port: srv.port }], timeoutMs: 300, attempts: 1, cache: false, ...bulkResolverSettings(32, 'tcp') });
    expect(await r.lookup('only.pipe.test', 'TXT')).toMatchObject({ status: 'ok', records: [['name=only.pipe.test']] });
    expect(srv.connections()).toBe(1);
  });

  it('a question that cannot be sent (a name over 255 octets) does not count as in flight over UDP', async () => {
    const srv = await startHostileDns((q) => txtOfName(q));
    closers.push(() => srv.close());
    const r = new DnsResolver({ servers: [{ host: srv.host, port: srv.port }], timeoutMs: TIMEOUT_MS, attempts: 1, sharedTransport: 'tcp', udpUntilInFlight: 2, maxInFlight: 128, cache: false });
    const tooLong = `${'a'.repeat(60)}.${'b'.repeat(60)}.${'c'.repeat(60)}.${'d'.repeat(60)}.${'e'.repeat(20)}.pipe.test`;
    for (let i = 0; i < 5; i++) expect((await r.lookup(tooLong, 'TXT')).status).not.toBe('ok');
    expect(await r.lookup('fine.pipe.test', 'TXT')).toMatchObject({ status: 'ok' });
    expect(srv.queries.at(-1)).toMatchObject({ name: 'fine.pipe.test', transport: 'udp' });
  });

  it('what waited on a connection given up before the handshake is not sent on the next one', async () => {
    const { listener, port, seen } = await pythonListener(BACKLOG_FULL_THEN_LISTEN);
    const r = pipelined(port);
    const stuck = await Promise.all([r.lookup('stale1.pipe.test', 'TXT'), r.lookup('stale2.pipe.test', 'TXT')]);
    expect(stuck.map((a) => a.status)).toEqual(['timeout', 'timeout']);
    // The listener now takes connections: the next question goes out on a new one, alone.
    listener.stdin!.write('go\n');
    await expect.poll(seen, { timeout: 10_000 }).toContain('ready');
    const fresh = r.lookup('fresh.pipe.test', 'TXT');
    await expect.poll(seen, { timeout: 10_000 }).toContain('fresh.pipe.test');
    expect(seen().trim().split('\n')).toEqual(['ready', 'fresh.pipe.test']);
    expect((await fresh).status).toBe('timeout');
  });

  it('a question sent again on a new connection that never comes up is not counted as sent again', async () => {
    // The server reads the question, fills its accept queue and closes the connection: the new
    // connection the question waits on never completes its handshake, and the question times out unwritten.
    const { port, seen } = await pythonListener(READ_ONE_THEN_BACKLOG_FULL);
    const r = pipelined(port, 400);
    expect((await r.lookup('once.pipe.test', 'TXT')).status).toBe('timeout');
    expect(seen().trim().split('\n')).toEqual(['once.pipe.test']);
    // Written once: one query sent.
    expect(r.queriesSent).toBe(1);
  });

  it('a server that is only slow gets at most two nudges a connection, not one a read', async () => {
    // The first eight at once (the quickest answer is quick), then one answer every 150 ms, none in
    // reply to a nudge: only a client stalled for that long could take a nudge for a useful one.
    let answered = 0;
    let next = Promise.resolve();
    const srv = await tcpOnlyServer((q, socket) => {
      const send = (): void => void (socket.destroyed || socket.write(frame(txtOfName(q))));
      if (answered++ < 8) return send();
      next = next.then(() => new Promise<void>((resolve) => setTimeout(() => (send(), resolve()), 150)));
    });
    const r = pipelined(srv.port, 5000);
    for (let i = 0; i < 8; i++) await r.lookup(`w${i}.pipe.test`, 'TXT');
    const all = names(8);
    const answers = await Promise.all(all.map((n) => r.lookup(n, 'TXT')));
    expect(answers.map((a) => a.records)).toEqual(all.map((n) => [[`name=${n}`]]));
    // Without the limit, one copy a read: seven. (On a machine too loaded for a quick answer, none.)
    expect(srv.queries.length - 16).toBeLessThanOrEqual(2);
    expect(r.queriesSent).toBe(srv.queries.length);
  });

  it('a late answer to a question that timed out is never taken for the answer of a later question its ID would have been given', async () => {
    // The server holds the answers of the first questions past their timeout. When a later question
    // comes under the ID of one of them, it writes that late answer first, then the later question's
    // own: a connection that had given the ID out again took the late answer for the new question's
    // (over TCP an answer to another question under a waiting ID is a broken answer: malformed).
    const late = new Map<number, Buffer>();
    let reused = 0;
    const srv = await tcpOnlyServer((q, socket) => {
      const out = frame(txtOfName(q));
      if (q.name.startsWith('late')) return void late.set(q.id, out);
      const held = late.get(q.id);
      late.delete(q.id);
      if (held) reused++;
      socket.write(held ? Buffer.concat([held, out]) : out);
    });
    // A thousand held IDs and a thousand later questions: some fifteen of these would meet one of those.
    const r = new DnsResolver({ servers: [{ host: '127.0.0.1', port: srv.port }], timeoutMs: TIMEOUT_MS, attempts: 1, sharedTransport: 'tcp', maxInFlight: 2048, cache: false });
    const first = Array.from({ length: 1000 }, (_, i) => `late${i}.pipe.test`);
    expect(new Set((await Promise.all(first.map((n) => r.lookup(n, 'TXT')))).map((a) => a.status))).toEqual(new Set(['timeout']));
    const then = Array.from({ length: 1000 }, (_, i) => `then${i}.pipe.test`);
    const answers = await Promise.all(then.map((n) => r.lookup(n, 'TXT')));
    // Each later question has its own answer; none got a late one.
    expect(answers.filter((a) => a.status !== 'ok').map((a) => `${a.name}: ${a.status} ${a.detail ?? ''}`)).toEqual([]);
    expect(answers.map((a) => a.records)).toEqual(then.map((n) => [[`name=${n}`]]));
    // No later question was given an ID whose answer was still to come on the connection.
    expect(reused).toBe(0);
    expect(srv.connections()).toBe(1);
    // Every question written once (and any nudge) counted as it was read.
    expect(r.queriesSent).toBe(srv.queries.length);
  });

  it('a connection that owes 4,096 late answers is replaced by a new one, so the IDs held back for them never run out', async () => {
    const srv = await tcpOnlyServer(() => undefined); // reads every question, answers none
    const r = new DnsResolver({ servers: [{ host: '127.0.0.1', port: srv.port }], timeoutMs: 300, attempts: 1, sharedTransport: 'tcp', maxInFlight: 8192, cache: false });
    const owed = Array.from({ length: 4096 }, (_, i) => `owed${i}.pipe.test`);
    expect(new Set((await Promise.all(owed.map((n) => r.lookup(n, 'TXT')))).map((a) => a.status))).toEqual(new Set(['timeout']));
    expect((await r.lookup('next.pipe.test', 'TXT')).status).toBe('timeout');
    expect(srv.connections()).toBe(2);
    expect(srv.queries.at(-1)!.name).toBe('next.pipe.test');
    expect(r.queriesSent).toBe(srv.queries.length);
  });

  it('a server that never completes the TCP handshake: the run ends with its questions, not when the kernel stops trying', async () => {
    // A listener whose accept queue is full and never served: Linux drops the next handshakes, so a connect stays pending.
    const { port } = await pythonListener(BACKLOG_FULL);
    const r = await runCli(['check', 'example.com', '--nameserver', `127.0.0.1:${port}`, '--transport', 'tcp', '--timeout', '300', '--json'], { killAfterMs: 30_000 });
    expect(r.code).toBe(3);
    expect(JSON.parse(r.stdout).summary).toMatchObject({ domains: 1, dnsError: 1 });
  });
});

/** Python that listens with a backlog of one and fills it with connections it never accepts, then prints its port. */
const FILL_BACKLOG = [
  "s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen(0)",
  'fill = []',
  'for _ in range(4):',
  '    c = socket.socket(); c.setblocking(False)',
  "    try: c.connect(('127.0.0.1', s.getsockname()[1]))",
  '    except BlockingIOError: pass',
  '    fill.append(c)',
  'print(s.getsockname()[1], flush=True)',
];

/** Listens with a full accept queue it never serves (FILL_BACKLOG), and waits. */
const BACKLOG_FULL = ['import socket, time', ...FILL_BACKLOG, 'time.sleep(120)'].join('\n');

/**
 * Like BACKLOG_FULL until a line comes on its standard input; then it drops its fillers, empties its
 * accept queue, prints "ready", and from then on accepts every connection and prints the question
 * name of each DNS message read on any of them (it answers none).
 */
const BACKLOG_FULL_THEN_LISTEN = [
  'import socket, selectors, sys',
  ...FILL_BACKLOG,
  'sys.stdin.readline()',
  'for c in fill: c.close()',
  's.setblocking(False)',
  'while True:',
  '    try: s.accept()[0].close()',
  '    except BlockingIOError: break',
  'print("ready", flush=True)',
  'sel = selectors.DefaultSelector(); sel.register(s, selectors.EVENT_READ); data = {}',
  'while True:',
  '    for key, _ in sel.select():',
  '        if key.fileobj is s:',
  '            c, _ = s.accept(); c.setblocking(False); data[c] = b""; sel.register(c, selectors.EVENT_READ)',
  '            continue',
  '        c = key.fileobj; got = c.recv(65536)',
  '        if not got: sel.unregister(c); continue',
  '        data[c] += got',
  '        while len(data[c]) >= 2 and len(data[c]) >= 2 + int.from_bytes(data[c][:2], "big"):',
  '            n = int.from_bytes(data[c][:2], "big"); msg = data[c][2:2 + n]; data[c] = data[c][2 + n:]',
  '            at, labels = 12, []',
  '            while msg[at]: labels.append(msg[at + 1:at + 1 + msg[at]].decode()); at += 1 + msg[at]',
  '            print(".".join(labels), flush=True)',
].join('\n');

/**
 * Listens with a backlog of one, takes one connection and reads one DNS message from it, prints its
 * question name, fills its accept queue (as FILL_BACKLOG does), closes the connection and waits.
 */
const READ_ONE_THEN_BACKLOG_FULL = [
  'import socket, time',
  "s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen(0)",
  'print(s.getsockname()[1], flush=True)',
  'c, _ = s.accept(); got = b""',
  'while len(got) < 2 or len(got) < 2 + int.from_bytes(got[:2], "big"): got += c.recv(65536)',
  'msg = got[2:]; at, labels = 12, []',
  'while msg[at]: labels.append(msg[at + 1:at + 1 + msg[at]].decode()); at += 1 + msg[at]',
  'fill = []',
  'for _ in range(4):',
  '    f = socket.socket(); f.setblocking(False)',
  "    try: f.connect(('127.0.0.1', s.getsockname()[1]))",
  '    except BlockingIOError: pass',
  '    fill.append(f)',
  'c.close()',
  'print(".".join(labels), flush=True)',
  'time.sleep(120)',
].join('\n');
