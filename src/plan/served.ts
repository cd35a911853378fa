/**
 * What `maildns serve` answers for: each planned domain as a zone. A domain that lists its name
 * servers is served as a full zone (SOA naming the first of them, the planned NS set, the
 * addresses of in-zone name servers), so `verify` against the served zone finds the delegation the
 * plan asks for. A domain without `nameservers` gets only its records; the embedded server then
 * makes up an SOA and NS of its own so negative answers still carry an SOA, and says so in a note.
 */
import type { DnsRecord } from '../records.js';
import { composeDomain, type ComposeOptions } from './records.js';
import type { Plan } from './types.js';

interface ServedZones {
  /** Apex names to be authoritative for. */
  zones: string[];
  records: DnsRecord[];
  notes: string[];
}

export function composeServedZones(plan: Plan, opts: Pick<ComposeOptions, 'serial'> = {}): ServedZones {
  const out: ServedZones = { zones: [], records: [], notes: [] };
  for (const d of plan.domains) {
    const full = d.nameservers.length > 0;
    const composed = composeDomain(plan, d, { ...opts, fullZone: full });
    out.zones.push(d.domain);
    out.records.push(...composed.records);
    out.notes.push(...composed.notes, ...composed.problems);
    if (!full) out.notes.push(`${d.domain} lists no name servers in the plan: it is served with a made-up SOA and NS (ns.${d.domain}); add "nameservers" to serve the real ones`);
  }
  return out;
}
