/**
 * Read and validate a plan file (YAML, or JSON, which YAML 1.2 reads too). Every error names
 * the file, the line and the key, and says how to fix it.
 */
import path from 'node:path';
import { isIP } from 'node:net';
import { LineCounter, parseDocument, isNode, type Document } from 'yaml';
import { InputError, PlanError } from '../errors.js';
import { addressFamily, parseIpv4, parseIpv6 } from '../ipv6.js';
import { failedOn, inputLocation, readInputFile, readInputFileSync } from '../fsutil.js';
import { dkimSelectorProblem, domainNameProblem, isAtOrBelow, normalizeName, recordNameProblem, sendingDomainProblem } from '../names.js';
import { spfNetworkProblem } from '../spf/ip.js';
import { isSpfRecord } from '../spf/parse.js';
import { reportUriFor } from '../dmarc/compose.js';
import { isMxPattern } from '../mtasts/parse.js';
import {
  DEFAULT_RETIRE_AFTER_DAYS,
  DKIM_ALGORITHMS,
  DMARC_POLICIES,
  MTA_STS_MODES,
  SPF_ALL_VALUES,
  type DkimSelectorPlan,
  type DmarcPlan,
  type DomainPlan,
  type ExtraTxtPlan,
  type MailHostPlan,
  type MxPlan,
  type NameserverPlan,
  type Plan,
  type SpfPlan,
  type RelayPlan,
  type SubmissionPlan,
  type MtaStsPlan,
  type TlsRptPlan,
  type BimiPlan,
  type SendingHostPlan,
} from './types.js';

const DEFAULT_TTL = 3600;

type Key = string | number;



/** Walks the parsed document and turns each problem into a `file:line: key: message` error. */
class PlanReader {
  constructor(
    private readonly file: string,
    private readonly doc: Document,
    private readonly lines: LineCounter,
  ) {}

  fail(at: Key[], message: string): never {
    const key = at.map((k, i) => (typeof k === 'number' ? `[${k}]` : i === 0 ? k : `.${k}`)).join('');
    throw new PlanError(key ? `${key} ${message}` : message, this.file, this.lineOf(at));
  }

  lineOf(at: Key[]): number {
    for (let n = at.length; n >= 0; n--) {
      const node = at.length ? this.doc.getIn(at.slice(0, n), true) : this.doc.contents;
      if (isNode(node) && node.range) return this.lines.linePos(node.range[0]).line;
    }
    return 1;
  }

  object(value: unknown, at: Key[], allowed: readonly string[]): Record<string, unknown> {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) this.fail(at, 'must be a mapping of keys to values');
    const obj = value as Record<string, unknown>;
    for (const key of Object.keys(obj)) {
      if (!allowed.includes(key)) this.fail([...at, key], `is not a known key (known here: ${allowed.join(', ')})`);
    }
    return obj;
  }

  string(value: unknown, at: Key[]): string {
    if (typeof value === 'number') return String(value);
    if (typeof value !== 'string' || value.trim() === '') this.fail(at, 'must be a non-empty string');
    return value.trim();
  }

  optionalString(value: unknown, at: Key[]): string | undefined {
    return value === undefined || value === null ? undefined : this.string(value, at);
  }

  integer(value: unknown, at: Key[], min: number, max: number): number {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      this.fail(at, `must be a whole number from ${min} to ${max} (got ${JSON.stringify(value)})`);
    }
    return value;
  }

  /** A calendar day written YYYY-MM-DD. */
  date(value: unknown, at: Key[]): string {
    const day = typeof value === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(value) ? new Date(`${value}T00:00:00Z`) : null;
    // 2026-02-30 parses as a valid time in March: only a day that reads back the same is one.
    const ok = day !== null && !Number.isNaN(day.getTime()) && day.toISOString().startsWith(value as string);
    if (!ok) this.fail(at, `must be a date written YYYY-MM-DD (got ${JSON.stringify(value)})`);
    return value as string;
  }

  boolean(value: unknown, at: Key[]): boolean {
    if (typeof value !== 'boolean') this.fail(at, `must be true or false (got ${JSON.stringify(value)})`);
    return value;
  }

  oneOf<T extends string>(value: unknown, at: Key[], allowed: readonly T[]): T {
    if (typeof value !== 'string' || !allowed.includes(value as T)) {
      this.fail(at, `must be one of ${allowed.join(', ')} (got ${JSON.stringify(value)})`);
    }
    return value as T;
  }

  list(value: unknown): unknown[] {
    if (value === undefined || value === null) return [];
    if (!Array.isArray(value)) return [value];
    return value;
  }

  stringList(value: unknown, at: Key[]): string[] {
    return this.list(value).map((v, i) => this.string(v, Array.isArray(value) ? [...at, i] : at));
  }

  domainName(value: unknown, at: Key[]): string {
    const name = this.string(value, at);
    const problem = domainNameProblem(name);
    if (problem) this.fail(at, `${problem}; write a domain name such as example.com`);
    return normalizeName(name);
  }

  /** The host an MX or NS record names: a domain name, never an address (RFC 5321 §5.1, RFC 1035 §3.3.9). */
  hostName(value: unknown, at: Key[], domain: string, kind: 'MX' | 'NS'): string {
    const name = this.string(value, at);
    const bare = normalizeName(name).replace(/^\[|\]$/g, '');
    const example = kind === 'MX' ? `mail.${domain}` : `ns1.${domain}`;
    if (isIP(bare)) this.fail(at, `"${name}" is an address, and an ${kind} record names a host, whose A or AAAA record holds the address: write a host name, such as ${example} with addresses: [${bare}]`);
    return this.domainName(value, at);
  }

  /** A domain mail is sent from: the stricter rule of sendingDomainProblem. */
  sendingDomain(value: unknown, at: Key[]): string {
    const name = this.string(value, at);
    const problem = sendingDomainProblem(name);
    if (problem) this.fail(at, problem);
    return normalizeName(name);
  }
}

