/**
 * DMARC policy discovery: which record applies to a From domain, where it was found, and which
 * of its rules (p, sp, np) governs that domain.
 *
 *   - RFC 7489 §6.6.3: ask `_dmarc.<from>`; if there is no record, ask `_dmarc.<org>` where the
 *     organizational domain comes from the Public Suffix List. Several records at one name end
 *     discovery without a policy.
 *   - RFC 9989 §4.10: ask `_dmarc.<from>`, then walk up the DNS tree one label at a time (jumping
 *     to the 7 rightmost labels first when the name is longer), at most 8 queries in all.
 *     Several records at one name count as none and the walk goes on.
 *
 * A timeout, SERVFAIL or REFUSED stops discovery with a temporary failure: it is never read as
 * "no record".
 */
import { normalizeName } from '../names.js';
import { describeStatus, isTemporary, txtValues, type DnsAnswer, type DnsStatus, type Resolver } from '../dns/resolver.js';
import type { DmarcPolicy } from '../plan/types.js';
import { orgDomain } from './align.js';
import { looksLikeDmarc, parseDmarc, type DmarcMode, type ParsedDmarc } from './parse.js';

/** RFC 9989 §4.10: the tree walk asks at most this many names. */
const MAX_TREE_WALK_QUERIES = 8;

export interface DmarcLookup {
  /** The domain the record is for (without `_dmarc.`). */
  domain: string;
  /** The name asked: `_dmarc.<domain>`. */
  name: string;
  status: DnsStatus;
  /** Every TXT value there, joined from its character-strings. */
  txt: string[];
  /** The values that count as DMARC records (start with v=DMARC1). */
  dmarc: string[];
  /** CNAME targets the answer went through (a delegated `_dmarc`). */
  cnameChain: string[];
  temporary: boolean;
  detail?: string;
}

/**
 * The lookup made of each answer: a check reads the same `_dmarc` answer at several steps
 * (validation, discovery, the tree walk) and the resolver hands out one answer object for it.
 * Shared: do not modify.
 */
const lookupOfAnswer = new WeakMap<object, DmarcLookup>();

export async function lookupDmarc(resolver: Resolver, domain: string): Promise<DmarcLookup> {
  const d = normalizeName(domain);
  const name = `_dmarc.${d}`;
  const answer = await resolver.lookup(name, 'TXT');
  const known = lookupOfAnswer.get(answer);
  if (known && known.domain === d) return known;
  const lookup = lookupFromAnswer(d, name, answer);
  lookupOfAnswer.set(answer, lookup);
  return lookup;
}

function lookupFromAnswer(d: string, name: string, answer: DnsAnswer<string[]>): DmarcLookup {
  const ok = answer.status === 'ok';
  const txt = ok ? txtValues(answer) : [];
  return {
    domain: d,
    name,
    status: answer.status,
    txt,
    // Not `.filter()` of the empty literal: V8's optimized filter gives it other elements than the
    // interpreted one, and describeLookup, reading the list, was deoptimized on the change.
    dmarc: ok ? txt.filter(looksLikeDmarc) : [],
    cnameChain: answer.cnameChain,
    temporary: isTemporary(answer.status),
    ...(answer.detail ? { detail: answer.detail } : {}),
  };
}

/** The names the RFC 9989 tree walk asks after the From domain itself, in order. */
export function treeWalkTargets(domain: string): string[] {
  const labels = normalizeName(domain).split('.').filter(Boolean);
  const out: string[] = [];
  // After the first query: with 8 or more labels jump to the 7 rightmost, else drop one label.
  let start = labels.length >= MAX_TREE_WALK_QUERIES ? labels.length - (MAX_TREE_WALK_QUERIES - 1) : 1;
  for (; start < labels.length; start++) out.push(labels.slice(start).join('.'));
  return out;
}

type PolicyRule = 'p' | 'sp' | 'np';

export interface PolicyDiscovery {
  fromDomain: string;
  mode: DmarcMode;
  /** found: a record applies; none: no record applies; temperror: DNS failed, try again later. */
  status: 'found' | 'none' | 'temperror';
  /** The record that applies (parsed in `mode`), or null. */
  record: ParsedDmarc | null;
  /** Domain whose `_dmarc` record applies, or null. */
  foundAt: string | null;
  /** `_dmarc.<foundAt>`, or null. */
  recordName: string | null;
  /** The organizational domain of the From domain (PSL for 7489; tree walk for 9989). */
  orgDomain: string;
  /** Which rule of the record governs the From domain. */
  rule: PolicyRule | null;
  /** The policy that rule asks for (after sp/np fallbacks), or null when there is none. */
  policy: DmarcPolicy | null;
  /**
   * The policy a receiver applies after testing modes: RFC 9989 t=y and RFC 7489 pct=0 move it
   * one step down (reject to quarantine, quarantine to none).
   */
  appliedPolicy: DmarcPolicy | null;
  /** Whether the From domain exists (see domainExists: NXDOMAIN in 9989 mode, A/AAAA/MX in 7489 mode); null when not needed or unknown. */
  fromDomainExists: boolean | null;
  adkim: 'r' | 's' | null;
  aspf: 'r' | 's' | null;
  /** Every `_dmarc` name asked, in order. */
  lookups: DmarcLookup[];
  /** Plain-words account of how the record was chosen. */
  steps: string[];
  /** One line: which record applies and why. */
  reason: string;
}

