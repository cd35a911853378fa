/** Turn a plan into the records it asks for: the input of every provider and of `verify`. */
import { isIPv6 } from 'node:net';
import { InputError } from '../errors.js';
import { inputLocation, isPresent, readInputFileSync } from '../fsutil.js';
import { composeDkimRecord, publicKeyFromKeyFile } from '../dkim/record.js';
import { composeDmarc, reportAuthorizationName } from '../dmarc/compose.js';
import { normalizeName } from '../names.js';
import { mxValue, soaValue, type DnsRecord } from '../records.js';
import { composeSpf } from '../spf/compose.js';
import { ownLookupCount, parseSpf, SPF_LOOKUP_LIMIT } from '../spf/parse.js';
import { composeStsPolicy, composeStsRecord, stsPolicyHost, stsRecordName, STS_POLICY_PATH } from '../mtasts/compose.js';
import { mxMatchesPattern } from '../mtasts/parse.js';
import { composeTlsRpt, tlsRptRecordName } from '../tlsrpt/compose.js';
import { bimiRecordName, composeBimi } from '../bimi/compose.js';
import { keyPathFor, tlsaSourcePath } from './selectors.js';
import { composeTlsa311, spkiFromPem, tlsaName, tlsaText } from '../dnssec/tlsa.js';
import type { DomainPlan, Plan } from './types.js';

export interface ComposedDomain {
  domain: string;
  records: DnsRecord[];
  /** Things the operator should know, e.g. a DKIM selector with no key yet. */
  notes: string[];
  /** What makes a record fail as planned (receivers return permerror for it): `records` exits 1. */
  problems: string[];
}

export interface ComposeOptions {
  /** Add SOA and NS so the result is a complete zone. */
  fullZone?: boolean;
  /** SOA serial for a full zone; defaults to today's date as YYYYMMDD01. */
  serial?: number;
}

function absoluteName(name: string, domain: string): string {
  if (name === '@' || name === '') return domain;
  if (name.endsWith('.')) return normalizeName(name);
  return normalizeName(`${name}.${domain}`);
}

function dateSerial(now = new Date()): number {
  const ymd = now.toISOString().slice(0, 10).replace(/-/g, '');
  return Number(`${ymd}01`);
}

/** The MTA-STS policy file of a domain: what to serve, on which host, at which path. */
export interface MtaStsPolicyFile {
  domain: string;
  /** The host the web server must answer for (its certificate must carry this name). */
  host: string;
  path: string;
  text: string;
}

/** The planned MTA-STS policy file, or null when the domain plans no MTA-STS. */
export function composeMtaStsPolicy(d: DomainPlan): MtaStsPolicyFile | null {
  if (!d.mtaSts) return null;
  return { domain: d.domain, host: stsPolicyHost(d.domain), path: STS_POLICY_PATH, text: composeStsPolicy(d.mtaSts) };
}

