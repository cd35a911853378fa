/**
 * The authoritative servers of a zone, each behind its own resolver that asks that one server
 * without recursion. `verify` uses it to see what every server publishes, not what some cache
 * remembers, and so to notice a change that reached only part of the servers.
 *
 * Discovery goes through the main resolver: the zone is the closest enclosing name with an SOA,
 * its servers are the NS records of that zone, and each of their IPv4 and IPv6 addresses is a
 * server of its own (named NAME@ADDRESS when a name has more than one). `--authoritative HOST[:PORT],...` replaces
 * discovery with an explicit list (tests, hidden primaries, servers not yet delegated).
 */
import { isIP } from 'node:net';
import { normalizeName } from '../names.js';
import { registrySuffix } from '../psl.js';
import { formatIpv6, parseIpv6 } from '../ipv6.js';
import { DnsResolver, describeStatus, hostAddress, isTemporary, parseServer, formatServer, type HostAddress, type DnsStatus, type Resolver, type ServerAddress } from './resolver.js';
import { DEFAULT_TIMEOUT_MS } from './defaults.js';

export interface AuthoritativeServer {
  /** The NS host name (NAME@ADDRESS when the name has several addresses, each a server), or the address as given for an explicit list. */
  name: string;
  /** The NS host name of a discovered server; absent for an explicit list. */
  nsName?: string;
  address: ServerAddress;
  /** Asks only this server, RD=0. */
  resolver: DnsResolver;
}

interface AuthoritativeSet {
  /** The zone apex the servers were found for; null when discovery failed. */
  zone: string | null;
  servers: AuthoritativeServer[];
  /** NS hosts (or host names given in an explicit list) that could not be reached (no address), with the reason; `status` of the address lookup that failed for now when `temporary`, else of the A lookup (nxdomain or nodata: the name has no address). */
  unreachable: { name: string; reason: string; status: DnsStatus; temporary: boolean }[];
  /** NS hosts with addresses of one family whose lookup of the other (A or AAAA) failed for now: servers there, if any, were not asked. */
  lookupsFailed?: { name: string; type: 'A' | 'AAAA'; reason: string; askedAt: string[] }[];
  /** Entries of an explicit list that name a server listed before them (the same HOST:PORT, or a name at that address): asked once, under the first entry. */
  duplicates: { name: string; sameAs: string; address: string }[];
  /** Set when discovery itself failed; `temporary` tells a timeout from a missing zone; `fix` when the usual one does not fit. */
  failure?: { message: string; status: DnsStatus; temporary: boolean; fix?: string };
}

interface AuthoritativeOptions {
  /** Explicit servers (`HOST[:PORT]`), replacing discovery. */
  explicit?: readonly string[] | undefined;
  timeoutMs?: number;
  /** Everything asked of one server for one domain ends by then (see DnsResolverOptions.deadlineMs). */
  deadlineMs?: number;
  attempts?: number;
  maxInFlight?: number;
  /** Port for discovered servers (53 unless testing). */
  port?: number;
}

/** Parse an `--authoritative` value: comma-separated HOST[:PORT]; throws on a malformed entry. */
export function parseServerList(text: string): ServerAddress[] {
  return text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((s) => parseServer(s));
}

/** An address in one text form (IPv6 lower case, zeros compressed), so two spellings of one address compare equal. */
function canonicalHost(host: string): string {
  if (isIP(host) !== 6) return host.toLowerCase();
  const octets = parseIpv6(host);
  return octets ? formatIpv6(octets) : host.toLowerCase();
}

function serverResolver(address: ServerAddress, opts: AuthoritativeOptions): DnsResolver {
  return new DnsResolver({
    servers: [address],
    recursionDesired: false,
    timeoutMs: opts.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    attempts: opts.attempts ?? 2,
    maxInFlight: opts.maxInFlight ?? 16,
    ...(opts.deadlineMs !== undefined ? { deadlineMs: opts.deadlineMs } : {}),
  });
}

