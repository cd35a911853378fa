/**
 * The bulk-sender rules of Google, Yahoo and Microsoft, as far as DNS (and, for verify-message, one
 * message) can show them. Nothing here asks anything new of DNS for `check`: each rule is a reading
 * of the findings and results the audit already made. A rule DNS cannot show (TLS on the sending
 * side, the complaint rate, the headers of mail not at hand) is reported as such, never as met.
 */
import { auditDomain, isTemporaryFinding, type DomainResult } from '../check/audit.js';
import type { Finding, Outcome } from '../findings.js';
import type { Resolver } from '../dns/resolver.js';
import { alignment } from '../dmarc/align.js';
import { fieldsNamed, type ParsedMessage } from '../message/message.js';
import { verifyMessage, type MessageReport, type VerifyMessageOptions } from '../message/verify.js';
import { checkReverseDns } from '../rdns/evaluate.js';

const PROFILES = ['bulk-senders'] as const;
type ProfileName = (typeof PROFILES)[number];

type Provider = 'google' | 'yahoo' | 'microsoft';

/** The published guidelines each rule comes from, by name and date. */
const PROVIDER_SOURCES: Record<Provider, string> = {
  google: 'Google, Email sender guidelines (February 2024)',
  yahoo: 'Yahoo, Sender Best Practices (February 2024)',
  microsoft: "Microsoft, outlook.com high-volume sender requirements (May 2025)",
};

/** met; not-met; not-checkable: this run cannot show it (it says why); unknown: DNS failed for what it needs. */
export type RuleVerdict = 'met' | 'not-met' | 'not-checkable' | 'unknown';

export interface ProfileRule {
  id: RuleId;
  title: string;
  /** The providers whose guidelines state the rule. */
  providers: Provider[];
  /** Those guidelines, by name and date, `;`-separated. */
  source: string;
  verdict: RuleVerdict;
  /** Why the verdict is what it is, in plain words. */
  reason: string;
  /** The findings behind the verdict (none for a rule met without remarks). */
  findings: Finding[];
}

export interface ProfileReport {
  profile: ProfileName;
  /** The domain the rules were judged for (the From domain for a message). */
  domain: string;
  rules: ProfileRule[];
  /** ok: every checkable rule met; problems: one is not met; dns-unavailable: none failed, but DNS left one unknown. */
  outcome: Outcome;
}

const ALL: Provider[] = ['google', 'yahoo', 'microsoft'];

const RULES = {
  'spf': { title: 'an SPF record is published and valid', providers: ALL, fix: 'publish one SPF record at the domain, listing the hosts that send its mail (maildns spf compose builds one)' },
  'dkim': { title: 'a DKIM key is published', providers: ALL, fix: 'publish the key of each selector that signs (maildns records prints them)' },
  'dmarc': { title: 'a DMARC policy governs the domain (p=none at least)', providers: ALL, fix: 'publish a DMARC record at _dmarc.<domain> with p=none at least (maildns dmarc compose builds one)' },
  'dmarc-alignment': { title: 'the From domain can align with SPF or DKIM', providers: ALL, fix: 'publish an SPF record or a DKIM key at the domain itself, so that a MAIL FROM or a d= in it can align with From' },
  'reverse-dns': { title: 'the sending addresses have forward-confirmed reverse DNS', providers: ['google', 'yahoo'], fix: 'have the owner of each address (the hosting or access provider) publish a PTR record naming a host whose A or AAAA record holds the address' },
  'tls': { title: 'mail is sent over TLS', providers: ['google'] },
  'spam-rate': { title: 'the reported spam rate stays below 0.3%', providers: ['google', 'yahoo'] },
  'dkim-aligned': { title: 'a DKIM signature passes with d= aligned with From (relaxed)', providers: ALL, fix: 'sign with d= the From domain (or a parent or a child of it), with a key published under the signature\'s selector' },
  'dmarc-pass': { title: 'the message passes DMARC', providers: ALL, fix: 'have the message pass DKIM or SPF aligned with the From domain (the fixes of the message report above say how)' },
  // Microsoft asks for a working unsubscribe link as a recommendation, not the RFC 8058 one-click form.
  'one-click-unsubscribe': { title: 'List-Unsubscribe with an https URI and List-Unsubscribe-Post: List-Unsubscribe=One-Click, both DKIM-signed', providers: ['google', 'yahoo'] },
  'message-format': { title: 'a valid Message-ID and Date (RFC 5322)', providers: ['google', 'yahoo'] },
} as const satisfies Record<string, { title: string; providers: readonly Provider[]; fix?: string }>;

