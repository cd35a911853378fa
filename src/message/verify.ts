/**
 * Verify a received (or test) message the way a receiver would: every DKIM signature, SPF for
 * the given client, DMARC on top of them (RFC 7489 / RFC 9989) and the ARC chain (RFC 8617),
 * ending in an Authentication-Results header field (RFC 8601).
 */
import { InputError } from '../errors.js';
import type { Finding } from '../findings.js';
import { alignment, orgDomain, type AlignmentResult } from '../dmarc/align.js';
import { discoverPolicy, orgDomainByTreeWalk, type PolicyDiscovery } from '../dmarc/discover.js';
import type { DmarcMode } from '../dmarc/mode.js';
import type { Resolver } from '../dns/resolver.js';
import { checkHost, type SpfResult } from '../spf/evaluate.js';
import { parseIp } from '../spf/ip.js';
import type { DmarcPolicy } from '../plan/types.js';
import { arcResultText, verifyArc, type AarResult, type ArcReport } from './arc.js';
import { skippedSignaturesFinding, verifyDkim, type DkimSignatureReport } from './dkim.js';
import { addressesOf, domainOf, fieldsNamed, fromIdentity, MALFORMED_LINE_FIX, malformedLineProblem, type ParsedMessage } from './message.js';


export type { SpfResult };

interface SpfReport {
  result: SpfResult;
  /** The domain SPF was checked for: the MAIL FROM domain, or the HELO name for a null sender. */
  domain: string;
  identity: 'mailfrom' | 'helo';
  ip: string;
  helo?: string;
  mailFrom?: string;
  record?: string;
  reason?: string;
  /** What to do when the result is not pass. */
  fix?: string;
}

interface DmarcIdentifier {
  /** `dkim` (a signature's d=) or `spf` (the SPF-checked domain). */
  method: 'dkim' | 'spf';
  domain: string;
  /** Result of the underlying check. */
  result: string;
  alignment: AlignmentResult;
  /** Passed and aligned: this identifier makes DMARC pass. */
  counts: boolean;
}

interface DmarcReport {
  result: 'pass' | 'fail' | 'none' | 'temperror' | 'permerror';
  mode: DmarcMode;
  fromDomain: string | null;
  /** The record that applies, as published; null when none. */
  record: string | null;
  recordName: string | null;
  rule: PolicyDiscovery['rule'];
  /** The policy the record asks for this domain (p, sp or np). */
  policy: DmarcPolicy | null;
  /** What a receiver would do with this message: none on pass, else the applied policy. */
  disposition: DmarcPolicy | null;
  adkim: 'r' | 's' | null;
  aspf: 'r' | 's' | null;
  /** RFC 7489 pct, when it is below 100. */
  pct?: number;
  identifiers: DmarcIdentifier[];
  steps: string[];
  reason: string;
  /** What to do when the result is not pass. */
  fix?: string;
}

export interface MessageReport {
  fromDomain: string | null;
  dkim: DkimSignatureReport[];
  spf: SpfReport | null;
  dmarc: DmarcReport;
  /** The ARC chain (RFC 8617): its validation status, each set, and what its first sealer saw. */
  arc: ArcReport;
  authenticationResults: string;
  findings: Finding[];
  /** Some answer needed for the verdict could not be fetched (timeout, SERVFAIL). */
  dnsFailed: boolean;
}

export interface VerifyMessageOptions {
  /** SMTP client address; SPF is checked only when given. */
  ip?: string;
  helo?: string;
  /** MAIL FROM address; defaults to the Return-Path field. `<>` is the null sender. */
  mailFrom?: string;
  dmarcMode?: DmarcMode;
  /** authserv-id of the Authentication-Results field. */
  authservId?: string;
  now?: Date;
}

