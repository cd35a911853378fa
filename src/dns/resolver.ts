/**
 * The one resolver abstraction every check goes through. A check never imports node:dns or
 * dns2 itself: it is handed a Resolver, which is what lets tests aim every check at a local
 * server and lets `--nameserver` reach every sub-check.
 *
 * Answers keep "no such name", "no such record", "server failed" and "no answer in time"
 * apart: a timeout is a temporary failure, never "no record".
 */
import { readFileSync } from 'node:fs';
import { DnsTemporaryError, InputError } from '../errors.js';
import type { DnskeyValue, DsValue, MxValue, SoaValue, TlsaValue } from '../records.js';
import { isAtOrBelow, normalizeName } from '../names.js';
import { TYPE, RCODE, type WirePacket, type WireRecord } from './packet.js';
import { AFTER_TRUNCATION, exchange, formatServer, MalformedMessage, parseServer, PortClosed, WireTimeout, type DnssecBits, type ServerAddress, type WireResponse } from './wire.js';
import { UdpMux } from './mux.js';
import { DEFAULT_TIMEOUT_MS } from './defaults.js';
import { isIpAddress } from '../ipv6.js';
import { TcpMux } from './tcp-mux.js';

export type RRType = 'A' | 'AAAA' | 'CNAME' | 'MX' | 'NS' | 'PTR' | 'SOA' | 'TXT' | 'SPF' | 'DNSKEY' | 'DS' | 'TLSA';

export interface RDataMap {
  A: string;
  AAAA: string;
  CNAME: string;
  MX: MxValue;
  NS: string;
  PTR: string;
  SOA: SoaValue;
  /** One TXT record: its character-strings, in order (join them for the logical value). */
  TXT: string[];
  SPF: string[];
  DNSKEY: DnskeyValue;
  DS: DsValue;
  TLSA: TlsaValue;
}

/** `malformed`: the server's answer could not be decoded whole or contradicts itself (see wire.ts). */
export type DnsStatus = 'ok' | 'nxdomain' | 'nodata' | 'servfail' | 'refused' | 'timeout' | 'malformed' | 'error';

export interface DnsAnswer<T> {
  name: string;
  type: RRType;
  status: DnsStatus;
  records: T[];
  /** Smallest TTL of the answer RRset, null when there is none. */
  ttl: number | null;
  /** The AA flag of the final response. */
  authoritative: boolean;
  /** The AD flag of the final response (RFC 6840 §5.7: a validating resolver found it secure); undefined in answers no server gave. */
  authenticData?: boolean | undefined;
  /** Which server answered (or was last tried). */
  server: string | null;
  /** CNAME targets followed to reach the answer, in order. */
  cnameChain: string[];
  /** Transport or server detail for failures. The resolver's answers carry both keys, undefined when there is nothing to say (one shape: see failedAnswer). */
  detail?: string | undefined;
  /**
   * The RCODE of a response that is status `error` for it: an RCODE without a status of its own
   * (FORMERR 1, NOTIMP 4, NOTAUTH 9, an extended one such as BADVERS 16). Undefined in every other
   * answer (the status says the RCODE, or no server gave one). Set on that error path alone: the
   * resolver's answers carry the key, undefined, as they do `detail`.
   */
  rcode?: number | undefined;
}

export interface Resolver {
  lookup<T extends RRType>(name: string, type: T): Promise<DnsAnswer<RDataMap[T]>>;
  /**
   * A view for one unit of work (a domain of a run) with a deadline of its own; absent: no deadline.
   * `subject`: the domain the work is about; see DnsResolver.scope.
   */
  scope?(subject?: string): ScopedResolver;
}

/** A Resolver for one unit of work; end() once the work is done (it frees the deadline's timer). */
interface ScopedResolver extends Resolver {
  /** The resolver this is a view of: the same servers and the same answers (what is worked out from answers may be shared through it). */
  readonly base: Resolver;
  end(): void;
}

/** The resolver whose answers `resolver` gives: itself, or the one a scope is a view of. */
export function answersOf(resolver: Resolver): Resolver {
  return (resolver as Partial<ScopedResolver>).base ?? resolver;
}

/** Run `work` with a scope of `resolver` (its own deadline, when the resolver has one), ended afterwards; `subject` as for Resolver.scope. */
export async function withinDeadline<T>(resolver: Resolver, work: (scoped: Resolver) => Promise<T>, subject?: string): Promise<T> {
  const scoped = resolver.scope?.(subject);
  if (!scoped) return work(resolver);
  try {
    return await work(scoped);
  } finally {
    scoped.end();
  }
}

/** "No record" answers: the name or the record type does not exist. Permanent. */
export function isNoRecord(status: DnsStatus): boolean {
  return status === 'nxdomain' || status === 'nodata';
}

/** Answers that say nothing about what is published: try again later. */
export function isTemporary(status: DnsStatus): boolean {
  return status === 'servfail' || status === 'refused' || status === 'timeout' || status === 'malformed' || status === 'error';
}

export function describeStatus(status: DnsStatus): string {
  switch (status) {
    case 'ok':
      return 'answered';
    case 'nxdomain':
      return 'the name does not exist (NXDOMAIN)';
    case 'nodata':
      return 'the name exists but has no record of this type';
    case 'servfail':
      return 'the server failed to answer (SERVFAIL)';
    case 'refused':
      return 'the server refused the query (REFUSED)';
    case 'timeout':
      return 'no answer in time (timeout)';
    case 'malformed':
      return 'the server sent a malformed answer';
    case 'error':
      return 'the query failed';
  }
}

