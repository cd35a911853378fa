/**
 * Check a domain's DMARC setup as published: the record at `_dmarc.<domain>`, its syntax and
 * choices, the report destinations' authorisation (RFC 7489 §7.1) and which policy governs the
 * domain (policy discovery). Every DNS question goes through the Resolver handed in.
 */
import type { Finding, FindingTally } from '../findings.js';
import { normalizeName } from '../names.js';
import { TEMPORARY_FAILURE_FIX, temporaryFinding } from '../dns/failure.js';
import { describeAnswer, dnsFailureCode, isTemporary, txtValues, type DnsStatus, type Resolver } from '../dns/resolver.js';
import { orgDomain } from './align.js';
import { reportAuthorizationName } from './compose.js';
import { discoverPolicy, lookupDmarc, type DmarcLookup, type PolicyDiscovery } from './discover.js';
import { lintDmarc } from './lint.js';
import { DEFAULT_MODE, looksLikeDmarc, looksLikeDmarcAfterWhitespace, looksLikeDmarcButForCase, parseDmarc, type DmarcMode, type ParsedDmarc, type ReportUri } from './parse.js';

interface ReportDestinationCheck {
  tag: 'rua' | 'ruf';
  uri: string;
  destination: string;
  /** True when the destination shares the domain's organizational domain (no authorisation needed). */
  internal: boolean;
  /** The name asked for the authorisation record; null for internal destinations. */
  authorizationName: string | null;
  /** authorised / missing / unknown (DNS failed) / not-needed. */
  status: 'authorised' | 'missing' | 'unknown' | 'not-needed';
}

export interface DmarcCheck {
  domain: string;
  mode: DmarcMode;
  /** `_dmarc.<domain>`. */
  name: string;
  lookup: DmarcLookup;
  /** The single DMARC record at `_dmarc.<domain>` parsed, or null (none, or several). */
  parsed: ParsedDmarc | null;
  /** Which record governs the domain and why. */
  discovery: PolicyDiscovery;
  destinations: ReportDestinationCheck[];
  findings: Finding[];
  /** True when a DNS question could not be answered (timeout, SERVFAIL, REFUSED). */
  dnsFailed: boolean;
}

interface CheckOptions {
  mode?: DmarcMode;
  /** Skip the `_report._dmarc` queries for external report destinations. */
  skipDestinations?: boolean;
}

const RFC_FIND = (mode: DmarcMode): string => (mode === '7489' ? 'RFC 7489 §6.6.3' : 'RFC 9989 §4.10');

/**
 * The check in parts, each a function of its own: as one async function it was the costliest thing
 * V8 compiled in a bulk run (60 ms, and again after each deoptimization); each part now compiles
 * alone, and only when it is hot.
 */
export async function checkDmarcDomain(resolver: Resolver, domain: string, opts: CheckOptions = {}): Promise<DmarcCheck> {
  const mode = opts.mode ?? DEFAULT_MODE;
  const d = normalizeName(domain);
  const tally: FindingTally = { findings: [], dnsFailed: false };
  const lookup = await lookupDmarc(resolver, d);
  const name = lookup.name;
  let parsed: ParsedDmarc | null = null;
  if (lookup.temporary) {
    unreadable(tally, mode, name, `the TXT records at ${name}`, lookup);
  } else {
    parsed = recordSetFindings(lookup, d, mode, tally.findings);
    await apexFindings(resolver, d, lookup, mode, tally);
  }
  // External report destinations must say they accept reports (RFC 7489 §7.1).
  const destinations = parsed?.record && !opts.skipDestinations ? await checkDestinations(resolver, d, name, parsed.record, tally) : [];
  const discovery = await discoverPolicy(resolver, d, mode);
  discoveryFindings(discovery, lookup, d, mode, tally);
  return { domain: d, mode, name, lookup, parsed, discovery, destinations, findings: tally.findings, dnsFailed: tally.dnsFailed };
}

/** A DMARC question without a usable answer. */
function unreadable(tally: FindingTally, mode: DmarcMode, subject: string, what: string, answer: { status: DnsStatus; detail?: string | undefined }): void {
  tally.dnsFailed = true;
  tally.findings.push({ ...temporaryFinding('dmarc', subject, what, answer), rfc: RFC_FIND(mode) });
}

