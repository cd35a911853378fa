/**
 * When V8 compiles hot functions with its optimizing compiler (TurboFan), set by the CLI alone for
 * `check`, as src/cli/memory.ts sets the heap. V8 optimizes a function once it has run its
 * interrupt budget of bytecode (66 KB) a few times over, a choice made for programs that run for
 * long. A check of 1,000 domains is over in about half a second; on two cores the compiler
 * threads take CPU from the DNS server and the check loop, and most of what they compile is not
 * run long enough to pay for it. So the first domains of a run are checked with an eight times
 * larger budget, then V8's own.
 *
 * Measured with Node 20 (V8 11.3), fresh processes on the same data: 1,000 domains took
 * 0.50-0.58 s of wall time and 0.55-0.67 s of CPU instead of 0.64-0.74 s and 0.85-1.0 s. Kept for
 * a whole run the larger budget made 5,000 and 10,000 domains 5-10% slower; given back after
 * 1,500 domains, 10,000 took what they take without it. Other V8 versions tier differently
 * (Node 22 adds Maglev) and keep their own settings, as does a user who sets --interrupt-budget.
 */
import { setFlagsFromString } from 'node:v8';
import { userSets } from './memory.js';

/** V8 11's default --interrupt-budget, given back after the first domains. */
const V8_11_INTERRUPT_BUDGET = 67_584;
const EARLY_INTERRUPT_BUDGET = 8 * V8_11_INTERRUPT_BUDGET;
export const DOMAINS_WITH_LATER_TIER_UP = 1500;

/**
 * Raises V8's budget for the first domains of a run; the returned function is to be called once
 * for each domain done.
 */
export function tierUpLaterAtFirst(
  setFlag: (flag: string) => void = setFlagsFromString,
  v8Version: string = process.versions.v8,
  userSetsBudget: boolean = userSets('interrupt-budget'),
): () => void {
  if (!v8Version.startsWith('11.') || userSetsBudget) return () => {};
  setFlag(`--interrupt-budget=${EARLY_INTERRUPT_BUDGET}`);
  let done = 0;
  return () => {
    if (++done === DOMAINS_WITH_LATER_TIER_UP) setFlag(`--interrupt-budget=${V8_11_INTERRUPT_BUDGET}`);
  };
}
