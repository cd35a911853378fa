/**
 * DKIM verification of each signature in a message (RFC 6376 §6, RFC 8301, RFC 8463).
 *
 * mailauth's body canonicalization and ./canon.ts's header canonicalization turn the body and
 * the header fields into the bytes that are hashed; everything that decides the result is checked here, one signature at a time, so a
 * crafted field can only spoil its own verdict. mailauth's own dkimVerify is not used: one
 * unusable signature (c=/simple/simple, t=16158e5284) makes it throw for the whole message, it
 * calls a body-hash mismatch "neutral", accepts rsa-sha1, reads only the first TXT record at the
 * selector, ignores the key record's t=, h= and s= flags, never checks that From is signed, and
 * prints to stdout when l= does not match the body. The key record is fetched through our
 * Resolver and every record at the name is tried, as RFC 6376 §3.6.2.2 allows.
 */
import { createHash, createPublicKey, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import { dkimBody } from 'mailauth/lib/dkim/body/index.js';
import type { MailauthHeaderLine, MailauthSigningLines } from 'mailauth/lib/tools.js';
import { signedHeaderOctets } from './canon.js';
import type { Finding } from '../findings.js';
import { miscasedNote, parseDkimKeyRecord, parseTagList, type TagList } from '../dkim/parse.js';
import { describeStatus, isNoRecord, txtValues, type Resolver } from '../dns/resolver.js';
import { normalizeName } from '../names.js';
import { headerDomainName, headerLineKind, MALFORMED_LINE_FIX, malformedLineProblem, utf8Text, wireParts, type ParsedMessage } from './message.js';

/** RFC 8601 §2.7.1 result values. */
type DkimResult = 'pass' | 'fail' | 'neutral' | 'policy' | 'temperror' | 'permerror' | 'none';

interface DkimKeyInfo {
  name: string;
  /** The record text that decided the result (whitespace kept as published). */
  record: string;
  /** TXT records found at the name. */
  recordCount: number;
  type?: 'rsa' | 'ed25519';
  bits?: number;
  /** t= flags (y = testing, s = no subdomain identities). */
  flags: string[];
  /** h= hash algorithms, when restricted. */
  hashes?: string[];
  /** s= service types. */
  services: string[];
}

export interface DkimSignatureReport {
  /** 0-based position among the message's DKIM-Signature fields, top first. */
  index: number;
  result: DkimResult;
  /** Stable code of the reason, e.g. `dkim.body-hash-mismatch`; absent on pass. */
  reasonCode?: string;
  /** The exact reason in plain words; absent on pass. */
  reason?: string;
  /** What to do about it (DKIM_FIXES); absent on pass. */
  fix?: string;
  domain: string;
  selector: string;
  algorithm: string;
  /** i= (defaults to @d). */
  identity: string;
  canonicalization: string;
  signedHeaders: string[];
  signTime?: string;
  expires?: string;
  /** First 8 characters of b=, for Authentication-Results header.b. */
  bShort: string;
  bodyHash?: { expected: string; computed: string };
  key?: DkimKeyInfo;
  /** Key published with t=y: receivers treat the domain as testing DKIM. */
  testing: boolean;
  /** l= leaves this many canonicalized body bytes outside the signature. */
  unsignedBodyBytes?: number;
  findings: Finding[];
}

interface DkimVerifyOptions {
  /** Clock for x= and t= checks (tests); default now. */
  now?: Date;
}

/**
 * The signature fields judged by the rules of RFC 6376: a DKIM-Signature, and the two ARC fields
 * RFC 8617 builds on it. An ARC-Message-Signature is a DKIM-Signature but for its name, no v= and
 * i= the instance (§4.1.2); an ARC-Seal signs the ARC sets with relaxed header canonicalization
 * and no body (§4.1.3, §5.1.1). ARC signs with rsa-sha256 only (dkimpy's ARC_HASH_ALGORITHMS too).
 */
export type SignatureKind = 'dkim' | 'ams' | 'seal';

const KIND: Record<SignatureKind, { field: string; required: readonly string[]; algorithms: readonly string[]; algorithmsText: string }> = {
  dkim: { field: 'DKIM-Signature', required: ['v', 'a', 'b', 'bh', 'd', 'h', 's'], algorithms: ['rsa-sha256', 'ed25519-sha256', 'rsa-sha1'], algorithmsText: 'a DKIM signing algorithm (rsa-sha256, ed25519-sha256)' },
  ams: { field: 'ARC-Message-Signature', required: ['i', 'a', 'b', 'bh', 'd', 'h', 's'], algorithms: ['rsa-sha256'], algorithmsText: 'an ARC signing algorithm (rsa-sha256 is the only one)' },
  seal: { field: 'ARC-Seal', required: ['i', 'a', 'b', 'cv', 'd', 's'], algorithms: ['rsa-sha256'], algorithmsText: 'an ARC signing algorithm (rsa-sha256 is the only one)' },
};
const RESULT_RANK: Record<DkimResult, number> = { pass: 6, fail: 5, policy: 4, neutral: 3, permerror: 2, temperror: 1, none: 0 };

class Verdict extends Error {
  constructor(
    readonly result: DkimResult,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

function decodePublicKey(keyType: string, p: string, findings: Finding[], subject: string): KeyObject {
  const der = Buffer.from(p, 'base64');
  if (keyType === 'ed25519') {
    if (der.length !== 32) throw new Verdict('permerror', 'dkim.key-invalid', `p= holds ${der.length} bytes; an Ed25519 key is 32 bytes (RFC 8463 §4.2)`);
    return createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, der]), format: 'der', type: 'spki' });
  }
  try {
    return createPublicKey({ key: der, format: 'der', type: 'spki' });
  } catch {
    /* try the bare PKCS#1 form below */
  }
  try {
    const key = createPublicKey({ key: der, format: 'der', type: 'pkcs1' });
    findings.push({
      code: 'dkim.key-pkcs1',
      severity: 'warning',
      subject,
      message: 'p= holds a bare PKCS#1 RSAPublicKey, not a SubjectPublicKeyInfo; maildns, dkimpy and go-msgauth accept it, OpenDKIM and mailauth do not',
      fix: 'publish the key as SubjectPublicKeyInfo (what `openssl rsa -pubout` prints, and what `maildns keygen` writes)',
      rfc: 'RFC 6376 §3.6.1',
    });
    return key;
  } catch {
    throw new Verdict('permerror', 'dkim.key-invalid', 'p= is not a valid RSA public key');
  }
}