type RuleId = keyof typeof RULES;

function rule(id: RuleId, verdict: RuleVerdict, reason: string, findings: Finding[] = []): ProfileRule {
  const def: { title: string; providers: readonly Provider[]; fix?: string } = RULES[id];
  const providers = [...def.providers];
  // A rule not met gets a finding of its own, with the rule's fix, when no finding of the audit says why.
  const behind = verdict === 'not-met' && !findings.some((f) => f.severity === 'error' && !isTemporaryFinding(f))
    ? [...findings, { code: `bulk-senders.${id}`, severity: 'error' as const, subject: '', message: reason, ...(def.fix ? { fix: def.fix } : {}) }]
    : findings;
  return { id, title: def.title, providers, source: providers.map((p) => PROVIDER_SOURCES[p]).join('; '), verdict, reason, findings: behind };
}

const notInfo = (f: Finding): boolean => f.severity !== 'info';
const definiteError = (f: Finding): boolean => f.severity === 'error' && !isTemporaryFinding(f);
const inArea = (r: DomainResult, prefix: string): Finding[] => r.findings.filter((f) => f.code.startsWith(prefix) && notInfo(f));

function spfRule(r: DomainResult): ProfileRule {
  const fs = inArea(r, 'spf.');
  if (fs.some(definiteError)) return rule('spf', 'not-met', r.spf.published === null ? `${r.domain} publishes no usable SPF record` : 'the SPF record has errors that make receivers fail or ignore it', fs);
  if (r.spf.dnsFailed) return rule('spf', 'unknown', 'DNS failed for a record the SPF check needs', fs);
  if (r.spf.published === null) return rule('spf', 'not-met', `${r.domain} publishes no SPF record`, fs);
  return rule('spf', 'met', `${r.domain} publishes one valid SPF record`, fs);
}

function dkimRule(r: DomainResult, noSelectors: string): ProfileRule {
  const fs = inArea(r, 'dkim.');
  if (r.dkim.length === 0) return rule('dkim', 'not-checkable', noSelectors);
  const valid = r.dkim.filter((k) => k.published !== null && !k.dnsFailed && !r.findings.some((f) => f.subject === `${k.selector}._domainkey.${r.domain}` && definiteError(f)));
  if (valid.length) return rule('dkim', 'met', `a valid key is published for selector ${valid.map((k) => k.selector).join(', ')}`, fs);
  if (r.dkim.some((k) => k.dnsFailed)) return rule('dkim', 'unknown', 'DNS failed for a DKIM key record', fs);
  return rule('dkim', 'not-met', `no valid DKIM key for selector ${r.dkim.map((k) => k.selector).join(', ')}`, fs);
}

function dmarcRule(r: DomainResult): ProfileRule {
  const fs = inArea(r, 'dmarc.');
  const g = r.dmarc.governing;
  if (g?.policy) return rule('dmarc', 'met', `${g.recordName} asks p=${g.policy}${g.recordName === `_dmarc.${r.domain}` ? '' : ` for ${r.domain}`}`, fs);
  if (r.dmarc.dnsFailed) return rule('dmarc', 'unknown', 'DNS failed for the DMARC record', fs);
  return rule('dmarc', 'not-met', g ? `${g.recordName} has no valid policy` : `no DMARC record governs ${r.domain}`, fs);
}

