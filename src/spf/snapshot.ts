/**
 * Snapshots of a flattening, so a scheduled job can tell when a provider's address ranges moved.
 *
 * A flattened record is a copy: when a provider adds or drops servers, the copy does not follow.
 * The snapshot keeps the source record, the flattened records and, per copied include or redirect,
 * its record text and the ranges it gave. Comparing a fresh flattening of the same source with the
 * snapshot names the ranges each provider added or removed. Ranges are compared as networks
 * (192.0.2.7/24 and 192.0.2.0/24 are one network), never as text.
 */
import { existsSync, statSync } from 'node:fs';
import { InputError } from '../errors.js';
import { readInputFileSync, writeFileAtomic, type FileError } from '../fsutil.js';
import { formatIpv6 } from '../ipv6.js';
import { normalizeName } from '../names.js';
import type { FlattenOptions, FlattenResult } from './flatten.js';
import { parseIp } from './ip.js';
import { isSpfRecord } from './parse.js';

const SNAPSHOT_FORMAT = 'maildns-spf-snapshot';
const SNAPSHOT_VERSION = 1;

interface SnapshotDependency {
  /** The domain whose record was copied. */
  domain: string;
  /** The term(s) that brought it in. */
  via: string[];
  record: string;
  ttl: number | null;
  /** Networks it contributed, normalised (`ip4:192.0.2.0/24`, `-ip6:2001:db8::/32`), sorted. */
  ranges: string[];
}

export interface SpfSnapshot {
  format: typeof SNAPSHOT_FORMAT;
  version: typeof SNAPSHOT_VERSION;
  domain: string;
  /** ISO 8601 time of the flattening. */
  takenAt: string;
  /** The record that was flattened (what the user maintains; re-flattened on compare). */
  original: string;
  /** The flattened records to publish, root first. */
  records: { name: string; value: string }[];
  /** Flattening options, reused on compare so both sides are made the same way. */
  options: { keep: string[]; maxLength: number; prefix: string };
  dependencies: SnapshotDependency[];
}

interface DependencyChange {
  domain: string;
  status: 'changed' | 'appeared' | 'disappeared' | 'record-changed';
  via: string[];
  added: string[];
  removed: string[];
  oldRecord: string | null;
  newRecord: string | null;
}

export interface SnapshotComparison {
  domain: string;
  verdict: 'unchanged' | 'changed';
  since: string;
  /** Only the dependencies that differ in any way. */
  dependencies: DependencyChange[];
  /** The flattened records differ in what they allow (beyond order). */
  recordsChanged: boolean;
  /** Differences that need no action. */
  notes: string[];
  /** The records to publish now. */
  records: { name: string; value: string }[];
}

/** A range term in one spelling per network: host bits cleared, RFC 5952 IPv6, /32 and /128 left out. */
export function normalizeRange(term: string): string | null {
  const m = /^([+\-~?]?)(ip4|ip6):([^/]+)(?:\/(\d{1,3}))?$/i.exec(term.trim());
  if (!m) return null;
  const qualifier = m[1] === '+' ? '' : m[1]!;
  const kind = m[2]!.toLowerCase() as 'ip4' | 'ip6';
  const max = kind === 'ip4' ? 32 : 128;
  const len = m[4] === undefined ? max : Number(m[4]);
  if (len > max) return null;
  const ip = parseIp(m[3]!);
  if (!ip) return null;
  let bytes: Uint8Array;
  if (kind === 'ip4') {
    if (ip.family !== 4 || m[3]!.includes(':')) return null;
    bytes = Uint8Array.from(ip.bytes);
  } else {
    if (!m[3]!.includes(':')) return null;
    // parseIp reads IPv4-mapped IPv6 as IPv4; an ip6 term keeps its 16 octets.
    bytes = ip.family === 6 ? Uint8Array.from(ip.bytes) : Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, ...ip.bytes]);
  }
  for (let i = 0, bits = len; i < bytes.length; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : bits <= 0 ? 0 : (0xff << (8 - bits)) & 0xff;
    bytes[i] = bytes[i]! & mask;
  }
  const addr = kind === 'ip4' ? [...bytes].join('.') : formatIpv6(bytes);
  return `${qualifier}${kind}:${addr}${len === max ? '' : `/${len}`}`;
}

function normalizeRanges(terms: readonly string[]): string[] {
  return [...new Set(terms.map((t) => normalizeRange(t) ?? t.toLowerCase()))].sort();
}

