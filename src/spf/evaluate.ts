/**
 * check_host() (RFC 7208 §4-§6): the result a receiver computes for a client address, a sender and
 * a domain, with the term that decided and the explanation. Every query goes through the Resolver
 * it is given; a query that gets no answer in time is `temperror`, never "no record".
 */
import { isTemporary, type DnsAnswer, type Resolver, type RRType, type RDataMap } from '../dns/resolver.js';
import { InputError } from '../errors.js';
import { normalizeName } from '../names.js';
import { dottedForm, inPrefix, parseIp, readableForm, reverseName, type ClientIp } from './ip.js';
import { expandTokens, hasMacro, tokenizeMacroString, truncateDomain, type MacroContext } from './macro.js';
import { formatSyntaxError, isSpfRecord, parseSpf, QUALIFIER_RESULT, SPF_LOOKUP_LIMIT, SPF_VOID_LOOKUP_LIMIT, type SpfMechanism } from './parse.js';

export type SpfResult = 'pass' | 'fail' | 'softfail' | 'neutral' | 'none' | 'permerror' | 'temperror';
export const SPF_RESULTS: readonly SpfResult[] = ['pass', 'fail', 'softfail', 'neutral', 'none', 'permerror', 'temperror'];

export interface CheckHostInput {
  /** The SMTP client's address. */
  ip: string;
  /** The domain whose policy is checked (normally the MAIL FROM domain, or the HELO name). */
  domain: string;
  /** MAIL FROM; empty means `postmaster@<helo>` (RFC 7208 §2.4). */
  sender?: string;
  /** The HELO/EHLO name. */
  helo?: string;
  /** %{r}: the receiving host. */
  receiver?: string;
  now?: Date;
}

export interface SpfVerdict {
  result: SpfResult;
  domain: string;
  ip: string;
  sender: string;
  helo: string;
  /** The term that decided, and the record (and its domain) it sits in. */
  matched?: { term: string; domain: string; record: string };
  /** Why this result, in plain words. */
  reason: string;
  /** For `fail`: the domain's explanation (`exp=`) or our default text. */
  explanation?: string;
  explanationSource?: 'exp' | 'default';
  /** DNS-querying terms evaluated (limit 10) and void lookups (limit 2). */
  lookups: number;
  voidLookups: number;
  /** What was evaluated, step by step. */
  trace: string[];
}

interface CheckHostOptions {
  maxLookups?: number;
  maxVoidLookups?: number;
  /** Default explanation when the domain gives none; macros allowed. */
  defaultExplanation?: string;
}

const DEFAULT_EXPLANATION = '%{o} does not designate %{c} as a permitted sender (RFC 7208 SPF)';

class Abort extends Error {
  constructor(
    readonly result: 'permerror' | 'temperror',
    message: string,
  ) {
    super(message);
  }
}

interface Outcome {
  result: SpfResult;
  reason: string;
  matched?: { term: string; domain: string; record: string };
  explanation?: string;
  explanationSource?: 'exp' | 'default';
}

/** RFC 7208 §4.3: a domain check_host() can look up at all. */
function domainProblem(domain: string): string | null {
  if (domain.startsWith('[')) return 'is an address literal, not a domain name';
  const d = domain.replace(/\.$/, '');
  if (d.length === 0) return 'is empty';
  if (d.length > 253) return 'is longer than 253 characters';
  const labels = d.split('.');
  if (labels.length < 2) return 'is not a fully qualified (multi-label) domain name';
  if (labels.some((l) => l.length === 0)) return 'has an empty label';
  const long = labels.find((l) => l.length > 63);
  if (long) return `has a label longer than 63 characters ("${long.slice(0, 20)}…")`;
  return null;
}

class Session {
  lookups = 0;
  voids = 0;
  readonly trace: string[] = [];
  private validated: Promise<string> | null = null;
  /** TXT answers of include and redirect targets asked ahead of their turn (see prefetch). */
  private readonly prefetched = new Map<string, Promise<DnsAnswer<string[]>>>();
  private prefetchBudget: number;
  private readonly maxLookups: number;
  private readonly maxVoids: number;