/**
 * The code of a finding that an answer could not be used: `<area>.dns-malformed` when the server
 * sent a broken answer (a server to fix, not a wait to sit out), the area's temporary code otherwise.
 */
export function dnsFailureCode(area: string, status: DnsStatus, temporaryCode = `${area}.dns-temporary`): string {
  return status === 'malformed' ? `${area}.dns-malformed` : temporaryCode;
}

/** The status of an answer in words, with the server's or the transport's detail when there is one. */
export function describeAnswer(answer: Pick<DnsAnswer<unknown>, 'status' | 'detail'>): string {
  return answer.detail ? `${describeStatus(answer.status)} (${answer.detail})` : describeStatus(answer.status);
}

/** See DnsResolverOptions.sharedTransport. */
export type SharedTransport = 'udp' | 'tcp';

export interface DnsResolverOptions {
  servers: ServerAddress[];
  /** Set RD; false when asking an authoritative server directly. */
  recursionDesired?: boolean;
  /** Deadline of one attempt at one server. */
  timeoutMs?: number;
  /** Rounds over the server list before giving up. */
  attempts?: number;
  /** Bound on queries in flight at once. */
  maxInFlight?: number;
  /** Keep answers for the life of this resolver (one run). */
  cache?: boolean;
  /** Most answers the cache keeps, those not used for longest dropped first (memory stays flat on long runs); unbounded when absent. */
  cacheLimit?: number;
  /**
   * For bulk runs, instead of a socket per query: `tcp` pipelines the queries over one TCP
   * connection per server (src/dns/tcp-mux.ts; UDP for a server that takes no TCP), `udp` sends
   * them over a few shared UDP sockets (src/dns/mux.ts).
   */
  sharedTransport?: SharedTransport;
  /** With sharedTransport `tcp`: UDP until more questions than this are in flight at once (TcpMuxOptions.udpUntilInFlight). */
  udpUntilInFlight?: number;
  /** Most queries sent per second (public resolvers throttle heavy clients); unlimited when absent. */
  maxQueriesPerSecond?: number;
  /**
   * Milliseconds within which every question must be answered: counted from the resolver's creation
   * for its own lookups (one command), and from scope() for a scope's (one domain of a bulk run). A
   * question still open at the deadline, or asked after it, is a timeout. None when absent.
   */
  deadlineMs?: number;
  /** Set the DO bit on every query, for AD and the signatures (the DNSSEC check); off by default, which keeps the queries as they were. */
  dnssecOk?: boolean;
  /** Set the CD bit on every query: a validating resolver answers without validating (the DNSSEC check reads a failing zone's keys so). */
  checkingDisabled?: boolean;
}

const MAX_CNAME_HOPS = 8;
const CLASS_IN = 1;

/**
 * Spaces queries out to at most `rate` a second, in arrival order. Bursts of up to a tenth of a
 * second's worth go at once, so a bulk run still batches its sends.
 */
class Pacer {
  private readonly interval: number;
  private readonly burst: number;
  /** When the next query is due on the steady schedule (a virtual clock: it runs ahead of now under load). */
  private due = 0;
  constructor(rate: number) {
    this.interval = 1000 / rate;
    this.burst = Math.max(1, Math.floor(rate / 10)) * this.interval;
  }
  /** A turn to send: the milliseconds to wait for it (0: at once). */
  take(): number {
    const now = performance.now();
    const slot = Math.max(this.due, now);
    this.due = slot + this.interval;
    // A query may go ahead of its slot by at most one burst.
    return Math.max(0, slot - now - this.burst);
  }
}

/** A waiter for a place in the gate; `admit` is null once its deadline has passed (it wants no place then). */
interface GateWaiter {
  admit: (() => void) | null;
}

/** A bounded-concurrency gate: at most `limit` holders at once, the others served in arrival order. */
class Gate {
  private active = 0;
  private waiting: GateWaiter[] = [];
  private head = 0;
  constructor(private readonly limit: number) {}
  /**
   * Take a place: at once (undefined) when one is free, else a promise that resolves true with it,
   * or false (and no place) when `deadline` passes first.
   */
  acquire(deadline: Deadline | null): Promise<boolean> | undefined {
    if (this.active < this.limit) {
      this.active++;
      return undefined;
    }
    return new Promise<boolean>((resolve) => {
      const waiter: GateWaiter = { admit: null };
      const forget = deadline?.onPass(() => {
        waiter.admit = null;
        resolve(false);
      });
      waiter.admit = () => {
        forget?.();
        resolve(true);
      };
      this.waiting.push(waiter);
    });
  }
  /** Give the place back; the longest waiter still waiting takes it over. */
  release(): void {
    while (this.head < this.waiting.length) {
      const next = this.waiting[this.head++]!;
      // Drop the served part now and then instead of shifting the array once per release.
      if (this.head > 1024 && this.head * 2 > this.waiting.length) {
        this.waiting = this.waiting.slice(this.head);
        this.head = 0;
      }
      if (next.admit) return next.admit();
    }
    this.active--;
  }
}

