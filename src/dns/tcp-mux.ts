/**
 * Many queries pipelined over one TCP connection per server (RFC 7766 §6.2.1.1), for bulk runs.
 * Over UDP each query costs a send and a receive system call and a callback of its own, which was
 * the largest part of a bulk check's CPU; here the queries of one turn of the event loop go out in
 * one write, and one read brings back many answers. Answers are matched by ID, then judged by the
 * rule every path shares (classifyReply): a reply to a waiting ID that does not answer its question
 * is a broken answer, as on any TCP connection, so an ID whose answer may still come (a question
 * that timed out, a nudge) is given to no other question on that connection. When the server closes a connection, what waits on
 * it is sent again on a new one within its deadline. A server that takes no TCP at all (refused, or
 * closed three times before any answer) is asked over the shared UDP sockets for the rest of the run.
 * A connection that falls silent with a few questions waiting writes a copy of one (a nudge), for a
 * server that holds its answers until the client's ACK.
 */
import net from 'node:net';
import { UdpMux } from './mux.js';
import { classifyReply, FramedQueryBuffer, formatServer, MalformedMessage, PortClosed, queryKey, randomQueryId, WireTimeout, type QueryKey, type ServerAddress, type WireOptions, type WireResponse } from './wire.js';
import type { WirePacket } from './packet.js';

interface Pending {
  key: QueryKey;
  name: string;
  type: string;
  opts: WireOptions;
  /** On the monotonic clock (performance.now()): a wall clock set back would stretch every wait. */
  deadline: number;
  /** PipelinedConnection.flushes when it was queued: a later flush wrote it (each takes the whole outbox). */
  queuedAt: number;
  /** Written before it was queued here, on a connection that closed since: writing it again is one more query sent. */
  again: boolean;
  resolve: (r: WireResponse) => void;
  reject: (err: Error) => void;
}

/** A connection that closes this many times in a row before any answer says the server takes no TCP. */
const FRUITLESS_CONNECTIONS = 3;

/**
 * A nudge (PipelinedConnection.nudge) is written after a silence this many times the quickest answer
 * seen on the connection, within these bounds, and only while this few questions wait: with many
 * waiting, a silence is the server at work, and past the upper bound (a server more than a few
 * milliseconds away) the held answer would come barely sooner than the delayed ACK lets it.
 */
const NUDGE_AFTER_QUICKEST = 4;
const NUDGE_MIN_MS = 2;
const NUDGE_MAX_MS = 20;
const NUDGE_WHEN_WAITING_AT_MOST = 16;
/**
 * A nudge that brings no answer within its own delay found nothing held: the server is only slow
 * (a resolver at work on a cache miss). After this many such nudges in a row, the connection
 * writes no more.
 */
const FRUITLESS_NUDGES = 2;
/**
 * A connection that owes this many answers no one waits for any more (PipelinedConnection.unclaimed)
 * is closed, and what waits on it is written again on a new one, where no late answer can come: the
 * IDs it holds back stay few, far from the 65,536 there are.
 */
const UNCLAIMED_AT_MOST = 4096;

/**
 * An answer that is decoded when its packet is read, once, by the one who asked. A read brings
 * hundreds of answers; decoded all at once, they waited together for their askers and lived through
 * young-generation collections into the old generation (a sixth of a run's garbage went there).
 * A broken answer throws MalformedMessage then, as the rule over TCP has it (classifyReply).
 */
class UndecodedAnswer implements WireResponse {
  readonly tcp = true;
  constructor(
    private readonly frame: Buffer,
    private readonly key: QueryKey,
  ) {}
  get packet(): WirePacket {
    const reply = classifyReply(this.frame, this.key);
    if (reply.kind === 'answer') return reply.packet;
    if (reply.kind === 'malformed') throw new MalformedMessage(reply.problem);
    if (reply.kind === 'truncated') throw new MalformedMessage('the answer over TCP is truncated (TC=1)');
    throw new MalformedMessage(`over TCP the server sent ${reply.why}`);
  }
}

