/**
 * DNS data without a server: a Resolver (src/dns/resolver.ts) that answers from records in memory,
 * for tests that need what is published and not how it travels. It takes the same options as the
 * embedded server (src/dns/server.ts startServer) and gives the answers a DnsResolver gets from that
 * server without recursion (test/unit/helpers/memory-resolver.test.ts compares the two):
 *
 * - names compared case-insensitively, trailing dot ignored; the answer's name is the normal form;
 * - NXDOMAIN for a name that does not exist, NODATA for one that does (an empty non-terminal too);
 * - wildcards (RFC 4592), a synthesized SOA and NS at each apex that lacks them;
 * - CNAME chains followed within a zone and into other zones, up to 8 hops; the status is about the
 *   end of the chain (RFC 6604), the targets are in cnameChain;
 * - REFUSED outside every zone; `silent` names time out at once (no deadline to wait for or race),
 *   `servfail` names fail, a name too long for a query is an error: all temporary, never "no record";
 * - AD clear on every answer (the embedded server does not sign), and absent from failures;
 * - TXT as the character-strings on the wire (`strings`, or the value split at 255 octets),
 *   AAAA in RFC 5952 form, MX/NS/CNAME/SOA names in normal form.
 *
 * One known difference: an IPv4-mapped AAAA (::ffff:192.0.2.1) comes back as ::ffff:c000:201 here,
 * while the embedded server sends a malformed answer for it (dns2's encoder does not read the dotted
 * quad: dig gives up, DnsResolver reads "::ffff:192").
 */
import { isIPv4 } from 'node:net';
import type { DnsAnswer, DnsStatus, RDataMap, Resolver, RRType } from '../../src/dns/resolver.js';
import { formatIpv6 } from '../../src/ipv6.js';
import { isAtOrBelow, normalizeName } from '../../src/names.js';
import { parseMxValue, parseSoaValue, parseTlsaValue, type DnsRecord } from '../../src/records.js';
import { parseIp } from '../../src/spf/ip.js';
import { splitCharacterStrings } from '../../src/txt.js';

export interface MemoryZoneOptions {
  records: readonly DnsRecord[];
  /** Apex names served, as for startServer; `''` serves every name. */
  zones: readonly string[];
  /** Names whose queries are never answered: each lookup is a timeout, at once. */
  silent?: readonly string[];
  /** Names answered with SERVFAIL. */
  servfail?: readonly string[];
}

/** What the resolver shows as the server that answered. */
export const MEMORY_SERVER = 'memory';

const MAX_CNAME_HOPS = 8;

/** The loop or the overlong chain in `chain` (the names `name` led to), cut where DnsResolver cuts it. */
function chainProblem(name: string, chain: readonly string[]): { detail: string; chain: string[] } | null {
  const path = [name];
  for (const target of chain) {
    const looped = path.includes(target);
    path.push(target);
    if (looped) return { detail: `CNAME loop: ${path.join(' -> ')}`, chain: path.slice(1) };
  }
  return chain.length > MAX_CNAME_HOPS ? { detail: `CNAME chain longer than ${MAX_CNAME_HOPS}: ${path.join(' -> ')}`, chain: [...chain] } : null;
}
const SYNTH_TTL = 3600;

interface Zone {
  apex: string;
  byName: Map<string, DnsRecord[]>;
  /** Every name that exists, empty non-terminals included. */
  existing: Set<string>;
}

/** One authoritative response, already read: the CNAMEs it chased inside its zone and the records at the end. */
interface Response {
  status: DnsStatus;
  authoritative: boolean;
  chain: string[];
  records: DnsRecord[];
  detail?: string;
}

/** Why a name cannot be put in a query at all, in the words of the codec DnsResolver sends with (dns2). */
function unencodable(name: string): string | null {
  let octets = 1;
  for (const label of name.split('.').filter(Boolean)) {
    if (label.length > 63) return `Name encode: label "${label}" is ${label.length} octets (max 63)`;
    octets += label.length + 1;
  }
  return octets > 255 ? `Name encode: name "${name}" encodes to ${octets} octets (max 255)` : null;
}

