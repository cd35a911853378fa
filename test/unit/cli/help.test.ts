/** `maildns --help` is rendered from the registry without yargs: it must say what yargs would. */
import { describe, expect, it } from 'vitest';
import yargs from 'yargs';
import { COMMANDS, LOADERS } from '../../../src/cli/registry.js';
import { EPILOGUE, renderTopLevelHelp, USAGE } from '../../../src/cli/render/help.js';

describe('top-level help', () => {
  it('lists every command as yargs does with every command module loaded', async () => {
    const cli = yargs([]).scriptName('maildns').usage(USAGE).version('0').wrap(100).epilogue(EPILOGUE);
    for (const load of Object.values(LOADERS)) cli.command(await load());
    const commandsOf = (help: string): string => help.slice(help.indexOf('Commands:'), help.indexOf('Options:'));
    const ours = renderTopLevelHelp(100);
    expect(commandsOf(ours)).toBe(commandsOf(await cli.getHelp()));
    // The epilogue closes the text, wrapped at the width like everything else.
    expect(ours.trimEnd().split('\n').slice(-2).join(' ')).toBe(EPILOGUE);
    expect(ours.split('\n').every((line) => line.length <= 100)).toBe(true);
  });

  it('each command module carries the registry entry it is listed under', async () => {
    for (const [name, load] of Object.entries(LOADERS)) {
      const mod = await load();
      expect({ command: mod.command, describe: mod.describe }).toEqual(COMMANDS[name as keyof typeof COMMANDS]);
    }
  });
});

describe('check --help', () => {
  it('says the STARTTLS check can take a second session, with its own step deadlines', async () => {
    const cli = yargs([]).scriptName('maildns').command(await LOADERS.check()).exitProcess(false).wrap(null);
    const help = await new Promise<string>((resolve) => void cli.parse(['check', '--help'], (_err: unknown, _argv: unknown, output: string) => resolve(output)));
    const option = help.split('\n').find((line) => line.trimStart().startsWith('--tls-timeout'));
    expect(option).toContain('a host that refuses TLS 1.2 and 1.3 gets a second session, with five more steps');
  });
});
