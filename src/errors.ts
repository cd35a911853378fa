/**
 * The errors the library throws on purpose. Their messages speak of values and files, never of
 * command-line flags; the CLI (src/cli/exit.ts) alone turns them into exit codes.
 */

/** Bad input: a value, a file or a message that cannot be used. `location` is `file` or `file:line`. */
export class InputError extends Error {
  constructor(
    message: string,
    readonly location?: string,
  ) {
    super(location ? `${location}: ${message}` : message);
    this.name = 'InputError';
  }
}

/** A plan file that cannot be used, with the line (and column, when known) of the problem. */
export class PlanError extends InputError {
  constructor(
    message: string,
    readonly file: string,
    readonly line?: number,
    readonly column?: number,
  ) {
    super(message, line === undefined ? file : column === undefined ? `${file}:${line}` : `${file}:${line}:${column}`);
    this.name = 'PlanError';
  }
}

/** DNS could not be asked (timeouts, SERVFAIL, a malformed answer): nothing is known about what is published. */
export class DnsTemporaryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DnsTemporaryError';
  }
}
