/**
 * The one header canonicalization of DKIM and ARC (src/message/canon.ts): for fields of printable
 * ASCII, SP and HTAB it writes the octets mailauth's generateCanonicalizedHeader writes (so sign's
 * output stays dkimSign's); white space is SP and HTAB only (RFC 6376 §3.4.2), where mailauth's
 * \s also took 0x0B, 0x0C, a bare CR and 0xA0.
 */
import { generateCanonicalizedHeader } from 'mailauth/lib/dkim/header/index.js';
import { describe, expect, it } from 'vitest';
import { relaxedField, signedHeaderOctets } from '../../../src/message/canon.js';
import { headerLines } from '../../../src/message/dkim.js';

const HEADER = [
  'From: Alice <alice@example.com>',
  'To:\tbob@example.net ,\r\n  carol@example.net  ',
  'Subject :  two   spaces \t and a tab\t',
  'X-Empty:',
  'X-Only-Space:   ',
  'MIXED-Case-Name: Value  With  CAPS',
  '',
].join('\r\n');

const SIGNATURES = [
  'DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=example.com; s=sel;\r\n\th=from:to:subject; bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=;\r\n\tb=dGVzdA==\r\n\t QUJD',
  'DKIM-Signature: b=QUJD; v=1; a=ed25519-sha256; c=simple/simple; d=example.com; s=sel; h=from; bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=',
  'DKIM-Signature:  v=1;  a=rsa-sha256;  b=  ;  d=example.com',
];

describe('signedHeaderOctets on ASCII is what mailauth hashed', () => {
  const lines = headerLines(Buffer.from(HEADER, 'latin1'));
  for (const headerCanon of ['relaxed', 'simple']) {
    for (const sig of SIGNATURES) {
      it(`${headerCanon}: ${sig.slice(16, 60)}…`, () => {
        const theirs = generateCanonicalizedHeader('DKIM', { keys: '', headers: lines }, { signatureHeaderLine: sig, canonicalization: `${headerCanon}/simple` }).canonicalizedHeader;
        expect(signedHeaderOctets(lines, sig, headerCanon).toString('latin1')).toBe(theirs.toString('latin1'));
      });
    }
  }
});

describe('relaxedField: WSP is SP and HTAB only', () => {
  it.each([
    ['"à" (C3 A0) alone, at the end and beside spaces', 'Subject: voil\xc3\xa0  \xc3\xa0\t\xc3\xa0', 'subject:voil\xc3\xa0 \xc3\xa0 \xc3\xa0'],
    ['"ム" (E3 83 A0) first in the value', 'Subject:\xe3\x83\xa0 x', 'subject:\xe3\x83\xa0 x'],
    ['0x0B and 0x0C kept, also at the ends', 'X-Ctl: \x0ba \x0c\x0b b\x0c ', 'x-ctl:\x0ba \x0c\x0b b\x0c'],
    ['a bare CR kept; CRLF unfolded', 'X-Cr: a\rb\r\n c', 'x-cr:a\rb c'],
    ['the name in ASCII lower case only, WSP before the colon dropped', 'X-\xc0B \t: v', 'x-\xc0b:v'],
  ])('%s', (_what, field, expected) => {
    expect(relaxedField(field)).toBe(expected);
  });

  it('b= stripped only with stripB, and only the b tag', () => {
    const field = 'ARC-Seal: i=1; a=rsa-sha256; bh=x; b=AAA\r\n BBB; cv=none';
    expect(relaxedField(field, true)).toBe('arc-seal:i=1; a=rsa-sha256; bh=x; b=; cv=none');
    expect(relaxedField(field)).toBe('arc-seal:i=1; a=rsa-sha256; bh=x; b=AAA BBB; cv=none');
  });
});