interface KeyOutcome {
  result: DkimResult;
  code?: string;
  reason?: string;
  info: DkimKeyInfo;
  findings: Finding[];
}

function evaluateKeyRecord(
  text: string,
  name: string,
  recordCount: number,
  sig: { algorithm: string; identityDomain: string; domain: string },
  canonicalizedHeader: Buffer | null,
  b: string,
): KeyOutcome {
  const rec = parseDkimKeyRecord(text);
  const info: DkimKeyInfo = { name, record: text, recordCount, flags: rec.flags, services: rec.services };
  if (rec.hashes) info.hashes = rec.hashes;
  const findings: Finding[] = [];
  const out = (result: DkimResult, code?: string, reason?: string): KeyOutcome => ({
    result,
    info,
    findings,
    ...(code ? { code } : {}),
    ...(reason ? { reason } : {}),
  });
  try {
    if (rec.v !== undefined && rec.v !== 'DKIM1') throw new Verdict('permerror', 'dkim.key-version', `the key record has v=${rec.v}; only v=DKIM1 is defined`);
    if (rec.list.problems.length) throw new Verdict('permerror', 'dkim.key-syntax', `the key record is not a valid tag list: ${rec.list.problems[0]!.message}`);
    if (rec.p === undefined) throw new Verdict('permerror', 'dkim.key-missing-p', `the key record has no p= tag${miscasedNote(rec.list, ['p'])}`);
    if (rec.p === '') throw new Verdict('fail', 'dkim.key-revoked', 'the key is revoked (the record has an empty p=)');
    const [signAlgo, hashAlgo] = sig.algorithm.split('-') as [string, string];
    if (rec.keyType !== 'rsa' && rec.keyType !== 'ed25519') throw new Verdict('permerror', 'dkim.key-type', `the key record has k=${rec.keyType}; DKIM keys are rsa or ed25519`);
    if (rec.keyType !== signAlgo) throw new Verdict('permerror', 'dkim.key-type-mismatch', `the signature uses ${sig.algorithm} but the key record is k=${rec.keyType}`);
    if (rec.hashes && !rec.hashes.includes(hashAlgo)) {
      throw new Verdict('permerror', 'dkim.key-hash-not-allowed', `the key record allows h=${rec.hashes.join(':')} only; the signature uses ${hashAlgo}`);
    }
    if (!rec.services.includes('*') && !rec.services.includes('email')) {
      throw new Verdict('permerror', 'dkim.key-service', `the key record is for s=${rec.services.join(':')}, not email`);
    }
    if (rec.flags.includes('s') && sig.identityDomain !== sig.domain) {
      throw new Verdict('permerror', 'dkim.key-strict-identity', `the key record has t=s, so i= must be in ${sig.domain} itself, not ${sig.identityDomain}`);
    }
    const key = decodePublicKey(rec.keyType, rec.p, findings, name);
    info.type = rec.keyType;
    info.bits = rec.keyType === 'rsa' ? key.asymmetricKeyDetails?.modulusLength ?? 0 : 256;
    if (rec.keyType === 'rsa' && info.bits < 1024) {
      throw new Verdict('fail', 'dkim.key-too-short', `the RSA key has ${info.bits} bits; keys under 1024 bits are not accepted (RFC 8301 §3.2)`);
    }
    if (!canonicalizedHeader) return out('neutral');
    const signature = Buffer.from(b, 'base64');
    const ok =
      signAlgo === 'rsa'
        ? cryptoVerify(hashAlgo, canonicalizedHeader, key, signature)
        : cryptoVerify(null, createHash('sha256').update(canonicalizedHeader).digest(), key, signature);
    if (!ok) throw new Verdict('fail', 'dkim.signature-mismatch', 'the header signature (b=) does not verify with this key: a signed header field changed, or the key is not the one that signed');
    return out('pass');
  } catch (err) {
    if (err instanceof Verdict) return out(err.result, err.code, err.message);
    return out('permerror', 'dkim.key-invalid', `the key cannot be used: ${(err as Error).message}`);
  }
}