/** The TXT records at `_dmarc.<domain>` as a set: an alias, records that are not DMARC or nearly are, more than one; the one record parsed and linted. */
function recordSetFindings(lookup: DmarcLookup, d: string, mode: DmarcMode, findings: Finding[]): ParsedDmarc | null {
  const name = lookup.name;
  if (lookup.cnameChain.length) {
    findings.push({
      code: 'dmarc.cname',
      severity: 'info',
      subject: name,
      message: `${name} is an alias (CNAME) for ${lookup.cnameChain.at(-1)}; the record there is the one receivers use`,
      rfc: 'RFC 1034 §3.6.2',
    });
  }
  const spf = lookup.txt.filter((t) => /^v[ \t]*=[ \t]*spf1(?:\s|$)/i.test(t.trim()));
  const spaced = lookup.txt.filter(looksLikeDmarcAfterWhitespace);
  const miscased = lookup.txt.filter(looksLikeDmarcButForCase);
  const unrelated = lookup.txt.filter((t) => !looksLikeDmarc(t) && !spf.includes(t) && !spaced.includes(t) && !miscased.includes(t));
  for (const t of spf) findings.push(...parseDmarc(t, { mode, subject: name }).findings);
  for (const t of spaced) findings.push(...parseDmarc(t, { mode, subject: name }).findings.filter((f) => f.code === 'dmarc.leading-whitespace'));
  for (const t of miscased) findings.push(...parseDmarc(t, { mode, subject: name }).findings.filter((f) => f.code === 'dmarc.bad-version'));
  if (unrelated.length) {
    findings.push({
      code: 'dmarc.unrelated-txt',
      severity: 'warning',
      subject: name,
      message: `${unrelated.length === 1 ? 'a TXT record that is' : `${unrelated.length} TXT records that are`} not DMARC sit${unrelated.length === 1 ? 's' : ''} at ${name} (${unrelated.map((t) => JSON.stringify(t.length > 60 ? `${t.slice(0, 57)}...` : t)).join(', ')}); receivers skip ${unrelated.length === 1 ? 'it' : 'them'}, some tools choke on ${unrelated.length === 1 ? 'it' : 'them'}`,
      fix: `remove ${unrelated.length === 1 ? 'it' : 'them'} from ${name}`,
      rfc: RFC_FIND(mode),
    });
  }
  if (lookup.dmarc.length > 1) {
    findings.push({
      code: 'dmarc.multiple-records',
      severity: 'error',
      subject: name,
      message: `${lookup.dmarc.length} DMARC records at ${name}; receivers then ${mode === '7489' ? 'apply no DMARC at all' : 'ignore all of them'}`,
      fix: 'merge them into one record and delete the others',
      rfc: RFC_FIND(mode),
    });
  } else if (lookup.dmarc.length === 1) {
    const parsed = parseDmarc(lookup.dmarc[0]!, { mode, subject: name });
    findings.push(...parsed.findings);
    const isOrg = orgDomain(d) === d;
    findings.push(...lintDmarc(parsed, { subject: name, coversSubdomains: isOrg || parsed.record?.sp !== null || parsed.record?.np !== null }));
    return parsed;
  }
  return null;
}

/** A DMARC record at the apex instead of (or besides) _dmarc. */
async function apexFindings(resolver: Resolver, d: string, lookup: DmarcLookup, mode: DmarcMode, tally: FindingTally): Promise<void> {
  const name = lookup.name;
  const apex = await resolver.lookup(d, 'TXT');
  if (isTemporary(apex.status)) {
    // Not fatal for the check; report it so nobody reads it as absent.
    if (lookup.dmarc.length === 0) unreadable(tally, mode, d, `the TXT records at ${d}`, apex);
  } else if (txtValues(apex).some(looksLikeDmarc)) {
    tally.findings.push(
      lookup.dmarc.length === 0
        ? {
            code: 'dmarc.record-at-apex',
            severity: 'error',
            subject: d,
            message: `a DMARC record is published at ${d} itself; receivers only look at ${name}`,
            fix: `move it to ${name} (name "_dmarc" in the ${d} zone)`,
            rfc: mode === '7489' ? 'RFC 7489 §6.1' : 'RFC 9989 §4.5',
          }
        : {
            code: 'dmarc.apex-record-ignored',
            severity: 'warning',
            subject: d,
            message: `a DMARC record at ${d} itself has no effect (the one at ${name} is used)`,
            fix: `delete the v=DMARC1 TXT record at ${d}`,
            rfc: mode === '7489' ? 'RFC 7489 §6.1' : 'RFC 9989 §4.5',
          },
    );
  }
}

