/** `maildns records`: print the plan's records through an output provider. */
import type { CommandModule } from 'yargs';
import { COMMANDS } from '../registry.js';
import { EXIT, UsageError } from '../exit.js';
import { paint } from '../render/output.js';
import { readPlan, withPlanOption } from './common.js';
import { providerNames } from '../../../providers/index.js';

interface Args {
  plan: string;
  format: string;
  fullZone: boolean;
  tsv: boolean;
  json: boolean;
  allowOversize: boolean;
}

export const recordsCommand: CommandModule<object, Args> = {
  ...COMMANDS['records'],
  builder: (y) =>
    withPlanOption(y)
      .option('format', { alias: 'f', type: 'string', default: 'zone', choices: providerNames(), describe: 'output format' })
      .option('json', { type: 'boolean', default: false, describe: 'same as --format json' })
      .option('full-zone', { type: 'boolean', default: false, describe: 'a complete zone with SOA and NS (zone format), not a fragment to paste' })
      .option('tsv', { type: 'boolean', default: false, describe: 'tab-separated rows for copy and paste (mydns format)' })
      .option('allow-oversize', { type: 'boolean', default: false, describe: 'print the records even when the format cannot hold some of them (a value too long, a type it lacks)' })
      .example('$0 records', 'zone-file fragment for every domain in maildns.yaml')
      .example('$0 records --format mydns', 'rows to type into a MyDNS-style web form')
      .example('$0 records --format mydns --tsv', 'the same rows, tab-separated') as never,
  handler: async (args) => {
    const format = args.json ? 'json' : args.format;
    const [{ composePlan }, { renderWith }] = await Promise.all([import('../../plan/records.js'), import('../../../providers/index.js')]);
    const plan = await readPlan(args.plan);
    if (args.fullZone && format !== 'zone') throw new UsageError('--full-zone goes with --format zone');
    if (args.tsv && format !== 'mydns') throw new UsageError('--tsv goes with --format mydns (the zone and JSON formats have no tab-separated form)');
    const composed = composePlan(plan, { fullZone: args.fullZone });
    const out = renderWith(format, composed, { ...(args.tsv ? { tsv: true } : {}), ...(args.fullZone ? { fullZone: true } : {}) });
    if (out.problems.length && !args.allowOversize) {
      for (const p of out.problems) process.stderr.write(`${paint('error:', 'red', false)} ${p}\n`);
      process.stderr.write(`maildns: the ${format} format cannot hold these records as they are, so nothing was printed; choose another format, or pass --allow-oversize to print them anyway\n`);
      process.exitCode = EXIT.problems;
      return;
    }
    process.stdout.write(out.text);
    for (const p of out.problems) process.stderr.write(`warning: ${p}\n`);
    for (const note of [...composed.flatMap((c) => c.notes), ...out.warnings]) process.stderr.write(`note: ${note}\n`);
    // The records are printed, so the operator sees them, but a plan that breaks SPF is a problem found.
    const planProblems = composed.flatMap((c) => c.problems);
    for (const p of planProblems) process.stderr.write(`${paint('error:', 'red', false)} ${p}\n`);
    if (planProblems.length) process.exitCode = EXIT.problems;
  },
};