  constructor(
    private readonly resolver: Resolver,
    readonly ip: ClientIp,
    readonly sender: string,
    readonly helo: string,
    private readonly input: CheckHostInput,
    private readonly opts: CheckHostOptions,
  ) {
    this.maxLookups = opts.maxLookups ?? SPF_LOOKUP_LIMIT;
    this.maxVoids = opts.maxVoidLookups ?? SPF_VOID_LOOKUP_LIMIT;
    this.prefetchBudget = this.maxLookups;
  }

  macroContext(domain: string): MacroContext {
    const at = this.sender.lastIndexOf('@');
    return {
      sender: this.sender,
      localPart: this.sender.slice(0, at),
      senderDomain: this.sender.slice(at + 1),
      domain,
      ipDotted: dottedForm(this.ip),
      ipReadable: readableForm(this.ip),
      ipVersion: this.ip.family === 4 ? 'in-addr' : 'ip6',
      helo: this.helo,
      receiver: this.input.receiver ?? 'unknown',
      timestamp: Math.floor((this.input.now ?? new Date()).getTime() / 1000),
      validatedName: () => (this.validated ??= this.validatedNameFor(domain)),
    };
  }

  async lookup<T extends RRType>(name: string, type: T): Promise<DnsAnswer<RDataMap[T]>> {
    const early = type === 'TXT' ? this.prefetched.get(normalizeName(name)) : undefined;
    return (early as Promise<DnsAnswer<RDataMap[T]>> | undefined) ?? this.resolver.lookup(name, type);
  }

  /**
   * Ask for the records of a record's include and redirect targets (and theirs, as they arrive)
   * at once, instead of one after another as evaluation reaches them. Evaluation itself, and so
   * the counts of RFC 7208 §4.6.4, stays in order. At most the lookup limit (10) of questions are
   * asked early per evaluation, some of which evaluation may never reach. Targets with macros wait their turn.
   */
  prefetch(record: string): void {
    const parsed = parseSpf(record);
    if (parsed.errors.length) return;
    const hasAll = parsed.mechanisms.some((m) => m.kind === 'all');
    const specs = [...parsed.mechanisms.filter((m) => m.kind === 'include').map((m) => m.domainSpec), ...(parsed.redirect && !hasAll ? [parsed.redirect.value] : [])];
    for (const spec of specs) {
      if (spec === undefined || hasMacro(spec) || this.prefetchBudget <= 0) continue;
      const name = normalizeName(spec);
      if (this.prefetched.has(name) || domainProblem(name)) continue;
      this.prefetchBudget--;
      const answer = this.resolver.lookup(name, 'TXT');
      this.prefetched.set(name, answer);
      void answer.then(
        (a) => {
          const spf = a.status === 'ok' ? a.records.map((r) => r.join('')).filter(isSpfRecord) : [];
          if (spf.length === 1) this.prefetch(spf[0]!);
        },
        () => undefined, // evaluation reports the failure when it reaches the term
      );
    }
  }

  countLookup(term: string): void {
    this.lookups++;
    if (this.lookups > this.maxLookups) {
      throw new Abort('permerror', `more than ${this.maxLookups} DNS-querying terms (at "${term}"): RFC 7208 §4.6.4 makes this a permanent error`);
    }
  }

  countVoid(name: string, term: string): void {
    this.voids++;
    this.trace.push(`  ${term}: ${name} has no such record (void lookup ${this.voids})`);
    if (this.voids > this.maxVoids) {
      throw new Abort('permerror', `more than ${this.maxVoids} lookups returned no records (at "${term}"): RFC 7208 §4.6.4 makes this a permanent error`);
    }
  }

  /** Expand a domain-spec (already syntax-checked) into a name to query. */
  async target(spec: string | undefined, domain: string): Promise<string> {
    if (spec === undefined) return domain;
    const { tokens, error } = tokenizeMacroString(spec);
    if (error) throw new Abort('permerror', `bad macro in "${spec}": ${error.reason}`);
    return truncateDomain(await expandTokens(tokens, this.macroContext(domain)));
  }

