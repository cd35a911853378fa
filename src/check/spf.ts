/**
 * SPF audit of a domain: the validator of src/spf (one record at the apex, includes and redirects
 * walked through the same resolver, so an include shared by many domains is asked once per run,
 * lookup and void-lookup counts, the final `all`).
 *
 * Bulk mode keeps a domain within a few queries: the validator also probes ten customary names
 * (`_spf.<domain>`, `spf.<domain>`, ...) and the retired type-99 record for SPF published where
 * nothing points to it. Those probes are not sent in bulk mode (`deep: false`); names the walk
 * itself asked are still answered, so every finding about the record and its includes is the
 * same, only the "orphan record" and "type-99 record" findings are left out. `deep: true` sends
 * everything.
 */
import { isTemporary, txtValues, type DnsAnswer, type RDataMap, type Resolver, type RRType } from '../dns/resolver.js';
import { normalizeName } from '../names.js';
import { validateSpf } from '../spf/validate.js';
import type { MechanismResult } from './mechanisms.js';

const SPF_RE = /^v=spf1(\s|$)/i;
const PROBE_PREFIXES = ['_spf', 'spf', '_spf1', '_spf2', 'spf1', 'spf2', '_netblocks', '_spf-mail', 'spf-mail', '_mailspf'];

/** Passes through every question except first-time orphan probes of `domain`, which it declines to send. */
class WalkOnlyResolver implements Resolver {
  private readonly asked = new Set<string>();
  private readonly probes: Set<string>;
  constructor(
    private readonly inner: Resolver,
    domain: string,
  ) {
    this.probes = new Set([`${domain}\u0000SPF`, ...PROBE_PREFIXES.map((p) => `${p}.${domain}\u0000TXT`)]);
  }
  lookup<T extends RRType>(name: string, type: T): Promise<DnsAnswer<RDataMap[T]>> {
    const key = `${normalizeName(name)}\u0000${type}`;
    if (this.probes.has(key) && !this.asked.has(key)) {
      return Promise.resolve({ name, type, status: 'error', records: [], ttl: null, authoritative: false, server: null, cnameChain: [], detail: 'not asked in bulk mode' });
    }
    this.asked.add(key);
    return this.inner.lookup(name, type);
  }
}

export async function auditSpf(resolver: Resolver, domainInput: string, opts: { deep?: boolean } = {}): Promise<MechanismResult> {
  const domain = normalizeName(domainInput);
  const report = await validateSpf(opts.deep ? resolver : new WalkOnlyResolver(resolver, domain), domain);
  const apex = await resolver.lookup(domain, 'TXT'); // answered from the cache: the validator asked it first
  const spf = isTemporary(apex.status) ? [] : txtValues(apex).filter((v) => SPF_RE.test(v));
  return {
    findings: report.findings,
    dnsFailed: report.dnsUnavailable || report.findings.some((f) => f.code === 'spf.temperror'),
    published: spf.length === 0 ? null : spf.length === 1 ? spf[0]! : spf,
  };
}