function readSpf(r: PlanReader, value: unknown, at: Key[]): SpfPlan {
  const o = r.object(value, at, ['record', 'ip4', 'ip6', 'a', 'mx', 'include', 'exists', 'redirect', 'all']);
  const record = r.optionalString(o['record'], [...at, 'record']);
  if (record !== undefined && !isSpfRecord(record)) r.fail([...at, 'record'], 'must start with "v=spf1 " (RFC 7208 §4.5)');
  const networks = (key: 'ip4' | 'ip6', family: 4 | 6): string[] =>
    r.stringList(o[key], [...at, key]).map((net, i) => {
      const problem = spfNetworkProblem(net, family);
      if (problem) r.fail(Array.isArray(o[key]) ? [...at, key, i] : [...at, key], problem);
      return net;
    });
  const hostsOrFlag = (key: 'a' | 'mx'): boolean | string[] => {
    const v = o[key];
    if (v === undefined || typeof v === 'boolean') return v ?? false;
    return r.list(v).map((h, i) => r.domainName(h, [...at, key, i]));
  };
  const redirect = o['redirect'] === undefined ? undefined : r.domainName(o['redirect'], [...at, 'redirect']);
  const spf: SpfPlan = {
    ip4: networks('ip4', 4),
    ip6: networks('ip6', 6),
    a: hostsOrFlag('a'),
    mx: hostsOrFlag('mx'),
    include: r.stringList(o['include'], [...at, 'include']).map((d, i) => r.domainName(d, [...at, 'include', i])),
    exists: r.stringList(o['exists'], [...at, 'exists']),
    all: o['all'] === undefined ? '-all' : r.oneOf(o['all'], [...at, 'all'], SPF_ALL_VALUES),
  };
  if (record !== undefined) spf.record = record;
  if (redirect !== undefined) spf.redirect = redirect;
  return spf;
}

