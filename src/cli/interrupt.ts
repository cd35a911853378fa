/**
 * Stopping cleanly on SIGINT or SIGTERM: while a command writes a report or a history run, a
 * signal runs its cleanup (remove the temporary file, leave the run incomplete), says on stderr
 * what was and was not written, and exits 128 + the signal's number, as a shell expects.
 */
const SIGNAL_EXIT: Partial<Record<NodeJS.Signals, number>> = { SIGINT: 130, SIGTERM: 143 };

/** Run `cleanup` on SIGINT/SIGTERM; it returns what to tell the user. Returns the function that removes the handlers. */
export function onInterrupt(cleanup: (signal: NodeJS.Signals) => string): () => void {
  const handler = (signal: NodeJS.Signals): void => {
    let said: string;
    try {
      said = cleanup(signal);
    } catch (err) {
      said = `cleaning up failed: ${(err as Error).message}`;
    }
    process.stderr.write(`maildns: stopped by ${signal}: ${said}\n`);
    process.exit(SIGNAL_EXIT[signal] ?? 1);
  };
  process.once('SIGINT', handler);
  process.once('SIGTERM', handler);
  return () => {
    process.off('SIGINT', handler);
    process.off('SIGTERM', handler);
  };
}
