/**
 * The `maildns` command the benchmarks time: the launcher npm installs (bin/maildns, package.json's
 * bin), run as a user's shell runs it, with the node that runs the benchmark first on PATH.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const MAILDNS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/maildns');

export const MAILDNS_ENV: NodeJS.ProcessEnv = { ...process.env, PATH: `${path.dirname(process.execPath)}:${process.env['PATH'] ?? ''}` };
