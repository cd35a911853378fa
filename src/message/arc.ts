/**
 * ARC (RFC 8617): the chain of ARC sets that mailing lists and forwarders add, each an
 * ARC-Authentication-Results (AAR), an ARC-Message-Signature (AMS) and an ARC-Seal (AS) with the
 * same i=. The chain is judged as RFC 8617 §5.2 says, in its order, and every set is checked
 * besides, so the report says which seal or signature broke and where.
 *
 * mailauth's ARC code is not used: its verifier throws (a stack trace, not a verdict) when a key
 * cannot be fetched, asks DNS itself, stops at the first fault and never finds the oldest pass.
 * Each AMS and AS is validated as a DKIM signature is (RFC 8617 §5.1.1, §5.2): by dkim.ts's
 * judgeSignature, the same field rules (but v= and i=, which ARC has not), body hash and l=, key
 * records (fetched through our Resolver, every one at the selector tried) and b= check, with the
 * header canonicalization of ./canon.ts; only the rules RFC 8617 adds are here.
 */
import type { MailauthHeaderLine } from 'mailauth/lib/tools.js';
import type { Finding } from '../findings.js';
import { parseTagList, type TagList } from '../dkim/parse.js';
import type { DnsAnswer, RDataMap, Resolver, RRType } from '../dns/resolver.js';
import { signedHeaderOctets } from './canon.js';
import { Canonicalizer, judgeSignature, readSignatureField, type SignatureField } from './dkim.js';
import { MALFORMED_LINE_FIX, malformedLineProblem, type ParsedMessage } from './message.js';

/** RFC 8617 §4.2.1: i= runs from 1 to 50. */
export const MAX_ARC_SETS = 50;

const ARC_FIELDS = ['arc-authentication-results', 'arc-message-signature', 'arc-seal'] as const;
type ArcFieldName = (typeof ARC_FIELDS)[number];

/** Result of one seal or message signature: as a DKIM signature's (judgeSignature), or not checked when the chain's shape left nothing to check. */
type ArcSignatureResult = 'pass' | 'fail' | 'permerror' | 'temperror' | 'not-checked';

interface ArcSignatureReport {
  result: ArcSignatureResult;
  domain: string;
  selector: string;
  algorithm: string;
  /** Stable code of the reason, absent on pass. */
  reasonCode?: string;
  reason?: string;
  /** AMS only: the fields h= signs, and the body hash as written and as computed. */
  signedHeaders?: string[];
  bodyHash?: { expected: string; computed: string };
}

/** One method=result of an ARC-Authentication-Results field, with its properties (header.d, smtp.mailfrom...). */
export interface AarResult {
  method: string;
  result: string;
  properties: Record<string, string>;
}

interface ArcSetReport {
  instance: number;
  /** cv= of the ARC-Seal as written (lower-case); '' when absent. */
  cv: string;
  seal: ArcSignatureReport;
  messageSignature: ArcSignatureReport;
  authenticationResults: { authservId: string; results: AarResult[] } | null;
}

export interface ArcReport {
  /**
   * The chain validation status (RFC 8617 §4.4): none, pass or fail, the arc method's only
   * results. A key that could not be fetched leaves the chain unvalidated: fail, with `dnsFailed`.
   */
  result: 'none' | 'pass' | 'fail';
  /** The verdict rests on a key record DNS did not give (timeout, SERVFAIL): the chain could not be evaluated; `arc.dns-temporary` says so. */
  dnsFailed: boolean;
  /** Stable code of the reason the chain does not pass; absent on pass and none. */
  reasonCode?: string;
  reason: string;
  fix?: string;
  /** The RFC 8617 section the reason comes from (e.g. `RFC 8617 §5.2 step 4`); absent on pass and none. */
  rfc?: string;
  /** N, the highest i= in the message (0 without ARC). */
  instances: number;
  /** The sets, oldest first (at most MAX_ARC_SETS). */
  sets: ArcSetReport[];
  /**
   * RFC 8617 §5.2 step 5: 0 when every AMS validates; else the lowest instance from which every
   * newer AMS validates. Null when the chain does not pass.
   */
  oldestPass: number | null;
  /**
   * What a receiver could use to override a DMARC fail (RFC 8617 §7.2, RFC 7489 §6.7): what the
   * first sealer saw on arrival, its AAR's dkim and spf results. Only when the chain passes.
   */
  override: { sealer: string; authservId: string; dkim: AarResult[]; spf: AarResult[]; dmarc: AarResult[] } | null;
  findings: Finding[];
}

