#!/usr/bin/env node
/**
 * The maildns command line. Each command lives in src/cli/commands/<name>.ts as a yargs
 * CommandModule that parses its flags, calls one engine, renders and picks the exit code; this
 * file wires them together and turns errors into one-line messages and honest exit codes
 * (src/cli/exit.ts). Command modules load only light modules until they run, so `--version`,
 * `--help` and every command start without loading the engines they do not use.
 */
import { readFileSync } from 'node:fs';
import type { CommandModule } from 'yargs';
import { describeFailure, EXIT } from './exit.js';

function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

function fail(message: string): never {
  process.stderr.write(`maildns: ${message}\n`);
  process.exit(EXIT.usage);
}

async function commands(): Promise<CommandModule<any, any>[]> {
  const m = await Promise.all([
    import('./commands/quickstart.js'),
    import('./commands/init.js'),
    import('./commands/keygen.js'),
    import('./commands/opendkim.js'),
    import('./commands/records.js'),
    import('./commands/serve.js'),
    import('./commands/verify.js'),
    import('./commands/check.js'),
    import('./commands/spf.js'),
    import('./commands/dkim.js'),
    import('./commands/dmarc.js'),
    import('./commands/sign.js'),
    import('./commands/verify-message.js'),
  ]);
  return [
    m[0].quickstartCommand,
    m[1].initCommand,
    m[2].keygenCommand,
    m[3].opendkimCommand,
    m[4].recordsCommand,
    m[5].serveCommand,
    m[6].verifyCommand,
    m[7].checkCommand,
    m[8].spfCommand,
    m[9].dkimCommand,
    m[10].dmarcCommand,
    m[11].signCommand,
    m[12].verifyMessageCommand,
  ];
}

export async function main(argv: string[]): Promise<void> {
  // `maildns --version` alone answers without loading the parser.
  if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-V')) {
    process.stdout.write(`${packageVersion()}\n`);
    return;
  }
  const [{ default: yargs }, all] = await Promise.all([import('yargs'), commands()]);
  const cli = yargs(argv)
    .scriptName('maildns')
    .usage('$0 <command> [options]\n\nSet up and keep watch over a domain\'s email authentication in DNS: SPF, DKIM, DMARC.')
    .version(packageVersion())
    .strict()
    .demandCommand(1, 'name a command; `maildns --help` lists them')
    .recommendCommands()
    .wrap(Math.min(110, process.stdout.columns || 100))
    .epilogue('Exit codes: 0 ok, 1 problems found, 2 bad input or usage, 3 DNS could not be asked, 70 a bug in maildns.')
    // An option given a value is given that value even when it starts with "-": `--all -all`.
    .parserConfiguration({ 'nargs-eats-options': true })
    .fail((msg, err) => {
      // yargs's own parse errors (an option without its value, say) are bad input too, not crashes.
      if (err && err.name !== 'YError') throw err;
      fail(`${err?.message ?? msg} (see \`maildns --help\`)`);
    });
  for (const c of all) cli.command(c);
  try {
    await cli.parseAsync();
  } catch (err) {
    const { message, code } = describeFailure(err);
    process.stderr.write(`maildns: ${message}\n`);
    if (code === EXIT.internal && process.env['MAILDNS_DEBUG'] === '1') process.stderr.write(`${(err as Error)?.stack ?? String(err)}\n`);
    process.exit(code);
  }
}

await main(process.argv.slice(2));