function readDkim(r: PlanReader, value: unknown, at: Key[], domain: string): DkimSelectorPlan[] {
  const seen = new Set<string>();
  return r.list(value).map((entry, i) => {
    const here = Array.isArray(value) ? [...at, i] : at;
    const o = r.object(typeof entry === 'string' ? { selector: entry } : entry, here, ['selector', 'algorithm', 'key', 'testing', 'hash', 'service', 'state', 'since']);
    const selector = r.string(o['selector'], [...here, 'selector']).toLowerCase();
    const selectorProblem = dkimSelectorProblem(selector, domain);
    if (selectorProblem) r.fail([...here, 'selector'], `"${selector}" ${selectorProblem}`);
    if (seen.has(selector)) r.fail([...here, 'selector'], `"${selector}" is listed twice for this domain`);
    seen.add(selector);
    const sel: DkimSelectorPlan = {
      selector,
      algorithm: o['algorithm'] === undefined ? 'rsa-2048' : r.oneOf(o['algorithm'], [...here, 'algorithm'], DKIM_ALGORITHMS),
      testing: o['testing'] === undefined ? false : r.boolean(o['testing'], [...here, 'testing']),
    };
    const key = r.optionalString(o['key'], [...here, 'key']);
    if (key !== undefined) sel.key = key;
    if (o['hash'] !== undefined) sel.hash = r.stringList(o['hash'], [...here, 'hash']).map((h, j) => r.oneOf(h, [...here, 'hash', j], ['sha256', 'sha1']));
    if (o['service'] !== undefined) sel.service = r.oneOf(o['service'], [...here, 'service'], ['email', '*']);
    if (o['state'] !== undefined) sel.state = r.oneOf(o['state'], [...here, 'state'], ['active', 'published', 'retiring'] as const);
    if (o['since'] !== undefined) sel.since = r.date(o['since'], [...here, 'since']);
    return sel;
  });
}

function readDmarc(r: PlanReader, value: unknown, at: Key[]): DmarcPlan {
  const o = r.object(value, at, ['p', 'sp', 'np', 'adkim', 'aspf', 'rua', 'ruf', 'fo', 'pct', 'ri', 'rf', 't', 'psd']);
  const uris = (key: 'rua' | 'ruf'): string[] =>
    r.stringList(o[key], [...at, key]).map((u, i) => {
      const checked = reportUriFor(u, key);
      if ('problem' in checked) r.fail([...at, key, Array.isArray(o[key]) ? i : 0].slice(0, Array.isArray(o[key]) ? undefined : -1), checked.problem);
      return checked.uri;
    });
  const dmarc: DmarcPlan = {
    p: o['p'] === undefined ? r.fail([...at], 'needs a policy: add "p: none", "p: quarantine" or "p: reject"') : r.oneOf(o['p'], [...at, 'p'], DMARC_POLICIES),
    rua: uris('rua'),
    ruf: uris('ruf'),
  };
  if (o['sp'] !== undefined) dmarc.sp = r.oneOf(o['sp'], [...at, 'sp'], DMARC_POLICIES);
  if (o['np'] !== undefined) dmarc.np = r.oneOf(o['np'], [...at, 'np'], DMARC_POLICIES);
  if (o['adkim'] !== undefined) dmarc.adkim = r.oneOf(o['adkim'], [...at, 'adkim'], ['r', 's'] as const);
  if (o['aspf'] !== undefined) dmarc.aspf = r.oneOf(o['aspf'], [...at, 'aspf'], ['r', 's'] as const);
  if (o['fo'] !== undefined) {
    const fo = r.string(o['fo'], [...at, 'fo']);
    if (!/^[01ds](:[01ds])*$/.test(fo)) r.fail([...at, 'fo'], `must be 0, 1, d or s, joined by ":" (got "${fo}")`);
    dmarc.fo = fo;
  }
  if (o['pct'] !== undefined) dmarc.pct = r.integer(o['pct'], [...at, 'pct'], 0, 100);
  if (o['ri'] !== undefined) dmarc.ri = r.integer(o['ri'], [...at, 'ri'], 0, 2 ** 32 - 1);
  if (o['rf'] !== undefined) dmarc.rf = r.oneOf(o['rf'], [...at, 'rf'], ['afrf'] as const);
  if (o['t'] !== undefined) dmarc.t = r.oneOf(o['t'], [...at, 't'], ['y', 'n'] as const);
  if (o['psd'] !== undefined) dmarc.psd = r.oneOf(o['psd'], [...at, 'psd'], ['y', 'n', 'u'] as const);
  return dmarc;
}

/** Why `a` cannot be a planned address (published as A or AAAA, or named by a PTR record), or null. */
function addressProblem(a: string): string | null {
  if (addressFamily(a) !== 0) return null;
  if (isIP(a) === 6) return `must be an address without a zone index (got "${a}"): ${a.slice(a.indexOf('%'))} means something on one host only`;
  return `must be an IPv4 or IPv6 address (got "${a}")`;
}