/** RFC 6376 §3.5: t= and x= are 1*12DIGIT, l= is 1*76DIGIT. */
const TIMESTAMP_RE = /^\d{1,12}$/;
const LENGTH_RE = /^\d{1,76}$/;
/** Base64 as RFC 6376 §3.5 writes it (white space removed first): whole quads, padding only at the end. */
const BASE64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

interface FieldProblem {
  result: DkimResult;
  code: string;
  reason: string;
}

/** What a signature field says, read once; `c` split into its two halves with their defaults. */
export interface SignatureField {
  kind: SignatureKind;
  get(name: string): string;
  has(name: string): boolean;
  tags: TagList;
  algorithm: string;
  /** d=, lower-case, an internationalized name as its A-labels (RFC 8616 §3); as written when it is no name. */
  domain: string;
  /** s=, likewise, when s= and d= make a key name; else as written. */
  selector: string;
  /** i= as its octets spell it in UTF-8; `@` and d= when absent, and in ARC (where i= is the instance). */
  identity: string;
  /** The domain of i=, as d= is given. */
  identityDomain: string;
  /** Where the key is asked for: `s._domainkey.d` in A-labels, with the Unicode form it was written in, or why there is no such name. */
  keyName: ReturnType<typeof headerDomainName>;
  signedHeaders: string[];
  /** c= as written, or the default. */
  canonicalization: string;
  headerCanon: string;
  bodyCanon: string;
}

export function readSignatureField(value: string, kind: SignatureKind = 'dkim'): SignatureField {
  const tags = parseTagList(value);
  const get = (n: string): string => tags.byName.get(n)?.value ?? '';
  // RFC 8616 §5: in internationalized mail d=, s= and i= may be U-labels (UTF-8, RFC 6532); the
  // key is asked for, and d= compared, as their A-labels (§3). The hash covers the field as written.
  const aLabels = (text: string): string => {
    const n = headerDomainName(text);
    return 'name' in n ? n.name : text;
  };
  const written = normalizeName(get('d'));
  const domain = aLabels(written);
  const auid = kind === 'dkim' ? get('i') : '';
  const identity = auid ? (utf8Text(auid) ?? auid) : `@${domain}`;
  const keyName = headerDomainName(`${get('s')}._domainkey.${written}`);
  // The seal has no c=: its header canonicalization is relaxed (RFC 8617 §5.1.1), and it signs no body.
  const canonicalization = kind === 'seal' ? 'relaxed' : get('c') || 'simple/simple';
  // c= is header["/"body]; a missing body half means simple (RFC 6376 §3.5).
  const halves = canonicalization.toLowerCase().split('/');
  return {
    kind,
    get,
    has: (n) => tags.byName.has(n),
    tags,
    algorithm: get('a').toLowerCase(),
    domain,
    selector: 'name' in keyName && /[^\x00-\x7f]/.test(get('s')) ? keyName.name.slice(0, keyName.name.length - `._domainkey.${domain}`.length) : get('s'),
    identity,
    identityDomain: aLabels(normalizeName(auid ? auid.slice(auid.lastIndexOf('@') + 1) : written)),
    keyName,
    signedHeaders: get('h').split(':').map((h) => h.trim()).filter(Boolean),
    canonicalization,
    headerCanon: halves[0] ?? '',
    bodyCanon: halves.length === 1 ? 'simple' : halves.length === 2 ? halves[1]! : '',
  };
}

/**
 * RFC 6376 §6.1.1: the first reason the field itself cannot be verified, or null. An ARC field is
 * held to the same rules (RFC 8617 §4.1.2, §4.1.3) but those of v= and i=, which it has not, of
 * From in h= (RFC 8617 lists none for the AMS; dkimpy asks none) and, for the seal, of the tags it
 * has not (c=, bh=, l=, q=, x=).
 */
