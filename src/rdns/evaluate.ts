/**
 * Forward-confirmed reverse DNS of a domain's sending addresses: each address has a PTR record
 * whose name resolves back to the address (RFC 1912 §2.1), and that name is the one the host gives
 * in HELO when the plan says what that is. Receivers commonly refuse or mark mail from addresses
 * that fail this.
 *
 * The sending addresses come from the plan (SPF ip4/ip6 single hosts, MX hosts, sending_hosts) or,
 * without a plan, from what the domain publishes (the SPF record's single-host ip4/ip6 terms and the
 * MX hosts' addresses).
 */
import { temporaryFinding } from '../dns/failure.js';
import { describeStatus, isTemporary, txtValues, type Resolver } from '../dns/resolver.js';
import type { Finding } from '../findings.js';
import { isSpfRecord, parseSpf } from '../spf/parse.js';
import { parseIp } from '../spf/ip.js';
import type { DomainPlan } from '../plan/types.js';
import { canonicalIp, reverseLookupName } from './compose.js';

export interface SendingAddress {
  address: string;
  /** Where the address comes from, e.g. `spf ip4:192.0.2.1` or `mx mail.example.com`. */
  source: string;
  /** The HELO name the host uses, when known. */
  helo?: string;
}

type ReverseDnsState = 'confirmed' | 'not-confirmed' | 'no-ptr' | 'dns-error';

export interface ReverseDnsResult {
  address: string;
  source: string;
  reverseName: string;
  /** The PTR names published for the address. */
  ptr: string[];
  /** The PTR name that resolves back to the address (forward-confirmed), or null. */
  confirmedName: string | null;
  helo?: string;
  state: ReverseDnsState;
}

export interface ReverseDnsReport {
  results: ReverseDnsResult[];
  findings: Finding[];
  dnsFailed: boolean;
}

/** At most this many PTR names per address are followed forward (a long list is itself a problem). */
const MAX_PTR_FOLLOWED = 10;

/** A single host of an ip4/ip6 term: no prefix, or /32 and /128. */
function singleHost(address: string | undefined, cidr: number | undefined, full: number): string | null {
  if (!address) return null;
  return cidr === undefined || cidr === full ? address : null;
}

/** The addresses of a host (A and AAAA). */
async function hostAddresses(resolver: Resolver, host: string): Promise<{ addresses: string[]; failed: Finding | null }> {
  const [a, aaaa] = await Promise.all([resolver.lookup(host, 'A'), resolver.lookup(host, 'AAAA')]);
  const failed = isTemporary(a.status) ? temporaryFinding('rdns', host, `the address of ${host}`, a) : isTemporary(aaaa.status) ? temporaryFinding('rdns', host, `the address of ${host}`, aaaa) : null;
  return { addresses: [...a.records, ...aaaa.records], failed };
}

/** Merge addresses that are the same in another text form; a later HELO fills an earlier gap. */
function dedupe(list: SendingAddress[]): SendingAddress[] {
  const byIp = new Map<string, SendingAddress>();
  for (const s of list) {
    const key = canonicalIp(s.address) ?? s.address;
    const seen = byIp.get(key);
    if (!seen) byIp.set(key, { ...s });
    else if (!seen.helo && s.helo) seen.helo = s.helo;
  }
  return [...byIp.values()];
}

/** Sending addresses from what the domain publishes: its SPF record's single hosts and its MX hosts' addresses. */
async function sendingAddressesFromDns(resolver: Resolver, domain: string): Promise<{ addresses: SendingAddress[]; findings: Finding[]; dnsFailed: boolean }> {
  const [txt, mx] = await Promise.all([resolver.lookup(domain, 'TXT'), resolver.lookup(domain, 'MX')]);
  const findings: Finding[] = [];
  if (isTemporary(txt.status)) findings.push(temporaryFinding('rdns', domain, `the SPF record of ${domain}`, txt));
  if (isTemporary(mx.status)) findings.push(temporaryFinding('rdns', domain, `the MX records of ${domain}`, mx));
  const out: SendingAddress[] = [];
  const spf = txtValues(txt).filter(isSpfRecord);
  // Several SPF records are the SPF check's finding; the addresses of each still send.
  for (const record of spf) {
    for (const m of parseSpf(record).mechanisms) {
      const host = m.kind === 'ip4' ? singleHost(m.address, m.cidr4, 32) : m.kind === 'ip6' ? singleHost(m.address, m.cidr6, 128) : null;
      if (host) out.push({ address: host, source: `spf ${m.text}` });
    }
  }
  const hosts = [...new Set(mx.records.map((m) => m.exchange).filter(Boolean))];
  for (const r of await Promise.all(hosts.map(async (h) => ({ host: h, ...(await hostAddresses(resolver, h)) })))) {
    if (r.failed) findings.push(r.failed);
    for (const address of r.addresses) out.push({ address, source: `mx ${r.host}` });
  }
  return { addresses: dedupe(out), findings, dnsFailed: findings.length > 0 };
}

