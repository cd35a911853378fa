/**
 * When V8 compiles hot functions with its optimizing compiler (TurboFan), set by the CLI alone for
 * `check`, as src/cli/memory.ts sets the heap. V8 optimizes a function once it has run its
 * interrupt budget of bytecode (66 KB) a few times over, a choice made for programs that run for
 * long. A check of 1,000 domains is over in about half a second; on two cores the compiler
 * threads take CPU from the DNS server and the check loop, and most of what they compile is not
 * run long enough to pay for it. So a short run is checked with an eight times larger budget.
 *
 * Measured with Node 20 (V8 11.3), fresh processes on the same data: 1,000 domains took
 * 0.50-0.58 s of wall time and 0.55-0.67 s of CPU instead of 0.64-0.74 s and 0.85-1.0 s. At 5,000
 * and 10,000 domains the larger budget made a run 5-10% slower, kept for the whole run or given
 * back after the first 1,500 domains, so longer lists keep V8's own. Other V8 versions tier
 * differently (Node 22 adds Maglev) and keep their own settings, as does a user who sets
 * --interrupt-budget.
 */
import { setFlagsFromString } from 'node:v8';
import { writingCodeCache } from './code-cache.js';
import { userSets } from './memory.js';

/** The V8 this was measured on: Node 20's (Node 21's 11.8 was not). */
const MEASURED_V8 = '11.3.';
/** Eight times V8 11.3's default --interrupt-budget. */
const SHORT_RUN_INTERRUPT_BUDGET = 8 * 67_584;
export const SHORT_RUN_DOMAINS = 1500;

/** For a run of at most SHORT_RUN_DOMAINS domains, V8 tiers up later. */
export function tierUpLaterForShortRun(
  domains: number,
  setFlag: (flag: string) => void = setFlagsFromString,
  v8Version: string = process.versions.v8,
  userSetsBudget: boolean = userSets('interrupt-budget'),
): void {
  if (writingCodeCache()) return;
  if (domains <= SHORT_RUN_DOMAINS && v8Version.startsWith(MEASURED_V8) && !userSetsBudget) setFlag(`--interrupt-budget=${SHORT_RUN_INTERRUPT_BUDGET}`);
}