async function checkSpf(resolver: Resolver, msg: ParsedMessage, opts: VerifyMessageOptions): Promise<SpfReport | null> {
  if (!opts.ip) return null;
  if (!parseIp(opts.ip)) throw new InputError(`the client address "${opts.ip}" is not an IPv4 or IPv6 address`);
  let mailFrom = opts.mailFrom;
  const fromField = mailFrom === undefined ? fieldsNamed(msg, 'Return-Path').at(-1) : undefined;
  if (fromField) mailFrom = addressesOf(fromField.value)[0] ?? '';
  mailFrom = (mailFrom ?? '').replace(/^<|>$/g, '').trim();
  const mailFromDomain = mailFrom ? domainOf(mailFrom) : null;
  if (mailFrom && !mailFromDomain && !fromField) throw new InputError(`the MAIL FROM "${mailFrom}" is not an address (local@domain)`);
  if (mailFrom && !mailFromDomain) {
    // The message's own field: what it says gets a verdict, as any field of the message does.
    return {
      identity: 'mailfrom',
      ip: opts.ip,
      ...(opts.helo ? { helo: opts.helo } : {}),
      mailFrom,
      result: 'none',
      domain: '',
      reason: `the Return-Path field holds no address (${mailFrom}), so there is no MAIL FROM domain to check`,
      fix: 'give the MAIL FROM the client used (--mail-from); the receiving server writes Return-Path from it',
    };
  }
  const identity = mailFromDomain ? 'mailfrom' : 'helo';
  const domain = mailFromDomain ?? (opts.helo ? opts.helo.toLowerCase() : '');
  const base = { identity, ip: opts.ip, ...(opts.helo ? { helo: opts.helo } : {}), ...(mailFrom ? { mailFrom } : {}) } as const;
  if (!domain) {
    return { ...base, result: 'none', domain: '', reason: 'no MAIL FROM and no HELO name given, so there is no domain to check', fix: 'give the MAIL FROM address (or the HELO name) the client used' };
  }
  const verdict = await checkHost(resolver, {
    ip: opts.ip,
    domain,
    sender: mailFrom || `postmaster@${domain}`,
    ...(opts.helo ? { helo: opts.helo } : {}),
  });
  const report: SpfReport = { ...base, result: verdict.result, domain, reason: verdict.reason };
  if (verdict.matched) report.record = verdict.matched.record;
  const fix = spfFix(verdict.result, domain, opts.ip);
  if (fix) report.fix = fix;
  return report;
}

const RUN_AGAIN = 'run again when DNS answers, or ask another server with --nameserver';

/** What to do about an SPF result; none for pass. */
function spfFix(result: SpfResult, domain: string, ip: string): string | undefined {
  switch (result) {
    case 'pass':
      return undefined;
    case 'none':
      return `publish an SPF record at ${domain} that lists the hosts sending its mail (maildns spf compose builds one)`;
    case 'neutral':
      return `list ${ip} in the SPF record of ${domain} if it sends the domain's mail, and end the record with -all or ~all`;
    case 'fail':
    case 'softfail':
      return `if ${ip} sends mail for ${domain}, add it to the domain's SPF record (an ip4:/ip6: term, or the include: of the service that sends); if not, the result is right`;
    case 'permerror':
      return `mend the SPF record of ${domain}: maildns spf ${domain} says what is wrong with it`;
    case 'temperror':
      return RUN_AGAIN;
  }
}

/** What to do about a DMARC fail: the first way to an identifier that passes aligned. */
function dmarcFailFix(from: string, identifiers: readonly DmarcIdentifier[], adkim: 'r' | 's'): string {
  const exactly = adkim === 's' ? ` exactly (adkim=s)` : ' or a name below it';
  const unalignedDkim = identifiers.find((i) => i.method === 'dkim' && i.result === 'pass');
  if (unalignedDkim) return `sign with d=${from}${exactly}: the signature of ${unalignedDkim.domain} passes but does not count for ${from}`;
  const alignedFailing = identifiers.find((i) => i.method === 'dkim' && i.alignment.aligned);
  if (alignedFailing) return `mend the DKIM signature of ${alignedFailing.domain} (its fix is above), or send with a MAIL FROM in ${from} that SPF passes`;
  if (identifiers.some((i) => i.method === 'spf' && i.result === 'pass')) return `send with a MAIL FROM address in ${from}, or sign with d=${from}`;
  return `sign the mail with d=${from}${exactly} (maildns opendkim sets up the mail host), or send it with a MAIL FROM in ${from} that SPF passes`;
}

function dkimIdentifierResult(r: DkimSignatureReport): string {
  return r.result;
}