function fieldProblem(f: SignatureField, now: Date): FieldProblem | null {
  const perm = (code: string, reason: string): FieldProblem => ({ result: 'permerror', code, reason });
  const kind = KIND[f.kind];
  const dkim = f.kind === 'dkim';
  const signsBody = f.kind !== 'seal';
  const missing = kind.required.filter((n) => !f.has(n) || (n !== 'b' && f.get(n) === ''));
  if (f.tags.problems.length) return perm('dkim.signature-syntax', `the ${kind.field} field is not a valid tag list: ${f.tags.problems[0]!.message}`);
  if (missing.length) return perm('dkim.signature-missing-tag', `the ${kind.field} field lacks ${missing.map((m) => `${m}=`).join(', ')}${miscasedNote(f.tags, missing)}`);
  if (dkim && f.get('v') !== '1') return perm('dkim.signature-version', `v=${f.get('v')} is not 1`);
  if (!kind.algorithms.includes(f.algorithm)) return perm('dkim.unknown-algorithm', `a=${f.algorithm} is not ${kind.algorithmsText}`);
  if (signsBody && (!CANONICALIZATIONS.includes(f.headerCanon) || !CANONICALIZATIONS.includes(f.bodyCanon))) {
    return perm('dkim.unknown-canonicalization', `c=${f.canonicalization} is not a canonicalization: write header/body, each simple or relaxed (e.g. relaxed/relaxed)`);
  }
  // bh= and b= are base64 (RFC 6376 §3.5), white space aside; bh= is the hash a= names.
  const bh = f.get('bh').replace(/\s+/g, '');
  const hashBytes = f.algorithm.endsWith('sha1') ? 20 : 32;
  if (signsBody && (!BASE64_RE.test(bh) || Buffer.from(bh, 'base64').length !== hashBytes)) {
    const holds = BASE64_RE.test(bh) ? `it holds ${Buffer.from(bh, 'base64').length}` : 'it is not base64';
    return perm('dkim.signature-syntax', `bh=${bh} is not a ${hashBytes === 20 ? 'SHA-1' : 'SHA-256'} hash in base64 (${hashBytes} octets; ${holds})`);
  }
  if (!BASE64_RE.test(f.get('b').replace(/\s+/g, ''))) return perm('dkim.signature-syntax', 'b= is not base64 (RFC 6376 §3.5): the signature was damaged in transit or written wrong');
  for (const name of signsBody ? (['t', 'x'] as const) : (['t'] as const)) {
    if (f.has(name) && !TIMESTAMP_RE.test(f.get(name))) {
      return perm('dkim.signature-syntax', `${name}=${f.get(name)} is not a time (seconds since 1970, at most 12 digits)`);
    }
  }
  if (signsBody && f.has('l') && !LENGTH_RE.test(f.get('l'))) return perm('dkim.signature-syntax', `l=${f.get('l')} is not a length in octets`);
  if (signsBody && f.has('q') && !f.get('q').split(':').some((q) => q.trim().toLowerCase() === 'dns/txt')) {
    return perm('dkim.unknown-query-method', `q=${f.get('q')} does not include dns/txt`);
  }
  if (dkim && !f.signedHeaders.some((h) => h.toLowerCase() === 'from')) {
    return perm('dkim.from-not-signed', 'h= does not list From; a signature that does not cover From is ignored (RFC 6376 §6.1.1)');
  }
  if (dkim && f.has('i') && !f.identity.includes('@')) {
    return perm('dkim.signature-syntax', `i=${f.identity} is not an identity: write it as an address in d=, user@${f.domain} or @${f.domain} (RFC 6376 §3.5)`);
  }
  if (f.identityDomain !== f.domain && !f.identityDomain.endsWith(`.${f.domain}`)) {
    return perm('dkim.identity-mismatch', `i=${f.identity} is not in d=${f.domain} or below it`);
  }
  // The field is read as Latin-1: a name in UTF-8 (RFC 6532) is judged, and quoted, as the characters its octets spell.
  if ('problem' in f.keyName) return perm('dkim.signature-syntax', `s= and d= do not make a DNS name to look the key up at: ${f.keyName.problem}`);
  const t = f.has('t') ? Number(f.get('t')) : null;
  const x = signsBody && f.has('x') ? Number(f.get('x')) : null;
  if (x !== null && t !== null && x <= t) return perm('dkim.expiry-before-timestamp', `x= (${isoTime(x)}) is not after t= (${isoTime(t)})`);
  if (x !== null && x * 1000 < now.getTime()) return perm('dkim.signature-expired', `the signature expired at ${isoTime(x)} (x=)`);
  if (f.algorithm === 'rsa-sha1') return { result: 'fail', code: 'dkim.weak-algorithm', reason: 'rsa-sha1 signatures are rejected: SHA-1 must not be used for DKIM (RFC 8301 §3.1)' };
  return null;
}

const CANONICALIZATIONS = ['simple', 'relaxed'];

/** Seconds since 1970 (at most 12 digits, so always a valid date) as ISO 8601. */
function isoTime(seconds: number): string {
  return new Date(seconds * 1000).toISOString();
}

interface BodyHash {
  hash: string;
  /** Canonicalized body octets the hash covers, and the whole canonicalized body's length. */
  hashedBytes: number;
  totalBytes: number;
}

/**
 * The header split into its fields, folded lines joined (CRLF kept), by message.ts's
 * headerLineKind, the rule parseMessage reads the fields by: a line continues the field above
 * only when it starts with SP or HTAB (RFC 5322 §2.2.3). mailauth's parseHeaders, which this
 * replaced, took any regexp \s for a fold (0x0B, 0x0C, 0xA0 too), and a line without a colon for
 * a field named by its text. A malformed line (no field, no fold) and the folds below it are a
 * line of their own with no name, which h= can never pick. In time in proportion to the header:
 * parseHeaders removes each continuation line from an array as it goes, so a field folded over
 * 250,000 lines (1 MB) took ten minutes to verify.
 */
