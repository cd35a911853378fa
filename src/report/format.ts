/**
 * What `maildns check` writes as JSON and NDJSON, read back: the shapes a merge of several runs'
 * outputs (shards of one list) relies on. The writers are in src/cli/render/check.ts, which
 * documents the layout; this side reads only what they write, plus any JSON document of the same
 * shape (one reformatted by jq, say).
 */
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { DomainResult } from '../check/audit.js';
import type { RunSummary } from '../check/run.js';
import type { Shard } from '../check/shard.js';
import { InputError } from '../errors.js';
import type { Severity } from '../findings.js';

/** What a run checked against, carried in its summary so outputs can be merged safely. */
export interface ReportContext {
  failOn?: Severity;
  selectors?: string[];
  /** The part of a list this run checked. */
  shard?: Shard;
  /** A merge: how many reports it combines. */
  sources?: number;
}

/** A summary as found in a report file. */
type StoredSummary = RunSummary & ReportContext & { exitCode?: number; queries?: number };

type Layout = 'json-lines' | 'ndjson' | 'json-whole';

export interface ReportFile {
  file: string;
  layout: Layout;
  version: number;
  summary: StoredSummary;
}

const JSON_HEAD = /^\{"version":(\d+),"domains":\[$/;
const JSON_TAIL = '],"summary":';
/** A whole-document read is for small files someone reformatted; check's own output is read line by line. */
const WHOLE_LIMIT = 256 * 1024 * 1024;
const STATUSES = new Set(['pass', 'fail', 'dns-error']);

function readSlice(file: string, position: number, length: number): string {
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.alloc(length);
    const n = readSync(fd, buf, 0, length, position);
    return buf.subarray(0, n).toString('utf8');
  } finally {
    closeSync(fd);
  }
}

function parseLine(text: string, where: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new InputError('is not a line of JSON; give the JSON or NDJSON file that `maildns check` wrote, whole', where);
  }
}

function asResult(value: unknown, where: string): DomainResult {
  const r = value as Partial<DomainResult> | null;
  if (!r || typeof r.domain !== 'string' || !STATUSES.has(r.status as string) || !Array.isArray(r.findings)) {
    throw new InputError('is not the result of one domain (it needs "domain", "status" and "findings"); give the file that `maildns check` wrote, unedited', where);
  }
  return r as DomainResult;
}

function asSummary(value: unknown, where: string): StoredSummary {
  const s = value as Partial<StoredSummary> | null;
  if (!s || typeof s !== 'object' || !['domains', 'pass', 'fail', 'dnsError'].every((k) => typeof (s as Record<string, unknown>)[k] === 'number')) {
    throw new InputError('has no usable summary (it needs "domains", "pass", "fail" and "dnsError"); give the file that `maildns check` wrote, unedited', where);
  }
  return s as StoredSummary;
}

function lastLine(file: string, size: number): string {
  // A summary line is short; the last 1 MiB holds it with room to spare.
  const from = Math.max(0, size - 1024 * 1024);
  const lines = readSlice(file, from, size - from).split('\n').filter((l) => l.trim() !== '');
  return lines.at(-1) ?? '';
}

function wholeDocument(file: string, size: number): { version: number; domains: unknown[]; summary: unknown } {
  if (size > WHOLE_LIMIT) throw new InputError(`is not laid out as \`maildns check\` writes JSON (one domain a line) and is too large (${Math.round(size / 1048576)} MiB) to read whole; give the file as check wrote it`, file);
  const doc = parseLine(readSlice(file, 0, size), file) as { version?: unknown; domains?: unknown; summary?: unknown } | null;
  if (!doc || typeof doc.version !== 'number' || !Array.isArray(doc.domains)) throw new InputError('is not a report of `maildns check` (no "version" and "domains"); give its --format json or ndjson output', file);
  return { version: doc.version, domains: doc.domains, summary: doc.summary };
}

/** Open a report: which layout it has, its version and its summary (read from its end, not the whole file). */
export function openReport(file: string): ReportFile {
  let size: number;
  try {
    const st = statSync(file);
    if (!st.isFile()) throw new InputError('is not a file; give the JSON or NDJSON output of `maildns check`', file);
    size = st.size;
  } catch (err) {
    if (err instanceof InputError) throw err;
    throw new InputError(`cannot read the report: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`, file);
  }
  if (size === 0) throw new InputError('is empty: the run that should have written it did not (was it stopped before it started?); run that check again', file);
  const head = readSlice(file, 0, Math.min(size, 64 * 1024));
  const firstLine = head.split('\n', 1)[0]!.trim();
  const json = JSON_HEAD.exec(firstLine);
  if (json) {
    const tail = lastLine(file, size);
    if (!tail.startsWith(JSON_TAIL)) throw new InputError('ends before its summary: the run that wrote it did not finish (stopped or crashed); run that check again', file);
    const summary = (parseLine(`{${tail.slice(2)}`, file) as { summary?: unknown }).summary;
    return { file, layout: 'json-lines', version: Number(json[1]), summary: asSummary(summary, file) };
  }
  if (firstLine.startsWith('{"type":')) {
    const tail = parseLine(lastLine(file, size), file) as { type?: unknown; version?: unknown; summary?: unknown };
    if (tail.type !== 'summary') throw new InputError('has no summary line at its end: the run that wrote it did not finish (stopped or crashed); run that check again', file);
    return { file, layout: 'ndjson', version: typeof tail.version === 'number' ? tail.version : NaN, summary: asSummary(tail.summary, file) };
  }
  const doc = wholeDocument(file, size);
  return { file, layout: 'json-whole', version: doc.version, summary: asSummary(doc.summary, file) };
}

/** The results of a report, in the order they were written, read as a stream. */
export async function* reportResults(report: ReportFile): AsyncGenerator<DomainResult> {
  if (report.layout === 'json-whole') {
    const doc = wholeDocument(report.file, statSync(report.file).size);
    let i = 0;
    for (const r of doc.domains) yield asResult(r, `${report.file}: domains[${i++}]`);
    return;
  }
  const rl = createInterface({ input: createReadStream(report.file, { encoding: 'utf8' }), crlfDelay: Infinity });
  let line = 0;
  try {
    for await (const raw of rl) {
      line++;
      const text = raw.trim();
      if (text === '') continue;
      const where = `${report.file}:${line}`;
      if (report.layout === 'json-lines') {
        if (line === 1) continue;
        if (text.startsWith(JSON_TAIL)) return;
        yield asResult(parseLine(text.endsWith(',') ? text.slice(0, -1) : text, where), where);
      } else {
        const value = parseLine(text, where) as { type?: unknown } | null;
        if (value?.type === 'summary') return;
        if (value?.type !== 'domain') throw new InputError('is neither a "domain" nor a "summary" line; give the NDJSON that `maildns check` wrote, unedited', where);
        const { type: _type, ...result } = value as Record<string, unknown>;
        yield asResult(result, where);
      }
    }
  } finally {
    rl.close();
  }
}
