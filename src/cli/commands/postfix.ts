/** `maildns postfix`: the mail host's Postfix lines from the plan's mail_host section, and the steps. */
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { CommandModule } from 'yargs';
import { COMMANDS } from '../registry.js';
import { DEBIAN, type MilterDefaultAction } from '../../dkim/opendkim-settings.js';
import { hasFindingAtLeast, type Severity } from '../../findings.js';
import { DEFAULT_PLAN_FILE } from '../../plan/types.js';
import { EXIT, UsageError } from '../exit.js';
import { DEFAULT_SELFTEST_ROUTE, parseRoute } from '../../postfix/selftest-route.js';
import { paint, printJson, renderFindings } from '../render/output.js';
import { renderSteps, stepsJson } from '../render/steps.js';
import { domainArg, readPlan, sayWhenReadingTerminal, withJsonOption, withPlanOption } from './common.js';
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
  selftestRoute: string;
  json: boolean;
}

interface LintArgs {
  file: string;
  stdin: boolean;
  plan: string;
  domain?: string;
  failOn: Severity;
  json: boolean;
}

const postfixLintCommand: CommandModule<object, LintArgs> = {
  command: 'lint [file]',
  describe: 'check a main.cf (or `postconf -n` output with --stdin) for an open relay, passwords in clear, a relayhost without brackets, a provider missing from SPF, milters the chroot cannot reach, and names that disagree with the sending domain',
  builder: (y) =>
    withJsonOption(withPlanOption(y))
      .positional('file', { type: 'string', default: `${DEBIAN.postfixConfigDir}/main.cf`, describe: 'the main.cf to read' })
      .option('stdin', { type: 'boolean', default: false, describe: 'read the settings from standard input (e.g. `postconf -n |`) instead of a file' })
      .option('domain', { type: 'string', describe: "the sending domain (default: the plan's mail_host.domain)" })
      .option('fail-on', { choices: ['error', 'warning'] as const, default: 'error' as const, describe: 'exit 1 from this severity on' })
      .example('$0 postfix lint /etc/postfix/main.cf', 'check the live main.cf against the plan')
      .example('postconf -n | $0 postfix lint --stdin', 'check what Postfix really uses') as never,
  handler: async (args) => {
    const [{ lintPostfixMainCf }, { failedOn, readInputFile, readStandardInput }] = await Promise.all([import('../../postfix/lint.js'), import('../../fsutil.js')]);
    let text = '';
    try {
      // The file, or standard input, as sign reads a message: bounded, a pipe to its end within the input deadline, /dev/zero refused at the limit.
      const limits = { maxBytes: 16 << 20, what: 'a main.cf', fix: args.stdin ? 'pipe in `postconf -n` or a main.cf' : 'is this main.cf?', atTerminal: sayWhenReadingTerminal('Postfix settings (`postconf -n` lines)') };
      text = (await (args.stdin ? readStandardInput(limits) : readInputFile(args.file, limits))).toString('utf8');
    } catch (err) {
      // A directory fails in read(), whose error names no path: name the file, so it is one line with the fix.
      failedOn(err, args.stdin ? '<stdin>' : args.file, 'read the file');
    }
    // The plan adds the SPF and identity checks; without one (the default file absent) they need --domain.
    const plan = args.plan === DEFAULT_PLAN_FILE && !existsSync(args.plan) ? undefined : await readPlan(args.plan);
    const file = args.stdin ? 'postconf -n' : args.file;
    const findings = lintPostfixMainCf(text, { file, ...(plan ? { plan } : {}), ...(args.domain ? { domain: domainArg(args.domain, '--domain') } : {}) });
    const code = hasFindingAtLeast(findings, args.failOn) ? EXIT.problems : EXIT.ok;
    if (args.json) printJson({ file, findings, exitCode: code });
    else process.stdout.write(`${renderFindings(findings)}\n`);
    process.exitCode = code;
  },
};

export const postfixCommand: CommandModule<object, Args> = {
  ...COMMANDS['postfix'],
  builder: (y) =>
    withMilterOptions(withJsonOption(withPlanOption(y)))
      .command(postfixLintCommand)
      // global: false, as in withMilterOptions: yargs hands a command's options on to its
      // subcommands, and lint reads none of these (it would list and silently take them).
      .option('out', { alias: 'o', type: 'string', global: false, default: 'postfix', describe: 'directory to write the files to (the password map is written 0600)' })
      .option('config-dir', { type: 'string', global: false, default: DEBIAN.postfixConfigDir, describe: "Postfix's config directory on the mail host" })
      .option('selftest-route', {
        type: 'string',
        global: false,
        default: `${DEFAULT_SELFTEST_ROUTE.host}:${DEFAULT_SELFTEST_ROUTE.port}`,
        describe: 'where `maildns selftest` listens: mail to the address literal [HOST] goes there in plain SMTP, not to the relayhost (an address in 127.0.0.0/8; "none" leaves the route out)',
      })
      .example('$0 postfix', 'postfix-main.cf, postfix-master.cf, sasl_passwd and the postconf/postmap steps for the plan\'s mail_host')
      .example('RELAY_PASSWORD=... $0 postfix', 'with "password_env: RELAY_PASSWORD" in the plan') as never,
  handler: async (args) => {
    const [{ composePostfix }, { makeDirectories, writeFileAtomic }] = await Promise.all([import('../../postfix/compose.js'), import('../../fsutil.js')]);
    const route = args.selftestRoute === 'none' ? null : parseRoute(args.selftestRoute);
    if (route === null && args.selftestRoute !== 'none') throw new UsageError(`--selftest-route "${args.selftestRoute}" is not ADDRESS:PORT with an address in 127.0.0.0/8, e.g. 127.0.0.2:11025 (or "none")`);
    const plan = await readPlan(args.plan);
    const result = composePostfix(plan, {
      selftestRoute: route,
      ...(args.socket ? { socket: args.socket } : {}),
      ...(args.socketEd25519 ? { socketEd25519: args.socketEd25519 } : {}),
      postfixQueueDir: args.postfixQueueDir,
      postfixChrooted: args.postfixChrooted,
      milterDefaultAction: args.milterDefaultAction,
      postfixConfigDir: args.configDir,
    });
    const out = path.resolve(args.out);
    makeDirectories(out);
    const written = result.files.map((f) => {
      const file = path.join(out, f.name);
      writeFileAtomic(file, f.content, { mode: f.mode, secret: f.secret });
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