function alignmentRule(r: DomainResult, spf: ProfileRule, dkim: ProfileRule): ProfileRule {
  const strict = [r.dmarc.governing?.aspf === 's' ? 'aspf=s' : '', r.dmarc.governing?.adkim === 's' ? 'adkim=s' : ''].filter(Boolean);
  const note = strict.length ? ` (${strict.join(', ')}: the domain must be exactly ${r.domain})` : '';
  if (spf.verdict === 'met') return rule('dmarc-alignment', 'met', `a MAIL FROM address in ${r.domain} passes SPF aligned with From${note}`);
  if (dkim.verdict === 'met') return rule('dmarc-alignment', 'met', `mail signed with d=${r.domain} is DKIM-aligned with From${note}`);
  if (spf.verdict === 'unknown' || dkim.verdict === 'unknown') return rule('dmarc-alignment', 'unknown', 'DNS failed for the SPF or DKIM records that would show it');
  if (dkim.verdict === 'not-checkable') return rule('dmarc-alignment', 'not-checkable', `${r.domain} has no valid SPF record of its own, and without DKIM selectors its keys are not known`);
  return rule('dmarc-alignment', 'not-met', `neither a valid SPF record nor a valid DKIM key is published at ${r.domain}, so no identifier can align with a From address in it`);
}

function reverseDnsRule(r: DomainResult, notRun: string): ProfileRule {
  if (!r.rdns) return rule('reverse-dns', 'not-checkable', notRun);
  const fs = inArea(r, 'rdns.');
  const { results } = r.rdns;
  if (results.length === 0) return rule('reverse-dns', r.rdns.dnsFailed ? 'unknown' : 'not-checkable', r.rdns.dnsFailed ? 'DNS failed while looking for the sending addresses' : 'DNS names no sending address (no single-host ip4/ip6 in SPF, no MX host address), so there is none to check', fs);
  const bad = results.filter((x) => x.state === 'no-ptr' || x.state === 'not-confirmed');
  if (bad.length) return rule('reverse-dns', 'not-met', `${bad.map((x) => x.address).join(', ')} ${bad.length === 1 ? 'has' : 'have'} no forward-confirmed PTR record`, fs);
  if (results.some((x) => x.state === 'dns-error')) return rule('reverse-dns', 'unknown', 'DNS failed for a PTR record or the address behind it', fs);
  return rule('reverse-dns', 'met', `${results.map((x) => `${x.address} ${x.confirmedName}`).join(', ')}: forward-confirmed`, fs);
}

const TLS_REASON =
  'TLS for sending is a property of the sending servers\' outbound connections, which DNS does not show; MX, MTA-STS and TLS-RPT describe the receiving side (check --tls tests the MX hosts\' STARTTLS)';
const SPAM_RATE_REASON = 'the spam rate is measured by the mailbox providers (Google Postmaster Tools, Yahoo Sender Hub); DNS does not show it';
const MESSAGE_LEVEL = 'a property of each message: check one with maildns verify-message MESSAGE --profile bulk-senders';

/** The rules DNS can judge for a domain; the message-level ones are reported as not checkable here. */
function domainLevelRules(r: DomainResult, context: { noSelectors: string; rdnsNotRun: string }): ProfileRule[] {
  const spf = spfRule(r);
  const dkim = dkimRule(r, context.noSelectors);
  return [spf, dkim, dmarcRule(r), alignmentRule(r, spf, dkim), reverseDnsRule(r, context.rdnsNotRun), tlsRule(r), rule('spam-rate', 'not-checkable', SPAM_RATE_REASON)];
}

