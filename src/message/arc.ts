/**
 * ARC (RFC 8617): the chain of ARC sets that mailing lists and forwarders add, each an
 * ARC-Authentication-Results (AAR), an ARC-Message-Signature (AMS) and an ARC-Seal (AS) with the
 * same i=. The chain is judged as RFC 8617 §5.2 says, in its order, and every set is checked
 * besides, so the report says which seal or signature broke and where.
 *
 * mailauth's ARC code is not used: its verifier throws (a stack trace, not a verdict) when a key
 * cannot be fetched, asks DNS itself, stops at the first fault and never finds the oldest pass.
 * mailauth's body canonicalization (dkimBody) is used, as for DKIM; the header canonicalization
 * is maildns's own, shared with DKIM (./canon.ts: white space is SP and HTAB only). Key records
 * are fetched through our Resolver and judged by the DKIM key checks (evaluateKeyRecord).
 */
import { dkimBody } from 'mailauth/lib/dkim/body/index.js';
import type { MailauthHeaderLine } from 'mailauth/lib/tools.js';
import type { Finding } from '../findings.js';
import { parseTagList, type TagList } from '../dkim/parse.js';
import { describeStatus, isNoRecord, txtValues, type Resolver } from '../dns/resolver.js';
import { normalizeName } from '../names.js';
import { signedHeaderOctets } from './canon.js';
import { BASE64_RE, evaluateKeyRecord, headerLines, LENGTH_RE, linesByName, signingLines } from './dkim.js';
import { headerDomainName, wireParts, type ParsedMessage } from './message.js';

/** RFC 8617 §4.2.1: i= runs from 1 to 50. */
export const MAX_ARC_SETS = 50;

const ARC_FIELDS = ['arc-authentication-results', 'arc-message-signature', 'arc-seal'] as const;
type ArcFieldName = (typeof ARC_FIELDS)[number];

/** Result of one seal or message signature. */
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
interface AarResult {
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
  /** The chain validation status (RFC 8617 §4.4); temperror when a key could not be fetched. */
  result: 'none' | 'pass' | 'fail' | 'temperror';
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

class Verdict extends Error {
  constructor(
    readonly result: ArcSignatureResult,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}


/** Checks both ARC signature fields share (RFC 8617 §4.1.2, §4.1.3): the tags, a=, d= and s=. */
function signatureField(tags: TagList, required: readonly string[], what: string): { domain: string; selector: string; algorithm: string; keyName: string } {
  const get = (n: string): string => tags.byName.get(n)?.value.trim() ?? '';
  const domain = normalizeName(get('d'));
  const selector = get('s');
  const algorithm = get('a').toLowerCase();
  const base = { domain, selector, algorithm, keyName: '' };
  if (tags.problems.length) throw Object.assign(new Verdict('permerror', 'arc.signature-syntax', `the ${what} is not a valid tag list: ${tags.problems[0]!.message}`), { base });
  const missing = required.filter((n) => !tags.byName.has(n) || (n !== 'b' && get(n) === ''));
  if (missing.length) throw Object.assign(new Verdict('permerror', 'arc.signature-missing-tag', `the ${what} lacks ${missing.map((m) => `${m}=`).join(', ')}`), { base });
  // RFC 8617 §4.1.3 (and dkimpy): rsa-sha256 is the one algorithm ARC signs with.
  if (algorithm !== 'rsa-sha256') throw Object.assign(new Verdict('permerror', 'arc.unknown-algorithm', `a=${algorithm} is not an ARC signing algorithm (rsa-sha256 is the only one)`), { base });
  if (!BASE64_RE.test(get('b').replace(/\s+/g, ''))) throw Object.assign(new Verdict('permerror', 'arc.signature-syntax', `b= of the ${what} is not base64`), { base });
  const keyName = headerDomainName(`${selector}._domainkey.${domain}`);
  if ('problem' in keyName) throw Object.assign(new Verdict('permerror', 'arc.signature-syntax', `s= and d= of the ${what} make no DNS name to look the key up at: ${keyName.problem}`), { base });
  return { ...base, keyName: keyName.name };
}

interface KeyAnswer {
  status: 'ok' | 'none' | 'failed';
  records: string[];
  detail: string;
}

/** Everything one verification shares: the header lines, body hashes and key answers, each made once. */
class ArcContext {
  readonly byName: Map<string, MailauthHeaderLine[]>;
  private readonly body: Buffer;
  private readonly bodyHashes = new Map<string, string>();
  private readonly keys = new Map<string, Promise<KeyAnswer>>();

