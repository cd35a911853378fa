/**
 * Validation of a domain's published SPF: walks every include and redirect through the Resolver,
 * counts DNS-querying terms per branch (the static worst case a receiver may have to evaluate) and
 * void lookups, and reports findings with stable codes.
 *
 * Counting rules (RFC 7208 §4.6.4): include, a, mx, ptr, exists and redirect= count one each;
 * exp= does not; a redirect= next to an `all` is ignored and not counted; the address lookups of
 * MX hosts are bounded separately (10 per mx) and not added to the 10; a target with a macro is
 * counted but cannot be resolved without a message, so it is reported, not followed.
 */
import type { Finding, Severity } from '../findings.js';
import { answersOf, isNoRecord, isTemporary, describeAnswer, describeStatus, dnsFailureCode, type DnsAnswer, type Resolver } from '../dns/resolver.js';
import { normalizeName } from '../names.js';
import { hasMacro } from './macro.js';
import { formatSyntaxError, isSpfRecord, LOOKUP_MECHANISMS, SPF_LOOKUP_LIMIT, SPF_VOID_LOOKUP_LIMIT, parseSpf, type ParsedSpf, type SpfMechanism } from './parse.js';
import { parseIp } from './ip.js';

interface SpfTermCost {
  term: string;
  /** Lookups this term costs, its subtree included. */
  lookups: number;
  note?: string;
}

export interface SpfTreeNode {
  domain: string;
  /** The term that leads here (`include:…`, `redirect=…`); null for the domain itself. */
  via: string | null;
  record: string | null;
  /** The record's character-strings as published. */
  strings: string[];
  /** Why there is no usable record here: `none`, `multiple`, `temperror`, `loop`, `macro`. */
  problem?: 'none' | 'multiple' | 'temperror' | 'loop' | 'macro';
  /** DNS-querying terms in this record itself. */
  ownLookups: number;
  /** ownLookups plus every descendant's. */
  lookups: number;
  voidLookups: number;
  /** Cost of each DNS-querying term of this record. */
  costs: SpfTermCost[];
  children: SpfTreeNode[];
}

export interface SpfReport {
  domain: string;
  tree: SpfTreeNode | null;
  lookups: number;
  voidLookups: number;
  /** The `all` that ends evaluation for a sender nothing matched (after redirects), if any. */
  effectiveAll: string | null;
  findings: Finding[];
  /** The domain's own TXT lookup failed (timeout, SERVFAIL, …): nothing could be checked. */
  dnsUnavailable: boolean;
}

export interface ValidateOptions {
  /** Look for SPF published at customary names the domain never includes, and for a type-99 record (11 queries; default true). */
  probeOrphans?: boolean;
  /** Other names to look at for SPF records the domain never includes. */
  extraOrphanNames?: string[];
  /**
   * `both` (default) asks A and AAAA for every `a`/`mx` target, so the tree can say which family a
   * term covers. `a-first` asks AAAA only when A answers NODATA (bulk checks): fewer queries and the
   * same findings, except that an AAAA lookup failing behind a working A goes unseen, and without
   * the per-family notes.
   */
  addressLookups?: 'both' | 'a-first';
  /** Check these TXT records as if the domain published them (a record not published yet): its own TXT is not asked. */
  asPublished?: string[][];
  /**
   * The domain the record would be published at is not known (a merge checked without one): its
   * own bare `a` and `mx` are counted but not looked up, since their answers would say nothing.
   */
  domainUnknown?: boolean;
}

const RFC = 'RFC 7208';
/** Names people publish SPF at and then forget to include. */
const ORPHAN_PREFIXES = ['_spf', 'spf', '_spf1', '_spf2', 'spf1', 'spf2', '_netblocks', '_spf-mail', 'spf-mail', '_mailspf'];

/** Wire size of a TXT answer to a plain query: header, question, and each RR (owner compressed). */
export function txtAnswerSize(name: string, records: readonly (readonly string[])[]): number {
  // Each label's length octet stands where a dot is written, plus one before the first and the root's zero.
  const bare = name.endsWith('.') ? name.slice(0, -1) : name;
  const nameLen = bare === '' ? 1 : Buffer.byteLength(bare) + 2;
  const rdata = records.reduce((n, strings) => n + 2 + 10 + strings.reduce((m, s) => m + 1 + Buffer.byteLength(s), 0), 0);
  return 12 + nameLen + 4 + rdata;
}

