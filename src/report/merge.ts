/**
 * Several `maildns check` outputs (the shards of one list, or runs over different lists) made
 * into one report, as if one run had checked every domain: the same counts, the same outcome and
 * so the same exit code. Everything is checked before the first result is handed on, so a
 * missing shard, a file given twice or a cut-off file is an error, never a quietly smaller report.
 */
import type { DomainResult } from '../check/audit.js';
import { countResult, emptySummary, outcomeOf, type RunSummary } from '../check/run.js';
import { InputError } from '../errors.js';
import type { Severity } from '../findings.js';
import { openReport, reportResults, type ReportContext, type ReportFile } from './format.js';
import { CHECK_JSON_VERSION } from './json-version.js';

export type MergedSummary = RunSummary & ReportContext & { queries: number };

const sameList = (a: readonly string[] | undefined, b: readonly string[] | undefined): boolean => (a ?? []).join(',') === (b ?? []).join(',');

/** Put shards in order and make sure they are one whole list: every index once, one count. */
function orderShards(reports: ReportFile[]): ReportFile[] {
  const sharded = reports.filter((r) => r.summary.shard);
  if (sharded.length === 0) return reports;
  if (sharded.length !== reports.length) {
    const plain = reports.find((r) => !r.summary.shard)!;
    throw new InputError(`is the output of a whole list, but ${sharded[0]!.file} is one shard of a list; merge the shards of one list, or whole runs, not both`, plain.file);
  }
  const count = sharded[0]!.summary.shard!.count;
  const byIndex = new Map<number, ReportFile>();
  for (const r of sharded) {
    const { index, count: c } = r.summary.shard!;
    if (c !== count) throw new InputError(`is shard ${index}/${c}, but ${sharded[0]!.file} is one of ${count} shards; give the outputs of one split`, r.file);
    const twin = byIndex.get(index);
    if (twin) throw new InputError(twin.file === r.file ? 'is given twice; give each shard\'s output once' : `is shard ${index}/${count}, and so is ${twin.file}; give each shard's output once`, r.file);
    byIndex.set(index, r);
  }
  const missing = Array.from({ length: count }, (_, i) => i).filter((i) => !byIndex.has(i));
  if (missing.length) {
    throw new InputError(`${missing.length === 1 ? 'shard' : 'shards'} ${missing.map((i) => `${i}/${count}`).join(', ')} ${missing.length === 1 ? 'is' : 'are'} missing (have ${[...byIndex.keys()].sort((a, b) => a - b).join(', ')}): give the output of every shard, or run the missing one again`);
  }
  return [...byIndex.keys()].sort((a, b) => a - b).map((i) => byIndex.get(i)!);
}

export interface PreparedMerge {
  /** The reports, in the order their results will come. */
  files: string[];
  failOn?: Severity;
  selectors?: string[];
  /** Hand every domain's result to onResult; the combined summary. */
  run(onResult: (r: DomainResult) => void | Promise<void>): Promise<MergedSummary>;
}

/**
 * Read and check the reports in `files` (every line readable, every shard there once, each domain
 * in one file only, each file as long as its summary says) before anything is handed on.
 */
export async function prepareMerge(files: readonly string[]): Promise<PreparedMerge> {
  if (files.length === 0) throw new InputError('no report to merge: give the JSON or NDJSON outputs of `maildns check`');
  const reports = files.map(openReport);
  for (const r of reports) {
    if (r.version !== CHECK_JSON_VERSION) {
      throw new InputError(`is a report of version ${Number.isNaN(r.version) ? '(none)' : r.version}, and this maildns reads version ${CHECK_JSON_VERSION}; merge it with the maildns that wrote it`, r.file);
    }
  }
  const first = reports[0]!;
  for (const r of reports.slice(1)) {
    if (r.summary.failOn !== first.summary.failOn) {
      throw new InputError(`failed domains at severity "${r.summary.failOn ?? '?'}", ${first.file} at "${first.summary.failOn ?? '?'}": their pass and fail do not mean the same; run both with the same --fail-on`, r.file);
    }
    if (!sameList(r.summary.selectors, first.summary.selectors)) {
      throw new InputError(`checked DKIM selectors "${(r.summary.selectors ?? []).join(',')}", ${first.file} "${(first.summary.selectors ?? []).join(',')}"; run both with the same --selectors`, r.file);
    }
  }
  const ordered = orderShards(reports);

  const owner = new Map<string, string>();
  for (const r of ordered) {
    let n = 0;
    for await (const result of reportResults(r)) {
      n++;
      const other = owner.get(result.domain);
      if (other !== undefined) {
        throw new InputError(
          other === r.file
            ? `has ${result.domain} twice; give the file that \`maildns check\` wrote, unedited`
            : `has ${result.domain}, and so has ${other}: ${r.summary.shard ? 'the shards were not run over the same list' : 'the runs checked some of the same domains, or one file is given twice'}`,
          r.file,
        );
      }
      owner.set(result.domain, r.file);
    }
    if (n !== r.summary.domains) throw new InputError(`has ${n} domain results but its summary counts ${r.summary.domains}: the file was cut or edited; run that check again`, r.file);
  }
  owner.clear();

  return {
    files: ordered.map((r) => r.file),
    ...(first.summary.failOn ? { failOn: first.summary.failOn } : {}),
    ...(first.summary.selectors ? { selectors: first.summary.selectors } : {}),
    async run(onResult) {
      const summary: MergedSummary = { ...emptySummary(), queries: 0, sources: ordered.length };
      if (first.summary.failOn) summary.failOn = first.summary.failOn;
      if (first.summary.selectors) summary.selectors = first.summary.selectors;
      for (const r of ordered) {
        for await (const result of reportResults(r)) {
          countResult(summary, result);
          await onResult(result);
        }
        // Shards run side by side: the merged run took as long as its longest part.
        summary.ms = Math.max(summary.ms, r.summary.ms ?? 0);
        summary.queries += r.summary.queries ?? 0;
      }
      summary.outcome = outcomeOf(summary);
      return summary;
    },
  };
}
