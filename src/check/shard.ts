/**
 * Splitting one domain list over N workers: shard I of N takes the names whose hash falls to I,
 * so N workers given the same list (in any line order) check every domain exactly once, and a
 * domain stays on the same shard from one night to the next.
 *
 * The hash is the first four bytes of SHA-256 of the normalized name (lower-case ASCII, no
 * trailing dot), read as an unsigned big-endian integer, modulo N: any language can reproduce it.
 */
import { createHash } from 'node:crypto';
import { InputError } from '../errors.js';
import { normalizeName } from '../names.js';

export interface Shard {
  /** From 0 to count - 1 (a Kubernetes JOB_COMPLETION_INDEX, a matrix index). */
  index: number;
  count: number;
}

/** The most shards a list can be split into: far more workers than anyone runs, small enough to mean a typo. */
const MAX_SHARDS = 10_000;

/** Read "I/N" (0 <= I < N). */
export function parseShard(spec: string): Shard {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(spec);
  if (!m) throw new InputError(`shard "${spec}" is not I/N: write the worker's index and the number of workers, such as 0/4 (indexes start at 0)`);
  const index = Number(m[1]);
  const count = Number(m[2]);
  if (count < 1 || count > MAX_SHARDS) throw new InputError(`shard "${spec}": the number of shards must be from 1 to ${MAX_SHARDS}`);
  if (index >= count) throw new InputError(`shard "${spec}": the index must be from 0 to ${count - 1} (indexes start at 0, like JOB_COMPLETION_INDEX)`);
  return { index, count };
}

/** The shard (0 to count - 1) a domain belongs to. */
export function shardOf(name: string, count: number): number {
  if (count === 1) return 0;
  return createHash('sha256').update(normalizeName(name), 'utf8').digest().readUInt32BE(0) % count;
}

/**
 * The names this worker checks, in input order: those of its shard (all when `shard` is absent).
 * The domain source (src/check/input.ts) has already made each name appear once.
 */
export async function* selectNames(names: AsyncIterable<string> | Iterable<string>, shard?: Shard): AsyncGenerator<string> {
  for await (const raw of names) {
    const name = normalizeName(raw);
    if (!shard || shardOf(name, shard.count) === shard.index) yield name;
  }
}
