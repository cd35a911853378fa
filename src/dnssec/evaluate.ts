/**
 * DNSSEC of a domain's zone and DANE for its MX hosts, as a validating resolver sees them:
 *
 * - signed: the zone apex publishes DNSKEY records (RFC 4033 §2), and the parent a DS that matches one
 *   of them (RFC 4035 §5.2). Keys and DS are asked with CD set (RFC 4035 §3.2.2), so a zone that fails
 *   validation still shows them.
 * - validated: the resolver sets AD on the zone's SOA and the domain's MX and TXT answers (RFC 6840
 *   §5.7, asked with DO); a SERVFAIL from it for a signed zone is a failed validation: bogus
 *   (RFC 4035 §5.5). A resolver that answers with AA is an authoritative server, not a validator.
 * - DANE: the TLSA records of each MX host at `_25._tcp.<host>` (RFC 7672 §2.2.3), which count only
 *   when validated, and only usages 2 and 3 (RFC 7672 §3.1).
 *
 * The resolvers come from the caller (the one --validating-resolver names, asked with DO, and once
 * more with CD too); nothing here is asked by a check that was not requested.
 */
import { createResolver, isNoRecord, isTemporary, type DnsAnswer, type Resolver, type ResolverChoice } from '../dns/resolver.js';
import { temporaryFinding } from '../dns/failure.js';
import { findZone } from '../dns/authoritative.js';
import type { Finding } from '../findings.js';
import type { DnskeyValue, DsValue, TlsaValue } from '../records.js';
import { algorithmName, composeDs, dsMatchesKey, dsText, isSecureEntryPoint, isZoneKey, keyTag, RETIRED_ALGORITHMS } from './keys.js';
import { tlsaName, tlsaText, unusableForSmtp } from './tlsa.js';

/** The resolver asked for AD (DO set), and the same resolver asked without validation (DO and CD set). */
export interface DnssecResolvers {
  validating: Resolver;
  unchecked: Resolver;
}

/** Both resolvers of the check on the servers `choice` names. */
export function createDnssecResolvers(choice: ResolverChoice): DnssecResolvers & { queriesSent(): number } {
  const validating = createResolver({ ...choice, dnssecOk: true });
  const unchecked = createResolver({ ...choice, dnssecOk: true, checkingDisabled: true });
  return { validating, unchecked, queriesSent: () => validating.queriesSent + unchecked.queriesSent };
}

/**
 * secure: AD on every answer; insecure: answered without AD (an unsigned zone, or no chain of trust
 * to it); bogus: the validator refused a signed zone's answers; indeterminate: the resolver does not
 * validate, or DNS failed.
 */
export type DnssecValidation = 'secure' | 'insecure' | 'bogus' | 'indeterminate';

interface DnskeyInfo {
  keyTag: number;
  algorithm: number;
  flags: number;
}

interface DsInfo {
  keyTag: number;
  algorithm: number;
  digestType: number;
  /** Whether it matches a DNSKEY of the zone; null when its digest type cannot be computed here. */
  matches: boolean | null;
}

/** secure / insecure / bogus: as DnssecValidation; none: no TLSA records; dns-error: could not be read. */
type TlsaState = 'secure' | 'insecure' | 'bogus' | 'none' | 'dns-error';

export interface TlsaHostResult {
  host: string;
  name: string;
  state: TlsaState;
  /** The records as published, `usage selector matching-type data`. */
  records: string[];
}

export interface DnssecAudit {
  /** The apex of the zone the domain is in; null when none was found. */
  zone: string | null;
  /** DNSKEY records at the apex; null when they could not be read. */
  signed: boolean | null;
  validation: DnssecValidation;
  /** The server that was asked for AD. */
  resolver: string | null;
  dnskeys: DnskeyInfo[];
  ds: DsInfo[];
  tlsa: TlsaHostResult[];
  findings: Finding[];
  dnsFailed: boolean;
}

/** The usable TLSA records of each MX host whose records validated: what STARTTLS is held to (src/starttls). */
export function usableTlsa(audit: Pick<DnssecCheck, 'tlsa' | 'tlsaValues'>): Map<string, TlsaValue[]> {
  const out = new Map<string, TlsaValue[]>();
  for (const t of audit.tlsa) {
    const usable = (audit.tlsaValues.get(t.host) ?? []).filter((r) => !unusableForSmtp(r));
    if (t.state === 'secure' && usable.length) out.set(t.host, usable);
  }
  return out;
}