  /** Addresses of a name for the client's family; `null` when the name has none. */
  async addresses(name: string, term: string, countVoid: boolean): Promise<ClientIp[] | null> {
    if (domainProblem(name)) {
      if (countVoid) this.countVoid(name, term);
      return null;
    }
    const answer = await this.lookup(name, this.ip.family === 4 ? 'A' : 'AAAA');
    if (isTemporary(answer.status)) throw new Abort('temperror', `${name}: ${answer.status} while evaluating "${term}"`);
    if (answer.status !== 'ok') {
      if (countVoid) this.countVoid(name, term);
      return null;
    }
    return answer.records.map((a) => parseIp(a)).filter((a): a is ClientIp => a !== null);
  }

  matchesAny(addrs: readonly ClientIp[], mech: SpfMechanism): boolean {
    const len = this.ip.family === 4 ? (mech.cidr4 ?? 32) : (mech.cidr6 ?? 128);
    return addrs.some((a) => inPrefix(this.ip, a, len));
  }

  /** %{p} and the ptr mechanism: names of the client address whose forward lookup returns it. */
  async validatedNames(): Promise<string[]> {
    const answer = await this.lookup(reverseName(this.ip), 'PTR');
    if (answer.status !== 'ok') return [];
    const out: string[] = [];
    // RFC 7208 §4.6.4: at most 10 PTR names are looked at.
    for (const name of answer.records.slice(0, 10)) {
      if (domainProblem(name)) continue;
      const fwd = await this.lookup(name, this.ip.family === 4 ? 'A' : 'AAAA');
      if (fwd.status !== 'ok') continue; // errors skip the name (§5.5)
      if (fwd.records.some((a) => { const p = parseIp(a); return p !== null && inPrefix(this.ip, p, this.ip.family === 4 ? 32 : 128); })) {
        out.push(normalizeName(name));
      }
    }
    return out;
  }

  private async validatedNameFor(domain: string): Promise<string> {
    const names = await this.validatedNames();
    const d = normalizeName(domain);
    return names.find((n) => n === d) ?? names.find((n) => n.endsWith(`.${d}`)) ?? names[0] ?? 'unknown';
  }

  async fetchRecord(domain: string): Promise<{ record: string | null; reason: string }> {
    const problem = domainProblem(domain);
    if (problem) return { record: null, reason: `the domain "${domain}" ${problem}` };
    const answer = await this.lookup(domain, 'TXT');
    if (isTemporary(answer.status)) throw new Abort('temperror', `TXT lookup for ${domain} failed: ${answer.status}${answer.detail ? ` (${answer.detail})` : ''}`);
    if (answer.status !== 'ok') return { record: null, reason: `${domain} has no TXT records (${answer.status})` };
    const spf = answer.records.map((s) => s.join('')).filter(isSpfRecord);
    if (spf.length === 0) return { record: null, reason: `${domain} publishes no SPF record` };
    if (spf.length > 1) throw new Abort('permerror', `${domain} publishes ${spf.length} SPF records (exactly one is allowed, RFC 7208 §4.5)`);
    this.prefetch(spf[0]!);
    return { record: spf[0]!, reason: '' };
  }

