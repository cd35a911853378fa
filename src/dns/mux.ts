/**
 * Shared UDP sockets for many queries at once (bulk checks): a small pool of connected sockets per
 * server (the kernel drops datagrams from any other source), each query sent from a random one with a random free ID, answers matched by ID, source
 * address and question. Opening a socket per query costs more than the query itself when
 * thousands run per second. A truncated answer is asked again over TCP (wire.ts), and every
 * query has a deadline that always ends.
 */
import dgram from 'node:dgram';
import { isIpv6Address } from '../ipv6.js';
import { buildQuery, classifyReply, exchangeTcp, IgnoredReplies, PortClosed, queryKey, randomQueryId, settleUdp, WireTimeout, type DnssecBits, type QueryKey, type ServerAddress, type UdpOutcome, type WireOptions, type WireResponse } from './wire.js';

interface Pending {
  server: ServerAddress;
  key: QueryKey;
  ignored: IgnoredReplies;
  resolve: (reply: UdpOutcome) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
  /** The question, to ask it again should it meet a closed port (UdpMux.refused). */
  name: string;
  type: string;
  rd: boolean;
  bits: DnssecBits;
  deadline: number;
}

/** What a query asks (a Pending carries it too). */
interface Question {
  name: string;
  type: string;
  rd: boolean;
  bits: DnssecBits;
}

/** A question to a port known closed, waiting for the verdict of the next probe (PortState). */
interface Held {
  /** Ask it (the port is open, or nothing was heard of it). */
  again(): void;
  /** End it: the probe was refused too, or its deadline came. */
  fail(): void;
  timer: NodeJS.Timeout;
}

/**
 * A server's port found closed: the ICMP "port unreachable" a connected socket hears of (see
 * PortClosed). Linux sends those for only a few datagrams a second, so in a bulk run most queries
 * to a closed port would hear nothing and wait for their deadlines. Once one is refused, what was
 * waiting and what comes after is held, and REFUSED_PROBE_MS after the last probe a copy of one of
 * them goes out as the next probe: refused too, the held questions fail (the port was closed just
 * now); any datagram from the server, or no word within PROBE_VERDICT_MS, and they are asked. A
 * server restarting in that time loses no question, and one that is down fails each in a probe's time.
 */
class PortState {
  closed = false;
  readonly held = new Set<Held>();
  /** The last question held, which the next probe asks. */
  probeQuestion: Question | null = null;
  /** When the last probe went out, on the monotonic clock: a wall clock set back would stop the probes. */
  probedAt = -Infinity;
  probeTimer: NodeJS.Timeout | null = null;
  /** Set while a probe is out: its refusal is the verdict. */
  verdictTimer: NodeJS.Timeout | null = null;
}

const REFUSED_PROBE_MS = 50;
const PROBE_VERDICT_MS = 250;

class PooledSocket {
  readonly socket: dgram.Socket;
  readonly pending = new Map<number, Pending>();
  private refs = 0;
  /** Set once `ready` has resolved, so later queries skip waiting on it. */
  connected = false;
  /** Resolves once the socket is connected to its server (sends then skip the address step). */
  readonly ready: Promise<void>;
  private readonly afterSend: (err: Error | null) => void;
  constructor(
    server: ServerAddress,
    private readonly port: PortState,
    /** Told when this socket hears that nothing listens at the server's port (ECONNREFUSED). */
    onRefused: () => void,
    /** Told of a datagram from the server while its port is known closed. */
    private readonly onOpen: () => void,
  ) {
    this.socket = dgram.createSocket(isIpv6Address(server.host) ? 'udp6' : 'udp4');
    this.socket.on('message', (msg, rinfo) => this.receive(msg, rinfo));
    // The kernel tells of a closed port (see PortClosed) on the socket's next call: a receive, or,
    // in the midst of a burst, a send, whose error Node drops unless the send has a callback.
    // Other errors: an unanswered query ends at its deadline.
    const refusal = (err: NodeJS.ErrnoException | null): void => {
      if (err?.code === 'ECONNREFUSED') onRefused();
    };
    this.socket.on('error', refusal);
    this.afterSend = refusal;
    this.socket.unref();
    this.ready = new Promise((resolve, reject) => this.socket.connect(server.port, server.host, (err?: Error) => (err ? reject(err) : resolve())));
    this.ready.then(
      () => (this.connected = true),
      () => undefined,
    );
  }

