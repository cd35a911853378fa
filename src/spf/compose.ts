/** Compose an SPF record (RFC 7208) from the plan's SPF section. */
import { SPF_ALL_VALUES, type SpfAll, type SpfPlan } from '../plan/types.js';

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

/** Input of `maildns spf compose`: the plan's fields, every one optional. */
export interface SpfComposeInput {
  ip4?: string[];
  ip6?: string[];
  /** Host names for `a:HOST`; an empty list, `''` or `@` means a bare `a`. */
  a?: string[];
  /** Domains for `mx:DOMAIN`; an empty list, `''` or `@` means a bare `mx`. */
  mx?: string[];
  include?: string[];
  exists?: string[];
  redirect?: string;
  exp?: string;
  all?: SpfAll;
}

/** Compose a record without a plan; the same order and rules as composeSpf(). */
export function composeSpfFrom(input: SpfComposeInput): string {
  const bare = (h: string): boolean => h === '' || h === '@';
  const hosts = (list: string[] | undefined): boolean | string[] => {
    if (!list) return false;
    const named = list.filter((h) => !bare(h));
    return named.length ? named : true;
  };
  const plan: SpfPlan = {
    ip4: input.ip4 ?? [],
    ip6: input.ip6 ?? [],
    a: hosts(input.a),
    mx: hosts(input.mx),
    include: input.include ?? [],
    exists: input.exists ?? [],
    ...(input.redirect ? { redirect: input.redirect } : {}),
    all: input.all ?? '-all',
  };
  let record = composeSpf(plan);
  // A bare a/mx together with named hosts: composeSpf() takes one or the other, so add the bare term.
  for (const mech of ['a', 'mx'] as const) {
    const list = input[mech];
    if (list && list.some(bare) && list.some((h) => !bare(h))) record = record.replace(/^v=spf1/, `v=spf1 ${mech}`);
  }
  if (input.exp) record += ` exp=${input.exp}`;
  return record;
}

const ALL_BY_NAME: Record<string, SpfAll> = {
  all: '+all', '+': '+all', pass: '+all',
  '-': '-all', fail: '-all',
  '~': '~all', softfail: '~all',
  '?': '?all', neutral: '?all',
};

/**
 * The final `all` term as a person writes it: `-all`, `~all`, `?all`, `+all`, a bare `all`, the
 * qualifier alone (`-`) or the result's name (`fail`, `softfail`, `neutral`, `pass`); null when
 * it is none of these. Whether `+all` is acceptable is the caller's rule.
 */
export function parseAllTerm(value: string): SpfAll | null {
  const v = value.trim().toLowerCase();
  const all = ALL_BY_NAME[v] ?? v;
  return (SPF_ALL_VALUES as readonly string[]).includes(all) ? (all as SpfAll) : null;
}
