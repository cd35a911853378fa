/**
 * `maildns verify`: ask every authoritative server of each planned domain for every planned
 * record and compare. See README.md in this folder for the JSON shape.
 */
import { findAuthoritative, type AuthoritativeServer } from '../dns/authoritative.js';
import { describeStatus, dnsFailureCode, formatServer, parseServer, withinDeadline, type DnsStatus, type Resolver } from '../dns/resolver.js';
import { RCODE } from '../dns/packet.js';
import { compareWithPrivateKey } from '../dkim/keys.js';
import { PRIVATE_KEY_INPUT } from '../dkim/record.js';
import { readInputFileSync } from '../fsutil.js';
import { hasFindingAtLeast, type Finding, type Outcome, type Severity } from '../findings.js';
import { keyPathFor } from '../plan/selectors.js';
import { composeDomain } from '../plan/records.js';
import type { DomainPlan, Plan } from '../plan/types.js';
import type { DnsRecord, RecordType } from '../records.js';
import { compareAtServer, describeDifference, type ExtraRecord, type ServerStatus, type ServerView } from './compare.js';
import { notApexFinding, verifyDelegation } from './delegation.js';
import { FirstAnswerOf, isReferral, validatePublished, ZoneRoutedResolver } from './validators.js';
import type { PolicyFetchOptions } from '../mtasts/fetch.js';

const VERIFY_JSON_VERSION = 1;

interface ServerInfo {
  /** NS host name (or HOST:PORT for an explicit list). */
  name: string;
  /** HOST:PORT asked; null when the name has no address. */
  address: string | null;
  /** The NS host name of a discovered server (`name` is NAME@ADDRESS when the name has several addresses, each asked); absent for --authoritative. */
  nsName?: string;
  /** True when the server gave an authoritative answer with the zone's SOA (status ok): only then are its records compared. */
  answered: boolean;
  /** What the server did with the SOA question (see ServerStatus). */
  status: ServerStatus;
  /** The zone's SOA serial on this server; null when it gave none. */
  serial: number | null;
  detail?: string;
}

/** Statuses that say the server does not serve the zone: an answer, not a failure to get one (a problem found, not DNS unavailable; so is an NS name with no address). */
const NOT_SERVING: ReadonlySet<ServerStatus> = new Set(['not-authoritative', 'lame', 'nxdomain', 'nodata']);

/** A server's status in words, as the readable report and the findings give it. */
export function describeServerStatus(status: ServerStatus): string {
  switch (status) {
    case 'notimp':
      return 'the server does not implement the query (NOTIMP)';
    case 'formerr':
      return 'the server could not read the query (FORMERR)';
    case 'not-authoritative':
      return 'it answered without the AA bit: not as an authoritative server of the zone';
    case 'lame':
      return 'it is not authoritative for the zone: no AA bit and no SOA (a referral or a non-authoritative empty answer)';
    case 'no-address':
      return 'the name has no address';
    default:
      return describeStatus(status);
  }
}

/** Serial `a` is newer than `b` in RFC 1982 serial arithmetic (SERIAL_BITS 32). */
function serialNewer(a: number, b: number): boolean {
  const d = (a - b + 2 ** 32) % 2 ** 32;
  return d !== 0 && d < 2 ** 31;
}

/** The server status of an RCODE the resolver has no status of its own for (DnsAnswer.rcode); null for the others. */
function rcodeStatus(rcode: number | undefined): ServerStatus | null {
  return rcode === RCODE.NOTIMP ? 'notimp' : rcode === RCODE.FORMERR ? 'formerr' : null;
}

export interface RecordReport {
  name: string;
  type: RecordType;
  purpose: string | null;
  planned: { value: string; ttl: number };
  /** The record on each server: match, different, missing or unreachable. */
  servers: ServerView[];
}

type DomainStatus = 'as-planned' | 'problems' | 'dns-unavailable';

export interface DomainVerification {
  domain: string;
  zone: string | null;
  status: DomainStatus;
  servers: ServerInfo[];
  records: RecordReport[];
  findings: Finding[];
}

export interface VerifyReport {
  version: typeof VERIFY_JSON_VERSION;
  /** `ok` as planned; `problems` found; `dns-unavailable` when no authoritative server answered for any domain. */
  outcome: Outcome;
  domains: DomainVerification[];
  summary: { domains: number; asPlanned: number; withProblems: number; dnsUnavailable: number; errors: number; warnings: number; infos: number };
}