interface RawArcField {
  name: ArcFieldName;
  value: string;
  line: MailauthHeaderLine;
}

const FIX: Record<string, string> = {
  'arc.header-malformed': `${MALFORMED_LINE_FIX}; a line so damaged on the way is the sender's or a relay's to mend, and no seal over it can be checked`,
  'arc.structure': 'nothing the sender can mend: an intermediary wrote a broken chain; the ARC sets are the sealers\' to write right (one AAR, AMS and AS for each i=, from 1 up with none left out)',
  'arc.cv-fail': 'see what broke upstream in the sets below: the sealer that said cv=fail found the chain already broken when the message reached it',
  'arc.ams-fail': 'the message changed after the newest sealer signed it (a footer, a re-encoding, a rewritten field): the last hop that sealed must seal the message as it sends it',
  'arc.seal-fail': 'an ARC-Seal does not verify: a set was changed or added after sealing, or the sealer\'s key is not the one published',
  'arc.key-missing': 'the sealer must publish its key at the selector name (s._domainkey.d), or seal with a selector whose key is published',
  'arc.dns': 'run again when DNS answers, or ask another server with --nameserver',
};

/** The i= of an AAR (`i=1; authserv-id; ...`) or of a tag list; NaN when it has none that is a number. */
function instanceOf(name: ArcFieldName, value: string, tags: TagList | null): number {
  const raw = name === 'arc-authentication-results' ? /^\s*i\s*=\s*([^;]*);?/i.exec(value)?.[1] : tags?.byName.get('i')?.value;
  const text = (raw ?? '').trim();
  return /^\d{1,9}$/.test(text) ? Number(text) : NaN;
}

/** Comments out of an RFC 8601 value (nested, with quoted-pairs), bounded by the value's length. */
function stripComments(value: string): string {
  let out = '';
  let depth = 0;
  let quoted = false;
  for (let i = 0; i < value.length; i++) {
    const c = value[i]!;
    if (c === '\\') {
      if (depth === 0) out += c + (value[i + 1] ?? '');
      i++;
      continue;
    }
    if (quoted) {
      out += c;
      if (c === '"') quoted = false;
    } else if (c === '"' && depth === 0) {
      quoted = true;
      out += c;
    } else if (c === '(') depth++;
    else if (c === ')' && depth > 0) depth--;
    else if (depth === 0) out += c;
  }
  return out;
}

/** An AAR read as RFC 8601 says (after its i=): the authserv-id and each method=result with its properties. */
function parseAar(value: string): { authservId: string; results: AarResult[] } {
  const parts = stripComments(value.replace(/^\s*i\s*=\s*[^;]*;/i, '')).split(';').map((p) => p.trim());
  const authservId = (parts.shift() ?? '').split(/\s+/)[0] ?? '';
  const results: AarResult[] = [];
  for (const part of parts.slice(0, 100)) {
    const words = part.split(/\s+/).filter(Boolean);
    const head = /^([A-Za-z0-9_.-]+)(?:\/\d+)?=([A-Za-z0-9_-]+)$/.exec(words[0] ?? '');
    if (!head) continue;
    const properties: Record<string, string> = {};
    for (const w of words.slice(1)) {
      const prop = /^([A-Za-z0-9_-]+\.[A-Za-z0-9_.-]+)=(.*)$/.exec(w);
      if (prop && !(prop[1]!.toLowerCase() in properties)) properties[prop[1]!.toLowerCase()] = prop[2]!.replace(/^"|"$/g, '');
    }
    results.push({ method: head[1]!.toLowerCase(), result: head[2]!.toLowerCase(), properties });
  }
  return { authservId, results };
}

