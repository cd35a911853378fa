/**
 * Exit codes (documented in the README) and the one place that maps errors to them: usage and
 * input errors 2, DNS temporary failures 3, anything unexpected 70 (EX_SOFTWARE) with a request
 * for a bug report; the stack only with MAILDNS_DEBUG=1.
 */
import { DnsTemporaryError, InputError } from '../errors.js';
import { PIPE_CLOSED_EXIT } from './closed-pipe.js';
import type { Outcome } from '../findings.js';

export const EXIT = {
  ok: 0,
  problems: 1,
  usage: 2,
  dnsUnavailable: 3,
  internal: 70,
  /** Standard output closed before the report was complete (`maildns check … | head`), as a shell reports SIGPIPE. */
  pipeClosed: PIPE_CLOSED_EXIT,
} as const;

/** The exit code of a run's outcome. */
export function exitCodeOf(outcome: Outcome): number {
  return outcome === 'ok' ? EXIT.ok : outcome === 'problems' ? EXIT.problems : EXIT.dnsUnavailable;
}

/** A command-line mistake (a flag's value, flags that do not go together): exit 2. */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly location?: string,
  ) {
    super(location ? `${location}: ${message}` : message);
    this.name = 'UsageError';
  }
}

const ERRNO_FIX: Record<string, string> = {
  ENOENT: 'no such file or directory; check the path',
  EACCES: 'permission denied; check the owner and mode, or run as the right user',
  EPERM: 'operation not permitted; check the owner and mode, or run as the right user',
  EISDIR: 'is a directory; give a file name',
  ENOTDIR: 'a part of the path is not a directory; check the path',
  ELOOP: 'too many levels of symbolic links (a loop of links?); check where they point',
  EEXIST: 'already exists; move it away or pick another name',
  ENOSPC: 'no space left on the device; free some space and run again',
  EROFS: 'the file system is read-only; write somewhere else',
  ENXIO: 'no such device or address (a socket, or a device that is not there); give a file or a pipe',
  EMFILE: 'too many open files; raise the limit (ulimit -n) or lower --concurrency',
};

/** The one-line message and exit code for an error that reached the top of a command. */
export function describeFailure(err: unknown): { message: string; code: number } {
  if (err instanceof UsageError || err instanceof InputError) return { message: err.message, code: EXIT.usage };
  if (err instanceof DnsTemporaryError) return { message: err.message, code: EXIT.dnsUnavailable };
  const e = err as NodeJS.ErrnoException | undefined;
  // The reader of a pipe quit (`| head`): nothing is wrong, and nothing more can be said to it.
  if (e?.code === 'EPIPE' && e.path === undefined) return { message: '', code: EXIT.pipeClosed };
  if (e && typeof e.code === 'string' && typeof e.path === 'string') {
    // Written through a symbolic link, the link and where it leads, as ls -l shows them: what is read-only or missing may be either.
    const linkTarget = (e as { linkTarget?: unknown }).linkTarget;
    const where = typeof linkTarget === 'string' ? `${e.path} -> ${linkTarget}` : e.path;
    return { message: `${where}: ${ERRNO_FIX[e.code] ?? e.message}`, code: EXIT.usage };
  }
  const first = (e?.message ?? String(err)).split('\n')[0];
  return {
    message: `internal error: ${first}. This is a bug in maildns; please report it with the command you ran (set MAILDNS_DEBUG=1 to print the stack)`,
    code: EXIT.internal,
  };
}
