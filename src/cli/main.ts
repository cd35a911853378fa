#!/usr/bin/env node
/**
 * The maildns command line. Each command lives in src/cli/commands/<name>.ts as a yargs
 * CommandModule; this file only wires them together and turns errors into one-line
 * messages and honest exit codes (0 ok, 1 problems found, 2 bad input or usage, 3 DNS unreachable).
 */
import { readFileSync } from 'node:fs';
import yargs, { type CommandModule } from 'yargs';
import { hideBin } from 'yargs/helpers';
import { describeFailure, EXIT } from './exit.js';
import { initCommand } from './commands/init.js';
import { dmarcCommand } from './commands/dmarc.js';
import { recordsCommand } from './commands/records.js';
import { keygenCommand } from './commands/keygen.js';
import { dkimCommand } from './commands/dkim.js';
import { opendkimCommand } from './commands/opendkim.js';
import { postfixCommand } from './commands/postfix.js';
import { signCommand } from './commands/sign.js';
import { verifyMessageCommand } from './commands/verify-message.js';
import { serveCommand } from './commands/serve.js';
import { verifyCommand } from './commands/verify.js';
import { checkCommand } from './commands/check.js';
import { spfCommand } from './commands/spf.js';
import { quickstartCommand } from './commands/quickstart.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const commands: CommandModule<any, any>[] = [
  quickstartCommand,
  initCommand,
  keygenCommand,
  opendkimCommand,
  postfixCommand,
  recordsCommand,
  serveCommand,
  verifyCommand,
  checkCommand,
  spfCommand,
  dkimCommand,
  dmarcCommand,
  signCommand,
  verifyMessageCommand,
];

function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

function fail(message: string): never {
  process.stderr.write(`maildns: ${message}\n`);
  process.exit(EXIT.usage);
}

export async function main(argv: string[]): Promise<void> {
  const cli = yargs(argv)
    .scriptName('maildns')
    .usage('$0 <command> [options]\n\nSet up and keep watch over a domain\'s email authentication in DNS: SPF, DKIM, DMARC.')
    .version(packageVersion())
    .strict()
    .demandCommand(1, 'name a command; `maildns --help` lists them')
    .recommendCommands()
    .wrap(Math.min(110, process.stdout.columns || 100))
    .epilogue('Exit codes: 0 ok, 1 problems found, 2 bad input or usage, 3 DNS could not be asked.')
    // An option given a value is given that value even when it starts with "-": `--all -all`.
    .parserConfiguration({ 'nargs-eats-options': true })
    .fail((msg, err) => {
      // yargs's own parse errors (an option without its value, say) are bad input too, not crashes.
      if (err && err.name !== 'YError') throw err;
      fail(`${err?.message ?? msg} (see \`maildns --help\`)`);
    });
  for (const c of commands) cli.command(c);
  try {
    await cli.parseAsync();
  } catch (err) {
    const { message, code } = describeFailure(err);
    process.stderr.write(`maildns: ${message}\n`);
    if (code === EXIT.internal && process.env['MAILDNS_DEBUG'] === '1') process.stderr.write(`${(err as Error)?.stack ?? String(err)}\n`);
    process.exit(code);
  }
}

await main(hideBin(process.argv));