function toRData(rec: WireRecord): unknown {
  switch (rec.type) {
    case TYPE.A:
    case TYPE.AAAA:
      return rec.address;
    case TYPE.CNAME:
    case TYPE.PTR:
      return normalizeName(rec.domain ?? '');
    case TYPE.NS:
      return normalizeName(rec.ns ?? '');
    case TYPE.MX:
      return { priority: rec.priority ?? 0, exchange: normalizeName(rec.exchange ?? '') };
    case TYPE.SOA:
      return {
        mname: normalizeName(rec.primary ?? ''),
        rname: normalizeName(rec.admin ?? ''),
        serial: rec.serial ?? 0,
        refresh: rec.refresh ?? 0,
        retry: rec.retry ?? 0,
        expire: rec.expiration ?? 0,
        minimum: rec.minimum ?? 0,
      } satisfies SoaValue;
    case TYPE.TXT:
    case TYPE.SPF:
      return Array.isArray(rec.data) ? rec.data : [String(rec.data ?? '')];
    case TYPE.DNSKEY:
      return { flags: rec.flags ?? 0, protocol: rec.protocol ?? 0, algorithm: rec.algorithm ?? 0, publicKey: rec.key ?? '' } satisfies DnskeyValue;
    case TYPE.DS:
      return { keyTag: rec.keyTag ?? 0, algorithm: rec.algorithm ?? 0, digestType: rec.digestType ?? 0, digest: rec.digest ?? '' } satisfies DsValue;
    case TYPE.TLSA:
      return { usage: rec.usage ?? 0, selector: rec.selector ?? 0, matchingType: rec.matchingType ?? 0, data: rec.certificate ?? '' } satisfies TlsaValue;
    default:
      return null;
  }
}

/**
 * Answers of one run, bounded by two generations: new and reused answers go to the young one; when
 * it holds half the limit, it becomes the old one and the previous old one is dropped. What was not
 * used during a whole generation goes first, as in an LRU, without deleting from a Map (deleting
 * at the head of a large Map, as an exact LRU does, made every later eviction slower).
 */
/** A cached answer; `settled` once it has come (a later asker then needs no deadline of its own on it). */
interface CachedAnswer {
  promise: Promise<DnsAnswer<unknown>>;
  settled: boolean;
}

class AnswerCache {
  // By type, then name: a lookup then hashes the name alone (names are reused, so their hash is
  // already known) instead of a new "name + type" string each time.
  private young = new Map<RRType, Map<string, CachedAnswer>>();
  private old = new Map<RRType, Map<string, CachedAnswer>>();
  private youngSize = 0;
  private readonly generation: number;
  constructor(limit: number) {
    this.generation = Math.max(1, Math.floor(limit / 2));
  }
  get(name: string, type: RRType): CachedAnswer | undefined {
    const hit = this.young.get(type)?.get(name);
    if (hit) return hit;
    const aged = this.old.get(type)?.get(name);
    if (aged) this.set(name, type, aged);
    return aged;
  }
  /** Drop `answer` (and only it: a newer one may have taken its place). */
  forget(name: string, type: RRType, answer: CachedAnswer): void {
    for (const generation of [this.young, this.old]) {
      const byName = generation.get(type);
      if (byName?.get(name) === answer) byName.delete(name);
    }
  }
  set(name: string, type: RRType, answer: CachedAnswer): void {
    let byName = this.young.get(type);
    if (!byName) this.young.set(type, (byName = new Map()));
    byName.set(name, answer);
    if (++this.youngSize >= this.generation) {
      this.old = this.young;
      this.young = new Map();
      this.youngSize = 0;
    }
  }
}

/** Answers a deadline cut short (Deadline.late). */
const lateAnswers = new WeakSet<object>();

/**
 * One deadline shared by many questions: a single timer (not one per question). The questions its
 * asker sends bound themselves by it (no attempt waits past it, nothing is sent after it); what they
 * wait for besides (a place in the gate, an answer another asker started) listens for it to pass,
 * and is answered "timeout" then, for this asker alone.
 */
class Deadline {
  private readonly at: number;
  private timer: NodeJS.Timeout | null = null;
  /** Called when the deadline passes; each removes itself once what it waited for has come. */
  private listeners: Set<() => void> | null = null;
  /** Set when the timer fires: timers run on a coarser clock and may fire a little before `at`. */
  private expired = false;
  constructor(private readonly ms: number) {
    this.at = performance.now() + ms;
  }
  remaining(): number {
    return this.expired ? 0 : this.at - performance.now();
  }
  passed(): boolean {
    return this.remaining() <= 0;
  }
  /** The answer to a question the deadline cut short; `afterTruncation`: while it was asked again over TCP after a truncated UDP answer (said, as a timeout there says it). */
  late<T extends RRType>(name: string, type: T, afterTruncation = false): DnsAnswer<RDataMap[T]> {
    const passed = `the deadline of ${this.ms} ms passed before an answer came`;
    const answer = failedAnswer<T>(name, type, null, 'timeout', false, afterTruncation ? AFTER_TRUNCATION + passed : passed);
    lateAnswers.add(answer);
    return answer;
  }
  /** Call `fn` when the deadline passes; the function returned forgets it (call it once the wait is over). */
  onPass(fn: () => void): () => void {
    if (!this.timer) {
      this.timer = setTimeout(() => {
        this.expired = true;
        const listeners = this.listeners;
        this.listeners = null;
        listeners?.forEach((f) => f());
      }, Math.max(0, this.remaining()));
      this.timer.unref();
    }
    const listeners = (this.listeners ??= new Set());
    listeners.add(fn);
    return () => listeners.delete(fn);
  }
  /** An answer someone else asked for, cut off at this deadline. */
  bound<T extends RRType>(name: string, type: T, pending: Promise<DnsAnswer<RDataMap[T]>>): Promise<DnsAnswer<RDataMap[T]>> {
    if (this.passed()) return Promise.resolve(this.late(name, type));
    return new Promise((resolve) => {
      const forget = this.onPass(() => resolve(this.late(name, type)));
      void pending.then((answer) => {
        forget();
        resolve(answer);
      });
    });
  }
  end(): void {
    if (this.timer) clearTimeout(this.timer);
    this.listeners = null;
  }
}