export function headerLines(header: Buffer): MailauthHeaderLine[] {
  const rows = header.toString('latin1').replace(/[\r\n]+$/, '').split(/\r?\n/);
  const fields: string[][] = [];
  rows.forEach((row, i) => {
    if (i > 0 && headerLineKind(row).kind === 'fold') fields[fields.length - 1]!.push(row);
    else fields.push([row]);
  });
  return fields.map((parts) => {
    const row = parts.join('\r\n');
    const kind = headerLineKind(row);
    const casedKey = kind.kind === 'field' ? kind.name : undefined;
    return { key: casedKey === undefined ? null : casedKey.toLowerCase(), casedKey, line: Buffer.from(row, 'latin1') };
  });
}

/** What a signer signs of `names` (dkimSign's choice): every instance of them in the header, bottom first. */
export function linesToSign(parsed: readonly MailauthHeaderLine[], names: readonly string[]): MailauthSigningLines {
  const wanted = new Set(names.map((n) => n.trim().toLowerCase()).filter(Boolean));
  const headers = parsed.filter((l) => l.key !== null && wanted.has(l.key)).reverse();
  return { keys: headers.map((h) => h.casedKey).join(': '), headers };
}

/** A message's header lines by lower-case field name, top first. */
export function linesByName(parsed: readonly MailauthHeaderLine[]): Map<string, MailauthHeaderLine[]> {
  const byName = new Map<string, MailauthHeaderLine[]>();
  for (const line of parsed) {
    if (line.key === null) continue;
    const same = byName.get(line.key);
    if (same) same.push(line);
    else byName.set(line.key, [line]);
  }
  return byName;
}

/**
 * The header lines h= names, in its order, each name taking the bottom-most instance not yet
 * taken (RFC 6376 §5.4.2), as mailauth's getSigningHeaderLines(…, true) picks them, in time in
 * proportion to h= (that one scans the whole header for each name: an h= of 100,000 names over a
 * header of 50,000 fields took a minute and a half).
 */
export function signingLines(byName: ReadonlyMap<string, readonly MailauthHeaderLine[]>, names: readonly string[]): MailauthSigningLines {
  const taken = new Map<string, number>();
  const headers: MailauthHeaderLine[] = [];
  for (const given of names) {
    const name = given.trim().toLowerCase();
    const all = byName.get(name);
    const used = taken.get(name) ?? 0;
    if (!all || used >= all.length) continue;
    headers.push(all[all.length - 1 - used]!);
    taken.set(name, used + 1);
  }
  return { keys: headers.map((h) => h.casedKey).join(': '), headers };
}

/** The message as DKIM (and ARC) hashes it, with body hashes shared by signatures that ask for the same one. */
export class Canonicalizer {
  /** The header lines by lower-case field name, top first. */
  readonly byName: Map<string, MailauthHeaderLine[]>;
  private readonly body: Buffer;
  private readonly bodyHashes = new Map<string, BodyHash>();
  /** The header lines of the DKIM-Signature fields, top first. */
  readonly signatureLines: MailauthHeaderLine[];

  /** The verdict on every signature when the header has a malformed line (RFC 5322 §2.2.3), else null. */
  readonly malformed: FieldProblem | null;

  constructor(msg: ParsedMessage) {
    const first = msg.malformed[0];
    this.malformed = first
      ? { result: 'permerror', code: 'dkim.header-malformed', reason: `the header cannot be read as signed: ${malformedLineProblem(first)}` }
      : null;
    const parts = wireParts(msg);
    const lines = headerLines(parts.header);
    this.byName = linesByName(lines);
    this.body = parts.body;
    this.signatureLines = this.byName.get('dkim-signature') ?? [];
  }

  bodyHash(f: SignatureField): BodyHash {
    return this.hashOf(f.bodyCanon, f.algorithm.split('-')[1]!, f.has('l') ? Number(f.get('l')) : false);
  }

  private hashOf(bodyCanon: string, hashAlgo: string, limit: number | false): BodyHash {
    const key = `${bodyCanon}:${hashAlgo}:${limit}`;
    let known = this.bodyHashes.get(key);
    if (!known) {
      const hasher = dkimBody(bodyCanon, hashAlgo, limit);
      hasher.update(this.body);
      const hash = hasher.digest('base64');
      // mailauth's canonicalizedLength stops counting once l= is reached (at once for l=0), so the
      // whole canonicalized body is the length of the hash over all of it.
      const totalBytes = limit === false ? hasher.bodyHashedBytes : this.hashOf(bodyCanon, hashAlgo, false).hashedBytes;
      known = { hash, hashedBytes: hasher.bodyHashedBytes, totalBytes };
      this.bodyHashes.set(key, known);
    }
    return known;
  }

  /** The bytes b= signs: the h= fields, then this signature's own field without the b= value. */
  signedHeader(f: SignatureField, line: MailauthHeaderLine): Buffer {
    const signing = signingLines(this.byName, f.signedHeaders);
    return signedHeaderOctets(signing.headers, line.line, f.headerCanon);
  }
}

const keyName = (r: DkimSignatureReport): string => `${r.selector}._domainkey.${r.domain}`;
const RESIGN = 'sign again with a signer that writes RFC 6376 fields (maildns sign does); a field damaged on the way is the sender\'s or a relay\'s to mend';
const FIX_KEY_RECORD = (r: DkimSignatureReport): string => `publish one valid key record at ${keyName(r)} (maildns records prints it; maildns dkim check-record "<record>" says what is wrong with one)`;

