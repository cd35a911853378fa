/**
 * The maildns command line. Each command lives in src/cli/commands/<name>.ts as a yargs
 * CommandModule that parses its flags, calls one engine, renders and picks the exit code; this
 * file wires them together and turns errors into one-line messages and honest exit codes
 * (src/cli/exit.ts). Command modules load only light modules until they run, so `--version`,
 * `--help` and every command start without loading the engines they do not use.
 */
import type { Argv, CommandModule } from 'yargs';
import { stopQuietlyWhenStdoutCloses } from './closed-pipe.js';
import { describeFailure, EXIT } from './exit.js';
import { printable } from '../findings.js';
import { commandFlagValueProblem, commandOptions, jsonFormatProblem } from './flag-values.js';
import { LOADERS, subcommandMissing, subcommandsOf, type CommandName } from './registry.js';
import { EPILOGUE, renderTopLevelHelp, USAGE } from './render/help.js';
import { asksVersionOnly, packageVersion } from './version.js';

function noSuchCommand(word: string, lister = 'maildns --help', suggestion?: string): string {
  return `there is no command "${word}"${suggestion ? ` (did you mean ${suggestion}?)` : ''}; \`${lister}\` lists them`;
}

function isHelpFlag(arg: string): boolean {
  return arg === '--help' || arg === '-h' || arg.startsWith('--help=');
}

/** A command's failure as one line on stderr (a stack too for a bug, with MAILDNS_DEBUG=1) and its exit code. */
function exitWithFailure(err: unknown): never {
  const { message, code } = describeFailure(err);
  // Error messages quote records and replies: printable, as findings are.
  if (message) process.stderr.write(`maildns: ${printable(message)}\n`);
  if (code === EXIT.internal && process.env['MAILDNS_DEBUG'] === '1') process.stderr.write(`${(err as Error)?.stack ?? String(err)}\n`);
  process.exit(code);
}

function fail(message: string): never {
  process.stderr.write(`maildns: ${message}\n`);
  process.exit(EXIT.usage);
}

/**
 * yargs renders a command's whole help right after calling its handler (cacheHelpMessage), so that
 * help shown later from an async handler is that command's; maildns never shows help from a
 * handler, and the rendering (~20 ms) holds up the command's first queries. No public API turns
 * it off: this replaces yargs' internal hook, and a yargs without it only renders the help again.
 */
function skipHelpCache(cli: Argv): void {
  type Internals = { getInternalMethods?: () => { getUsageInstance?: () => { cacheHelpMessage?: unknown } | undefined } };
  const usage = (cli as unknown as Internals).getInternalMethods?.().getUsageInstance?.();
  if (usage && typeof usage.cacheHelpMessage === 'function') usage.cacheHelpMessage = () => {};
}

/**
 * Whether yargs has written a help or a version: a command's is written before the command's
 * middleware runs, and since yargs no longer exits on it (exitProcess(false)) that middleware runs
 * after it. yargs' own mark (its internals; it skips validation and the handler by it) covers the
 * word `help`, which sets no flag; without it, the flags.
 */
function helpOrVersionWritten(cli: Argv, parsed: Record<string, unknown>): boolean {
  type Internals = { getInternalMethods?: () => { getHasOutput?: () => boolean } };
  const written = (cli as unknown as Internals).getInternalMethods?.().getHasOutput?.();
  return written ?? (parsed['help'] === true || parsed['version'] === true);
}

/**
 * The commands to register: only the named one's module when the first word names a command,
 * else every module (flags before the command word, a misspelt command: yargs sorts those out
 * with everything in hand).
 */
async function commandsFor(argv: readonly string[]): Promise<CommandModule<any, any>[]> {
  const first = argv[0];
  if (first !== undefined && Object.hasOwn(LOADERS, first)) return [await LOADERS[first as CommandName]()];
  return Promise.all(Object.values(LOADERS).map((load) => load()));
}