/** A resolver that asks the given servers itself over UDP/TCP, with deadlines that always end. */
export class DnsResolver implements Resolver {
  readonly servers: ServerAddress[];
  private readonly serverTexts: string[];
  private readonly rd: boolean;
  private readonly timeoutMs: number;
  private readonly attempts: number;
  private readonly gate: Gate;
  private readonly pacer: Pacer | null;
  private readonly cache: AnswerCache | null;
  private readonly mux: UdpMux | TcpMux | null;
  private readonly deadlineMs: number | undefined;
  private readonly dnssecBits: DnssecBits;
  /** The deadline of this resolver's own lookups. */
  private readonly own: Deadline | null;
  /**
   * The answers each live scope keeps for its subject's own names (see scope), by subject: another
   * asker finds one there rather than asking again (a subdomain's DMARC fallback to its
   * organizational domain's record, an include or MX host that is another domain's own name, while
   * that domain is checked too). Only while the scope lives: nothing is kept longer for it.
   */
  private readonly live = new Map<string, Map<RRType, Map<string, Promise<DnsAnswer<unknown>>>>>();
  /** Queries actually sent (cache hits excluded, pipelined TCP's nudges included), for benchmarks and reports. */
  queriesSent = 0;

  constructor(opts: DnsResolverOptions) {
    if (opts.servers.length === 0) throw new Error('a resolver needs at least one server');
    this.servers = opts.servers;
    this.serverTexts = opts.servers.map(formatServer);
    this.rd = opts.recursionDesired ?? true;
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.attempts = Math.max(1, opts.attempts ?? 2);
    this.gate = new Gate(opts.maxInFlight ?? 64);
    this.pacer = opts.maxQueriesPerSecond ? new Pacer(opts.maxQueriesPerSecond) : null;
    this.cache = opts.cache === false ? null : new AnswerCache(opts.cacheLimit ?? Infinity);
    // Nudges and probes, which the transports write without a caller asking: queries sent all the same.
    const onUnaskedQuery = (): void => void this.queriesSent++;
    this.mux = opts.sharedTransport === 'tcp' ? new TcpMux({ onUnaskedQuery, ...(opts.udpUntilInFlight !== undefined ? { udpUntilInFlight: opts.udpUntilInFlight } : {}) }) : opts.sharedTransport === 'udp' ? new UdpMux(undefined, onUnaskedQuery) : null;
    this.deadlineMs = opts.deadlineMs;
    this.dnssecBits = { ...(opts.dnssecOk ? { dnssecOk: true } : {}), ...(opts.checkingDisabled ? { checkingDisabled: true } : {}) };
    this.own = opts.deadlineMs === undefined ? null : new Deadline(opts.deadlineMs);
  }

  lookup<T extends RRType>(name: string, type: T): Promise<DnsAnswer<RDataMap[T]>> {
    return this.within(name, type, this.own);
  }

  /**
   * A view with a deadline of its own (deadlineMs). With `subject`, the answers for names at or
   * under it (the domain's own TXT, MX, _dmarc, DKIM keys...) are kept by the scope for its life
   * instead of the shared cache: almost no other domain of a run asks for them, and in the shared
   * cache they lived long enough to reach V8's old generation. The few that another domain does ask
   * for (its subdomain's, whose DMARC falls back to this domain's record) are shared without being
   * kept longer: while the scope lives, other askers find them in it (live); and an own name that
   * another domain has put in the shared cache already is taken from there, not asked again.
   */
  scope(subject?: string): ScopedResolver {
    const deadline = this.deadlineMs === undefined ? null : new Deadline(this.deadlineMs);
    const endDeadline = deadline ? () => deadline.end() : () => undefined;
    const cache = this.cache;
    if (subject === undefined || !cache) return { base: this, lookup: (name, type) => this.within(name, type, deadline), end: endDeadline };
    const own = normalizeName(subject);
    const kept = new Map<RRType, Map<string, Promise<DnsAnswer<unknown>>>>();
    // A second scope of the same subject at once keeps its answers to itself, as before.
    const lends = !this.live.has(own);
    if (lends) this.live.set(own, kept);
    const lookup = <T extends RRType>(name: string, type: T): Promise<DnsAnswer<RDataMap[T]>> => {
      const normalized = normalizeName(name);
      if (!isAtOrBelow(normalized, own) || deadline?.passed()) return this.within(name, type, deadline);
      let byName = kept.get(type);
      if (!byName) kept.set(type, (byName = new Map()));
      let answer = byName.get(normalized) as Promise<DnsAnswer<RDataMap[T]>> | undefined;
      if (!answer) {
        if (cache.get(normalized, type)) return this.within(name, type, deadline);
        byName.set(normalized, (answer = this.follow(normalized, type, deadline, null)));
      }
      return answer;
    };
    const end = (): void => {
      if (lends && this.live.get(own) === kept) this.live.delete(own);
      endDeadline();
    };
    return { base: this, lookup, end };
  }

  /** The answer a live scope keeps for `name` (normalized), one of its subject's own names; undefined when none does. */
  private heldByScope(name: string, type: RRType): Promise<DnsAnswer<unknown>> | undefined {
    for (let at = 0; ; ) {
      const held = this.live.get(at === 0 ? name : name.slice(at))?.get(type)?.get(name);
      if (held) return held;
      const dot = name.indexOf('.', at);
      if (dot < 0) return undefined;
      at = dot + 1;
    }
  }

