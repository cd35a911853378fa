/** `maildns opendkim`: KeyTable, SigningTable, TrustedHosts, opendkim.conf and Postfix lines. */
import path from 'node:path';
import type { CommandModule } from 'yargs';
import { COMMANDS } from '../registry.js';
import { DEFAULT_SOCKET } from '../../dkim/opendkim-settings.js';
import { paint, printJson } from '../render/output.js';
import { readPlan, withJsonOption, withPlanOption } from './common.js';

interface Args {
  plan: string;
  out: string;
  socket: string;
  socketEd25519?: string;
  configDir?: string;
  keysDir?: string;
  trusted: string[];
  json: boolean;
}

export const opendkimCommand: CommandModule<object, Args> = {
  ...COMMANDS['opendkim'],
  builder: (y) =>
    withJsonOption(withPlanOption(y))
      .option('out', { alias: 'o', type: 'string', default: 'opendkim', describe: 'directory to write the files to' })
      .option('socket', { type: 'string', default: DEFAULT_SOCKET, describe: 'milter socket in OpenDKIM syntax: inet:PORT@HOST or local:/PATH' })
      .option('socket-ed25519', { type: 'string', describe: 'socket of the Ed25519 instance when the plan mixes RSA and Ed25519 (default: the next port)' })
      .option('config-dir', { type: 'string', describe: 'where the files will live on the mail server, e.g. /etc/opendkim (default: the --out directory)' })
      .option('keys-dir', { type: 'string', describe: 'directory of DOMAIN/SELECTOR.private (default: the plan\'s)' })
      .option('trusted', { type: 'string', array: true, default: [], describe: 'more hosts or networks whose mail is signed (TrustedHosts), e.g. 192.0.2.0/24' })
      .example('$0 opendkim --config-dir /etc/opendkim', 'files to copy to /etc/opendkim on the mail server')
      .example('$0 opendkim --socket local:/run/opendkim/opendkim.sock', 'use a unix socket') as never,
  handler: async (args) => {
    const [{ composeOpenDkim }, { makeDirectories, writeFileAtomic }] = await Promise.all([import('../../dkim/opendkim.js'), import('../../fsutil.js')]);
    const plan = await readPlan(args.plan, args.keysDir);
    const out = path.resolve(args.out);
    const configDir = args.configDir ?? out;
    const result = composeOpenDkim(plan, {
      socket: args.socket,
      ...(args.socketEd25519 ? { socketEd25519: args.socketEd25519 } : {}),
      configDir,
      trustedHosts: args.trusted,
    });
    makeDirectories(out);
    const written = result.files.map((f) => {
      const file = path.join(out, f.name);
      writeFileAtomic(file, f.content, { mode: 0o644 });
      return { name: f.name, path: file };
    });
    if (args.json) {
      printJson({ files: written, instances: result.instances, chown: result.chown, notes: result.notes });
      return;
    }
    const lines = [`wrote ${written.length} files to ${out}:`, ...written.map((w) => `  ${w.name}`), ''];
    if (configDir !== out) lines.push(`Copy them to ${configDir} on the mail server; the conf names them there.`);
    if (result.instances.length) {
      lines.push(
        'On the mail server:',
        `  ${result.chown}          # the keys must belong to the opendkim user`,
        result.instances.length > 1
          ? `  run one opendkim per algorithm: ${result.instances.map((i) => `opendkim -x ${path.join(configDir, i.conf)}`).join(' and ')} (e.g. a second systemd unit)`
          : `  put the settings of ${result.instances[0]!.conf} into /etc/opendkim.conf (replacing lines with the same names)`,
        "  grep -v '^#' postfix-main.cf | xargs -d '\\n' postconf -e   # or paste postfix-main.cf into main.cf",
        '  systemctl restart opendkim && postfix reload',
        'Check the keys against DNS first: `maildns verify`, or `opendkim-testkey -d DOMAIN -s SELECTOR -vvv` (RSA only).',
      );
    }
    process.stdout.write(`${lines.join('\n')}\n`);
    for (const n of result.notes) process.stderr.write(`${paint('note:', 'yellow', false)} ${n}\n`);
  },
};
