/** Compose a DMARC record (RFC 7489 / RFC 9989) from the plan's DMARC section. */
import type { DmarcPlan } from '../plan/types.js';

export function composeDmarc(d: DmarcPlan): string {
  // v first and p second: RFC 9989 allows any order after v, older receivers expect p second.
  const tags: [string, string | number | undefined][] = [
    ['p', d.p],
    ['sp', d.sp],
    ['np', d.np],
    ['adkim', d.adkim],
    ['aspf', d.aspf],
    ['pct', d.pct],
    ['t', d.t],
    ['psd', d.psd],
    ['rua', d.rua.length ? d.rua.join(',') : undefined],
    ['ruf', d.ruf.length ? d.ruf.join(',') : undefined],
    ['fo', d.fo],
    ['rf', d.rf],
    ['ri', d.ri],
  ];
  return ['v=DMARC1', ...tags.filter(([, v]) => v !== undefined).map(([k, v]) => `${k}=${v}`)].join('; ');
}

/** The record a report receiver publishes to accept reports about `source` (RFC 7489 §7.1). */
export function reportAuthorizationName(source: string, destination: string): string {
  return `${source}._report._dmarc.${destination}`;
}
