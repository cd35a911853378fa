/**
 * SPF audit of a domain: the validator of src/spf (one record at the apex, includes and redirects
 * walked through the same resolver, so an include shared by many domains is asked once per run,
 * lookup and void-lookup counts, the final `all`).
 *
 * Bulk mode keeps a domain within a few queries: the validator also probes ten customary names
 * (`_spf.<domain>`, `spf.<domain>`, ...) and the retired type-99 record for SPF published where
 * nothing points to it. Those probes are not sent in bulk mode (`deep: false`): every finding
 * about the record and its includes is the same, only the "orphan record" and "type-99 record"
 * findings are left out. It also asks AAAA
 * for an `a`/`mx` target only when A answers NODATA (the findings stay the same, except that an
 * AAAA lookup failing behind a working A is not seen). `deep: true` sends everything.
 */
import { isTemporary, txtValues, type Resolver } from '../dns/resolver.js';
import { normalizeName } from '../names.js';
import { isSpfRecord } from '../spf/parse.js';
import { SPF_DNS_FAILURES, validateSpf } from '../spf/validate.js';
import type { MechanismResult } from './mechanisms.js';


export async function auditSpf(resolver: Resolver, domainInput: string, opts: { deep?: boolean } = {}): Promise<MechanismResult> {
  const domain = normalizeName(domainInput);
  const report = await validateSpf(resolver, domain, opts.deep ? {} : { probeOrphans: false, addressLookups: 'a-first' });
  const apex = await resolver.lookup(domain, 'TXT'); // answered from the cache: the validator asked it first
  // null, not an empty literal, for an unusable answer: the literal has other elements than the
  // filtered lists, and the first DNS failure late in a bulk run deoptimized this function.
  const spf = isTemporary(apex.status) ? null : txtValues(apex).filter(isSpfRecord);
  return {
    findings: report.findings,
    dnsFailed: report.dnsUnavailable || report.findings.some((f) => SPF_DNS_FAILURES.has(f.code)),
    published: spf === null || spf.length === 0 ? null : spf.length === 1 ? spf[0]! : spf,
    ...(spf?.length === 1 && !report.dnsUnavailable ? { lookups: report.lookups } : {}),
  };
}
