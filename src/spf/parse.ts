/**
 * SPF record parser (RFC 7208 §4.5, §5, §6, §12 ABNF). Every syntax error carries the offset in the
 * record where it starts and a plain reason, so a user can find the broken character.
 */
import { isIPv4 } from 'node:net';
import { parseIpv6 } from '../ipv6.js';
import { RecentMap } from '../recent.js';
import { describeChar, hasMacro, tokenizeMacroString } from './macro.js';

export type Qualifier = '+' | '-' | '~' | '?';
export type MechanismKind = 'all' | 'include' | 'a' | 'mx' | 'ptr' | 'ip4' | 'ip6' | 'exists';
const MECHANISMS: readonly MechanismKind[] = ['all', 'include', 'a', 'mx', 'ptr', 'ip4', 'ip6', 'exists'];
/** Mechanisms whose evaluation costs a DNS query (RFC 7208 §4.6.4); `redirect=` counts too. */
export const LOOKUP_MECHANISMS: ReadonlySet<MechanismKind> = new Set(['include', 'a', 'mx', 'ptr', 'exists']);
/** RFC 7208 §4.6.4: evaluation stops with permerror after 10 DNS-querying terms... */
export const SPF_LOOKUP_LIMIT = 10;
/** ...and may stop after 2 of them found no records (void lookups). */
export const SPF_VOID_LOOKUP_LIMIT = 2;

export interface SpfMechanism {
  type: 'mechanism';
  kind: MechanismKind;
  qualifier: Qualifier;
  /** True when the qualifier was written out. */
  explicitQualifier: boolean;
  /** include, exists, and a/mx/ptr with `:domain`. */
  domainSpec?: string;
  /** ip4/ip6: the address part. */
  address?: string;
  /** Prefix lengths: ip4 and the IPv4 half of a/mx; ip6 and the IPv6 half of a/mx. */
  cidr4?: number;
  cidr6?: number;
  /** The term as written. */
  text: string;
  /** Offset of the term in the record. */
  start: number;
}

export interface SpfModifier {
  type: 'modifier';
  /** Lower case. */
  name: string;
  value: string;
  text: string;
  start: number;
}

type SpfTerm = SpfMechanism | SpfModifier;

interface SpfSyntaxError {
  /** Offset in the record (0-based). */
  offset: number;
  /** The term the error is in (or the record's start). */
  term: string;
  reason: string;
}

/** A parse result is shared between callers (see parseSpf's cache): never modify one. */
export interface ParsedSpf {
  readonly record: string;
  readonly terms: readonly Readonly<SpfTerm>[];
  readonly mechanisms: readonly Readonly<SpfMechanism>[];
  readonly redirect?: Readonly<SpfModifier>;
  readonly exp?: Readonly<SpfModifier>;
  readonly errors: readonly Readonly<SpfSyntaxError>[];
}

/** RFC 7208 §4.5: the record starts with `v=spf1` followed by a space or the end. */
export function isSpfRecord(text: string): boolean {
  return /^v=spf1(?: |$)/i.test(text);
}

export const QUALIFIER_RESULT: Record<Qualifier, 'pass' | 'fail' | 'softfail' | 'neutral'> = {
  '+': 'pass',
  '-': 'fail',
  '~': 'softfail',
  '?': 'neutral',
};

const TOPLABEL = /^(?:[A-Za-z0-9]*[A-Za-z][A-Za-z0-9]*|[A-Za-z0-9]+-[A-Za-z0-9-]*[A-Za-z0-9])$/;
const DEC_OCTET = '(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]\\d|\\d)';
const IP4 = new RegExp(`^${DEC_OCTET}(?:\\.${DEC_OCTET}){3}$`);