function readAddresses(r: PlanReader, value: unknown, at: Key[]): string[] {
  const seen = new Map<string, string>();
  return r.stringList(value, at).map((a, i) => {
    const here = Array.isArray(value) ? [...at, i] : at;
    const problem = addressProblem(a);
    if (problem) r.fail(here, problem);
    // One address in two forms (::ffff:192.0.2.1, 0:0:0:0:0:ffff:192.0.2.1) would be one record twice in the RRset.
    const octets = Buffer.from(parseIpv4(a) ?? parseIpv6(a)!).toString('hex');
    const before = seen.get(octets);
    if (before !== undefined) r.fail(here, `is "${a}", the address "${before}" already listed${before === a ? '' : ' in another form'}; list each address once`);
    seen.set(octets, a);
    return a;
  });
}

function readMx(r: PlanReader, value: unknown, at: Key[], domain: string): MxPlan[] {
  return r.list(value).map((entry, i) => {
    const here = Array.isArray(value) ? [...at, i] : at;
    if (typeof entry === 'string') return { host: r.hostName(entry, here, domain, 'MX'), priority: 10 * (i + 1), addresses: [] };
    const o = r.object(entry, here, ['host', 'priority', 'addresses', 'tlsa']);
    return {
      host: r.hostName(o['host'], [...here, 'host'], domain, 'MX'),
      priority: o['priority'] === undefined ? 10 * (i + 1) : r.integer(o['priority'], [...here, 'priority'], 0, 65535),
      addresses: readAddresses(r, o['addresses'], [...here, 'addresses']),
      ...(o['tlsa'] !== undefined ? { tlsa: r.string(o['tlsa'], [...here, 'tlsa']) } : {}),
    };
  });
}

function readNameservers(r: PlanReader, value: unknown, at: Key[], domain: string): NameserverPlan[] {
  return r.list(value).map((entry, i) => {
    const here = Array.isArray(value) ? [...at, i] : at;
    if (typeof entry === 'string') return { host: r.hostName(entry, here, domain, 'NS'), addresses: [] };
    const o = r.object(entry, here, ['host', 'addresses']);
    return { host: r.hostName(o['host'], [...here, 'host'], domain, 'NS'), addresses: readAddresses(r, o['addresses'], [...here, 'addresses']) };
  });
}

function readTxt(r: PlanReader, value: unknown, at: Key[], ttlDefault: number, domain: string): ExtraTxtPlan[] {
  return r.list(value).map((entry, i) => {
    const here = Array.isArray(value) ? [...at, i] : at;
    const o = r.object(entry, here, ['name', 'value', 'ttl']);
    const name = r.string(o['name'] ?? '@', [...here, 'name']);
    const nameProblem = recordNameProblem(name, domain);
    if (nameProblem) r.fail([...here, 'name'], `"${name}" ${nameProblem}`);
    const txt: ExtraTxtPlan = { name, value: r.string(o['value'], [...here, 'value']) };
    if (o['ttl'] !== undefined) txt.ttl = r.integer(o['ttl'], [...here, 'ttl'], 0, 2 ** 31 - 1);
    else txt.ttl = ttlDefault;
    return txt;
  });
}

/** RFC 8461 §3.2: max_age is at most a year; a week is the common choice. */
const MTA_STS_MAX_AGE_LIMIT = 31_557_600;
const MTA_STS_DEFAULT_MAX_AGE = 604_800;

function readMtaSts(r: PlanReader, value: unknown, at: Key[], mx: MxPlan[]): MtaStsPlan {
  const o = r.object(value, at, ['mode', 'mx', 'max_age']);
  const mode = o['mode'] === undefined ? r.fail(at, 'needs a mode: add "mode: testing" (then "enforce" once TLS reports are clean)') : r.oneOf(o['mode'], [...at, 'mode'], MTA_STS_MODES);
  const patterns =
    o['mx'] === undefined
      ? mx.map((m) => m.host)
      : r.stringList(o['mx'], [...at, 'mx']).map((p, i) => {
          if (!isMxPattern(p)) r.fail(Array.isArray(o['mx']) ? [...at, 'mx', i] : [...at, 'mx'], `must be a host name or "*." and a domain, such as mail.example.com or *.example.net (got "${p}")`);
          return p.toLowerCase().replace(/\.$/, '');
        });
  if (mode !== 'none' && patterns.length === 0) r.fail(at, `mode ${mode} needs the MX hosts the policy allows: add "mx: [mail.example.com]" here or list the domain's mx`);
  const maxAge = o['max_age'] === undefined ? MTA_STS_DEFAULT_MAX_AGE : r.integer(o['max_age'], [...at, 'max_age'], 0, MTA_STS_MAX_AGE_LIMIT);
  return { mode, mx: patterns, maxAge };
}