  /** What waits here, taken off the socket: its datagrams met a closed port. */
  takeWaiting(): Pending[] {
    const waiting = [...this.pending.values()];
    this.pending.clear();
    for (const p of waiting) {
      clearTimeout(p.timer);
      this.release();
    }
    return waiting;
  }

  private receive(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    // Connected, the socket takes datagrams from the server alone: its port is open.
    if (this.port.closed) this.onOpen();
    if (msg.length < 12) return;
    const p = this.pending.get(msg.readUInt16BE(0));
    if (!p || rinfo.port !== p.server.port) return;
    // The same rule as a query on its own socket (wire.ts): what does not answer the question is ignored.
    const reply = classifyReply(msg, p.key);
    if (reply.kind === 'unrelated') {
      p.ignored.note(reply.why);
      return;
    }
    this.pending.delete(p.key.id);
    this.release();
    clearTimeout(p.timer);
    p.resolve(reply);
  }

  private readonly outbox: Buffer[] = [];

  /**
   * Queue a datagram; the queue goes out in one burst once the current batch of callbacks is done.
   * Sending each query the moment it is made wakes the server once per datagram, which costs far more
   * than the send itself; a burst wakes it once. Node tries each send synchronously first.
   */
  send(buf: Buffer): void {
    if (this.outbox.push(buf) === 1) setImmediate(() => this.flush());
  }

  private flush(): void {
    const batch = this.outbox.splice(0);
    for (const buf of batch) this.socket.send(buf, this.afterSend);
  }

  hold(): void {
    if (this.refs++ === 0) this.socket.ref();
  }

  release(): void {
    if (--this.refs === 0) this.socket.unref();
  }
}

export class UdpMux {
  private readonly pools = new Map<string, { sockets: PooledSocket[]; port: PortState }>();
  constructor(
    private readonly socketsPerServer = 4,
    /** Told of each probe written (PortState): a query no caller asked, sent all the same. */
    private readonly onUnaskedQuery: () => void = () => undefined,
  ) {}

  private poolOf(server: ServerAddress): { sockets: PooledSocket[]; port: PortState } {
    const key = `${server.host}\u0000${server.port}`;
    let pool = this.pools.get(key);
    if (!pool) {
      const port = new PortState();
      const sockets: PooledSocket[] = [];
      const refused = (): void => this.refused(server, port, sockets);
      const opened = (): void => this.settle(port, true);
      for (let i = 0; i < this.socketsPerServer; i++) sockets.push(new PooledSocket(server, port, refused, opened));
      this.pools.set(key, (pool = { sockets, port }));
    }
    return pool;
  }

  /** A socket heard that the port is closed: the probe's verdict when one is out; else what waits is held for the next probe. */
  private refused(server: ServerAddress, port: PortState, sockets: PooledSocket[]): void {
    // The first refusal counts as a probe: the next goes out REFUSED_PROBE_MS later, which is
    // what a restarting server has to come back in before what it refused fails.
    if (!port.closed) port.probedAt = performance.now();
    port.closed = true;
    for (const s of sockets) {
      for (const p of s.takeWaiting()) {
        this.hold(port, sockets, p, p.deadline, {
          again: () => void this.udp(p.server, p.name, p.type, p.rd, p.deadline, p.bits).then(p.resolve, p.reject),
          fail: () => p.reject(new PortClosed(server)),
        });
      }
    }
    if (port.verdictTimer) this.settle(port, false);
  }

