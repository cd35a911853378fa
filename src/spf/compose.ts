/** Compose an SPF record (RFC 7208) from the plan's SPF section. */
import type { SpfPlan } from '../plan/types.js';

export function composeSpf(spf: SpfPlan): string {
  if (spf.record) return spf.record.trim().replace(/\s+/g, ' ');
  const terms: string[] = ['v=spf1'];
  const flagOrHosts = (mech: 'a' | 'mx', value: boolean | string[]): void => {
    if (value === true) terms.push(mech);
    else if (Array.isArray(value)) terms.push(...value.map((h) => `${mech}:${h}`));
  };
  // Cheapest first: ip4/ip6 cost no DNS lookup, so receivers can match them before any query.
  terms.push(...spf.ip4.map((n) => `ip4:${n}`), ...spf.ip6.map((n) => `ip6:${n}`));
  flagOrHosts('a', spf.a);
  flagOrHosts('mx', spf.mx);
  terms.push(...spf.include.map((d) => `include:${d}`), ...spf.exists.map((d) => `exists:${d}`));
  // RFC 7208 §6.1: redirect is ignored when `all` is present, so a plan with redirect gets no `all`.
  if (spf.redirect) terms.push(`redirect=${spf.redirect}`);
  else terms.push(spf.all);
  return terms.join(' ');
}