function parentOf(name: string): string | null {
  const dot = name.indexOf('.');
  return dot < 0 ? null : name.slice(dot + 1);
}

function ipv6Text(value: string): string {
  const ip = parseIp(value);
  if (!ip) throw new Error(`AAAA ${value} is not an IPv6 address`);
  if (ip.family === 6) return formatIpv6(ip.bytes);
  // An IPv4-mapped address (parseIp reports those as IPv4): the wire still carries 16 octets.
  return formatIpv6(Uint8Array.from([...Array<number>(10).fill(0), 0xff, 0xff, ...ip.bytes]));
}

function rdata(rec: DnsRecord): unknown {
  switch (rec.type) {
    case 'A':
      if (!isIPv4(rec.value)) throw new Error(`A ${rec.value} is not an IPv4 address`);
      return rec.value;
    case 'AAAA':
      return ipv6Text(rec.value);
    case 'CNAME':
    case 'PTR':
    case 'NS':
      return normalizeName(rec.value);
    case 'MX': {
      const mx = parseMxValue(rec.value);
      return { priority: mx.priority, exchange: normalizeName(mx.exchange) };
    }
    case 'SOA': {
      const soa = parseSoaValue(rec.value);
      return { ...soa, mname: normalizeName(soa.mname), rname: normalizeName(soa.rname) };
    }
    case 'TXT':
    case 'SPF':
      return rec.strings ? [...rec.strings] : splitCharacterStrings(rec.value).map((b) => b.toString('utf8'));
    case 'TLSA':
      return parseTlsaValue(rec.value);
  }
}

export class MemoryResolver implements Resolver {
  /** Every lookup, as `name TYPE` with the name as the caller wrote it, in order. */
  readonly asked: string[] = [];
  /** Queries a DnsResolver would have sent for those lookups (following a chain into another zone is one more). */
  queriesSent = 0;
  private readonly zones: Zone[];
  private readonly silent: Set<string>;
  private readonly servfail: Set<string>;

  constructor(opts: MemoryZoneOptions) {
    this.zones = opts.zones.map((apex) => ({ apex: normalizeName(apex), byName: new Map(), existing: new Set() }));
    // The most specific zone first, so a record and a question land in the zone closest to them.
    this.zones.sort((a, b) => b.apex.length - a.apex.length);
    for (const rec of opts.records) {
      const name = normalizeName(rec.name);
      const zone = this.zoneOf(name);
      if (!zone) continue; // not served, as on the embedded server
      const list = zone.byName.get(name) ?? [];
      list.push({ ...rec, name });
      zone.byName.set(name, list);
    }
    for (const zone of this.zones) {
      if (zone.apex !== '') {
        const at = zone.byName.get(zone.apex) ?? [];
        if (!at.some((r) => r.type === 'NS')) at.push({ name: zone.apex, type: 'NS', ttl: SYNTH_TTL, value: `ns.${zone.apex}` });
        if (!at.some((r) => r.type === 'SOA')) at.push({ name: zone.apex, type: 'SOA', ttl: SYNTH_TTL, value: `ns.${zone.apex} hostmaster.${zone.apex} 1 3600 600 604800 300` });
        zone.byName.set(zone.apex, at);
      }
      for (const name of zone.byName.keys()) {
        for (let n: string | null = name; n !== null; n = n === zone.apex ? null : parentOf(n)) zone.existing.add(n);
      }
    }
    this.silent = new Set((opts.silent ?? []).map(normalizeName));
    this.servfail = new Set((opts.servfail ?? []).map(normalizeName));
  }