class PipelinedConnection {
  private socket: net.Socket | null = null;
  private connected = false;
  private readonly pending = new Map<number, Pending>();
  private readonly outbox = new FramedQueryBuffer();
  private flushQueued = false;
  /** Batches written so far (Pending.queuedAt). */
  private flushes = 0;
  /** Questions in the outbox that had been written before (Pending.again): each counts as a query sent once written. */
  private rewrites = 0;
  /** The start of a frame whose rest has not come yet. */
  private partial: Buffer | null = null;
  private fruitless = 0;
  private answeredHere = 0;
  /** Set once the server is found to take no TCP: what waits goes to `onNoTcp`. */
  private refused = false;
  /**
   * One timer for every query waiting here, set for the earliest deadline among them: a timer per
   * query cost an object, a closure and two timer-list operations for each of thousands a second.
   */
  private sweep: NodeJS.Timeout | null = null;
  private sweepAt = Infinity;
  /** The last read or write on the connection (performance.now()). */
  private lastActivity = 0;
  /** The quickest answer on this connection so far, from being queued to being read (ms). */
  private quickest = Infinity;
  private nudgeTimer: NodeJS.Timeout | null = null;
  /** When the last nudge was written, until the next read; null when none is out. */
  private nudgedAt: number | null = null;
  /** Nudges in a row that brought no answer within their delay (FRUITLESS_NUDGES). */
  private fruitlessNudges = 0;
  /**
   * The IDs of what was written here (or is queued to be) whose answer no one waits for: nudges, and
   * questions that met their deadline. An answer may still come under each, so no question takes one
   * until it has (and is dropped) or the connection has closed: given out again, the ID would have the
   * late answer taken for the new question's (over TCP, an answer to another question: malformed).
   */
  private readonly unclaimed = new Set<number>();

  constructor(
    private readonly server: ServerAddress,
    private readonly onNoTcp: (p: Pending) => void,
    /** Told of each query written that no caller asked for (a nudge, a question asked again after its connection closed): each is a query sent. */
    private readonly onUnasked: () => void,
  ) {}

  /** Questions sent on this connection and not yet answered. */
  get waiting(): number {
    return this.pending.size;
  }

  /** An ID no question or nudge waiting here has, or null when all 65,536 are taken. */
  private freeId(): number | null {
    let id = randomQueryId();
    for (let tries = 0; (this.pending.has(id) || this.unclaimed.has(id)) && tries < 0x10000; tries++) id = (id + 1) & 0xffff;
    return this.pending.has(id) || this.unclaimed.has(id) ? null : id;
  }

  send(name: string, type: string, opts: WireOptions, deadline: number, again = false): Promise<WireResponse> {
    const id = this.freeId();
    if (id === null) return Promise.reject(new Error('too many queries in flight on one connection'));
    this.outbox.add(name, type, id, opts.recursionDesired, opts);
    if (again) this.rewrites++;
    return new Promise<WireResponse>((resolve, reject) => {
      this.pending.set(id, { key: queryKey(id, name, type), name, type, opts, deadline, queuedAt: this.flushes, again, resolve, reject });
      if (deadline < this.sweepAt) this.sweepFrom(deadline);
      this.queueFlush();
    });
  }

  /** Set the one timer for `at`, the earliest deadline of what waits. */
  private sweepFrom(at: number): void {
    if (this.sweep) clearTimeout(this.sweep);
    this.sweepAt = at;
    // Unref'd: while queries wait the socket holds the process (holdWhileWaiting), and after them nothing should.
    this.sweep = setTimeout(() => this.expire(), Math.max(0, at - performance.now())).unref();
  }

  /** End what waited past its deadline, and set the timer for the next deadline (none once nothing waits). */
  private expire(): void {
    this.sweep = null;
    this.sweepAt = Infinity;
    const now = performance.now();
    let next = Infinity;
    for (const [id, p] of this.pending) {
      if (p.deadline > now) {
        if (p.deadline < next) next = p.deadline;
        continue;
      }
      this.pending.delete(id);
      // Written, or about to be (the outbox goes out whole): its answer may still come under this ID.
      this.unclaimed.add(id);
      p.reject(new WireTimeout(this.server, p.name, p.type));
    }
    if (next < Infinity) this.sweepFrom(next);
    if (this.unclaimed.size >= UNCLAIMED_AT_MOST && this.connected && this.socket) {
      // Closed here and now, not on the 'close' event: nothing more is written on it meanwhile.
      const socket = this.socket;
      socket.destroy();
      this.closed(socket);
    }
    this.holdWhileWaiting();
  }

