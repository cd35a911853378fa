/**
 * The name servers of a zone against the plan's `nameservers`: the NS RRset every authoritative
 * server publishes at the apex, the address records of in-zone name servers, and the NS set the
 * main resolver handed to discovery. Only for a domain that is its own zone; a domain inside a
 * parent zone gets one note instead.
 *
 * What the parent zone delegates is not read here: a parent server answers an NS question for a
 * child with a referral (the NS set in the authority section), and the Resolver hands back only
 * the answer section. The main resolver's answer is what can be compared, and it is named as such.
 */
import { isIPv6 } from 'node:net';
import { formatIpv6, parseIpv6 } from '../ipv6.js';
import { describeAnswer, dnsFailureCode, isTemporary, type DnsAnswer, type Resolver } from '../dns/resolver.js';
import type { Finding, Severity } from '../findings.js';
import { isAtOrBelow, normalizeName } from '../names.js';
import type { DomainPlan } from '../plan/types.js';
import type { DnsRecord, RecordType } from '../records.js';
import { compareAtServer, publishedValues, type ServerStatus, type ServerView } from './compare.js';
import type { RecordReport } from './run.js';

/** One authoritative server as the delegation check sees it. */
interface DelegationServer {
  name: string;
  resolver: Resolver;
  /** Answered the SOA question; the others are skipped (their own finding says why). */
  answered: boolean;
  /** What the server did with the SOA question; the status of a skipped server's records. */
  status: ServerStatus;
}

interface DelegationInput {
  plan: DomainPlan;
  /** The zone found for the domain. */
  zone: string;
  servers: readonly DelegationServer[];
  /** NS hosts discovery read from the main resolver; null when the servers were given with --authoritative. */
  discovered: readonly string[] | null;
}

interface DelegationResult {
  records: RecordReport[];
  findings: Finding[];
}

/** The NS records at the top of a zone, and the addresses of servers inside it. */
const RFC_ZONE_TOP = 'RFC 1034 §4.2.1';
/** Both sides of a zone cut must agree. */
const RFC_CUT = 'RFC 1034 §4.2.2';

/** An address in the form the resolver reports it (RFC 5952 for IPv6), so text forms compare equal. */
function canonicalAddress(address: string): string {
  if (!isIPv6(address)) return address;
  const octets = parseIpv6(address);
  return octets ? formatIpv6(octets) : address.toLowerCase();
}

/** "a, b and c" */
function listing(items: readonly string[]): string {
  if (items.length <= 1) return items.join('');
  return `${items.slice(0, -1).join(', ')} and ${items.at(-1)}`;
}

function setText(hosts: readonly string[]): string {
  return hosts.length ? `{${[...hosts].sort().join(', ')}}` : '{} (none)';
}

/** What the given servers publish instead: one set for all, or each server's own. */
function publishedThere(sets: readonly { server: string; values: string[] }[]): string {
  const texts = [...new Set(sets.map((s) => setText(s.values)))];
  if (texts.length === 1) return `published there: ${texts[0]}`;
  return sets.map((s) => `${s.server}: ${setText(s.values)}`).join('; ');
}

/** Where something holds: "every server" when it holds on all that were reached, else the names. */
function where(servers: readonly string[], reached: number): string {
  return servers.length === reached && reached > 1 ? `every server (${reached})` : listing(servers);
}

/** The note for a domain that lists name servers but lives inside a parent zone. */
export function notApexFinding(domain: string, zone: string): Finding {
  return {
    code: 'verify.ns-not-apex',
    severity: 'info',
    subject: domain,
    message: `the plan lists name servers for ${domain}, but ${domain} is not a zone apex (its records are served in the zone ${zone}), so its name servers are not compared; if ${domain} should be a zone of its own, its delegation is missing`,
    fix: `delegate ${domain} to the planned servers (NS records in ${zone} and a zone for ${domain} on those servers), or remove "nameservers" from this domain in the plan`,
    rfc: RFC_CUT,
  };
}

interface Asked {
  server: DelegationServer;
  answer: DnsAnswer<unknown> | null;
}

async function askAll(servers: readonly DelegationServer[], name: string, type: 'NS' | 'A' | 'AAAA'): Promise<Asked[]> {
  return Promise.all(servers.map(async (server) => ({ server, answer: server.answered ? await server.resolver.lookup(name, type) : null })));
}