  /**
   * A lookup bounded by `deadline`: nothing is sent after it, no attempt waits past it, and an
   * answer another asker is still waiting for is cut off at it. An answer cut short by a deadline
   * is not kept in the cache: a later asker with time left asks again.
   */
  private within<T extends RRType>(name: string, type: T, deadline: Deadline | null, borrow = true): Promise<DnsAnswer<RDataMap[T]>> {
    if (deadline?.passed()) return Promise.resolve(deadline.late(name, type));
    const normalized = normalizeName(name);
    const cached = this.cache?.get(normalized, type);
    if (cached) {
      const answer = cached.promise as Promise<DnsAnswer<RDataMap[T]>>;
      return deadline && !cached.settled ? deadline.bound(name, type, answer) : answer;
    }
    // Its own question: every step of it keeps to the deadline (follow, ask, askOne).
    if (!this.cache) return this.follow(normalized, type, deadline, null);
    const held = borrow && this.live.size ? this.heldByScope(normalized, type) : undefined;
    if (held) {
      // The borrower bears the cost of borrowing (it is rare), not every lookup of the lender's.
      const answer = held as Promise<DnsAnswer<RDataMap[T]>>;
      const bounded = deadline ? deadline.bound(name, type, answer) : answer;
      // Cut short by the lender's deadline, it says nothing of the name: asked again, not borrowed again.
      return bounded.then((a) => (lateAnswers.has(a) && !deadline?.passed() ? this.within(name, type, deadline, false) : a));
    }
    const cache = this.cache;
    const entry: CachedAnswer = { promise: null as unknown as Promise<DnsAnswer<unknown>>, settled: false };
    const pending = this.follow(normalized, type, deadline, (a) => {
      entry.settled = true;
      if (lateAnswers.has(a)) cache.forget(normalized, type, entry);
    });
    entry.promise = pending as Promise<DnsAnswer<unknown>>;
    cache.set(normalized, type, entry);
    return pending;
  }

  // The path every query takes is written with promise callbacks rather than async functions: a
  // bulk run sends thousands of queries a second, and each async frame cost an allocation.

  /** Ask for `name`, then follow a CNAME chain the server stopped at (an authoritative server, or one that does not recurse). */
  /** `settled` is called with the final answer before it is handed on (the cache marks its entry). */
  private follow<T extends RRType>(name: string, type: T, deadline: Deadline | null, settled: ((answer: DnsAnswer<RDataMap[T]>) => void) | null, chain: readonly string[] | null = null, current = name): Promise<DnsAnswer<RDataMap[T]>> {
    return this.ask<T>(current, type, 0, deadline).then((answer) => {
      answer.name = name;
      if (chain) answer.cnameChain = [...chain, ...answer.cnameChain];
      let final = answer;
      if (!isTemporary(answer.status)) {
        // The same bound and loop check as inside one answer (chainProblem), over the whole chain.
        const problem = chainProblem(name, answer.cnameChain);
        if (problem) final = failedAnswer<T>(name, type, answer.server, 'error', answer.authoritative, problem, answer.cnameChain);
        else if (chainCut.has(answer)) return this.follow(name, type, deadline, settled, answer.cnameChain, answer.cnameChain.at(-1)!);
      }
      settled?.(final);
      return final;
    });
  }

  /** Attempt `n` of at most attempts x servers: the servers in turn, round after round, until one gives a usable answer. */
  private ask<T extends RRType>(name: string, type: T, n: number, deadline: Deadline | null): Promise<DnsAnswer<RDataMap[T]>> {
    const i = n % this.servers.length;
    const send = (): Promise<DnsAnswer<RDataMap[T]>> =>
      // askOne hands every attempt's answer to this (it never rejects), so the place in the gate is always given back.
      this.askOne<T>(this.servers[i]!, this.serverTexts[i]!, name, type, deadline, (answer) => {
        this.gate.release();
        // An attempt the deadline cut short is the last: the deadline has come.
        return isTemporary(answer.status) && !lateAnswers.has(answer) && n + 1 < this.attempts * this.servers.length ? this.ask(name, type, n + 1, deadline) : answer;
      });
    // A turn from the pacer first (it does not hold a place in the gate while it waits), then a
    // place; a turn or a place that comes only after the deadline is a timeout.
    const admitted = (): Promise<DnsAnswer<RDataMap[T]>> => {
      const wait = this.gate.acquire(deadline);
      return wait ? wait.then((placed) => (placed ? send() : deadline!.late(name, type))) : send();
    };
    const turn = this.pacer?.take() ?? 0;
    if (turn === 0) return admitted();
    if (deadline && turn >= deadline.remaining()) return Promise.resolve(deadline.late(name, type));
    return new Promise<void>((resolve) => setTimeout(resolve, turn)).then(admitted);
  }

