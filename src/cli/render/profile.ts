/**
 * Output of a sender profile (`check --profile`, `verify-message --profile`):
 *
 * - text: per domain, each rule with its verdict, the providers and guidelines it comes from, why,
 *   and the findings behind it; then one line of counts.
 * - json (check): { "version": 1, "profile", "domains": [ { "domain", "outcome", "rules": [ { "id",
 *   "title", "providers", "source", "verdict": "met"|"not-met"|"not-checkable"|"unknown",
 *   "reason", "findings" } ] } ], "summary": { "domains", "ok", "problems", "unknown", "ms", "outcome", "exitCode" } }
 *   (verify-message prints { "message": <its usual report>, "profile": <one such domain entry with "profile"> , "exitCode" }).
 */
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { printable, type Outcome } from '../../findings.js';
import type { ProfileReport, ProfileRule, RuleVerdict } from '../../profiles/bulk-senders.js';
import { paint } from './output.js';

const LABEL: Record<RuleVerdict, [string, 'green' | 'red' | 'yellow' | 'dim']> = {
  'met': ['MET', 'green'],
  'not-met': ['NOT MET', 'red'],
  'unknown': ['UNKNOWN', 'yellow'],
  'not-checkable': ['NOT CHECKABLE', 'dim'],
};

const OUTCOME_TEXT: Record<Outcome, string> = { 'ok': 'every rule that can be checked here is met', 'problems': 'rules not met', 'dns-unavailable': 'no rule failed, but DNS left some unknown' };

function renderRule(r: ProfileRule, color: boolean): string {
  const [label, tint] = LABEL[r.verdict];
  // The reasons and findings quote what DNS and servers sent: printable() keeps it from acting on the terminal.
  const lines = [`  ${paint(label.padEnd(13), tint, color)}  ${r.id}: ${r.title}`, `                 ${printable(r.reason)}`, `                 source: ${r.source}`];
  for (const f of r.findings) {
    if (r.verdict === 'met' && f.severity !== 'error') continue;
    lines.push(`                 ${f.severity.toUpperCase().padEnd(7)} ${f.code}  ${printable(f.subject)}: ${printable(f.message)}`);
    if (f.fix && f.severity !== 'info') lines.push(`                         fix: ${printable(f.fix)}`);
    if (f.rfc) lines.push(`                         see: ${f.rfc}`);
  }
  return lines.join('\n');
}

export function renderProfileReport(p: ProfileReport, color: boolean): string {
  const count = (v: RuleVerdict): number => p.rules.filter((r) => r.verdict === v).length;
  const head = `${paint(printable(`${p.profile}: ${p.domain}`), 'bold', color)}  ${OUTCOME_TEXT[p.outcome]} (${count('met')} met, ${count('not-met')} not met, ${count('unknown')} unknown, ${count('not-checkable')} not checkable here)`;
  return `${head}\n${p.rules.map((r) => renderRule(r, color)).join('\n')}\n`;
}

async function write(out: Writable, text: string): Promise<void> {
  if (!out.write(text)) await once(out, 'drain');
}

interface ProfileSummary {
  domains: number;
  ok: number;
  problems: number;
  unknown: number;
  ms: number;
  outcome: Outcome;
  exitCode: number;
}

interface ProfileReporter {
  begin(): Promise<void>;
  result(p: ProfileReport): Promise<void>;
  end(summary: ProfileSummary): Promise<void>;
}

export function profileTextReporter(out: Writable, opts: { color: boolean }): ProfileReporter {
  let first = true;
  return {
    async begin() {},
    async result(p) {
      await write(out, `${first ? '' : '\n'}${renderProfileReport(p, opts.color)}`);
      first = false;
    },
    async end(s) {
      const line = `${s.domains} domain${s.domains === 1 ? '' : 's'}: ${s.ok} meet every checkable rule, ${s.problems} miss a rule, ${s.unknown} unknown because DNS failed`;
      await write(out, `\n${paint(line, s.exitCode === 0 ? 'green' : 'bold', opts.color)}\n`);
    },
  };
}

export function profileJsonReporter(out: Writable, profile: string): ProfileReporter {
  let first = true;
  return {
    async begin() {
      await write(out, `{"version":1,"profile":${JSON.stringify(profile)},"domains":[`);
    },
    async result(p) {
      await write(out, `${first ? '\n' : ',\n'}${JSON.stringify({ domain: p.domain, outcome: p.outcome, rules: p.rules })}`);
      first = false;
    },
    async end(s) {
      await write(out, `\n],"summary":${JSON.stringify(s)}}\n`);
    },
  };
}