  async check(domain: string, depth: string): Promise<Outcome> {
    const { record, reason } = await this.fetchRecord(domain);
    if (record === null) {
      this.trace.push(`${depth}${domain}: no SPF record`);
      return { result: 'none', reason };
    }
    this.trace.push(`${depth}${domain}: "${record}"`);
    const parsed = parseSpf(record);
    if (parsed.errors.length) {
      throw new Abort('permerror', `syntax error in the record of ${domain}, ${formatSyntaxError(parsed.errors[0]!)}`);
    }
    for (const mech of parsed.mechanisms) {
      const matched = await this.evaluateMechanism(mech, domain, depth);
      if (!matched) continue;
      const result = QUALIFIER_RESULT[mech.qualifier];
      const where = { term: mech.text, domain, record };
      this.trace.push(`${depth}  ${mech.text}: matches -> ${result}`);
      const out: Outcome = { result, matched: where, reason: `"${mech.text}" in the record of ${domain} matched` };
      if (result === 'fail') Object.assign(out, await this.explain(parsed.exp?.value, domain));
      return out;
    }
    const hasAll = parsed.mechanisms.some((m) => m.kind === 'all');
    if (parsed.redirect && !hasAll) {
      this.countLookup(parsed.redirect.text);
      const target = await this.target(parsed.redirect.value, domain);
      this.trace.push(`${depth}  ${parsed.redirect.text} -> ${target}`);
      const sub = await this.check(target, `${depth}  `);
      if (sub.result === 'none') throw new Abort('permerror', `${parsed.redirect.text}: ${sub.reason} (a redirect target must have one)`);
      return sub;
    }
    return { result: 'neutral', reason: `nothing in the record of ${domain} matched and it has no "all" or "redirect=", so the default is neutral` };
  }

  /** True on match; throws Abort for errors. */
  private async evaluateMechanism(mech: SpfMechanism, domain: string, depth: string): Promise<boolean> {
    switch (mech.kind) {
      case 'all':
        return true;
      case 'ip4':
      case 'ip6': {
        const net = parseIp(mech.address!);
        if (!net) return false;
        const len = mech.kind === 'ip4' ? (mech.cidr4 ?? 32) : (mech.cidr6 ?? 128);
        // An ip6 network written as an IPv4-mapped address still only matches IPv6 clients.
        if ((mech.kind === 'ip4') !== (this.ip.family === 4)) return false;
        if (mech.kind === 'ip6' && net.family === 4) return false;
        return inPrefix(this.ip, net, len);
      }
      case 'a': {
        this.countLookup(mech.text);
        const name = await this.target(mech.domainSpec, domain);
        const addrs = await this.addresses(name, mech.text, true);
        return addrs !== null && this.matchesAny(addrs, mech);
      }
      case 'mx': {
        this.countLookup(mech.text);
        const name = await this.target(mech.domainSpec, domain);
        if (domainProblem(name)) {
          this.countVoid(name, mech.text);
          return false;
        }
        const answer = await this.lookup(name, 'MX');
        if (isTemporary(answer.status)) throw new Abort('temperror', `${name} MX: ${answer.status} while evaluating "${mech.text}"`);
        if (answer.status !== 'ok') {
          this.countVoid(name, mech.text);
          return false;
        }
        if (answer.records.length > 10) {
          throw new Abort('permerror', `"${mech.text}": ${name} has ${answer.records.length} MX records, more than the 10 a receiver may look up (RFC 7208 §4.6.4)`);
        }
        const hosts = [...answer.records].sort((a, b) => a.priority - b.priority).map((r) => r.exchange).filter((h) => h !== '');
        for (const host of hosts) {
          const addrs = await this.addresses(host, mech.text, false);
          if (addrs && this.matchesAny(addrs, mech)) return true;
        }
        return false;
      }
      case 'ptr': {
        this.countLookup(mech.text);
        const target = normalizeName(await this.target(mech.domainSpec, domain));
        const answer = await this.lookup(reverseName(this.ip), 'PTR');
        if (answer.status === 'nxdomain' || answer.status === 'nodata') {
          this.countVoid(reverseName(this.ip), mech.text);
          return false;
        }
        if (answer.status !== 'ok') return false; // §5.5: a DNS error makes ptr not match
        const names = await this.validatedNames();
        return names.some((n) => n === target || n.endsWith(`.${target}`));
      }
      case 'exists': {
        this.countLookup(mech.text);
        const name = await this.target(mech.domainSpec, domain);
        if (domainProblem(name)) {
          this.countVoid(name, mech.text);
          return false;
        }
        const answer = await this.lookup(name, 'A');
        if (isTemporary(answer.status)) throw new Abort('temperror', `${name} A: ${answer.status} while evaluating "${mech.text}"`);
        if (answer.status !== 'ok') {
          this.countVoid(name, mech.text);
          return false;
        }
        return true;
      }
      case 'include': {
        this.countLookup(mech.text);
        const target = await this.target(mech.domainSpec, domain);
        this.trace.push(`${depth}  ${mech.text} -> ${target}`);
        const sub = await this.check(target, `${depth}    `);
        switch (sub.result) {
          case 'pass':
            return true;
          case 'fail':
          case 'softfail':
          case 'neutral':
            return false;
          case 'temperror':
            throw new Abort('temperror', sub.reason);
          case 'none':
            throw new Abort('permerror', `${mech.text}: ${sub.reason} (an included domain must publish SPF, RFC 7208 §5.2)`);
          case 'permerror':
            throw new Abort('permerror', sub.reason);
        }
      }
    }
  }