/** The fix for each reason a signature does not pass, by reason code. */
export const DKIM_FIXES: Record<string, (r: DkimSignatureReport) => string> = {
  'dkim.signature-syntax': () => RESIGN,
  'dkim.header-malformed': () => `${MALFORMED_LINE_FIX}, then sign again; a line so damaged on the way is the sender's or a relay's to mend`,
  'dkim.signature-missing-tag': () => RESIGN,
  'dkim.signature-version': () => `${RESIGN} (v=1)`,
  'dkim.unknown-algorithm': () => 'sign with a=rsa-sha256 or a=ed25519-sha256',
  'dkim.unknown-canonicalization': () => 'sign with c=relaxed/relaxed (or simple/simple, relaxed/simple, simple/relaxed)',
  'dkim.unknown-query-method': () => 'sign without q= (its default, dns/txt, is the only method)',
  'dkim.from-not-signed': () => 'sign with From in h= (maildns sign always signs it)',
  'dkim.identity-mismatch': (r) => `sign with an i= in ${r.domain || 'd='} or below it, or without i=`,
  'dkim.expiry-before-timestamp': () => 'sign with an x= later than t=, or without x=',
  'dkim.signature-expired': () => 'sign with an x= that leaves days for delivery and later checks, or without x=',
  'dkim.weak-algorithm': () => 'sign with rsa-sha256 (or ed25519-sha256): receivers ignore rsa-sha1',
  'dkim.body-length-beyond-body': () => 'sign without l= (it leaves the body open to additions anyway)',
  'dkim.key-not-found': (r) => `publish the key of selector ${r.selector} at ${keyName(r)} (maildns records prints it), or sign with a selector whose key is published`,
  'dkim.key-lookup-failed': () => 'run again when DNS answers, or ask another server with --nameserver',
  'dkim.key-syntax': FIX_KEY_RECORD,
  'dkim.key-version': FIX_KEY_RECORD,
  'dkim.key-missing-p': FIX_KEY_RECORD,
  'dkim.key-invalid': FIX_KEY_RECORD,
  'dkim.key-type': FIX_KEY_RECORD,
  'dkim.key-type-mismatch': (r) => `sign with the key published at ${keyName(r)}, or publish the key that signs (k= of its type)`,
  'dkim.key-hash-not-allowed': (r) => `drop h= from the key record at ${keyName(r)} (or list sha256 in it)`,
  'dkim.key-service': (r) => `publish the key at ${keyName(r)} with s=email or without s=`,
  'dkim.key-strict-identity': (r) => `sign with i= in ${r.domain} itself (or without i=), or drop t=s from the key record`,
  'dkim.key-revoked': (r) => `the key at ${keyName(r)} is revoked: sign with the selector in use now`,
  // Rotate keeps the active key's size unless told otherwise.
  'dkim.key-too-short': (r) => `sign with a key of 2048 bits, published under a new selector (maildns dkim rotate ${r.domain || 'DOMAIN'} --algorithm rsa-2048)`,
  'dkim.body-hash-mismatch': () => 'sign the message as it is sent: a footer, a rewrite or a re-encoding after signing (a list, a gateway, a scanner) changes the body; relaxed body canonicalization survives changed white space only',
  'dkim.signature-mismatch': (r) => `check that the key at ${keyName(r)} is the one that signs (maildns verify compares the published key with the private key), and that no field in h= changes after signing`,
  'dkim.not-evaluated': () => RESIGN,
};

/**
 * The most DKIM-Signature fields checked, from the top (RFC 6376 §6.1: a verifier may limit the
 * signatures it tries, against a denial of service; OpenDKIM tries three). Each one costs a key
 * lookup and the hashing of the header: 10,000 of them, each naming a key of its own, had held
 * the check until its DNS deadline passed, and the signatures below were then a DNS failure.
 */
export const MAX_DKIM_SIGNATURES = 20;

/** The finding for a message with more DKIM-Signature fields than are checked, or null. */
export function skippedSignaturesFinding(msg: ParsedMessage): Finding | null {
  const total = msg.fields.filter((f) => f.name.toLowerCase() === 'dkim-signature').length;
  if (total <= MAX_DKIM_SIGNATURES) return null;
  return {
    code: 'dkim.too-many-signatures',
    severity: 'warning',
    subject: 'DKIM-Signature',
    message: `the message has ${total} DKIM-Signature fields; the first ${MAX_DKIM_SIGNATURES} from the top were checked, the ${total - MAX_DKIM_SIGNATURES} below them were not (receivers check only a few: OpenDKIM three)`,
    fix: 'sign once with each key (a relay adds one signature of its own at most); a signature below the first few may never be checked',
    rfc: 'RFC 6376 §6.1',
  };
}

/**
 * Check the DKIM-Signature fields of `msg`, the first MAX_DKIM_SIGNATURES from the top. An
 * unsigned message gives an empty list. Never throws for what the message says.
 */
