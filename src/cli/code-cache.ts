/**
 * The `maildns` command runs its bundle (dist/cli/maildns.cjs) from V8's code cache: the bytecode
 * of the functions a check compiles, written by the build (scripts/bundle-cli.mjs) after a warm-up
 * check, beside the bundle. src/cli/start.ts reads it; this names the file and the one rule the
 * rest of the CLI follows for it.
 */

/** The bundle's file name, and the cache's beside it. */
export const BUNDLE_FILE = 'maildns.cjs';
export const CODE_CACHE_FILE = 'maildns.cjs.cache';

/** The environment variable naming where a run writes the code cache as it exits (the build's warm-up). */
export const CODE_CACHE_OUT = 'MAILDNS_CODE_CACHE_OUT';

/**
 * True in the run that writes the cache. V8 takes a code cache only in a process whose V8 flags
 * are those the cache was made under, so that run sets none of the flags the CLI sets for a check
 * (src/cli/memory.ts, src/cli/tiering.ts): every run starts with V8's defaults.
 */
export function writingCodeCache(): boolean {
  return process.env[CODE_CACHE_OUT] !== undefined;
}
