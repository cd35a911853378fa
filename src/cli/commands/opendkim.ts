/** `maildns opendkim`: KeyTable, SigningTable, TrustedHosts, complete opendkim.conf(s), Postfix lines, and the steps. */
import path from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import { COMMANDS } from '../registry.js';
import { DEBIAN, type MilterDefaultAction } from '../../dkim/opendkim-settings.js';
import { EXIT } from '../exit.js';
import { paint, printJson } from '../render/output.js';
import { renderSteps, stepsJson } from '../render/steps.js';
import { readPlan, withJsonOption, withPlanOption } from './common.js';

interface Args {
  plan: string;
  out: string;
  socket?: string;
  socketEd25519?: string;
  configDir: string;
  keysDir?: string;
  serverKeysDir: string;
  postfixQueueDir: string;
  postfixChrooted: boolean;
  milterDefaultAction: MilterDefaultAction;
  trusted: string[];
  json: boolean;
}

/** The options `maildns opendkim` and `maildns postfix` share, so both name the same milters; not global, so `postfix lint` does not inherit them. */
export function withMilterOptions<T>(y: Argv<T>) {
  return y
    .option('socket', { type: 'string', global: false, describe: `OpenDKIM's socket: local:/PATH below Postfix's queue directory (default local:${DEBIAN.postfixQueueDir}/opendkim/opendkim.sock) or inet:PORT@HOST` })
    .option('socket-ed25519', { type: 'string', global: false, describe: 'socket of the Ed25519 instance when the plan mixes RSA and Ed25519 (default: the next port, or opendkim-ed25519.sock)' })
    .option('postfix-queue-dir', { type: 'string', global: false, default: DEBIAN.postfixQueueDir, describe: "Postfix's queue_directory, where its chrooted daemons live" })
    .option('postfix-chrooted', { type: 'boolean', global: false, default: true, describe: 'smtpd and cleanup run chrooted (as in Debian\'s master.cf); --no-postfix-chrooted allows a unix socket elsewhere' })
    .option('milter-default-action', { choices: ['tempfail', 'accept'] as const, global: false, default: 'tempfail' as const, describe: 'when OpenDKIM is down: tempfail keeps the mail and retries, accept sends it unsigned' });
}

export const opendkimCommand: CommandModule<object, Args> = {
  ...COMMANDS['opendkim'],
  builder: (y) =>
    withMilterOptions(withJsonOption(withPlanOption(y)))
      .option('out', { alias: 'o', type: 'string', default: 'opendkim', describe: 'directory to write the files to' })
      .option('config-dir', { type: 'string', default: DEBIAN.configDir, describe: 'where the tables live on the mail host' })
      .option('keys-dir', { type: 'string', describe: 'directory of DOMAIN/SELECTOR.private here (default: the plan\'s)' })
      .option('server-keys-dir', { type: 'string', default: DEBIAN.keysDir, describe: 'directory of DOMAIN/SELECTOR.private on the mail host, named in the KeyTable' })
      .option('trusted', { type: 'string', array: true, nargs: 1, default: [], describe: 'more hosts or networks whose mail is signed (TrustedHosts), e.g. 192.0.2.0/24' })
      .example('$0 opendkim', 'files for Debian 12: socket /var/spool/postfix/opendkim/opendkim.sock, keys in /etc/dkimkeys')
      .example('$0 opendkim --socket inet:8891@localhost', 'use a TCP socket on the loopback instead') as never,
  handler: async (args) => {
    const [{ composeOpenDkim }, { makeDirectories, writeFileAtomic }] = await Promise.all([import('../../dkim/opendkim.js'), import('../../fsutil.js')]);
    const plan = await readPlan(args.plan, args.keysDir);
    const out = path.resolve(args.out);
    const result = composeOpenDkim(plan, {
      ...(args.socket ? { socket: args.socket } : {}),
      ...(args.socketEd25519 ? { socketEd25519: args.socketEd25519 } : {}),
      configDir: args.configDir,
      serverKeysDir: args.serverKeysDir,
      postfixQueueDir: args.postfixQueueDir,
      postfixChrooted: args.postfixChrooted,
      milterDefaultAction: args.milterDefaultAction,
      trustedHosts: args.trusted,
      filesDir: out,
    });
    if (result.missingKeys.length) {
      // Nothing is written: a KeyTable without these keys would leave their domains unsigned.
      if (args.json) printJson({ ok: false, missingKeys: result.missingKeys, files: [] });
      for (const m of result.missingKeys) {
        process.stderr.write(`maildns: ${m.keyPath}: no private key for ${m.domain} selector ${m.selector}; run \`maildns keygen\` first (nothing was written)\n`);
      }
      process.exitCode = EXIT.problems;
      return;
    }
    makeDirectories(out);
    const written = result.files.map((f) => {
      const file = path.join(out, f.name);
      writeFileAtomic(file, f.content, { mode: f.mode });
      return { name: f.name, path: file, installPath: f.installPath };
    });
    if (args.json) {
      printJson({ ok: true, files: written, instances: result.instances, postfix: result.postfixSettings, steps: stepsJson(result.steps), notes: result.notes, missingKeys: [] });
      return;
    }
    const lines = [`wrote ${written.length} files to ${out}:`, ...written.map((w) => `  ${w.name.padEnd(24)} ${w.installPath ? `-> ${w.installPath}` : '(lines for main.cf)'}`), ''];
    if (result.steps.length) {
      lines.push(
        `On the mail host, as root, in a copy of ${out}:`,
        // The key lines name each key where keygen wrote it, a path on this machine.
        '(the private keys are installed from where keygen wrote them: when the mail host is another machine, copy them to the same paths first, mode 0600)',
        ...renderSteps(result.steps),
        '',
      );
    }
    lines.push('Check the keys against DNS first: `maildns verify`, or `opendkim-testkey -d DOMAIN -s SELECTOR -vvv` (RSA only).');
    process.stdout.write(`${lines.join('\n')}\n`);
    for (const n of result.notes) process.stderr.write(`${paint('note:', 'yellow', false)} ${n}\n`);
  },
};
