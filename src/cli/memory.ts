/**
 * How much memory a maildns process lets V8 keep, set by the CLI alone (a program using the
 * library keeps its own V8 settings). V8 sizes its heap for throughput, and a bulk check keeps
 * little: about 16 MB of live heap at 10,000 domains, against a peak RSS of 149-161 MB with V8's
 * defaults. Both limits below are V8 flags that V8 reads while the process runs, not only at
 * start. A user's own setting is kept: given on the node command line
 * (`node --heap-growing-percent=100 "$(command -v maildns)" check …`), or `--max-semi-space-size`
 * in NODE_OPTIONS (Node takes no other of these there).
 */
import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';
import { writingCodeCache } from './code-cache.js';

/**
 * Whether the user set this V8 flag on the node command line or in NODE_OPTIONS: the flag itself,
 * not another that starts with its words (--interrupt-budget-for-feedback-allocation is not
 * --interrupt-budget).
 */
export function userSets(flag: string): boolean {
  const pattern = new RegExp(`^--${flag.replace(/-/g, '[-_]')}(?:=|$)`);
  return [...process.execArgv, ...(process.env['NODE_OPTIONS'] ?? '').split(/\s+/)].some((a) => pattern.test(a));
}

/**
 * The young generation stops growing at 16 MB (two semi-spaces of 8 MB; V8 doubles it up to 32).
 * Objects that die young are cheap in either; a larger one mostly holds garbage longer. 10,000
 * domains: peak RSS 101-104 MB instead of 118-121 MB, for no CPU the runs could show; capped at
 * 8 MB it took 15% more. V8 has no runtime cap, so its growth factor is set to 1 once the cap is
 * reached (looked at every 10 ms: it doubles at most every few collections); a V8 that holds the
 * factor at 2 or more makes this a no-op. For `check` alone, which allocates the most: a
 * long-lived command (serve) should not wake a hundred times a second for it.
 */
const YOUNG_GENERATION_CAP = 16 * 1024 * 1024;

export function capYoungGeneration(): void {
  if (writingCodeCache() || userSets('max-semi-space-size') || userSets('semi-space-growth-factor')) return;
  const reached = (): boolean => (getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')?.space_size ?? 0) >= YOUNG_GENERATION_CAP;
  const watch = setInterval(() => {
    if (!reached()) return;
    setFlagsFromString('--semi-space-growth-factor=1');
    clearInterval(watch);
  }, 10);
  watch.unref();
}

/**
 * V8 lets the old generation grow to four times what survived its last full collection before it
 * collects again; in a bulk check most of that growth is garbage. Growth of 50%: 10,000 domains
 * peak at 117-122 MB instead of 149-161 MB, for 2-4% more CPU (fresh processes, same data). Set
 * by the commands that write many results (check, report merge) as their run begins, once its
 * modules are loaded: a V8 flag changed at run time makes V8 refuse the code cache Node's built-in
 * modules are compiled from, so every built-in loaded afterwards was compiled from source, 10-15
 * ms of each start when this was set before anything else. Set at the first result instead, after
 * a full collection had already taken V8's own limit, a 10,000-domain check peaked 10 MB higher.
 */
export function boundOldGenerationGrowth(): void {
  if (!writingCodeCache() && !userSets('heap-growing-percent')) setFlagsFromString('--heap-growing-percent=50');
}
