/**
 * Compare what one authoritative server publishes at one name and type with what the plan asks
 * for there. Pure: the answers come in, per-record states come out; the findings are made by
 * the caller once every server has been compared, so a record missing on one server and present
 * on the other reads as "not yet everywhere", not as two unrelated problems.
 */
import { formatIpv6, parseIpv6 } from '../ipv6.js';
import { mxValue, type DnsRecord, type MxValue, type RecordType, type TlsaValue } from '../records.js';
import { tlsaText } from '../dnssec/tlsa.js';
import type { DnsAnswer, DnsStatus } from '../dns/resolver.js';
import { isSpfRecord } from '../spf/parse.js';
import { isStsRecord } from '../mtasts/parse.js';
import { isTlsRptRecord } from '../tlsrpt/parse.js';

/** `delegated`: the server answered with a referral, the name lies in a zone delegated from the one it serves (RFC 1034 §4.2.1). */
type RecordState = 'match' | 'different' | 'missing' | 'unreachable' | 'delegated';

interface PublishedValue {
  value: string;
  ttl: number | null;
}

/**
 * What an authoritative server did with the SOA question of the zone (run.ts): `ok` (an
 * authoritative answer with the SOA), a failure of the answer (the DnsStatus ones; `notimp` and
 * `formerr` for those RCODEs), `not-authoritative` (the SOA without the AA bit: a cache or a
 * forwarder answered), `lame` (no AA and no SOA: a referral, RFC 1034 §4.3.1), `nxdomain` / `nodata`
 * (an authoritative NXDOMAIN, or no SOA, at the apex: the server does not hold the zone), or
 * `no-address` (the NS name has no address to ask).
 */
export type ServerStatus = DnsStatus | 'notimp' | 'formerr' | 'not-authoritative' | 'lame' | 'no-address';

/** One planned record as one server publishes it. */
export interface ServerView {
  server: string;
  /** The DNS answer for the record; for a server that did not serve the zone (state unreachable, not asked), that server's status. */
  status: ServerStatus;
  state: RecordState;
  /** The published value standing in for the planned one (different), or the planned value itself (match). */
  published?: PublishedValue;
  /** CNAMEs the server's answer went through. */
  cnameChain?: string[];
  /** State delegated: the zone cut the name lies below, whose servers serve it. */
  delegatedTo?: string;
}

/** A published record at a planned name that conflicts with the plan (a second SPF record, a stray MX). */
export interface ExtraRecord {
  server: string;
  name: string;
  type: RecordType;
  value: string;
  /** What it conflicts with, e.g. `spf`. */
  kind: string;
}

/** What kind of record a TXT value is, for pairing a changed value with its planned one. */
function txtKind(name: string, value: string, purpose?: string): string {
  if (purpose?.startsWith('dkim:') || /(^|\.)_domainkey\./.test(name)) return 'dkim';
  if (isSpfRecord(value)) return 'spf';
  if (/^v\s*=\s*DMARC1\s*(;|$)/i.test(value)) return name.includes('._report._dmarc.') ? 'dmarc-report-authorization' : 'dmarc';
  // MTA-STS, TLS-RPT and BIMI: one record each at their name; a second one makes receivers ignore both.
  if (isStsRecord(value) || purpose === 'mta-sts') return 'mta-sts';
  if (isTlsRptRecord(value) || purpose === 'tls-rpt') return 'tls-rpt';
  if (/^v=BIMI1[ \t]*(;|$)/.test(value) || purpose === 'bimi') return 'bimi';
  if (purpose === 'spf') return 'spf';
  if (purpose === 'dmarc' || purpose === 'dmarc-report-authorization') return purpose;
  // Verification tokens and the like: `key=value`, paired by key.
  const key = /^([A-Za-z0-9_.-]{1,64})[=:]/.exec(value);
  return key ? `txt:${key[1]!.toLowerCase()}` : 'txt';
}

/** Kinds of which a name may carry only one record: a second one is a conflict. */
const SINGLE_KINDS = new Set(['spf', 'dmarc', 'dkim', 'mta-sts', 'tls-rpt', 'bimi']);

export function publishedValues(type: RecordType, answer: DnsAnswer<unknown>): string[] {
  if (answer.status !== 'ok') return [];
  switch (type) {
    case 'TXT':
    case 'SPF':
      return (answer.records as string[][]).map((strings) => strings.join(''));
    case 'MX':
      return (answer.records as MxValue[]).map((m) => mxValue(m.priority, m.exchange));
    case 'TLSA':
      return (answer.records as TlsaValue[]).map(tlsaText);
    default:
      return (answer.records as unknown[]).map((r) => String(r));
  }
}