  private open(): net.Socket {
    const socket = net.createConnection({ host: this.server.host, port: this.server.port });
    socket.setNoDelay(true);
    this.socket = socket;
    this.connected = false;
    this.answeredHere = 0;
    socket.on('connect', () => {
      this.connected = true;
      this.flush();
    });
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    socket.on('error', () => {
      /* what it means is decided on 'close', which follows */
    });
    socket.on('close', () => this.closed(socket));
    return socket;
  }

  /** The process waits for this connection only while queries wait on it. */
  private holdWhileWaiting(): void {
    if (!this.socket) return;
    if (this.pending.size) this.socket.ref();
    else if (this.connected) this.socket.unref();
    else {
      // A connection still being made that no one waits for any more: given up, or a server that
      // drops the handshake would keep the process until the kernel stops trying (minutes).
      const socket = this.socket;
      this.socket = null;
      // closed() ignores this socket now: what it had queued (all timed out) must not go out on the next one.
      this.outbox.clear();
      this.rewrites = 0;
      this.unclaimed.clear();
      socket.destroy();
    }
  }

  private closed(socket: net.Socket): void {
    if (this.socket !== socket) return;
    const refusedOutright = !this.connected;
    this.socket = null;
    this.connected = false;
    this.partial = null;
    this.fruitless = this.answeredHere ? 0 : this.fruitless + 1;
    if (refusedOutright || this.fruitless >= FRUITLESS_CONNECTIONS) this.refused = true;
    const waiting = [...this.pending.values()];
    this.pending.clear();
    this.outbox.clear();
    // What the outbox held never went out: a question written before and queued again is counted when written.
    this.rewrites = 0;
    // No answer comes on another connection: every ID is free there.
    this.unclaimed.clear();
    this.nudgedAt = null;
    for (const p of waiting) {
      // Written already (on this connection or an earlier one): writing it again is one more query sent.
      const again = p.again || p.queuedAt < this.flushes;
      if (this.refused) {
        // Over UDP it goes out now (a datagram held for a closed port and never sent, the resolver uncounts).
        if (again) this.onUnasked();
        this.onNoTcp(p);
      } else if (performance.now() >= p.deadline) p.reject(new WireTimeout(this.server, p.name, p.type));
      else this.send(p.name, p.type, p.opts, p.deadline, again).then(p.resolve, p.reject);
    }
  }

  private receive(chunk: Buffer): void {
    let at = 0;
    // First the frame the last read cut off: only its missing octets are copied to it, not the whole read.
    while (this.partial && at < chunk.length) {
      const head = this.partial;
      const frameLength = head.length < 2 ? 2 : head.readUInt16BE(0) + 2;
      const take = Math.min(frameLength - head.length, chunk.length - at);
      const grown = Buffer.concat([head, chunk.subarray(at, at + take)]);
      at += take;
      this.partial = grown;
      if (grown.length >= 2 && grown.length === grown.readUInt16BE(0) + 2) {
        this.partial = null;
        this.answer(grown.subarray(2));
      }
    }
    while (chunk.length - at >= 2) {
      const len = chunk.readUInt16BE(at);
      if (chunk.length - at - 2 < len) break;
      this.answer(chunk.subarray(at + 2, at + 2 + len));
      at += 2 + len;
    }
    if (at < chunk.length) this.partial = Buffer.from(chunk.subarray(at));
    const now = performance.now();
    if (this.nudgedAt !== null) {
      const delay = this.nudgeDelayFor();
      this.fruitlessNudges = delay !== null && now - this.nudgedAt <= delay ? 0 : this.fruitlessNudges + 1;
      this.nudgedAt = null;
    }
    this.lastActivity = now;
    this.watchSilence();
    this.holdWhileWaiting();
  }