function stepDown(p: DmarcPolicy): DmarcPolicy {
  return p === 'reject' ? 'quarantine' : 'none';
}

/** "an invalid sp", "no p" and the like, for the reasons given when a record's policy does not stand. */
function describeUnusable(tags: readonly PolicyRule[], mode: DmarcMode): string {
  const parts = tags.map((t) => (t === 'p' && mode === '7489' ? 'no valid p' : `an invalid ${t}`));
  return parts.length ? parts.join(' and ') : 'no valid p';
}

function describeLookup(l: DmarcLookup): string {
  if (l.temporary) return `${l.name}: ${describeStatus(l.status)}`;
  if (l.dmarc.length === 1) return `${l.name}: one DMARC record`;
  if (l.dmarc.length > 1) return `${l.name}: ${l.dmarc.length} DMARC records`;
  if (l.txt.length) return `${l.name}: TXT records, none of them DMARC`;
  return `${l.name}: ${describeStatus(l.status)}`;
}

/**
 * Whether a name exists for DMARC's np rule. RFC 9989 §3.2.13 follows RFC 8020: a name does not
 * exist when a query for it answers NXDOMAIN (a name with any record, a TXT alone say, exists), so
 * one query tells. RFC 9091 §2.6, which added np to RFC 7489, calls a name non-existent when A,
 * AAAA and MX all answer NXDOMAIN or NODATA. Null when DNS failed.
 */
async function domainExists(resolver: Resolver, domain: string, mode: DmarcMode = '9989'): Promise<boolean | null> {
  if (mode === '9989') {
    const a = await resolver.lookup(domain, 'A');
    // An alias exists even when what it points to does not (RFC 6604).
    return isTemporary(a.status) ? null : a.status !== 'nxdomain' || a.cnameChain.length > 0;
  }
  const answers = await Promise.all((['A', 'AAAA', 'MX'] as const).map((t) => resolver.lookup(domain, t)));
  if (answers.some((a) => a.status === 'ok')) return true;
  if (answers.some((a) => isTemporary(a.status))) return null;
  return false;
}

interface TreeWalkOrg {
  orgDomain: string;
  lookups: DmarcLookup[];
  temporary: boolean;
  reason: string;
}

/**
 * The organizational domain by the RFC 9989 §4.10.2 tree walk: a record with psd=n marks its
 * domain; psd=y (above the start) marks the label below it; else the record highest up the
 * tree; no record at all leaves the domain itself.
 */
export async function orgDomainByTreeWalk(resolver: Resolver, domain: string, first?: DmarcLookup): Promise<TreeWalkOrg> {
  const d = normalizeName(domain);
  const names = [d, ...treeWalkTargets(d)];
  const lookups: DmarcLookup[] = [];
  let highest: string | null = null;
  for (const name of names) {
    const l = name === d && first ? first : await lookupDmarc(resolver, name);
    lookups.push(l);
    if (l.temporary) return { orgDomain: d, lookups, temporary: true, reason: `${l.name}: ${describeStatus(l.status)}` };
    if (l.dmarc.length !== 1) continue;
    const rec = parseDmarc(l.dmarc[0]!, { mode: '9989' }).record;
    if (!rec) continue;
    if (rec.psd === 'n') return { orgDomain: name, lookups, temporary: false, reason: `${l.name} says psd=n: ${name} is an organizational domain` };
    if (rec.psd === 'y' && name !== d) {
      const below = d.split('.').slice(-(name.split('.').length + 1)).join('.');
      return { orgDomain: below, lookups, temporary: false, reason: `${l.name} says psd=y (a public suffix domain), so the organizational domain is the name one label below it, ${below}` };
    }
    highest = name;
  }
  if (highest) return { orgDomain: highest, lookups, temporary: false, reason: `the DMARC record highest up the tree is at _dmarc.${highest}` };
  return { orgDomain: d, lookups, temporary: false, reason: 'no DMARC record on the way up, so the domain is its own organizational domain' };
}

interface DiscoverOptions {
  /** Ask A/AAAA/MX to tell whether np applies (default true). */
  checkExistence?: boolean;
}

/**
 * Find the DMARC policy that governs mail from `fromDomain`. The result says which record
 * applies, where it was found, which rule (p, sp, np) of it governs the domain and why.
 */