/**
 * Subtrees of include and redirect targets already walked in this run, by the resolver asked and
 * the target's TXT answer (the resolver's cache hands out the same answer object for the run, and a
 * new one after it drops it): a provider's include shared by thousands of domains is walked once. A subtree is reused only
 * where it comes out the same: no loop and no temporary failure inside it, and none of its names
 * on the path that leads to it (which would make a loop there). Its nodes are shared: do not modify.
 */
type Subtrees = WeakMap<object, Map<string, { node: SpfTreeNode; findings: Finding[]; names: string[] }>>;
/** Per resolver: two resolvers may route the same names to different servers (verify asks each zone's own). */
const subtreesByResolver = new WeakMap<Resolver, Subtrees>();
/** Findings that a lookup got no usable answer (spf.dns-malformed: the server's answer was broken). */
export const SPF_DNS_FAILURES: ReadonlySet<string> = new Set(['spf.temperror', 'spf.dns-malformed']);
/** Findings whose presence depends on the path or on DNS failing: a subtree holding one is not reused. */
const PATH_DEPENDENT = new Set(['spf.include-loop', 'spf.redirect-loop', ...SPF_DNS_FAILURES]);

function namesIn(node: SpfTreeNode, out: string[] = []): string[] {
  if (node.problem !== 'macro') out.push(node.domain);
  for (const c of node.children) namesIn(c, out);
  return out;
}

/** Starts one term's work on a walker of its own (see Walker.terms). */
type Branch = (run: (w: Walker, children: SpfTreeNode[]) => Promise<void> | void) => void;

class Walker {
  readonly findings: Finding[] = [];
  private readonly addressLookups: 'both' | 'a-first';
  constructor(
    private readonly resolver: Resolver,
    private readonly opts: ValidateOptions,
    private readonly seen = new Set<string>(),
  ) {
    this.addressLookups = opts.addressLookups ?? 'both';
  }

  /**
   * A walker for one term, run alongside the record's other terms: it shares the resolver and the
   * names seen, and keeps its findings apart, so that they join the parent's in the record's order
   * however the lookups interleave.
   */
  private fork(): Walker {
    return new Walker(this.resolver, this.opts, this.seen);
  }

  /**
   * The A and AAAA answers of a name. With `a-first`, AAAA is asked only when A answers NODATA: an
   * address or a failure already decides, and NXDOMAIN holds for every type (RFC 8020); null then.
   */
  private async addresses(name: string): Promise<[DnsAnswer<string>, DnsAnswer<string> | null]> {
    if (this.addressLookups === 'both') return Promise.all([this.resolver.lookup(name, 'A'), this.resolver.lookup(name, 'AAAA')]);
    const a = await this.resolver.lookup(name, 'A');
    return [a, a.status === 'nodata' ? await this.resolver.lookup(name, 'AAAA') : null];
  }

  add(code: string, severity: Severity, subject: string, message: string, fix?: string, rfc?: string): void {
    this.findings.push({ code, severity, subject, message, ...(fix ? { fix } : {}), ...(rfc ? { rfc } : {}) });
  }

  /** Names whose records are part of the tree (for the orphan check). */
  get visited(): ReadonlySet<string> {
    return this.seen;
  }

  async node(domain: string, via: string | null, path: readonly string[]): Promise<SpfTreeNode> {
    this.seen.add(domain);
    if (via === null && this.opts.asPublished) {
      const given: DnsAnswer<string[]> = { name: domain, type: 'TXT', status: 'ok', records: this.opts.asPublished, ttl: null, authoritative: true, server: 'not published', cnameChain: [] };
      return this.walk(domain, via, path, given);
    }
    const answer = await this.resolver.lookup(domain, 'TXT');
    if (via === null) return this.walk(domain, via, path, answer);
    // An include or redirect target: reuse its subtree from an earlier domain of this run when it can be.
    const key = `${via}\u0000${this.addressLookups}`;
    // By the resolver whose answers these are: every domain of a bulk run asks through a scope of its own.
    const owner = answersOf(this.resolver);
    let subtrees = subtreesByResolver.get(owner);
    if (!subtrees) subtreesByResolver.set(owner, (subtrees = new WeakMap()));
    const known = subtrees.get(answer)?.get(key);
    if (known && !known.names.some((n) => path.includes(n))) {
      for (const n of known.names) this.seen.add(n);
      this.findings.push(...known.findings);
      return known.node;
    }
    const before = this.findings.length;
    const node = await this.walk(domain, via, path, answer);
    const findings = this.findings.slice(before);
    if (node.record !== null && !findings.some((f) => PATH_DEPENDENT.has(f.code))) {
      let byVia = subtrees.get(answer);
      if (!byVia) subtrees.set(answer, (byVia = new Map()));
      byVia.set(key, { node, findings, names: namesIn(node) });
    }
    return node;
  }