export interface VerifyOptions {
  /** The main resolver: finds the zone and its servers, and serves the validators' lookups (includes). */
  resolver: Resolver;
  /** Explicit authoritative servers (HOST[:PORT]) instead of discovery. */
  authoritative?: readonly string[] | undefined;
  timeoutMs?: number;
  /** Bounds what each authoritative server is asked for one domain, like the main resolver's deadline. */
  deadlineMs?: number;
  attempts?: number;
  /** Severity from which a finding makes the run fail (exit 1). */
  failOn?: Severity;
  /** Only these domains of the plan. */
  domains?: readonly string[] | undefined;
  /** Port of discovered servers (53 unless testing against servers on loopback). */
  port?: number;
  /** How the MTA-STS policy of a domain that plans one is fetched (CAs, port); it is always fetched then. */
  mtaStsPolicy?: PolicyFetchOptions;
  /** Check the reverse DNS of every domain's sending addresses (always for a domain that lists sending_hosts). */
  rdns?: boolean;
}


function recordSubject(r: { name: string; type: RecordType; purpose?: string | null | undefined }): string {
  return `${r.name} ${r.type}${r.purpose ? ` (${r.purpose})` : ''}`;
}

function groupRecords(records: readonly DnsRecord[]): DnsRecord[][] {
  const groups = new Map<string, DnsRecord[]>();
  for (const r of records) {
    const key = `${r.name}\u0000${r.type}`;
    const list = groups.get(key) ?? [];
    list.push(r);
    groups.set(key, list);
  }
  return [...groups.values()];
}

/**
 * Ask one server for the zone's SOA. Only an authoritative answer (AA, RFC 1035 §4.1.1) that holds
 * the SOA makes the server one whose records are compared: an answer without AA comes from a cache
 * or a forwarder, and a referral, an NXDOMAIN or an empty answer at the apex says the server does
 * not hold the zone (a lame delegation, RFC 1912 §2.8), so its "missing" records would be no news.
 */
async function ask(server: AuthoritativeServer, zone: string): Promise<ServerInfo> {
  const soa = await server.resolver.lookup(zone, 'SOA');
  let status: ServerStatus = soa.status;
  if (soa.status === 'ok' && !soa.authoritative) status = 'not-authoritative';
  else if ((soa.status === 'nxdomain' || soa.status === 'nodata') && !soa.authoritative) status = 'lame';
  else if (soa.status === 'error') status = rcodeStatus(soa.rcode) ?? 'error';
  const serial = soa.records[0]?.serial ?? null;
  const info: ServerInfo = { name: server.name, address: formatServer(server.address), ...(server.nsName ? { nsName: server.nsName } : {}), answered: status === 'ok', status, serial };
  if (status !== 'ok') {
    const words = describeServerStatus(status);
    info.detail = soa.detail && status !== 'notimp' && status !== 'formerr' ? `${words} (${soa.detail})` : words;
  }
  return info;
}

/** Errors that say this machine has no path to an address (no route for its family), not that the server failed. */
const NO_ROUTE = /\b(ENETUNREACH|EADDRNOTAVAIL|EAFNOSUPPORT)\b/;

/** The finding for a server whose records are not compared, by what it did with the SOA question. */
function serverFinding(info: ServerInfo, zone: string, all: readonly ServerInfo[]): Finding {
  // One address of an NS name that has several: named as that address, with what its other addresses did.
  const siblings = info.nsName && info.nsName !== info.name ? all.filter((o) => o !== info && o.nsName === info.nsName) : [];
  const other = siblings.filter((o) => o.answered).map((o) => o.address!);
  const perAddress = info.nsName && info.nsName !== info.name;
  const who = perAddress
    ? `the authoritative server ${info.nsName} at its address ${info.address}`
    : `the authoritative server ${info.name}${info.address && info.address !== info.name ? ` (${info.address})` : ''}`;
  const still = perAddress
    ? other.length
      ? `; ${info.nsName} answers at its other address${other.length > 1 ? 'es' : ''} ${other.join(', ')}, which ${other.length > 1 ? 'were' : 'was'} compared, but a resolver that picks this address waits for it or fails (every address of an NS name is a server resolvers ask, RFC 1034 §5.3.3)`
      : `; none of the addresses of ${info.nsName} served the zone`
    : '';
  const f = serverFindingFor(info, zone, who, info.detail ?? describeServerStatus(info.status));
  if (!perAddress) return f;
  const { host } = parseServer(info.address!);
  const noRoute = info.status === 'error' ? NO_ROUTE.exec(info.detail ?? '') : null;
  if (noRoute && other.length) {
    // This machine cannot reach that address family at all (an IPv4-only host, an AAAA address): that says nothing of the server.
    return {
      code: 'verify.server-no-route',
      severity: 'warning',
      subject: info.name,
      message: `this machine has no route to ${host} (${noRoute[1]}), an address of ${info.nsName}, so the server was not asked there; it was compared at ${other.join(', ')}`,
      fix: `run verify from a machine with ${host.includes(':') ? 'IPv6' : 'IPv4'} connectivity to check ${info.nsName} at ${host} too`,
    };
  }
  return {
    ...f,
    message: f.message + still,
    fix: `${f.fix}; or, if ${info.nsName} no longer answers at ${host}, remove that ${host.includes(':') ? 'AAAA' : 'A'} record of ${info.nsName} (and its glue at the registrar)`,
  };
}

