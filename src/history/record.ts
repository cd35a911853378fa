/**
 * Recording one run of `maildns check` into the history database (src/history/db.ts): the run's
 * row first (so a locked database is found before any DNS question is asked), its results in
 * batches of short transactions (other shards write between them), then the summary and the
 * `complete` flag in one last transaction. Until that commits, no reader sees the run. A result
 * whose records and findings are those of an earlier one shares its `details` row, so a nightly
 * run of unchanged domains adds little more than a row per domain.
 */
import { createHash } from 'node:crypto';
import type { DomainResult } from '../check/audit.js';
import type { RunSummary } from '../check/run.js';
import type { Shard } from '../check/shard.js';
import type { Finding, Severity } from '../findings.js';
import { compareResults, type DatedResult, type DomainChange } from './changes.js';
import { DEFAULT_BUSY_TIMEOUT_MS, historyError, openHistory, type HistoryDb } from './db.js';

export interface RunContext {
  failOn: Severity;
  selectors: readonly string[];
  shard?: Shard;
  maildnsVersion?: string;
}

export interface RecordOptions {
  busyTimeoutMs?: number;
  /** Compare each result with the domain's last recorded one (for --changes and the HTML report). */
  compare?: boolean;
  /** Results written per transaction (default 500). */
  batchSize?: number;
}

export interface RunRecorder {
  readonly runId: number;
  /** Queue a result; with `compare`, the changes since the domain's last complete run. */
  record(result: DomainResult): DomainChange[] | undefined;
  /** Write what is queued, the summary and the complete flag, in one transaction; then close. */
  finish(summary: RunSummary & { queries?: number }): void;
  /** Close without completing (a stopped run): what was written stays invisible to readers. */
  abandon(): void;
}


interface ResultRow {
  run_id: number;
  domain: string;
  status: DomainResult['status'];
  detail_id: number;
  parts: string;
  started_at: string;
}

/** A stored result as the checks made it (its findings read alongside). */
export function resultFromRow(row: ResultRow, findings: Finding[]): DatedResult {
  return { domain: row.domain, status: row.status, ...(JSON.parse(row.parts) as object), findings, at: row.started_at };
}

/** The columns resultFromRow reads, from `results r JOIN details d JOIN runs`. */
export const RESULT_COLUMNS = 'r.run_id, r.domain, r.status, r.detail_id, d.parts, runs.started_at';
export const RESULT_JOIN = 'results r JOIN details d ON d.id = r.detail_id JOIN runs ON runs.id = r.run_id';

export function findingsReader(db: HistoryDb): (detailId: number) => Finding[] {
  const stmt = db.prepare('SELECT code, severity, subject, message, fix, rfc FROM findings WHERE detail_id = ? ORDER BY rowid');
  return (detailId) =>
    (stmt.all(detailId) as { code: string; severity: Severity; subject: string; message: string; fix: string | null; rfc: string | null }[]).map((f) => ({
      code: f.code,
      severity: f.severity,
      subject: f.subject,
      message: f.message,
      ...(f.fix === null ? {} : { fix: f.fix }),
      ...(f.rfc === null ? {} : { rfc: f.rfc }),
    }));
}

/** The domain's latest result in a complete run before `beforeRunId`, or null. */
export function previousResultReader(db: HistoryDb): (domain: string, beforeRunId: number) => DatedResult | null {
  const stmt = db.prepare(`SELECT ${RESULT_COLUMNS} FROM ${RESULT_JOIN} WHERE r.domain = ? AND r.run_id < ? AND runs.complete = 1 ORDER BY r.run_id DESC LIMIT 1`);
  const findings = findingsReader(db);
  return (domain, beforeRunId) => {
    const row = stmt.get(domain, beforeRunId) as ResultRow | undefined;
    return row ? resultFromRow(row, findings(row.detail_id)) : null;
  };
}

