/**
 * DKIM verification of each signature in a message (RFC 6376 §6, RFC 8301, RFC 8463).
 *
 * mailauth's `dkimVerify` does the canonicalization and the body hash. Everything that decides
 * the result is checked here, because mailauth 4.13.3 gets parts of it wrong: it calls a
 * body-hash mismatch "neutral" (it is a failure), accepts rsa-sha1 (RFC 8301 forbids it), reads
 * only the first TXT record at the selector, ignores the key record's t=, h= and s= flags, and
 * never checks that From is signed. The key record is fetched through our Resolver and every
 * record at the name is tried, as RFC 6376 §3.6.2.2 allows.
 */
import { createHash, createPublicKey, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import { dkimVerify } from 'mailauth';
import type { Finding } from '../findings.js';
import { parseDkimKeyRecord, parseTagList } from '../dkim/parse.js';
import { describeStatus, isNoRecord, mailauthResolver, txtValues, type Resolver } from '../dns/resolver.js';
import { normalizeName } from '../names.js';
import { toCrlf, type ParsedMessage } from './message.js';

/** RFC 8601 §2.7.1 result values. */
export type DkimResult = 'pass' | 'fail' | 'neutral' | 'policy' | 'temperror' | 'permerror' | 'none';

export interface DkimKeyInfo {
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
  /** What mailauth alone said, for comparison. */
  mailauth?: { result: string; comment?: string };
}

export interface DkimVerifyOptions {
  /** Clock for x= and t= checks (tests); default now. */
  now?: Date;
}

interface MailauthSignatureResult {
  signature?: string;
  bodyHash?: string;
  bodyHashExpecting?: string;
  signingHeaders?: { canonicalizedHeader: string };
  status: { result: string; comment?: string; underSized?: number };
}

const KNOWN_ALGORITHMS = ['rsa-sha256', 'ed25519-sha256', 'rsa-sha1'];
const REQUIRED_TAGS = ['v', 'a', 'b', 'bh', 'd', 'h', 's'];
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

/** mailauth 4.13.3 prints to stdout when l= does not match the body; keep --json output clean. */
async function withQuietConsole<T>(fn: () => Promise<T>): Promise<T> {
  const original = console.log;
  console.log = () => undefined;
  try {
    return await fn();
  } finally {
    console.log = original;
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
    if (rec.p === undefined) throw new Verdict('permerror', 'dkim.key-missing-p', 'the key record has no p= tag');
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

/** Check every DKIM-Signature field of `msg`. An unsigned message gives an empty list. */
export async function verifyDkim(msg: ParsedMessage, resolver: Resolver, opts: DkimVerifyOptions = {}): Promise<DkimSignatureReport[]> {
  const now = opts.now ?? new Date();
  const fields = msg.fields.filter((f) => f.name.toLowerCase() === 'dkim-signature');
  if (fields.length === 0) return [];
  const verified = await withQuietConsole(() => dkimVerify(toCrlf(msg.raw), { resolver: mailauthResolver(resolver) as never, curTime: now }));
  const byB = new Map<string, MailauthSignatureResult>();
  for (const r of verified.results as unknown as MailauthSignatureResult[]) if (r.signature) byB.set(r.signature.replace(/\s+/g, ''), r);

  const reports: DkimSignatureReport[] = [];
  for (const [index, field] of fields.entries()) {
    const tags = parseTagList(field.value);
    const get = (n: string): string => tags.byName.get(n)?.value ?? '';
    const b = get('b').replace(/\s+/g, '');
    const domain = normalizeName(get('d'));
    const identity = get('i') || `@${domain}`;
    const identityDomain = normalizeName(identity.slice(identity.lastIndexOf('@') + 1));
    const algorithm = get('a').toLowerCase();
    const signedHeaders = get('h').split(':').map((h) => h.trim()).filter(Boolean);
    const report: DkimSignatureReport = {
      index,
      result: 'pass',
      domain,
      selector: get('s'),
      algorithm,
      identity,
      canonicalization: get('c') || 'simple/simple',
      signedHeaders,
      bShort: b.slice(0, 8),
      testing: false,
      findings: [],
    };
    const t = get('t');
    const x = get('x');
    if (/^\d+$/.test(t)) report.signTime = new Date(Number(t) * 1000).toISOString();
    if (/^\d+$/.test(x)) report.expires = new Date(Number(x) * 1000).toISOString();
    const subject = `DKIM-Signature #${index + 1} (d=${domain || '?'} s=${report.selector || '?'})`;
    const ma = byB.get(b);
    if (ma) report.mailauth = { result: ma.status.result, ...(ma.status.comment ? { comment: ma.status.comment } : {}) };

    const settle = (result: DkimResult, code: string, reason: string): void => {
      if (report.result === 'pass') Object.assign(report, { result, reasonCode: code, reason });
    };

    // RFC 6376 §6.1.1: the signature field itself.
    const missing = REQUIRED_TAGS.filter((n) => !tags.byName.has(n) || (n !== 'b' && get(n) === ''));
    const [header, body] = report.canonicalization.toLowerCase().split('/');
    if (tags.problems.length) settle('permerror', 'dkim.signature-syntax', `the DKIM-Signature field is not a valid tag list: ${tags.problems[0]!.message}`);
    else if (missing.length) settle('permerror', 'dkim.signature-missing-tag', `the DKIM-Signature field lacks ${missing.map((m) => `${m}=`).join(', ')}`);
    else if (get('v') !== '1') settle('permerror', 'dkim.signature-version', `v=${get('v')} is not 1`);
    else if (!KNOWN_ALGORITHMS.includes(algorithm)) settle('permerror', 'dkim.unknown-algorithm', `a=${algorithm} is not a DKIM signing algorithm (rsa-sha256, ed25519-sha256)`);
    else if (!['simple', 'relaxed'].includes(header ?? '') || !['simple', 'relaxed', undefined].includes(body)) {
      settle('permerror', 'dkim.unknown-canonicalization', `c=${report.canonicalization} is not simple or relaxed`);
    } else if (tags.byName.has('q') && !get('q').split(':').some((q) => q.trim().toLowerCase() === 'dns/txt')) {
      settle('permerror', 'dkim.unknown-query-method', `q=${get('q')} does not include dns/txt`);
    } else if (!signedHeaders.some((h) => h.toLowerCase() === 'from')) {
      settle('permerror', 'dkim.from-not-signed', 'h= does not list From; a signature that does not cover From is ignored (RFC 6376 §6.1.1)');
    } else if (identityDomain !== domain && !identityDomain.endsWith(`.${domain}`)) {
      settle('permerror', 'dkim.identity-mismatch', `i=${identity} is not in d=${domain} or below it`);
    } else if (report.expires && report.signTime && x <= t) {
      settle('permerror', 'dkim.expiry-before-timestamp', `x= (${report.expires}) is not after t= (${report.signTime})`);
    } else if (report.expires && new Date(report.expires) < now) {
      settle('permerror', 'dkim.signature-expired', `the signature expired at ${report.expires} (x=)`);
    } else if (algorithm === 'rsa-sha1') {
      settle('fail', 'dkim.weak-algorithm', 'rsa-sha1 signatures are rejected: SHA-1 must not be used for DKIM (RFC 8301 §3.1)');
    }
    if (report.signTime && new Date(report.signTime).getTime() > now.getTime() + 300_000) {
      report.findings.push({ code: 'dkim.timestamp-in-future', severity: 'warning', subject, message: `t= (${report.signTime}) lies in the future; check the signer's clock`, rfc: 'RFC 6376 §3.5' });
    }

    // RFC 6376 §6.1.2: the key, when the field names where to find it.
    let deferred: KeyOutcome | null = null;
    if (domain && report.selector) {
      const name = `${report.selector}._domainkey.${domain}`;
      const answer = await resolver.lookup(name, 'TXT');
      if (answer.status === 'ok') {
        const records = txtValues(answer);
        if (records.length > 1) {
          report.findings.push({
            code: 'dkim.multiple-key-records',
            severity: 'warning',
            subject: name,
            message: `${records.length} TXT records at the selector; receivers pick one in no set order (mailauth and dkimpy take the first), so results vary between receivers`,
            fix: 'publish exactly one TXT record at the selector name',
            rfc: 'RFC 6376 §3.6.2.2',
          });
        }
        const canon = ma?.signingHeaders ? Buffer.from(ma.signingHeaders.canonicalizedHeader, 'base64') : null;
        const outcomes = records.map((text) => evaluateKeyRecord(text, name, records.length, { algorithm, identityDomain, domain }, canon, b));
        const best = outcomes.reduce((a, o) => (RESULT_RANK[o.result] > RESULT_RANK[a.result] ? o : a));
        report.key = best.info;
        report.testing = best.info.flags.includes('y');
        report.findings.push(...best.findings);
        if (report.testing) {
          report.findings.push({ code: 'dkim.key-testing', severity: 'info', subject: name, message: 'the key record has t=y: the domain is testing DKIM and receivers treat failures like unsigned mail', rfc: 'RFC 6376 §3.6.1' });
        }
        if (best.code === 'dkim.signature-mismatch') deferred = best;
        else if (best.result !== 'pass' && best.result !== 'neutral') settle(best.result, best.code ?? 'dkim.key-invalid', best.reason ?? 'the key cannot be used');
      } else if (isNoRecord(answer.status)) {
        settle('permerror', 'dkim.key-not-found', `no key record at ${name}: ${describeStatus(answer.status)}`);
      } else {
        settle('temperror', 'dkim.key-lookup-failed', `the key record at ${name} could not be fetched: ${describeStatus(answer.status)}`);
      }
    }

    // RFC 6376 §6.1.3: body hash, then the header signature (checked with the key above).
    if (ma?.bodyHash !== undefined && ma.bodyHashExpecting !== undefined) {
      report.bodyHash = { expected: ma.bodyHashExpecting, computed: ma.bodyHash };
      if (ma.bodyHash !== ma.bodyHashExpecting.replace(/\s+/g, '')) {
        settle('fail', 'dkim.body-hash-mismatch', `the body hash did not verify: bh= says ${ma.bodyHashExpecting}, the body hashes to ${ma.bodyHash}; the body changed after signing`);
      }
    } else if (report.result === 'pass') {
      settle('permerror', 'dkim.not-evaluated', 'the signature could not be evaluated');
    }
    if (deferred) settle(deferred.result, deferred.code!, deferred.reason!);
    if (typeof ma?.status.underSized === 'number' && ma.status.underSized > 0) {
      report.unsignedBodyBytes = ma.status.underSized;
      report.findings.push({
        code: 'dkim.body-length-limit',
        severity: 'warning',
        subject,
        message: `l= leaves ${ma.status.underSized} bytes of the body unsigned; anyone can append content that still verifies`,
        fix: 'sign without l=',
        rfc: 'RFC 6376 §8.2',
      });
    }
    if (report.result === 'pass' && !report.key) settle('permerror', 'dkim.not-evaluated', 'the key was not checked');
    reports.push(report);
  }
  return reports;
}
