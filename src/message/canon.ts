/**
 * Header canonicalization (RFC 6376 §3.4.1, §3.4.2), the one definition DKIM verification, DKIM
 * signing and ARC (RFC 8617 takes it from RFC 6376) all use.
 *
 * White space is WSP, SP and HTAB only (RFC 5234). mailauth's formatRelaxedLine is not used: it
 * compresses and trims a regexp's \s, which in the latin1 string it works on also takes 0x0B,
 * 0x0C, a bare CR and 0xA0, the second octet of "à" (C3 A0) and an octet of many CJK characters
 * in UTF-8 ("ム" E3 83 A0, "堀" E5 A0 80; not "件名：テスト送信", none of whose octets is one;
 * 0x85, as in "Å" C3 85, is no \s). A signed field holding one hashed to other bytes than dkimpy signed
 * (dkim.signature-mismatch), and a signature maildns made over one failed in other verifiers.
 * The body's relaxed canonicalization is mailauth's dkimBody, which works on octets and takes SP
 * and HTAB only.
 */
import type { MailauthHeaderLine } from 'mailauth/lib/tools.js';

const asciiLower = (s: string): string => s.replace(/[A-Z]+/g, (m) => m.toLowerCase());

/**
 * One field as relaxed header canonicalization writes it (RFC 6376 §3.4.2), no final CRLF, as a
 * latin1 string (one character an octet): the name in lower case (ASCII letters only) without WSP
 * before the colon, CRLF removed (unfolded), each run of SP and HTAB one SP, none at the start or
 * end of the value. With `stripB`, the b= value of a signature field is removed (RFC 6376 §3.7).
 */
export function relaxedField(line: Buffer | string, stripB = false): string {
  const text = (typeof line === 'string' ? line : line.toString('latin1')).replace(/\r\n/g, '');
  const colon = text.indexOf(':');
  const name = asciiLower(text.slice(0, colon).replace(/[ \t]+$/, ''));
  let value = text.slice(colon + 1).replace(/[ \t]+/g, ' ').replace(/^ | $/g, '');
  // RFC 6376 §3.7: the b= value, and the white space around it, is hashed as the empty string.
  if (stripB) value = value.replace(/((?:^|;) ?b ?=)[^;]*/, '$1');
  return `${name}:${value}`;
}

/** The signature field as simple header canonicalization hashes it: as written, without its b= value. */
function simpleWithoutB(line: Buffer | string): string {
  return (typeof line === 'string' ? line : line.toString('latin1')).replace(/((?:^|;|:)[ \t\r\n]*b[ \t\r\n]*=)[^;]*/, '$1');
}

/**
 * The octets a DKIM-Signature's (or ARC-Message-Signature's) b= signs: the fields h= picked, each
 * canonicalized with CRLF, then the signature field itself without its b= value and without a
 * final CRLF (RFC 6376 §3.7).
 */
export function signedHeaderOctets(lines: readonly MailauthHeaderLine[], signatureField: Buffer | string, headerCanon: string): Buffer {
  const relaxed = headerCanon === 'relaxed';
  if (!relaxed && headerCanon !== 'simple') throw new Error(`unknown header canonicalization ${headerCanon}`);
  const chunks = lines.map((l) => (relaxed ? relaxedField(l.line) : l.line.toString('latin1')) + '\r\n');
  chunks.push(relaxed ? relaxedField(signatureField, true) : simpleWithoutB(signatureField));
  return Buffer.from(chunks.join(''), 'latin1');
}