function serverFindingFor(info: ServerInfo, zone: string, who: string, detail: string): Finding {
  switch (info.status) {
    case 'not-authoritative':
      return {
        code: 'verify.server-not-authoritative',
        severity: 'error',
        subject: info.name,
        message: `${who} answered the SOA question for ${zone}${info.serial !== null ? ` (serial ${info.serial})` : ''} without the AA bit: it does not serve the zone itself (a cache or a forwarder answered), so its records are not compared`,
        fix: `load ${zone} on that server as a primary or a secondary, or remove it from the zone's NS records (and --authoritative)`,
        rfc: 'RFC 1035 §4.1.1',
      };
    case 'lame':
    case 'nxdomain':
    case 'nodata': {
      const said =
        info.status === 'nxdomain'
          ? `says ${zone} does not exist (NXDOMAIN)`
          : info.status === 'nodata'
            ? `holds no SOA record at ${zone} (it serves a zone above it, not ${zone})`
            : `is not authoritative for ${zone}: ${detail}`;
      return {
        code: 'verify.server-lame',
        severity: 'error',
        subject: info.name,
        message: `${who} ${said}: a lame delegation, its records are not compared`,
        fix: `load ${zone} on that server (check that the zone file loads without errors), or remove it from the zone's NS records and the delegation at the registrar`,
        rfc: 'RFC 1912 §2.8',
      };
    }
    case 'refused':
      return {
        code: 'verify.server-unreachable',
        severity: 'error',
        subject: info.name,
        message: `${who} ${detail.replace(/^the server /, '')} for the SOA of ${zone}; its records could not be compared (a server that refuses its own zone usually does not have it loaded: a lame delegation)`,
        fix: `check that the server serves ${zone} and answers queries from this network, then run again`,
        rfc: 'RFC 1912 §2.8',
      };
    default:
      return {
        code: 'verify.server-unreachable',
        severity: 'error',
        subject: info.name,
        message: `${who} gave no usable answer for the SOA of ${zone}: ${detail}; its records could not be compared`,
        fix: 'check that the server is running and reachable, then run again',
      };
  }
}

function dkimKeyFor(plan: Plan, d: DomainPlan, rec: DnsRecord): string | null {
  if (!rec.purpose?.startsWith('dkim:')) return null;
  const sel = d.dkim.find((s) => `dkim:${s.selector}` === rec.purpose);
  if (!sel) return null;
  try {
    // Read as the records were composed from it (composeDomain): a file, bounded, never a pipe waited on.
    return readInputFileSync(keyPathFor(plan, d, sel), PRIVATE_KEY_INPUT).toString('utf8');
  } catch {
    return null;
  }
}