export async function verifyDkim(msg: ParsedMessage, resolver: Resolver, opts: DkimVerifyOptions = {}): Promise<DkimSignatureReport[]> {
  const now = opts.now ?? new Date();
  const fields = msg.fields.filter((f) => f.name.toLowerCase() === 'dkim-signature').slice(0, MAX_DKIM_SIGNATURES);
  if (fields.length === 0) return [];
  const canon = new Canonicalizer(msg);
  const reports: DkimSignatureReport[] = [];
  for (const [index, field] of fields.entries()) {
    reports.push(await verifySignature(index, field.value, canon.signatureLines[index], canon, resolver, now));
  }
  return reports;
}

async function verifySignature(
  index: number,
  value: string,
  line: MailauthHeaderLine | undefined,
  canon: Canonicalizer,
  resolver: Resolver,
  now: Date,
): Promise<DkimSignatureReport> {
  const f = readSignatureField(value);
  const b = f.get('b').replace(/\s+/g, '');
  const report: DkimSignatureReport = {
    index,
    result: 'pass',
    domain: f.domain,
    selector: f.selector,
    algorithm: f.algorithm,
    identity: f.identity,
    canonicalization: f.canonicalization,
    signedHeaders: f.signedHeaders,
    bShort: b.slice(0, 8),
    testing: false,
    findings: [],
  };
  if (TIMESTAMP_RE.test(f.get('t'))) report.signTime = isoTime(Number(f.get('t')));
  if (TIMESTAMP_RE.test(f.get('x'))) report.expires = isoTime(Number(f.get('x')));
  const subject = `DKIM-Signature #${index + 1} (d=${f.domain || '?'} s=${report.selector || '?'})`;
  const signed = (): Buffer => {
    if (!line) throw new Error('its header field could not be found again in the message');
    return canon.signedHeader(f, line);
  };
  const j = await judgeSignature(f, canon, resolver, now, subject, signed);
  Object.assign(report, { result: j.result, testing: j.testing, findings: j.findings });
  if (j.code) Object.assign(report, { reasonCode: j.code, reason: j.reason });
  if (j.bodyHash) report.bodyHash = j.bodyHash;
  if (j.key) report.key = j.key;
  if (j.unsignedBodyBytes !== undefined) report.unsignedBodyBytes = j.unsignedBodyBytes;
  if (report.reasonCode) report.fix = (DKIM_FIXES[report.reasonCode] ?? (() => RESIGN))(report);
  return report;
}

/** A signature's verdict, the reason code `dkim.*` (absent on pass), and what was found on the way. */
export interface SignatureJudgement {
  result: DkimResult;
  code?: string;
  reason?: string;
  bodyHash?: { expected: string; computed: string };
  key?: DkimKeyInfo;
  testing: boolean;
  unsignedBodyBytes?: number;
  findings: Finding[];
}

/**
 * Judge one signature field as RFC 6376 §6.1 says: the header's own shape, the field, the body
 * hash and l= (fields that sign a body), the key records at the selector (every one tried, the
 * best verdict kept) and b= over the bytes `signedHeader` gives. DKIM-Signature, ARC-Message-Signature
 * and ARC-Seal alike (RFC 8617 §5.1.1, §5.2: they are validated as DKIM signatures are);
 * `subject` names the signature in findings. Never throws for what the message says.
 */
