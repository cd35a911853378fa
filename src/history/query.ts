/**
 * Reading the history database for `maildns history [DOMAIN] [--since DATE]`: the complete runs,
 * and for each domain what changed from each of its results to the next (src/history/changes.ts).
 * Runs that never completed (stopped, crashed, still going) are counted but never compared.
 */
import { InputError } from '../errors.js';
import { normalizeName } from '../names.js';
import { compareResults, type DomainChange } from './changes.js';
import { openHistory } from './db.js';
import { findingsReader, previousResultReader, RESULT_COLUMNS, RESULT_JOIN, resultFromRow } from './record.js';

export interface RunInfo {
  id: number;
  startedAt: string;
  finishedAt: string | null;
  shard: { index: number; count: number } | null;
  failOn: string;
  selectors: string[];
  domains: number;
  pass: number;
  fail: number;
  dnsError: number;
}

export interface DatedChange extends DomainChange {
  /** The run in which the change was seen, and when it started. */
  run: number;
  at: string;
}

export interface HistoryReport {
  file: string;
  runs: RunInfo[];
  /** Runs that never completed: not compared. */
  incomplete: number;
  changes: DatedChange[];
  /** Domains whose first recorded result (in the period) passed: not listed among the changes when no domain is asked about. */
  firstSeenPassing: number;
  /** The domain asked about, when one was. */
  domain?: string;
  /** Its results in the period, oldest first (with a domain only). */
  results?: { run: number; at: string; status: string }[];
}

export interface HistoryQuery {
  domain?: string;
  /** Changes seen in runs that started at or after this instant. */
  since?: Date;
  busyTimeoutMs?: number;
}

/** Read a date for --since: 2026-12-01, 2026-12-01T03:30Z (any ISO 8601 Date.parse reads), or 7d / 12h ago. */
export function parseSince(text: string, now = new Date()): Date {
  const rel = /^(\d+)\s*([dhm])$/.exec(text.trim());
  if (rel) return new Date(now.getTime() - Number(rel[1]) * { d: 86_400_000, h: 3_600_000, m: 60_000 }[rel[2] as 'd' | 'h' | 'm']);
  if (!/^\d{4}-\d{2}-\d{2}/.test(text.trim())) throw new InputError(`"${text}" is not a date: write 2026-12-01, 2026-12-01T03:30Z, or 7d (days), 12h (hours) ago`);
  const t = Date.parse(text.trim());
  if (Number.isNaN(t)) throw new InputError(`"${text}" is not a date: write 2026-12-01, 2026-12-01T03:30Z, or 7d (days), 12h (hours) ago`);
  return new Date(t);
}

interface RunRow {
  id: number;
  started_at: string;
  finished_at: string | null;
  shard_index: number | null;
  shard_count: number | null;
  fail_on: string;
  selectors: string;
  domains: number;
  pass: number;
  fail: number;
  dns_error: number;
}

export function readHistory(file: string, q: HistoryQuery = {}): HistoryReport {
  const db = openHistory(file, { mustExist: true, ...(q.busyTimeoutMs !== undefined ? { busyTimeoutMs: q.busyTimeoutMs } : {}) });
  try {
    const since = q.since?.toISOString() ?? '';
    const runs = (db.prepare('SELECT * FROM runs WHERE complete = 1 AND started_at >= ? ORDER BY id').all(since) as RunRow[]).map(
      (r): RunInfo => ({
        id: r.id,
        startedAt: r.started_at,
        finishedAt: r.finished_at,
        shard: r.shard_count === null ? null : { index: r.shard_index!, count: r.shard_count },
        failOn: r.fail_on,
        selectors: r.selectors ? r.selectors.split(',') : [],
        domains: r.domains,
        pass: r.pass,
        fail: r.fail,
        dnsError: r.dns_error,
      }),
    );
    const incomplete = (db.prepare('SELECT count(*) AS n FROM runs WHERE complete = 0').get() as { n: number }).n;
    const findings = findingsReader(db);
    const previous = previousResultReader(db);
    const changes: DatedChange[] = [];
    const domain = q.domain === undefined ? undefined : normalizeName(q.domain);
    if (domain !== undefined && !db.prepare(`SELECT 1 FROM ${RESULT_JOIN} WHERE r.domain = ? AND runs.complete = 1 LIMIT 1`).get(domain)) {
      throw new InputError(`has no recorded result for ${domain}; it holds the domains that \`maildns check --history\` checked`, file);
    }
    // Each domain's results in the period, in run order; its result before the period is the baseline.
    // (Domain by domain: better-sqlite3 runs no other statement while one iterates.)
    const inPeriod = `FROM ${RESULT_JOIN} WHERE runs.complete = 1 AND runs.started_at >= ?`;
    const domains = domain !== undefined ? [domain] : (db.prepare(`SELECT DISTINCT r.domain ${inPeriod} ORDER BY r.domain`).pluck().all(since) as string[]);
    const resultsOf = db.prepare(`SELECT ${RESULT_COLUMNS} ${inPeriod} AND r.domain = ? ORDER BY r.run_id`);
    const results: HistoryReport['results'] = [];
    let firstSeenPassing = 0;
    for (const name of domains) {
      const rows = resultsOf.all(since, name) as Parameters<typeof resultFromRow>[0][];
      let prev = rows.length ? previous(name, rows[0]!.run_id) : null;
      for (const row of rows) {
        const cur = resultFromRow(row, findings(row.detail_id));
        if (domain !== undefined) results.push({ run: row.run_id, at: row.started_at, status: row.status });
        for (const c of compareResults(prev, cur)) {
          // Over all domains, a first result that passes is no news: counted, not listed.
          if (domain === undefined && c.kind === 'first-seen' && c.direction === 'neutral') firstSeenPassing++;
          else changes.push({ ...c, run: row.run_id, at: row.started_at });
        }
        prev = cur;
      }
    }
    changes.sort((a, b) => a.run - b.run || a.domain.localeCompare(b.domain));
    return { file, runs, incomplete, changes, firstSeenPassing, ...(domain !== undefined ? { domain, results } : {}) };
  } finally {
    db.close();
  }
}
