/**
 * The `maildns` command the benchmarks time: the launcher npm installs (bin/maildns, package.json's
 * bin), run as a user's shell runs it, with the node that runs the benchmark first on PATH.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const MAILDNS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/maildns');

export const MAILDNS_ENV: NodeJS.ProcessEnv = { ...process.env, PATH: `${path.dirname(process.execPath)}:${process.env['PATH'] ?? ''}` };

/** GNU time, which the bench reads CPU time and peak RSS from. */
export const GNU_TIME = '/usr/bin/time';

/** Throws, naming the package, when GNU time is not installed. */
export function requireGnuTime(): void {
  if (!existsSync(GNU_TIME)) throw new Error(`${GNU_TIME} not found: the bench measures CPU time and peak RSS with GNU time; apt-get install time`);
}