/** Problem with a domain-spec (macro-string domain-end), or null. Offsets are relative to `spec`. */
function domainSpecProblem(spec: string): { offset: number; reason: string } | null {
  if (spec === '') return { offset: 0, reason: 'the domain is empty' };
  const { tokens, error } = tokenizeMacroString(spec);
  if (error) return error;
  const last = tokens.at(-1);
  if (last && last.kind !== 'literal') return null; // domain-end may be a macro-expand
  // The literal tail must end with "." toplabel ["."] (a lone "." after a macro is tolerated).
  const tail = last?.text ?? '';
  if (tail === '.' && tokens.at(-2)?.kind === 'macro') return null;
  const body = tail.replace(/\.$/, '');
  const dot = body.lastIndexOf('.');
  if (dot < 0) {
    return { offset: 0, reason: `"${spec}" is not a fully qualified domain name (it needs a dot and a top-level label)` };
  }
  const top = body.slice(dot + 1);
  if (!TOPLABEL.test(top)) {
    return { offset: spec.length - tail.length + dot + 1, reason: `"${top}" is not a valid top-level label (letters, digits and inner hyphens, not all digits)` };
  }
  return null;
}

function cidrValue(text: string, max: number, what: string): { value?: number; reason?: string } {
  if (!/^\d+$/.test(text)) return { reason: `${what} prefix length "/${text}" is not a number` };
  if (text.length > 1 && text.startsWith('0')) return { reason: `${what} prefix length "/${text}" has a leading zero` };
  const n = Number(text);
  if (n > max) return { reason: `${what} prefix length /${n} is above ${max}` };
  return { value: n };
}

/** Parse `/4` and/or `//6` suffixes. */
function parseDualCidr(text: string): { cidr4?: number; cidr6?: number; reason?: string } {
  const m = /^(?:\/(\d+))?(?:\/\/(\d+))?$/.exec(text);
  if (!m) return { reason: `"${text}" is not a prefix length (write /N for IPv4, //N for IPv6, or both as /N//M)` };
  const out: { cidr4?: number; cidr6?: number; reason?: string } = {};
  if (m[1] !== undefined) {
    const v = cidrValue(m[1], 32, 'IPv4');
    if (v.reason) return { reason: v.reason };
    out.cidr4 = v.value!;
  }
  if (m[2] !== undefined) {
    const v = cidrValue(m[2], 128, 'IPv6');
    if (v.reason) return { reason: v.reason };
    out.cidr6 = v.value!;
  }
  return out;
}

/** Split `domain/24//64` into domain and CIDR suffix (the suffix is only ever at the end). */
function splitDomainCidr(rest: string): { domain: string; cidr: string } {
  const m = /^(.*?)((?:\/\d+)?(?:\/\/\d+)?)$/.exec(rest)!;
  return { domain: m[1]!, cidr: m[2]! };
}

