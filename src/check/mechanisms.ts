/**
 * One audit per mechanism for a domain, each asking through the Resolver it is handed: SPF, DMARC,
 * DKIM (per selector) and MX. `maildns check` runs them on the system's view of DNS; `verify` runs
 * them on what one authoritative server publishes. Each result says whether DNS failed, so a
 * timeout is reported as "could not check", never as "no record".
 */
import { checkDmarcDomain } from '../dmarc/validate.js';
import { validateDkimRecord } from '../dkim/validate.js';
import { describeStatus, isTemporary, txtValues, type DnsAnswer, type RDataMap, type Resolver } from '../dns/resolver.js';
import { temporaryFinding } from '../dns/failure.js';
import type { Finding, FindingTally } from '../findings.js';
import type { DmarcPolicy } from '../plan/types.js';
import { isIpAddress } from '../ipv6.js';
import { auditSpf } from './spf.js';
// The reverse DNS engine loads only when --rdns (or a profile) asks for it, in auditReverseDns.
import type { ReverseDnsResult } from '../rdns/evaluate.js';

export interface MechanismResult {
  findings: Finding[];
  /** A question this audit needed got no usable answer (timeout, SERVFAIL, REFUSED). */
  dnsFailed: boolean;
  /** What was found, in a few words or the record itself (null: nothing published). */
  published: string | string[] | null;
  /** SPF only: DNS-querying terms counted against the limit of 10 (RFC 7208 §4.6.4), when one record is published. */
  lookups?: number;
}

export { temporaryFinding };

export { auditSpf };
export { auditMtaSts } from '../mtasts/evaluate.js';
export { auditTlsRpt } from '../tlsrpt/evaluate.js';
export { auditBimi } from '../bimi/evaluate.js';

/** The DMARC record that governs a domain (its own or, by policy discovery, a parent's) and the policy it asks. */
export interface GoverningDmarc {
  recordName: string;
  policy: DmarcPolicy | null;
  adkim: 'r' | 's' | null;
  aspf: 'r' | 's' | null;
}

export async function auditDmarc(resolver: Resolver, domain: string): Promise<MechanismResult & { governing?: GoverningDmarc | null }> {
  const check = await checkDmarcDomain(resolver, domain);
  const d = check.discovery;
  const governing = d.status === 'found' && d.recordName ? { recordName: d.recordName, policy: d.policy, adkim: d.adkim, aspf: d.aspf } : null;
  return { findings: check.findings, dnsFailed: check.dnsFailed, published: check.lookup.dmarc.length ? check.lookup.dmarc : null, governing };
}

export async function auditDkim(resolver: Resolver, domain: string, selector: string): Promise<MechanismResult> {
  const name = `${selector}._domainkey.${domain}`;
  const answer = await resolver.lookup(name, 'TXT');
  if (isTemporary(answer.status)) return { findings: [temporaryFinding('dkim', name, `the DKIM key at ${name}`, answer)], dnsFailed: true, published: null };
  const values = txtValues(answer);
  if (values.length === 0) {
    return {
      findings: [
        {
          code: 'dkim.no-record',
          severity: 'error',
          subject: name,
          message: `no DKIM key is published for selector "${selector}" (${describeStatus(answer.status)}); mail signed with it fails DKIM`,
          fix: `publish the selector's key record at ${name}, or drop "${selector}" from --selectors if it is not in use`,
          rfc: 'RFC 6376 §3.6.2.2',
        },
      ],
      dnsFailed: false,
      published: null,
    };
  }
  if (values.length > 1) {
    return {
      findings: [
        {
          code: 'dkim.multiple-records',
          severity: 'error',
          subject: name,
          message: `${values.length} TXT records at ${name}; verifiers may pick any one of them, so signatures fail at random`,
          fix: 'keep the one key record and delete the others',
          rfc: 'RFC 6376 §3.6.2.2',
        },
      ],
      dnsFailed: false,
      published: values,
    };
  }
  return { findings: validateDkimRecord(values[0]!, name).findings, dnsFailed: false, published: values[0]! };
}

/** MX: present, not mixed with a null MX, hosts that are names with addresses (RFC 5321 §5.1, RFC 7505). */
/**
 * The MX audit in parts, each a function of its own (the whole was one of the costliest things V8
 * compiled in a bulk run: 60 ms): the answer without hosts to check, the host list, each host's address.
 */
export async function auditMx(resolver: Resolver, domain: string): Promise<MechanismResult> {
  const answer = await resolver.lookup(domain, 'MX');
  const settled = mxWithoutHosts(answer, domain);
  if (settled) return settled;
  const tally: FindingTally = { findings: [], dnsFailed: false };
  const published = mxTexts(answer.records);
  const hosts = mxHostProblems(answer.records, domain, tally.findings);
  // Only hosts that are names need an address check; one A query each, AAAA only when A is empty.
  await Promise.all(hosts.filter((h) => !isIpAddress(h)).map((host) => checkMxHostAddress(resolver, domain, host, tally)));
  return { findings: tally.findings, dnsFailed: tally.dnsFailed, published };
}

