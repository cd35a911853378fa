/**
 * The reporting side of `check` and `report merge`, shared: where the report goes (standard
 * output, or -o FILE written atomically), which reporter writes it, the history run that records
 * each result (and the changes it returns), the exit code, and a clean stop on SIGINT/SIGTERM
 * (no half-written report, no complete-looking run, one line saying so).
 */
import type { DomainResult } from '../check/audit.js';
import type { RunSummary } from '../check/run.js';
import type { Shard } from '../check/shard.js';
import type { Severity } from '../findings.js';
import type { anyWorse } from '../history/changes.js';
import type { RunRecorder } from '../history/record.js';
import type { ReportContext } from '../report/format.js';
import { EXIT, exitCodeOf } from './exit.js';
import { boundOldGenerationGrowth } from './memory.js';
import { onInterrupt } from './interrupt.js';
import { openReportOutput } from './output.js';
import { reporterFor, type Reporter } from './render/check.js';
import type { CheckFormat } from './render/formats.js';
import { useColor } from './render/output.js';
import { packageVersion } from './version.js';

interface CheckReportOptions {
  format: CheckFormat;
  outputFile?: string | undefined;
  failOn: Severity;
  selectors: readonly string[];
  quiet: boolean;
  shard?: Shard;
  history?: { file: string; changesOnly: boolean; busyTimeoutMs: number };
  /** Produce the results, handing each to onResult; the figures of the run. */
  run(onResult: (r: DomainResult) => Promise<void>): Promise<RunSummary & Partial<ReportContext> & { queries?: number }>;
  /** DNS queries sent (read when the run is over). */
  queries?: () => number;
  /** Called when the results are all in, before the report is finished (the progress display ends). */
  done?: () => void;
}

function versionNote(): string | undefined {
  try {
    return packageVersion();
  } catch {
    return undefined; // only a note in the history file
  }
}

export async function runCheckReport(opts: CheckReportOptions): Promise<{ exitCode: number }> {
  // Here, with the run's modules loaded and before its first full collection (src/cli/memory.ts).
  boundOldGenerationGrowth();
  let history: RunRecorder | undefined;
  let checked = 0;
  let output: ReturnType<typeof openReportOutput> | undefined;
  let reporter: Reporter | undefined;
  // Installed before the history run's row and the temporary file exist: a signal in between would
  // end the process by the default action, without saying what it left.
  const stopHandling = onInterrupt(() => {
    output?.discard();
    reporter?.abort?.();
    history?.abandon();
    return [
      `after ${checked} domain${checked === 1 ? '' : 's'}`,
      output?.file ? `${output.file} was not written (its temporary file is removed)` : '',
      opts.history ? `the run is not recorded as complete in ${opts.history.file} (earlier runs are kept)` : '',
    ]
      .filter(Boolean)
      .join('; ');
  });
  // The history modules (and better-sqlite3) load only with --history.
  let worseIn: typeof anyWorse | undefined;
  if (opts.history) {
    try {
      const [{ startRun }, changesModule] = await Promise.all([import('../history/record.js'), import('../history/changes.js')]);
      worseIn = changesModule.anyWorse;
      const version = versionNote();
      // Opened first: a locked or unusable history file stops the run before any DNS question.
      history = startRun(
        opts.history.file,
        { failOn: opts.failOn, selectors: opts.selectors, ...(opts.shard ? { shard: opts.shard } : {}), ...(version ? { maildnsVersion: version } : {}) },
        { busyTimeoutMs: opts.history.busyTimeoutMs, compare: opts.history.changesOnly || opts.format === 'html' },
      );
    } catch (err) {
      stopHandling();
      throw err;
    }
  }
  try {
    output = openReportOutput(opts.outputFile);
  } catch (err) {
    stopHandling();
    history?.abandon();
    throw err;
  }
  try {
    // Inside the try: a reporter that cannot be made (its module fails to load) still removes the temporary file.
    const color = output.isTTY && useColor(process.stdout);
    const report = opts.history?.changesOnly
      ? (await import('./render/changes.js')).changesReporter(output.stream, { color, json: opts.format === 'json', quiet: opts.quiet })
      : await reporterFor(opts.format, output.stream, { color, failOn: opts.failOn, quiet: opts.quiet, history: opts.history !== undefined });
    reporter = report;
    await report.begin();
    let worse = false;
    const summary = await opts.run(async (r) => {
      checked++;
      const changes = history?.record(r);
      if (changes && worseIn!(changes)) worse = true;
      await report.result(r, changes);
    });
    opts.done?.();
    const exitCode =
      summary.outcome === 'dns-unavailable' ? EXIT.dnsUnavailable : opts.history?.changesOnly ? (worse ? EXIT.problems : EXIT.ok) : exitCodeOf(summary.outcome);
    const full = {
      ...summary,
      exitCode,
      queries: opts.queries ? opts.queries() : (summary.queries ?? 0),
      failOn: summary.failOn ?? opts.failOn,
      selectors: summary.selectors ?? [...opts.selectors],
      ...(opts.shard ? { shard: opts.shard } : {}),
    };
    // The run is recorded before the report is put in place: a report never speaks of a run the history lacks.
    history?.finish(full);
    await report.end(full);
    await output.commit();
    return { exitCode };
  } catch (err) {
    // A failed write to -o FILE (a full disk): name the file, as for any other file error.
    const e = err as NodeJS.ErrnoException;
    if (output.file && typeof e?.code === 'string' && e.path === undefined && output.stream.errored === err) e.path = output.file;
    output.discard();
    reporter?.abort?.();
    history?.abandon();
    throw err;
  } finally {
    stopHandling();
  }
}