function parseMechanism(term: string, start: number): { mech?: SpfMechanism; error?: SpfSyntaxError } {
  const err = (offset: number, reason: string) => ({ error: { offset: start + offset, term, reason } });
  let i = 0;
  let qualifier: Qualifier = '+';
  let explicitQualifier = false;
  if ('+-~?'.includes(term[0]!)) {
    qualifier = term[0] as Qualifier;
    explicitQualifier = true;
    i = 1;
  }
  const nameMatch = /^[A-Za-z][A-Za-z0-9]*/.exec(term.slice(i));
  const name = (nameMatch?.[0] ?? '').toLowerCase();
  const rest = term.slice(i + (nameMatch?.[0].length ?? 0));
  const base = { type: 'mechanism' as const, qualifier, explicitQualifier, text: term, start };
  if (!MECHANISMS.includes(name as MechanismKind)) {
    if (term.startsWith('=')) return err(0, 'a modifier needs a name before "="');
    if (/^[A-Za-z0-9._-]*=/.test(term.slice(i)) && /^[^A-Za-z]/.test(term.slice(i))) return err(i, 'a modifier name must start with a letter');
    const eq = term.indexOf('=');
    if (eq > 0 && !/^[A-Za-z][A-Za-z0-9_.-]*$/.test(term.slice(0, eq))) {
      return err(0, `"${term.slice(0, eq)}" is not a valid modifier name (a letter, then letters, digits, "-", "_" or ".")`);
    }
    if (name === 'redirect' || name === 'exp') return err(i, `"${name}" is a modifier: write ${name}=DOMAIN`);
    if (/^v$/.test(name) && rest.startsWith('=spf')) return err(i, 'the version tag may appear only at the start of the record');
    if (name === '') return err(i, `${describeChar(term[i] ?? ' ')} cannot start a term`);
    return err(i, `"${name}" is not an SPF mechanism (all, include, a, mx, ptr, ip4, ip6, exists)`);
  }
  const kind = name as MechanismKind;
  const at = i + name.length;
  const needDomain = (spec: string, offset: number): SpfSyntaxError | null => {
    const p = domainSpecProblem(spec);
    return p ? { offset: start + offset + p.offset, term, reason: p.reason } : null;
  };
  switch (kind) {
    case 'all':
      if (rest !== '') return err(at, `"all" takes no argument (found "${rest}")`);
      return { mech: { ...base, kind } };
    case 'include':
    case 'exists': {
      if (!rest.startsWith(':')) return err(at, `"${kind}" needs a domain: ${kind}:DOMAIN`);
      const spec = rest.slice(1);
      const e = needDomain(spec, at + 1);
      if (e) return { error: e };
      return { mech: { ...base, kind, domainSpec: spec } };
    }
    case 'ptr': {
      if (rest === '') return { mech: { ...base, kind } };
      if (!rest.startsWith(':')) return err(at, `"ptr" takes an optional domain (ptr:DOMAIN), no prefix length`);
      const spec = rest.slice(1);
      const e = needDomain(spec, at + 1);
      if (e) return { error: e };
      return { mech: { ...base, kind, domainSpec: spec } };
    }
    case 'a':
    case 'mx': {
      let domain: string | undefined;
      let cidr = rest;
      if (rest.startsWith(':')) {
        const split = splitDomainCidr(rest.slice(1));
        domain = split.domain;
        cidr = split.cidr;
        const e = needDomain(domain, at + 1);
        if (e) return { error: e };
      }
      const c = parseDualCidr(cidr);
      if (c.reason) return err(at + (rest.length - cidr.length), c.reason);
      return { mech: { ...base, kind, ...(domain !== undefined ? { domainSpec: domain } : {}), ...(c.cidr4 !== undefined ? { cidr4: c.cidr4 } : {}), ...(c.cidr6 !== undefined ? { cidr6: c.cidr6 } : {}) } };
    }
    case 'ip4': {
      if (!rest.startsWith(':')) return err(at, '"ip4" needs an address: ip4:192.0.2.1 or ip4:192.0.2.0/24');
      const value = rest.slice(1);
      const slash = value.indexOf('/');
      const addr = slash < 0 ? value : value.slice(0, slash);
      if (hasMacro(addr)) return err(at + 1, 'macros are not allowed in ip4');
      if (!IP4.test(addr)) {
        const hint = parseIpv6(addr) ? ' (this is an IPv6 address: use ip6:)' : '';
        return err(at + 1, `"${addr}" is not an IPv4 address${hint}`);
      }
      const out: SpfMechanism = { ...base, kind, address: addr };
      if (slash >= 0) {
        const v = cidrValue(value.slice(slash + 1), 32, 'IPv4');
        if (v.reason) return err(at + 1 + slash, v.reason);
        out.cidr4 = v.value!;
      }
      return { mech: out };
    }
    case 'ip6': {
      if (!rest.startsWith(':')) return err(at, '"ip6" needs an address: ip6:2001:db8::1 or ip6:2001:db8::/32');
      const value = rest.slice(1);
      const slash = value.indexOf('/');
      const addr = slash < 0 ? value : value.slice(0, slash);
      if (hasMacro(addr)) return err(at + 1, 'macros are not allowed in ip6');
      if (!parseIpv6(addr)) {
        const hint = isIPv4(addr) ? ' (this is an IPv4 address: use ip4:)' : '';
        return err(at + 1, `"${addr}" is not an IPv6 address${hint}`);
      }
      const out: SpfMechanism = { ...base, kind, address: addr };
      if (slash >= 0) {
        const v = cidrValue(value.slice(slash + 1), 128, 'IPv6');
        if (v.reason) return err(at + 1 + slash, v.reason);
        out.cidr6 = v.value!;
      }
      return { mech: out };
    }
  }
}

