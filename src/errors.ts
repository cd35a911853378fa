/** Exit codes, documented in the README. */
export const EXIT = {
  ok: 0,
  problems: 1,
  usage: 2,
  dnsUnavailable: 3,
} as const;

/**
 * Bad input or usage: the CLI prints the message on one line and exits 2.
 * `location` is `file:line` when the problem is in a file.
 */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly location?: string,
  ) {
    super(location ? `${location}: ${message}` : message);
    this.name = 'UsageError';
  }
}