/** Never checkable; what --tls saw of the receiving side is said beside it, not counted as the rule. */
function tlsRule(r: DomainResult): ProfileRule {
  if (!r.tls?.results.length) return rule('tls', 'not-checkable', TLS_REASON);
  // One result per address: a host counts as good only when every address of it tried is.
  const goodHost = new Map<string, boolean>();
  for (const p of r.tls.results) goodHost.set(p.host, (goodHost.get(p.host) ?? true) && p.state === 'tls' && !!p.certificate?.trusted && p.certificate.nameValid);
  const good = [...goodHost.values()].filter(Boolean).length;
  return rule('tls', 'not-checkable', `${TLS_REASON}; of the receiving side, ${good} of ${goodHost.size} MX host${goodHost.size === 1 ? ' offers' : 's offer'} STARTTLS with a trusted certificate for their name at every address tried`);
}

/** ok when every checkable rule is met; problems when one is not; dns-unavailable when none failed but one is unknown. */
function profileOutcome(rules: readonly ProfileRule[]): Outcome {
  if (rules.some((x) => x.verdict === 'not-met')) return 'problems';
  return rules.some((x) => x.verdict === 'unknown') ? 'dns-unavailable' : 'ok';
}

/** The outcome of several reports, by the same rule as one report's. */
export function combinedOutcome(outcomes: readonly Outcome[]): Outcome {
  if (outcomes.includes('problems')) return 'problems';
  return outcomes.includes('dns-unavailable') ? 'dns-unavailable' : 'ok';
}

function report(domain: string, rules: ProfileRule[]): ProfileReport {
  // Profile findings name the domain (the rule itself is not a DNS name).
  const named = rules.map((x) => ({ ...x, findings: x.findings.map((f) => (f.subject ? f : { ...f, subject: domain })) }));
  return { profile: 'bulk-senders', domain, rules: named, outcome: profileOutcome(named) };
}

/** `check --profile bulk-senders`: the rules read from one domain's audit. */
export function bulkSenderDomainProfile(r: DomainResult): ProfileReport {
  const rules = domainLevelRules(r, {
    noSelectors: 'DKIM keys are found by selector; name the domain\'s selectors with --selectors',
    rdnsNotRun: 'the reverse DNS check did not run (it runs with --rdns)',
  });
  const messageLevel = (['dkim-aligned', 'dmarc-pass', 'one-click-unsubscribe', 'message-format'] as const).map((id) => rule(id, 'not-checkable', MESSAGE_LEVEL));
  return report(r.domain, [...rules, ...messageLevel]);
}

// ---- message-level rules ----------------------------------------------------------------------

function dkimAlignedRule(m: MessageReport): ProfileRule {
  const from = m.fromDomain;
  const fs = m.findings.filter((f) => f.code.startsWith('dkim.') || f.code === 'dmarc.dkim-not-aligned');
  if (!from) return rule('dkim-aligned', 'not-met', `DKIM alignment needs one From domain: ${m.dmarc.reason}`, fs);
  // Relaxed alignment by the Public Suffix List: the rule is "relaxed", whatever adkim the record asks.
  const aligned = m.dkim.filter((d) => d.result === 'pass' && alignment(from, d.domain, 'r').aligned);
  if (aligned.length) return rule('dkim-aligned', 'met', `the signature of d=${aligned[0]!.domain} (s=${aligned[0]!.selector}) passes and is aligned with ${from}`, fs.filter((f) => f.code !== 'dmarc.dkim-not-aligned'));
  if (m.dkim.some((d) => d.result === 'temperror')) return rule('dkim-aligned', 'unknown', 'DNS failed for a DKIM key', fs);
  if (m.dkim.length === 0) return rule('dkim-aligned', 'not-met', 'the message has no DKIM signature', fs);
  const passing = m.dkim.filter((d) => d.result === 'pass');
  return rule('dkim-aligned', 'not-met', passing.length ? `DKIM passes only for ${passing.map((d) => d.domain).join(', ')}, not aligned with ${from}` : 'no DKIM signature passes', fs);
}

