/**
 * SPF flattening: replace includes by the ip4/ip6 terms they resolve to, so a record stays within
 * 10 DNS-querying terms, and split the result into a chain of included records when it does not
 * fit one string.
 *
 * Semantics are kept: an include is inlined only when its record is a plain list of pass terms
 * (no macros, no -/~/? terms, no +all); inlined terms take the include's qualifier; a bare
 * a/mx/ptr inside an included record becomes a:/mx:/ptr:<included-domain>; exists and macros stay
 * as they are; a redirect at the top is followed and its all kept; an include that cannot be
 * inlined is kept as it is, with the reason.
 */
import { isTemporary, type Resolver } from '../dns/resolver.js';
import { normalizeName } from '../names.js';
import { splitCharacterStrings } from '../txt.js';
import { hasMacro } from './macro.js';
import { isSpfRecord, LOOKUP_MECHANISMS, SPF_LOOKUP_LIMIT, parseSpf, type ParsedSpf, type Qualifier, type SpfMechanism } from './parse.js';
import { parseIp, readableForm } from './ip.js';

export interface FlattenOptions {
  maxLookups?: number;
  /** Longest record text; 255 keeps every record one character-string. */
  maxLength?: number;
  /** Chain records are named PREFIX1.<domain>, PREFIX2.<domain>, … */
  chainPrefix?: string;
  /** Include targets to leave as includes (they keep following upstream changes). */
  keep?: string[];
  /** Flatten this record text instead of the one published at the domain (a snapshot's source record). */
  record?: string;
}

interface FlatRecord {
  name: string;
  value: string;
  strings: string[];
}

interface FlattenDependency {
  /** The domain whose record was copied. */
  domain: string;
  /** The term that brought it in. */
  via: string;
  record: string;
  ttl: number | null;
  /** ip4/ip6 terms copied from it. */
  copied: number;
  /** Those terms as written in its record (its own qualifier, canonical address text). */
  ranges: string[];
}

export interface FlattenResult {
  domain: string;
  original: string;
  records: FlatRecord[];
  /** DNS-querying terms of the result, chain includes counted. */
  lookups: number;
  /** Terms left as they are and why. */
  kept: { term: string; reason: string }[];
  dependencies: FlattenDependency[];
  /** What a later change upstream would silently break, and limits still exceeded. */
  warnings: string[];
}

export class FlattenError extends Error {
  constructor(
    message: string,
    readonly temporary = false,
  ) {
    super(message);
    this.name = 'FlattenError';
  }
}

interface OutTerm {
  text: string;
  qualifier: Qualifier;
  ip: boolean;
  lookups: number;
}

function qualify(q: Qualifier, body: string): string {
  return q === '+' ? body : `${q}${body}`;
}

function bodyOf(mech: SpfMechanism): string {
  return mech.explicitQualifier ? mech.text.slice(1) : mech.text;
}

function cidrSuffix(mech: SpfMechanism): string {
  return `${mech.cidr4 !== undefined ? `/${mech.cidr4}` : ''}${mech.cidr6 !== undefined ? `//${mech.cidr6}` : ''}`;
}

/** An ip term in canonical text, so duplicates are found whatever their spelling. */
function canonicalIp(mech: SpfMechanism): string {
  const ip = parseIp(mech.address ?? '');
  const len = mech.kind === 'ip4' ? mech.cidr4 : mech.cidr6;
  const max = mech.kind === 'ip4' ? 32 : 128;
  const addr = ip ? readableForm(ip) : (mech.address ?? '');
  return `${mech.kind}:${addr}${len !== undefined && len !== max ? `/${len}` : ''}`;
}

class Flattener {
  readonly kept: { term: string; reason: string }[] = [];
  readonly dependencies: FlattenDependency[] = [];
  readonly warnings: string[] = [];
  private readonly keep: Set<string>;

  constructor(
    private readonly resolver: Resolver,
    opts: FlattenOptions,
  ) {
    this.keep = new Set((opts.keep ?? []).map(normalizeName));
  }

  async fetch(domain: string): Promise<{ record: string | null; ttl: number | null; why: string }> {
    const answer = await this.resolver.lookup(domain, 'TXT');
    if (isTemporary(answer.status)) throw new FlattenError(`the TXT lookup for ${domain} failed (${answer.status}); try again later`, true);
    const spf = answer.records.map((s) => s.join('')).filter(isSpfRecord);
    if (spf.length === 0) return { record: null, ttl: null, why: `${domain} has no SPF record` };
    if (spf.length > 1) return { record: null, ttl: null, why: `${domain} has ${spf.length} SPF records` };
    return { record: spf[0]!, ttl: answer.ttl, why: '' };
  }