/** A report or logo URI goes into a `tag=value;` record: it cannot carry ";" or "," (RFC 8460 §3 and the BIMI draft split on them). */
function httpsOrMailto(r: PlanReader, value: string, at: Key[], schemes: readonly ('mailto' | 'https')[], example: string): string {
  const uri = schemes.includes('mailto') && !/^[a-z][a-z0-9+.-]*:/i.test(value) ? `mailto:${value}` : value;
  const ok =
    !/[;,\s]/.test(uri) &&
    ((schemes.includes('mailto') && /^mailto:[^@]+@[^@]+\.[^@]+$/i.test(uri)) || (schemes.includes('https') && /^https:\/\/[^/?#]+\.[^/?#]+(\/\S*)?$/i.test(uri)));
  if (!ok) r.fail(at, `must be ${example} (got "${value}")`);
  return uri;
}

function readTlsRpt(r: PlanReader, value: unknown, at: Key[]): TlsRptPlan {
  const o = r.object(value, at, ['rua']);
  const list = r.stringList(o['rua'], [...at, 'rua']);
  if (list.length === 0) r.fail([...at], 'needs "rua": where TLS reports go, such as rua: [mailto:tls-reports@example.com]');
  return { rua: list.map((u, i) => httpsOrMailto(r, u, Array.isArray(o['rua']) ? [...at, 'rua', i] : [...at, 'rua'], ['mailto', 'https'], 'a mailto: address or an https: URL, such as mailto:tls-reports@example.com')) };
}

function readBimi(r: PlanReader, value: unknown, at: Key[]): BimiPlan {
  const o = r.object(value, at, ['selector', 'logo', 'authority']);
  const selector = o['selector'] === undefined ? 'default' : r.string(o['selector'], [...at, 'selector']).toLowerCase();
  if (!/^[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?$/.test(selector)) r.fail([...at, 'selector'], `"${selector}" is not a valid BIMI selector (one label: letters, digits, "-", "_")`);
  // An empty logo is a declination record ("l=;"): the domain asks for no logo to be shown.
  const url = (key: 'logo' | 'authority', example: string): string =>
    o[key] === undefined || o[key] === null || o[key] === '' ? '' : httpsOrMailto(r, r.string(o[key], [...at, key]), [...at, key], ['https'], example);
  const logo = url('logo', 'an https: URL of the SVG logo, such as https://example.com/bimi/logo.svg');
  if (logo && !/\.svg$/i.test(new URL(logo).pathname)) r.fail([...at, 'logo'], `must be the URL of an SVG file (…/logo.svg), got "${logo}"`);
  if (o['logo'] === undefined) r.fail(at, 'needs "logo": the https: URL of the SVG logo (or logo: "" to decline)');
  return { selector, logo, authority: url('authority', 'an https: URL of the mark certificate (PEM), such as https://example.com/bimi/vmc.pem') };
}

function readSendingHosts(r: PlanReader, value: unknown, at: Key[]): SendingHostPlan[] {
  return r.list(value).map((entry, i) => {
    const here = Array.isArray(value) ? [...at, i] : at;
    const o = r.object(typeof entry === 'string' ? { address: entry } : entry, here, ['address', 'helo']);
    const address = r.string(o['address'], [...here, 'address']);
    const problem = addressProblem(address);
    if (problem) r.fail([...here, 'address'], problem);
    const host: SendingHostPlan = { address };
    if (o['helo'] !== undefined) host.helo = r.domainName(o['helo'], [...here, 'helo']);
    return host;
  });
}

function readDomain(r: PlanReader, value: unknown, at: Key[], ttlDefault: number): DomainPlan {
  const o = r.object(value, at, ['domain', 'ttl', 'mx', 'spf', 'dkim', 'dmarc', 'txt', 'nameservers', 'accept_reports_for', 'mta_sts', 'tls_rpt', 'bimi', 'sending_hosts']);
  const ttl = o['ttl'] === undefined ? ttlDefault : r.integer(o['ttl'], [...at, 'ttl'], 0, 2 ** 31 - 1);
  const domain = r.sendingDomain(o['domain'], [...at, 'domain']);
  const plan: DomainPlan = {
    domain,
    ttl,
    mx: readMx(r, o['mx'], [...at, 'mx'], domain),
    dkim: readDkim(r, o['dkim'], [...at, 'dkim'], domain),
    txt: readTxt(r, o['txt'], [...at, 'txt'], ttl, domain),
    nameservers: readNameservers(r, o['nameservers'], [...at, 'nameservers'], domain),
    acceptReportsFor: r.stringList(o['accept_reports_for'], [...at, 'accept_reports_for']).map((d, i) =>
      d === '*' ? d : r.domainName(d, [...at, 'accept_reports_for', i]),
    ),
  };
  plan.mx.forEach((mx, i) => {
    if (mx.addresses.length && !isAtOrBelow(mx.host, plan.domain)) {
      r.fail([...at, 'mx', i, 'addresses'], `can only be given for a mail host inside ${plan.domain}; ${mx.host} is published in its own zone`);
    }
    if (mx.tlsa !== undefined && !isAtOrBelow(mx.host, plan.domain)) {
      r.fail([...at, 'mx', i, 'tlsa'], `can only be given for a mail host inside ${plan.domain}; publish the TLSA record of ${mx.host} in its own zone`);
    }
  });
  if (o['spf'] !== undefined && o['spf'] !== null) plan.spf = readSpf(r, o['spf'], [...at, 'spf']);
  if (o['dmarc'] !== undefined && o['dmarc'] !== null) plan.dmarc = readDmarc(r, o['dmarc'], [...at, 'dmarc']);
  if (o['mta_sts'] !== undefined && o['mta_sts'] !== null) plan.mtaSts = readMtaSts(r, o['mta_sts'], [...at, 'mta_sts'], plan.mx);
  if (o['tls_rpt'] !== undefined && o['tls_rpt'] !== null) plan.tlsRpt = readTlsRpt(r, o['tls_rpt'], [...at, 'tls_rpt']);
  if (o['bimi'] !== undefined && o['bimi'] !== null) plan.bimi = readBimi(r, o['bimi'], [...at, 'bimi']);
  if (o['sending_hosts'] !== undefined && o['sending_hosts'] !== null) plan.sendingHosts = readSendingHosts(r, o['sending_hosts'], [...at, 'sending_hosts']);
  return plan;
}

/** Debian's mynetworks: the loopback addresses only. */
const DEFAULT_MYNETWORKS = ['127.0.0.0/8', '[::ffff:127.0.0.0]/104', '[::1]/128'];

/** A network for mynetworks in Postfix's form: IPv6 in brackets ([2001:db8::]/32). */
function readNetwork(r: PlanReader, value: unknown, at: Key[]): string {
  const text = r.string(value, at);
  const m = /^\[?([^\]/]+)\]?(?:\/(\d+))?$/.exec(text);
  const family = m ? isIP(m[1]!) : 0;
  const len = m?.[2] === undefined ? undefined : Number(m[2]);
  if (!m || family === 0 || (len !== undefined && len > (family === 4 ? 32 : 128))) {
    r.fail(at, `must be an IPv4 or IPv6 network such as 192.0.2.0/24 or [2001:db8::]/32 (got "${text}")`);
  }
  if (len === 0) r.fail(at, `"${text}" lets every client on the internet relay through the host (an open relay); list only your own networks`);
  const net = family === 6 ? `[${m[1]}]` : m[1]!;
  return len === undefined ? net : `${net}/${len}`;
}

function readRelay(r: PlanReader, value: unknown, at: Key[], file: string): RelayPlan {
  const o = r.object(value, at, ['host', 'port', 'username', 'password_file', 'password_env', 'spf_include', 'password']);
  if (o['password'] !== undefined) {
    r.fail([...at, 'password'], 'is not read: the password never goes in the plan; put it in a file of its own (mode 0600) and name it with password_file, or name an environment variable with password_env');
  }
  const hostText = r.string(o['host'], [...at, 'host']);
  const host = isIP(hostText.replace(/^\[|\]$/g, '')) ? hostText.replace(/^\[|\]$/g, '') : r.domainName(hostText, [...at, 'host']);
  const relay: RelayPlan = { host, port: o['port'] === undefined ? 587 : r.integer(o['port'], [...at, 'port'], 1, 65535) };
  const username = r.optionalString(o['username'], [...at, 'username']);
  const passwordFile = r.optionalString(o['password_file'], [...at, 'password_file']);
  const passwordEnv = r.optionalString(o['password_env'], [...at, 'password_env']);
  if (passwordFile !== undefined && passwordEnv !== undefined) r.fail([...at, 'password_env'], 'and password_file both name the password: keep one');
  if (username !== undefined) {
    if (/[\s:]/.test(username)) r.fail([...at, 'username'], `must not contain white space or ":" (Postfix's password map splits "user:password" at the first ":")`);
    relay.username = username;
    if (passwordFile === undefined && passwordEnv === undefined) r.fail([...at, 'username'], 'needs its password source: add password_file (a file holding only the password, mode 0600) or password_env (an environment variable)');
  } else if (passwordFile !== undefined || passwordEnv !== undefined) {
    r.fail([...at, passwordFile !== undefined ? 'password_file' : 'password_env'], 'needs "username", the SMTP AUTH user at the provider');
  }
  if (passwordFile !== undefined) relay.password = { kind: 'file', name: path.resolve(path.dirname(file), passwordFile), file, line: r.lineOf([...at, 'password_file']) };
  if (passwordEnv !== undefined) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(passwordEnv)) r.fail([...at, 'password_env'], `must be an environment variable's name such as RELAY_PASSWORD (got "${passwordEnv}")`);
    relay.password = { kind: 'env', name: passwordEnv, file, line: r.lineOf([...at, 'password_env']) };
  }
  if (o['spf_include'] !== undefined) relay.spfInclude = r.domainName(o['spf_include'], [...at, 'spf_include']);
  return relay;
}

function readSubmission(r: PlanReader, value: unknown, at: Key[]): SubmissionPlan {
  const o = r.object(value === true ? {} : value, at, ['port', 'sasl', 'tls_cert', 'tls_key']);
  return {
    port: o['port'] === undefined ? 587 : r.integer(o['port'], [...at, 'port'], 1, 65535),
    sasl: o['sasl'] === undefined ? 'dovecot' : r.oneOf(o['sasl'], [...at, 'sasl'], ['dovecot', 'cyrus'] as const),
    // Debian's snakeoil pair (package ssl-cert): enough to encrypt; clients that check names want a real certificate.
    tlsCert: r.optionalString(o['tls_cert'], [...at, 'tls_cert']) ?? '/etc/ssl/certs/ssl-cert-snakeoil.pem',
    tlsKey: r.optionalString(o['tls_key'], [...at, 'tls_key']) ?? '/etc/ssl/private/ssl-cert-snakeoil.key',
  };
}

function readMailHost(r: PlanReader, value: unknown, at: Key[], domains: readonly DomainPlan[], file: string): MailHostPlan {
  const o = r.object(value, at, ['hostname', 'domain', 'mynetworks', 'relay', 'submission']);
  const domain = o['domain'] === undefined ? domains[0]!.domain : r.domainName(o['domain'], [...at, 'domain']);
  const planned = domains.find((d) => d.domain === domain);
  if (!planned) r.fail([...at, 'domain'], `"${domain}" is not one of the plan's domains (${domains.map((d) => d.domain).join(', ')}): the mail host sends for a planned domain`);
  let hostname: string;
  if (o['hostname'] !== undefined) hostname = r.domainName(o['hostname'], [...at, 'hostname']);
  else {
    // The domain's own MX host is the usual name of the host that sends for it.
    const mx = planned.mx.find((m) => isAtOrBelow(m.host, domain));
    if (!mx) r.fail(at, `needs "hostname", the mail host's name (myhostname), e.g. mail.${domain}`);
    hostname = mx.host;
  }
  if (!hostname.includes('.')) r.fail([...at, 'hostname'], `must be a full name such as mail.${domain} (got "${hostname}")`);
  const mynetworks = o['mynetworks'] === undefined ? DEFAULT_MYNETWORKS : r.list(o['mynetworks']).map((n, i) => readNetwork(r, n, Array.isArray(o['mynetworks']) ? [...at, 'mynetworks', i] : [...at, 'mynetworks']));
  const host: MailHostPlan = { hostname, domain, mynetworks };
  if (o['relay'] !== undefined && o['relay'] !== null) host.relay = readRelay(r, o['relay'], [...at, 'relay'], file);
  if (o['submission'] !== undefined && o['submission'] !== null && o['submission'] !== false) host.submission = readSubmission(r, o['submission'], [...at, 'submission']);
  return host;
}

/** Parse plan text; `file` is used in messages and to resolve relative paths. */
export function parsePlan(text: string, file: string): Plan {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const r = new PlanReader(file, doc, lines);
  if (doc.errors.length) {
    const e = doc.errors[0]!;
    // With prettyErrors off the error carries only an offset; the line counter turns it into line and column.
    const { line, col } = lines.linePos(e.pos[0]);
    throw new PlanError(`not valid YAML or JSON: ${e.message.split('\n')[0]}`, file, line, col);
  }
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    // An alias to nothing, or aliases that expand without bound ("billion laughs").
    throw new PlanError(`not a usable YAML document: ${(err as Error).message.split('\n')[0]}; write the values out instead of using aliases`, file);
  }
  const root = r.object(value, [], ['version', 'defaults', 'domains', 'mail_host']);
  if (root['version'] !== undefined && root['version'] !== 1) r.fail(['version'], 'must be 1 (the only plan version this maildns reads)');
  const defaults = r.object(root['defaults'] ?? {}, ['defaults'], ['ttl', 'keys_dir', 'dkim_retire_after_days']);
  const ttl = defaults['ttl'] === undefined ? DEFAULT_TTL : r.integer(defaults['ttl'], ['defaults', 'ttl'], 0, 2 ** 31 - 1);
  const keysDirText = defaults['keys_dir'] === undefined ? 'keys' : r.string(defaults['keys_dir'], ['defaults', 'keys_dir']);
  const retireAfter = defaults['dkim_retire_after_days'] === undefined ? DEFAULT_RETIRE_AFTER_DAYS : r.integer(defaults['dkim_retire_after_days'], ['defaults', 'dkim_retire_after_days'], 0, 3650);
  const domainsValue = root['domains'];
  if (!Array.isArray(domainsValue) || domainsValue.length === 0) return r.fail(['domains'], 'must list at least one domain (see `maildns init`)');
  const domains = domainsValue.map((d, i) => readDomain(r, d, ['domains', i], ttl));
  const seen = new Set<string>();
  domains.forEach((d, i) => {
    if (seen.has(d.domain)) r.fail(['domains', i, 'domain'], `"${d.domain}" is planned twice; merge the two entries`);
    seen.add(d.domain);
  });
  const plan: Plan = { file, keysDir: path.resolve(path.dirname(file), keysDirText), dkimRetireAfterDays: retireAfter, domains };
  if (root['mail_host'] !== undefined && root['mail_host'] !== null) plan.mailHost = readMailHost(r, root['mail_host'], ['mail_host'], domains, file);
  return plan;
}

