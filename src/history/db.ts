/**
 * The history database of `maildns check --history FILE`: SQLite through better-sqlite3, in WAL
 * mode (readers never block the one writer, and several shards can write to one file in turns),
 * with a busy timeout so a run waits for another's short write instead of failing. The schema is
 * versioned in PRAGMA user_version; each migration runs once, in a transaction of its own.
 *
 * A run is a row in `runs` with `complete = 0` while it is being written; its results are added
 * in batches, and a last transaction sets `complete = 1` with the summary. Only complete runs are
 * ever read, so a run that crashed or was stopped leaves every earlier run as it was.
 */
import { statSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { InputError } from '../errors.js';

export type HistoryDb = Database.Database;

interface Migration {
  version: number;
  what: string;
  sql: string;
}

/** In order; never edit one that has shipped: add the next. */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    what: 'runs, per-domain results, their details and findings (shared by unchanged results)',
    sql: `
      CREATE TABLE runs (
        id INTEGER PRIMARY KEY,
        started_at TEXT NOT NULL,            -- ISO 8601, UTC
        finished_at TEXT,
        complete INTEGER NOT NULL DEFAULT 0, -- 1 once every result is in: only these are read
        shard_index INTEGER,
        shard_count INTEGER,
        fail_on TEXT NOT NULL,
        selectors TEXT NOT NULL,             -- comma-separated
        domains INTEGER, pass INTEGER, fail INTEGER, dns_error INTEGER,
        errors INTEGER, warnings INTEGER, infos INTEGER,
        ms INTEGER, queries INTEGER,
        maildns_version TEXT
      );
      -- What a check found for a domain, stored once: a domain whose records and findings are the
      -- same as in an earlier run points at the same row (most domains, most nights).
      CREATE TABLE details (
        id INTEGER PRIMARY KEY,
        digest TEXT NOT NULL UNIQUE,         -- SHA-256 of the parts and the findings
        -- JSON: each part of the result as check's JSON report has it, by name:
        -- { "spf": { "published", "dnsFailed", "lookups"? }, "dmarc": …, "mx": …, "dkim": [{ "selector", … }] },
        -- and any part a later check adds (read with json_extract(parts, '$.spf.published'))
        parts TEXT NOT NULL
      );
      CREATE TABLE findings (
        detail_id INTEGER NOT NULL REFERENCES details (id),
        code TEXT NOT NULL,
        severity TEXT NOT NULL,
        subject TEXT NOT NULL,
        message TEXT NOT NULL,
        fix TEXT,
        rfc TEXT
      );
      CREATE INDEX findings_by_detail ON findings (detail_id);
      CREATE TABLE results (
        run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        domain TEXT NOT NULL,
        status TEXT NOT NULL,                -- pass | fail | dns-error
        detail_id INTEGER NOT NULL REFERENCES details (id),
        ms INTEGER,
        PRIMARY KEY (run_id, domain)
      ) WITHOUT ROWID;
      CREATE INDEX results_by_domain ON results (domain, run_id);
    `,
  },
];

export const SCHEMA_VERSION = MIGRATIONS.at(-1)!.version;

/** How long a run waits for another's write by default (shards write in short batches). */
export const DEFAULT_BUSY_TIMEOUT_MS = 10_000;

export interface OpenOptions {
  /** Wait at most this long for another process's lock (default 10 s). */
  busyTimeoutMs?: number;
  /** Fail when the file does not exist (reading history) instead of creating it (recording). */
  mustExist?: boolean;
  readonly?: boolean;
}