  /** Lookups an include costs when kept as it is (its whole subtree). */
  async costOf(domain: string, path: readonly string[]): Promise<number> {
    if (path.includes(domain) || path.length > 12) return 1;
    const { record } = await this.fetch(domain).catch(() => ({ record: null }));
    if (!record) return 1;
    const parsed = parseSpf(record);
    let n = 1;
    for (const m of parsed.mechanisms) {
      if (!LOOKUP_MECHANISMS.has(m.kind)) continue;
      n += m.kind === 'include' && m.domainSpec && !hasMacro(m.domainSpec) ? await this.costOf(normalizeName(m.domainSpec), [...path, domain]) : 1;
    }
    if (parsed.redirect && !parsed.mechanisms.some((m) => m.kind === 'all')) {
      n += hasMacro(parsed.redirect.value) ? 1 : await this.costOf(normalizeName(parsed.redirect.value), [...path, domain]);
    }
    return n;
  }

  /** Why an included record cannot be inlined, or null. */
  inlineProblem(parsed: ParsedSpf): string | null {
    if (parsed.errors.length) return 'its record has syntax errors';
    if (hasMacro(parsed.record)) return 'its record uses macros, which depend on the domain being evaluated';
    for (const m of parsed.mechanisms) {
      if (m.kind === 'all') {
        if (m.qualifier === '+') return 'its record ends in +all';
        continue;
      }
      if (m.qualifier !== '+') return `its record has "${m.text}", whose result would change once inlined`;
    }
    return null;
  }

  /**
   * Append the terms of `parsed` (the record of `domain`) to `out`.
   * `override` is the include's qualifier when inlining an include (null for the policy itself).
   */
  async expand(parsed: ParsedSpf, domain: string, root: string, override: Qualifier | null, out: OutTerm[], path: string[], dep: FlattenDependency | null): Promise<string | null> {
    let finalAll: string | null = null;
    for (const mech of parsed.mechanisms) {
      const q = override ?? mech.qualifier;
      if (mech.kind === 'all') {
        if (override === null) finalAll = qualify(mech.qualifier, 'all');
        break; // nothing after all is evaluated
      }
      if (mech.kind === 'ip4' || mech.kind === 'ip6') {
        out.push({ text: qualify(q, canonicalIp(mech)), qualifier: q, ip: true, lookups: 0 });
        if (dep) {
          dep.copied++;
          dep.ranges.push(qualify(mech.qualifier, canonicalIp(mech)));
        }
        continue;
      }
      if (mech.kind !== 'include') {
        // a, mx, ptr, exists: kept; a bare one names the included domain explicitly.
        const body = mech.domainSpec === undefined && domain !== root ? `${mech.kind}:${domain}${cidrSuffix(mech)}` : bodyOf(mech);
        out.push({ text: qualify(q, body), qualifier: q, ip: false, lookups: 1 });
        continue;
      }
      const spec = mech.domainSpec!;
      const target = normalizeName(spec);
      const keepAs = (reason: string, cost: number): void => {
        out.push({ text: qualify(q, bodyOf(mech)), qualifier: q, ip: false, lookups: cost });
        this.kept.push({ term: mech.text, reason });
      };
      if (hasMacro(spec)) {
        keepAs('the target has a macro', 1);
        continue;
      }
      if (this.keep.has(target)) {
        keepAs('kept on request (--keep)', await this.costOf(target, path));
        continue;
      }
      if (path.includes(target)) throw new FlattenError(`include loop: ${[...path, target].join(' -> ')}`);
      const sub = await this.fetch(target);
      if (!sub.record) throw new FlattenError(`${mech.text}: ${sub.why}; receivers already get permerror, fix that first`);
      const subParsed = parseSpf(sub.record);
      const problem = this.inlineProblem(subParsed);
      if (problem) {
        keepAs(problem, await this.costOf(target, path));
        continue;
      }
      const subDep: FlattenDependency = { domain: target, via: mech.text, record: sub.record, ttl: sub.ttl, copied: 0, ranges: [] };
      this.dependencies.push(subDep);
      await this.expand(subParsed, target, root, q, out, [...path, target], subDep);
      await this.followRedirect(subParsed, target, root, q, out, [...path, target]);
    }
    return finalAll;
  }

  /** A redirect in a record without all: the target's terms continue the evaluation. */
  async followRedirect(parsed: ParsedSpf, domain: string, root: string, override: Qualifier | null, out: OutTerm[], path: string[]): Promise<string | null> {
    if (!parsed.redirect || parsed.mechanisms.some((m) => m.kind === 'all')) return null;
    const value = parsed.redirect.value;
    if (hasMacro(value)) throw new FlattenError(`${domain}: redirect=${value} has a macro and cannot be flattened`);
    const target = normalizeName(value);
    if (path.includes(target)) throw new FlattenError(`redirect loop: ${[...path, target].join(' -> ')}`);
    const sub = await this.fetch(target);
    if (!sub.record) throw new FlattenError(`redirect=${value}: ${sub.why}; receivers already get permerror, fix that first`);
    const subParsed = parseSpf(sub.record);
    if (override !== null) {
      const problem = this.inlineProblem(subParsed);
      if (problem) throw new FlattenError(`${domain} redirects to ${target}, which cannot be inlined: ${problem}`);
    } else if (subParsed.errors.length) throw new FlattenError(`${target}: its record has syntax errors`);
    const dep: FlattenDependency = { domain: target, via: parsed.redirect.text, record: sub.record, ttl: sub.ttl, copied: 0, ranges: [] };
    this.dependencies.push(dep);
    const all = await this.expand(subParsed, target, root, override, out, [...path, target], dep);
    const further = await this.followRedirect(subParsed, target, root, override, out, [...path, target]);
    return all ?? further;
  }
}