async function evaluateDmarc(
  resolver: Resolver,
  msg: ParsedMessage,
  dkim: DkimSignatureReport[],
  spf: SpfReport | null,
  mode: DmarcMode,
): Promise<DmarcReport> {
  const from = fromIdentity(msg);
  const empty: Omit<DmarcReport, 'result' | 'reason' | 'fromDomain'> = {
    mode,
    record: null,
    recordName: null,
    rule: null,
    policy: null,
    disposition: null,
    adkim: null,
    aspf: null,
    identifiers: [],
    steps: [],
  };
  if (!from.domain) {
    return { ...empty, result: 'permerror', fromDomain: null, reason: `DMARC cannot be applied: ${from.problem}`, ...(from.fix ? { fix: from.fix } : {}) };
  }
  const discovery = await discoverPolicy(resolver, from.domain, mode);
  const base = {
    ...empty,
    fromDomain: from.domain,
    record: discovery.record?.text ?? null,
    recordName: discovery.recordName,
    rule: discovery.rule,
    policy: discovery.policy,
    adkim: discovery.adkim,
    aspf: discovery.aspf,
    steps: discovery.steps,
    ...(mode === '7489' && discovery.record?.record?.pct != null && discovery.record.record.pct < 100 ? { pct: discovery.record.record.pct } : {}),
  };
  if (discovery.status === 'temperror') return { ...base, result: 'temperror', reason: discovery.reason, fix: RUN_AGAIN };
  if (discovery.status === 'none') {
    return { ...base, result: 'none', reason: discovery.reason, fix: `publish a DMARC record at _dmarc.${from.domain} (maildns dmarc compose builds one: p=none with a rua= address to start)` };
  }

  // Organizational domains: the Public Suffix List (RFC 7489) or the DNS tree walk (RFC 9989).
  const orgs = new Map<string, string>();
  const authDomains = [...dkim.map((d) => d.domain), ...(spf?.domain ? [spf.domain] : [])].filter(Boolean);
  for (const d of new Set([from.domain, ...authDomains])) {
    orgs.set(d, mode === '7489' ? orgDomain(d) : d === from.domain ? discovery.orgDomain : (await orgDomainByTreeWalk(resolver, d)).orgDomain);
  }
  const orgOf = (d: string): string => orgs.get(d) ?? orgDomain(d);
  const identifiers: DmarcIdentifier[] = [];
  for (const sig of dkim) {
    if (!sig.domain) continue;
    const al = alignment(from.domain, sig.domain, discovery.adkim ?? 'r', orgOf);
    const result = dkimIdentifierResult(sig);
    identifiers.push({ method: 'dkim', domain: sig.domain, result, alignment: al, counts: result === 'pass' && al.aligned });
  }
  if (spf && spf.domain) {
    const al = alignment(from.domain, spf.domain, discovery.aspf ?? 'r', orgOf);
    identifiers.push({ method: 'spf', domain: spf.domain, result: spf.result, alignment: al, counts: spf.result === 'pass' && al.aligned });
  }
  const winner = identifiers.find((i) => i.counts);
  if (winner) {
    return {
      ...base,
      identifiers,
      result: 'pass',
      disposition: 'none',
      reason: `${winner.method === 'dkim' ? 'DKIM' : 'SPF'} passed for ${winner.domain}, aligned with ${from.domain} (${winner.alignment.reason})`,
    };
  }
  const temp = dkim.some((d) => d.result === 'temperror') || spf?.result === 'temperror';
  const why = identifiers.length
    ? identifiers.map((i) => `${i.method} ${i.domain}: ${i.result}${i.result === 'pass' ? `, not aligned (${i.alignment.reason})` : ''}`).join('; ')
    : 'no DKIM signature and no SPF check';
  return {
    ...base,
    identifiers,
    result: temp ? 'temperror' : 'fail',
    disposition: discovery.appliedPolicy,
    reason: `no identifier both passed and aligned with ${from.domain}: ${why}`,
    fix: temp ? RUN_AGAIN : dmarcFailFix(from.domain, identifiers, discovery.adkim ?? 'r'),
  };
}

/** RFC 8601 comment text: no parentheses or backslashes inside. */
function comment(text: string): string {
  return `(${text.replace(/[()\\]/g, ' ').replace(/\s+/g, ' ').trim()})`;
}

