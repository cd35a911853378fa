/**
 * Merge several SPF records into one (RFC 7208 §4.5: a domain with more than one `v=spf1` record
 * makes every check a permerror). Typical cause: two services each told the owner to "add this TXT
 * record" and the DNS host kept both.
 *
 * What the merge does:
 * - Every input is parsed; one with a syntax error is refused (MergeInputError names the input and
 *   the column), because guessing what a broken term meant would publish a different policy.
 * - The mechanisms are the union of the inputs', duplicates removed. Two terms are the same when
 *   their mechanism, argument and prefix lengths are: names compared without case or trailing dot
 *   (unless they hold a macro, whose letter case means something), `+` and no qualifier equal,
 *   `ip4:192.0.2.1` equal to `ip4:192.0.2.1/32`, IPv6 addresses compared by value.
 * - Order. When every mechanism is `+` (by far the usual case) the order cannot change any result: a
 *   match is a pass wherever it sits. The merged record then lists ip4, ip6, a, mx, include, exists,
 *   ptr: address terms first, so most senders are matched before any DNS query and before the lookup
 *   limit can be reached. When some mechanism has `-`, `~` or `?`, its place relative to the others
 *   is what it means (`-ip4:X include:Y` excludes X even where Y lists it), so the terms keep the
 *   order they first appear in, input after input, and each input's own order is kept.
 * - One `all` at the end: the strictest an input had (-all, then ~all, then ?all), or the one asked
 *   for. `+all` (or a bare `all`) is never carried over: it lets the whole Internet pass.
 * - `redirect=D` in an input without `all` means "the rest of this policy lives at D"; a redirect
 *   only acts at the end of evaluation, so it cannot stay a redirect once the other inputs' terms
 *   and an `all` follow. It becomes `include:D` at the same place: D's senders still pass, and D's
 *   own `all` is replaced by the merged one. A redirect next to an `all` was already ignored by
 *   receivers (§6.1) and is dropped.
 * - `exp=` is kept when the inputs that have one agree on it; two different explanations cannot
 *   both apply, so then none is kept. Other (unknown) modifiers are kept once each.
 */
import type { Finding, Severity } from '../findings.js';
import { formatIpv6 } from '../ipv6.js';
import { normalizeName } from '../names.js';
import { splitCharacterStrings, MAX_CHARACTER_STRING } from '../txt.js';
import { parseIp } from './ip.js';
import { hasMacro } from './macro.js';
import type { Resolver } from '../dns/resolver.js';
import { InputError } from '../errors.js';
import { validateSpf, type SpfReport } from './validate.js';
import { formatSyntaxError, LOOKUP_MECHANISMS, SPF_LOOKUP_LIMIT, parseSpf, type MechanismKind, type Qualifier, type SpfMechanism, type SpfModifier } from './parse.js';

export type MergeAll = '-all' | '~all' | '?all';
const MERGE_ALL_VALUES: readonly MergeAll[] = ['-all', '~all', '?all'];

export interface MergeOptions {
  /** The `all` to end the merged record with; default: the strictest an input had. */
  all?: MergeAll;
}

interface MergeSource {
  /** A term of the merged record, as written there. */
  term: string;
  /** The inputs it came from, numbered from 1 as in the messages. */
  inputs: number[];
  /** The terms of those inputs it stands for, as they were written. */
  original: string[];
}

export interface MergeResult {
  record: string;
  /** The record as character-strings of at most 255 octets (one string when it fits). */
  strings: string[];
  /** Octets of the record text. */
  length: number;
  /** DNS-querying terms in the merged record itself (what its includes cost is not counted here). */
  lookups: number;
  /** Every message of `findings`, in order. */
  warnings: string[];
  /** The same messages with a stable code and severity; `error` means the result needs attention before publishing. */
  findings: Finding[];
  /** Where each term of the merged record came from, in the record's order. */
  sources: MergeSource[];
}

/** An input that is not a valid SPF record (bad input); `input` is numbered from 1. */
export class MergeInputError extends InputError {
  constructor(
    message: string,
    readonly input: number,
  ) {
    super(message);
    this.name = 'MergeInputError';
  }
}

