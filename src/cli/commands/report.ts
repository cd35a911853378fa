/** `maildns report merge FILE…`: the outputs of several `check` runs (the shards of one list) as one report. */
import type { CommandModule } from 'yargs';
import { COMMANDS, subcommandMissing } from '../registry.js';
import { CHECK_FORMATS, type CheckFormat } from '../render/formats.js';
import { UsageError } from '../exit.js';

interface MergeArgs {
  files: string[];
  format: CheckFormat;
  json: boolean;
  output?: string;
  quiet: boolean;
}

const mergeCommand: CommandModule<object, MergeArgs> = {
  command: 'merge <files..>',
  describe: 'combine the JSON or NDJSON outputs of several check runs (every shard of a list) into one report',
  builder: (y) =>
    y
      .positional('files', { type: 'string', array: true, demandOption: true, describe: 'outputs of `maildns check --format json` or `--format ndjson`' })
      .option('format', { alias: 'f', type: 'string', choices: CHECK_FORMATS, default: 'text' as const, describe: 'report format, as for check' })
      .option('json', { type: 'boolean', default: false, describe: 'same as --format json' })
      .option('output', { alias: 'o', type: 'string', describe: 'write the report to FILE, atomically, instead of standard output' })
      .option('quiet', { alias: 'q', type: 'boolean', default: false, describe: 'text format: list only domains that fail or could not be checked' })
      .example('$0 report merge shard-*.ndjson', 'the summary and every failing domain of all shards')
      .example('$0 report merge shard-*.ndjson --format junit -o report.xml', 'one JUnit report for CI')
      .example('$0 report merge shard-*.ndjson --format html -o report.html', 'one page to look at')
      .epilogue(
        'Every shard of a split must be there once (a missing or repeated shard, a domain in two files or a file cut short is exit 2, before anything is written). ' +
          'Exit codes as for one check run: 0 every domain passed; 1 a domain failed or could not be checked; 3 DNS failed for every domain; 2 bad input.',
      ) as never,
  handler: async (args) => {
    // Given twice (a wrapper's default, then the caller's): the last one counts.
    const format: CheckFormat = args.json ? 'json' : ([args.format].flat().at(-1) as CheckFormat);
    const files = args.files.map(String);
    if (files.length === 0) throw new UsageError('name the reports to merge: maildns report merge shard-0.ndjson shard-1.ndjson …');
    const [{ prepareMerge }, { runCheckReport }] = await Promise.all([import('../../report/merge.js'), import('../check-report.js')]);
    const merge = await prepareMerge(files);
    const { exitCode } = await runCheckReport({
      format,
      outputFile: args.output,
      // What the shards were checked against; JUnit lists the findings at or above it as failures.
      failOn: merge.failOn ?? 'error',
      selectors: merge.selectors ?? [],
      quiet: args.quiet,
      run: (onResult) => merge.run(onResult),
    });
    process.exitCode = exitCode;
  },
};

export const reportCommand: CommandModule = {
  ...COMMANDS['report'],
  builder: (y) => y.command(mergeCommand as CommandModule).demandCommand(1, subcommandMissing('report')),
  handler: () => {},
};
