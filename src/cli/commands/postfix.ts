/** `maildns postfix`: the mail host's Postfix lines from the plan's mail_host section, and the steps. */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { CommandModule } from 'yargs';
import type { MilterDefaultAction } from '../../dkim/opendkim.js';
import { writeFileAtomic } from '../../fsutil.js';
import { composePostfix, POSTFIX_CONFIG_DIR } from '../../postfix/compose.js';
import { paint, printJson } from '../render/output.js';
import { renderSteps, stepsJson } from '../render/steps.js';
import { readPlan, withJsonOption, withPlanOption } from './common.js';
import { withMilterOptions } from './opendkim.js';

interface Args {
  plan: string;
  out: string;
  configDir: string;
  socket?: string;
  socketEd25519?: string;
  postfixQueueDir: string;
  postfixChrooted: boolean;
  milterDefaultAction: MilterDefaultAction;
  json: boolean;
}

export const postfixCommand: CommandModule<object, Args> = {
  command: 'postfix',
  describe: "write the mail host's Postfix lines from the plan's mail_host (relayhost with SMTP AUTH over TLS, submission with SASL, relay restrictions, the OpenDKIM milters) and the steps to apply them",
  builder: (y) =>
    withMilterOptions(withJsonOption(withPlanOption(y)))
      .option('out', { alias: 'o', type: 'string', default: 'postfix', describe: 'directory to write the files to (the password map is written 0600)' })
      .option('config-dir', { type: 'string', default: POSTFIX_CONFIG_DIR, describe: "Postfix's config directory on the mail host" })
      .example('$0 postfix', 'postfix-main.cf, postfix-master.cf, sasl_passwd and the postconf/postmap steps for the plan\'s mail_host')
      .example('RELAY_PASSWORD=... $0 postfix', 'with "password_env: RELAY_PASSWORD" in the plan') as never,
  handler: (args) => {
    const plan = readPlan(args.plan);
    const result = composePostfix(plan, {
      ...(args.socket ? { socket: args.socket } : {}),
      ...(args.socketEd25519 ? { socketEd25519: args.socketEd25519 } : {}),
      postfixQueueDir: args.postfixQueueDir,
      postfixChrooted: args.postfixChrooted,
      milterDefaultAction: args.milterDefaultAction,
      postfixConfigDir: args.configDir,
    });
    const out = path.resolve(args.out);
    mkdirSync(out, { recursive: true });
    const written = result.files.map((f) => {
      const file = path.join(out, f.name);
      writeFileAtomic(file, f.content, { mode: f.mode });
      return { name: f.name, path: file, installPath: f.installPath, mode: `0${f.mode.toString(8)}`, secret: f.secret };
    });
    if (args.json) {
      printJson({ files: written, mainCf: result.mainCf, masterCf: result.masterCf, milters: result.milters, steps: stepsJson(result.steps), notes: result.notes });
      return;
    }
    const lines = [
      `wrote ${written.length} files to ${out}:`,
      ...written.map((w) => `  ${w.name.padEnd(20)} ${w.installPath ? `-> ${w.installPath}` : '(applied with postconf)'}${w.secret ? ` (mode ${w.mode}: it holds the relay password)` : ''}`),
      '',
      `On the mail host, as root, in a copy of ${out}:`,
      ...renderSteps(result.steps),
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
    for (const n of result.notes) process.stderr.write(`${paint('note:', 'yellow', false)} ${n}\n`);
  },
};