/** `resolver`, asking each name once however many signatures name it (the sets are checked at once, so keys that do not answer cost one deadline). */
function askingOnce(resolver: Resolver): Resolver {
  const asked = new Map<string, Promise<DnsAnswer<unknown>>>();
  return {
    lookup<T extends RRType>(name: string, type: T): Promise<DnsAnswer<RDataMap[T]>> {
      const key = `${type} ${name.toLowerCase()}`;
      let answer = asked.get(key);
      if (!answer) {
        answer = resolver.lookup(name, type);
        asked.set(key, answer);
      }
      return answer as Promise<DnsAnswer<RDataMap[T]>>;
    },
  };
}

/** Everything one verification shares: the header lines and body hashes (dkim.ts's Canonicalizer), the key answers, the clock. */
interface ArcContext {
  canon: Canonicalizer;
  resolver: Resolver;
  now: Date;
}

/** A signature report with findings of its own, `dkim.x` codes written `arc.x`. */
type Judged = { report: ArcSignatureReport; findings: Finding[] };

const arcCode = (code: string): string => code.replace(/^dkim\./, 'arc.');

/**
 * An ARC signature field judged by dkim.ts's judgeSignature, the rules a DKIM signature is
 * judged by (RFC 8617 §5.1.1, §5.2), with the one rule of ARC's own `own` finds first.
 */
async function judged(ctx: ArcContext, f: SignatureField, subject: string, own: string | null, ownCode: string, signed: () => Buffer): Promise<Judged> {
  const report: ArcSignatureReport = { result: 'pass', domain: f.domain, selector: f.selector, algorithm: f.algorithm };
  if (f.kind === 'ams') report.signedHeaders = f.signedHeaders;
  if (own) return { report: { ...report, result: 'permerror', reasonCode: ownCode, reason: own }, findings: [] };
  const j = await judgeSignature(f, ctx.canon, ctx.resolver, ctx.now, subject, signed);
  const result: ArcSignatureResult = j.result === 'pass' || j.result === 'fail' || j.result === 'temperror' ? j.result : 'permerror';
  Object.assign(report, { result }, j.code ? { reasonCode: arcCode(j.code), reason: j.reason } : {}, j.bodyHash ? { bodyHash: j.bodyHash } : {});
  return { report, findings: j.findings.map((x) => ({ ...x, code: arcCode(x.code) })) };
}

async function verifyAms(ctx: ArcContext, field: RawArcField, instance: number): Promise<Judged> {
  const f = readSignatureField(field.value, 'ams');
  // RFC 8617 §4.1.2: the AMS must not sign ARC-Seal fields.
  const signsSeal = f.signedHeaders.some((h) => h.toLowerCase() === 'arc-seal') ? 'h= lists ARC-Seal, which an ARC-Message-Signature must not sign (RFC 8617 §4.1.2)' : null;
  return judged(ctx, f, `ARC-Message-Signature i=${instance} (d=${f.domain || '?'} s=${f.selector || '?'})`, signsSeal, 'arc.ams-signs-seal', () => ctx.canon.signedHeader(f, field.line));
}

/** The ARC-Seal of instance `upTo`: it signs every set from 1 to it, AAR, AMS, AS each, with its own b= empty (RFC 8617 §5.1.1). */
async function verifySeal(ctx: ArcContext, sets: ReadonlyMap<number, Partial<Record<ArcFieldName, RawArcField>>>, upTo: number): Promise<Judged> {
  const field = sets.get(upTo)!['arc-seal']!;
  const f = readSignatureField(field.value, 'seal');
  const hasH = f.has('h') ? 'the ARC-Seal has an h= tag, which RFC 8617 §4.1.3 does not allow' : null;
  // Every field of sets 1..upTo in order, the seal's own last: signed as a DKIM signature signs the fields h= picks.
  const signed = (): Buffer => {
    const sealed: MailauthHeaderLine[] = [];
    for (let i = 1; i <= upTo; i++) for (const name of ARC_FIELDS) sealed.push(sets.get(i)![name]!.line);
    const own = sealed.pop()!;
    return signedHeaderOctets(sealed, own.line, 'relaxed');
  };
  return judged(ctx, f, `ARC-Seal i=${upTo} (d=${f.domain || '?'} s=${f.selector || '?'})`, hasH, 'arc.seal-has-h', signed);
}