const RFC = 'RFC 7208';
const ALL_RANK: Record<Qualifier, number> = { '-': 3, '~': 2, '?': 1, '+': 0 };
/** Cost order used when every mechanism is `+`: no DNS first, then one query, then a chain. */
const KIND_ORDER: MechanismKind[] = ['ip4', 'ip6', 'a', 'mx', 'include', 'exists', 'ptr'];
/** Beyond this, the TXT answer (with the usual other TXT at the apex) may not fit 512 octets of UDP. */
const MERGE_SIZE_WARNING = 450;

interface Entry {
  key: string;
  kind: MechanismKind;
  qualifier: Qualifier;
  text: string;
  /** Place of first appearance. */
  seq: number;
  inputs: number[];
  original: string[];
}

function domainKey(spec: string | undefined): string {
  if (spec === undefined) return '';
  // Macro letters are case-sensitive (%{d} vs %{D}, RFC 7208 §7.3): compare those as written.
  return hasMacro(spec) ? spec.replace(/\.$/, '') : normalizeName(spec);
}

function addressKey(address: string, family: 4 | 6): string {
  const ip = parseIp(address);
  if (!ip) return address.toLowerCase();
  return family === 6 && ip.family === 6 ? formatIpv6(ip.bytes) : `${ip.family === 4 && family === 6 ? '::ffff:' : ''}${[...ip.bytes].join('.')}`;
}

/** The identity of a mechanism, without its qualifier. */
function mechanismKey(m: Readonly<SpfMechanism>): string {
  switch (m.kind) {
    case 'ip4':
      return `ip4:${addressKey(m.address!, 4)}/${m.cidr4 ?? 32}`;
    case 'ip6':
      return `ip6:${addressKey(m.address!, 6)}/${m.cidr6 ?? 128}`;
    case 'a':
    case 'mx':
      return `${m.kind}:${domainKey(m.domainSpec)}/${m.cidr4 ?? 32}//${m.cidr6 ?? 128}`;
    default:
      return `${m.kind}:${domainKey(m.domainSpec)}`;
  }
}

/** A mechanism as the merged record writes it: no `+`, lower-case name, domain without trailing dot and (without macros) in lower case. */
function canonicalText(m: Readonly<SpfMechanism>): string {
  const q = m.qualifier === '+' ? '' : m.qualifier;
  const domain = m.domainSpec === undefined ? '' : `:${hasMacro(m.domainSpec) ? m.domainSpec.replace(/\.$/, '') : normalizeName(m.domainSpec)}`;
  switch (m.kind) {
    case 'ip4':
      return `${q}ip4:${m.address}${m.cidr4 !== undefined ? `/${m.cidr4}` : ''}`;
    case 'ip6':
      return `${q}ip6:${m.address!.toLowerCase()}${m.cidr6 !== undefined ? `/${m.cidr6}` : ''}`;
    case 'a':
    case 'mx':
      return `${q}${m.kind}${domain}${m.cidr4 !== undefined ? `/${m.cidr4}` : ''}${m.cidr6 !== undefined ? `//${m.cidr6}` : ''}`;
    default:
      return `${q}${m.kind}${domain}`;
  }
}