  /** One attempt at one server; its answer goes to `next` (in the same callback: a bulk run makes thousands a second). */
  private askOne<T extends RRType>(
    server: ServerAddress,
    serverText: string,
    name: string,
    type: T,
    deadline: Deadline | null,
    next: (answer: DnsAnswer<RDataMap[T]>) => DnsAnswer<RDataMap[T]> | Promise<DnsAnswer<RDataMap[T]>>,
  ): Promise<DnsAnswer<RDataMap[T]>> {
    // Nothing is asked past the deadline, and no attempt waits beyond it (sockets and places in the gate are given back on time).
    const left = deadline ? deadline.remaining() : Infinity;
    if (left <= 0) return Promise.resolve(next(deadline!.late(name, type)));
    this.queriesSent++;
    const wireOpts = { timeoutMs: Math.min(this.timeoutMs, Math.ceil(left)), recursionDesired: this.rd, ...this.dnssecBits };
    let sent: Promise<WireResponse>;
    try {
      sent = this.mux ? this.mux.exchange(server, name, type, wireOpts) : exchange(server, name, type, wireOpts);
    } catch (err) {
      sent = Promise.reject(err);
    }
    const failed = (err: unknown): DnsAnswer<RDataMap[T]> =>
      err instanceof WireTimeout
        ? left < this.timeoutMs
          ? deadline!.late(name, type, err.afterTruncation)
          : failedAnswer<T>(name, type, serverText, 'timeout', false, err.message)
        : err instanceof MalformedMessage
          ? failedAnswer<T>(name, type, serverText, 'malformed', false, err.problem)
          : failedAnswer<T>(name, type, serverText, 'error', false, err instanceof Error ? err.message : String(err));
    return sent.then(
      (response) => {
        let answer: DnsAnswer<RDataMap[T]>;
        try {
          // Reading the packet may decode it (pipelined TCP), and a broken one throws MalformedMessage.
          const packet = response.packet;
          answer = answerFrom<T>(packet, name, type, serverText, !this.rd || packet.header.ra === 0);
        } catch (err) {
          answer = failed(err);
        }
        return next(answer);
      },
      (err: unknown) => {
        // Failed before it went out (held while its server's port was known closed): not a query sent.
        if (err instanceof PortClosed && !err.sent) this.queriesSent--;
        return next(failed(err));
      },
    );
  }
}

/**
 * An answer without records. Its fields are those of answerFrom's answers, in the same order, the
 * absent ones undefined: V8 then gives every answer the resolver makes one hidden class, where answers built by two
 * literals and given fields afterwards had four, and the code reading them was polymorphic.
 */
function failedAnswer<T extends RRType>(name: string, type: T, server: string | null, status: DnsStatus, authoritative: boolean, detail?: string, cnameChain: string[] = [], authenticData?: boolean, rcode?: number): DnsAnswer<RDataMap[T]> {
  return { name, type, status, records: [], ttl: null, authoritative, authenticData, server, cnameChain, detail, rcode };
}

/** Answers whose chain ends at a CNAME the server did not follow (it does not recurse): the target is asked next. */
const chainCut = new WeakSet<object>();

/** A CNAME chain that loops or is longer than MAX_CNAME_HOPS is a failure (RFC 1034 §3.6.2), never "no record". */
function chainProblem(name: string, chain: readonly string[]): string | null {
  if (chain.length === 0) return null;
  const path = [normalizeName(name)];
  for (const target of chain) {
    const looped = path.includes(target);
    path.push(target);
    if (looped) return `CNAME loop: ${path.join(' -> ')}`;
  }
  return chain.length > MAX_CNAME_HOPS ? `CNAME chain longer than ${MAX_CNAME_HOPS}: ${path.join(' -> ')}` : null;
}

function sectionName(packet: WirePacket, rec: WireRecord): string {
  return packet.authorities.includes(rec) ? 'authority' : 'additional';
}

/**
 * The answer to `name`/`type` in a response: its RCODE, the CNAME chain inside the answer section,
 * the records (class IN, at the end of the chain). `recursionLacking`: the server does not follow a
 * chain that leaves its zones (an authoritative server, or RD=0), so a chain that ends at a CNAME
 * says nothing about the target yet. An answer that contradicts itself is `malformed`.
 */
function answerFrom<T extends RRType>(packet: WirePacket, name: string, type: T, server: string, recursionLacking: boolean): DnsAnswer<RDataMap[T]> {
  const rcode = packet.header.rcode;
  const authoritative = packet.header.aa === 1;
  if (rcode === RCODE.SERVFAIL) return failedAnswer(name, type, server, 'servfail', authoritative);
  if (rcode === RCODE.REFUSED) return failedAnswer(name, type, server, 'refused', authoritative);
  if (rcode !== RCODE.NOERROR && rcode !== RCODE.NXDOMAIN) return failedAnswer(name, type, server, 'error', authoritative, `rcode ${rcode}`, [], undefined, rcode);
  const wanted = TYPE[type];
  const answers = packet.answers;
  const chain: string[] = [];
  let owner = normalizeName(name);
  if (type !== 'CNAME' && answers.some((r) => r.type === TYPE.CNAME)) {
    // One hop more than allowed, so that chainProblem sees a chain that is too long.
    for (let i = 0; i <= MAX_CNAME_HOPS; i++) {
      const cname = answers.find((r) => r.type === TYPE.CNAME && r.class === CLASS_IN && normalizeName(r.name) === owner);
      if (!cname) break;
      owner = normalizeName(cname.domain ?? '');
      chain.push(owner);
      if (chainProblem(name, chain)) break;
    }
  }
  const problem = chainProblem(name, chain);
  if (problem) return failedAnswer(name, type, server, 'error', authoritative, problem, chain);
  if (rcode === RCODE.NXDOMAIN) {
    // The RCODE speaks of the end of the chain (RFC 6604): the name asked exists when a CNAME led on.
    return failedAnswer<T>(name, type, server, 'nxdomain', authoritative, undefined, chain, packet.header.ad === 1);
  }
  const records: RDataMap[T][] = [];
  let ttl: number | null = null;
  for (const r of answers) {
    if (r.type !== wanted || r.class !== CLASS_IN || normalizeName(r.name) !== owner) continue;
    records.push(toRData(r) as RDataMap[T]);
    if (ttl === null || r.ttl < ttl) ttl = r.ttl;
  }
  // The fields of failedAnswer, in its order (one hidden class for every answer).
  const status = records.length ? 'ok' : 'nodata';
  const answer: DnsAnswer<RDataMap[T]> = { name, type, status, records, ttl, authoritative, authenticData: packet.header.ad === 1, server, cnameChain: chain, detail: undefined, rcode: undefined };
  if (records.length) return answer;
  if (chain.length) {
    if (recursionLacking) chainCut.add(answer);
    return answer;
  }
  // NOERROR and nothing for the question: it must not be hiding elsewhere. A referral (NS and no SOA
  // in the authority section, RFC 2308 §2.2) may carry the asked RRset there: the cut's NS set, glue.
  const referral = packet.authorities.some((r) => r.type === TYPE.NS) && !packet.authorities.some((r) => r.type === TYPE.SOA);
  const misplaced = referral ? undefined : [...packet.authorities, ...packet.additionals].find((r) => r.type === wanted && r.class === CLASS_IN && normalizeName(r.name) === owner);
  if (misplaced) return failedAnswer(name, type, server, 'malformed', authoritative, `the ${type} records of ${owner} came in the ${sectionName(packet, misplaced)} section, not as an answer`);
  const stray = answers[0];
  if (stray) return failedAnswer(name, type, server, 'malformed', authoritative, `the answer section holds no ${type} record of ${owner}, only others (${stray.name || '.'} type ${stray.type})`);
  return answer;
}

