/**
 * The STARTTLS check's defaults, in a module of their own with no imports, so the command line can
 * show them in --help without loading node:tls and the probe.
 */

/** Milliseconds for each step of the STARTTLS check (connect, greeting, EHLO, STARTTLS, handshake). */
export const DEFAULT_STEP_TIMEOUT_MS = 10_000;
