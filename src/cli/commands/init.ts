/** `maildns init`: write a commented starter plan. */
import { existsSync } from 'node:fs';
import type { CommandModule } from 'yargs';
import { COMMANDS } from '../registry.js';
import { describeFailure, EXIT, UsageError } from '../exit.js';
import type { StarterOptions } from '../../plan/init.js';
import { DEFAULT_PLAN_FILE, DKIM_ALGORITHMS, DMARC_POLICIES, type DkimAlgorithm, type DmarcPolicy } from '../../plan/types.js';
import { printJson } from '../render/output.js';
import { withJsonOption } from './common.js';

/** The starter plan's options as flags; the algorithm and policy are checked before use. */
interface Args extends Omit<StarterOptions, 'dkimAlg' | 'dmarcPolicy' | 'mxAddresses'> {
  dkimAlg: string;
  dmarcPolicy: string;
  output: string;
  force: boolean;
  json: boolean;
}

const many = { type: 'string' as const, array: true, nargs: 1, default: [] as string[] };

export const initCommand: CommandModule<object, Args> = {
  ...COMMANDS['init'],
  builder: (y) =>
    withJsonOption(y)
      .positional('domain', { type: 'string', demandOption: true, describe: 'the sending domain, e.g. example.com' })
      .option('ip4', { ...many, describe: 'IPv4 address or network of a sending host (repeatable)' })
      .option('ip6', { ...many, describe: 'IPv6 address or network of a sending host (repeatable)' })
      .option('include', { ...many, describe: 'SPF include of a relay or provider (repeatable)' })
      .option('mx', { ...many, describe: 'mail host receiving for the domain, the most preferred first (repeatable)' })
      .option('selector', { type: 'string', default: 'mail', describe: 'DKIM selector name' })
      .option('dkim-alg', { type: 'string', default: 'rsa-2048', choices: DKIM_ALGORITHMS as string[], describe: 'DKIM key algorithm' })
      .option('dmarc-policy', { type: 'string', default: 'none', choices: DMARC_POLICIES as string[], describe: 'DMARC p= to start with' })
      .option('rua', { ...many, describe: 'address for DMARC aggregate reports (repeatable)' })
      .option('output', { alias: 'o', type: 'string', default: DEFAULT_PLAN_FILE, describe: 'file to write' })
      .option('force', { type: 'boolean', default: false, describe: 'replace an existing file' })
      .example('$0 init example.com --ip4 203.0.113.25 --include _spf.relay.example.net --rua dmarc@example.com', 'a plan for a Postfix host relaying through a smarthost') as never,
  handler: async (args) => {
    try {
      await writeStarterPlan(args);
    } catch (err) {
      const { message, code } = describeFailure(err);
      // A bug is told as any other (exit 70, on stderr); bad input is the JSON answer, as spf's errors are.
      if (!args.json || code === EXIT.internal) throw err;
      printJson({ domain: args.domain, error: message });
      process.exitCode = code;
    }
  },
};

async function writeStarterPlan(args: Args): Promise<void> {
  const [{ writeFileAtomic }, { parsePlan }, { starterPlan }] = await Promise.all([
    import('../../fsutil.js'),
    import('../../plan/load.js'),
    import('../../plan/init.js'),
  ]);
  if (existsSync(args.output) && !args.force) {
    throw new UsageError(`${args.output} already exists; pass --force to replace it, or -o to write elsewhere`);
  }
  const text = starterPlan({
    domain: args.domain,
    ip4: args.ip4,
    ip6: args.ip6,
    include: args.include,
    mx: args.mx,
    selector: args.selector,
    dkimAlg: args.dkimAlg as DkimAlgorithm,
    dmarcPolicy: args.dmarcPolicy as DmarcPolicy,
    rua: args.rua,
  });
  parsePlan(text, args.output); // the starter must be a valid plan: fail here, not at the next command
  writeFileAtomic(args.output, text, { mode: 0o644, throughLink: true });
  if (args.json) {
    printJson({ wrote: args.output, domain: parsePlan(text, args.output).domains[0]!.domain, plan: text });
    return;
  }
  process.stdout.write(`wrote ${args.output}\nnext: edit it, then \`maildns keygen --plan ${args.output}\` and \`maildns records --plan ${args.output}\`\n`);
}