function short(text: string, max = 60): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** Merge SPF records into one. Throws MergeInputError when there is no input or an input is not valid SPF. */
export function mergeSpf(records: readonly string[], opts: MergeOptions = {}): MergeResult {
  if (records.length === 0) throw new MergeInputError('no SPF record to merge', 0);
  if (opts.all !== undefined && !MERGE_ALL_VALUES.includes(opts.all)) {
    throw new MergeInputError(`"${String(opts.all)}" is not an all the merged record may end with; use ${MERGE_ALL_VALUES.join(', ')}`, 0);
  }
  const findings: Finding[] = [];
  const add = (code: string, severity: Severity, subject: string, message: string, fix?: string, rfc?: string): void => {
    findings.push({ code, severity, subject, message, ...(fix ? { fix } : {}), ...(rfc ? { rfc } : {}) });
  };

  const parsedInputs = records.map((raw, i) => {
    const text = raw.trim();
    const parsed = parseSpf(text);
    const e = parsed.errors[0];
    if (e) {
      const more = parsed.errors.length > 1 ? ` (and ${parsed.errors.length - 1} more)` : '';
      throw new MergeInputError(`input ${i + 1} ("${short(text)}") is not valid SPF: ${formatSyntaxError(e)}${more}; correct it before merging`, i + 1);
    }
    return parsed;
  });

  const entries = new Map<string, Entry>();
  let seq = 0;
  const alls: { input: number; qualifier: Qualifier; text: string }[] = [];
  const exps: { input: number; mod: Readonly<SpfModifier> }[] = [];
  const others = new Map<string, { text: string; inputs: number[]; original: string[] }>();
  let duplicates = 0;

  const addMechanism = (m: Readonly<SpfMechanism>, input: number, original: string): void => {
    const key = mechanismKey(m);
    const known = entries.get(key);
    if (!known) {
      entries.set(key, { key, kind: m.kind, qualifier: m.qualifier, text: canonicalText(m), seq: seq++, inputs: [input], original: [original] });
      return;
    }
    duplicates++;
    if (!known.inputs.includes(input)) known.inputs.push(input);
    known.original.push(original);
    if (known.qualifier !== m.qualifier) {
      const from = known.inputs[0]!;
      add('spf.merge-qualifier-conflict', 'warning', original,
        `input ${input} has "${original}" but input ${from} already has "${known.text}" for the same ${m.kind}; the merged record keeps "${known.text}", so what input ${input} meant for these senders (${m.qualifier === '+' ? 'pass' : m.qualifier}) no longer applies`,
        'check which result those senders should get and edit the merged record if needed', `${RFC} §4.6.2`);
    }
  };

  parsedInputs.forEach((parsed, i) => {
    const input = i + 1;
    const allIndex = parsed.terms.findIndex((t) => t.type === 'mechanism' && t.kind === 'all');
    const dead: string[] = [];
    parsed.terms.forEach((t, at) => {
      if (t.type === 'mechanism') {
        if (allIndex >= 0 && at > allIndex) {
          dead.push(t.text);
          return;
        }
        if (t.kind === 'all') {
          alls.push({ input, qualifier: t.qualifier, text: t.text });
          return;
        }
        addMechanism(t, input, t.text);
        return;
      }
      if (t.name === 'redirect') {
        if (allIndex >= 0) {
          add('spf.merge-redirect-ignored', 'warning', t.text, `input ${input} has both "all" and "${t.text}"; receivers already ignore the redirect when "all" is present, so it is left out`, undefined, `${RFC} §6.1`);
          return;
        }
        // Where a redirect would take effect: after every mechanism of this input.
        return;
      }
      if (t.name === 'exp') {
        exps.push({ input, mod: t });
        return;
      }
      const key = `${t.name}=${t.value}`;
      const known = others.get(key);
      if (known) {
        duplicates++;
        if (!known.inputs.includes(input)) known.inputs.push(input);
        known.original.push(t.text);
      } else others.set(key, { text: `${t.name}=${t.value}`, inputs: [input], original: [t.text] });
    });
    if (parsed.redirect && allIndex < 0) {
      const r = parsed.redirect;
      // Built through the parser so the include gets the same key and text rules as any other.
      const include = parseSpf(`v=spf1 include:${r.value}`).mechanisms[0];
      if (include) {
        addMechanism(include, input, r.text);
        add('spf.merge-redirect-as-include', 'info', r.text,
          `input ${input} hands the rest of its policy to ${r.value} with "${r.text}"; a redirect acts only at the very end, so in the merged record it becomes "include:${r.value}": senders ${r.value} lists still pass, and its own "all" gives way to the merged one`,
          undefined, `${RFC} §5.2, §6.1`);
      }
    }
    if (dead.length) {
      add('spf.merge-terms-after-all', 'warning', `input ${input}`, `${dead.map((d) => `"${d}"`).join(', ')} of input ${input} come${dead.length === 1 ? 's' : ''} after "all", so receivers never evaluated ${dead.length === 1 ? 'it' : 'them'}; left out of the merged record`, 'if those senders should pass, add them to the merged record before "all"', `${RFC} §4.6.2`);
    }
  });

  // Pick the ending.
  for (const a of alls.filter((x) => x.qualifier === '+')) {
    add('spf.merge-pass-all', 'error', `input ${a.input}`,
      `input ${a.input} ends with "${a.text}", which lets every address on the Internet pass SPF for the domain; the merged record does not keep it. Mail that passed only because of "${a.text}" will get the merged "all" instead`,
      'list the real senders of that service (its include or its addresses) rather than "+all"', `${RFC} §5.1`);
  }
  const kept = alls.filter((x) => x.qualifier !== '+');
  const strictest = kept.reduce<(typeof kept)[number] | null>((best, x) => (best === null || ALL_RANK[x.qualifier] > ALL_RANK[best.qualifier] ? x : best), null);
  let finalAll: MergeAll;
  let allInputs: number[];
  if (opts.all) {
    finalAll = opts.all;
    allInputs = kept.filter((x) => `${x.qualifier}all` === opts.all).map((x) => x.input);
    if (strictest && ALL_RANK[strictest.qualifier] > ALL_RANK[opts.all[0] as Qualifier]) {
      add('spf.merge-all-weaker', 'warning', opts.all, `input ${strictest.input} ended with "${strictest.qualifier}all", and the merged record ends with the weaker "${opts.all}" as asked: unlisted senders are treated more leniently than before`, undefined, `${RFC} §8`);
    }
  } else if (strictest) {
    finalAll = `${strictest.qualifier}all` as MergeAll;
    allInputs = kept.filter((x) => x.qualifier === strictest.qualifier).map((x) => x.input);
    const softer = kept.filter((x) => ALL_RANK[x.qualifier] < ALL_RANK[strictest.qualifier]);
    if (softer.length) {
      add('spf.merge-all-stricter', 'info', finalAll,
        `the inputs end differently (${kept.map((x) => `input ${x.input} "${x.text}"`).join(', ')}); the merged record uses the strictest, "${finalAll}", so senders none of them lists get ${finalAll === '-all' ? 'fail' : 'softfail'} where input ${softer.map((x) => x.input).join(', ')} gave ${softer.map((x) => (x.qualifier === '~' ? 'softfail' : 'neutral')).join('/')}`,
        'make sure every sender of the domain is listed before publishing, or choose the ending with --all', `${RFC} §8`);
    }
  } else {
    finalAll = '~all';
    allInputs = [];
    add('spf.merge-no-all', 'warning', finalAll,
      'no input ends with an "all" this merge can keep, so the merged record ends with "~all" (unlisted senders get softfail)',
      'choose the ending yourself with --all -all (or ~all while checking that every sender is listed)', `${RFC} §4.7`);
  }

  // exp=: one explanation, or none.
  let exp: { text: string; inputs: number[]; original: string[] } | null = null;
  if (exps.length) {
    const values = new Set(exps.map((e) => domainKey(e.mod.value)));
    if (values.size === 1) {
      const first = exps[0]!.mod;
      exp = { text: `exp=${hasMacro(first.value) ? first.value.replace(/\.$/, '') : normalizeName(first.value)}`, inputs: [...new Set(exps.map((e) => e.input))], original: exps.map((e) => e.mod.text) };
      duplicates += exps.length - 1;
    } else {
      add('spf.merge-exp-dropped', 'warning', 'exp=',
        `the inputs give different explanations (${exps.map((e) => `input ${e.input} "${e.mod.text}"`).join(', ')}); a record may have only one, so the merged record has none and receivers use their default text`,
        'add one exp= by hand if you want an explanation', `${RFC} §6.2`);
    }
  }

  // Order the mechanisms.
  const mechs = [...entries.values()];
  const allPositive = mechs.every((e) => e.qualifier === '+');
  if (allPositive) mechs.sort((x, y) => KIND_ORDER.indexOf(x.kind) - KIND_ORDER.indexOf(y.kind) || x.seq - y.seq);
  else {
    const negatives = mechs.filter((e) => e.qualifier !== '+');
    if (parsedInputs.length > 1) {
      add('spf.merge-negative-terms', 'info', negatives.map((e) => e.text).join(' '),
        `${negatives.map((e) => `"${e.text}" (input ${e.inputs.join(', ')})`).join(', ')} ${negatives.length === 1 ? 'does' : 'do'} not pass; in the merged record ${negatives.length === 1 ? 'it' : 'they'} also apply to the senders of the other inputs that come later, so the terms keep the order of the inputs`,
        'check that no sender another input allows is matched by these terms first', `${RFC} §4.6.2`);
    }
  }

  const sources: MergeSource[] = mechs.map((e) => ({ term: e.text, inputs: e.inputs, original: e.original }));
  sources.push({ term: finalAll, inputs: allInputs, original: alls.filter((x) => allInputs.includes(x.input) && `${x.qualifier}all` === finalAll).map((x) => x.text) });
  if (exp) sources.push({ term: exp.text, inputs: exp.inputs, original: exp.original });
  for (const o of others.values()) sources.push({ term: o.text, inputs: o.inputs, original: o.original });
  const record = ['v=spf1', ...sources.map((s) => s.term)].join(' ');

  if (duplicates > 0) add('spf.merge-duplicates', 'info', 'merged record', `${duplicates} repeated term${duplicates === 1 ? '' : 's'} left out`);
  const lookups = mechs.filter((e) => LOOKUP_MECHANISMS.has(e.kind)).length;
  if (lookups > SPF_LOOKUP_LIMIT) {
    add('spf.merge-too-many-lookups', 'error', 'merged record',
      `the merged record has ${lookups} DNS-querying terms of its own, before counting what its includes need; receivers return permerror after ${SPF_LOOKUP_LIMIT}`,
      'resolve includes into ip4:/ip6: terms (`maildns spf flatten`) or drop services no longer used', `${RFC} §4.6.4`);
  }
  const length = Buffer.byteLength(record);
  const strings = splitCharacterStrings(record).map((b) => b.toString('utf8'));
  if (strings.length > 1) {
    add('spf.merge-several-strings', 'info', 'merged record',
      `the merged record is ${length} octets, more than one character-string holds (${MAX_CHARACTER_STRING}); publish it as ${strings.length} strings in one TXT record (receivers join them with nothing in between)`,
      'in a zone file write the strings side by side in one record; most DNS web forms split a long value themselves', `${RFC} §3.3`);
  }
  if (length > MERGE_SIZE_WARNING) {
    add('spf.merge-too-long', 'warning', 'merged record',
      `the merged record is ${length} octets; with the other TXT records at the name the answer may not fit a 512-octet UDP response, and receivers that do not retry over TCP fail`,
      'shorten it: `maildns spf flatten` after publishing, or move some senders to an include of your own', `${RFC} §3.4`);
  }
  return { record, strings, length, lookups, warnings: findings.map((f) => f.message), findings, sources };
}