export async function discoverPolicy(
  resolver: Resolver,
  fromDomain: string,
  mode: DmarcMode = '9989',
  opts: DiscoverOptions = {},
): Promise<PolicyDiscovery> {
  const from = normalizeName(fromDomain);
  const steps: string[] = [];
  const lookups: DmarcLookup[] = [];
  const result = (over: Partial<PolicyDiscovery> & Pick<PolicyDiscovery, 'status' | 'reason' | 'orgDomain'>): PolicyDiscovery => ({
    fromDomain: from,
    mode,
    record: null,
    foundAt: null,
    recordName: null,
    rule: null,
    policy: null,
    appliedPolicy: null,
    fromDomainExists: null,
    adkim: null,
    aspf: null,
    lookups,
    steps,
    ...over,
  });

  // Candidate names in order.
  let candidates: string[];
  let org: string;
  const first = await lookupDmarc(resolver, from);
  if (mode === '7489') {
    org = orgDomain(from);
    candidates = org !== from ? [from, org] : [from];
  } else {
    const walk = await orgDomainByTreeWalk(resolver, from, first);
    org = walk.orgDomain;
    if (!walk.temporary) steps.push(`organizational domain ${org} (RFC 9989 tree walk: ${walk.reason})`);
    candidates = [from, ...treeWalkTargets(from)];
  }
  if (mode === '7489') steps.push(`organizational domain ${org} (Public Suffix List)`);

  for (const name of candidates) {
    const l = name === from ? first : await lookupDmarc(resolver, name);
    lookups.push(l);
    steps.push(describeLookup(l));
    if (l.temporary) {
      return result({ status: 'temperror', orgDomain: org, reason: `could not read ${l.name} (${describeStatus(l.status)}); try again later` });
    }
    if (l.dmarc.length > 1) {
      if (mode === '7489') {
        return result({ status: 'none', orgDomain: org, reason: `${l.name} has ${l.dmarc.length} DMARC records, so no policy applies (RFC 7489 §6.6.3)` });
      }
      steps.push(`several records at ${l.name} count as none; the walk goes on (RFC 9989 §4.10)`);
      continue;
    }
    if (l.dmarc.length === 0) continue;

    const parsed = parseDmarc(l.dmarc[0]!, { mode, subject: l.name });
    const rec = parsed.record;
    // looksLikeDmarc and the parser share the version rule, so this does not happen; never crash on it.
    if (!rec) continue;
    const own = name === from;
    let rule: PolicyRule = 'p';
    let exists: boolean | null = null;
    if (!own) {
      rule = 'sp';
      if (opts.checkExistence !== false) {
        exists = await domainExists(resolver, from, mode);
        if (exists === false) rule = 'np';
      }
    }
    let policy: DmarcPolicy | null = rule === 'p' ? rec.effective.p : rule === 'sp' ? rec.effective.sp : rec.effective.np;
    let why = own
      ? `${from} publishes its own record, so its p rule applies`
      : rule === 'np'
        ? `${from} has no record of its own and does not exist (${mode === '9989' ? 'NXDOMAIN' : 'no A, AAAA or MX'}), so the np rule of ${l.name} applies`
        : `${from} has no record of its own, so the subdomain rule (sp, else p) of ${l.name} applies${exists === null && opts.checkExistence !== false ? ' (whether the name exists could not be told)' : ''}`;
    // A missing or invalid p, or an invalid sp (or np): the whole record counts as p=none when rua
    // is usable, else no DMARC applies (RFC 7489 §6.6.3 step 6, RFC 9989 §4.10.1), whichever rule
    // would have governed this domain.
    if (rec.unusablePolicyTags.length || policy === null) {
      const cite = mode === '7489' ? 'RFC 7489 §6.6.3' : 'RFC 9989 §4.10.1';
      const what = describeUnusable(rec.unusablePolicyTags, mode);
      if (!rec.rua.some((u) => u.deliverable)) {
        return result({
          status: 'none',
          orgDomain: org,
          record: parsed,
          foundAt: name,
          recordName: l.name,
          reason: `${l.name} has ${what} and no usable rua, so no DMARC policy applies (${cite})`,
        });
      }
      policy = 'none';
      why += `; it has ${what} but a usable rua, so it counts as p=none (${cite})`;
    }
    let applied = policy;
    if (mode === '9989' && rec.t === 'y' && policy !== 'none') {
      applied = stepDown(policy);
      why += `; t=y asks receivers to apply ${applied} instead`;
    } else if (mode === '7489' && rec.pct === 0 && policy !== 'none') {
      applied = stepDown(policy);
      why += `; pct=0 means receivers apply ${applied} instead`;
    }
    steps.push(why);
    return result({
      status: 'found',
      orgDomain: org,
      record: parsed,
      foundAt: name,
      recordName: l.name,
      rule,
      policy,
      appliedPolicy: applied,
      fromDomainExists: exists,
      adkim: rec.adkim,
      aspf: rec.aspf,
      reason: why,
    });
  }
  // Pushed rather than `.map()`ed, for one elements kind (see txtValues).
  const asked: string[] = [];
  for (const l of lookups) asked.push(l.name);
  return result({ status: 'none', orgDomain: org, reason: `no DMARC record applies to ${from} (asked ${asked.join(', ')})` });
}