  /** RFC 7208 §6.2: the explanation of a fail; any problem falls back to the default text. */
  async explain(expSpec: string | undefined, domain: string): Promise<Pick<Outcome, 'explanation' | 'explanationSource'>> {
    const fallback = async (): Promise<Pick<Outcome, 'explanation' | 'explanationSource'>> => {
      const { tokens } = tokenizeMacroString(this.opts.defaultExplanation ?? DEFAULT_EXPLANATION, true);
      return { explanation: await expandTokens(tokens, this.macroContext(domain)), explanationSource: 'default' };
    };
    if (expSpec === undefined) return fallback();
    try {
      const name = await this.target(expSpec, domain);
      if (domainProblem(name)) return fallback();
      const answer = await this.lookup(name, 'TXT');
      if (answer.status !== 'ok' || answer.records.length !== 1) return fallback();
      const text = answer.records[0]!.join('');
      if (/[^\x20-\x7e]/.test(text)) return fallback();
      const { tokens, error } = tokenizeMacroString(text, true);
      if (error) return fallback();
      return { explanation: await expandTokens(tokens, this.macroContext(domain)), explanationSource: 'exp' };
    } catch {
      return fallback();
    }
  }
}

/** Split a sender into local part and domain; an empty or domain-only sender becomes postmaster@. */
function normalizeSender(sender: string | undefined, helo: string): string {
  const s = (sender ?? '').trim();
  if (s === '') return `postmaster@${helo}`;
  const at = s.lastIndexOf('@');
  if (at < 0) return `postmaster@${s}`;
  if (at === 0) return `postmaster${s}`;
  return s;
}

/** Run check_host() for one client address. */
export async function checkHost(resolver: Resolver, input: CheckHostInput, opts: CheckHostOptions = {}): Promise<SpfVerdict> {
  const ip = parseIp(input.ip);
  if (!ip) throw new InputError(`"${input.ip}" is not an IP address`);
  const helo = input.helo ?? input.domain;
  const sender = normalizeSender(input.sender, helo);
  const domain = input.domain.replace(/\.$/, '');
  const session = new Session(resolver, ip, sender, helo, input, opts);
  const base = { domain, ip: input.ip, sender, helo };
  let outcome: Outcome;
  const problem = domainProblem(domain);
  if (problem) {
    outcome = { result: 'none', reason: `the domain "${domain}" ${problem}, so there is no policy to check (RFC 7208 §4.3)` };
  } else {
    try {
      outcome = await session.check(domain, '');
    } catch (err) {
      if (!(err instanceof Abort)) throw err;
      outcome = { result: err.result, reason: err.message };
      session.trace.push(`-> ${err.result}: ${err.message}`);
    }
  }
  return { ...base, ...outcome, lookups: session.lookups, voidLookups: session.voids, trace: session.trace };
}

/** check_host() for a message: the MAIL FROM domain, or the HELO name when MAIL FROM is empty. */
export async function checkSender(resolver: Resolver, ip: string, sender: string, helo: string, opts: CheckHostOptions = {}): Promise<SpfVerdict> {
  const full = normalizeSender(sender, helo);
  const domain = full.slice(full.lastIndexOf('@') + 1);
  return checkHost(resolver, { ip, domain, sender: full, helo }, opts);
}