/** The snapshot of a flattening; dependencies reached twice are merged. */
export function makeSnapshot(result: FlattenResult, opts: FlattenOptions = {}, now = new Date()): SpfSnapshot {
  const byDomain = new Map<string, SnapshotDependency>();
  for (const d of result.dependencies) {
    const seen = byDomain.get(d.domain);
    if (seen) {
      if (!seen.via.includes(d.via)) seen.via.push(d.via);
      seen.ranges = normalizeRanges([...seen.ranges, ...d.ranges]);
      continue;
    }
    byDomain.set(d.domain, { domain: d.domain, via: [d.via], record: d.record, ttl: d.ttl, ranges: normalizeRanges(d.ranges) });
  }
  return {
    format: SNAPSHOT_FORMAT,
    version: SNAPSHOT_VERSION,
    domain: result.domain,
    takenAt: now.toISOString(),
    original: result.original,
    records: result.records.map((r) => ({ name: r.name, value: r.value })),
    options: { keep: (opts.keep ?? []).map(normalizeName), maxLength: opts.maxLength ?? 255, prefix: opts.chainPrefix ?? '_spf' },
    dependencies: [...byDomain.values()],
  };
}

/**
 * What the records allow, independent of term order within a run and of how the runs were split
 * into chain records: chain includes are inlined, and each run of address terms with one qualifier
 * becomes a sorted set.
 */
function effectiveShape(records: readonly { name: string; value: string }[]): string[] {
  const byName = new Map(records.map((r) => [normalizeName(r.name), r.value]));
  const terms: string[] = [];
  const walk = (value: string, qualifierOverride: string, depth: number): void => {
    for (const raw of value.split(/\s+/).slice(1)) {
      if (!raw) continue;
      const m = /^([+\-~?]?)include:(.+)$/i.exec(raw);
      const chained = m ? byName.get(normalizeName(m[2]!)) : undefined;
      if (m && chained !== undefined && depth < 10) {
        walk(chained, m[1] === '+' ? '' : m[1]!, depth + 1);
        continue;
      }
      const ip = normalizeRange(raw);
      if (ip) {
        const q = qualifierOverride || (/^[-~?]/.test(ip) ? ip[0]! : '');
        terms.push(`${q}${ip.replace(/^[-~?]/, '')}`);
      } else terms.push(`${qualifierOverride}${raw.toLowerCase()}`);
    }
  };
  const root = records[0];
  if (root) walk(root.value, '', 0);
  const shape: string[] = [];
  let run: string[] = [];
  let runQ = '';
  const flush = (): void => {
    if (run.length) shape.push(`${runQ}{${[...new Set(run)].sort().join(' ')}}`);
    run = [];
  };
  for (const t of terms) {
    const m = /^([-~?]?)(ip[46]:.*)$/.exec(t);
    if (m) {
      if (run.length && m[1] !== runQ) flush();
      runQ = m[1]!;
      run.push(m[2]!);
    } else {
      flush();
      shape.push(t);
    }
  }
  flush();
  return shape;
}

/** Compare a saved snapshot with a fresh one of the same source record. */
export function compareSnapshot(old: SpfSnapshot, current: SpfSnapshot): SnapshotComparison {
  const changes: DependencyChange[] = [];
  const notes: string[] = [];
  const oldDeps = new Map(old.dependencies.map((d) => [normalizeName(d.domain), d]));
  const newDeps = new Map(current.dependencies.map((d) => [normalizeName(d.domain), d]));
  for (const [name, n] of newDeps) {
    const o = oldDeps.get(name);
    if (!o) {
      changes.push({ domain: n.domain, status: 'appeared', via: n.via, added: normalizeRanges(n.ranges), removed: [], oldRecord: null, newRecord: n.record });
      continue;
    }
    const before = new Set(normalizeRanges(o.ranges));
    const after = new Set(normalizeRanges(n.ranges));
    const added = [...after].filter((r) => !before.has(r));
    const removed = [...before].filter((r) => !after.has(r));
    if (added.length || removed.length) {
      changes.push({ domain: n.domain, status: 'changed', via: n.via, added, removed, oldRecord: o.record, newRecord: n.record });
    } else if (o.record !== n.record) {
      changes.push({ domain: n.domain, status: 'record-changed', via: n.via, added: [], removed: [], oldRecord: o.record, newRecord: n.record });
      notes.push(`${n.domain} changed its record text but not its address ranges: "${o.record}" is now "${n.record}"`);
    }
  }
  for (const [name, o] of oldDeps) {
    if (newDeps.has(name)) continue;
    changes.push({ domain: o.domain, status: 'disappeared', via: o.via, added: [], removed: normalizeRanges(o.ranges), oldRecord: o.record, newRecord: null });
  }
  const oldShape = effectiveShape(old.records);
  const newShape = effectiveShape(current.records);
  const recordsChanged = oldShape.join('\n') !== newShape.join('\n');
  const textChanged = old.records.map((r) => `${r.name} ${r.value}`).join('\n') !== current.records.map((r) => `${r.name} ${r.value}`).join('\n');
  if (!recordsChanged && textChanged) notes.push('the flattened text differs only in term order or chain split; publishing it again is optional');
  const rangesMoved = changes.some((c) => c.status !== 'record-changed');
  return {
    domain: current.domain,
    verdict: rangesMoved || recordsChanged ? 'changed' : 'unchanged',
    since: old.takenAt,
    dependencies: changes,
    recordsChanged,
    notes,
    records: current.records,
  };
}

