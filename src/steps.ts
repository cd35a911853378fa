/**
 * The commands an operator runs on the mail host after maildns wrote its files (OpenDKIM, Postfix).
 * Each is an argv, never a shell line, so a test can run exactly what the user is told to run.
 */
type SetupStepKind =
  /** Puts a file or directory in place (`install`). */
  | 'install'
  /** Edits a file the package owns in place (`sed -i`). */
  | 'edit'
  /** Adds a user to a group. */
  | 'group'
  /** Changes Postfix's configuration (`postconf`, `postmap`); run with `-c DIR` for another instance. */
  | 'postfix'
  /** Checks a configuration without changing anything. */
  | 'check'
  /** Starts, restarts or enables a daemon (`systemctl`). */
  | 'service';

export interface SetupStep {
  kind: SetupStepKind;
  argv: string[];
  /** Why the step is there, in a few words. */
  why: string;
}

/** One argument as the shell reads it: bare when it is plain, else in single quotes. */
function shellQuote(arg: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(arg)) return arg;
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

export function shellLine(argv: readonly string[]): string {
  return argv.map(shellQuote).join(' ');
}
