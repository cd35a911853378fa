/**
 * What changed for one domain between two of its results: a record's text, a DKIM key replaced, a
 * finding that appeared or cleared, an SPF lookup count that rose, a DNS failure that started,
 * persists or ended, the verdict itself. Each change says whether it is worse, better or neither.
 *
 * A part (SPF, DMARC, MX, a DKIM selector, any part a later check adds to the result) whose DNS
 * failed in either result is not compared:
 * its record and findings are unknown then, never "removed". Worse, for `--changes`, is a
 * verdict that got worse, an error or warning that appeared or grew, more SPF lookups, and DNS
 * failing for the same part twice in a row (once may be a blip).
 */
import { isTemporaryFinding, type DomainResult, type DomainStatus } from '../check/audit.js';
import type { Finding, Severity } from '../findings.js';

export type ChangeDirection = 'worse' | 'better' | 'neutral';

export type ChangeKind =
  | 'first-seen'
  | 'status'
  | 'record'
  | 'dkim-key'
  | 'finding-appeared'
  | 'finding-cleared'
  | 'finding-severity'
  | 'spf-lookups'
  | 'dns-failure'
  | 'dns-failure-persists'
  | 'dns-recovered';

export interface DomainChange {
  domain: string;
  kind: ChangeKind;
  direction: ChangeDirection;
  /** What changed: "SPF", "DMARC", "MX", "DKIM mail", or a finding's code. */
  subject: string;
  message: string;
  before?: string | number | null;
  after?: string | number | null;
}

/** One mechanism's part of a result: SPF, DMARC, MX, or (in a list, with its selector) a DKIM key; any other added later. */
interface ResultPart {
  published: string | string[] | null;
  dnsFailed: boolean;
  /** A lookup count (SPF's), compared when both results have one. */
  lookups?: number;
  selector?: string;
}

/**
 * A result to compare, with when its run started: its domain, status and findings, and every
 * other field that is a part (an object with `published` and `dnsFailed`) or a list of parts.
 */
export type DatedResult = Pick<DomainResult, 'domain' | 'status' | 'findings'> & Partial<Pick<DomainResult, 'spf' | 'dmarc' | 'mx' | 'dkim'>> & { at?: string };

const statusRank: Record<DomainStatus, number> = { pass: 0, 'dns-error': 1, fail: 2 };
const severityRank: Record<Severity, number> = { info: 0, warning: 1, error: 2 };

const NOT_PARTS = new Set(['domain', 'status', 'findings', 'ms', 'at']);
const LABELS: Record<string, string> = { spf: 'SPF', dmarc: 'DMARC', mx: 'MX', dkim: 'DKIM' };

const isPart = (v: unknown): v is ResultPart => typeof v === 'object' && v !== null && 'published' in v && 'dnsFailed' in v;
/** "mta-sts", "mtaSts" and "MTA_STS" name the same part. */
const partKey = (name: string): string => name.toLowerCase().replace(/[^a-z0-9]/g, '');

/** The parts of a result by label ("SPF", "DKIM mail"), each with the key its findings' codes start with. */
function resultParts(r: DatedResult): Map<string, { key: string; part: ResultPart }> {
  const m = new Map<string, { key: string; part: ResultPart }>();
  for (const [field, value] of Object.entries(r as object)) {
    if (NOT_PARTS.has(field)) continue;
    const label = LABELS[field] ?? field;
    if (isPart(value)) m.set(label, { key: partKey(field), part: value });
    else if (Array.isArray(value)) for (const v of value) if (isPart(v) && typeof v.selector === 'string') m.set(`${label} ${v.selector}`, { key: partKey(field), part: v });
  }
  return m;
}

/** The part a finding is about, from the first word of its code (spf.*, dmarc.*, dkim.*: all selectors). */
function partOfFinding(f: Finding): string {
  return partKey(f.code.split('.', 1)[0]!);
}

const text = (p: string | string[] | null): string | null => (p === null ? null : Array.isArray(p) ? [...p].sort().join(' | ') : p);

/** The key of a DKIM record (its p= tag, spaces removed), or null. */
function dkimKey(record: string | null): string | null {
  if (record === null) return null;
  const m = /(?:^|;)\s*p\s*=([^;]*)/.exec(record);
  return m ? m[1]!.replace(/\s+/g, '') : null;
}

const short = (s: string, n = 24): string => (s.length > n ? `${s.slice(0, n / 2)}…${s.slice(-n / 2)}` : s);

/** "1 error: spf.too-many-lookups; 2 warnings: …" */
function counts(r: DatedResult): string {
  const of = (s: Severity): string => {
    const codes = r.findings.filter((f) => f.severity === s && !isTemporaryFinding(f)).map((f) => f.code);
    return codes.length ? `${codes.length} ${s}${codes.length === 1 ? '' : 's'}: ${[...new Set(codes)].join(', ')}` : '';
  };
  return [of('error'), of('warning')].filter(Boolean).join('; ');
}