  /** The silence a nudge waits for on this connection (see NUDGE_AFTER_QUICKEST); null: none is written. */
  private nudgeDelayFor(): number | null {
    const delay = Math.max(NUDGE_MIN_MS, NUDGE_AFTER_QUICKEST * this.quickest);
    return delay <= NUDGE_MAX_MS ? delay : null;
  }

  /** How long a silence is let run before a nudge; null: no nudge (see NUDGE_AFTER_QUICKEST). */
  private nudgeDelay(): number | null {
    if (this.pending.size === 0 || this.pending.size > NUDGE_WHEN_WAITING_AT_MOST || this.nudgedAt !== null || this.fruitlessNudges >= FRUITLESS_NUDGES || !this.connected) return null;
    return this.nudgeDelayFor();
  }

  /** Arm the one silence timer, unless it is armed already (it looks at lastActivity when it fires). */
  private watchSilence(): void {
    if (this.nudgeTimer) return;
    const delay = this.nudgeDelay();
    if (delay === null) return;
    this.nudgeTimer = setTimeout(
      () => {
        this.nudgeTimer = null;
        // After this turn's reads: a timer can fire before the poll phase reads what has come.
        setImmediate(() => this.onSilence());
      },
      Math.max(1, delay - (performance.now() - this.lastActivity)),
    ).unref();
  }

  private onSilence(): void {
    const delay = this.nudgeDelay();
    if (delay === null) return;
    if (performance.now() - this.lastActivity < delay) return this.watchSilence();
    this.nudge();
  }

  /**
   * A server that leaves Nagle's algorithm on (Knot does) holds an answer while its previous one
   * is unacknowledged, and a client with nothing to send delays that ACK by 40 ms (Linux): a bulk
   * run's end stopped for 40 ms with its last answers held. Node cannot ask its kernel for
   * an immediate ACK (TCP_QUICKACK), but any data written carries one: after a silence, a copy of
   * the oldest waiting question goes out under an ID of its own, and its answer is dropped.
   */
  private nudge(): void {
    const oldest = this.pending.values().next().value as Pending | undefined;
    if (!oldest || this.unclaimed.size >= UNCLAIMED_AT_MOST) return;
    const id = this.freeId();
    if (id === null) return;
    this.outbox.add(oldest.name, oldest.type, id, oldest.opts.recursionDesired, oldest.opts);
    this.unclaimed.add(id);
    this.onUnasked();
    this.flush();
    this.nudgedAt = performance.now();
  }

  private answer(msg: Buffer): void {
    if (msg.length < 2) return;
    const id = msg.readUInt16BE(0);
    const p = this.pending.get(id);
    // No one waits for this ID: a nudge's answer, or a late answer to a question that timed out (its ID free again now).
    if (!p) {
      this.unclaimed.delete(id);
      return;
    }
    this.pending.delete(id);
    this.answeredHere++;
    // Queued at its deadline less its timeout (TcpMux.exchange sets the deadline so).
    const took = performance.now() - (p.deadline - p.opts.timeoutMs);
    if (took < this.quickest) this.quickest = took;
    p.resolve(new UndecodedAnswer(msg, p.key));
  }

  private queueFlush(): void {
    if (this.flushQueued) return;
    this.flushQueued = true;
    setImmediate(() => {
      this.flushQueued = false;
      this.flush();
    });
  }

  /** Everything queued in this turn of the event loop, in one write. */
  private flush(): void {
    if (this.outbox.empty) return;
    const socket = this.socket ?? this.open();
    if (!this.connected) return;
    const batch = this.outbox.take()!;
    this.flushes++;
    for (; this.rewrites > 0; this.rewrites--) this.onUnasked();
    this.holdWhileWaiting();
    this.lastActivity = performance.now();
    socket.write(batch);
  }
}

