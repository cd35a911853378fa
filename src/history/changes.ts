/**
 * What changed for one domain between two of its results: a record's text, a DKIM key replaced, a
 * finding that appeared or cleared, an SPF lookup count that rose, a DNS failure that started,
 * persists or ended, the verdict itself. Each change says whether it is worse, better or neither.
 *
 * A part (SPF, DMARC, MX, a DKIM selector) whose DNS failed in either result is not compared:
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

/** A result to compare, with when its run started. */
export type DatedResult = Pick<DomainResult, 'domain' | 'status' | 'spf' | 'dmarc' | 'mx' | 'dkim' | 'findings'> & { at?: string };

const statusRank: Record<DomainStatus, number> = { pass: 0, 'dns-error': 1, fail: 2 };
const severityRank: Record<Severity, number> = { info: 0, warning: 1, error: 2 };

type Part = { published: string | string[] | null; dnsFailed: boolean };

function parts(r: DatedResult): Map<string, Part> {
  const m = new Map<string, Part>([
    ['SPF', r.spf],
    ['DMARC', r.dmarc],
    ['MX', r.mx],
  ]);
  for (const d of r.dkim) m.set(`DKIM ${d.selector}`, d);
  return m;
}

/** The part a finding is about, from its code: spf.*, dmarc.*, mx.*, dkim.* (all selectors). */
function partOfFinding(f: Finding): string | null {
  const prefix = f.code.split('.', 1)[0];
  return prefix === 'spf' ? 'SPF' : prefix === 'dmarc' ? 'DMARC' : prefix === 'mx' ? 'MX' : prefix === 'dkim' ? 'DKIM' : null;
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

  const before = parts(prev);
  const after = parts(cur);
  const failed = new Set<string>();
  for (const [name, now] of after) {
    const then = before.get(name);
    if (!then) continue; // a selector checked for the first time: nothing to compare with
    if (now.dnsFailed || then.dnsFailed) {
      failed.add(name);
      if (name.startsWith('DKIM ')) failed.add('DKIM');
      if (now.dnsFailed && then.dnsFailed) add({ kind: 'dns-failure-persists', direction: 'worse', subject: name, message: `DNS failed for ${name} again, as in the previous run${since}: look at the domain's name servers` });
      else if (now.dnsFailed) add({ kind: 'dns-failure', direction: 'neutral', subject: name, message: `DNS failed for ${name} (a temporary failure; its record is unknown, not missing)` });
      else add({ kind: 'dns-recovered', direction: 'better', subject: name, message: `DNS answers for ${name} again` });
      continue;
    }
    const a = text(then.published);
    const b = text(now.published);
    if (a === b) continue;
    if (name.startsWith('DKIM ') && a !== null && b !== null && dkimKey(a) !== null && dkimKey(b) !== null && dkimKey(a) !== dkimKey(b)) {
      add({ kind: 'dkim-key', direction: 'neutral', subject: name, message: `${name}: the key was replaced (p=${short(dkimKey(a)!)} -> p=${short(dkimKey(b)!) || '(empty: revoked)'})`, before: a, after: b });
      continue;
    }
    const message = a === null ? `${name} record published: ${b}` : b === null ? `${name} record removed (was: ${a})` : `${name} record changed: ${a} -> ${b}`;
    add({ kind: 'record', direction: 'neutral', subject: name, message, before: a, after: b });
  }

  // SPF lookups count only when both records could be read and walked.
  if (!failed.has('SPF') && prev.spf.lookups !== undefined && cur.spf.lookups !== undefined && prev.spf.lookups !== cur.spf.lookups) {
    const rose = cur.spf.lookups > prev.spf.lookups;
    add({ kind: 'spf-lookups', direction: rose ? 'worse' : 'better', subject: 'SPF', message: `SPF lookups ${rose ? 'rose' : 'fell'} from ${prev.spf.lookups} to ${cur.spf.lookups} (the limit is 10)`, before: prev.spf.lookups, after: cur.spf.lookups });
  }

  const comparable = (f: Finding): boolean => !isTemporaryFinding(f) && !failed.has(partOfFinding(f) ?? '');
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