/**
 * The closest enclosing zone of `name`: the nearest name at or above it that has an SOA, below the
 * registry's suffix it is under (registrySuffix). A suffix such as com or co.uk is a registry's
 * zone, never the zone of a domain's own records: a domain not delegated (yet) has no zone, rather
 * than its registry's, whose servers verify would otherwise ask and whose keys the DNSSEC check
 * would read. Under a top-level label the list does not know (a lab's `corp`), that label may be the zone.
 * A name that is itself such a suffix (gov.uk, nhs.uk) is asked for its own SOA, and only that.
 * `at`: the name whose SOA could not be had, when DNS failed.
 */
export async function findZone(resolver: Resolver, name: string): Promise<{ zone: string | null; status: DnsStatus; detail?: string; at?: string }> {
  const start = normalizeName(name);
  let current = start;
  const suffix = registrySuffix(current) ?? '';
  let status: DnsStatus = 'nxdomain';
  // The name itself is always asked: a domain that is a suffix of the list (gov.uk) has a zone of its own.
  const belowSuffix = (n: string): boolean => suffix === '' || n.endsWith(`.${suffix}`);
  while (current !== '' && (current === start || belowSuffix(current))) {
    const soa = await resolver.lookup(current, 'SOA');
    // A CNAME at the name answers with the target's SOA: that is not this name's zone.
    if (soa.status === 'ok' && soa.cnameChain.length === 0) return { zone: current, status: 'ok' };
    if (isTemporary(soa.status)) return { zone: null, status: soa.status, ...(soa.detail ? { detail: soa.detail } : {}), at: current };
    status = soa.status;
    const dot = current.indexOf('.');
    current = dot < 0 ? '' : current.slice(dot + 1);
  }
  return { zone: null, status };
}