function recordText(terms: readonly string[]): string {
  return ['v=spf1', ...terms].join(' ');
}

/** Flatten the SPF record of `domain`. */
export async function flattenSpf(resolver: Resolver, domainInput: string, opts: FlattenOptions = {}): Promise<FlattenResult> {
  const domain = normalizeName(domainInput);
  const maxLookups = opts.maxLookups ?? SPF_LOOKUP_LIMIT;
  const maxLength = opts.maxLength ?? 255;
  const prefix = opts.chainPrefix ?? '_spf';
  const f = new Flattener(resolver, opts);
  const { record, why } = opts.record !== undefined ? { record: opts.record, why: '' } : await f.fetch(domain);
  if (!record) throw new FlattenError(why);
  const parsed = parseSpf(record);
  if (parsed.errors.length) throw new FlattenError(`the record of ${domain} has syntax errors; run \`maildns spf ${domain}\` and fix them first`);

  const terms: OutTerm[] = [];
  const ownAll = await f.expand(parsed, domain, domain, null, terms, [domain], null);
  const redirectAll = await f.followRedirect(parsed, domain, domain, null, terms, [domain]);
  const finalAll = ownAll ?? redirectAll;
  if (parsed.redirect && ownAll !== null) f.warnings.push(`"${parsed.redirect.text}" was dropped: the record has "all", so receivers ignore it anyway`);

  // Drop repeated ip terms (same qualifier and network), keeping the first.
  const seen = new Set<string>();
  const unique = terms.filter((t) => {
    if (!t.ip) return true;
    if (seen.has(t.text)) return false;
    seen.add(t.text);
    return true;
  });
  const modifiers = parsed.terms.filter((t) => t.type === 'modifier' && t.name !== 'redirect').map((t) => t.text);
  const tail = [...(finalAll ? [finalAll] : []), ...modifiers];

  const records: FlatRecord[] = [];
  const rootTerms: string[] = [];
  let lookups = unique.reduce((n, t) => n + t.lookups, 0);
  const single = recordText([...unique.map((t) => t.text), ...tail]);
  if (Buffer.byteLength(single) <= maxLength) {
    rootTerms.push(...unique.map((t) => t.text));
  } else {
    // Move each run of consecutive ip terms with one qualifier into chain records.
    let n = 0;
    for (let i = 0; i < unique.length; ) {
      const t = unique[i]!;
      if (!t.ip) {
        rootTerms.push(t.text);
        i++;
        continue;
      }
      let j = i;
      while (j < unique.length && unique[j]!.ip && unique[j]!.qualifier === t.qualifier) j++;
      const bodies = unique.slice(i, j).map((x) => (x.qualifier === '+' ? x.text : x.text.slice(1)));
      let chunk: string[] = [];
      const flush = (): void => {
        if (!chunk.length) return;
        n++;
        const name = `${prefix}${n}.${domain}`;
        records.push({ name, value: recordText(chunk), strings: [] });
        rootTerms.push(qualify(t.qualifier, `include:${name}`));
        lookups++;
        chunk = [];
      };
      for (const b of bodies) {
        if (chunk.length && Buffer.byteLength(recordText([...chunk, b])) > maxLength) flush();
        chunk.push(b);
      }
      flush();
      i = j;
    }
  }
  const rootValue = recordText([...rootTerms, ...tail]);
  records.unshift({ name: domain, value: rootValue, strings: [] });
  for (const r of records) r.strings = splitCharacterStrings(r.value).map((b) => b.toString('utf8'));

  if (Buffer.byteLength(rootValue) > maxLength) f.warnings.push(`the record at ${domain} is still ${Buffer.byteLength(rootValue)} octets (limit ${maxLength}): too many terms besides ip4/ip6 remain`);
  if (lookups > maxLookups) f.warnings.push(`the result still takes ${lookups} DNS-querying terms (limit ${maxLookups}); the kept terms cost too much`);
  if (finalAll === null) f.warnings.push('the record has no "all", as before: unlisted senders get neutral');
  for (const d of f.dependencies) {
    f.warnings.push(`${d.domain} (${d.via}) was copied as ${d.copied} address term${d.copied === 1 ? '' : 's'}: when its owner adds or removes servers, your record does not follow and mail from the new servers fails SPF until you flatten again${d.ttl !== null ? ` (its TTL is ${d.ttl} s)` : ''}`);
  }
  return { domain, original: record, records, lookups, kept: f.kept, dependencies: f.dependencies, warnings: f.warnings };
}