const FIX_DNS = 'run again later, or name another validating resolver with --validating-resolver';

function dnsProblem(area: 'dnssec' | 'dane', subject: string, what: string, answer: Pick<DnsAnswer<unknown>, 'status' | 'detail'>): Finding {
  return { ...temporaryFinding(area, subject, what, answer), fix: FIX_DNS };
}

/** The apex of the zone `domain` is in (findZone, the rule verify uses), asked without validation. */
async function zoneOf(unchecked: Resolver, domain: string): Promise<{ zone: string | null; failure: Finding | null }> {
  const found = await findZone(unchecked, domain);
  if (found.zone || !isTemporary(found.status)) return { zone: found.zone, failure: null };
  return { zone: null, failure: dnsProblem('dnssec', domain, `the SOA record of ${found.at ?? domain} (to find the zone)`, { status: found.status, detail: found.detail }) };
}

interface ZoneKeys {
  dnskeys: DnskeyValue[];
  ds: DsValue[];
  findings: Finding[];
  failed: boolean;
}

async function zoneKeys(unchecked: Resolver, zone: string): Promise<ZoneKeys> {
  const [dnskey, ds] = await Promise.all([unchecked.lookup(zone, 'DNSKEY'), unchecked.lookup(zone, 'DS')]);
  const findings: Finding[] = [];
  if (isTemporary(dnskey.status)) findings.push(dnsProblem('dnssec', zone, `the DNSKEY records of ${zone}`, dnskey));
  if (isTemporary(ds.status)) findings.push(dnsProblem('dnssec', zone, `the DS records of ${zone} (in the parent zone)`, ds));
  return { dnskeys: dnskey.records, ds: ds.records, findings, failed: findings.length > 0 };
}

/** What the keys and the parent's DS say, before any validation: unsigned, no DS, no DS that matches, retired algorithms. */
function keyFindings(zone: string, keys: DnskeyValue[], ds: DsValue[], matches: (boolean | null)[]): Finding[] {
  const out: Finding[] = [];
  if (keys.length === 0) {
    if (ds.length) {
      out.push({ code: 'dnssec.ds-without-key', severity: 'error', subject: zone, message: `the parent publishes DS ${ds.map(dsText).join(', ')} but the zone has no DNSKEY: validating resolvers fail every name in it (SERVFAIL)`, fix: `sign the zone again with the key the DS names, or remove the DS at the registrar`, rfc: 'RFC 4035 §5.2' });
    } else {
      out.push({ code: 'dnssec.unsigned', severity: 'warning', subject: zone, message: 'the zone is not signed (no DNSKEY at its apex): answers cannot be validated, and DANE cannot be used for its MX hosts', fix: 'turn on DNSSEC signing at the DNS host (e.g. Knot: dnssec-signing: on), then publish the DS record it gives at the registrar', rfc: 'RFC 4033 §2' });
    }
    return out;
  }
  const sep = keys.filter((k) => isZoneKey(k) && isSecureEntryPoint(k));
  const candidates = sep.length ? sep : keys.filter(isZoneKey);
  if (ds.length === 0) {
    out.push({ code: 'dnssec.no-ds', severity: 'warning', subject: zone, message: `the zone is signed (DNSKEY ${keys.map((k) => `${keyTag(k)}/${algorithmName(k.algorithm)}`).join(', ')}) but the parent has no DS record for it: validators treat it as unsigned`, fix: `publish at the registrar: ${candidates.map((k) => composeDs(zone, k)).join('; ') || 'the DS of the zone\'s key-signing key'}`, rfc: 'RFC 4035 §5.2' });
  } else if (!matches.includes(true) && matches.includes(false)) {
    out.push({ code: 'dnssec.ds-mismatch', severity: 'error', subject: zone, message: `no DS record at the parent (${ds.map(dsText).join(', ')}) matches a DNSKEY of the zone (${keys.map((k) => keyTag(k)).join(', ')}): validating resolvers fail every name in it (SERVFAIL)`, fix: `replace the DS at the registrar with ${candidates.map((k) => composeDs(zone, k)).join('; ')}`, rfc: 'RFC 4035 §5.2' });
  } else {
    ds.forEach((d, i) => {
      if (matches[i] === false) out.push({ code: 'dnssec.ds-stale', severity: 'warning', subject: zone, message: `the DS ${dsText(d)} matches no DNSKEY of the zone (another DS does): a left-over of a key rollover`, fix: 'remove that DS at the registrar', rfc: 'RFC 6781 §4.1.2' });
    });
  }
  if (ds.length && ds.every((d) => d.digestType === 1)) out.push({ code: 'dnssec.ds-sha1', severity: 'warning', subject: zone, message: 'every DS of the zone uses the SHA-1 digest, which validators are dropping', fix: `publish the SHA-256 DS as well: ${candidates.map((k) => composeDs(zone, k)).join('; ')}`, rfc: 'RFC 8624 §3.3' });
  for (const algorithm of new Set(keys.map((k) => k.algorithm))) {
    if (RETIRED_ALGORITHMS.has(algorithm)) out.push({ code: 'dnssec.algorithm-retired', severity: 'warning', subject: zone, message: `the zone is signed with ${algorithmName(algorithm)} (algorithm ${algorithm}), which must not or should no longer be used: validators may treat the zone as unsigned`, fix: 'roll the keys over to ECDSAP256SHA256 (13) or ED25519 (15)', rfc: 'RFC 8624 §3.1' });
  }
  return out;
}

