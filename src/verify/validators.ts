/**
 * Run the mechanism validators (src/spf, src/dmarc, src/dkim through src/check/mechanisms.ts) on
 * what one authoritative server publishes: names inside the zone are asked of that server, names
 * outside it (SPF includes, report receivers) of the main resolver.
 */
import { isAtOrBelow } from '../names.js';
import type { DnsAnswer, RDataMap, Resolver, RRType } from '../dns/resolver.js';
import type { Finding } from '../findings.js';
import type { DnsRecord } from '../records.js';
import { auditDkim, auditDmarc, auditMx, auditSpf } from '../check/mechanisms.js';

/** Answers names in `zone` from `inside`, every other name from `outside`. */
export class ZoneRoutedResolver implements Resolver {
  constructor(
    private readonly zone: string,
    private readonly inside: Resolver,
    private readonly outside: Resolver,
  ) {}
  lookup<T extends RRType>(name: string, type: T): Promise<DnsAnswer<RDataMap[T]>> {
    return (isAtOrBelow(name, this.zone) ? this.inside : this.outside).lookup(name, type);
  }
}

/** Presence and duplicates are the comparison's job (verify.missing, verify.conflicting-record): not repeated. */
const COVERED_BY_COMPARISON = new Set(['spf.none', 'spf.multiple-records', 'dmarc.no-record', 'dmarc.multiple-records', 'dkim.no-record', 'dkim.multiple-records', 'mx.none', 'mx.domain-missing']);

export async function validatePublished(domain: string, planned: readonly DnsRecord[], resolver: Resolver): Promise<Finding[]> {
  const runs: Promise<{ findings: Finding[] }>[] = [];
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
