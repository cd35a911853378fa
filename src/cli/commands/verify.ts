/** `maildns verify`: is the plan published, exactly, on every authoritative server? */
import type { CommandModule } from 'yargs';
import { COMMANDS } from '../registry.js';
import { exitCodeOf, UsageError } from '../exit.js';
import type { Severity } from '../../findings.js';
import { useColor } from '../render/output.js';
import { onInterrupt } from '../interrupt.js';
import { writeReport } from '../output.js';
import { policyFetchFromArgs, readPlan, resolverFromArgs, withCaFileOption, withJsonOption, withNameserverOption, withPlanOption } from './common.js';
import { normalizeName } from '../../names.js';

interface Args {
  plan: string;
  json: boolean;
  nameserver?: string;
  authoritative?: string;
  domain: string[];
  failOn: Severity;
  timeout: number;
  deadline: number;
  caFile?: string;
  rdns: boolean;
  output?: string;
}

export const verifyCommand: CommandModule<object, Args> = {
  ...COMMANDS['verify'],
  builder: (y) =>
    withCaFileOption(withJsonOption(withNameserverOption(withPlanOption(y))))
      .option('authoritative', {
        type: 'string',
        describe: 'ask these servers (HOST[:PORT], comma-separated) as the authoritative servers instead of the NS records found in DNS',
      })
      .option('domain', { alias: 'd', type: 'string', array: true, nargs: 1, default: [], describe: 'verify only this domain of the plan (may repeat)' })
      .option('fail-on', { type: 'string', choices: ['error', 'warning'] as const, default: 'error' as const, describe: 'lowest severity that counts as a problem (exit 1)' })
      .option('output', { alias: 'o', type: 'string', describe: 'write the report to FILE, atomically (it appears only when complete), instead of standard output' })
      .option('rdns', { type: 'boolean', default: false, describe: 'check the reverse DNS (PTR, forward-confirmed) of every domain\'s sending addresses; always done for a domain that lists sending_hosts' })
      .example('$0 verify', 'every record of maildns.yaml on every name server of each domain')
      .example('$0 verify --authoritative 192.0.2.53,192.0.2.54 --json', 'ask these two servers; JSON (shape: src/verify/README.md)')
      .example('$0 verify --rdns', 'also the PTR records of the sending hosts; a planned MTA-STS policy is always fetched over HTTPS')
      .epilogue(
        'Exit codes: 0 everything is published as planned; 1 problems found (missing, different or conflicting ' +
          'records, name servers other than the plan\'s nameservers, servers that disagree, a DKIM key that is not ' +
          'the local key, validator errors); 2 bad input; ' +
          '3 DNS could not be asked (no authoritative server answered for any domain).',
      ) as never,
  handler: async (args) => {
    const [{ parseServerList }, { formatServer }, { verifyPlan }, { renderVerifyReport }] = await Promise.all([
      import('../../dns/authoritative.js'),
      import('../../dns/resolver.js'),
      import('../../verify/run.js'),
      import('../render/verify.js'),
    ]);
    const plan = await readPlan(args.plan);
    let explicit: string[] | undefined;
    if (args.authoritative !== undefined) {
      try {
        explicit = parseServerList(args.authoritative).map(formatServer);
      } catch (err) {
        throw new UsageError(`--authoritative: ${(err as Error).message}`);
      }
      if (!explicit.length) throw new UsageError('--authoritative needs at least one HOST[:PORT]');
    }
    const domains = args.domain.map(normalizeName);
    const unknown = domains.filter((d) => !plan.domains.some((p) => p.domain === d));
    if (unknown.length) throw new UsageError(`--domain ${unknown[0]} is not in the plan (planned: ${plan.domains.map((d) => d.domain).join(', ')})`, args.plan);
    const mtaStsPolicy = policyFetchFromArgs(args);
    // Stopped while DNS is asked: nothing has been written yet, and with -o no file appears.
    const stopHandling = onInterrupt(() => (args.output ? `nothing was written to ${args.output}` : 'the run was not finished'));
    const resolver = await resolverFromArgs(args);
    const report = await verifyPlan(plan, {
      resolver,
      authoritative: explicit,
      timeoutMs: args.timeout,
      deadlineMs: args.deadline,
      failOn: args.failOn,
      domains,
      mtaStsPolicy,
      rdns: args.rdns,
    });
    const exitCode = exitCodeOf(report.outcome);
    const { version, ...rest } = report;
    const text = args.json ? `${JSON.stringify({ version, exitCode, ...rest }, null, 2)}\n` : renderVerifyReport(report, args.output === undefined && useColor());
    // The writer's own handler is in place before this one goes, so no signal finds neither.
    const written = writeReport(args.output, text);
    stopHandling();
    await written;
    process.exitCode = exitCode;
  },
};