export async function judgeSignature(
  f: SignatureField,
  canon: Canonicalizer,
  resolver: Resolver,
  now: Date,
  subject: string,
  signedHeader: () => Buffer,
): Promise<SignatureJudgement> {
  const out: SignatureJudgement = { result: 'pass', testing: false, findings: [] };
  const b = f.get('b').replace(/\s+/g, '');
  const settle = (result: DkimResult, code: string, reason: string): void => {
    if (out.result === 'pass') Object.assign(out, { result, code, reason });
  };

  // A malformed header line comes first: dkimpy rejects the whole message for one (MessageFormatError)
  // before it reads a signature, and no two verifiers would hash the header around it alike.
  const problem = canon.malformed ?? fieldProblem(f, now);
  if (problem) settle(problem.result, problem.code, problem.reason);
  if (TIMESTAMP_RE.test(f.get('t')) && Number(f.get('t')) * 1000 > now.getTime() + 300_000) {
    out.findings.push({ code: 'dkim.timestamp-in-future', severity: 'warning', subject, message: `t= (${isoTime(Number(f.get('t')))}) lies in the future; receivers may ignore the signature`, fix: 'set the signing host\'s clock right (NTP)', rfc: 'RFC 6376 §3.5' });
  }

  // RFC 6376 §6.1.3: the body hash and the bytes b= covers, for a field whose syntax allows it
  // (mailauth's primitives throw on the rest). A failure here is this signature's alone.
  let signed: Buffer | null = null;
  let bodyMismatch: string | null = null;
  if (problem?.result !== 'permerror') {
    try {
      if (f.kind !== 'seal') {
        const body = canon.bodyHash(f);
        const expected = f.get('bh').replace(/\s+/g, '');
        out.bodyHash = { expected, computed: body.hash };
        if (body.hash !== expected) {
          bodyMismatch = `the body hash did not verify: bh= says ${expected}, the body hashes to ${body.hash}; the body changed after signing`;
        }
        if (f.has('l') && Number(f.get('l')) > body.totalBytes) {
          throw new Verdict(
            'permerror',
            'dkim.body-length-beyond-body',
            `l=${f.get('l')} is more than the ${body.totalBytes} octets of the body as canonicalized (${f.bodyCanon}): the body is shorter than when it was signed, or l= is wrong (RFC 6376 §3.5: l= must not be larger than the body)`,
          );
        }
        if (f.has('l') && body.totalBytes > body.hashedBytes) {
          out.unsignedBodyBytes = body.totalBytes - body.hashedBytes;
          out.findings.push({
            code: 'dkim.body-length-limit',
            severity: 'warning',
            subject,
            message: `l= leaves ${out.unsignedBodyBytes} bytes of the body unsigned; anyone can append content that still verifies`,
            fix: 'sign without l=',
            rfc: 'RFC 6376 §8.2',
          });
        }
      }
      signed = signedHeader();
    } catch (err) {
      if (err instanceof Verdict) settle(err.result, err.code, err.message);
      else settle('permerror', 'dkim.not-evaluated', `the signature could not be evaluated: ${(err as Error).message}`);
    }
  }

  // RFC 6376 §6.1.2: the key, when the field names a place to look for it.
  const name = 'name' in f.keyName ? f.keyName.name : '';
  if ('name' in f.keyName && f.keyName.unicode !== null) {
    const inUnicode = (['s', 'd'] as const).filter((t) => /[^\x00-\x7f]/.test(f.get(t)));
    out.findings.push({
      code: 'dkim.signature-u-labels',
      severity: 'info',
      subject,
      message: `${inUnicode.map((t) => `${t}=${utf8Text(f.get(t))}`).join(' ')} ${inUnicode.length > 1 ? 'are' : 'is'} written in U-labels, as RFC 8616 allows in internationalized mail; the key was asked for at the A-labels, ${name}. A verifier written before RFC 8616 may ask for the name as written and find no key`,
      fix: `for those verifiers too, sign with the A-labels: ${inUnicode.map((t) => `${t}=${t === 's' ? f.selector : f.domain}`).join(' ')}`,
      rfc: 'RFC 8616 §5',
    });
  }
  let headerMismatch: KeyOutcome | null = null;
  if (f.domain && f.selector && name) {
    const answer = await resolver.lookup(name, 'TXT');
    if (answer.status === 'ok') {
      const records = txtValues(answer);
      if (records.length > 1) {
        out.findings.push({
          code: 'dkim.multiple-key-records',
          severity: 'warning',
          subject: name,
          message: `${records.length} TXT records at the selector; receivers pick one in no set order (mailauth and dkimpy take the first), so results vary between receivers`,
          fix: 'publish exactly one TXT record at the selector name',
          rfc: 'RFC 6376 §3.6.2.2',
        });
      }
      const sig = { algorithm: f.algorithm, identityDomain: f.identityDomain, domain: f.domain };
      const outcomes = records.map((text) => evaluateKeyRecord(text, name, records.length, sig, signed, b));
      const best = outcomes.reduce((a, o) => (RESULT_RANK[o.result] > RESULT_RANK[a.result] ? o : a));
      out.key = best.info;
      out.testing = best.info.flags.includes('y');
      out.findings.push(...best.findings);
      if (out.testing) {
        // Said once for a key an ARC set's seal and message signature share, so in words for both.
        const testing = f.kind === 'dkim'
          ? { message: 'the key record has t=y: the domain is testing DKIM and receivers treat failures like unsigned mail', fix: `remove t=y from the record at ${name} once signing works` }
          : { message: 'the key record has t=y: the domain is testing its ARC key and receivers treat an ARC-Seal or ARC-Message-Signature that fails with it like an unsealed message', fix: `remove t=y from the record at ${name} once sealing works` };
        out.findings.push({ code: 'dkim.key-testing', severity: 'info', subject: name, ...testing, rfc: 'RFC 6376 §3.6.1' });
      }
      if (best.code === 'dkim.signature-mismatch') headerMismatch = best;
      else if (best.result !== 'pass' && best.result !== 'neutral') settle(best.result, best.code ?? 'dkim.key-invalid', best.reason ?? 'the key cannot be used');
    } else if (isNoRecord(answer.status)) {
      settle('permerror', 'dkim.key-not-found', `no key record at ${name}: ${describeStatus(answer.status)}`);
    } else {
      settle('temperror', 'dkim.key-lookup-failed', `the key record at ${name} could not be fetched: ${describeStatus(answer.status)}`);
    }
  }
  // A changed body says more about what happened than the header signature that then fails too.
  if (bodyMismatch) settle('fail', 'dkim.body-hash-mismatch', bodyMismatch);
  if (headerMismatch) settle(headerMismatch.result, headerMismatch.code!, headerMismatch.reason!);
  if (out.result === 'pass' && (!out.key || !signed)) settle('permerror', 'dkim.not-evaluated', 'the key was not checked');
  return out;
}