export async function main(argv: string[]): Promise<void> {
  stopQuietlyWhenStdoutCloses();
  // `maildns --version` alone answers without loading the parser.
  if (asksVersionOnly(argv)) {
    process.stdout.write(`${packageVersion()}\n`);
    return;
  }
  // ...nor `maildns --help`, `maildns help` (which yargs would take for it) or `maildns help --help`,
  // which list the commands from the registry.
  const helpNamesNoCommand = argv[0] === 'help' && (argv[1] === undefined || argv[1].startsWith('-'));
  if (helpNamesNoCommand || (argv.length === 1 && (argv[0] === '--help' || argv[0] === '-h'))) {
    process.stdout.write(renderTopLevelHelp(process.stdout.columns || 100));
    return;
  }
  // `maildns help check …` is `maildns check … --help`, as with git and npm.
  if (argv[0] === 'help') {
    if (!Object.hasOwn(LOADERS, argv[1]!)) fail(noSuchCommand(argv[1]!));
    argv = [...argv.slice(1), '--help'];
  }
  // yargs answers `maildns nosuch --help` with the top-level help and exit 0; a misspelt command
  // asked for its help is bad input like any other (without --help, yargs suggests a command).
  // The command word is the first one that is no flag (maildns has no global option taking a
  // value), and help is asked for by a flag or by the word `help`, which yargs takes for --help.
  const end = argv.indexOf('--');
  const words = end < 0 ? argv : argv.slice(0, end);
  const named = words.filter((a) => !a.startsWith('-'));
  const word = named[0];
  // yargs checks a command's own `<command>` before its subcommands' demand, and says only "Not enough non-option arguments".
  // Not when help or the version is asked for, which yargs answers there as after any command word.
  if (word !== undefined && named.length === 1 && Object.hasOwn(LOADERS, word) && subcommandsOf(word as CommandName).length && !words.some((a) => isHelpFlag(a) || a === '--version')) fail(subcommandMissing(word as CommandName));
  if (word !== undefined && words.some((a) => isHelpFlag(a) || a === 'help')) {
    if (!Object.hasOwn(LOADERS, word)) fail(noSuchCommand(word));
    // ...nor help for a subcommand that does not exist (`maildns dkim nosuch --help`): yargs shows dkim's.
    const subcommands = subcommandsOf(word as CommandName);
    const sub = named[1];
    if (subcommands.length && sub !== undefined && sub !== 'help' && !subcommands.includes(sub)) fail(noSuchCommand(`${word} ${sub}`, `maildns ${word} --help`));
  }
  const [{ default: yargs }, modules] = await Promise.all([import('yargs'), commandsFor(argv)]);
  const cli = yargs(argv)
    .scriptName('maildns')
    .usage(USAGE)
    // Every word maildns writes is English; yargs' own ("Options:", "Unknown argument") had
    // followed LANG, so a German locale read "Optionen:" above English text. (Its locale files,
    // looked for beside its own modules, are also not in the bundle.)
    .detectLocale(false)
    .version(packageVersion())
    .alias('help', 'h')
    .strict()
    .demandCommand(1, 'name a command; `maildns --help` lists them')
    .recommendCommands()
    // yargs would exit as soon as a help is written, before an EPIPE of a closed stdout is reported (exit 141, closed-pipe.ts).
    .exitProcess(false)
    // Wrapping the help is costly; it is wrapped only when help may be shown (without
    // skipHelpCache below, yargs renders it on every run): for --help, and for the word `help`,
    // which yargs takes for --help when it is the last positional (`maildns check help`).
    .wrap(argv.some((a) => isHelpFlag(a) || a === 'help') ? Math.min(110, process.stdout.columns || 100) : null)
    .epilogue(EPILOGUE)
    // An option given a value is given that value even when it starts with "-": `--all -all`.
    .parserConfiguration({ 'nargs-eats-options': true })
    // A flag written without its value gets its default from yargs-parser, silently; refuse it
    // (src/cli/flag-values.ts), before yargs' own checks and the command's handler.
    .middleware((parsed) => {
      // Not after a command's help or version, which yargs writes before it runs this (it had exited then).
      if (helpOrVersionWritten(cli, parsed)) return;
      const problem = commandFlagValueProblem(argv, cli);
      if (problem) fail(`${problem} (see \`maildns --help\`)`);
    }, true)
    // After yargs' checks, so that `--json --format xml` is told the choices; before any work.
    .middleware((parsed) => {
      const problem = jsonFormatProblem(argv, commandOptions(cli), parsed);
      if (problem) fail(`${problem} (see \`maildns --help\`)`);
    })
    .fail((msg, err) => {
      // yargs's own parse errors (an option without its value, say) are bad input too, not crashes.
      if (err && err.name !== 'YError') throw err;
      // A first word that names no command: yargs says "Unknown argument: nosuch", or suggests one ("Did you mean check?").
      const first = argv[0];
      if (first !== undefined && !first.startsWith('-') && !Object.hasOwn(LOADERS, first)) fail(noSuchCommand(first, 'maildns --help', /^Did you mean (\S+)\?$/.exec(msg ?? '')?.[1]));
      // The flag without its value explains yargs' complaint best ("Not enough arguments following: all").
      const problem = commandFlagValueProblem(argv, cli);
      // One line: yargs puts the argument and its choices on lines of their own.
      const text = problem ?? (err?.message ?? msg).replace(/\s*\n\s*/g, ' ');
      // "name a command; `maildns --help` lists them" points at the help already.
      fail(text.includes('--help`') ? text : `${text} (see \`maildns --help\`)`);
    });
  for (const c of modules) cli.command(c);
  skipHelpCache(cli);
  try {
    await cli.parseAsync();
  } catch (err) {
    exitWithFailure(err);
  }
}

// Not awaited at the top level: the bundle that runs this (scripts/bundle-cli.mjs) is a script,
// where top-level await does not exist. main() turns its command's failures into messages and exit
// codes; what top-level await had caught besides is caught here. A failure before the command runs
// (loading yargs or a command module) is a bug, told as any other (exit 70). And a command whose
// work stops short, the event loop emptied while main() still waits on a promise nothing will
// settle, had exited 13 (Node's "unsettled top-level await"), not 0 as a script would: a bug too.
let settled = false;
main(process.argv.slice(2)).then(
  () => {
    settled = true;
  },
  (err: unknown) => {
    settled = true;
    exitWithFailure(err);
  },
);
process.on('beforeExit', () => {
  if (settled) return;
  process.stderr.write('maildns: internal error: the command stopped before it finished. This is a bug in maildns; please report it with the command you ran\n');
  process.exit(EXIT.internal);
});