/** The MX records as the report shows them ("10 mx.example.com", "0 ." for a null MX). */
const mxTexts = (records: readonly RDataMap['MX'][]): string[] => records.map((m) => `${m.priority} ${m.exchange || '.'}`);

/** The result when there is no host to check: DNS failed, no such domain, no MX, a null MX. */
function mxWithoutHosts(answer: DnsAnswer<RDataMap['MX']>, domain: string): MechanismResult | null {
  if (isTemporary(answer.status)) return { findings: [temporaryFinding('mx', domain, `the MX records of ${domain}`, answer)], dnsFailed: true, published: null };
  if (answer.status === 'nxdomain') {
    return {
      findings: [{ code: 'mx.domain-missing', severity: 'error', subject: domain, message: `${domain} does not exist (NXDOMAIN)`, fix: 'check the spelling, or register and delegate the domain' }],
      dnsFailed: false,
      published: null,
    };
  }
  if (answer.records.length === 0) {
    return {
      findings: [
        {
          code: 'mx.none',
          severity: 'warning',
          subject: domain,
          message: `${domain} has no MX record: senders fall back to its address record, and bounces and DMARC reports addressed to it may not arrive`,
          fix: `publish the MX records of your mail host, or a null MX ("${domain}. IN MX 0 .") if the domain receives no mail`,
          rfc: 'RFC 5321 §5.1',
        },
      ],
      dnsFailed: false,
      published: null,
    };
  }
  if (!answer.records.some((m) => m.exchange === '')) return null;
  const published = mxTexts(answer.records);
  const findings: Finding[] =
    answer.records.length > 1
      ? [{ code: 'mx.null-with-others', severity: 'error', subject: domain, message: 'a null MX ("0 .") is published beside other MX records; senders treat the domain as broken', fix: 'keep either the null MX (no mail accepted) or the real MX records', rfc: 'RFC 7505 §3' }]
      : [{ code: 'mx.null', severity: 'info', subject: domain, message: 'a null MX says the domain accepts no mail', rfc: 'RFC 7505' }];
  return { findings, dnsFailed: false, published };
}

/** The MX hosts, each once; a host listed twice and an address in place of a name are findings. */
function mxHostProblems(records: readonly RDataMap['MX'][], domain: string, findings: Finding[]): string[] {
  const hosts = new Map<string, number>();
  for (const m of records) hosts.set(m.exchange, (hosts.get(m.exchange) ?? 0) + 1);
  for (const [host, count] of hosts) {
    if (count > 1) findings.push({ code: 'mx.duplicate-host', severity: 'warning', subject: domain, message: `${host} is listed in ${count} MX records`, fix: 'list each mail host once' });
    if (isIpAddress(host.replace(/^\[|\]$/g, ''))) {
      findings.push({ code: 'mx.ip-literal', severity: 'error', subject: domain, message: `the MX record points at an address (${host}), not a host name; senders cannot use it`, fix: 'publish an A/AAAA record for a host name and point the MX at that name', rfc: 'RFC 5321 §5.1' });
    }
  }
  return [...hosts.keys()];
}

/** An MX host must have an address (A, else AAAA) and must not be an alias. */
async function checkMxHostAddress(resolver: Resolver, domain: string, host: string, tally: FindingTally): Promise<void> {
  const a = await resolver.lookup(host, 'A');
  if (a.cnameChain.length) {
    tally.findings.push({ code: 'mx.cname', severity: 'warning', subject: domain, message: `the MX host ${host} is an alias (CNAME) for ${a.cnameChain.at(-1)}; MX must name the host itself`, fix: `point the MX at ${a.cnameChain.at(-1)}`, rfc: 'RFC 2181 §10.3' });
  }
  if (a.status === 'ok') return;
  const aaaa = isTemporary(a.status) ? a : await resolver.lookup(host, 'AAAA');
  if (aaaa.status === 'ok') return;
  if (isTemporary(a.status) || isTemporary(aaaa.status)) {
    tally.dnsFailed = true;
    tally.findings.push(temporaryFinding('mx', host, `the address of the MX host ${host}`, isTemporary(a.status) ? a : aaaa));
    return;
  }
  tally.findings.push({ code: 'mx.host-no-address', severity: 'error', subject: domain, message: `the MX host ${host} has no A or AAAA record; mail to ${domain} cannot be delivered there`, fix: `publish an address for ${host} or fix the MX record`, rfc: 'RFC 5321 §5.1' });
}

/** Reverse DNS of the domain's published sending addresses, as a mechanism result. */
export async function auditReverseDns(resolver: Resolver, domain: string): Promise<MechanismResult & { results?: ReverseDnsResult[] }> {
  const { auditReverseDns: reverseDnsReport } = await import('../rdns/evaluate.js');
  const report = await reverseDnsReport(resolver, domain);
  const published = report.results.map((r) => `${r.address} ${r.confirmedName ?? (r.ptr.join(',') || 'no PTR')}`);
  return { findings: report.findings, dnsFailed: report.dnsFailed, published: published.length ? published : null, results: report.results };
}
