/** `maildns records`: print the plan's records through an output provider. */
import type { CommandModule } from 'yargs';
import { UsageError } from '../exit.js';
import { composePlan } from '../../plan/records.js';
import { providerNames, renderWith } from '../../../providers/index.js';
import { readPlan, withPlanOption } from './common.js';

interface Args {
  plan: string;
  format: string;
  fullZone: boolean;
  tsv: boolean;
}

export const recordsCommand: CommandModule<object, Args> = {
  command: 'records',
  describe: 'print the DNS records the plan asks for (zone file, MyDNS rows or JSON)',
  builder: (y) =>
    withPlanOption(y)
      .option('format', { alias: 'f', type: 'string', default: 'zone', choices: providerNames(), describe: 'output format' })
      .option('full-zone', { type: 'boolean', default: false, describe: 'a complete zone with SOA and NS (zone format), not a fragment to paste' })
      .option('tsv', { type: 'boolean', default: false, describe: 'tab-separated rows for copy and paste (mydns format)' })
      .example('$0 records', 'zone-file fragment for every domain in maildns.yaml')
      .example('$0 records --format mydns', 'rows to type into a MyDNS-style web form') as never,
  handler: (args) => {
    const plan = readPlan(args.plan);
    const composed = composePlan(plan, { fullZone: args.fullZone });
    if (args.format !== 'zone' && args.fullZone) throw new UsageError('--full-zone goes with --format zone');
    const out = renderWith(args.format, composed, { tsv: args.tsv, fullZone: args.fullZone });
    process.stdout.write(out.text);
    for (const note of [...composed.flatMap((c) => c.notes), ...out.warnings]) process.stderr.write(`note: ${note}\n`);
  },
};
