/**
 * Advice on a parsed DMARC record: what it asks receivers to do and what to change next.
 * These are not syntax errors (parse.ts has those) but choices that weaken protection or
 * leave the owner blind.
 */
import type { Finding } from '../findings.js';
import type { DmarcMode, ParsedDmarc } from './parse.js';

interface LintOptions {
  subject?: string;
  /** The record sits at an organizational domain (its sp/np rule subdomains). Default true. */
  coversSubdomains?: boolean;
}

export function lintDmarc(parsed: ParsedDmarc, opts: LintOptions = {}): Finding[] {
  const rec = parsed.record;
  if (!rec) return [];
  const mode: DmarcMode = parsed.mode;
  const subject = opts.subject ?? 'DMARC record';
  const out: Finding[] = [];
  const add = (f: Omit<Finding, 'subject'>): void => {
    out.push({ subject, ...f });
  };
  const tagRfc = mode === '7489' ? 'RFC 7489 §6.3' : 'RFC 9989 §4.7';
  const has = (name: string): boolean => parsed.tags.some((t) => t.name === name);

  if (rec.p === 'none') {
    add({
      code: 'dmarc.policy-none',
      severity: 'warning',
      message: 'p=none only monitors: mail that fails DMARC is delivered as if there were no policy',
      fix: 'read the aggregate reports until every legitimate sender passes SPF or DKIM with alignment, then move to p=quarantine and later p=reject',
      rfc: tagRfc,
    });
  }
  if (rec.sp === 'none' && rec.p !== 'none' && opts.coversSubdomains !== false) {
    add({
      code: 'dmarc.subdomain-policy-none',
      severity: 'warning',
      message: `sp=none leaves every subdomain unprotected although p=${rec.p ?? '?'}`,
      fix: 'remove sp (subdomains then follow p) or set sp=quarantine / sp=reject once subdomain senders pass',
      rfc: tagRfc,
    });
  }
  if (mode === '7489' && rec.pct !== null && rec.pct < 100) {
    add({
      code: 'dmarc.pct-partial',
      severity: 'warning',
      message: `pct=${rec.pct}: the policy is applied to only ${rec.pct}% of failing mail; the rest is handled one step more leniently`,
      fix: 'raise pct step by step (25, 50, 100) while watching the reports, then remove the tag (100 is the default); RFC 9989 drops pct for t=y',
      rfc: 'RFC 7489 §6.3',
    });
  }
  if (rec.t === 'y' && mode === '9989') {
    add({
      code: 'dmarc.testing',
      severity: 'warning',
      message: `t=y (testing): receivers apply the policy one step down (${rec.p === 'reject' ? 'quarantine instead of reject' : rec.p === 'quarantine' ? 'none instead of quarantine' : 'no change for p=none'})`,
      fix: 'remove t=y once the reports show that legitimate mail passes',
      rfc: 'RFC 9989 §4.7',
    });
  }
  if (rec.rua.length === 0) {
    add({
      code: 'dmarc.no-rua',
      severity: 'warning',
      message: 'no rua tag: no aggregate reports are sent, so nobody will see who sends mail as this domain or what fails',
      fix: 'add rua=mailto:dmarc-reports@<your domain> (a mailbox or a report-processing service)',
      rfc: tagRfc,
    });
  }
  for (const tag of ['rua', 'ruf'] as const) {
    if (rec[tag].length > 2) {
      add({
        code: 'dmarc.too-many-uris',
        // RFC 7489 lets receivers stop at two; RFC 9989 asks them to send to every one listed.
        severity: mode === '7489' ? 'warning' : 'info',
        message:
          mode === '7489'
            ? `${tag} lists ${rec[tag].length} URIs; receivers may send to the first two only`
            : `${tag} lists ${rec[tag].length} URIs; receivers that still follow RFC 7489 may send to the first two only`,
        fix: `keep at most two ${tag} addresses (forward from one mailbox if more people need the reports)`,
        rfc: 'RFC 7489 §6.2',
      });
    }
  }
  if (has('fo') && rec.ruf.length === 0) {
    add({
      code: 'dmarc.fo-without-ruf',
      severity: 'info',
      message: 'fo only shapes failure reports, and there is no ruf to send them to',
      fix: 'remove fo, or add ruf=mailto:...',
      rfc: 'RFC 7489 §6.3',
    });
  }
  if (opts.coversSubdomains !== false && rec.effective.np !== 'reject' && rec.p !== null) {
    add({
      code: 'dmarc.suggest-np',
      severity: 'info',
      message: `mail from subdomains that do not exist gets ${rec.effective.np ?? 'no'} policy; such names never send legitimate mail`,
      fix: 'add np=reject',
      rfc: mode === '7489' ? 'RFC 9091 §3.2' : 'RFC 9989 §4.7',
    });
  }
  return out;
}