  constructor(
    msg: ParsedMessage,
    private readonly resolver: Resolver,
  ) {
    const parts = wireParts(msg);
    this.byName = linesByName(headerLines(parts.header));
    this.body = parts.body;
  }

  bodyHash(canon: string, limit: number | false): string {
    const key = `${canon}:${limit}`;
    let hash = this.bodyHashes.get(key);
    if (hash === undefined) {
      const hasher = dkimBody(canon, 'sha256', limit);
      hasher.update(this.body);
      hash = hasher.digest('base64');
      this.bodyHashes.set(key, hash);
    }
    return hash;
  }

  key(name: string): Promise<KeyAnswer> {
    let known = this.keys.get(name);
    if (!known) {
      known = this.resolver.lookup(name, 'TXT').then((a) =>
        a.status === 'ok'
          ? { status: 'ok' as const, records: txtValues(a), detail: '' }
          : { status: isNoRecord(a.status) ? ('none' as const) : ('failed' as const), records: [], detail: describeStatus(a.status) },
      );
      this.keys.set(name, known);
    }
    return known;
  }

  /** Verify `signed` (the canonicalized header) with b= against the key at keyName: pass, or a Verdict thrown. */
  async check(keyName: string, signed: Buffer, b: string, domain: string): Promise<void> {
    const answer = await this.key(keyName);
    if (answer.status === 'none') throw new Verdict('fail', 'arc.key-not-found', `no key record at ${keyName}: ${answer.detail}`);
    if (answer.status === 'failed') throw new Verdict('temperror', 'arc.key-lookup-failed', `the key record at ${keyName} could not be fetched: ${answer.detail}`);
    const outcomes = answer.records.map((text) => evaluateKeyRecord(text, keyName, answer.records.length, { algorithm: 'rsa-sha256', identityDomain: domain, domain }, signed, b));
    const pass = outcomes.find((o) => o.result === 'pass');
    if (pass) return;
    const first = outcomes.find((o) => o.code === 'dkim.signature-mismatch') ?? outcomes[0];
    if (!first) throw new Verdict('fail', 'arc.key-not-found', `no key record at ${keyName}: the TXT answer holds no record`);
    // A key DKIM would not accept fails the ARC signature; ARC has no permerror of its own (RFC 8617 §5.2).
    throw new Verdict('fail', first.code === 'dkim.signature-mismatch' ? 'arc.signature-mismatch' : (first.code ?? 'arc.key-invalid').replace(/^dkim\./, 'arc.'), first.reason ?? 'the key cannot be used');
  }
}

async function verifyAms(ctx: ArcContext, field: RawArcField): Promise<ArcSignatureReport> {
  const tags = parseTagList(field.value);
  const report: ArcSignatureReport = { result: 'pass', domain: '', selector: '', algorithm: '' };
  try {
    const f = signatureField(tags, ['i', 'a', 'b', 'bh', 'd', 'h', 's'], 'ARC-Message-Signature');
    Object.assign(report, { domain: f.domain, selector: f.selector, algorithm: f.algorithm });
    const get = (n: string): string => tags.byName.get(n)?.value.trim() ?? '';
    const signedHeaders = get('h').split(':').map((h) => h.trim()).filter(Boolean);
    report.signedHeaders = signedHeaders;
    // RFC 8617 §4.1.2: the AMS must not sign ARC-Seal fields.
    if (signedHeaders.some((h) => h.toLowerCase() === 'arc-seal')) throw new Verdict('permerror', 'arc.ams-signs-seal', 'h= lists ARC-Seal, which an ARC-Message-Signature must not sign (RFC 8617 §4.1.2)');
    // c= as in DKIM (RFC 8617 §4.1.2 takes the tag from RFC 6376); dkimpy and mailauth read a missing c= as relaxed/relaxed too.
    const c = (get('c') || 'relaxed/relaxed').toLowerCase().split('/');
    const headerCanon = c[0]!;
    const bodyCanon = c.length === 1 ? 'simple' : c[1]!;
    if (c.length > 2 || ![headerCanon, bodyCanon].every((x) => x === 'simple' || x === 'relaxed')) throw new Verdict('permerror', 'arc.signature-syntax', `c=${get('c')} is not a canonicalization`);
    const bh = get('bh').replace(/\s+/g, '');
    if (tags.byName.has('l') && !LENGTH_RE.test(get('l'))) throw new Verdict('permerror', 'arc.signature-syntax', `l=${get('l')} is not a length`);
    const computed = ctx.bodyHash(bodyCanon, tags.byName.has('l') ? Number(get('l')) : false);
    report.bodyHash = { expected: bh, computed };
    const lines = signingLines(ctx.byName, signedHeaders).headers;
    const signed = signedHeaderOctets(lines, field.line.line, headerCanon);
    if (computed !== bh) {
      // Look the key up all the same: a missing key says more, and a DNS failure is not a fail.
      await ctx.key(f.keyName).then((a) => {
        if (a.status === 'failed') throw new Verdict('temperror', 'arc.key-lookup-failed', `the key record at ${f.keyName} could not be fetched: ${a.detail}`);
      });
      throw new Verdict('fail', 'arc.body-hash-mismatch', `the body hash did not verify: bh= says ${bh}, the body hashes to ${computed}; the body changed after this instance signed it`);
    }
    await ctx.check(f.keyName, signed, get('b').replace(/\s+/g, ''), f.domain);
  } catch (err) {
    const v = err instanceof Verdict ? err : new Verdict('permerror', 'arc.not-evaluated', `the signature could not be evaluated: ${(err as Error).message}`);
    const base = (err as { base?: Partial<ArcSignatureReport> }).base;
    Object.assign(report, base ? { domain: base.domain, selector: base.selector, algorithm: base.algorithm } : {}, { result: v.result, reasonCode: v.code, reason: v.message });
  }
  return report;
}

/** The ARC-Seal of instance `upTo`: it signs every set from 1 to it, AAR, AMS, AS each, with its own b= empty (RFC 8617 §5.1.1). */
async function verifySeal(ctx: ArcContext, sets: ReadonlyMap<number, Partial<Record<ArcFieldName, RawArcField>>>, upTo: number): Promise<ArcSignatureReport> {
  const field = sets.get(upTo)!['arc-seal']!;
  const tags = parseTagList(field.value);
  const report: ArcSignatureReport = { result: 'pass', domain: '', selector: '', algorithm: '' };
  try {
    const f = signatureField(tags, ['i', 'a', 'b', 'cv', 'd', 's'], 'ARC-Seal');
    Object.assign(report, { domain: f.domain, selector: f.selector, algorithm: f.algorithm });
    if (tags.byName.has('h')) throw new Verdict('permerror', 'arc.seal-has-h', 'the ARC-Seal has an h= tag, which RFC 8617 §4.1.3 does not allow');
    // Every field of sets 1..upTo in order, the seal's own last: signed as a DKIM signature signs the fields h= picks.
    const sealed: MailauthHeaderLine[] = [];
    for (let i = 1; i <= upTo; i++) for (const name of ARC_FIELDS) sealed.push(sets.get(i)![name]!.line);
    const own = sealed.pop()!;
    await ctx.check(f.keyName, signedHeaderOctets(sealed, own.line, 'relaxed'), tags.byName.get('b')!.value.replace(/\s+/g, ''), f.domain);
  } catch (err) {
    const v = err instanceof Verdict ? err : new Verdict('permerror', 'arc.not-evaluated', `the seal could not be evaluated: ${(err as Error).message}`);
    const base = (err as { base?: Partial<ArcSignatureReport> }).base;
    Object.assign(report, base ? { domain: base.domain, selector: base.selector, algorithm: base.algorithm } : {}, { result: v.result, reasonCode: v.code, reason: v.message });
  }
  return report;
}

const notChecked = (reason: string): ArcSignatureReport => ({ result: 'not-checked', domain: '', selector: '', algorithm: '', reason });

/**
 * Judge the ARC chain of `msg` (RFC 8617 §5.2), DNS through `resolver` only. Bounded: past
 * MAX_ARC_SETS the chain fails without a signature checked. Never throws for what the message says.
 */
export async function verifyArc(msg: ParsedMessage, resolver: Resolver): Promise<ArcReport> {
  const ctx = new ArcContext(msg, resolver);
  const findings: Finding[] = [];
  const empty = { instances: 0, sets: [], oldestPass: null, override: null, findings };
  const raw: RawArcField[] = [];
  for (const name of ARC_FIELDS) for (const line of ctx.byName.get(name) ?? []) raw.push({ name, value: line.line.toString('latin1').replace(/^[^:]*:/, '').replace(/\r\n/g, ''), line });
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
  const reports: ArcSetReport[] = await Promise.all(
    instances.map(async (i): Promise<ArcSetReport> => {
      const set = sets.get(i)!;
      const aar = set['arc-authentication-results'] ? parseAar(set['arc-authentication-results'].value) : null;
      const skipped = tooLong ? `not checked: the chain has more than ${MAX_ARC_SETS} instances` : '';
      const [messageSignature, seal] = await Promise.all([
        skipped ? notChecked(skipped) : set['arc-message-signature'] ? verifyAms(ctx, set['arc-message-signature']) : notChecked('the set has no ARC-Message-Signature'),
        skipped ? notChecked(skipped) : complete ? verifySeal(ctx, sets, i) : notChecked(set['arc-seal'] ? 'not checked: the chain is incomplete, so what the seal signs is not all there' : 'the set has no ARC-Seal'),
      ]);
      return { instance: i, cv: cvOf(i), seal, messageSignature, authenticationResults: aar };
    }),
  );
  const base = { ...empty, instances: highest, sets: reports };
  const fail = (code: string, reason: string, rfc: string, result: ArcReport['result'] = 'fail'): ArcReport => ({ ...base, result, reasonCode: code, reason, fix: FIX[code === 'arc.key-lookup-failed' ? 'arc.dns' : code] ?? FIX['arc.seal-fail'], rfc });

  // RFC 8617 §5.2, in its order.
  if (cvOf(n) === 'fail' && sets.get(n)?.['arc-seal']) return fail('arc.cv-fail', `the newest seal (instance ${n}, d=${reports.at(-1)?.seal.domain || '?'}) says cv=fail: the chain was already broken when it reached that sealer`, 'RFC 8617 §5.2 step 2');
  if (structure.length) return fail('arc.structure', `the chain is malformed: ${structure.join('; ')}`, highest > MAX_ARC_SETS ? 'RFC 8617 §4.2.1' : 'RFC 8617 §5.1.1');
  const newest = reports.at(-1)!;
  const ams = newest.messageSignature;
  if (ams.result === 'temperror') return fail('arc.key-lookup-failed', `the newest ARC-Message-Signature (instance ${n}) could not be checked: ${ams.reason}`, 'RFC 8617 §5.2 step 4', 'temperror');
  if (ams.result !== 'pass') {
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
  if (tempSeal) return fail('arc.key-lookup-failed', `the ARC-Seal of instance ${tempSeal.instance} could not be checked: ${tempSeal.seal.reason}`, 'RFC 8617 §5.2 step 6', 'temperror');

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