/** Per-record server views for the planned records at one name and type, in planned order. */
function views(planned: readonly DnsRecord[], asked: readonly Asked[]): ServerView[][] {
  const per: ServerView[][] = planned.map(() => []);
  for (const { server, answer } of asked) {
    if (!answer) {
      planned.forEach((_, j) => per[j]!.push({ server: server.name, status: server.status, state: 'unreachable' }));
      continue;
    }
    compareAtServer(server.name, planned, answer).views.forEach((v, j) => per[j]!.push(v));
  }
  return per;
}

/** The published set (normalized) of each server that gave a usable answer. */
function publishedSets(type: RecordType, asked: readonly Asked[]): { server: string; values: string[] }[] {
  return asked
    .filter((a): a is Asked & { answer: DnsAnswer<unknown> } => a.answer !== null && !isTemporary(a.answer.status))
    .map(({ server, answer }) => ({
      server: server.name,
      values: [...new Set(publishedValues(type, answer).map((v) => (type === 'NS' ? normalizeName(v) : canonicalAddress(v))))],
    }));
}

function noAnswerFindings(subject: string, asked: readonly Asked[]): Finding[] {
  return asked
    .filter((a) => a.answer !== null && isTemporary(a.answer.status))
    .map(({ server, answer }) => ({
      code: dnsFailureCode('verify', answer!.status, 'verify.no-answer'),
      severity: 'error' as Severity,
      subject,
      message: `${server.name} gave no usable answer: ${describeAnswer(answer!)}; it could not be compared there`,
      fix: 'run again; if it persists, check that server',
    }));
}

function ttlFinding(subject: string, reports: readonly RecordReport[], planned: number): Finding[] {
  const ttls = [
    ...new Set(reports.flatMap((r) => r.servers.filter((v) => v.state === 'match').map((v) => v.published?.ttl)).filter((t): t is number => typeof t === 'number' && t !== planned)),
  ];
  if (!ttls.length) return [];
  return [{ code: 'verify.ttl-differs', severity: 'info', subject, message: `published with TTL ${ttls.join(' / ')}, the plan says ${planned}`, fix: `set the TTL to ${planned} at the DNS host, or change "ttl" in the plan` }];
}

/** The NS RRset at the apex on each server against the planned hosts. */
async function compareNsSet(input: DelegationInput, planned: readonly string[]): Promise<DelegationResult> {
  const { zone, plan } = input;
  const subject = `${zone} NS`;
  const asked = await askAll(input.servers, zone, 'NS');
  const records: DnsRecord[] = planned.map((host) => ({ name: zone, type: 'NS', ttl: plan.ttl, value: host, purpose: 'ns' }));
  const perRecord = views(records, asked);
  const reports: RecordReport[] = records.map((rec, j) => ({ name: zone, type: 'NS', purpose: 'ns', planned: { value: rec.value, ttl: rec.ttl }, servers: perRecord[j]! }));
  const findings = noAnswerFindings(subject, asked);
  const sets = publishedSets('NS', asked);
  if (!sets.length) return { records: reports, findings };

  for (const host of planned) {
    const lacking = sets.filter((s) => !s.values.includes(host)).map((s) => s.server);
    if (!lacking.length) continue;
    const having = sets.filter((s) => s.values.includes(host)).map((s) => s.server);
    findings.push({
      code: 'verify.ns-missing',
      severity: 'error',
      subject,
      message: `the planned name server ${host} is missing from the NS records on ${where(lacking, sets.length)} (${publishedThere(sets.filter((s) => lacking.includes(s.server)))})${having.length ? `; as planned on ${listing(having)}` : ''}`,
      fix: `add "${zone}. NS ${host}." to the zone (and to the delegation at the registrar), or remove ${host} from "nameservers" in the plan`,
      rfc: RFC_ZONE_TOP,
    });
  }
  const extra = new Map<string, string[]>();
  for (const s of sets) for (const host of s.values.filter((h) => !planned.includes(h))) extra.set(host, [...(extra.get(host) ?? []), s.server]);
  for (const [host, servers] of extra) {
    findings.push({
      code: 'verify.ns-extra',
      severity: 'warning',
      subject,
      message: `${where(servers, sets.length)} ${servers.length === 1 ? 'publishes' : 'publish'} ${host} as a name server of ${zone}; the plan does not list it`,
      fix: `if ${host} is retired, remove its NS record (and the delegation at the registrar); otherwise add it to "nameservers" in the plan`,
      rfc: RFC_ZONE_TOP,
    });
  }
  findings.push(...ttlFinding(`${subject} (ns)`, reports, plan.ttl));

  // The NS set discovery was handed by the main resolver, against what the servers publish.
  if (input.discovered) {
    const seen = [...new Set(input.discovered.map(normalizeName))].sort();
    const differing = sets.filter((s) => s.values.length !== seen.length || s.values.some((h) => !seen.includes(h)));
    if (differing.length) {
      findings.push({
        code: 'verify.ns-resolver-differs',
        severity: 'warning',
        subject,
        message: `the main resolver answers NS ${setText(seen)} for ${zone} (the set discovery used), but ${differing.map((s) => `${s.server} publishes ${setText(s.values)}`).join('; ')}`,
        fix: 'make the delegation at the registrar (the parent zone) list the same name servers as the zone itself; a resolver that cached the old set follows after the NS TTL',
        rfc: RFC_CUT,
      });
    }
  }
  return { records: reports, findings };
}