interface Validation {
  validation: DnssecValidation;
  resolver: string | null;
  findings: Finding[];
  failed: boolean;
}

/** What the validating resolver says about the zone's SOA and the domain's MX and TXT. */
async function validate(resolvers: DnssecResolvers, domain: string, zone: string, signed: boolean, chained: boolean): Promise<Validation> {
  const asked = await Promise.all([resolvers.validating.lookup(zone, 'SOA'), resolvers.validating.lookup(domain, 'MX'), resolvers.validating.lookup(domain, 'TXT')]);
  const resolver = asked.find((a) => a.server)?.server ?? null;
  const via = resolver ? ` (${resolver})` : '';
  const refused = asked.filter((a) => a.status === 'servfail');
  if (signed && refused.length) {
    return {
      validation: 'bogus',
      resolver,
      failed: false,
      findings: [{ code: 'dnssec.bogus', severity: 'error', subject: zone, message: `the validating resolver${via} refuses the zone's answers (SERVFAIL for ${refused.map((a) => `${a.name} ${a.type}`).join(', ')}) while they come without validation: the signatures do not validate (expired, or made with a key the DS does not lead to), so resolvers that validate cannot reach the domain at all`, fix: 'check the signer (are the RRSIGs current, is the key the DS names still in the DNSKEY set?) and the DS at the registrar', rfc: 'RFC 4035 §5.5' }],
    };
  }
  const failed = asked.filter((a) => isTemporary(a.status));
  if (failed.length) return { validation: 'indeterminate', resolver, failed: true, findings: failed.map((a) => dnsProblem('dnssec', zone, `${a.name} ${a.type} from the validating resolver`, a)) };
  if (asked.some((a) => a.authoritative)) {
    return { validation: 'indeterminate', resolver, failed: false, findings: [{ code: 'dnssec.resolver-not-validating', severity: 'warning', subject: zone, message: `${resolver ?? 'the server asked'} answers as an authoritative server (AA), not as a validating resolver, so it says nothing about validation`, fix: 'name a validating resolver with --validating-resolver HOST[:PORT] (e.g. a local Unbound)', rfc: 'RFC 6840 §5.7' }] };
  }
  // An NXDOMAIN or NODATA answer carries AD too when its denial validated (RFC 4035 §3.2.3).
  const unvalidated = asked.filter((a) => !a.authenticData && (a.status === 'ok' || isNoRecord(a.status)));
  if (unvalidated.length === 0) {
    return { validation: 'secure', resolver, failed: false, findings: [{ code: 'dnssec.secure', severity: 'info', subject: zone, message: `the zone is signed, the parent's DS leads to its key, and the validating resolver${via} sets AD on its answers`, rfc: 'RFC 4035 §3.2.3' }] };
  }
  if (!signed || !chained) return { validation: 'insecure', resolver, failed: false, findings: [] };
  return {
    validation: 'insecure',
    resolver,
    failed: false,
    findings: [{ code: 'dnssec.not-validated', severity: 'warning', subject: zone, message: `the zone is signed and the parent's DS matches its key, but the resolver${via} does not set AD on ${unvalidated.map((a) => `${a.name} ${a.type}`).join(', ')}: it does not validate, or the chain of trust above the parent is broken`, fix: 'name a validating resolver with --validating-resolver HOST[:PORT]; if it does validate, check the DS of the parent zone in its own parent', rfc: 'RFC 6840 §5.7' }],
  };
}

