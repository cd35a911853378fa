/**
 * maildns' version, from its package.json. Looked for upwards from this module: the compiled
 * module (dist/src/cli/) and the bundled CLI (dist/cli/) sit at different depths.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

let found: string | undefined;

export function packageVersion(): string {
  if (found !== undefined) return found;
  for (let dir = path.dirname(fileURLToPath(import.meta.url)); ; dir = path.dirname(dir)) {
    try {
      const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'maildns' && typeof pkg.version === 'string') return (found = pkg.version);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    if (path.dirname(dir) === dir) throw new Error('package.json of maildns not found above the CLI');
  }
}

/** `maildns --version` (or -V) alone: answered from package.json, before anything else is loaded. */
export function asksVersionOnly(argv: readonly string[]): boolean {
  return argv.length === 1 && (argv[0] === '--version' || argv[0] === '-V');
}
