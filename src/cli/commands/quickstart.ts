/** `maildns quickstart`: the whole set-up of an example domain, offline, in a few seconds. */
import type { CommandModule } from 'yargs';
import { COMMANDS } from '../registry.js';
import { sendingDomainArg } from './common.js';
import { paint, printJson, useColor } from '../render/output.js';

interface Args {
  dir: string;
  domain: string;
  json: boolean;
}

export const quickstartCommand: CommandModule<object, Args> = {
  ...COMMANDS['quickstart'],
  builder: (y) =>
    y
      .positional('dir', { type: 'string', default: 'maildns-quickstart', describe: 'directory for the plan, keys and files (kept between runs)' })
      .option('domain', { type: 'string', default: 'example.com', describe: 'the domain to set up' })
      .option('json', { type: 'boolean', default: false, describe: 'print the steps and results as JSON' })
      .example('$0 quickstart', 'everything in ./maildns-quickstart for example.com')
      .example('$0 quickstart /tmp/qs --domain example.org', 'another directory and domain') as never,
  handler: async (args) => {
    const { quickstart } = await import('../../quickstart.js');
    const domain = sendingDomainArg(args.domain, '--domain');
    const color = useColor();
    let n = 0;
    const result = await quickstart({
      dir: args.dir,
      domain,
      onStep: args.json
        ? undefined
        : (s) => {
            n++;
            const mark = s.ok ? paint('ok', 'green', color) : paint('FAILED', 'red', color);
            process.stdout.write(`\n${paint(`== ${n}. ${s.title}`, 'bold', color)} [${mark}]\n${s.body}\n`);
          },
    });
    if (args.json) printJson({ ok: result.ok, dir: result.dir, plan: result.planFile, steps: result.steps, verify: result.verify, message: result.message });
    else process.stdout.write(`\n${result.ok ? 'quick start complete: every step passed' : 'quick start finished with failures (see above)'}\n`);
    process.exitCode = result.ok ? 0 : 1;
  },
};