interface HostTlsa {
  result: TlsaHostResult;
  values: TlsaValue[];
  findings: Finding[];
  failed: boolean;
}

/** The TLSA records of one MX host, validated; a SERVFAIL is bogus when the records come without validation. */
async function hostTlsa(resolvers: DnssecResolvers, host: string, mxSecure: boolean): Promise<HostTlsa> {
  const name = tlsaName(host);
  const answer = await resolvers.validating.lookup(name, 'TLSA');
  const base = { host, name };
  if (isNoRecord(answer.status)) return { result: { ...base, state: 'none', records: [] }, values: [], findings: [], failed: false };
  if (answer.status === 'servfail') {
    const unchecked = await resolvers.unchecked.lookup(name, 'TLSA');
    if (unchecked.status === 'ok') {
      const records = unchecked.records.map(tlsaText);
      return {
        result: { ...base, state: 'bogus', records },
        values: unchecked.records,
        failed: false,
        findings: [{ code: 'dane.tlsa-bogus', severity: 'error', subject: name, message: `the TLSA records (${records.join(', ')}) fail validation (SERVFAIL from the validating resolver): senders that do DANE hold mail for ${host} until they validate`, fix: 'fix the signatures of the zone that holds them (see the dnssec findings)', rfc: 'RFC 7672 §2.2' }],
      };
    }
  }
  if (isTemporary(answer.status)) return { result: { ...base, state: 'dns-error', records: [] }, values: [], findings: [dnsProblem('dane', name, `the TLSA records of ${host}`, answer)], failed: true };
  const records = answer.records.map(tlsaText);
  if (!answer.authenticData) {
    return {
      result: { ...base, state: 'insecure', records },
      values: answer.records,
      failed: false,
      findings: [{ code: 'dane.tlsa-insecure', severity: 'warning', subject: name, message: `TLSA records are published (${records.join(', ')}) but do not validate (no AD): the zone of ${host} is not signed, or has no chain of trust, so senders ignore them`, fix: `sign the zone of ${host} and publish its DS, or remove the TLSA records`, rfc: 'RFC 7672 §2.2' }],
    };
  }
  const findings: Finding[] = [];
  const problems = answer.records.map(unusableForSmtp);
  answer.records.forEach((r, i) => {
    const problem = problems[i];
    if (problem) findings.push({ code: r.usage === 0 || r.usage === 1 ? 'dane.tlsa-usage' : 'dane.tlsa-invalid', severity: 'warning', subject: name, message: `the TLSA record ${tlsaText(r)} is of no use to SMTP: ${problem}`, fix: 'publish a "3 1 1" record: the SHA-256 of the server key\'s SubjectPublicKeyInfo', rfc: r.usage === 0 || r.usage === 1 ? 'RFC 7672 §3.1.3' : 'RFC 6698 §2.1' });
  });
  if (problems.every((p) => p !== null)) {
    findings.push({ code: 'dane.tlsa-unusable', severity: 'error', subject: name, message: `none of the TLSA records of ${host} can be used: senders that do DANE still require TLS from it, without authenticating it`, fix: 'publish a "3 1 1" record: the SHA-256 of the server key\'s SubjectPublicKeyInfo', rfc: 'RFC 7672 §2.2' });
  } else if (!mxSecure) {
    findings.push({ code: 'dane.mx-insecure', severity: 'warning', subject: name, message: `the TLSA records of ${host} validate, but the domain's MX records do not: senders apply DANE only to MX hosts they reached through a validated MX record set`, fix: 'sign the domain\'s zone and publish its DS at the parent', rfc: 'RFC 7672 §2.2.1' });
  } else {
    const usable = problems.filter((p) => p === null).length;
    findings.push({ code: 'dane.published', severity: 'info', subject: name, message: `${usable} usable TLSA record${usable > 1 ? 's' : ''} (${records.join(', ')}), validated: senders that do DANE require STARTTLS with a certificate that matches (check it with --tls)`, rfc: 'RFC 7672 §2.2' });
  }
  return { result: { ...base, state: 'secure', records }, values: answer.records, findings, failed: false };
}