/** Nameservers from /etc/resolv.conf; loopback when none is listed. */
export function systemServers(resolvConf = '/etc/resolv.conf'): ServerAddress[] {
  let text = '';
  try {
    text = readFileSync(resolvConf, 'utf8');
  } catch {
    /* no resolv.conf: fall through to loopback */
  }
  const servers: ServerAddress[] = [];
  // Blanks within the line only: a bare `nameserver` line does not take the next line's first word.
  for (const m of text.matchAll(/^[ \t]*nameserver[ \t]+(\S+)/gm)) {
    // A line that names no address (a host name, a typo) is skipped, as the C library's resolver skips it.
    const host = m[1]!.replace(/%.*$/, '');
    if (isIpAddress(host)) servers.push({ host, port: 53 });
  }
  return servers.length ? servers : [{ host: '127.0.0.1', port: 53 }];
}

export const HOSTS_FILE = '/etc/hosts';

/**
 * The addresses the hosts file lists for `name`, in its order, as the C library's `files` source
 * reads it (an address, then its names; `#` starts a comment); none when it lists the name nowhere
 * or cannot be read. A local file, read at once: nothing to wait for.
 */
export function hostsFileAddresses(name: string, hostsFile = HOSTS_FILE): string[] {
  let text = '';
  try {
    text = readFileSync(hostsFile, 'utf8');
  } catch {
    return [];
  }
  const wanted = normalizeName(name);
  const found: string[] = [];
  for (const line of text.split('\n')) {
    const fields = line.replace(/#.*/, '').trim().split(/\s+/);
    if (fields.length > 1 && isIpAddress(fields[0]!) && fields.slice(1).some((n) => normalizeName(n) === wanted)) found.push(fields[0]!);
  }
  return found;
}

/**
 * The address a host name has without asking DNS: the first the hosts file lists for it, else the
 * loopback for localhost and names under it (RFC 6761 §6.3); undefined otherwise.
 */
export function localAddressOf(host: string, hostsFile = HOSTS_FILE): string | undefined {
  const listed = hostsFileAddresses(host, hostsFile)[0];
  if (listed !== undefined) return listed;
  const name = normalizeName(host);
  return name === 'localhost' || name.endsWith('.localhost') ? '127.0.0.1' : undefined;
}

/** The address a host name is asked at, or why there is none (see hostAddress). */
export type HostAddress = { address: string; failure?: undefined } | { address?: undefined; failure: { status: DnsStatus; temporary: boolean; reason: string } };

/**
 * The address a DNS server given by name (`--authoritative`, `--nameserver`) is asked at: the first the hosts file lists for it;
 * else, for localhost and names under it, the loopback (RFC 6761 §6.3); else the first A record the
 * main resolver answers, else its first AAAA record (IPv4 first: every host reaches it).
 *
 * Not the system's getaddrinfo (node:dns lookup): maildns can neither bound nor cancel it. A system
 * resolver that did not answer held verify for as long as the C library's retries ran (minutes with
 * `options timeout:30 attempts:5`), whatever --timeout and --deadline said; and a lookup merely
 * raced against a timer would still hold one of the four threads of libuv's pool (file reads and
 * crypto share them) and keep the process from exiting until the C library gave up. The main
 * resolver asks the servers the run was told to ask (for --authoritative: --nameserver, else those
 * of /etc/resolv.conf, which getaddrinfo asks too; for --nameserver itself: those of
 * /etc/resolv.conf) within the run's --timeout and its --deadline, and says
 * which server failed how; the hosts file is read first, as the usual `hosts: files dns` does, so
 * localhost and a hidden primary named there work as before (Go's own resolver does the same).
 */
export async function hostAddress(resolver: Resolver, host: string): Promise<HostAddress> {
  const local = localAddressOf(host);
  if (local !== undefined) return { address: local };
  const name = normalizeName(host);
  const [a, aaaa] = await Promise.all([resolver.lookup(name, 'A'), resolver.lookup(name, 'AAAA')]);
  const address = (a.status === 'ok' ? a.records[0] : undefined) ?? (aaaa.status === 'ok' ? aaaa.records[0] : undefined);
  if (address !== undefined) return { address };
  const failed = [a, aaaa].find((x) => isTemporary(x.status));
  if (failed) return { failure: { status: failed.status, temporary: true, reason: `${describeAnswer(failed)}, asking for the ${failed.type} records of ${name}` } };
  return { failure: { status: a.status, temporary: false, reason: `the name has no A or AAAA record (${describeStatus(a.status)}), and ${HOSTS_FILE} does not list it` } };
}

/**
 * `--nameserver` servers given by name, each asked at the one address hostAddress finds for it
 * through the system's resolvers (/etc/resolv.conf) within `timeoutMs`, before any question;
 * not by the sockets at every query, with getaddrinfo, which also held the process at exit while it
 * waited, and turned a name that does not exist into a temporary failure of every lookup. A name
 * that does not exist is bad input; one that could not be looked up, a temporary failure.
 */
export async function serversByAddress(servers: readonly ServerAddress[], timeoutMs: number, system: ServerAddress[] = systemServers()): Promise<ServerAddress[]> {
  let resolver: DnsResolver | undefined;
  const asked = system.map(formatServer).join(', ');
  return Promise.all(
    servers.map(async (server): Promise<ServerAddress> => {
      if (isIpAddress(server.host)) return server;
      resolver ??= new DnsResolver({ servers: system, timeoutMs, deadlineMs: timeoutMs * 2 });
      const found = await hostAddress(resolver, server.host);
      if (found.address !== undefined) return { ...server, host: found.address };
      const { temporary, reason } = found.failure;
      if (temporary) throw new DnsTemporaryError(`${server.host}: its address could not be looked up: ${reason} (asked of ${asked}); give the server's address instead of its name`);
      throw new InputError(`${server.host}: no such host: ${reason} (asked of ${asked}); give the DNS server's address or a name that has one`);
    }),
  );
}

/**
 * The servers a `--nameserver` value names: the value, else MAILDNS_NAMESERVER (`from` says which);
 * undefined when neither is set, or set empty, for the system's resolvers. The one place of that fallback.
 */
export function nameserverSetting(value: string | undefined): { servers: ServerAddress[]; from: 'value' | 'MAILDNS_NAMESERVER' } | undefined {
  const text = value ?? process.env['MAILDNS_NAMESERVER'];
  if (!text) return undefined;
  return { servers: parseServerList(text), from: value !== undefined ? 'value' : 'MAILDNS_NAMESERVER' };
}

/** Servers written HOST[:PORT], comma-separated. */
export function parseServerList(text: string): ServerAddress[] {
  return text.split(',').map((s) => parseServer(s));
}

export interface ResolverChoice {
  /** `--nameserver` value; falls back to MAILDNS_NAMESERVER, then the system's resolvers (nameserverSetting). */
  nameserver?: string | undefined;
  /** The servers, parsed and named by address (serversByAddress); when given, `nameserver` is not read. */
  servers?: readonly ServerAddress[] | undefined;
  timeoutMs?: number;
  maxInFlight?: number;
  attempts?: number;
  /** Bound on cached answers (see DnsResolverOptions.cacheLimit). */
  cacheLimit?: number;
  /** See DnsResolverOptions.sharedTransport. */
  sharedTransport?: SharedTransport;
  /** See DnsResolverOptions.udpUntilInFlight. */
  udpUntilInFlight?: number;
  /** See DnsResolverOptions.maxQueriesPerSecond. */
  maxQueriesPerSecond?: number;
  /** See DnsResolverOptions.deadlineMs. */
  deadlineMs?: number;
  /** See DnsResolverOptions.dnssecOk. */
  dnssecOk?: boolean;
  /** See DnsResolverOptions.checkingDisabled. */
  checkingDisabled?: boolean;
}

export function createResolver(choice: ResolverChoice = {}): DnsResolver {
  const servers = choice.servers ? [...choice.servers] : (nameserverSetting(choice.nameserver)?.servers ?? systemServers());
  return new DnsResolver({
    servers,
    timeoutMs: choice.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    maxInFlight: choice.maxInFlight ?? 64,
    ...(choice.attempts !== undefined ? { attempts: choice.attempts } : {}),
    ...(choice.cacheLimit !== undefined ? { cacheLimit: choice.cacheLimit } : {}),
    ...(choice.sharedTransport !== undefined ? { sharedTransport: choice.sharedTransport } : {}),
    ...(choice.udpUntilInFlight !== undefined ? { udpUntilInFlight: choice.udpUntilInFlight } : {}),
    ...(choice.maxQueriesPerSecond !== undefined ? { maxQueriesPerSecond: choice.maxQueriesPerSecond } : {}),
    ...(choice.deadlineMs !== undefined ? { deadlineMs: choice.deadlineMs } : {}),
    ...(choice.dnssecOk !== undefined ? { dnssecOk: choice.dnssecOk } : {}),
    ...(choice.checkingDisabled !== undefined ? { checkingDisabled: choice.checkingDisabled } : {}),
  });
}

/**
 * Logical values of a TXT answer (each record's character-strings joined). Pushed into one literal
 * rather than made with `.map()`: V8's optimized `.map()` makes holey arrays and the interpreted one
 * packed ones, and an empty result has other elements than a filled one, so code reading these
 * lists (every audit of a bulk run) saw new array maps after warm-up and was deoptimized ("wrong
 * map"). The literal's allocation site learns from the first filled list, and every list after it,
 * empty or not, has the same elements kind.
 */
export function txtValues(answer: DnsAnswer<string[]>): string[] {
  const values: string[] = [];
  for (const strings of answer.records) values.push(strings.join(''));
  return values;
}

export { parseServer, formatServer, type ServerAddress } from './wire.js';