const notChecked = (reason: string): Judged => ({ report: { result: 'not-checked', domain: '', selector: '', algorithm: '', reason }, findings: [] });

/**
 * Judge the ARC chain of `msg` (RFC 8617 §5.2), DNS through `resolver` only. Bounded: past
 * MAX_ARC_SETS the chain fails without a signature checked. Never throws for what the message says.
 */
export async function verifyArc(msg: ParsedMessage, resolver: Resolver, opts: { now?: Date } = {}): Promise<ArcReport> {
  const canon = new Canonicalizer(msg);
  const ctx: ArcContext = { canon, resolver: askingOnce(resolver), now: opts.now ?? new Date() };
  const findings: Finding[] = [];
  const empty = { instances: 0, sets: [], oldestPass: null, override: null, findings, dnsFailed: false };
  const raw: RawArcField[] = [];
  for (const name of ARC_FIELDS) for (const line of canon.byName.get(name) ?? []) raw.push({ name, value: line.line.toString('latin1').replace(/^[^:]*:/, '').replace(/\r\n/g, ''), line });
  if (raw.length === 0) return { ...empty, result: 'none', reason: 'the message has no ARC sets (no list or forwarder sealed it)' };

  const structure: string[] = [];
  const sets = new Map<number, Partial<Record<ArcFieldName, RawArcField>>>();
  let highest = 0;
  for (const f of raw) {
    const i = instanceOf(f.name, f.value, f.name === 'arc-authentication-results' ? null : parseTagList(f.value));
    if (Number.isNaN(i) || i < 1) {
      if (structure.length < 5) structure.push(`an ${f.name} field has no usable i= (a number from 1 to ${MAX_ARC_SETS})`);
      continue;
    }
    highest = Math.max(highest, i);
    if (i > MAX_ARC_SETS) continue;
    const set = sets.get(i) ?? {};
    if (set[f.name]) {
      if (structure.length < 5) structure.push(`instance ${i} has more than one ${f.name} field`);
    } else set[f.name] = f;
    sets.set(i, set);
  }
  if (highest > MAX_ARC_SETS) structure.unshift(`the chain has ${highest} instances; at most ${MAX_ARC_SETS} are allowed`);
  const n = Math.min(highest, MAX_ARC_SETS);
  const gaps: number[] = [];
  for (let i = 1; i <= n; i++) {
    const set = sets.get(i);
    if (!set) gaps.push(i);
    else {
      const missing = ARC_FIELDS.filter((name) => !set[name]);
      if (missing.length && structure.length < 5) structure.push(`instance ${i} lacks ${missing.join(', ')}`);
    }
  }
  if (gaps.length) structure.push(`i= runs 1 to ${highest} with ${gaps.length > 5 ? `${gaps.length} instances` : `instance${gaps.length > 1 ? 's' : ''} ${gaps.join(', ')}`} missing`);
  const cvOf = (i: number): string => parseTagList(sets.get(i)?.['arc-seal']?.value ?? '').byName.get('cv')?.value.trim().toLowerCase() ?? '';
  for (let i = 1; i <= n; i++) {
    if (!sets.get(i)?.['arc-seal']) continue;
    const cv = cvOf(i);
    // The newest seal may say fail (step 2 judges that first); every other says none (i=1) or pass.
    if (i === n && cv === 'fail') continue;
    if (i === 1 && cv !== 'none') structure.push(`instance 1 says cv=${cv || '(nothing)'}; the first seal must say cv=none`);
    if (i > 1 && cv !== 'pass') structure.push(`instance ${i} says cv=${cv || '(nothing)'}; every seal after the first must say cv=pass`);
  }

  // Every set is checked when the chain's shape allows, so the report shows where it broke; the
  // sets at once, so keys that do not answer cost one deadline, not one each. Past MAX_ARC_SETS
  // nothing is checked: the chain fails on its length alone.
  const complete = highest <= MAX_ARC_SETS && gaps.length === 0 && [...sets.values()].every((s) => ARC_FIELDS.every((name) => s[name]));
  const tooLong = highest > MAX_ARC_SETS;
  const instances = [...sets.keys()].sort((a, b) => a - b);
  const signatureFindings: Finding[] = [];
  const reports: ArcSetReport[] = await Promise.all(
    instances.map(async (i): Promise<ArcSetReport> => {
      const set = sets.get(i)!;
      const aar = set['arc-authentication-results'] ? parseAar(set['arc-authentication-results'].value) : null;
      const skipped = tooLong ? `not checked: the chain has more than ${MAX_ARC_SETS} instances` : '';
      const [messageSignature, seal] = await Promise.all([
        skipped ? notChecked(skipped) : set['arc-message-signature'] ? verifyAms(ctx, set['arc-message-signature'], i) : notChecked('the set has no ARC-Message-Signature'),
        skipped ? notChecked(skipped) : complete ? verifySeal(ctx, sets, i) : notChecked(set['arc-seal'] ? 'not checked: the chain is incomplete, so what the seal signs is not all there' : 'the set has no ARC-Seal'),
      ]);
      signatureFindings.push(...messageSignature.findings, ...seal.findings);
      return { instance: i, cv: cvOf(i), seal: seal.report, messageSignature: messageSignature.report, authenticationResults: aar };
    }),
  );
  // A key both signatures of a set name (or several sets) is said once.
  const said = new Set<string>();
  for (const x of signatureFindings) {
    const key = `${x.code}\0${x.subject}\0${x.message}`;
    if (!said.has(key)) findings.push(x);
    said.add(key);
  }
  const base = { ...empty, instances: highest, sets: reports };
  const fail = (code: string, reason: string, rfc: string): ArcReport => ({ ...base, result: 'fail', reasonCode: code, reason, fix: FIX[code === 'arc.key-lookup-failed' ? 'arc.dns' : code] ?? FIX['arc.seal-fail'], rfc });

  // A malformed header line before all: the signatures over such a header are each a permerror, as
  // DKIM's are, and dkimpy rejects the message outright (MessageFormatError).
  const malformed = msg.malformed[0];
  if (malformed) return fail('arc.header-malformed', `the header cannot be read as signed: ${malformedLineProblem(malformed)}`, 'RFC 5322 §2.2.3');
  // RFC 8617 §5.2, in its order.
  if (cvOf(n) === 'fail' && sets.get(n)?.['arc-seal']) return fail('arc.cv-fail', `the newest seal (instance ${n}, d=${reports.at(-1)?.seal.domain || '?'}) says cv=fail: the chain was already broken when it reached that sealer`, 'RFC 8617 §5.2 step 2');
  if (structure.length) return fail('arc.structure', `the chain is malformed: ${structure.join('; ')}`, highest > MAX_ARC_SETS ? 'RFC 8617 §4.2.1' : 'RFC 8617 §5.1.1');
  // Steps 4 and 6: a signature that does not validate fails the chain. One whose key DNS did not
  // give (temperror) was not validated either, but says nothing of the chain: it decides only when
  // no other signature fails it, and then as a chain that could not be evaluated.
  const newest = reports.at(-1)!;
  const ams = newest.messageSignature;
  if (ams.result !== 'pass' && ams.result !== 'temperror') {
    const code = ams.reasonCode === 'arc.key-not-found' ? 'arc.key-missing' : 'arc.ams-fail';
    return fail(code, `the newest ARC-Message-Signature (instance ${n}, d=${ams.domain || '?'}) does not verify: ${ams.reason}`, 'RFC 8617 §5.2 step 4');
  }
  const seals = [...reports].reverse();
  const badSeal = seals.find((s) => s.seal.result !== 'pass' && s.seal.result !== 'temperror');
  if (badSeal) {
    const code = badSeal.seal.reasonCode === 'arc.key-not-found' ? 'arc.key-missing' : 'arc.seal-fail';
    return fail(code, `the ARC-Seal of instance ${badSeal.instance} (d=${badSeal.seal.domain || '?'}) does not verify: ${badSeal.seal.reason}`, 'RFC 8617 §5.2 step 6');
  }
  const tempSeal = seals.find((s) => s.seal.result === 'temperror');
  const unchecked = ams.result === 'temperror'
    ? { what: `the newest ARC-Message-Signature (instance ${n})`, reason: ams.reason, step: 'step 4' }
    : tempSeal ? { what: `the ARC-Seal of instance ${tempSeal.instance}`, reason: tempSeal.seal.reason, step: 'step 6' } : null;
  if (unchecked) {
    const report = fail('arc.key-lookup-failed', `${unchecked.what} could not be checked: ${unchecked.reason}`, `RFC 8617 §5.2 ${unchecked.step}`);
    findings.push({
      code: 'arc.dns-temporary',
      severity: 'error',
      subject: `ARC chain (${n} instance${n === 1 ? '' : 's'})`,
      message: `the chain could not be evaluated: ${unchecked.what} could not be checked (${unchecked.reason}); it is reported arc=fail, since none, pass and fail are the only results of the arc method, but no signature was found broken`,
      fix: FIX['arc.dns']!,
      rfc: 'RFC 8617 §4.4',
    });
    return { ...report, dnsFailed: true };
  }

  // Step 5: the oldest AMS from which every newer one still validates.
  let oldest = n;
  while (oldest > 1 && reports[oldest - 2]!.messageSignature.result === 'pass') oldest--;
  const oldestPass = oldest === 1 ? 0 : oldest;
  if (oldestPass > 0) {
    findings.push({
      code: 'arc.older-ams-broken',
      severity: 'info',
      subject: `ARC instance ${oldest - 1}`,
      message: `the ARC-Message-Signature of instance ${oldest - 1} no longer verifies (oldest-pass=${oldestPass}): a later hop changed the message, as lists do; the chain still passes, since each sealer vouches for what it received`,
      fix: 'nothing to mend if the hop after that instance is a list or forwarder you expect to change the message',
      rfc: 'RFC 8617 §5.2 step 5',
    });
  }
  const first = reports[0]!;
  const aar = first.authenticationResults ?? { authservId: '', results: [] };
  const pick = (m: string): AarResult[] => aar.results.filter((r) => r.method === m);
  const override = { sealer: first.seal.domain, authservId: aar.authservId, dkim: pick('dkim'), spf: pick('spf'), dmarc: pick('dmarc') };
  const sealers = reports.map((r) => r.seal.domain);
  return {
    ...base,
    result: 'pass',
    reason: `${n} ARC set${n > 1 ? 's' : ''}, every seal verifies and the newest message signature too (sealed by ${[...new Set(sealers)].join(', ')})`,
    oldestPass,
    override,
  };
}

/** RFC 8601 text for the arc= result (e.g. for Authentication-Results): `arc=pass (i=2 ...) header.oldest-pass=0`. */
export function arcResultText(r: ArcReport): string {
  if (r.result === 'none') return 'arc=none';
  if (r.result !== 'pass') return `arc=${r.result} (${(r.reasonCode ?? '').replace(/[()\\]/g, ' ')})`;
  const ov = r.override!;
  const seen = [...ov.spf.map((s) => `spf=${s.result}`), ...ov.dkim.map((d) => `dkim=${d.result}`)].join(' ').replace(/[()\\]/g, ' ');
  return `arc=pass (i=${r.instances}${seen ? ` ${seen}` : ''}) header.oldest-pass=${r.oldestPass}`;
}
