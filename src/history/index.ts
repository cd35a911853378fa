/**
 * `import { … } from 'maildns/history'`: the run history of scheduled checks (SQLite through
 * better-sqlite3, a native module, which is why it has an entry of its own: importing 'maildns'
 * never loads it).
 */
export { openHistory, historyError, MIGRATIONS, SCHEMA_VERSION, DEFAULT_BUSY_TIMEOUT_MS, type HistoryDb, type OpenOptions } from './db.js';
export { startRun, type RunRecorder, type RunContext, type RecordOptions } from './record.js';
export { readHistory, parseSince, type HistoryReport, type HistoryQuery, type RunInfo, type DatedChange } from './query.js';
export { compareResults, anyWorse, type DomainChange, type ChangeKind, type ChangeDirection, type DatedResult } from './changes.js';