export async function findAuthoritative(resolver: Resolver, domain: string, opts: AuthoritativeOptions = {}): Promise<AuthoritativeSet> {
  if (opts.explicit && opts.explicit.length) {
    // One server per address asked: a server listed twice (or as a name and as its address) is asked
    // once, and counted once. A name is asked at the address hostAddress finds for it, every name at
    // once; a name that has none is a server that cannot be asked, said with the reason.
    const servers: AuthoritativeServer[] = [];
    const unreachable: AuthoritativeSet['unreachable'] = [];
    const duplicates: AuthoritativeSet['duplicates'] = [];
    const byAddress = new Map<string, string>();
    const given = opts.explicit.map((text) => parseServer(text));
    const found = await Promise.all(given.map((g): HostAddress | Promise<HostAddress> => (isIP(g.host) ? { address: g.host } : hostAddress(resolver, g.host))));
    // Why each server given could not be used, in the order given (the failure's message lists them).
    const failed: string[] = [];
    given.forEach((g, i) => {
      const name = formatServer(g);
      const { address: host, failure } = found[i]!;
      // A name that cannot be looked up is one server too, however often it is listed.
      const key = host === undefined ? name.toLowerCase() : formatServer({ host: canonicalHost(host), port: g.port });
      const first = byAddress.get(key);
      if (first !== undefined) {
        duplicates.push({ name, sameAs: first, address: host === undefined ? name : key });
        return;
      }
      byAddress.set(key, name);
      if (failure) {
        unreachable.push({ name, ...failure });
        failed.push(`${name}: ${failure.temporary ? 'its address could not be looked up: ' : ''}${failure.reason}`);
        return;
      }
      const address = { host, port: g.port };
      servers.push({ name, address, resolver: serverResolver(address, opts) });
    });
    // No name given has an address: each is said as a server that could not be asked (no zone to find).
    if (servers.length === 0) return { zone: null, servers, unreachable, duplicates };
    // The zone as the first listed server that holds an SOA at or above the domain sees it; the
    // domain itself when the servers that answered hold none. A server that gave no usable answer
    // says nothing about the zone, and neither does one that answered NXDOMAIN or a referral for
    // every name up the tree (a lame server, which a server listed after it may not be): the next
    // one is asked, and when none answered at all the zone is unknown.
    let status = unreachable.find((u) => u.temporary)?.status;
    let answered = false;
    for (const server of servers) {
      const seen = await findZone(server.resolver, domain);
      if (seen.zone) return { zone: seen.zone, servers, unreachable, duplicates };
      if (!isTemporary(seen.status)) {
        answered = true;
        continue;
      }
      status ??= seen.status;
      failed.push(`${server.name}: ${seen.detail ?? describeStatus(seen.status)} (asking for the SOA of ${seen.at ?? domain})`);
    }
    if (answered) return { zone: normalizeName(domain), servers, unreachable, duplicates };
    return {
      zone: null,
      servers: [],
      unreachable: [],
      duplicates,
      failure: {
        status: status ?? 'timeout',
        temporary: true,
        message: `could not find the zone of ${domain}: no server given answered (${failed.join('; ')})`,
        fix: 'check that the servers given with --authoritative are running and serve the zone (and, for a name given, the resolver that looks it up: --nameserver), then run again',
      },
    };
  }
  const found = await findZone(resolver, domain);
  if (!found.zone) {
    const temporary = isTemporary(found.status);
    return {
      zone: null,
      servers: [],
      unreachable: [],
      duplicates: [],
      failure: {
        status: found.status,
        temporary,
        message: temporary
          ? `could not find the zone of ${domain}: ${found.detail ?? describeStatus(found.status)}`
          : `no zone holds ${domain}: no SOA record at it or above it, short of its public suffix (is it delegated?)`,
      },
    };
  }
  const ns = await resolver.lookup(found.zone, 'NS');
  if (ns.status !== 'ok') {
    return {
      zone: found.zone,
      servers: [],
      unreachable: [],
      duplicates: [],
      failure: { status: ns.status, temporary: isTemporary(ns.status), message: `the NS records of ${found.zone}: ${describeStatus(ns.status)}` },
    };
  }
  const hosts = [...new Set(ns.records.map(normalizeName))].sort();
  const servers: AuthoritativeServer[] = [];
  const unreachable: AuthoritativeSet['unreachable'] = [];
  const lookupsFailed: NonNullable<AuthoritativeSet['lookupsFailed']> = [];
  // Every address of an NS name is a server a resolver may ask (RFC 1034 §5.3.3, RFC 2182 §3): each
  // A and AAAA address is asked, so a dead one is named while the others verify the zone.
  await Promise.all(
    hosts.map(async (host) => {
      const [a, aaaa] = await Promise.all([resolver.lookup(host, 'A'), resolver.lookup(host, 'AAAA')]);
      const addrs = [...new Set([...(a.status === 'ok' ? a.records : []), ...(aaaa.status === 'ok' ? aaaa.records : [])])];
      if (!addrs.length) {
        const failed = [a, aaaa].find((x) => isTemporary(x.status));
        const status = failed?.status ?? a.status;
        const temporary = failed !== undefined;
        unreachable.push({ name: host, reason: temporary ? describeStatus(status) : 'the name has no A or AAAA record', status, temporary });
        return;
      }
      for (const [type, lookup] of [['A', a], ['AAAA', aaaa]] as const) {
        if (isTemporary(lookup.status)) lookupsFailed.push({ name: host, type, reason: describeStatus(lookup.status), askedAt: addrs });
      }
      for (const addr of addrs) {
        const address = { host: addr, port: opts.port ?? 53 };
        servers.push({ name: addrs.length > 1 ? `${host}@${addr}` : host, nsName: host, address, resolver: serverResolver(address, opts) });
      }
    }),
  );
  servers.sort((x, y) => (x.nsName ?? x.name).localeCompare(y.nsName ?? y.name) || x.name.localeCompare(y.name));
  lookupsFailed.sort((x, y) => x.name.localeCompare(y.name) || x.type.localeCompare(y.type));
  return { zone: found.zone, servers, unreachable, duplicates: [], lookupsFailed };
}