function parseModifier(term: string, start: number, eq: number): { mod?: SpfModifier; error?: SpfSyntaxError } {
  const name = term.slice(0, eq).toLowerCase();
  const value = term.slice(eq + 1);
  const mod: SpfModifier = { type: 'modifier', name, value, text: term, start };
  if (name === 'redirect' || name === 'exp') {
    const p = domainSpecProblem(value);
    if (p) return { error: { offset: start + eq + 1 + p.offset, term, reason: `${name}=: ${p.reason}` } };
    return { mod };
  }
  const { error } = tokenizeMacroString(value);
  if (error) return { error: { offset: start + eq + 1 + error.offset, term, reason: `modifier "${name}": ${error.reason}` } };
  return { mod };
}

/**
 * Recently parsed records by text. A bulk check meets the same provider records (`_spf.google.com`
 * and the netblocks it includes) once per domain; parsing each text once saves most of the work.
 */
const parsedByText = new RecentMap<string, ParsedSpf>(512);

/** Parse a record. A text that is not `v=spf1…` gives one error at offset 0. The result is shared: do not modify it. */
export function parseSpf(record: string): ParsedSpf {
  let parsed = parsedByText.get(record);
  if (parsed) return parsed;
  parsed = parseUncached(record);
  parsedByText.set(record, parsed);
  return parsed;
}

function parseUncached(record: string): ParsedSpf {
  const out: { record: string; terms: SpfTerm[]; mechanisms: SpfMechanism[]; redirect?: SpfModifier; exp?: SpfModifier; errors: SpfSyntaxError[] } = { record, terms: [], mechanisms: [], errors: [] };
  if (!isSpfRecord(record)) {
    const reason = /^\s+v=spf1/i.test(record)
      ? 'the record starts with white space: receivers ignore it'
      : /^v=spf1\S/i.test(record)
        ? '"v=spf1" must be followed by a space'
        : 'an SPF record starts with "v=spf1"';
    out.errors.push({ offset: 0, term: record.slice(0, 12), reason });
    return out;
  }
  // Terms are separated by spaces (SP only); anything else outside printable ASCII is an error.
  const re = /[^ ]+/g;
  let m: RegExpExecArray | null;
  re.lastIndex = 6;
  while ((m = re.exec(record))) {
    const term = m[0];
    const start = m.index;
    const bad = [...term].findIndex((c) => c.charCodeAt(0) < 0x21 || c.charCodeAt(0) > 0x7e);
    if (bad >= 0) {
      out.errors.push({ offset: start + bad, term, reason: `${describeChar(term[bad]!)} is not allowed in an SPF record` });
      continue;
    }
    const eq = term.indexOf('=');
    const isModifier = eq > 0 && /^[A-Za-z][A-Za-z0-9_.-]*$/.test(term.slice(0, eq));
    if (isModifier) {
      const r = parseModifier(term, start, eq);
      if (r.error) out.errors.push(r.error);
      else {
        const mod = r.mod!;
        if ((mod.name === 'redirect' || mod.name === 'exp') && out[mod.name]) {
          out.errors.push({ offset: start, term, reason: `"${mod.name}=" appears more than once (at most once per record)` });
        } else if (mod.name === 'redirect' || mod.name === 'exp') out[mod.name] = mod;
        out.terms.push(mod);
      }
      continue;
    }
    const r = parseMechanism(term, start);
    if (r.error) out.errors.push(r.error);
    else {
      out.terms.push(r.mech!);
      out.mechanisms.push(r.mech!);
    }
  }
  return out;
}

/** One-line description of an error, its column 1-based. */
export function formatSyntaxError(e: SpfSyntaxError): string {
  return `column ${e.offset + 1} (in "${e.term}"): ${e.reason}`;
}

/** The DNS-querying terms of the record itself, includes not walked (`redirect=` counts too). */
export function ownLookupCount(parsed: ParsedSpf): number {
  return parsed.mechanisms.filter((m) => LOOKUP_MECHANISMS.has(m.kind)).length + (parsed.redirect ? 1 : 0);
}