/** Turn the per-server views of one planned record into findings. */
function recordFindings(rep: RecordReport, privatePem: string | null, skipped: ReadonlySet<string>): Finding[] {
  const out: Finding[] = [];
  const subject = recordSubject(rep);
  // A server that answered the SOA question but not this one: this record could not be compared there.
  for (const v of rep.servers.filter((s) => s.state === 'unreachable' && !skipped.has(s.server))) {
    out.push({ code: dnsFailureCode('verify', v.status as DnsStatus /* asked of a server that served the zone: an answer's status */, 'verify.no-answer'), severity: 'error', subject, message: `${v.server} gave no usable answer: ${describeServerStatus(v.status)}; the record could not be compared there`, fix: 'run again; if it persists, check that server' });
  }
  // A referral (state delegated) is not the record missing there: the delegation finding says where it lives.
  const reached = rep.servers.filter((v) => v.state !== 'unreachable' && v.state !== 'delegated');
  if (reached.length === 0) return out; // the server findings (or the delegation finding) say why
  const states = new Set(reached.map((v) => v.state));
  const names = (pred: (v: ServerView) => boolean): string => reached.filter(pred).map((v) => v.server).join(', ');
  const everywhere = reached.length === rep.servers.filter((v) => v.state !== 'delegated').length;
  const onAll = `on ${everywhere && reached.length > 1 ? `all ${reached.length} servers` : reached.length === 1 ? reached[0]!.server : `${reached.length} servers`}`;

  if (states.size === 1 && states.has('match')) {
    const ttls = [...new Set(reached.map((v) => v.published?.ttl).filter((t): t is number => typeof t === 'number' && t !== rep.planned.ttl))];
    if (ttls.length) {
      out.push({
        code: 'verify.ttl-differs',
        severity: 'info',
        subject,
        message: `published with TTL ${ttls.join(' / ')}, the plan says ${rep.planned.ttl}`,
        fix: `set the TTL to ${rep.planned.ttl} at the DNS host, or change "ttl" in the plan`,
      });
    }
    return out;
  }

  const values = [...new Set(reached.filter((v) => v.state === 'different').map((v) => v.published!.value))];
  const keyNote = (value: string): { severity: Severity; note: string } => {
    if (!privatePem) return { severity: 'error', note: '' };
    const m = compareWithPrivateKey(value, privatePem);
    return m.matches
      ? { severity: 'warning', note: '; the published key is the local key, only other tags differ' }
      : { severity: 'error', note: '' };
  };

  if (states.size === 1 && states.has('missing')) {
    out.push({
      code: 'verify.missing',
      severity: 'error',
      subject,
      message: `not published ${onAll} (${describeServerStatus(reached[0]!.status)})`,
      fix: `publish ${rep.type} "${rep.planned.value.length > 80 ? `${rep.planned.value.slice(0, 77)}...` : rep.planned.value}" at ${rep.name} (\`maildns records\` prints it)`,
    });
  } else if (states.size === 1 && states.has('different') && values.length === 1) {
    const { severity, note } = keyNote(values[0]!);
    out.push({
      code: 'verify.different',
      severity,
      subject,
      message: `published ${onAll} with another value: ${describeDifference(rep.planned.value, values[0]!)}${note}`,
      fix: `replace the published record with the planned one (\`maildns records\` prints it)`,
    });
  } else {
    const parts: string[] = [];
    const m = names((v) => v.state === 'match');
    const miss = names((v) => v.state === 'missing');
    const diff = names((v) => v.state === 'different');
    if (m) parts.push(`as planned on ${m}`);
    if (diff) parts.push(`different on ${diff}`);
    if (miss) parts.push(`missing on ${miss}`);
    const note = values.length === 1 ? keyNote(values[0]!) : { severity: 'error' as Severity, note: '' };
    out.push({
      code: 'verify.not-everywhere',
      severity: m && !miss && note.severity === 'warning' ? 'warning' : 'error',
      subject,
      message: `the servers disagree: ${parts.join('; ')}${note.note}`,
      fix: 'the change has not reached every authoritative server yet: wait for the zone transfer (compare the SOA serials) or fix the server that lags',
    });
  }
  // A published DKIM key that is not the local key is the failure that breaks signing: say it plainly.
  if (privatePem) {
    for (const value of values) {
      const match = compareWithPrivateKey(value, privatePem);
      if (!match.matches) {
        out.push({
          code: 'verify.dkim-key-mismatch',
          severity: 'error',
          subject,
          message: `the published key does not belong to the local private key: ${match.reason}`,
          fix: 'publish the record `maildns records` prints for this selector, or sign with the key that matches the published one',
          rfc: 'RFC 6376 §3.6.1',
        });
      }
    }
  }
  return out;
}

/** How each authoritative server is asked (its timeout, deadline, attempts and port), as verify was told. */
function askingOptions(opts: VerifyOptions): { timeoutMs?: number; deadlineMs?: number; attempts?: number; port?: number } {
  return {
    ...(opts.timeoutMs ? { timeoutMs: opts.timeoutMs } : {}),
    ...(opts.deadlineMs ? { deadlineMs: opts.deadlineMs } : {}),
    ...(opts.attempts ? { attempts: opts.attempts } : {}),
    ...(opts.port ? { port: opts.port } : {}),
  };
}

/** A zone delegated from the one verified, as one planned name below its cut found it. */
interface ChildZone {
  /** The name of the zone cut (the child zone's apex). */
  cut: string;
  /** The child zone's servers, found through the main resolver; empty when it could not be followed. */
  servers: AuthoritativeServer[];
  /** Why the delegation was not followed. */
  failure: string | null;
}