const isStringArray = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === 'string');

/** Why `data` is not a snapshot this version reads, or null. */
function snapshotProblem(data: unknown): string | null {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return 'it is not a maildns SPF snapshot (no JSON object)';
  const s = data as Record<string, unknown>;
  if (s['format'] !== SNAPSHOT_FORMAT) return `it is not a maildns SPF snapshot (no "format": "${SNAPSHOT_FORMAT}")`;
  if (s['version'] !== SNAPSHOT_VERSION) return `it is a snapshot of version ${JSON.stringify(s['version'])}; this maildns reads version ${SNAPSHOT_VERSION}`;
  if (typeof s['domain'] !== 'string' || typeof s['takenAt'] !== 'string') return 'its "domain" or "takenAt" is missing';
  if (typeof s['original'] !== 'string' || !isSpfRecord(s['original'])) return 'its "original" is not an SPF record';
  const recs = s['records'];
  if (!Array.isArray(recs) || recs.length === 0 || !recs.every((r) => typeof r?.name === 'string' && typeof r?.value === 'string')) return 'its "records" list is missing or damaged';
  const o = s['options'] as Record<string, unknown> | undefined;
  if (!o || !isStringArray(o['keep']) || typeof o['maxLength'] !== 'number' || typeof o['prefix'] !== 'string') return 'its "options" are missing or damaged';
  const deps = s['dependencies'];
  if (!Array.isArray(deps)) return 'its "dependencies" list is missing';
  for (const d of deps as Record<string, unknown>[]) {
    if (typeof d?.['domain'] !== 'string' || !isStringArray(d['via']) || typeof d['record'] !== 'string' || !isStringArray(d['ranges'])) return 'an entry of its "dependencies" is damaged';
  }
  return null;
}

/** Read a snapshot file; bad input (missing, unreadable, not a snapshot) is a InputError naming the file and the fix. */
export function readSnapshot(file: string): SpfSnapshot {
  let text: string;
  try {
    // A file, bounded: a FIFO or /dev/zero as the snapshot is refused at once, naming it.
    text = readInputFileSync(file, { maxBytes: 16 << 20, what: 'an SPF snapshot', fix: 'is this the snapshot file?' }).toString('utf8');
  } catch (err) {
    if (err instanceof InputError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new InputError(`${file} does not exist; make the first snapshot there (\`maildns spf flatten DOMAIN --snapshot ${file}\`)`);
    throw new InputError(`${file} cannot be read (${code ?? (err as Error).message}); check the path and its permissions`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    throw new InputError(`${file} is not valid JSON, so not a maildns SPF snapshot; make a new snapshot there (after moving the damaged file away)`);
  }
  const problem = snapshotProblem(data);
  if (problem) throw new InputError(`${file}: ${problem}; make a new snapshot (after moving this file away)`);
  return data as SpfSnapshot;
}

/**
 * Check that `file` may receive a snapshot of `domain`: it is absent, empty, or a maildns snapshot
 * of the same domain. Anything else is refused, so a mistyped path never replaces another file.
 */
export function checkSnapshotTarget(file: string, domain: string): void {
  if (!existsSync(file)) return;
  let size: number;
  try {
    const st = statSync(file);
    if (!st.isFile()) throw new InputError(`${file} is not a regular file; give a file name for the snapshot`);
    size = st.size;
  } catch (err) {
    if (err instanceof InputError) throw err;
    throw new InputError(`${file} cannot be inspected (${(err as NodeJS.ErrnoException).code}); check the path and its permissions`);
  }
  if (size === 0) return;
  let old: SpfSnapshot;
  try {
    old = readSnapshot(file);
  } catch (err) {
    if (!(err instanceof InputError)) throw err;
    throw new InputError(`${file} exists and is not a maildns SPF snapshot; refusing to overwrite it: pick another file name or move that file away`);
  }
  if (normalizeName(old.domain) !== normalizeName(domain)) {
    throw new InputError(`${file} holds the snapshot of ${old.domain}, not ${domain}; refusing to overwrite it: give each domain its own file`);
  }
}

/** Write the snapshot atomically (a reader sees the old file or the new one, never half of one). */
export function writeSnapshot(file: string, snap: SpfSnapshot): void {
  checkSnapshotTarget(file, snap.domain);
  try {
    writeFileAtomic(file, `${JSON.stringify(snap, null, 2)}\n`, { throughLink: true });
  } catch (err) {
    // A refusal that says what is wrong and the fix (a link to a missing directory) is passed on as it is.
    if (err instanceof InputError) throw err;
    const e = err as FileError;
    const where = e.linkTarget === undefined ? file : `${file} -> ${e.linkTarget}`;
    throw new InputError(`cannot write the snapshot ${where} (${e.code ?? e.message}); choose a writable directory`);
  }
}