/** A SQLite error as the user should read it: which file, what is wrong, what to do. */
export function historyError(file: string, err: unknown, waitedMs = DEFAULT_BUSY_TIMEOUT_MS): Error {
  const code = (err as { code?: unknown })?.code;
  const message = err instanceof Error ? err.message : String(err);
  if (code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED' || /database is locked/.test(message)) {
    return new InputError(
      `the history database is locked by another program (waited ${(waitedMs / 1000).toFixed(1)} s): another maildns run or an open sqlite3 session is writing it; run again when it is done, wait longer, or give this run its own history file`,
      file,
    );
  }
  if (code === 'SQLITE_NOTADB' || code === 'SQLITE_CORRUPT') return new InputError('is not a maildns history database (not SQLite, or damaged); give another file name, and keep this one for inspection', file);
  if (code === 'SQLITE_CANTOPEN') return new InputError('cannot open the history database: check that the directory exists and is writable', file);
  if (code === 'SQLITE_READONLY') return new InputError('the history database is read-only: check its owner and mode (SQLite also needs to write FILE-wal and FILE-shm beside it)', file);
  if (code === 'SQLITE_FULL') return new InputError('no space left for the history database; free some space and run again', file);
  return err instanceof Error ? err : new Error(message);
}

/**
 * Why `file` cannot be a history file before SQLite is asked: better-sqlite3 raises a bare
 * TypeError (no code) for a missing directory, and SQLite only "cannot open" a directory.
 */
function pathProblem(file: string, mustExist: boolean): InputError | null {
  const isDirectory = (p: string): boolean | null => {
    try {
      return statSync(p).isDirectory();
    } catch {
      return null;
    }
  };
  if (isDirectory(file)) return new InputError(`is a directory; give the name of the history file (such as ${path.join(file, 'checks.db')})`, file);
  const parent = path.dirname(path.resolve(file));
  const parentIsDirectory = isDirectory(parent);
  if (parentIsDirectory) return null;
  if (parentIsDirectory === false) return new InputError(`${path.dirname(file)} is a file, not a directory; give a path in a directory`, file);
  if (mustExist) return new InputError('no such history database; give the file that `maildns check --history FILE` writes', file);
  return new InputError(`cannot create the history database: the directory ${path.dirname(file)} does not exist; create it, or give another path`, file);
}

/** Open (creating it when allowed) and bring the schema up to date. */
export function openHistory(file: string, opts: OpenOptions = {}): HistoryDb {
  const timeout = opts.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS;
  const problem = pathProblem(file, opts.mustExist ?? false);
  if (problem) throw problem;
  let db: HistoryDb;
  try {
    db = new Database(file, { fileMustExist: opts.mustExist ?? false, readonly: opts.readonly ?? false, timeout });
  } catch (err) {
    if ((err as { code?: unknown }).code === 'SQLITE_CANTOPEN' && opts.mustExist) {
      throw new InputError('no such history database; give the file that `maildns check --history FILE` writes', file);
    }
    throw historyError(file, err, timeout);
  }
  try {
    if (!opts.readonly) {
      db.pragma('journal_mode = WAL');
      // WAL with NORMAL: a committed run survives a crash of maildns (not of the OS in the last instant).
      db.pragma('synchronous = NORMAL');
    }
    db.pragma('foreign_keys = ON');
    migrate(db, file);
  } catch (err) {
    db.close();
    throw historyError(file, err, timeout);
  }
  return db;
}

function migrate(db: HistoryDb, file: string): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > SCHEMA_VERSION) {
    throw new InputError(`was written by a newer maildns (history schema ${current}; this one knows up to ${SCHEMA_VERSION}); upgrade maildns, or give another file`, file);
  }
  if (current === SCHEMA_VERSION) return;
  if (db.readonly) throw new InputError(`has history schema ${current} and needs ${SCHEMA_VERSION}; record one run with this maildns (check --history) to upgrade it`, file);
  for (const m of MIGRATIONS) {
    if (m.version <= current) continue;
    // IMMEDIATE: two processes opening a new file at once do not both migrate it.
    db.transaction(() => {
      if ((db.pragma('user_version', { simple: true }) as number) >= m.version) return;
      db.exec(m.sql);
      db.pragma(`user_version = ${m.version}`);
    }).immediate();
  }
}