  private hold(port: PortState, sockets: PooledSocket[], question: Question, deadline: number, what: Omit<Held, 'timer'>): void {
    const held: Held = {
      ...what,
      timer: setTimeout(() => {
        port.held.delete(held);
        // The last one held gone, no probe is wanted: one sent now would be counted for no question,
        // and its timers (ref'd) would keep the process up to REFUSED_PROBE_MS + PROBE_VERDICT_MS after
        // its last query. The port stays known closed; the next question held sends the next probe.
        if (port.held.size === 0) this.stopProbing(port);
        what.fail();
      }, Math.max(0, deadline - Date.now())),
    };
    port.held.add(held);
    port.probeQuestion = question;
    if (port.probeTimer || port.verdictTimer) return;
    port.probeTimer = setTimeout(() => {
      port.probeTimer = null;
      const sock = sockets.find((s) => s.connected);
      const q = port.probeQuestion;
      if (!sock || !q) return this.settle(port, true);
      port.probedAt = performance.now();
      sock.send(buildQuery(q.name, q.type, randomQueryId(), q.rd, q.bits));
      this.onUnaskedQuery();
      port.verdictTimer = setTimeout(() => this.settle(port, true), PROBE_VERDICT_MS);
    }, Math.max(0, port.probedAt + REFUSED_PROBE_MS - performance.now()));
  }

  private stopProbing(port: PortState): void {
    if (port.verdictTimer) clearTimeout(port.verdictTimer);
    if (port.probeTimer) clearTimeout(port.probeTimer);
    port.verdictTimer = port.probeTimer = null;
  }

  /** The probe's verdict: the held questions are asked (`open`: the port answered, or said nothing), or fail. */
  private settle(port: PortState, open: boolean): void {
    this.stopProbing(port);
    if (open) port.closed = false;
    const held = [...port.held];
    port.held.clear();
    for (const h of held) {
      clearTimeout(h.timer);
      if (open) h.again();
      else h.fail();
    }
  }

  private udp(server: ServerAddress, name: string, type: string, rd: boolean, deadline: number, bits: DnssecBits): Promise<UdpOutcome> {
    const { sockets, port } = this.poolOf(server);
    if (port.closed) {
      return new Promise((resolve, reject) =>
        this.hold(port, sockets, { name, type, rd, bits }, deadline, {
          again: () => void this.udp(server, name, type, rd, deadline, bits).then(resolve, reject),
          // Never sent: the resolver does not count it.
          fail: () => reject(new PortClosed(server, false)),
        }),
      );
    }
    const sock = sockets[randomQueryId() % sockets.length]!;
    if (!sock.connected) return sock.ready.then(() => this.udp(server, name, type, rd, deadline, bits));
    let id = randomQueryId();
    for (let tries = 0; sock.pending.has(id) && tries < 0x10000; tries++) id = (id + 1) & 0xffff;
    if (sock.pending.has(id)) return Promise.reject(new Error('too many queries in flight on one socket'));
    const buf = buildQuery(name, type, id, rd, bits);
    const ignored = new IgnoredReplies();
    return new Promise<UdpOutcome>((resolve, reject) => {
      const timer = setTimeout(() => {
        if (sock.pending.get(id)?.timer === timer) {
          sock.pending.delete(id);
          sock.release();
        }
        reject(new WireTimeout(server, name, type, ignored.describe()));
      }, Math.max(0, deadline - Date.now()));
      sock.pending.set(id, { server, key: queryKey(id, name, type), ignored, resolve, reject, timer, name, type, rd, bits, deadline });
      sock.hold();
      sock.send(buf);
    });
  }

  /** Same contract as wire.exchange: throws WireTimeout when the deadline passes. */
  exchange(server: ServerAddress, name: string, type: string, opts: WireOptions): Promise<WireResponse> {
    const deadline = Date.now() + opts.timeoutMs;
    const overTcp = () => exchangeTcp(server, name, type, { ...opts, timeoutMs: Math.max(1, deadline - Date.now()) });
    if (opts.tcpOnly) return overTcp().then((packet) => ({ packet, tcp: true }));
    return this.udp(server, name, type, opts.recursionDesired, deadline, opts).then((reply) => settleUdp(reply, overTcp));
  }
}