/**
 * An RFC 8601 property value: names as they are, anything else (a crafted d= or s= with spaces,
 * ";" or parentheses) as a quoted string, so no value can add a result of its own to the field.
 */
function pvalue(text: string): string {
  if (/^[A-Za-z0-9._@+-]+$/.test(text)) return text;
  return `"${text.replace(/[\x00-\x1f\x7f]/g, '').replace(/["\\]/g, '\\$&')}"`;
}

const SHORT_REASON: Record<string, string> = {
  'dkim.body-hash-mismatch': 'body hash did not verify',
  'dkim.signature-mismatch': 'bad signature',
  'dkim.key-not-found': 'no key',
  'dkim.key-revoked': 'key revoked',
  'dkim.weak-algorithm': 'rsa-sha1 not accepted',
  'dkim.key-too-short': 'key too short',
  'dkim.key-lookup-failed': 'DNS failure',
};

function formatAuthenticationResults(report: Omit<MessageReport, 'authenticationResults'>, authservId = 'maildns'): string {
  const parts: string[] = [];
  if (report.dkim.length === 0) parts.push('dkim=none (message not signed)');
  for (const d of report.dkim) {
    const why = d.result === 'pass' ? (d.key?.bits ? `${d.key.bits}-bit ${d.key.type} key` : '') : (SHORT_REASON[d.reasonCode ?? ''] ?? d.reasonCode ?? '');
    const props = [`header.d=${pvalue(d.domain)}`, `header.i=${pvalue(d.identity)}`, `header.s=${pvalue(d.selector)}`, `header.a=${pvalue(d.algorithm)}`, `header.b=${JSON.stringify(d.bShort.replace(/[^A-Za-z0-9+/=]/g, ''))}`];
    parts.push([`dkim=${d.result}`, ...(why ? [comment(why)] : []), ...props].join(' '));
  }
  if (report.spf) {
    const s = report.spf;
    const props = s.identity === 'mailfrom' ? [`smtp.mailfrom=${pvalue(s.mailFrom ?? '')}`] : [`smtp.helo=${pvalue(s.domain)}`];
    parts.push([`spf=${s.result}`, comment(`client ${s.ip}`), ...props].join(' '));
  }
  const m = report.dmarc;
  const dmarcProps = m.fromDomain ? [`header.from=${pvalue(m.fromDomain)}`] : [];
  const dmarcNote = m.policy ? comment(`p=${m.policy}${m.disposition ? ` dis=${m.disposition}` : ''}`) : '';
  parts.push([`dmarc=${m.result}`, ...(dmarcNote ? [dmarcNote] : []), ...dmarcProps].join(' '));
  if (report.arc.result !== 'none') parts.push(arcResultText(report.arc));
  return `Authentication-Results: ${authservId};\r\n ${parts.join(';\r\n ')}`;
}

/** A header line that is no field and no fold (RFC 5322 §2.2.3): the first, and how many there are. */
function malformedLineFindings(msg: ParsedMessage): Finding[] {
  const first = msg.malformed[0];
  if (!first) return [];
  const more = msg.malformed.length - 1;
  return [
    {
      code: 'message.header-malformed',
      severity: 'error',
      subject: 'message header',
      message: `${malformedLineProblem(first)}${more ? `, and ${more} more line${more === 1 ? '' : 's'} below it` : ''}; it is read as no field, DKIM signatures over the header are a permerror, and dkimpy rejects the message`,
      fix: MALFORMED_LINE_FIX,
      rfc: 'RFC 5322 §2.2.3',
    },
  ];
}

/**
 * What the first sealer's ARC-Authentication-Results say passed on arrival (`dkim for d`, `spf for
 * the MAIL FROM`): what a passing chain gives a receiver to override a DMARC fail with (RFC 8617
 * §7.2, RFC 7489 §6.7). Read from the set itself, so it is known also when a key left the chain unevaluated.
 */
function passesSeenByFirstSealer(arc: ArcReport): string[] {
  const results = arc.sets[0]?.instance === 1 ? (arc.sets[0].authenticationResults?.results ?? []) : [];
  const passed = (method: string): AarResult[] => results.filter((r) => r.method === method && r.result === 'pass');
  return [
    ...passed('dkim').map((d) => `dkim for ${d.properties['header.d'] ?? d.properties['header.i'] ?? '?'}`),
    ...passed('spf').map((s) => `spf for ${s.properties['smtp.mailfrom'] ?? s.properties['smtp.helo'] ?? '?'}`),
  ];
}

