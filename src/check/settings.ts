/** The settings of a bulk check that the CLI, the library and the benchmark share. */
import type { SharedTransport } from '../dns/resolver.js';

/**
 * Domains checked at once unless the caller says otherwise. More in progress means more state
 * alive at each young-generation collection, copied and then promoted: at 10,000 domains, five
 * interleaved fresh processes, 32 took a median 3.7 s of CPU against 4.1 s for 64 (16: 4.0, 48:
 * 3.9), and at 1,000 domains 1.3 s against 1.5 s, with the same queries and report.
 */
export const DEFAULT_CONCURRENCY = 32;

/**
 * Most queries in flight in a bulk run over UDP. Against a local Knot, runs with 384 or 512 in
 * flight often took about one whole query timeout (answers went missing, most likely to a full
 * receive buffer), while 128 never did. More than this gains nothing on a fast server and is unkind
 * to a slow one.
 */
const MAX_QUERIES_IN_FLIGHT = 128;

/**
 * The same over pipelined TCP, where nothing is lost to a full buffer: at 10,000 domains 512 took
 * about 15% less CPU than 128 (fewer questions waiting for a place, more of them in each write),
 * and 1,024 no less than 512.
 */
const MAX_QUERIES_IN_FLIGHT_TCP = 512;

/**
 * How a bulk run's queries travel: `auto` (the default) asks a server over UDP until more than
 * UDP_UNTIL_IN_FLIGHT questions are in flight to it, then pipelines everything over TCP, which at
 * 10,000 domains took about 40% less CPU than shared UDP sockets (one write and one read for many
 * queries instead of two system calls and a callback for each), with the same answers; `tcp`
 * pipelines from the first question (a path that carries no UDP: a tunnel, a firewall); `udp`
 * keeps to the shared UDP sockets.
 */
export type BulkTransport = 'auto' | 'tcp' | 'udp';
export const DEFAULT_BULK_TRANSPORT: BulkTransport = 'auto';
export const BULK_TRANSPORTS: readonly BulkTransport[] = ['auto', 'tcp', 'udp'];

/**
 * With `auto`, questions go over UDP until more than this many are in flight to a server at once
 * (see TcpMuxOptions.udpUntilInFlight). Against Knot, fresh processes, four interleaved rounds,
 * medians: one domain took 0.35 s all pipelined (two delayed ACKs), 0.32 s with 16, 0.28 s with 32
 * or 64; 100 domains 0.46, 0.43, 0.43 and 0.41 s. A bulk run passes 32 in its first milliseconds.
 */
export const UDP_UNTIL_IN_FLIGHT = 32;

/** Resolver settings of a bulk run (the CLI and the benchmark use the same). */
export function bulkResolverSettings(concurrency: number, transport: BulkTransport = DEFAULT_BULK_TRANSPORT): { maxInFlight: number; cacheLimit: number; sharedTransport: SharedTransport; udpUntilInFlight?: number } {
  // A domain asks about eight questions at once; over UDP the receive buffer bounds it lower.
  if (transport === 'udp') return { maxInFlight: Math.min(MAX_QUERIES_IN_FLIGHT, Math.max(64, concurrency * 2)), cacheLimit: 4096, sharedTransport: 'udp' };
  return { maxInFlight: Math.min(MAX_QUERIES_IN_FLIGHT_TCP, Math.max(64, concurrency * 8)), cacheLimit: 4096, sharedTransport: 'tcp', ...(transport === 'auto' ? { udpUntilInFlight: UDP_UNTIL_IN_FLIGHT } : {}) };
}