/** The report destinations of the record (RFC 7489 §7.1): those outside the domain's organizational domain must say they accept its reports. */
async function checkDestinations(resolver: Resolver, d: string, name: string, record: NonNullable<ParsedDmarc['record']>, tally: FindingTally): Promise<ReportDestinationCheck[]> {
  const destinations: ReportDestinationCheck[] = [];
  const ownOrg = orgDomain(d);
  const seen = new Set<string>();
  // Pushed, not spread from two `.map()`s (most records have no ruf): see txtValues.
  const uris: [('rua' | 'ruf'), ReportUri][] = [];
  for (const u of record.rua) uris.push(['rua', u]);
  for (const u of record.ruf) uris.push(['ruf', u]);
  for (const [tag, u] of uris) {
    if (!u.deliverable || !u.domain) continue;
    const dest = u.domain;
    if (orgDomain(dest) === ownOrg) {
      destinations.push({ tag, uri: u.uri, destination: dest, internal: true, authorizationName: null, status: 'not-needed' });
      continue;
    }
    const authName = reportAuthorizationName(d, dest);
    // A wildcard `*._report._dmarc.<dest>` answers this same query (DNS wildcard synthesis).
    const answer = await resolver.lookup(authName, 'TXT');
    let status: ReportDestinationCheck['status'];
    if (isTemporary(answer.status)) status = 'unknown';
    else status = txtValues(answer).some(looksLikeDmarc) ? 'authorised' : 'missing';
    destinations.push({ tag, uri: u.uri, destination: dest, internal: false, authorizationName: authName, status });
    if (seen.has(dest)) continue;
    seen.add(dest);
    if (status === 'missing') {
      tally.findings.push({
        code: 'dmarc.report-destination-unauthorised',
        severity: 'warning',
        subject: name,
        message: `${tag} sends reports to ${dest}, outside ${ownOrg}, and ${dest} has not said it accepts reports for ${d}; receivers will not send them there`,
        fix: `the operator of ${dest} must publish: ${authName}. IN TXT "v=DMARC1" (or *._report._dmarc.${dest}. IN TXT "v=DMARC1" for every domain)`,
        rfc: 'RFC 7489 §7.1',
      });
    } else if (status === 'unknown') {
      tally.dnsFailed = true;
      tally.findings.push({
        code: dnsFailureCode('dmarc', answer.status),
        severity: 'error',
        subject: authName,
        message: `could not read ${authName} (${describeAnswer(answer)}), so whether ${dest} accepts reports for ${d} is unknown`,
        fix: TEMPORARY_FAILURE_FIX,
        rfc: 'RFC 7489 §7.1',
      });
    }
  }
  return destinations;
}

/** What policy discovery says: a failure, or the policy the domain inherits (or that none governs it). */
function discoveryFindings(discovery: PolicyDiscovery, lookup: DmarcLookup, d: string, mode: DmarcMode, tally: FindingTally): void {
  const name = lookup.name;
  if (discovery.status === 'temperror' && !tally.dnsFailed) {
    tally.dnsFailed = true;
    const failed = discovery.lookups.find((l) => l.temporary);
    tally.findings.push({ code: dnsFailureCode('dmarc', failed?.status ?? 'error'), severity: 'error', subject: d, message: `policy discovery failed: ${discovery.reason}`, fix: TEMPORARY_FAILURE_FIX, rfc: RFC_FIND(mode) });
  }
  if (!lookup.temporary && lookup.dmarc.length === 0 && discovery.status !== 'temperror') {
    if (discovery.status === 'found' && discovery.foundAt !== d) {
      tally.findings.push({
        code: 'dmarc.inherited',
        severity: 'info',
        subject: name,
        message: `no record at ${name}; ${discovery.reason}: ${discovery.policy ?? 'no'} policy`,
        fix: `publish a record at ${name} only if ${d} needs a different policy`,
        rfc: RFC_FIND(mode),
      });
    } else {
      tally.findings.push({
        code: 'dmarc.no-record',
        severity: 'error',
        subject: name,
        message: `no DMARC record at ${name}${discovery.lookups.length > 1 ? ' nor at any parent domain asked' : ''}: receivers apply no policy and nobody gets reports`,
        fix: `publish ${name}. IN TXT "v=DMARC1; p=none; rua=mailto:dmarc@${d}" and tighten p once the reports look right`,
        rfc: mode === '7489' ? 'RFC 7489 §6.1' : 'RFC 9989 §4.5',
      });
    }
  }
}
