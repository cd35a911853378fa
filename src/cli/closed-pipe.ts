/**
 * A reader that quit early (`maildns check … | head`, `maildns --version | true`): the command
 * stops quietly with 141, as a shell reports SIGPIPE, rather than with an unhandled EPIPE. Its own
 * module, light enough for the loader (src/cli/start.ts) as well as main().
 */

/** The exit code when standard output closed before everything was written. */
export const PIPE_CLOSED_EXIT = 141;

export function stopQuietlyWhenStdoutCloses(): void {
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(PIPE_CLOSED_EXIT);
    throw err;
  });
}