/**
 * The zone cuts below one zone, each found once per domain: where the referral starts (asked top
 * down, one SOA question per label between the apex and the name, at most MAX_CUT_DEPTH), and the
 * child zone's servers, discovered through the main resolver as the zone's own were.
 */
class Delegations {
  private readonly cuts = new Map<string, Promise<string>>();
  private readonly children = new Map<string, Promise<ChildZone>>();
  constructor(
    private readonly zone: string,
    private readonly opts: VerifyOptions,
  ) {}

  private cutOf(server: AuthoritativeServer, name: string): Promise<string> {
    let found = this.cuts.get(name);
    if (!found) {
      found = (async () => {
        const labels = name.split('.');
        const apexLabels = this.zone.split('.').length;
        for (let n = apexLabels + 1; n <= Math.min(labels.length, apexLabels + MAX_CUT_DEPTH); n++) {
          const candidate = labels.slice(labels.length - n).join('.');
          const soa = await server.resolver.lookup(candidate, 'SOA');
          if (isReferral(soa)) return candidate;
        }
        return name;
      })();
      this.cuts.set(name, found);
    }
    return found;
  }

  async childOf(server: AuthoritativeServer, name: string): Promise<ChildZone> {
    const cut = await this.cutOf(server, name);
    let child = this.children.get(cut);
    if (!child) {
      const opts = this.opts;
      child = findAuthoritative(opts.resolver, cut, askingOptions(opts)).then((found): ChildZone => {
        if (found.failure) return { cut, servers: [], failure: found.failure.message };
        if (found.zone !== cut) return { cut, servers: [], failure: `the main resolver finds no zone at ${cut} (it answers for ${found.zone ?? 'no zone'})` };
        if (!found.servers.length) return { cut, servers: [], failure: `none of the NS names of ${cut} has an address (${found.unreachable.map((u) => `${u.name}: ${u.reason}`).join('; ')})` };
        return { cut, servers: found.servers, failure: null };
      });
      this.children.set(cut, child);
    }
    return child;
  }
}

/** Labels below the zone's apex asked for the cut of one name; DNS names go deeper only in odd zones. */
const MAX_CUT_DEPTH = 8;

/** The finding for planned records at a name below a zone cut. */
function delegationFinding(subject: string, name: string, zone: string, child: ChildZone): Finding {
  const said = `${name} lies in the zone ${child.cut}, delegated from ${zone} (NS records at the cut): the servers of ${zone} answer with a referral, not the record`;
  if (!child.failure) {
    return {
      code: 'verify.delegated',
      severity: 'info',
      subject,
      message: `${said}; the delegation was followed and the record compared on the servers of ${child.cut} (${child.servers.map((s) => s.name).join(', ')})`,
      fix: `nothing to do if ${child.cut} is meant to be delegated; to check that zone alone, run verify with --authoritative set to its servers`,
      rfc: 'RFC 1034 §4.2.1',
    };
  }
  return {
    code: 'verify.delegated',
    severity: 'error',
    subject,
    message: `${said}; the servers of ${child.cut} could not be asked (${child.failure}), so it was not compared`,
    fix: `publish the record in the zone ${child.cut} and check it against that zone's servers (verify --authoritative with its servers); or, if ${child.cut} should not be delegated, remove its NS records from ${zone}`,
    rfc: 'RFC 1034 §4.2.1',
  };
}

/** What a second record of the newer kinds does. */
const SECOND_RECORD: Record<string, { name: string; why: string }> = {
  'mta-sts': { name: 'MTA-STS', why: 'senders then act as if the domain had no MTA-STS policy (RFC 8461 §3.1)' },
  'tls-rpt': { name: 'TLS-RPT', why: 'senders then send no TLS reports (RFC 8460 §3)' },
  bimi: { name: 'BIMI', why: 'receivers then show no logo' },
};