function normalizeForCompare(type: RecordType, value: string): string {
  if (type === 'MX' || type === 'NS' || type === 'CNAME' || type === 'PTR') return value.toLowerCase().replace(/\.$/, '').replace(/\s+/g, ' ');
  // The plan may write an address in any of its forms (2001:DB8:0::1, ::ffff:192.0.2.1); the resolver reports RFC 5952 text.
  if (type === 'AAAA') {
    const octets = parseIpv6(value.trim());
    if (octets) return formatIpv6(octets);
  }
  if (type === 'AAAA' || type === 'A' || type === 'TLSA') return value.toLowerCase().replace(/\s+/g, ' ');
  return value;
}

/**
 * Compare the planned records at one (name, type) with one server's answer. Returns one view per
 * planned record (same order) and the conflicting extras.
 */
export function compareAtServer(server: string, planned: readonly DnsRecord[], answer: DnsAnswer<unknown>): { views: ServerView[]; extras: ExtraRecord[] } {
  const type = planned[0]!.type;
  const name = planned[0]!.name;
  const base = { server, status: answer.status, ...(answer.cnameChain.length ? { cnameChain: answer.cnameChain } : {}) };
  if (answer.status !== 'ok' && answer.status !== 'nxdomain' && answer.status !== 'nodata') {
    return { views: planned.map(() => ({ ...base, state: 'unreachable' as const })), extras: [] };
  }
  const published = publishedValues(type, answer);
  const unmatched = published.map((v, i) => ({ v, i }));
  const take = (i: number): string => unmatched.splice(i, 1)[0]!.v;
  const views: (ServerView | null)[] = planned.map((rec) => {
    const at = unmatched.findIndex((p) => normalizeForCompare(type, p.v) === normalizeForCompare(type, rec.value));
    if (at < 0) return null;
    return { ...base, state: 'match', published: { value: take(at), ttl: answer.ttl } };
  });
  // Second pass: pair each unmatched planned record with a published one of the same kind.
  planned.forEach((rec, i) => {
    if (views[i]) return;
    let at = -1;
    if (type === 'TXT' || type === 'SPF') {
      const kind = txtKind(name, rec.value, rec.purpose);
      at = unmatched.findIndex((p) => txtKind(name, p.v) === kind);
    } else if (type === 'MX') {
      // Same host at another priority is a changed value, not a missing one.
      const host = rec.value.split(/\s+/)[1]?.toLowerCase();
      at = unmatched.findIndex((p) => p.v.split(/\s+/)[1]?.toLowerCase() === host);
    }
    views[i] = at < 0 ? { ...base, state: 'missing' } : { ...base, state: 'different', published: { value: take(at), ttl: answer.ttl } };
  });
  const extras: ExtraRecord[] = [];
  for (const { v } of unmatched) {
    if (type === 'MX') {
      extras.push({ server, name, type, value: v, kind: 'mx' });
      continue;
    }
    if (type !== 'TXT' && type !== 'SPF') continue;
    const kind = txtKind(name, v);
    const plannedKinds = new Set(planned.map((p) => txtKind(name, p.value, p.purpose)));
    if (SINGLE_KINDS.has(kind) && plannedKinds.has(kind)) extras.push({ server, name, type, value: v, kind });
  }
  return { views: views as ServerView[], extras };
}

/** A short description of how two strings differ: the common prefix, then both tails. */
export function describeDifference(planned: string, published: string, width = 60): string {
  let i = 0;
  while (i < planned.length && i < published.length && planned[i] === published[i]) i++;
  const from = Math.max(0, i - 12);
  const cut = (s: string): string => {
    const part = s.slice(from, from + width);
    return `${from > 0 ? '…' : ''}${part}${from + width < s.length ? '…' : ''}`;
  };
  if (published.length < planned.length && planned.startsWith(published)) {
    return `the published value is the planned one cut short after ${published.length} of ${planned.length} characters`;
  }
  if (planned.replace(/^"|"$/g, '') === published.replace(/^"|"$/g, '') || published === `"${planned}"`) {
    return 'the published value carries extra quote characters';
  }
  return `they differ from character ${i + 1}: planned "${cut(planned)}", published "${cut(published)}"`;
}