const NOT_PARTS = new Set(['domain', 'status', 'findings', 'ms']);

/** A result's parts as stored (every field but its name, verdict, findings and time), and the digest of them with the findings. */
function detailOf(r: DomainResult): { digest: string; parts: string } {
  const parts = JSON.stringify(Object.fromEntries(Object.entries(r).filter(([k]) => !NOT_PARTS.has(k))));
  const findings = r.findings.map((f) => [f.code, f.severity, f.subject, f.message, f.fix ?? null, f.rfc ?? null]);
  return { digest: createHash('sha256').update(parts).update('\u0000').update(JSON.stringify(findings)).digest('base64'), parts };
}

/** Open `file` (creating it) and start a run in it. */
export function startRun(file: string, context: RunContext, opts: RecordOptions = {}): RunRecorder {
  const waited = opts.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS;
  const db = openHistory(file, { busyTimeoutMs: waited });
  const guard = <T>(what: () => T): T => {
    try {
      return what();
    } catch (err) {
      throw historyError(file, err, waited);
    }
  };
  let runId: number;
  try {
    runId = guard(
      () =>
        db
          .prepare('INSERT INTO runs (started_at, fail_on, selectors, shard_index, shard_count, maildns_version) VALUES (?, ?, ?, ?, ?, ?)')
          .run(new Date().toISOString(), context.failOn, context.selectors.join(','), context.shard?.index ?? null, context.shard?.count ?? null, context.maildnsVersion ?? null).lastInsertRowid as number,
    );
  } catch (err) {
    db.close();
    throw err;
  }
  const insertDetail = db.prepare('INSERT INTO details (digest, parts) VALUES (?, ?) ON CONFLICT (digest) DO NOTHING');
  const detailId = db.prepare('SELECT id FROM details WHERE digest = ?').pluck();
  const insertFinding = db.prepare('INSERT INTO findings (detail_id, code, severity, subject, message, fix, rfc) VALUES (?, ?, ?, ?, ?, ?, ?)');
  const insertResult = db.prepare('INSERT INTO results (run_id, domain, status, detail_id, ms) VALUES (?, ?, ?, ?, ?)');
  const writeBatch = db.transaction((batch: DomainResult[]) => {
    for (const r of batch) {
      const { digest, parts } = detailOf(r);
      const added = insertDetail.run(digest, parts);
      const id = added.changes === 1 ? Number(added.lastInsertRowid) : (detailId.get(digest) as number);
      if (added.changes === 1) for (const f of r.findings) insertFinding.run(id, f.code, f.severity, f.subject, f.message, f.fix ?? null, f.rfc ?? null);
      insertResult.run(runId, r.domain, r.status, id, r.ms);
    }
  });
  const complete = db.prepare(
    'UPDATE runs SET complete = 1, finished_at = ?, domains = ?, pass = ?, fail = ?, dns_error = ?, errors = ?, warnings = ?, infos = ?, ms = ?, queries = ? WHERE id = ?',
  );
  const previous = opts.compare ? previousResultReader(db) : null;
  const batchSize = opts.batchSize ?? 500;
  let queued: DomainResult[] = [];
  let open = true;

  return {
    runId,
    record(result) {
      queued.push(result);
      if (queued.length >= batchSize) {
        const batch = queued;
        queued = [];
        guard(() => writeBatch.immediate(batch));
      }
      return previous ? compareResults(guard(() => previous(result.domain, runId)), result) : undefined;
    },
    finish(s) {
      guard(() =>
        db
          .transaction(() => {
            writeBatch(queued);
            complete.run(new Date().toISOString(), s.domains, s.pass, s.fail, s.dnsError, s.errors, s.warnings, s.infos, s.ms, s.queries ?? null, runId);
          })
          .immediate(),
      );
      queued = [];
      open = false;
      db.close();
    },
    abandon() {
      if (!open) return;
      open = false;
      queued = [];
      db.close();
    },
  };
}