function extraFindings(extras: ExtraRecord[], serverCount: number): Finding[] {
  const grouped = new Map<string, { e: ExtraRecord; servers: string[] }>();
  for (const e of extras) {
    const key = `${e.name}\u0000${e.type}\u0000${e.value}`;
    const g = grouped.get(key) ?? { e, servers: [] };
    g.servers.push(e.server);
    grouped.set(key, g);
  }
  return [...grouped.values()].map(({ e, servers }) => {
    const where = servers.length === serverCount && serverCount > 1 ? 'on every server' : `on ${servers.join(', ')}`;
    const short = e.value.length > 90 ? `${e.value.slice(0, 87)}...` : e.value;
    if (e.kind === 'mx') {
      return { code: 'verify.extra-mx', severity: 'error' as Severity, subject: `${e.name} MX`, message: `an MX record the plan does not list is published ${where}: "${short}"`, fix: 'remove it at the DNS host, or add the host to "mx" in the plan' };
    }
    const what = e.kind === 'spf' ? 'a second SPF record' : e.kind === 'dmarc' ? 'a second DMARC record' : e.kind === 'dkim' ? 'a second TXT record at the DKIM selector' : `a second ${SECOND_RECORD[e.kind]?.name ?? e.kind} record`;
    const why =
      e.kind === 'spf'
        ? 'receivers then fail SPF with permerror (RFC 7208 §4.5)'
        : e.kind === 'dmarc'
          ? 'receivers then ignore DMARC for the domain (RFC 7489 §6.6.3)'
          : e.kind === 'dkim'
            ? 'verifiers may pick either record, so signatures fail at random'
            : (SECOND_RECORD[e.kind]?.why ?? 'receivers may ignore both');
    return { code: 'verify.conflicting-record', severity: 'error' as Severity, subject: `${e.name} ${e.type}`, message: `${what} is published ${where}: "${short}"; ${why}`, fix: 'delete the record the plan does not list' };
  });
}

