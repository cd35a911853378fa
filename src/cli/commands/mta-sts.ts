/**
 * `maildns mta-sts`: the MTA-STS policy file of each planned domain, for the web server that
 * answers for mta-sts.<domain> (RFC 8461 §3.3), printed or written under --out DIR as
 * DIR/mta-sts.<domain>/.well-known/mta-sts.txt, with the _mta-sts record that goes with it.
 */
import path from 'node:path';
import type { CommandModule } from 'yargs';
import { COMMANDS } from '../registry.js';
import { UsageError } from '../exit.js';
import { printJson } from '../render/output.js';
import { normalizeName } from '../../names.js';
import { readPlan, withJsonOption, withPlanOption } from './common.js';

interface Args {
  plan: string;
  out?: string;
  domain: string[];
  json: boolean;
}

export const mtaStsCommand: CommandModule<object, Args> = {
  ...COMMANDS['mta-sts'],
  builder: (y) =>
    withJsonOption(withPlanOption(y))
      .option('out', { type: 'string', normalize: true, describe: 'write each policy to DIR/mta-sts.DOMAIN/.well-known/mta-sts.txt (a document root per policy host) instead of printing it' })
      .option('domain', { alias: 'd', type: 'string', array: true, nargs: 1, default: [], describe: 'only this domain of the plan (may repeat)' })
      .example('$0 mta-sts', 'print each policy with the URL it must be served at')
      .example('$0 mta-sts --out /var/www', 'write /var/www/mta-sts.example.com/.well-known/mta-sts.txt for each planned domain')
      .epilogue(
        'Serve each file at https://mta-sts.DOMAIN/.well-known/mta-sts.txt as text/plain, with a certificate for ' +
          'mta-sts.DOMAIN, and no redirect. Publish the _mta-sts record (`maildns records` prints it) after the new ' +
          'policy is served: its id follows the policy text, so it changes exactly when the policy does.',
      ) as never,
  handler: async (args) => {
    const [{ composeMtaStsPolicy }, { composeStsRecord, stsRecordName }, { makeDirectories, writeFileAtomic }] = await Promise.all([
      import('../../plan/records.js'),
      import('../../mtasts/compose.js'),
      import('../../fsutil.js'),
    ]);
    const plan = await readPlan(args.plan);
    const wanted = args.domain.map(normalizeName);
    const unknown = wanted.filter((d) => !plan.domains.some((p) => p.domain === d));
    if (unknown.length) throw new UsageError(`--domain ${unknown[0]} is not in the plan (planned: ${plan.domains.map((d) => d.domain).join(', ')})`, args.plan);
    const files = plan.domains
      .filter((d) => !wanted.length || wanted.includes(d.domain))
      .map(composeMtaStsPolicy)
      .filter((f): f is NonNullable<typeof f> => f !== null);
    if (!files.length) throw new UsageError('no domain of the plan has an mta_sts section; add one such as "mta_sts: { mode: testing }"', args.plan);
    const out = files.map((f) => {
      const written = args.out ? path.join(args.out, f.host, ...f.path.split('/').filter(Boolean)) : null;
      // World-readable: the web server, not maildns's user, serves it.
      if (written) {
        // Not mkdirSync's recursive: it retries for ever where mkdir answers ENOENT under a parent that exists (/proc).
        makeDirectories(path.dirname(written));
        writeFileAtomic(written, f.text, { mode: 0o644 });
      }
      return { domain: f.domain, url: `https://${f.host}${f.path}`, host: f.host, file: written, text: f.text, record: { name: stsRecordName(f.domain), type: 'TXT', value: composeStsRecord(f.text) } };
    });
    if (args.json) return printJson({ version: 1, policies: out });
    for (const p of out) {
      if (p.file) process.stdout.write(`${p.file}  (serve as ${p.url})\n`);
      else process.stdout.write(`# ${p.url}  (text/plain, certificate for ${p.host}, no redirect)\n${p.text.replace(/\r\n/g, '\n')}\n`);
      process.stdout.write(`#   with ${p.record.name}. TXT "${p.record.value}"\n${p.file ? '' : '\n'}`);
    }
  },
};
