/**
 * The DNS client's defaults, in a module of their own with no imports, so the command line can
 * show them in --help without loading the resolver.
 */

/** Milliseconds to wait for one answer from one server. */
export const DEFAULT_TIMEOUT_MS = 2000;

/** Milliseconds for all the questions of one unit of work (a command, or each domain of check and verify). */
export const DEFAULT_DEADLINE_MS = 30_000;