async function verifyDomain(plan: Plan, d: DomainPlan, opts: VerifyOptions): Promise<DomainVerification> {
  const composed = composeDomain(plan, d);
  const findings: Finding[] = composed.notes.map((note) => ({ code: 'verify.plan-note', severity: 'info', subject: d.domain, message: note }));
  const result: DomainVerification = { domain: d.domain, zone: null, status: 'problems', servers: [], records: [], findings };
  const auth = await findAuthoritative(opts.resolver, d.domain, { explicit: opts.authoritative, ...askingOptions(opts) });
  result.zone = auth.zone;
  // A name given whose address was not found is one server too, however often listed, but was asked nowhere.
  const notAsked = (name: string): boolean => auth.unreachable.some((u) => u.name === name);
  for (const dup of auth.duplicates) {
    findings.push({
      code: 'verify.server-listed-twice',
      severity: 'info',
      subject: dup.name,
      message: notAsked(dup.sameAs)
        ? `--authoritative lists ${dup.name === dup.sameAs ? `${dup.name} more than once` : `${dup.name} and ${dup.sameAs}, the same name`}: counted as one server, which could not be asked (its address was not found)`
        : `--authoritative lists ${dup.name === dup.sameAs ? `${dup.name} more than once` : `${dup.name} and ${dup.sameAs}, both at ${dup.address}`}: asked once, as ${dup.sameAs}, and counted as one server`,
      fix: `list each server once in --authoritative`,
    });
  }
  if (auth.failure) {
    findings.push(
      auth.failure.temporary
        ? { code: 'verify.dns-unavailable', severity: 'error', subject: d.domain, message: `${auth.failure.message}; nothing could be compared`, fix: auth.failure.fix ?? 'check the network and the resolver (--nameserver), then run again' }
        : { code: 'verify.no-zone', severity: 'error', subject: d.domain, message: auth.failure.message, fix: 'register or delegate the domain, or pass its servers with --authoritative HOST[:PORT],...' },
    );
    result.status = auth.failure.temporary ? 'dns-unavailable' : 'problems';
    return result;
  }
  // A name given to --authoritative, or an NS name of the zone.
  const givenNames = !!opts.authoritative?.length;
  for (const u of auth.unreachable) {
    result.servers.push({ name: u.name, address: null, answered: false, status: u.temporary ? u.status : 'no-address', serial: null, detail: u.reason });
    const named = givenNames ? `--authoritative names ${u.name}` : `the zone names ${u.name} as a server`;
    const fix = givenNames
      ? u.temporary
        ? "check the network and the resolver that looks the name up (--nameserver), or give the server's address in --authoritative, then run again"
        : "give the server's address in --authoritative, or publish an A or AAAA record for its name"
      : u.temporary
        ? 'check the network and the resolver (--nameserver), then run again'
        : 'publish an A or AAAA record for the name server, or remove the NS record';
    findings.push(
      u.temporary
        ? { code: 'verify.server-unreachable', severity: 'error', subject: u.name, message: `${named}, but its address could not be looked up: ${u.reason}; its records could not be compared`, fix }
        : { code: 'verify.server-no-address', severity: 'error', subject: u.name, message: `${named} but it cannot be reached: ${u.reason}`, fix },
    );
  }
  for (const l of auth.lookupsFailed ?? []) {
    findings.push({
      code: 'verify.server-addresses-unknown',
      severity: 'warning',
      subject: l.name,
      message: `the ${l.type} records of ${l.name}, a name server of the zone, could not be looked up (${l.reason}): a server at those addresses, if there is one, was not asked; ${l.name} was asked at ${l.askedAt.join(', ')}`,
      fix: 'check the network and the resolver (--nameserver), then run again',
    });
  }
  const infos = await Promise.all(auth.servers.map((s) => ask(s, auth.zone!)));
  result.servers.push(...infos);
  // NS names at one address are one server, whatever the NS set counts (discovered servers only: an explicit list is what was asked for).
  if (!opts.authoritative?.length) {
    // Each NS name is at the set of its addresses (every one asked); names whose sets are the same are one server.
    const addressesOf = new Map<string, string[]>();
    for (const s of auth.servers) {
      const ns = s.nsName ?? s.name;
      addressesOf.set(ns, [...(addressesOf.get(ns) ?? []), formatServer(s.address)]);
    }
    const bySet = new Map<string, string[]>();
    for (const [ns, list] of addressesOf) {
      const key = [...new Set(list)].sort().join(', ');
      bySet.set(key, [...(bySet.get(key) ?? []), ns]);
    }
    for (const [address, names] of bySet) {
      if (names.length < 2) continue;
      findings.push({
        code: 'verify.servers-share-address',
        severity: 'warning',
        subject: auth.zone!,
        message: `the name servers ${names.join(', ')} of ${auth.zone} are all at ${address}: that is one server, not ${names.length}, and the zone is down whenever it is`,
        fix: 'run the secondaries on machines (and networks) of their own, and point their NS names at those addresses',
        rfc: 'RFC 2182 §3.1',
      });
    }
  }
  const live = auth.servers.filter((_, i) => infos[i]!.answered);
  for (const info of infos.filter((i) => !i.answered)) findings.push(serverFinding(info, auth.zone!, infos));
  if (live.length === 0) {
    // A server that answered that it does not serve the zone is a problem found; only failures to answer leave DNS unavailable.
    result.status = infos.some((i) => NOT_SERVING.has(i.status)) || auth.unreachable.some((u) => !u.temporary) ? 'problems' : 'dns-unavailable';
    return result;
  }
  const serials = [...new Set(infos.filter((i) => i.answered && i.serial !== null).map((i) => i.serial!))];
  if (serials.length > 1) {
    // The newest serial in RFC 1982 order (it wraps at 2^32), when one is newer than all the others.
    const newest = serials.find((s) => serials.every((o) => o === s || serialNewer(s, o)));
    const lagging = newest === undefined ? [] : infos.filter((i) => i.answered && i.serial !== newest).map((i) => i.name);
    findings.push({
      code: 'verify.serials-differ',
      severity: 'warning',
      subject: auth.zone!,
      message: `the servers hold different versions of the zone: ${infos.filter((i) => i.answered).map((i) => `${i.name} serial ${i.serial}`).join(', ')}${
        lagging.length ? `; ${lagging.join(', ')} ${lagging.length === 1 ? 'is' : 'are'} behind the newest serial ${newest}` : ''
      }`,
      fix: 'a zone transfer is pending or failing: check NOTIFY/transfer between the primary and the secondaries',
      rfc: 'RFC 1982 §3.2',
    });
  }

  if (d.nameservers.length && auth.zone !== d.domain) findings.push(notApexFinding(d.domain, auth.zone!));
  else if (d.nameservers.length) {
    const explicit = !!opts.authoritative?.length;
    const ns = await verifyDelegation({
      plan: d,
      zone: auth.zone!,
      servers: auth.servers.map((s, i) => ({ name: s.name, resolver: s.resolver, answered: infos[i]!.answered, status: infos[i]!.status })),
      discovered: explicit ? null : [...new Set([...auth.servers.map((s) => s.nsName ?? s.name), ...auth.unreachable.map((u) => u.name)])],
    });
    result.records.push(...ns.records);
    findings.push(...ns.findings);
  }

  const skipped = new Set(auth.servers.filter((_, i) => !infos[i]!.answered).map((s) => s.name));
  const delegation = new Delegations(auth.zone!, opts);
  const extras: ExtraRecord[] = [];
  for (const group of groupRecords(composed.records)) {
    const { name, type } = group[0]!;
    const answers = await Promise.all(auth.servers.map((s, i) => (infos[i]!.answered ? s.resolver.lookup(name, type) : null)));
    // A server that answers its zone's SOA with the AA bit and this name without it, and with no
    // record, gave a referral: the name lies in a zone delegated from this one (RFC 1034 §4.2.1).
    const referring = answers.findIndex((a) => a !== null && isReferral(a));
    const child = referring < 0 ? null : await delegation.childOf(auth.servers[referring]!, name);
    const perRecord: ServerView[][] = group.map(() => []);
    answers.forEach((answer, i) => {
      const serverName = auth.servers[i]!.name;
      if (!answer) {
        group.forEach((_, j) => perRecord[j]!.push({ server: serverName, status: infos[i]!.status, state: 'unreachable' }));
        return;
      }
      if (child && isReferral(answer)) {
        group.forEach((_, j) => perRecord[j]!.push({ server: serverName, status: answer.status, state: 'delegated', delegatedTo: child.cut }));
        return;
      }
      const { views, extras: ex } = compareAtServer(serverName, group, answer);
      views.forEach((v, j) => perRecord[j]!.push(v));
      extras.push(...ex);
    });
    if (child) {
      // Followed: the record compared on the child zone's servers too, as they serve it.
      const childAnswers = await Promise.all(child.servers.map((s) => s.resolver.lookup(name, type)));
      childAnswers.forEach((answer, i) => {
        const { views, extras: ex } = compareAtServer(child.servers[i]!.name, group, answer);
        views.forEach((v, j) => perRecord[j]!.push(v));
        extras.push(...ex);
      });
      findings.push(delegationFinding(`${name} ${type}`, name, auth.zone!, child));
    }
    group.forEach((rec, j) => {
      const rep: RecordReport = { name, type, purpose: rec.purpose ?? null, planned: { value: rec.value, ttl: rec.ttl }, servers: perRecord[j]! };
      result.records.push(rep);
      findings.push(...recordFindings(rep, dkimKeyFor(plan, d, rec), skipped));
    });
  }
  findings.push(...extraFindings(extras, live.length));
  // The validators read what the first server that answered publishes (its answers are cached
  // already); a name below a zone cut, what the first server of the child zone that answers publishes.
  const belowCut = async (name: string): Promise<Resolver | null> => {
    const [first, ...rest] = (await delegation.childOf(live[0]!, name)).servers.map((s) => s.resolver);
    return first ? new FirstAnswerOf([first, ...rest]) : null;
  };
  findings.push(
    ...(await validatePublished(d.domain, composed.records, new ZoneRoutedResolver(auth.zone!, live[0]!.resolver, opts.resolver, belowCut), {
      plan: d,
      policyFetch: opts.mtaStsPolicy ?? {},
      rdns: opts.rdns === true || (d.sendingHosts?.length ?? 0) > 0,
    })),
  );
  result.status = hasFindingAtLeast(findings, opts.failOn ?? 'error') ? 'problems' : 'as-planned';
  return result;
}