function dmarcPassRule(m: MessageReport): ProfileRule {
  const fs = m.findings.filter((f) => f.code.startsWith('dmarc.'));
  if (m.dmarc.result === 'pass') return rule('dmarc-pass', 'met', m.dmarc.reason, fs);
  if (m.dmarc.result === 'temperror') return rule('dmarc-pass', 'unknown', m.dmarc.reason, fs);
  return rule('dmarc-pass', 'not-met', `DMARC ${m.dmarc.result}: ${m.dmarc.reason}`, fs);
}

const ONE_CLICK = 'List-Unsubscribe=One-Click';

function unsubscribeFinding(code: string, message: string, fix: string, rfc: string): Finding {
  return { code: `bulk-senders.${code}`, severity: 'error', subject: '', message, fix, rfc };
}

/**
 * The <URI>s of a List-* field (RFC 2369 §2), in order. A comment between them is skipped, and a
 * URI inside one is none of the field's; within angle brackets everything up to ">" is the URI
 * (parentheses are URI characters there).
 */
function listUris(value: string): string[] {
  const uris: string[] = [];
  let depth = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value[i]!;
    if (depth > 0) {
      if (c === '\\') i++;
      else if (c === '(') depth++;
      else if (c === ')') depth--;
    } else if (c === '(') depth = 1;
    else if (c === '<') {
      const end = value.indexOf('>', i + 1);
      if (end < 0) break;
      uris.push(value.slice(i + 1, end).trim());
      i = end;
    }
  }
  return uris;
}

/** RFC 8058: an https URI in List-Unsubscribe, List-Unsubscribe-Post with the one key, both signed by a valid DKIM signature. */
function oneClickRule(msg: ParsedMessage, m: MessageReport): ProfileRule {
  const findings: Finding[] = [];
  const lists = fieldsNamed(msg, 'List-Unsubscribe');
  const posts = fieldsNamed(msg, 'List-Unsubscribe-Post');
  if (lists.length === 0) {
    findings.push(unsubscribeFinding('list-unsubscribe-missing', 'the message has no List-Unsubscribe field (bulk and subscribed mail needs one; one-to-one and transactional mail is exempt)', 'add List-Unsubscribe: <https://…> with a URL that unsubscribes on a POST', 'RFC 8058 §3.1'));
  } else if (lists.length > 1) {
    findings.push(unsubscribeFinding('list-unsubscribe-multiple', `${lists.length} List-Unsubscribe fields; a receiver cannot tell which to use`, 'keep one field listing every URI', 'RFC 2369 §3.2'));
  } else {
    const uris = listUris(lists[0]!.value);
    const https = uris.filter((u) => {
      try {
        return new URL(u).protocol === 'https:';
      } catch {
        return false;
      }
    });
    if (https.length === 0) {
      findings.push(unsubscribeFinding('list-unsubscribe-no-https', `List-Unsubscribe has no https URI (${uris.length ? uris.join(', ') : 'no <URI> at all'}); one-click unsubscribe POSTs to an https URI`, 'add an https URI in angle brackets: List-Unsubscribe: <https://…>', 'RFC 8058 §3.1'));
    }
  }
  if (posts.length === 0) {
    findings.push(unsubscribeFinding('list-unsubscribe-post-missing', `the message has no List-Unsubscribe-Post field, so the unsubscribe is not one-click`, `add List-Unsubscribe-Post: ${ONE_CLICK}`, 'RFC 8058 §3.1'));
  } else if (posts.length > 1 || posts[0]!.value.trim() !== ONE_CLICK) {
    findings.push(unsubscribeFinding('list-unsubscribe-post-invalid', `List-Unsubscribe-Post must be the single key/value pair "${ONE_CLICK}" (found ${posts.map((p) => JSON.stringify(p.value.trim())).join(', ')})`, `write List-Unsubscribe-Post: ${ONE_CLICK}`, 'RFC 8058 §3.1'));
  }
  // §4: the receiver must be able to trust both fields, so a valid signature covers them.
  const present = lists.length > 0 && posts.length > 0;
  const covers = (d: MessageReport['dkim'][number]): boolean => ['list-unsubscribe', 'list-unsubscribe-post'].every((h) => d.signedHeaders.map((x) => x.toLowerCase()).includes(h));
  let unknown = false;
  if (present && !m.dkim.some((d) => d.result === 'pass' && covers(d))) {
    if (m.dkim.some((d) => d.result === 'temperror' && covers(d))) unknown = true;
    else {
      const coveringButFailing = m.dkim.filter(covers);
      findings.push(unsubscribeFinding('unsubscribe-not-signed', coveringButFailing.length ? 'the only DKIM signatures that cover List-Unsubscribe and List-Unsubscribe-Post do not pass' : 'no DKIM signature covers both List-Unsubscribe and List-Unsubscribe-Post (h= must name them)', 'sign the message with List-Unsubscribe and List-Unsubscribe-Post in h=', 'RFC 8058 §4'));
    }
  }
  if (findings.length) return rule('one-click-unsubscribe', 'not-met', findings.map((f) => f.message).join('; '), findings);
  if (unknown) return rule('one-click-unsubscribe', 'unknown', 'DNS failed for the key of the signature that covers the unsubscribe fields');
  return rule('one-click-unsubscribe', 'met', 'List-Unsubscribe has an https URI, List-Unsubscribe-Post is one-click, and a passing DKIM signature covers both');
}