interface TcpMuxOptions {
  /** One by default: at 10,000 domains a second one cost 10% more CPU (twice the writes and reads) and gained nothing. */
  connectionsPerServer?: number;
  /**
   * Questions to a server go over the shared UDP sockets as long as at most this many are in
   * flight to it at once; the first beyond that switches the server to pipelined TCP for good.
   * 0 (the default) pipelines them from the first.
   * A few questions gain nothing from a connection and lose to its delayed ACKs: a server that
   * leaves Nagle's algorithm on (Knot does) holds every answer after the first of a write until
   * the client's ACK, which a client with nothing more to send delays by 40 ms. The switch is for
   * good: a bulk run's in-flight count drops near zero each time a read brings hundreds of answers,
   * and going back to UDP then cost a datagram and a timer for each of the next questions.
   */
  udpUntilInFlight?: number;
  /**
   * Told of each query written that no caller asked: a nudge (PipelinedConnection.nudge), a question
   * written again (on a new connection, or over UDP) after the connection it had gone out on closed,
   * or the probe of a closed UDP port (UdpMux). Each is a query sent.
   */
  onUnaskedQuery?: () => void;
}

/** How the questions to one server travel. */
interface Route {
  /** Created with the first question pipelined to the server. */
  connections: PipelinedConnection[] | null;
  /** Questions in flight over UDP before the switch to TCP (udpUntilInFlight). */
  overUdp: number;
  /** Set once udpUntilInFlight is passed (from the start when it is 0). */
  pipelining: boolean;
  /** Set when the server takes no TCP: its questions go over UDP for the rest of the run. */
  udpOnly: boolean;
}

export class TcpMux {
  private readonly routes = new Map<string, Route>();
  /** The route of each server object a resolver passes (the same objects every time): no address text to build per question. */
  private readonly routeOf = new WeakMap<ServerAddress, Route>();
  private readonly udp: UdpMux;
  private readonly connectionsPerServer: number;
  private readonly udpUntilInFlight: number;
  private readonly onUnaskedQuery: () => void;
  private turn = 0;

  constructor(opts: TcpMuxOptions = {}) {
    this.connectionsPerServer = opts.connectionsPerServer ?? 1;
    this.udpUntilInFlight = opts.udpUntilInFlight ?? 0;
    this.onUnaskedQuery = opts.onUnaskedQuery ?? (() => undefined);
    this.udp = new UdpMux(undefined, this.onUnaskedQuery);
  }

  private route(server: ServerAddress): Route {
    let route = this.routeOf.get(server);
    if (route) return route;
    const key = formatServer(server);
    route = this.routes.get(key);
    if (!route) this.routes.set(key, (route = { connections: null, overUdp: 0, pipelining: this.udpUntilInFlight === 0, udpOnly: false }));
    this.routeOf.set(server, route);
    return route;
  }

  /** Same contract as wire.exchange: throws WireTimeout when the deadline passes. */
  exchange(server: ServerAddress, name: string, type: string, opts: WireOptions): Promise<WireResponse> {
    const route = this.route(server);
    if (route.udpOnly) return this.udp.exchange(server, name, type, opts);
    if (!route.pipelining) {
      if (route.overUdp < this.udpUntilInFlight) {
        // Counted once the exchange exists: building the query may throw (a name too long to send).
        const reply = this.udp.exchange(server, name, type, opts);
        route.overUdp++;
        reply.then(
          () => void route.overUdp--,
          (err: unknown) => {
            route.overUdp--;
            // No answer over UDP, or its port closed: the path or the server may carry TCP alone (a
            // tunnel, a firewall), so what follows, the next attempt included, is pipelined.
            if (err instanceof WireTimeout || err instanceof PortClosed) route.pipelining = true;
          },
        );
        return reply;
      }
      route.pipelining = true;
    }
    if (!route.connections) {
      const overUdp = (p: Pending): void => {
        route.udpOnly = true;
        this.udp.exchange(server, p.name, p.type, { ...p.opts, timeoutMs: Math.max(1, p.deadline - performance.now()) }).then(p.resolve, p.reject);
      };
      route.connections = Array.from({ length: this.connectionsPerServer }, () => new PipelinedConnection(server, overUdp, this.onUnaskedQuery));
    }
    const connections = route.connections;
    return connections[this.turn++ % connections.length]!.send(name, type, opts, performance.now() + opts.timeoutMs);
  }
}