/** Sending addresses from the plan: SPF ip4/ip6 single hosts, the MX hosts' addresses (asked when the plan lists none) and sending_hosts. */
export async function sendingAddressesFromPlan(resolver: Resolver, d: DomainPlan): Promise<{ addresses: SendingAddress[]; findings: Finding[]; dnsFailed: boolean }> {
  const out: SendingAddress[] = [];
  const findings: Finding[] = [];
  const helo = new Map((d.sendingHosts ?? []).filter((h) => h.helo).map((h) => [canonicalIp(h.address) ?? h.address, h.helo!]));
  const withHelo = (s: SendingAddress): SendingAddress => {
    const name = helo.get(canonicalIp(s.address) ?? s.address);
    return name ? { ...s, helo: name } : s;
  };
  for (const [key, full] of [['ip4', 32], ['ip6', 128]] as const) {
    for (const net of d.spf?.[key] ?? []) {
      const [address, len] = net.split('/');
      const host = singleHost(address, len === undefined ? undefined : Number(len), full);
      if (host) out.push(withHelo({ address: host, source: `spf ${key}:${net}` }));
    }
  }
  for (const mx of d.mx) {
    if (mx.addresses.length) {
      for (const address of mx.addresses) out.push(withHelo({ address, source: `mx ${mx.host}` }));
      continue;
    }
    const r = await hostAddresses(resolver, mx.host);
    if (r.failed) findings.push(r.failed);
    for (const address of r.addresses) out.push(withHelo({ address, source: `mx ${mx.host}` }));
  }
  for (const h of d.sendingHosts ?? []) out.push({ address: h.address, source: 'sending_hosts', ...(h.helo ? { helo: h.helo } : {}) });
  return { addresses: dedupe(out), findings, dnsFailed: findings.length > 0 };
}

/** Check one address: its PTR names, which of them resolve back to it, and the HELO name. */
async function checkOne(resolver: Resolver, s: SendingAddress): Promise<{ result: ReverseDnsResult; findings: Finding[]; dnsFailed: boolean }> {
  const rev = reverseLookupName(s.address)!;
  const base = { address: s.address, source: s.source, reverseName: rev, ...(s.helo ? { helo: s.helo } : {}) };
  const subject = `${s.address} (${s.source})`;
  const ptr = await resolver.lookup(rev, 'PTR');
  if (isTemporary(ptr.status)) return { result: { ...base, ptr: [], confirmedName: null, state: 'dns-error' }, findings: [temporaryFinding('rdns', subject, `the PTR record at ${rev}`, ptr)], dnsFailed: true };
  const names = [...new Set(ptr.records)];
  if (names.length === 0) {
    return {
      result: { ...base, ptr: [], confirmedName: null, state: 'no-ptr' },
      findings: [
        {
          code: 'rdns.no-ptr',
          severity: 'error',
          subject,
          message: `the sending address has no PTR record (${rev}: ${describeStatus(ptr.status)}); many receivers refuse or mark mail from addresses without reverse DNS`,
          fix: `ask whoever holds the address (the hosting provider) to publish "${rev}. PTR ${s.helo ?? '<the host name>'}."`,
          rfc: 'RFC 1912 §2.1',
        },
      ],
      dnsFailed: false,
    };
  }
  const family = parseIp(s.address)!.family === 6 ? 'AAAA' : 'A';
  const want = canonicalIp(s.address);
  const findings: Finding[] = [];
  let dnsFailed = false;
  let confirmedName: string | null = null;
  const followed = names.slice(0, MAX_PTR_FOLLOWED);
  for (const name of followed) {
    const fwd = await resolver.lookup(name, family);
    if (isTemporary(fwd.status)) {
      dnsFailed = true;
      findings.push(temporaryFinding('rdns', subject, `the address of ${name}`, fwd));
      continue;
    }
    if (fwd.records.some((a) => canonicalIp(a) === want)) {
      confirmedName = name;
      break;
    }
  }
  if (names.length > 1) {
    findings.push({ code: 'rdns.multiple-ptr', severity: 'warning', subject, message: `${names.length} PTR records (${names.join(', ')}); receivers use one of them, not always the same`, fix: 'keep one PTR record: the host name the server uses in HELO', rfc: 'RFC 1912 §2.1' });
  }
  if (!confirmedName && !dnsFailed) {
    findings.push({
      code: 'rdns.not-forward-confirmed',
      severity: 'error',
      subject,
      message: `the PTR name${followed.length > 1 ? 's' : ''} ${followed.join(', ')} ${followed.length > 1 ? 'do' : 'does'} not resolve back to ${s.address}${followed.length < names.length ? ` (the first ${followed.length} of ${names.length} followed)` : ''}; receivers treat the reverse DNS as missing`,
      fix: `publish ${family} ${s.address} for ${names[0]}, or point the PTR record at the host's own name`,
      rfc: 'RFC 1912 §2.1',
    });
  }
  if (confirmedName && s.helo && confirmedName !== s.helo.toLowerCase()) {
    findings.push({
      code: 'rdns.helo-mismatch',
      severity: 'warning',
      subject,
      message: `the PTR name ${confirmedName} is not the HELO name ${s.helo}; receivers that compare the two score such mail down`,
      fix: `make the PTR record name ${s.helo}, or have the host say HELO ${confirmedName}`,
      rfc: 'RFC 5321 §4.1.4',
    });
  }
  const state: ReverseDnsState = confirmedName ? 'confirmed' : dnsFailed ? 'dns-error' : 'not-confirmed';
  return { result: { ...base, ptr: names, confirmedName, state }, findings, dnsFailed };
}

export async function checkReverseDns(resolver: Resolver, addresses: readonly SendingAddress[]): Promise<ReverseDnsReport> {
  const checks = await Promise.all(addresses.filter((s) => reverseLookupName(s.address)).map((s) => checkOne(resolver, s)));
  return { results: checks.map((c) => c.result), findings: checks.flatMap((c) => c.findings), dnsFailed: checks.some((c) => c.dnsFailed) };
}

/** The reverse DNS audit of a domain as published (no plan): `maildns check --rdns`. */
export async function auditReverseDns(resolver: Resolver, domain: string): Promise<ReverseDnsReport> {
  const found = await sendingAddressesFromDns(resolver, domain);
  const report = await checkReverseDns(resolver, found.addresses);
  return { results: report.results, findings: [...found.findings, ...report.findings], dnsFailed: found.dnsFailed || report.dnsFailed };
}
