/**
 * vitest globalSetup: before any test starts, check that every external program the suite runs
 * (test/helpers/programs.ts), the built CLI and the benchmark's data generator are there. When
 * something is missing the run stops at once with one message naming all of it and the one
 * apt-get line, instead of tests failing one by one after their timeouts.
 */
import { existsSync } from 'node:fs';
import { sharedBenchDir } from '../bench/run.js';
import { CLI } from './helpers/cli.js';
import { findMissing, missingMessage } from './helpers/programs.js';

export default function preflight(): void {
  const problems: string[] = [];
  const missing = findMissing();
  if (missing.length) problems.push(missingMessage(missing));
  // The CLI tests run the build, not the sources: `npm test` builds first, bare `npx vitest` does not.
  if (!existsSync(CLI)) problems.push(`maildns tests: ${CLI} is missing; build first: npx tsc -p tsconfig.json (npm test does)`);
  try {
    sharedBenchDir();
  } catch (err) {
    problems.push(`maildns tests: the bulk check test needs the benchmark's generator: ${(err as Error).message}`);
  }
  if (problems.length) {
    // Exit rather than throw: a thrown error comes out under vitest's "No test files found" and a
    // stack trace, which bury the one line to run.
    process.stderr.write(`\n${problems.join('\n\n')}\n\n`);
    process.exit(1);
  }
}