/**
 * When DMARC fails but a passing chain says the first sealer saw an aligned DKIM or SPF pass, what
 * a receiver that trusts that sealer could do (RFC 8617 §7.2, RFC 7489 §6.7). The chain's own
 * verdict is not a finding: it is the report's arc (reason, fix, rfc), as a DKIM signature's is its
 * own, and is printed once, in the ARC section.
 */
function arcFindings(arc: ArcReport, dmarc: DmarcReport): Finding[] {
  const out: Finding[] = [];
  if (arc.result === 'pass' && arc.override && dmarc.result === 'fail' && dmarc.fromDomain) {
    const from = dmarc.fromDomain;
    const passed = passesSeenByFirstSealer(arc);
    out.push({
      code: passed.length ? 'arc.dmarc-override-possible' : 'arc.no-override',
      severity: 'info',
      subject: `ARC instance 1 (${arc.override.sealer || '?'})`,
      message: passed.length
        ? `DMARC fails here, but the ARC chain passes and its first sealer (${arc.override.authservId || arc.override.sealer}) saw ${passed.join(' and ')} on arrival: a receiver that trusts ${arc.override.sealer} may deliver the message despite p=${dmarc.policy ?? 'none'} (a local policy override)`
        : `DMARC fails here and the ARC chain passes, but its first sealer saw no DKIM or SPF pass on arrival, so it gives a receiver nothing to override DMARC with`,
      fix: passed.length ? `if ${from} wants its mail through this intermediary without ARC trust, sign with d=${from} in a way the intermediary keeps (no footer, no Subject tag)` : `sign the mail with d=${from} before it reaches the intermediary`,
      rfc: 'RFC 8617 §7.2',
    });
  }
  return out;
}

/** The whole check; DNS goes through `resolver` only. */
export async function verifyMessage(msg: ParsedMessage, resolver: Resolver, opts: VerifyMessageOptions = {}): Promise<MessageReport> {
  const dkim = await verifyDkim(msg, resolver, opts.now ? { now: opts.now } : {});
  const spf = await checkSpf(resolver, msg, opts);
  const dmarc = await evaluateDmarc(resolver, msg, dkim, spf, opts.dmarcMode ?? '9989');
  const arc = await verifyArc(msg, resolver, opts.now ? { now: opts.now } : {});
  const skipped = skippedSignaturesFinding(msg);
  const findings = [...malformedLineFindings(msg), ...(skipped ? [skipped] : []), ...dkim.flatMap((d) => d.findings)];
  for (const id of dmarc.identifiers) {
    if (id.result === 'pass' && !id.alignment.aligned) {
      findings.push({
        code: `dmarc.${id.method}-not-aligned`,
        severity: 'warning',
        subject: id.domain,
        message: `${id.method === 'dkim' ? 'DKIM' : 'SPF'} passed for ${id.domain} but it is not aligned with the From domain ${dmarc.fromDomain} (${id.alignment.reason})`,
        fix: id.method === 'dkim' ? `sign with d=${dmarc.fromDomain}` : `use a MAIL FROM address in ${dmarc.fromDomain}`,
        rfc: dmarc.mode === '7489' ? 'RFC 7489 §3.1' : 'RFC 9989 §4.4',
      });
    }
  }
  findings.push(...arc.findings, ...arcFindings(arc, dmarc));
  // A check DNS left undecided counts only where it could have changed the outcome: a DKIM key or
  // SPF where no other identifier made DMARC pass (evaluateDmarc), an ARC key where a passing chain
  // would let a receiver override the DMARC fail.
  const arcCouldOverride = dmarc.result === 'fail' && passesSeenByFirstSealer(arc).length > 0;
  const dnsFailed = dmarc.result === 'temperror' || dkim.some((d) => d.result === 'temperror') || spf?.result === 'temperror' || (arc.dnsFailed && arcCouldOverride);
  const partial = { fromDomain: fromIdentity(msg).domain, dkim, spf, dmarc, arc, findings, dnsFailed };
  return { ...partial, authenticationResults: formatAuthenticationResults(partial, opts.authservId) };
}