export function composeDomain(plan: Plan, d: DomainPlan, opts: ComposeOptions = {}): ComposedDomain {
  const records: DnsRecord[] = [];
  const notes: string[] = [];
  const problems: string[] = [];
  const add = (name: string, type: DnsRecord['type'], value: string, purpose: string, ttl = d.ttl): void => {
    records.push({ name, type, ttl, value, purpose });
  };

  const addresses = (host: string, list: string[], purpose: string): void => {
    for (const a of list) add(host, isIPv6(a) ? 'AAAA' : 'A', a, purpose);
  };
  if (opts.fullZone) {
    const ns = d.nameservers;
    if (!ns.length) {
      throw new InputError(
        `a full zone for ${d.domain} needs its name servers: add "nameservers: [ns1.example.net]" to the domain in the plan, or leave out --full-zone for a fragment to paste`,
        plan.file ?? undefined,
      );
    }
    add(d.domain, 'SOA', soaValue({ mname: ns[0]!.host, rname: `hostmaster.${d.domain}`, serial: opts.serial ?? dateSerial(), refresh: 3600, retry: 900, expire: 1209600, minimum: 300 }), 'soa');
    for (const n of ns) add(d.domain, 'NS', n.host, 'ns');
    for (const n of ns) addresses(n.host, n.addresses, 'ns-address');
  }
  for (const mx of d.mx) add(d.domain, 'MX', mxValue(mx.priority, mx.host), 'mx');
  for (const mx of d.mx) addresses(mx.host, mx.addresses, 'mx-address');
  for (const mx of d.mx.filter((m) => m.tlsa !== undefined)) {
    const file = tlsaSourcePath(plan, mx.tlsa!);
    let pem: string;
    try {
      pem = readInputFileSync(file, { maxBytes: 1 << 20, what: 'a certificate', fix: 'give the PEM certificate or public key of its TLS key' }).toString('utf8');
    } catch (err) {
      // Refused for what the file is (a FIFO, too large): that names the file and the fix already.
      if (err instanceof InputError) throw err;
      throw new InputError(`the tlsa file of MX host ${mx.host} cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}): give the PEM certificate or public key of its TLS key`, inputLocation(file, err));
    }
    const spki = spkiFromPem(pem);
    if (!spki) throw new InputError(`the tlsa file of MX host ${mx.host} holds no PEM certificate or key: give the PEM certificate or public key of its TLS key`, file);
    add(tlsaName(mx.host), 'TLSA', tlsaText(composeTlsa311(spki)), 'dane');
    notes.push(`DANE: the TLSA record of ${mx.host} counts only once the zone is signed and its DS is at the parent (check with \`maildns check ${d.domain} --dnssec\`); publish the new key's record before the server changes keys`);
  }
  if (d.spf) {
    const spf = composeSpf(d.spf);
    add(d.domain, 'TXT', spf, 'spf');
    // What the plan itself costs; the includes may need more, which only DNS tells (`maildns verify`).
    const parsed = parseSpf(spf);
    const terms = ownLookupCount(parsed);
    // `v=spf1 -all` is what a domain that sends no mail publishes; keys to sign with say this one sends.
    if (d.dkim.length && !parsed.redirect && parsed.mechanisms.every((m) => m.kind === 'all' && m.qualifier !== '+' && m.qualifier !== '?')) {
      notes.push(`SPF: the record of ${d.domain} ("${spf}") lets no host send as ${d.domain}, yet DKIM keys are planned for its mail; list the sending hosts in the plan's spf (ip4, ip6, include for a relay or provider) before publishing it, or receivers will fail SPF for every message`);
    }
    if (terms > SPF_LOOKUP_LIMIT) {
      problems.push(`the SPF record of ${d.domain} has ${terms} DNS-querying terms before counting what its includes need; receivers stop at ${SPF_LOOKUP_LIMIT} and return permerror (RFC 7208 §4.6.4): flatten includes (\`maildns spf flatten\`) or drop some`);
    }
  }
  for (const sel of d.dkim) {
    const keyPath = keyPathFor(plan, d, sel);
    const name = `${sel.selector}._domainkey.${d.domain}`;
    if (!isPresent(keyPath)) {
      notes.push(`DKIM selector "${sel.selector}" has no key yet (${keyPath}); run \`maildns keygen\` to create it`);
      continue;
    }
    const opts = { testing: sel.testing, ...(sel.hash ? { hash: sel.hash } : {}), ...(sel.service ? { service: sel.service } : {}) };
    add(name, 'TXT', composeDkimRecord(publicKeyFromKeyFile(keyPath, 'restore it from its backup, or replace it (`maildns keygen --force` keeps it as a backup) and publish the new record'), opts), `dkim:${sel.selector}`);
  }
  if (d.dmarc) add(`_dmarc.${d.domain}`, 'TXT', composeDmarc(d.dmarc), 'dmarc');
  const sts = composeMtaStsPolicy(d);
  if (sts) {
    add(stsRecordName(d.domain), 'TXT', composeStsRecord(sts.text), 'mta-sts');
    if (d.mtaSts!.mode !== 'none') {
      for (const mx of d.mx.filter((m) => !d.mtaSts!.mx.some((p) => mxMatchesPattern(m.host, p)))) {
        notes.push(`MTA-STS: the MX host ${mx.host} matches no mx pattern of the policy; senders that enforce it will not deliver there`);
      }
    }
  }
  if (d.tlsRpt) add(tlsRptRecordName(d.domain), 'TXT', composeTlsRpt(d.tlsRpt.rua), 'tls-rpt');
  if (d.bimi) {
    add(bimiRecordName(d.bimi.selector, d.domain), 'TXT', composeBimi(d.bimi), 'bimi');
    // BIMI logos are shown only under an enforced DMARC policy.
    const dm = d.dmarc;
    const why = !dm ? 'the plan has no dmarc' : dm.p === 'none' ? 'dmarc p is none' : dm.sp === 'none' ? 'dmarc sp is none' : dm.p === 'quarantine' && dm.pct !== undefined && dm.pct < 100 ? `dmarc pct is ${dm.pct} with p=quarantine` : null;
    if (why && d.bimi.logo) notes.push(`BIMI: receivers will show no logo because ${why}; BIMI needs p=quarantine or p=reject on all mail`);
  }
  for (const source of d.acceptReportsFor) add(reportAuthorizationName(source, d.domain), 'TXT', 'v=DMARC1', 'dmarc-report-authorization');
  for (const t of d.txt) add(absoluteName(t.name, d.domain), 'TXT', t.value, 'txt', t.ttl ?? d.ttl);
  return { domain: d.domain, records, notes, problems };
}

export function composePlan(plan: Plan, opts: ComposeOptions = {}): ComposedDomain[] {
  return plan.domains.map((d) => composeDomain(plan, d, opts));
}
