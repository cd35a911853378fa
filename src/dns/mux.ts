/**
 * Shared UDP sockets for many queries at once (bulk checks): a small pool of connected sockets per
 * server (the kernel drops datagrams from any other source), each query sent from a random one with a random free ID, answers matched by ID, source
 * address and question. Opening a socket per query costs more than the query itself when
 * thousands run per second. A truncated answer is asked again over TCP (wire.ts), and every
 * query has a deadline that always ends.
 */
import dgram from 'node:dgram';
import { isIpv6Address } from '../ipv6.js';
import { buildQuery, classifyReply, exchangeTcp, IgnoredReplies, PortClosed, queryKey, settleUdp, WireTimeout, type DnssecBits, type QueryKey, type ServerAddress, type UdpOutcome, type WireOptions, type WireResponse } from './wire.js';

interface Pending {
  server: ServerAddress;
  key: QueryKey;
  ignored: IgnoredReplies;
  resolve: (reply: UdpOutcome) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

/**
 * Whether a server's port was last found closed. Linux sends the ICMP "port unreachable" that tells
 * a connected socket so (see PortClosed) for only a few datagrams a second, so in a bulk run most
 * queries to a closed port would hear nothing and wait for their deadline: once one is refused, the
 * others fail at once, and a copy of one of them goes out every REFUSED_PROBE_MS, unwaited for, to
 * learn whether the port has opened again; any datagram from the server ends the refusal.
 */
class PortState {
  /** Set when the port was found closed; cleared by the next datagram from the server. */
  closed = false;
  /** When the last probe went out, on the monotonic clock (performance.now()): a wall clock set back would stop the probes. */
  probedAt = 0;
}

const REFUSED_PROBE_MS = 250;

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

  /** Fail what waits here: nothing listens at the server's port. */
  refuseWaiting(server: ServerAddress): void {
    const waiting = [...this.pending.values()];
    this.pending.clear();
    for (const p of waiting) {
      clearTimeout(p.timer);
      this.release();
      p.reject(new PortClosed(server));
    }
  }

  private receive(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    // Connected, the socket takes datagrams from the server alone: its port is open.
    this.port.closed = false;
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
  constructor(private readonly socketsPerServer = 4) {}

  private poolOf(server: ServerAddress): { sockets: PooledSocket[]; port: PortState } {
    const key = `${server.host}\u0000${server.port}`;
    let pool = this.pools.get(key);
    if (!pool) {
      const port = new PortState();
      const sockets: PooledSocket[] = [];
      const refused = (): void => {
        port.closed = true;
        port.probedAt = performance.now();
        for (const s of sockets) s.refuseWaiting(server);
      };
      for (let i = 0; i < this.socketsPerServer; i++) sockets.push(new PooledSocket(server, port, refused));
      this.pools.set(key, (pool = { sockets, port }));
    }
    return pool;
  }

  private udp(server: ServerAddress, name: string, type: string, rd: boolean, deadline: number, bits: DnssecBits): Promise<UdpOutcome> {
    const { sockets, port } = this.poolOf(server);
    const sock = sockets[Math.floor(Math.random() * sockets.length)]!;
    if (port.closed) {
      const now = performance.now();
      const probe = sock.connected && now - port.probedAt >= REFUSED_PROBE_MS;
      if (probe) {
        port.probedAt = now;
        sock.send(buildQuery(name, type, Math.floor(Math.random() * 0x10000), rd, bits));
      }
      // Failed on the loop's next turn, not at once: a caller that asks again on each failure (a
      // worker going down a list) would otherwise run on promise callbacks alone and never let the
      // loop turn, so no timer, no I/O, not even the probe (sent on setImmediate) nor its answer,
      // and the refusal could not end while the list lasted.
      // A query whose copy went out as the probe was sent (as pipelined TCP's nudges count).
      const refusal = new PortClosed(server, probe);
      return new Promise((_resolve, reject) => setImmediate(reject, refusal));
    }
    if (!sock.connected) return sock.ready.then(() => this.udp(server, name, type, rd, deadline, bits));
    let id = Math.floor(Math.random() * 0x10000);
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
      sock.pending.set(id, { server, key: queryKey(id, name, type), ignored, resolve, reject, timer });
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