const ATEXT = "[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+";
const DOT_ATOM = `${ATEXT}(?:\\.${ATEXT})*`;
/** RFC 5322 §3.6.4 msg-id: "<" id-left "@" id-right ">" (the obsolete forms are not generated). */
const MSG_ID = new RegExp(`^<${DOT_ATOM}@(?:${DOT_ATOM}|\\[[\\x21-\\x5a\\x5e-\\x7e]*\\])>$`);
const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];
/** RFC 5322 §3.3 date-time; §4.3's obsolete zone names are accepted, as receivers must. */
const DATE_TIME = /^(?:([A-Za-z]{3})\s*,\s*)?(\d{1,2})\s+([A-Za-z]{3})\s+(\d{4})\s+(\d{2}):(\d{2})(?::(\d{2}))?\s+(?:([+-])(\d{2})(\d{2})|(UT|GMT|[ECMP][SD]T))$/i;

/** Why a Date field's value is not an RFC 5322 date-time, or null when it is one. */
export function dateProblem(value: string): string | null {
  const text = value.replace(/\([^()]*\)/g, ' ').trim();
  const m = DATE_TIME.exec(text);
  if (!m) return 'is not in the form "Tue, 1 Dec 2026 10:14:06 +0000"';
  const [, dow, day, mon, year, hh, mm, ss, , zh, zm] = m;
  const month = MONTHS.indexOf(mon!.toLowerCase());
  if (month < 0) return `names no month ("${mon}")`;
  const t = new Date(Date.UTC(Number(year), month, Number(day)));
  if (t.getUTCDate() !== Number(day) || Number(year) < 1900) return `is not a day of the calendar (${day} ${mon} ${year})`;
  if (Number(hh) > 23 || Number(mm) > 59 || (ss !== undefined && Number(ss) > 60)) return `has no such time of day (${hh}:${mm}${ss !== undefined ? `:${ss}` : ''})`;
  if (zh !== undefined && (Number(zh) > 99 || Number(zm) > 59)) return `has no such zone offset`;
  if (dow && DAYS.indexOf(dow.toLowerCase()) !== t.getUTCDay()) return `says ${dow} but ${day} ${mon} ${year} is a ${['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'][t.getUTCDay()]}`;
  return null;
}

