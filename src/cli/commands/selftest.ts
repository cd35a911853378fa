/** `maildns selftest`: a probe through the local Postfix to maildns's own listener, and the verdict. */
import type { CommandModule } from 'yargs';
import { COMMANDS } from '../registry.js';
import { exitCodeOf, UsageError } from '../exit.js';
import { printJson } from '../render/output.js';
import { DEFAULT_SELFTEST_ROUTE } from '../../postfix/selftest-route.js';
import { DEFAULT_POSTFIX_CONFIG_DIR, DEFAULT_SENDMAIL, DEFAULT_SMTP, DEFAULT_WAIT_MS } from '../../selftest/defaults.js';
import { readPlan, resolverFromArgs, withJsonOption, withNameserverOption, withPlanOption } from './common.js';

interface Args {
  plan: string;
  via: 'smtp' | 'sendmail';
  smtp: string;
  sendmail: string;
  configDir: string;
  from?: string;
  to?: string;
  ip?: string;
  opendkimConf?: string[];
  wait: number;
  nameserver?: string;
  timeout: number;
  json: boolean;
}

const route = `[${DEFAULT_SELFTEST_ROUTE.host}]`;

export const selftestCommand: CommandModule<object, Args> = {
  ...COMMANDS['selftest'],
  builder: (y) =>
    withNameserverOption(withJsonOption(withPlanOption(y)))
      .option('via', { choices: ['smtp', 'sendmail'] as const, default: 'smtp' as const, describe: 'hand the probe to Postfix over SMTP (smtpd_milters sign it) or through sendmail (pickup: non_smtpd_milters sign it)' })
      .option('smtp', { type: 'string', default: `${DEFAULT_SMTP.host}:${DEFAULT_SMTP.port}`, describe: 'where Postfix takes mail over SMTP, HOST:PORT' })
      .option('sendmail', { type: 'string', default: DEFAULT_SENDMAIL, describe: "Postfix's sendmail, for --via sendmail" })
      .option('config-dir', { type: 'string', default: DEFAULT_POSTFIX_CONFIG_DIR, describe: "Postfix's config directory; another one is asked with postconf -c DIR and sendmail -C DIR" })
      .option('from', { type: 'string', describe: "the From and MAIL FROM address (default postmaster@ the plan's mail_host domain)" })
      .option('to', { type: 'string', describe: `the recipient (default selftest-TOKEN@${route}); Postfix must route its domain to a loopback address, where selftest listens` })
      .option('ip', { type: 'string', describe: "the host's public address, to check SPF for (not checked without it)" })
      .option('opendkim-conf', { type: 'string', array: true, nargs: 1, describe: 'the OpenDKIM confs to read for the reasons (default: the ones `maildns opendkim` installs for the plan)' })
      .option('wait', { type: 'number', default: DEFAULT_WAIT_MS / 1000, describe: 'seconds the submission and the arrival may take together' })
      .example('$0 selftest', 'over SMTP to 127.0.0.1:25, then the verdict')
      .example('$0 selftest --via sendmail --ip 203.0.113.25', 'as cron jobs send, and SPF for the public address')
      .epilogue(
        `The probe goes to an address literal such as selftest-TOKEN@${route}. With a relayhost, Postfix would hand it to the relay like all other mail, ` +
          `so \`maildns postfix\` adds a route for that literal alone (transport_maps = inline:{ ${route}=maildns-selftest:${route}:${DEFAULT_SELFTEST_ROUTE.port} } and a ` +
          'maildns-selftest smtp service in master.cf without TLS or login); selftest listens there during the test and refuses to send when the route is missing. ' +
          'Run it as root on the mail host. Exit codes: 0 the probe left signed and aligned (and SPF passed for --ip), 1 it did not (unsigned, failing or unaligned signatures, ' +
          'refused, or not arrived in time; the likely reasons follow), 2 bad input or no route, 3 DNS could not be asked.',
      ) as never,
  handler: async (args) => {
    const m = /^([^:]+|\[[^\]]+\]):(\d{1,5})$/.exec(args.smtp);
    if (!m || Number(m[2]) < 1 || Number(m[2]) > 65535) throw new UsageError(`--smtp "${args.smtp}" is not HOST:PORT, e.g. 127.0.0.1:25`);
    if (!(args.wait >= 1 && args.wait <= 600)) throw new UsageError('--wait must be from 1 to 600 seconds');
    const [{ runSelftest }, { renderSelftest }] = await Promise.all([import('../../selftest/run.js'), import('../render/selftest.js')]);
    const plan = await readPlan(args.plan);
    const resolver = await resolverFromArgs(args);
    const report = await runSelftest({
      plan,
      resolver,
      via: args.via,
      smtp: { host: m[1]!.replace(/^\[|\]$/g, ''), port: Number(m[2]) },
      sendmail: args.sendmail,
      postfixConfigDir: args.configDir,
      waitMs: Math.round(args.wait * 1000),
      ...(args.from !== undefined ? { from: args.from } : {}),
      ...(args.to !== undefined ? { to: args.to } : {}),
      ...(args.ip !== undefined ? { ip: args.ip } : {}),
      ...(args.opendkimConf?.length ? { opendkimConfs: args.opendkimConf } : {}),
    });
    const code = exitCodeOf(report.outcome);
    if (args.json) printJson({ ...report, exitCode: code });
    else process.stdout.write(renderSelftest(report));
    process.exitCode = code;
  },
};