/** The A/AAAA records of one in-zone name server against its planned addresses. */
async function compareAddresses(input: DelegationInput, host: string, addresses: readonly string[]): Promise<DelegationResult> {
  const out: DelegationResult = { records: [], findings: [] };
  for (const type of ['A', 'AAAA'] as const) {
    const wanted = [...new Set(addresses.filter((a) => isIPv6(a) === (type === 'AAAA')).map(canonicalAddress))];
    const subject = `${host} ${type}`;
    const asked = await askAll(input.servers, host, type);
    out.findings.push(...noAnswerFindings(subject, asked));
    const sets = publishedSets(type, asked);
    if (wanted.length) {
      const records: DnsRecord[] = wanted.map((a) => ({ name: host, type, ttl: input.plan.ttl, value: a, purpose: 'ns-address' }));
      const perRecord = views(records, asked);
      const reports = records.map((rec, j): RecordReport => ({ name: host, type, purpose: 'ns-address', planned: { value: rec.value, ttl: rec.ttl }, servers: perRecord[j]! }));
      out.records.push(...reports);
      out.findings.push(...ttlFinding(`${subject} (ns-address)`, reports, input.plan.ttl));
      for (const address of wanted) {
        const lacking = sets.filter((s) => !s.values.includes(address));
        if (!lacking.length) continue;
        const having = sets.filter((s) => s.values.includes(address)).map((s) => s.server);
        out.findings.push({
          code: 'verify.ns-address-missing',
          severity: 'error',
          subject,
          message: `the name server ${host} lies inside the zone, and the planned address ${address} is not published for it on ${where(lacking.map((s) => s.server), sets.length)} (${publishedThere(lacking)})${having.length ? `; as planned on ${listing(having)}` : ''}`,
          fix: `publish "${host}. ${type} ${address}" in the zone (and the same glue at the registrar), or correct the addresses of ${host} in the plan`,
          rfc: RFC_ZONE_TOP,
        });
      }
    }
    const extra = new Map<string, string[]>();
    for (const s of sets) for (const a of s.values.filter((v) => !wanted.includes(v))) extra.set(a, [...(extra.get(a) ?? []), s.server]);
    for (const [address, servers] of extra) {
      out.findings.push({
        code: 'verify.ns-address-extra',
        severity: 'warning',
        subject,
        message: `${where(servers, sets.length)} ${servers.length === 1 ? 'publishes' : 'publish'} ${type} ${address} for the name server ${host}; the plan does not list that address, and resolvers may try it`,
        fix: `remove the record if ${host} no longer answers there, or add ${address} to the addresses of ${host} in the plan`,
      });
    }
  }
  return out;
}

/** Compare the zone's name servers with the plan; call only when the domain is the zone apex and the plan lists name servers. */
export async function verifyDelegation(input: DelegationInput): Promise<DelegationResult> {
  const planned = [...new Set(input.plan.nameservers.map((n) => normalizeName(n.host)))];
  const result = await compareNsSet(input, planned);
  const addresses = new Map<string, string[]>();
  for (const ns of input.plan.nameservers) {
    if (ns.addresses.length) addresses.set(normalizeName(ns.host), [...(addresses.get(normalizeName(ns.host)) ?? []), ...ns.addresses]);
  }
  for (const [host, list] of addresses) {
    if (!isAtOrBelow(host, input.zone)) {
      result.findings.push({
        code: 'verify.ns-address-not-compared',
        severity: 'info',
        subject: host,
        message: `the plan lists addresses for ${host}, but the host lies outside the zone ${input.zone}: its addresses live in its own zone and are not compared here`,
        fix: `remove "addresses" from ${host} in the plan, or check them with the zone that holds ${host}`,
      });
      continue;
    }
    const more = await compareAddresses(input, host, list);
    result.records.push(...more.records);
    result.findings.push(...more.findings);
  }
  return result;
}
