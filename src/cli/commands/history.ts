/** `maildns history [DOMAIN]`: what changed between the runs recorded by `check --history FILE`. */
import type { CommandModule } from 'yargs';
import { COMMANDS } from '../registry.js';
import { UsageError } from '../exit.js';
import { printJson, useColor } from '../render/output.js';
import { domainArg } from './common.js';

interface Args {
  domain?: string;
  history?: string;
  since?: string;
  json: boolean;
  worse: boolean;
}

export const historyCommand: CommandModule<object, Args> = {
  ...COMMANDS['history'],
  builder: (y) =>
    y
      .positional('domain', { type: 'string', describe: 'only this domain (its every change, its first result too)' })
      .option('history', { type: 'string', describe: 'the SQLite file that `check --history FILE` records runs in; also MAILDNS_HISTORY' })
      .option('since', { type: 'string', describe: 'only changes seen in runs from this date: 2026-12-01, 2026-12-01T03:30Z, or 7d / 12h ago' })
      .option('worse', { type: 'boolean', default: false, describe: 'only changes for the worse' })
      .option('json', { type: 'boolean', default: false, describe: 'print the runs and changes as JSON' })
      .example('$0 history --history checks.db --since 7d', 'what changed in the last week, run by run')
      .example('$0 history example.com --history checks.db', 'every change of one domain since it was first checked')
      .epilogue('Exit codes: 0 shown; 2 the file is not a history database, the date cannot be read, or the domain was never recorded.') as never,
  handler: async (args) => {
    const file = args.history ?? process.env['MAILDNS_HISTORY'];
    if (!file) throw new UsageError('name the history file: --history FILE (the one `maildns check --history FILE` writes), or set MAILDNS_HISTORY');
    const domain = args.domain === undefined ? undefined : domainArg(args.domain);
    const [{ readHistory, parseSince }, { renderHistory }] = await Promise.all([import('../../history/query.js'), import('../render/history.js')]);
    let since: Date | undefined;
    try {
      since = args.since === undefined ? undefined : parseSince(args.since);
    } catch (err) {
      throw new UsageError(`--since: ${(err as Error).message}`);
    }
    const report = readHistory(file, { ...(domain !== undefined ? { domain } : {}), ...(since ? { since } : {}) });
    if (args.worse) report.changes = report.changes.filter((c) => c.direction === 'worse');
    if (args.json) printJson({ version: 1, ...report });
    else process.stdout.write(renderHistory(report, useColor()));
  },
};
