/** `maildns serve`: answer for the plan's records on the embedded authoritative DNS server. */
import type { CommandModule } from 'yargs';
import { COMMANDS } from '../registry.js';
import { UsageError } from '../exit.js';
import { takesWholeNumber } from '../flag-values.js';
import { printJson } from '../render/output.js';
import { readPlan, withJsonOption, withPlanOption } from './common.js';

interface Args {
  plan: string;
  listen: string;
  port: number;
  json: boolean;
}

export const serveCommand: CommandModule<object, Args> = {
  ...COMMANDS['serve'],
  builder: (y) =>
    withJsonOption(withPlanOption(takesWholeNumber(y, 'port')))
      .option('listen', { type: 'string', default: '127.0.0.1', describe: 'address to listen on' })
      .option('port', { type: 'number', default: 5353, describe: 'port for UDP and TCP (0 picks a free one)' })
      .example('$0 serve --port 5353', 'then: dig @127.0.0.1 -p 5353 TXT _dmarc.example.com') as never,
  handler: async (args) => {
    if (!(args.port >= 0 && args.port <= 65535)) throw new UsageError(`--port must be a number from 0 to 65535 (got ${args.port})`);
    const [{ composeServedZones }, { startServer }] = await Promise.all([import('../../plan/served.js'), import('../../dns/server.js')]);
    const plan = await readPlan(args.plan);
    const served = composeServedZones(plan);
    const records = served.records;
    let server;
    try {
      server = await startServer({ records, zones: served.zones, host: args.listen, port: args.port });
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      const why = e.code === 'EADDRINUSE' ? 'the port is already in use; pick another with --port' : e.code === 'EACCES' ? 'no permission to bind there; use a port above 1023' : e.message;
      throw new UsageError(`cannot listen on ${args.listen}:${args.port}: ${why}`);
    }
    const domains = plan.domains.map((d) => d.domain);
    if (args.json) {
      printJson({ listening: { host: server.host, port: server.port }, domains, records: records.length });
    } else {
      process.stdout.write(`maildns: serving ${records.length} records for ${domains.join(', ')} on ${server.host} port ${server.port} (UDP and TCP)\n`);
      const first = domains[0]!;
      process.stdout.write(`try: dig @${server.host} -p ${server.port} TXT _dmarc.${first}\nstop with Ctrl-C\n`);
      for (const note of served.notes) process.stderr.write(`note: ${note}\n`);
    }
    await new Promise<void>((resolve) => {
      const stop = (): void => {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        resolve();
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    });
    await server.close();
    if (!args.json) process.stdout.write('maildns: server stopped\n');
  },
};
