/** Lints for a DKIM key record (RFC 6376 §3.6.1, RFC 8301, RFC 8463). */
import type { Finding } from '../findings.js';
import { composeDkimRecord, type DkimPublicKey } from './record.js';
import { decodePublishedKey, type PublishedKeyForm } from './keys.js';
import { miscasedNote, miscasedTag, parseDkimKeyRecord, type DkimKeyRecord } from './parse.js';

export interface DkimRecordCheck {
  record: DkimKeyRecord;
  /** The key, when p= could be read (also for a PKCS#1 key, converted). */
  key?: DkimPublicKey;
  form?: PublishedKeyForm;
  revoked: boolean;
  findings: Finding[];
}

const KNOWN_KEY_TYPES = ['rsa', 'ed25519'];
const KNOWN_HASHES = ['sha256', 'sha1'];

/**
 * Check one key record's text. `subject` names it in findings (e.g. `sel._domainkey.example.com`).
 */
export function validateDkimRecord(text: string, subject = 'DKIM record'): DkimRecordCheck {
  const findings: Finding[] = [];
  const add = (f: Omit<Finding, 'subject'>): void => {
    findings.push({ subject, ...f });
  };
  const rec = parseDkimKeyRecord(text);
  const out: DkimRecordCheck = { record: rec, revoked: false, findings };

  for (const p of rec.list.problems) {
    add(
      p.kind === 'duplicate'
        ? { code: 'dkim.duplicate-tag', severity: 'error', message: `${p.message}; verifiers treat the whole record as invalid`, fix: 'keep one copy of the tag', rfc: 'RFC 6376 §3.2' }
        : { code: 'dkim.record-syntax', severity: 'error', message: p.message, fix: 'write the record as "name=value" pairs separated by ";"', rfc: 'RFC 6376 §3.2' },
    );
  }

  // RFC 6376 §3.6.1's tags (g= of RFC 4871 too).
  for (const name of ['v', 'g', 'h', 'k', 'n', 'p', 's', 't']) {
    const other = miscasedTag(rec.list, name);
    if (other) add({ code: 'dkim.tag-case', severity: 'warning', message: `${other}= is not ${name}=: tag names are case-sensitive, so verifiers take ${other}= for an unknown tag and ignore it`, fix: `write ${name}=`, rfc: 'RFC 6376 §3.2' });
  }

  const v = rec.list.byName.get('v');
  if (v) {
    if (v.index !== 0) add({ code: 'dkim.version-not-first', severity: 'error', message: 'v= is present but not the first tag; verifiers must then discard the record', fix: 'move "v=DKIM1" to the front', rfc: 'RFC 6376 §3.6.1' });
    if (v.value !== 'DKIM1') add({ code: 'dkim.bad-version', severity: 'error', message: `v=${v.value}: the only version is DKIM1`, fix: 'write "v=DKIM1" or leave v= out', rfc: 'RFC 6376 §3.6.1' });
  }

  if (!KNOWN_KEY_TYPES.includes(rec.keyType)) {
    add({ code: 'dkim.unknown-key-type', severity: 'error', message: `k=${rec.keyType} is not a key type verifiers know (rsa or ed25519)`, fix: 'write k=rsa or k=ed25519', rfc: 'RFC 6376 §3.6.1, RFC 8463' });
  }

  if (rec.hashes) {
    const unknown = rec.hashes.filter((h) => !KNOWN_HASHES.includes(h));
    if (unknown.length) add({ code: 'dkim.unknown-hash', severity: 'info', message: `h= names ${unknown.join(', ')}, which verifiers ignore`, rfc: 'RFC 6376 §3.6.1' });
    if (!rec.hashes.includes('sha256')) {
      add({
        code: 'dkim.sha1-only',
        severity: rec.hashes.includes('sha1') ? 'warning' : 'error',
        message: rec.hashes.includes('sha1')
          ? 'h= allows only sha1; signers must not use rsa-sha1 and verifiers may reject it, so this key cannot carry a valid signature'
          : 'h= allows no hash verifiers know, so no signature with this key can verify',
        fix: 'write h=sha256 or leave h= out',
        rfc: 'RFC 8301 §3.1',
      });
    }
  }

  if (!rec.services.includes('*') && !rec.services.includes('email')) {
    add({ code: 'dkim.service-type', severity: 'error', message: `s=${rec.services.join(':')} does not include email, so mail verifiers must not use this key`, fix: 'write s=email, or leave s= out', rfc: 'RFC 6376 §3.6.1' });
  }

  if (rec.flags.includes('y')) {
    add({ code: 'dkim.testing', severity: 'warning', message: 't=y: the domain says it is testing DKIM, so receivers may treat failing signatures as if there were none', fix: 'remove t=y once signing works (testing: false in the plan)', rfc: 'RFC 6376 §3.6.1' });
  }

  const g = rec.list.byName.get('g');
  if (g && g.value !== '*' && g.value !== '') {
    add({ code: 'dkim.obsolete-granularity', severity: 'warning', message: `g=${g.value} is from RFC 4871; older verifiers still apply it and may fail signatures whose i= does not match`, fix: 'remove g=', rfc: 'RFC 6376 Appendix C.1' });
  }

  if (rec.p === undefined) {
    add({ code: 'dkim.no-key', severity: 'error', message: `the record has no p= tag${miscasedNote(rec.list, ['p'])}, so it holds no key`, fix: 'publish the record `maildns records` prints', rfc: 'RFC 6376 §3.6.1' });
    return out;
  }
  if (rec.p === '') {
    out.revoked = true;
    add({ code: 'dkim.revoked', severity: 'warning', message: 'p= is empty: the key is revoked, signatures with this selector fail', fix: 'nothing to do if the selector is retired; otherwise publish the key', rfc: 'RFC 6376 §3.6.1' });
    return out;
  }
  if (!KNOWN_KEY_TYPES.includes(rec.keyType)) return out;

  const decoded = decodePublishedKey(rec.p, rec.keyType);
  if (!decoded.ok) {
    if (decoded.reason === 'type-mismatch') {
      add({ code: 'dkim.key-type-mismatch', severity: 'error', message: decoded.message, fix: `write k=${decoded.actualType}`, rfc: 'RFC 6376 §3.6.1, RFC 8463' });
    } else {
      const len = Buffer.byteLength(text);
      const cut = len === 255 || len === 250 ? ` The record is exactly ${len} characters long: it was probably cut at a TXT string limit.` : '';
      add({ code: decoded.reason === 'not-base64' ? 'dkim.key-not-base64' : 'dkim.key-unreadable', severity: 'error', message: `${decoded.message}.${cut}`, fix: 'publish the key again exactly as `maildns records` prints it, split into several quoted strings if the DNS host needs it', rfc: 'RFC 6376 §3.6.1' });
    }
    return out;
  }
  out.key = decoded.key;
  out.form = decoded.form;
  const key = decoded.key;

  if (decoded.form === 'pkcs1') {
    const fixed = composeDkimRecord(key, {});
    add({
      code: 'dkim.key-pkcs1',
      severity: 'error',
      message: 'p= holds a bare PKCS#1 RSAPublicKey; DKIM wants a SubjectPublicKeyInfo, and verifiers such as OpenDKIM reject this form',
      fix: `publish the same key in SubjectPublicKeyInfo form: p=${fixed.slice(fixed.indexOf('p=') + 2)}`,
      rfc: 'RFC 6376 §3.6.1',
    });
  }
  if (decoded.form === 'ed25519-spki') {
    add({ code: 'dkim.ed25519-spki', severity: 'error', message: 'k=ed25519 with a SubjectPublicKeyInfo in p=; RFC 8463 wants only the raw 32-byte key', fix: `publish p=${key.p}`, rfc: 'RFC 8463 §4.2' });
  }
  if (key.type === 'rsa') {
    if (key.bits < 1024) {
      add({ code: 'dkim.key-too-short', severity: 'error', message: `the RSA key has ${key.bits} bits; verifiers must not accept keys under 1024 bits`, fix: 'create a 2048-bit key (`maildns dkim rotate DOMAIN --algorithm rsa-2048`)', rfc: 'RFC 8301 §3.2' });
    } else if (key.bits < 2048) {
      add({ code: 'dkim.key-1024', severity: 'warning', message: `the RSA key has ${key.bits} bits; 2048 is the recommended size and some receivers score 1024-bit keys lower`, fix: 'rotate to a 2048-bit key (`maildns dkim rotate DOMAIN --algorithm rsa-2048`: without --algorithm the new key keeps the size of the active one)', rfc: 'RFC 8301 §3.2' });
    } else if (key.bits > 4096) {
      add({ code: 'dkim.key-too-long', severity: 'warning', message: `the RSA key has ${key.bits} bits; verifiers need only support up to 4096`, fix: 'use 2048 or 4096 bits', rfc: 'RFC 8301 §3.2' });
    }
  }
  return out;
}
