/** `maildns keygen`: a DKIM key pair for every selector in the plan that has none. */
import type { CommandModule } from 'yargs';
import { COMMANDS } from '../registry.js';
import type { KeygenResult } from '../../dkim/keygen.js';
import { EXIT, UsageError } from '../exit.js';
import { paint, printJson } from '../render/output.js';
import type { Plan } from '../../plan/types.js';
import { readPlan, withJsonOption, withPlanOption } from './common.js';
import { normalizeName } from '../../names.js';

interface Args {
  plan: string;
  keysDir?: string;
  force: boolean;
  domain?: string;
  selector?: string;
  json: boolean;
}

function textReport(results: readonly KeygenResult[]): string {
  const lines: string[] = [];
  for (const r of results) {
    const status = r.status === 'kept' ? paint('kept    ', 'dim') : paint(r.status.padEnd(8), 'green');
    lines.push(`${status} ${r.domain}  selector ${r.selector}  ${r.algorithm}  ${r.keyPath}`);
    if (r.backup) lines.push(r.backupLedNowhere ? `         the old symbolic link, which led to no file (no key was there), kept as ${r.backup}` : `         old key kept as ${r.backup}`);
  }
  if (results.length === 0) lines.push('no DKIM selectors in the plan: add one under "dkim:" for a domain');
  else {
    lines.push('');
    lines.push('Record files (opendkim-genkey layout) lie beside the keys as <selector>.txt.');
    lines.push('Next: publish the records (`maildns records`), then write the OpenDKIM files (`maildns opendkim`)');
    lines.push('and run the steps it prints on the mail server: they install these keys in /etc/dkimkeys, owned by opendkim, mode 0600.');
  }
  return `${lines.join('\n')}\n`;
}

export const keygenCommand: CommandModule<object, Args> = {
  ...COMMANDS['keygen'],
  builder: (y) =>
    withJsonOption(withPlanOption(y))
      .option('keys-dir', { type: 'string', describe: 'directory for DOMAIN/SELECTOR.private (default: the plan\'s defaults.keys_dir, else ./keys)' })
      .option('force', { type: 'boolean', default: false, describe: 'replace existing keys; each old key is kept as KEY.<time>.bak' })
      .option('domain', { type: 'string', describe: 'only this domain' })
      .option('selector', { type: 'string', describe: 'only this selector (with --domain)' })
      .example('$0 keygen', 'keys for every selector in maildns.yaml that has none')
      .example('$0 keygen --keys-dir /etc/opendkim/keys', 'put the keys where OpenDKIM reads them')
      .example('$0 keygen --domain example.com --selector mail --force', 'replace one key, keeping the old file as a backup') as never,
  handler: async (args) => {
    if (args.selector && !args.domain) throw new UsageError('--selector goes with --domain');
    const { keygenPlan } = await import('../../dkim/keygen.js');
    const plan = await readPlan(args.plan, args.keysDir);
    const domain = args.domain === undefined ? undefined : normalizeName(args.domain);
    if (domain && !plan.domains.some((d) => d.domain === domain)) throw new UsageError(`domain "${domain}" is not in the plan`, args.plan);
    const scoped: Plan = {
      ...plan,
      domains: plan.domains
        .filter((d) => !domain || d.domain === domain)
        .map((d) => ({ ...d, dkim: d.dkim.filter((s) => !args.selector || s.selector === args.selector.toLowerCase()) })),
    };
    if (args.selector && scoped.domains.every((d) => d.dkim.length === 0)) throw new UsageError(`selector "${args.selector}" is not in the plan for ${domain}`, args.plan);
    const results = await keygenPlan(scoped, { force: args.force });
    const warnings = results.flatMap((r) => r.warnings);
    if (args.json) {
      // Private key material never appears here: only paths, public records and states.
      printJson({ keys: results, warnings });
    } else {
      process.stdout.write(textReport(results));
      for (const w of warnings) process.stderr.write(`${paint('warning:', 'yellow', false)} ${w}\n`);
      for (const n of results.flatMap((r) => r.notes)) process.stderr.write(`note: ${n}\n`);
    }
    // Problems found: a kept key that does not match the plan or that others can read.
    if (results.some((r) => r.problem)) process.exitCode = EXIT.problems;
  },
};