/** Run the comparison over the plan's domains (a few at a time). */
export async function verifyPlan(plan: Plan, opts: VerifyOptions): Promise<VerifyReport> {
  const wanted = opts.domains?.length ? new Set(opts.domains) : null;
  const domains = plan.domains.filter((d) => !wanted || wanted.has(d.domain));
  const results: DomainVerification[] = new Array(domains.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(4, domains.length) }, async () => {
      while (next < domains.length) {
        const i = next++;
        // Each domain has the resolver's deadline to itself.
        results[i] = await withinDeadline(opts.resolver, (resolver) => verifyDomain(plan, domains[i]!, { ...opts, resolver }), domains[i]!.domain);
      }
    }),
  );
  const all = results.flatMap((r) => r.findings);
  const count = (s: Severity): number => all.filter((f) => f.severity === s).length;
  const unavailable = results.filter((r) => r.status === 'dns-unavailable').length;
  const withProblems = results.filter((r) => r.status === 'problems').length;
  const outcome: Outcome = results.length > 0 && unavailable === results.length ? 'dns-unavailable' : results.some((r) => r.status !== 'as-planned') ? 'problems' : 'ok';
  return {
    version: VERIFY_JSON_VERSION,
    outcome,
    domains: results,
    summary: { domains: results.length, asPlanned: results.length - unavailable - withProblems, withProblems, dnsUnavailable: unavailable, errors: count('error'), warnings: count('warning'), infos: count('info') },
  };
}


