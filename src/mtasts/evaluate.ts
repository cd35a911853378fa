/**
 * The MTA-STS audit of one domain: the `_mta-sts` TXT record (one DNS question), and, when asked
 * and one valid record is published, the policy fetched over HTTPS and checked against the domain's MX
 * hosts. A domain without the record gets no finding: MTA-STS is optional.
 */
import { isTemporary, txtValues, type Resolver } from '../dns/resolver.js';
import type { Finding } from '../findings.js';
import { temporaryFinding } from '../dns/failure.js';
import { stsRecordName, stsPolicyUrl } from './compose.js';
// The HTTPS client (node:https, node:http2) loads only when a policy is fetched, in auditStsPolicy.
import type { PolicyFetch, PolicyFetchOptions } from './fetch.js';
import { isStsRecord, parseStsPolicy, type ParsedStsPolicy } from './parse.js';
import { checkStsPolicy, checkStsRecords, fetchFailureFinding, unreachedAddressFinding } from './validate.js';

export interface MtaStsAudit {
  findings: Finding[];
  /** A DNS question got no usable answer. */
  dnsFailed: boolean;
  /** The TXT record(s) at `_mta-sts.<domain>` that begin with v=STSv1; null when there is none. */
  published: string | string[] | null;
  /** The policy fetch, when one was made. */
  policy?: {
    url: string;
    fetched: boolean;
    /** The policy text as served (fetched only). */
    text: string | null;
    parsed: ParsedStsPolicy | null;
    failure?: string;
    detail?: string;
  };
}

interface MtaStsAuditOptions {
  /** Fetch and check the policy (HTTPS) when the record is published. */
  fetchPolicy?: PolicyFetchOptions | false;
}


/** The MX hosts of a domain (no null MX), or null when there are none to compare or DNS failed. */
async function mxHosts(resolver: Resolver, domain: string): Promise<{ hosts: string[] | null; failed: Finding | null }> {
  const mx = await resolver.lookup(domain, 'MX');
  if (isTemporary(mx.status)) return { hosts: null, failed: temporaryFinding('mta-sts', domain, `the MX records of ${domain}`, mx) };
  const hosts = [...new Set(mx.records.map((m) => m.exchange).filter(Boolean))];
  return { hosts: hosts.length ? hosts : null, failed: null };
}

export async function auditMtaSts(resolver: Resolver, domain: string, opts: MtaStsAuditOptions = {}): Promise<MtaStsAudit> {
  const name = stsRecordName(domain);
  const answer = await resolver.lookup(name, 'TXT');
  if (isTemporary(answer.status)) return { findings: [temporaryFinding('mta-sts', name, `the MTA-STS record at ${name}`, answer)], dnsFailed: true, published: null };
  const values = txtValues(answer);
  const record = checkStsRecords(values, name);
  const stsValues = values.filter(isStsRecord);
  const published = stsValues.length === 0 ? null : stsValues.length === 1 ? stsValues[0]! : stsValues;
  const result: MtaStsAudit = { findings: [...record.findings], dnsFailed: false, published };
  // §3.1: with no single valid record, senders skip the rest of policy discovery; so does the check (a warning does not stop it).
  if (!opts.fetchPolicy || !record.parsed || record.parsed.problems.length) return result;

  const policy = await auditStsPolicy(resolver, domain, opts.fetchPolicy);
  result.policy = policy.policy;
  result.findings.push(...policy.findings);
  result.dnsFailed = policy.dnsFailed;
  return result;
}

interface StsPolicyAudit {
  findings: Finding[];
  dnsFailed: boolean;
  policy: NonNullable<MtaStsAudit['policy']>;
}

/** The policy half of the audit: fetch the policy (§3.3; and whether every address of the policy host took the connection), check it (§3.2) and the MX hosts against it (§4.1). */
export async function auditStsPolicy(resolver: Resolver, domain: string, fetchOpts: PolicyFetchOptions = {}): Promise<StsPolicyAudit> {
  const [fetch, mx] = await Promise.all([import('./fetch.js').then((m) => m.fetchStsPolicy(resolver, domain, fetchOpts)), mxHosts(resolver, domain)]);
  const out: StsPolicyAudit = { findings: [], dnsFailed: false, policy: policyView(fetch) };
  if (fetch.failure === 'dns-temporary') {
    out.dnsFailed = true;
    out.findings.push(temporaryFinding('mta-sts', stsPolicyUrl(domain), fetch.dnsLookup ?? `the address of ${fetch.host}`, { status: fetch.dnsStatus ?? 'error' }));
  }
  const failed = fetchFailureFinding(fetch, domain);
  if (failed) out.findings.push(failed);
  const unreached = unreachedAddressFinding(fetch, domain);
  if (unreached) out.findings.push(unreached);
  if (mx.failed) {
    out.dnsFailed = true;
    out.findings.push(mx.failed);
  }
  if (fetch.ok && out.policy.parsed) out.findings.push(...checkStsPolicy(out.policy.parsed, mx.hosts, domain));
  return out;
}

function policyView(fetch: PolicyFetch): NonNullable<MtaStsAudit['policy']> {
  if (!fetch.ok) return { url: fetch.url, fetched: false, text: null, parsed: null, ...(fetch.failure ? { failure: fetch.failure } : {}), ...(fetch.detail ? { detail: fetch.detail } : {}) };
  const text = fetch.body ?? '';
  return { url: fetch.url, fetched: true, text, parsed: parseStsPolicy(text) };
}