function messageFormatRule(msg: ParsedMessage): ProfileRule {
  const findings: Finding[] = [];
  const bad = (code: string, message: string, fix: string, rfc: string): void => {
    findings.push({ code: `bulk-senders.${code}`, severity: 'error', subject: '', message, fix, rfc });
  };
  const dates = fieldsNamed(msg, 'Date');
  if (dates.length === 0) bad('date-missing', 'the message has no Date field, which every message must have', 'have the sending program add Date: (the time it was written, with its zone)', 'RFC 5322 §3.6.1');
  else if (dates.length > 1) bad('date-multiple', `${dates.length} Date fields; a message has exactly one`, 'keep one Date field', 'RFC 5322 §3.6');
  else {
    const problem = dateProblem(dates[0]!.value);
    if (problem) bad('date-invalid', `the Date field "${dates[0]!.value.trim()}" ${problem}`, 'write the date as RFC 5322 §3.3 does: Tue, 1 Dec 2026 10:14:06 +0000', 'RFC 5322 §3.3');
  }
  const ids = fieldsNamed(msg, 'Message-ID');
  if (ids.length === 0) bad('message-id-missing', 'the message has no Message-ID field; receivers treat mail without one as suspect', 'have the sending program add Message-ID: <unique@your.domain>', 'RFC 5322 §3.6.4');
  else if (ids.length > 1) bad('message-id-multiple', `${ids.length} Message-ID fields; a message has at most one`, 'keep one Message-ID field', 'RFC 5322 §3.6');
  else if (!MSG_ID.test(ids[0]!.value.replace(/\([^()]*\)/g, ' ').trim())) bad('message-id-invalid', `the Message-ID "${ids[0]!.value.trim()}" is not <left@right>`, 'write it as <unique-part@your.domain>', 'RFC 5322 §3.6.4');
  if (findings.length) return rule('message-format', 'not-met', findings.map((f) => f.message).join('; '), findings);
  return rule('message-format', 'met', 'one valid Date and one valid Message-ID field');
}

interface MessageProfile {
  message: MessageReport;
  profile: ProfileReport;
}

/**
 * `verify-message --profile bulk-senders`: the message verified as a receiver would, the DNS rules
 * judged for its From domain (DKIM keys by the selectors of its signatures, reverse DNS for the
 * --ip client when given), and the message-level rules.
 */
export async function bulkSenderMessageProfile(msg: ParsedMessage, resolver: Resolver, opts: VerifyMessageOptions = {}): Promise<MessageProfile> {
  const message = await verifyMessage(msg, resolver, opts);
  const from = message.fromDomain;
  const messageRules = [dkimAlignedRule(message), dmarcPassRule(message), oneClickRule(msg, message), messageFormatRule(msg)];
  if (!from) {
    const why = `the message has no single From domain to check in DNS (${message.dmarc.reason})`;
    const domainRules = (['spf', 'dkim', 'dmarc', 'dmarc-alignment', 'reverse-dns'] as const).map((id) => rule(id, 'not-checkable', why));
    return { message, profile: report('(no From domain)', [...domainRules, rule('tls', 'not-checkable', TLS_REASON), rule('spam-rate', 'not-checkable', SPAM_RATE_REASON), ...messageRules]) };
  }
  const selectors = [...new Set(message.dkim.filter((d) => d.domain.toLowerCase() === from && d.selector).map((d) => d.selector.toLowerCase()))];
  const [audit, rdns] = await Promise.all([
    auditDomain(resolver, from, { selectors, failOn: 'error' }),
    opts.ip ? checkReverseDns(resolver, [{ address: opts.ip, source: 'the client address (--ip)', ...(opts.helo ? { helo: opts.helo } : {}) }]) : null,
  ]);
  const withRdns: DomainResult = rdns ? { ...audit, rdns: { results: rdns.results, dnsFailed: rdns.dnsFailed }, findings: [...audit.findings, ...rdns.findings] } : audit;
  const domainRules = domainLevelRules(withRdns, {
    noSelectors: `no DKIM signature of ${from} names a selector to look up`,
    rdnsNotRun: 'the sending address is known only with --ip (the SMTP client address)',
  });
  return { message, profile: report(from, [...domainRules, ...messageRules]) };
}