/** How a plan file is read (src/fsutil.ts): a plan of thousands of domains is a few megabytes. */
export const PLAN_INPUT = { maxBytes: 16 << 20, what: 'a plan', fix: 'is this the plan file?' } as const;

function planUnreadable(err: unknown, file: string): never {
  if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new InputError(`plan file not found; create one with \`maildns init <domain>\`, or name the plan that exists`, inputLocation(file, err));
  failedOn(err, file, 'read the plan');
}

/**
 * The plan in `file`, read whole and bounded (readInputFileSync): a pipe or a device (a FIFO,
 * /dev/zero) is refused at once, not waited on. readPlanFile also takes a pipe.
 */
export function loadPlan(file: string): Plan {
  let text: string;
  try {
    text = readInputFileSync(file, PLAN_INPUT).toString('utf8');
  } catch (err) {
    planUnreadable(err, file);
  }
  return parsePlan(text, file);
}

/**
 * The plan in `file`, as the commands read it: a regular file, or a pipe (a shell's <(…), a FIFO)
 * read to its end within the input deadline (readInputFile), as sign reads a message.
 */
export async function readPlanFile(file: string, opts: { deadlineMs?: number } = {}): Promise<Plan> {
  let text: string;
  try {
    text = (await readInputFile(file, { ...PLAN_INPUT, ...opts })).toString('utf8');
  } catch (err) {
    planUnreadable(err, file);
  }
  return parsePlan(text, file);
}

