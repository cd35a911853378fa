/**
 * One findings type shared by every check (SPF, DKIM, DMARC, plan diff) and every output format.
 * `code` is stable across releases so scripts and suppressions can rely on it.
 */
export type Severity = 'error' | 'warning' | 'info';

/** How a run over several domains came out: all fine, problems found, or DNS could not be asked for any. */
export type Outcome = 'ok' | 'problems' | 'dns-unavailable';

export interface Finding {
  /** Stable identifier, e.g. `spf.too-many-lookups`. */
  code: string;
  severity: Severity;
  /** The domain, record or term the finding is about. */
  subject: string;
  /** What is wrong, in plain words. */
  message: string;
  /** What to do about it. */
  fix?: string;
  /** Where the rule comes from, e.g. `RFC 7208 §4.6.4`. */
  rfc?: string;
}

/** What a check gathers as it goes: its findings, and whether some DNS question got no usable answer. */
export interface FindingTally {
  findings: Finding[];
  dnsFailed: boolean;
}

const severityRank: Record<Severity, number> = { error: 2, warning: 1, info: 0 };

/** True when any finding is at least as severe as `threshold`. */
export function hasFindingAtLeast(findings: readonly Finding[], threshold: Severity): boolean {
  return findings.some((f) => severityRank[f.severity] >= severityRank[threshold]);
}

/**
 * Text for a terminal: control characters (C0, DEL, C1) written as \xHH. Findings quote what servers
 * sent (an SMTP reply, a policy line, a TXT record), and an escape sequence or a carriage return in
 * it would otherwise act on the terminal: clear it, or overwrite a FAIL line with a PASS.
 */
export function printable(text: string): string {
  return text.replace(/[\x00-\x1f\x7f-\x9f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

export function formatFinding(f: Finding): string {
  const head = `${f.severity.toUpperCase().padEnd(7)} ${f.code}  ${printable(f.subject)}: ${printable(f.message)}`;
  const tail = [f.fix ? `  fix: ${printable(f.fix)}` : '', f.rfc ? `  see: ${f.rfc}` : ''].filter(Boolean);
  return [head, ...tail].join('\n');
}