  private async walk(domain: string, via: string | null, path: readonly string[], answer: DnsAnswer<string[]>): Promise<SpfTreeNode> {
    const node: SpfTreeNode = { domain, via, record: null, strings: [], ownLookups: 0, lookups: 0, voidLookups: 0, costs: [], children: [] };
    const subject = via ? `${path.at(-1)} ${via}` : domain;
    if (isTemporary(answer.status)) {
      node.problem = 'temperror';
      this.add(dnsFailureCode('spf', answer.status, 'spf.temperror'), 'error', domain, `the TXT lookup failed: ${describeAnswer(answer)}; receivers get a temporary error (temperror) and may defer or accept mail unchecked`, 'check that the authoritative servers of this name answer, then run the check again', `${RFC} §4.4`);
      return node;
    }
    const all = answer.records;
    const spf = all.filter((strings) => isSpfRecord(strings.join('')));
    for (const strings of all) {
      const text = strings.join('');
      if (/^spf2\.0\//i.test(text)) this.add('spf.sender-id', 'warning', domain, `a Sender ID record is published ("${text.slice(0, 40)}…"); Sender ID (RFC 4406) is historic and ignored`, 'remove the spf2.0 record', 'RFC 6686');
      else if (/^\s+v=spf1/i.test(text)) this.add('spf.leading-space', 'error', domain, 'a TXT record starts with white space before "v=spf1", so receivers do not see it as SPF', 'remove the leading white space', `${RFC} §4.5`);
      else if (/^v=spf1[^ ]/i.test(text) && !/^v=spf1$/i.test(text)) this.add('spf.version-glued', 'error', domain, `"${text.slice(0, 20)}…" is not an SPF record: "v=spf1" must be followed by a space`, 'put a space after v=spf1', `${RFC} §4.5`);
    }
    if (spf.length === 0) {
      node.problem = 'none';
      if (via === null) {
        const what = answer.status === 'nxdomain' ? 'the domain does not exist (NXDOMAIN)' : 'the domain publishes no SPF record';
        this.add('spf.none', 'error', domain, `${what}: receivers get "none" and cannot tell forged mail from real`, `publish one TXT record at ${domain}, e.g. "v=spf1 mx -all" (or "v=spf1 -all" if it sends no mail)`, `${RFC} §4.5`);
      } else if (via.startsWith('redirect=')) {
        this.add('spf.redirect-no-record', 'error', subject, `the redirect target ${domain} has no SPF record (${isNoRecord(answer.status) ? describeStatus(answer.status) : 'no v=spf1 TXT'}), so every check ends in permerror`, `publish SPF at ${domain} or point redirect= at a domain that has it`, `${RFC} §6.1`);
      } else {
        this.add('spf.include-no-record', 'error', subject, `the included domain ${domain} has no SPF record (${isNoRecord(answer.status) ? describeStatus(answer.status) : 'no v=spf1 TXT'}), so evaluating this include is a permerror`, `remove "${via}" or correct the domain name`, `${RFC} §5.2`);
      }
      if (isNoRecord(answer.status) && via !== null) node.voidLookups++;
      return node;
    }
    if (spf.length > 1) {
      node.problem = 'multiple';
      this.add('spf.multiple-records', 'error', domain, `${spf.length} SPF records are published; with more than one, every check is a permerror`, 'merge them into one record (one v=spf1, the terms of both, a single all)', `${RFC} §4.5`);
    }
    node.strings = [...spf[0]!];
    node.record = spf[0]!.join('');
    // A string of a DNS answer has at most 255 octets (its length is one octet; the decoder may move a
    // UTF-8 character split between two into the first): only a record given as published can hold a longer one.
    this.sizeChecks(domain, all, via === null && this.opts.asPublished ? node.strings : []);
    const parsed = parseSpf(node.record);
    this.syntaxFindings(domain, parsed, node.strings);
    await this.terms(node, parsed, [...path, domain]);
    return node;
  }

  private sizeChecks(domain: string, all: readonly string[][], strings: readonly string[]): void {
    strings.forEach((s, i) => {
      const n = Buffer.byteLength(s);
      if (n > 255) this.add('spf.string-too-long', 'error', domain, `character-string ${i + 1} of the SPF record is ${n} octets; one string holds at most 255`, 'split the record into several quoted strings of at most 255 octets each', `${RFC} §3.3`);
    });
    const size = txtAnswerSize(domain, all);
    if (size > 512) {
      this.add('spf.answer-too-large', 'warning', domain, `the TXT answer at ${domain} is ${size} octets, more than fits a 512-octet UDP response; receivers must retry over TCP and some give up`, 'shorten the SPF record (fewer terms, include a chain of records) or move other TXT records off this name', `${RFC} §3.4`);
    } else if (size > 450) {
      this.add('spf.answer-near-limit', 'info', domain, `the TXT answer at ${domain} is ${size} octets, close to the 512-octet UDP limit`, 'keep room: RFC 7208 advises staying under about 450 octets', `${RFC} §3.4`);
    }
  }

  private syntaxFindings(domain: string, parsed: ParsedSpf, strings: readonly string[]): void {
    // Offsets where one character-string ends and the next begins (they are joined with nothing between).
    const joins = new Set<number>();
    let at = 0;
    for (const s of strings.slice(0, -1)) joins.add((at += s.length));
    for (const e of parsed.errors) {
      const glued = [...joins].some((j) => j > e.offset - e.term.length && j <= e.offset + e.term.length && !parsed.record.slice(j - 1, j + 1).includes(' '));
      const hint = glued ? ' The record is split into several strings and receivers join them with nothing in between: end each string with a space or start the next with one.' : '';
      this.add('spf.syntax', 'error', domain, `syntax error at ${formatSyntaxError(e)}; every check of this record is a permerror.${hint}`, 'correct the term (see RFC 7208 §12 for the grammar)', `${RFC} §4.6`);
    }
  }

  /**
   * The terms of a record. Every term's lookups are asked at once (a record of 20 includes whose
   * zones are silent ends after one timeout, not twenty); what each finds joins the tree and the
   * findings in the record's order, so the result is the one a term-by-term walk gives. The counts
   * (RFC 7208 §4.6.4) come from the records alone, whatever order the answers arrive in.
   */
  private async terms(node: SpfTreeNode, parsed: ParsedSpf, path: readonly string[]): Promise<void> {
    const domain = node.domain;
    const allIndex = parsed.terms.findIndex((t) => t.type === 'mechanism' && t.kind === 'all');
    if (allIndex >= 0) {
      const after = parsed.terms.slice(allIndex + 1).filter((t) => t.type === 'mechanism');
      if (after.length) this.add('spf.terms-after-all', 'warning', domain, `${after.map((t) => `"${t.text}"`).join(', ')} come after "all" and are never evaluated`, 'move them before "all" or remove them', `${RFC} §4.6.2`);
    }
    /** One term's walker, its children and its work; merged in this order once all are done. */
    const branches: { walker: Walker; children: SpfTreeNode[]; work: Promise<void> }[] = [];
    const branch: Branch = (run) => {
      const walker = this.fork();
      const children: SpfTreeNode[] = [];
      branches.push({ walker, children, work: Promise.resolve().then(() => run(walker, children)) });
    };
    this.mechanismTerms(node, parsed, path, branch);
    this.modifierTerms(node, parsed, path, allIndex, branch);
    await Promise.all(branches.map((b) => b.work));
    for (const b of branches) {
      this.findings.push(...b.walker.findings);
      node.children.push(...b.children);
    }
    node.lookups = node.ownLookups + node.costs.reduce((n, c) => n + c.lookups - 1, 0);
  }

  /** The mechanisms' branches (terms() runs them): each lookup term is counted, followed where it names a record. */
  private mechanismTerms(node: SpfTreeNode, parsed: ParsedSpf, path: readonly string[], branch: Branch): void {
    const domain = node.domain;
    const includes = new Set<string>();
    for (const mech of parsed.mechanisms) {
      if (!LOOKUP_MECHANISMS.has(mech.kind)) {
        branch((w) => w.addressChecks(domain, mech));
        continue;
      }
      node.ownLookups++;
      const cost: SpfTermCost = { term: mech.text, lookups: 1 };
      node.costs.push(cost);
      const spec = mech.domainSpec;
      if (spec && hasMacro(spec)) {
        cost.note = 'macro: counted, resolved only per message';
        branch((w, children) => {
          w.add('spf.macro', 'info', `${domain} ${mech.text}`, 'the target holds a macro, so it depends on each message; it is counted as one lookup and not followed', undefined, `${RFC} §7`);
          if (mech.kind === 'include') children.push({ domain: spec, via: mech.text, record: null, strings: [], problem: 'macro', ownLookups: 0, lookups: 0, voidLookups: 0, costs: [], children: [] });
        });
        continue;
      }
      const target = normalizeName(spec ?? domain);
      if (spec === undefined && node.via === null && this.opts.domainUnknown && (mech.kind === 'a' || mech.kind === 'mx')) {
        cost.note = 'refers to the domain the record is published at, not known here: not looked up';
        continue;
      }
      switch (mech.kind) {
        case 'include': {
          const repeated = includes.has(target);
          includes.add(target);
          branch(async (w, children) => {
            if (repeated) w.add('spf.duplicate-include', 'warning', `${domain} ${mech.text}`, `${target} is included twice in the same record, costing a lookup for nothing`, 'remove the repeated include', `${RFC} §4.6.4`);
            if (path.includes(target)) {
              w.add('spf.include-loop', 'error', `${domain} ${mech.text}`, `include loop: ${[...path, target].join(' -> ')}; receivers hit the lookup limit and return permerror`, 'remove the include that points back up the chain', `${RFC} §4.6.4`);
              children.push({ domain: target, via: mech.text, record: null, strings: [], problem: 'loop', ownLookups: 0, lookups: 0, voidLookups: 0, costs: [], children: [] });
              cost.note = 'loop';
              return;
            }
            const child = await w.node(target, mech.text, path);
            children.push(child);
            cost.lookups += child.lookups;
            node.voidLookups += child.voidLookups;
            if (child.record && /(^| )\+?all( |$)/i.test(child.record)) {
              w.add('spf.include-pass-all', 'error', `${domain} ${mech.text}`, `${target} ends in "+all", so this include matches every address on the Internet`, `remove "${mech.text}"`, `${RFC} §5.2`);
            }
          });
          break;
        }
        case 'a':
          branch((w) => w.addressTarget(node, cost, mech, target));
          break;
        case 'mx':
          branch((w) => w.mxTarget(node, cost, mech, target));
          break;
        case 'exists':
          branch(async (w) => {
            const a = await w.resolver.lookup(target, 'A');
            if (isNoRecord(a.status)) {
              node.voidLookups++;
              cost.note = 'void: no A record';
            } else if (isTemporary(a.status)) w.temp(domain, mech.text, target, a);
          });
          break;
        case 'ptr':
          cost.note = 'ptr: depends on the client address';
          branch((w) => w.add('spf.ptr', 'warning', `${domain} ${mech.text}`, '"ptr" is slow, unreliable and deprecated; receivers may skip it, and it looks at only the first 10 names of a reverse lookup', 'replace it with ip4:/ip6: ranges or a:/mx: terms', `${RFC} §5.5`));
          break;
        default:
          break;
      }
    }
  }

  /** The modifiers' branches (terms() runs them): redirect= followed and counted, exp= looked at, unknown ones noted. */
  private modifierTerms(node: SpfTreeNode, parsed: ParsedSpf, path: readonly string[], allIndex: number, branch: Branch): void {
    const domain = node.domain;
    for (const mod of parsed.terms) {
      if (mod.type !== 'modifier') continue;
      if (mod.name === 'redirect') {
        if (allIndex >= 0) {
          branch((w) => w.add('spf.redirect-with-all', 'warning', `${domain} ${mod.text}`, '"redirect=" is ignored because the record also has "all"', 'remove "all" to use the redirect, or remove the redirect', `${RFC} §6.1`));
          continue;
        }
        node.ownLookups++;
        const cost: SpfTermCost = { term: mod.text, lookups: 1 };
        node.costs.push(cost);
        if (hasMacro(mod.value)) {
          cost.note = 'macro: counted, resolved only per message';
          continue;
        }
        const target = normalizeName(mod.value);
        branch(async (w, children) => {
          if (path.includes(target)) {
            w.add('spf.redirect-loop', 'error', `${domain} ${mod.text}`, `redirect loop: ${[...path, target].join(' -> ')}`, 'point redirect= at a record that does not lead back here', `${RFC} §4.6.4`);
            children.push({ domain: target, via: mod.text, record: null, strings: [], problem: 'loop', ownLookups: 0, lookups: 0, voidLookups: 0, costs: [], children: [] });
            return;
          }
          const child = await w.node(target, mod.text, path);
          children.push(child);
          cost.lookups += child.lookups;
          node.voidLookups += child.voidLookups;
        });
      } else if (mod.name === 'exp') {
        if (hasMacro(mod.value)) continue;
        branch(async (w) => {
          const exp = await w.resolver.lookup(normalizeName(mod.value), 'TXT');
          if (exp.status === 'ok' && exp.records.length > 1) w.add('spf.exp-target', 'warning', `${domain} ${mod.text}`, `${mod.value} has ${exp.records.length} TXT records; receivers ignore the explanation`, 'publish exactly one TXT record there', `${RFC} §6.2`);
          else if (isNoRecord(exp.status)) w.add('spf.exp-target', 'warning', `${domain} ${mod.text}`, `${mod.value} has no TXT record (${describeStatus(exp.status)}); receivers use their default explanation`, 'publish the explanation text there or drop exp=', `${RFC} §6.2`);
        });
      } else {
        branch((w) =>
          w.add('spf.unknown-modifier', 'info', `${domain} ${mod.text}`, `"${mod.name}=" is not a modifier receivers know; it is ignored`, mod.name === 'default' ? 'use an "all" mechanism for the default result' : 'remove it unless a tool of yours reads it', `${RFC} §6`),
        );
      }
    }
  }

  private addressChecks(domain: string, mech: SpfMechanism): void {
    if (mech.kind === 'all') return;
    if (mech.kind !== 'ip4' && mech.kind !== 'ip6') return;
    const len = mech.kind === 'ip4' ? (mech.cidr4 ?? 32) : (mech.cidr6 ?? 128);
    const broad = mech.kind === 'ip4' ? len < 8 : len < 16;
    if (broad && mech.qualifier !== '-') {
      this.add('spf.broad-range', 'warning', `${domain} ${mech.text}`, `/${len} authorises a huge part of the Internet`, 'list the sending networks themselves', `${RFC} §5.6`);
    }
    if (mech.kind === 'ip4' && len < 32 && hasHostBits(mech, len)) {
      this.add('spf.cidr-host-bits', 'info', `${domain} ${mech.text}`, `the address has bits set beyond /${len}; the whole /${len} network is authorised`, 'write the network address, or use /32 if one host was meant', `${RFC} §5.6`);
    }
  }

  /** A lookup of a term's target got no usable answer: spf.temperror, or spf.dns-malformed for a broken answer. */
  private temp(domain: string, term: string, target: string, answer: DnsAnswer<unknown>): void {
    this.add(dnsFailureCode('spf', answer.status, 'spf.temperror'), 'error', `${domain} ${term}`, `looking up ${target} failed: ${describeAnswer(answer)}; receivers evaluating this term get temperror`, 'check the authoritative servers of that name', `${RFC} §5`);
  }

  private async addressTarget(node: SpfTreeNode, cost: SpfTermCost, mech: SpfMechanism, target: string): Promise<void> {
    const [a, aaaa] = await this.addresses(target);
    if (isTemporary(a.status) || (aaaa && isTemporary(aaaa.status))) return this.temp(node.domain, mech.text, target, isTemporary(a.status) ? a : aaaa!);
    if (hasNoAddress(a, aaaa)) {
      node.voidLookups++;
      cost.note = 'void: no A or AAAA';
      this.add('spf.void-lookup', 'warning', `${node.domain} ${mech.text}`, `${target} has no A or AAAA record: the term matches nothing and counts as a void lookup`, 'remove the term or publish the address', `${RFC} §4.6.4`);
    } else if (aaaa && (a.status !== 'ok' || aaaa.status !== 'ok')) {
      cost.note = a.status === 'ok' ? 'IPv4 only (void for IPv6 clients)' : 'IPv6 only (void for IPv4 clients)';
    }
  }

  private async mxTarget(node: SpfTreeNode, cost: SpfTermCost, mech: SpfMechanism, target: string): Promise<void> {
    const mx = await this.resolver.lookup(target, 'MX');
    if (isTemporary(mx.status)) return this.temp(node.domain, mech.text, target, mx);
    // One loop rather than `.map().filter()`, for one elements kind (see txtValues in src/dns/resolver.ts).
    const hosts: string[] = [];
    for (const r of mx.records) if (r.exchange !== '') hosts.push(r.exchange);
    if (hosts.length === 0) {
      node.voidLookups++;
      cost.note = mx.status === 'ok' ? 'null MX' : 'void: no MX';
      this.add('spf.void-lookup', 'warning', `${node.domain} ${mech.text}`, `${target} has no MX hosts: the term matches nothing${mx.status === 'ok' ? '' : ' and counts as a void lookup'}`, 'remove the term', `${RFC} §4.6.4`);
      return;
    }
    if (mx.records.length > 10) {
      this.add('spf.mx-too-many-names', 'error', `${node.domain} ${mech.text}`, `${target} has ${mx.records.length} MX records; a receiver may look up at most 10, so "mx" is a permerror`, 'use ip4:/ip6: for the mail hosts or a:HOST terms', `${RFC} §4.6.4`);
    }
    cost.note = `${hosts.length} MX host${hosts.length === 1 ? '' : 's'} (address lookups bounded separately)`;
    const checked = hosts.slice(0, 10);
    const addresses = await Promise.all(checked.map((host) => this.addresses(host)));
    const dead = checked.filter((_, i) => hasNoAddress(...addresses[i]!));
    if (dead.length) this.add('spf.mx-host-no-address', 'warning', `${node.domain} ${mech.text}`, `MX host${dead.length > 1 ? 's' : ''} ${dead.join(', ')} ha${dead.length > 1 ? 've' : 's'} no address, so ${dead.length > 1 ? 'they match' : 'it matches'} nothing`, 'correct the MX records', `${RFC} §5.4`);
  }
}

/** Neither A nor AAAA has a record; a null AAAA was not asked because A answered NXDOMAIN (or had an address). */
function hasNoAddress(a: DnsAnswer<string>, aaaa: DnsAnswer<string> | null): boolean {
  return aaaa === null ? a.status === 'nxdomain' : isNoRecord(a.status) && isNoRecord(aaaa.status);
}

/** Parsed mechanisms are shared (parseSpf caches them), so each address is looked at once per run. */
const hostBitsOf = new WeakMap<object, boolean>();

/** Whether an ip4 term's address has bits set beyond its prefix length. */
function hasHostBits(mech: Readonly<SpfMechanism>, len: number): boolean {
  let known = hostBitsOf.get(mech);
  if (known === undefined) {
    const net = parseIp(mech.address ?? '');
    known = net !== null && net.family === 4 && net.bytes.some((b, i) => (b & (0xff >> Math.max(0, Math.min(8, len - i * 8)))) !== 0);
    hostBitsOf.set(mech, known);
  }
  return known;
}

/** The `all` that ends evaluation at the root (following redirects). */
function effectiveAll(node: SpfTreeNode | null): string | null {
  let n = node;
  for (let hop = 0; n && hop < 12; hop++) {
    if (!n.record) return null;
    const parsed = parseSpf(n.record);
    const all = parsed.mechanisms.find((m) => m.kind === 'all');
    if (all) return all.explicitQualifier ? all.text : `+${all.text}`;
    const redirect = n.children.find((c) => c.via?.startsWith('redirect='));
    n = redirect ?? null;
  }
  return null;
}

/** Validate the SPF a domain publishes. */
export async function validateSpf(resolver: Resolver, domainInput: string, opts: ValidateOptions = {}): Promise<SpfReport> {
  const domain = normalizeName(domainInput);
  const w = new Walker(resolver, opts);
  const tree = await w.node(domain, null, []);
  const report: SpfReport = { domain, tree, lookups: tree.lookups, voidLookups: tree.voidLookups, effectiveAll: null, findings: w.findings, dnsUnavailable: tree.problem === 'temperror' };
  if (report.dnsUnavailable) return report;

  if (tree.record) {
    if (tree.lookups > SPF_LOOKUP_LIMIT) {
      // Pushed rather than `.map()`ed, for one elements kind (see txtValues in src/dns/resolver.ts).
      const costs: string[] = [];
      for (const c of tree.costs) costs.push(`${c.term} ${c.lookups}`);
      const branches = costs.join(', ');
      w.add('spf.too-many-lookups', 'error', domain, `evaluating the record can take ${tree.lookups} DNS-querying terms, more than the ${SPF_LOOKUP_LIMIT} allowed; receivers return permerror once they pass ${SPF_LOOKUP_LIMIT} (per branch: ${branches})`, 'flatten the most expensive includes into ip4:/ip6: terms (`maildns spf flatten`), or drop includes you no longer use', `${RFC} §4.6.4`);
    } else if (tree.lookups >= SPF_LOOKUP_LIMIT - 1) {
      w.add('spf.lookups-near-limit', 'warning', domain, `evaluating the record can take ${tree.lookups} of the ${SPF_LOOKUP_LIMIT} allowed DNS-querying terms; one more include at a provider breaks it`, 'flatten an include or remove unused terms', `${RFC} §4.6.4`);
    }
    if (tree.voidLookups > SPF_VOID_LOOKUP_LIMIT) {
      w.add('spf.too-many-void-lookups', 'error', domain, `${tree.voidLookups} terms look up names that do not exist or have no records; receivers may return permerror after ${SPF_VOID_LOOKUP_LIMIT}`, 'remove the terms whose targets have no records (see the spf.void-lookup findings)', `${RFC} §4.6.4`);
    }
    report.effectiveAll = effectiveAll(tree);
    const all = report.effectiveAll;
    if (all === null) {
      w.add('spf.no-all', 'warning', domain, 'the record ends without "all" (or a redirect to a record with one), so mail from anywhere else is "neutral", which receivers treat as no policy', 'end the record with "-all" (or "~all" while testing)', `${RFC} §4.7`);
    } else if (all.startsWith('+')) {
      w.add('spf.pass-all', 'error', domain, `"${all}" lets every address on the Internet pass SPF for this domain`, 'end the record with "-all" or "~all"', `${RFC} §5.1`);
    } else if (all.startsWith('?')) {
      w.add('spf.neutral-all', 'warning', domain, `"${all}" says nothing about unlisted senders; receivers treat them as unchecked`, 'end the record with "-all" (or "~all")', `${RFC} §8.2`);
    }
  }

  if (opts.probeOrphans === false) return report;
  // SPF published at names the domain never points to, and the deprecated type-99 RR.
  const names = [...ORPHAN_PREFIXES.map((p) => `${p}.${domain}`), ...(opts.extraOrphanNames ?? []).map(normalizeName)];
  const [typed, ...orphans] = await Promise.all([resolver.lookup(domain, 'SPF'), ...names.map((n) => resolver.lookup(n, 'TXT'))]);
  if (typed.status === 'ok' && typed.records.length) {
    const same = typed.records.some((r) => r.join('') === tree.record);
    w.add('spf.type99-record', 'warning', domain, `a record of the retired type SPF (99) is published${same ? '' : ' and it differs from the TXT record'}; receivers use only TXT`, 'delete the type-99 SPF record and keep the TXT one', `${RFC} §3.1`);
  }
  orphans.forEach((ans, i) => {
    const name = names[i]!;
    if (w.visited.has(name) || ans.status !== 'ok') return;
    if (!ans.records.some((r) => isSpfRecord(r.join('')))) return;
    const fix = tree.record ? `add "include:${name}" to the record of ${domain} (or delete the unused record)` : `publish "v=spf1 include:${name} -all" at ${domain}`;
    w.add('spf.orphan-record', tree.record ? 'warning' : 'error', name, `${name} publishes an SPF record, but ${domain}'s own SPF never includes it, so receivers never read it`, fix, `${RFC} §4.6.4`);
  });
  return report;
}