/** The changes from `prev` (null: the domain's first recorded result) to `cur`. */
export function compareResults(prev: DatedResult | null, cur: DatedResult): DomainChange[] {
  const domain = cur.domain;
  const out: DomainChange[] = [];
  const add = (c: Omit<DomainChange, 'domain'>): void => void out.push({ domain, ...c });
  if (prev === null) {
    const detail = counts(cur);
    add({ kind: 'first-seen', direction: cur.status === 'pass' ? 'neutral' : 'worse', subject: 'domain', message: `first recorded: ${cur.status}${detail ? ` (${detail})` : ''}`, after: cur.status });
    return out;
  }
  const since = prev.at ? ` (since ${prev.at})` : '';

  const before = resultParts(prev);
  const after = resultParts(cur);
  // Parts (by the key their findings start with) not compared this time: DNS failed in either result.
  const failed = new Set<string>();
  for (const [name, { key, part: now }] of after) {
    const then = before.get(name)?.part;
    if (!then) continue; // a part (a selector) checked for the first time: nothing to compare with
    if (now.dnsFailed || then.dnsFailed) {
      failed.add(key);
      if (now.dnsFailed && then.dnsFailed) add({ kind: 'dns-failure-persists', direction: 'worse', subject: name, message: `DNS failed for ${name} again, as in the previous run${since}: look at the domain's name servers` });
      else if (now.dnsFailed) add({ kind: 'dns-failure', direction: 'neutral', subject: name, message: `DNS failed for ${name} (a temporary failure; its record is unknown, not missing)` });
      else add({ kind: 'dns-recovered', direction: 'better', subject: name, message: `DNS answers for ${name} again` });
      continue;
    }
    const a = text(then.published);
    const b = text(now.published);
    if (a !== b) {
      if (key === 'dkim' && a !== null && b !== null && dkimKey(a) !== null && dkimKey(b) !== null && dkimKey(a) !== dkimKey(b)) {
        add({ kind: 'dkim-key', direction: 'neutral', subject: name, message: `${name}: the key was replaced (p=${short(dkimKey(a)!)} -> p=${short(dkimKey(b)!) || '(empty: revoked)'})`, before: a, after: b });
      } else {
        const message = a === null ? `${name} record published: ${b}` : b === null ? `${name} record removed (was: ${a})` : `${name} record changed: ${a} -> ${b}`;
        add({ kind: 'record', direction: 'neutral', subject: name, message, before: a, after: b });
      }
    }
    // A lookup count (SPF's) only when both records could be read and walked.
    if (then.lookups !== undefined && now.lookups !== undefined && then.lookups !== now.lookups) {
      const rose = now.lookups > then.lookups;
      add({ kind: 'spf-lookups', direction: rose ? 'worse' : 'better', subject: name, message: `${name} lookups ${rose ? 'rose' : 'fell'} from ${then.lookups} to ${now.lookups} (the limit is 10)`, before: then.lookups, after: now.lookups });
    }
  }

  const comparable = (f: Finding): boolean => !isTemporaryFinding(f) && !failed.has(partOfFinding(f));
  const key = (f: Finding): string => `${f.code}\u0000${f.subject}`;
  const then = new Map(prev.findings.filter(comparable).map((f) => [key(f), f]));
  const now = new Map(cur.findings.filter(comparable).map((f) => [key(f), f]));
  for (const [k, f] of now) {
    const old = then.get(k);
    if (!old) {
      add({ kind: 'finding-appeared', direction: f.severity === 'info' ? 'neutral' : 'worse', subject: f.code, message: `new ${f.severity}: ${f.subject}: ${f.message}${f.fix ? ` (fix: ${f.fix})` : ''}`, after: f.severity });
    } else if (old.severity !== f.severity) {
      const rose = severityRank[f.severity] > severityRank[old.severity];
      add({ kind: 'finding-severity', direction: rose ? 'worse' : 'better', subject: f.code, message: `${f.code} is now ${f.severity} (was ${old.severity}): ${f.subject}: ${f.message}`, before: old.severity, after: f.severity });
    }
  }
  for (const [k, f] of then) {
    if (!now.has(k)) add({ kind: 'finding-cleared', direction: f.severity === 'info' ? 'neutral' : 'better', subject: f.code, message: `cleared ${f.severity}: ${f.subject}: ${f.message}`, before: f.severity });
  }

  // The verdict, between pass and fail (a change to or from dns-error is told by the DNS changes above).
  if (prev.status !== cur.status && prev.status !== 'dns-error' && cur.status !== 'dns-error') {
    const worse = statusRank[cur.status] > statusRank[prev.status];
    add({ kind: 'status', direction: worse ? 'worse' : 'better', subject: 'domain', message: `${prev.status} -> ${cur.status}`, before: prev.status, after: cur.status });
  }
  return out;
}

/** True when any change is for the worse (what makes `check --changes` exit 1). */
export function anyWorse(changes: readonly DomainChange[]): boolean {
  return changes.some((c) => c.direction === 'worse');
}