/** An audit with the TLSA records of each MX host as values, for the STARTTLS check to match. */
export type DnssecCheck = DnssecAudit & { tlsaValues: Map<string, TlsaValue[]> };

/** The DNSSEC check of a domain. */
export async function auditDnssec(resolvers: DnssecResolvers, domain: string): Promise<DnssecCheck> {
  const empty = { dnskeys: [], ds: [], tlsa: [], tlsaValues: new Map<string, TlsaValue[]>() };
  const found = await zoneOf(resolvers.unchecked, domain);
  if (!found.zone) {
    const findings = found.failure ? [found.failure] : [{ code: 'dnssec.no-zone', severity: 'error' as const, subject: domain, message: 'no zone with an SOA record was found at or above the domain', fix: 'check that the domain is delegated and its servers answer' }];
    return { zone: null, signed: null, validation: 'indeterminate', resolver: null, ...empty, findings, dnsFailed: found.failure !== null };
  }
  const zone = found.zone;
  const keys = await zoneKeys(resolvers.unchecked, zone);
  const matches = keys.ds.map((d) => {
    const results = keys.dnskeys.map((k) => dsMatchesKey(zone, d, k));
    return results.includes(true) ? true : results.includes(null) ? null : false;
  });
  const signed = keys.failed ? null : keys.dnskeys.length > 0;
  const findings = [...keys.findings, ...(keys.failed ? [] : keyFindings(zone, keys.dnskeys, keys.ds, matches))];
  const checked = keys.failed ? null : await validate(resolvers, domain, zone, signed === true, matches.includes(true));
  if (checked) findings.push(...checked.findings);
  const mx = await resolvers.validating.lookup(domain, 'MX');
  // In order of preference, so the report reads the same whatever order the RRset came in.
  const byPreference = [...mx.records].sort((a, b) => a.priority - b.priority || a.exchange.localeCompare(b.exchange));
  const hosts = [...new Set(byPreference.map((m) => m.exchange).filter(Boolean))];
  const perHost = await Promise.all(hosts.map((h) => hostTlsa(resolvers, h, mx.authenticData === true)));
  for (const h of perHost) findings.push(...h.findings);
  if (checked?.validation === 'secure' && hosts.length && perHost.every((h) => h.result.state === 'none')) {
    findings.push({ code: 'dane.none', severity: 'info', subject: domain, message: `the zone validates but no MX host publishes TLSA records (${hosts.map((h) => tlsaName(h)).join(', ')}): senders cannot insist on authenticated TLS`, fix: `publish "${tlsaName(hosts[0]!)}. TLSA 3 1 1 <SHA-256 of the server key's SubjectPublicKeyInfo>" in the (signed) zone of each MX host`, rfc: 'RFC 7672 §3.1.1' });
  }
  return {
    zone,
    signed,
    validation: checked?.validation ?? 'indeterminate',
    resolver: checked?.resolver ?? null,
    dnskeys: keys.dnskeys.map((k) => ({ keyTag: keyTag(k), algorithm: k.algorithm, flags: k.flags })),
    ds: keys.ds.map((d, i) => ({ keyTag: d.keyTag, algorithm: d.algorithm, digestType: d.digestType, matches: matches[i] ?? null })),
    tlsa: perHost.map((h) => h.result),
    tlsaValues: new Map(perHost.map((h) => [h.result.host, h.values])),
    findings,
    dnsFailed: keys.failed || (checked?.failed ?? false) || perHost.some((h) => h.failed),
  };
}
