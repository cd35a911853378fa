/**
 * The STARTTLS check's defaults, in a module of their own with no imports, so the command line can
 * show them in --help without loading node:tls and the probe.
 */

/** Milliseconds for each step of the STARTTLS check (connect, greeting, EHLO, STARTTLS, handshake). */
export const DEFAULT_STEP_TIMEOUT_MS = 10_000;

/**
 * How many probes a check run keeps for its other domains (StartTlsOptions.probes; about 1 KB
 * each): past that the run starts afresh (src/recent.ts), so a list of many self-hosted domains
 * does not hold every probe to its end, while a provider's few hosts are probed again only rarely.
 */
export const PROBES_KEPT = 4096;

/**
 * SMTP sessions a check run holds open at once (StartTlsOptions.sessions), whatever its domain
 * concurrency: a list of self-hosted domains has a host or two each, at up to 8 addresses, and 32
 * domains at once had been free to open hundreds of connections to as many servers.
 */
export const SESSIONS_AT_ONCE = 64;
