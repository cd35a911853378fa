/**
 * A Resolver over the wire to one local test server, with deadlines that never race a real answer.
 * A test server is either prompt or, for the names in its `silent` list, never answers at all; one
 * short deadline for both made every prompt answer a race against the timer, lost on a loaded
 * machine. Here the names the server leaves unanswered on purpose get a short deadline (their
 * timeout is what the test wants to see), every other name a long one that only a broken server
 * reaches. A slow machine then makes a test slower, never different.
 */
import { DnsResolver, type DnsAnswer, type DnsResolverOptions, type RDataMap, type Resolver, type RRType } from '../../src/dns/resolver.js';
import { normalizeName } from '../../src/names.js';

/** Deadline for names the server answers: reached only when something is broken. */
const PROMPT_DEADLINE_MS = 5000;
/** Deadline for names the server never answers. */
const SILENT_DEADLINE_MS = 200;

type LocalResolverOptions = Omit<DnsResolverOptions, 'servers' | 'timeoutMs' | 'attempts'> & {
  /** The server's `silent` names. */
  silent?: readonly string[];
};

export class LocalResolver implements Resolver {
  readonly prompt: DnsResolver;
  readonly quiet: DnsResolver;
  private readonly silent: Set<string>;

  constructor(server: { host: string; port: number }, opts: LocalResolverOptions = {}) {
    const { silent = [], ...rest } = opts;
    const servers = [{ host: server.host, port: server.port }];
    this.prompt = new DnsResolver({ ...rest, servers, timeoutMs: PROMPT_DEADLINE_MS, attempts: 1 });
    this.quiet = new DnsResolver({ ...rest, servers, timeoutMs: SILENT_DEADLINE_MS, attempts: 1 });
    this.silent = new Set(silent.map(normalizeName));
  }

  lookup<T extends RRType>(name: string, type: T): Promise<DnsAnswer<RDataMap[T]>> {
    return (this.silent.has(normalizeName(name)) ? this.quiet : this.prompt).lookup(name, type);
  }

  /** Queries sent over the wire so far (cache hits excluded). */
  get queriesSent(): number {
    return this.prompt.queriesSent + this.quiet.queriesSent;
  }
}