/** The name the merged record is checked at when no domain is given (RFC 6761: .invalid never exists). */
const MERGE_PLACEHOLDER = 'merged-spf.invalid';

function hasBareDomainTerm(r: MergeResult): boolean {
  return r.sources.some((s) => /^[-~?]?(a|mx|ptr)(\/|$)/.test(s.term) || /%\{[dD]/.test(s.term));
}

/**
 * The merged record checked through DNS as if it were published, without publishing it: at
 * `publishedAt.domain` beside that name's other TXT records (so the answer-size check stays
 * true), or, with no domain, at a name that cannot exist, its own bare a and mx not looked up.
 */
export async function checkMergedRecord(resolver: Resolver, merged: MergeResult, publishedAt: { domain: string; otherTxt: string[][] } | null): Promise<SpfReport> {
  const domain = publishedAt?.domain ?? MERGE_PLACEHOLDER;
  const report = await validateSpf(resolver, domain, { probeOrphans: false, asPublished: [...(publishedAt?.otherTxt ?? []), merged.strings], domainUnknown: publishedAt === null });
  if (publishedAt === null && hasBareDomainTerm(merged)) {
    report.findings.push({ code: 'spf.merge-domain-unknown', severity: 'info', subject: 'merged record', message: 'bare a, mx or ptr (or a %{d} macro) refer to the domain the record is published at, which is not known here, so they were not checked', fix: 'name the domain the record is for to check them against it' });
  }
  return report;
}
