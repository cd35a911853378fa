/**
 * Run the mechanism validators (src/spf, src/dmarc, src/dkim through src/check/mechanisms.ts) on
 * what one authoritative server publishes: names inside the zone are asked of that server, names
 * outside it (SPF includes, report receivers) of the main resolver.
 */
import { isAtOrBelow } from '../names.js';
import { isTemporary, type DnsAnswer, type RDataMap, type Resolver, type RRType } from '../dns/resolver.js';
import type { Finding } from '../findings.js';
import type { DnsRecord } from '../records.js';
import { auditDkim, auditDmarc, auditMx, auditSpf } from '../check/mechanisms.js';
import type { DomainPlan } from '../plan/types.js';
import { auditMtaSts, auditStsPolicy } from '../mtasts/evaluate.js';
import type { PolicyFetchOptions } from '../mtasts/fetch.js';
import { stsPolicyUrl } from '../mtasts/compose.js';
import { policyDifferences } from '../mtasts/validate.js';
import { auditTlsRpt } from '../tlsrpt/evaluate.js';
import { auditBimi } from '../bimi/evaluate.js';
import { checkReverseDns, sendingAddressesFromPlan } from '../rdns/evaluate.js';

/**
 * Answers names in `zone` from `inside`, every other name from `outside`. A name `inside` answers
 * with a referral (no record, no AA bit: it lies in a zone delegated from this one, RFC 1034
 * §4.2.1) is asked of the server `belowCut` gives for it, the child zone's, else of `outside`: the
 * referral is not the record missing.
 */
export class ZoneRoutedResolver implements Resolver {
  constructor(
    private readonly zone: string,
    private readonly inside: Resolver,
    private readonly outside: Resolver,
    private readonly belowCut?: (name: string) => Promise<Resolver | null>,
  ) {}
  async lookup<T extends RRType>(name: string, type: T): Promise<DnsAnswer<RDataMap[T]>> {
    if (!isAtOrBelow(name, this.zone)) return this.outside.lookup(name, type);
    const answer = await this.inside.lookup(name, type);
    if (!this.belowCut || !isReferral(answer)) return answer;
    return ((await this.belowCut(name)) ?? this.outside).lookup(name, type);
  }
}

/**
 * Asks `resolvers` in turn and takes the first answer that is not a temporary failure (else the
 * last one's): a child zone's records from whichever of its servers answers, so one of them down
 * is not a temporary failure of every check that reads below the cut.
 */
export class FirstAnswerOf implements Resolver {
  constructor(private readonly resolvers: readonly [Resolver, ...Resolver[]]) {}
  async lookup<T extends RRType>(name: string, type: T): Promise<DnsAnswer<RDataMap[T]>> {
    const [first, ...rest] = this.resolvers;
    let answer = await first.lookup(name, type);
    for (const resolver of rest) {
      if (!isTemporary(answer.status)) break;
      answer = await resolver.lookup(name, type);
    }
    return answer;
  }
}

/** An authoritative server's answer for a name below one of its zone's cuts. */
export function isReferral(answer: DnsAnswer<unknown>): boolean {
  return answer.status === 'nodata' && !answer.authoritative;
}

/** Presence and duplicates are the comparison's job (verify.missing, verify.conflicting-record): not repeated. */
const COVERED_BY_COMPARISON = new Set([
  'spf.none',
  'spf.multiple-records',
  'dmarc.no-record',
  'dmarc.multiple-records',
  'dkim.no-record',
  'dkim.multiple-records',
  'mx.none',
  'mx.domain-missing',
  'mta-sts.multiple-records',
  'tls-rpt.multiple-records',
  'bimi.multiple-records',
]);

interface PublishedChecks {
  /** The domain's plan: its MTA-STS policy and sending hosts. */
  plan?: DomainPlan;
  /** How the planned MTA-STS policy is fetched. */
  policyFetch?: PolicyFetchOptions;
  /** Check the reverse DNS of the plan's sending addresses. */
  rdns?: boolean;
}

/**
 * The planned MTA-STS policy as served: fetched whether or not the TXT record is published yet
 * (RFC 8461 §8.1 has the policy published first), checked, and compared with the plan.
 */
async function verifyStsPolicy(resolver: Resolver, d: DomainPlan, fetchOpts: PolicyFetchOptions): Promise<{ findings: Finding[] }> {
  const audit = await auditStsPolicy(resolver, d.domain, fetchOpts);
  const findings = [...audit.findings];
  const parsed = audit.policy.parsed;
  const differences = parsed && d.mtaSts ? policyDifferences(d.mtaSts, parsed) : [];
  if (differences.length) {
    findings.push({
      code: 'verify.mta-sts-policy-different',
      severity: 'error',
      subject: stsPolicyUrl(d.domain),
      message: `the policy served differs from the plan: ${differences.join('; ')}`,
      fix: 'serve the file `maildns mta-sts --out DIR` writes, then publish the _mta-sts record `maildns records` prints (its id follows the policy)',
      rfc: 'RFC 8461 §3.2',
    });
  }
  return { findings };
}

async function verifyReverseDns(resolver: Resolver, d: DomainPlan): Promise<{ findings: Finding[] }> {
  const found = await sendingAddressesFromPlan(resolver, d);
  const report = await checkReverseDns(resolver, found.addresses);
  return { findings: [...found.findings, ...report.findings] };
}

export async function validatePublished(domain: string, planned: readonly DnsRecord[], resolver: Resolver, checks: PublishedChecks = {}): Promise<Finding[]> {
  const runs: Promise<{ findings: Finding[] }>[] = [];
  if (planned.some((r) => r.purpose === 'mta-sts')) runs.push(auditMtaSts(resolver, domain));
  if (checks.plan?.mtaSts) runs.push(verifyStsPolicy(resolver, checks.plan, checks.policyFetch ?? {}));
  if (planned.some((r) => r.purpose === 'tls-rpt')) runs.push(auditTlsRpt(resolver, domain));
  if (checks.rdns && checks.plan) runs.push(verifyReverseDns(resolver, checks.plan));
  if (planned.some((r) => r.purpose === 'bimi')) runs.push(auditBimi(resolver, domain, checks.plan?.bimi?.selector ?? 'default'));
  if (planned.some((r) => r.purpose === 'spf')) runs.push(auditSpf(resolver, domain, { deep: true }));
  if (planned.some((r) => r.purpose === 'dmarc')) runs.push(auditDmarc(resolver, domain));
  if (planned.some((r) => r.purpose === 'mx')) runs.push(auditMx(resolver, domain));
  for (const rec of planned.filter((r) => r.purpose?.startsWith('dkim:'))) runs.push(auditDkim(resolver, domain, rec.purpose!.slice('dkim:'.length)));
  const out: Finding[] = [];
  const seen = new Set<string>();
  for (const r of await Promise.all(runs)) {
    for (const f of r.findings) {
      const key = `${f.code}\u0000${f.subject}\u0000${f.message}`;
      if (COVERED_BY_COMPARISON.has(f.code) || seen.has(key)) continue;
      seen.add(key);
      out.push(f);
    }
  }
  return out;
}