  async lookup<T extends RRType>(name: string, type: T): Promise<DnsAnswer<RDataMap[T]>> {
    this.asked.push(`${name} ${type}`);
    const asked = normalizeName(name);
    // As a resolver that asks authoritative servers: a chain that leaves a zone is asked on in the next.
    const chain: string[] = [];
    let current = asked;
    for (;;) {
      const r = this.respond(current, type);
      chain.push(...r.chain);
      // A chain that comes back to a name, or runs past MAX_CNAME_HOPS, fails as DnsResolver fails it (RFC 1034 §3.6.2).
      const problem = chainProblem(asked, chain);
      if (problem) return this.answer(asked, type, { status: 'error', authoritative: r.authoritative, chain: problem.chain, records: [] }, problem.detail);
      const target = chain.at(-1);
      if (r.status === 'nodata' && type !== 'CNAME' && target && target !== current && r.records.length === 0) {
        current = target;
        continue;
      }
      return this.answer(asked, type, { ...r, chain }, r.detail);
    }
  }

  private answer<T extends RRType>(name: string, type: T, r: Response, detail: string | undefined): DnsAnswer<RDataMap[T]> {
    const ttl = r.records.length ? Math.min(...r.records.map((x) => x.ttl)) : null;
    const answer: DnsAnswer<RDataMap[T]> = {
      name,
      type,
      status: r.status,
      records: r.records.map((x) => rdata(x) as RDataMap[T]),
      ttl,
      authoritative: r.authoritative,
      server: MEMORY_SERVER,
      cnameChain: r.chain,
    };
    // A server's answer carries its AD flag, which a server without DNSSEC never sets; failures carry none.
    if (r.status === 'ok' || r.status === 'nodata' || r.status === 'nxdomain') answer.authenticData = false;
    if (detail !== undefined) answer.detail = detail;
    return answer;
  }

  private zoneOf(name: string): Zone | undefined {
    return this.zones.find((z) => isAtOrBelow(name, z.apex));
  }

  /** What the server of `qname`'s zone answers: it chases CNAMEs inside its own zone only. */
  private respond(qname: string, type: RRType): Response {
    this.queriesSent++;
    const failed = (status: DnsStatus, detail?: string): Response => ({ status, authoritative: false, chain: [], records: [], ...(detail ? { detail } : {}) });
    const problem = unencodable(qname);
    if (problem) return failed('error', problem);
    if (this.silent.has(qname)) return failed('timeout', `no answer from ${MEMORY_SERVER} for ${qname} ${type}`);
    if (this.servfail.has(qname)) return failed('servfail');
    const zone = this.zoneOf(qname);
    if (!zone) return failed('refused');
    const chain: string[] = [];
    let owner = qname;
    for (let hop = 0; hop < MAX_CNAME_HOPS; hop++) {
      const found = this.recordsAt(zone, owner);
      // Past a CNAME the chain simply ends here; the resolver asks the target and learns NXDOMAIN.
      if (found === null) return { status: hop === 0 ? 'nxdomain' : 'nodata', authoritative: true, chain, records: [] };
      const matching = found.filter((r) => r.type === type);
      if (matching.length) return { status: 'ok', authoritative: true, chain, records: matching };
      const cname = found.find((r) => r.type === 'CNAME');
      if (!cname || type === 'CNAME') break;
      owner = normalizeName(cname.value);
      chain.push(owner);
      if (!isAtOrBelow(owner, zone.apex)) break;
    }
    return { status: 'nodata', authoritative: true, chain, records: [] };
  }

  /** Records at a name (wildcard-expanded), [] for an empty non-terminal, null when the name does not exist. */
  private recordsAt(zone: Zone, name: string): DnsRecord[] | null {
    const direct = zone.byName.get(name);
    if (direct) return direct;
    if (zone.existing.has(name)) return [];
    // RFC 4592: the wildcard of the closest encloser answers for a name that does not exist.
    for (let encloser = parentOf(name); encloser !== null; encloser = parentOf(encloser)) {
      if (zone.existing.has(encloser) || encloser === zone.apex) return zone.byName.get(`*.${encloser}`) ?? null;
    }
    return null;
  }
}
