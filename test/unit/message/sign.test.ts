/**
 * The default layout of sign is the field mailauth's dkimSign writes, byte for byte, though it is
 * made from mailauth's primitives (dkimSign signs nothing for a message without a body). Byte for
 * byte while no signed field holds 0x0B, 0x0C or 0xA0: there dkimSign's relaxed rule takes them for
 * white space and sign does not (test/integration/dkimpy/relaxed-utf8.test.ts).
 */
import { generateKeyPairSync } from 'node:crypto';
import { dkimSign } from 'mailauth';
import { describe, expect, it } from 'vitest';
import { toCrlf } from '../../../src/message/message.js';
import { signMessage, type Canonicalization } from '../../../src/message/sign.js';

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
const ed = generateKeyPairSync('ed25519').privateKey;
const signTime = new Date('2026-03-02T10:00:00Z');
const expires = new Date('2026-03-09T10:00:00Z');

const MESSAGES: [string, string][] = [
  ['plain', 'From: Alice <alice@example.com>\r\nTo: bob@example.net\r\nSubject: hello\r\nDate: Mon, 02 Mar 2026 10:00:00 +0000\r\n\r\nHello Bob.\r\n'],
  ['LF only, folded, repeated fields', 'Received: a\nFrom: Alice\n <alice@example.com>\nTo: b@example.net\nTo: c@example.net\nSubject:  two   spaces \t\n\nbody  with \t blanks \n\n\n'],
  ['a long header and 8-bit text', `From: J\u00fcrgen <j@example.com>\r\nX-Long: ${'y'.repeat(3000)}\r\nSubject: Gr\u00fc\u00dfe\r\n\r\nK\u00e4se\r\n`],
];

describe("sign's mailauth layout is dkimSign's", () => {
  for (const [what, text] of MESSAGES) {
    for (const [key, algorithm] of [[rsa, 'rsa-sha256'], [ed, 'ed25519-sha256']] as const) {
      for (const canonicalization of ['relaxed/relaxed', 'simple/simple', 'relaxed/simple'] as Canonicalization[]) {
        it(`${what}, ${algorithm}, ${canonicalization}`, async () => {
          const raw = Buffer.from(text, 'latin1');
          const headers = ['From', 'To', 'Subject', 'Date', 'X-Long', 'Received'];
          const ours = await signMessage(raw, { domain: 'example.com', selector: 'sel', key, canonicalization, headers, signTime, expires });
          const theirs = await dkimSign(toCrlf(raw), {
            canonicalization,
            signTime,
            expires,
            headerList: headers.join(':'),
            signatureData: [{ signingDomain: 'example.com', selector: 'sel', privateKey: key.export({ type: 'pkcs8', format: 'pem' }), algorithm }],
          } as never);
          const expected = ours.header.includes('\r\n') ? theirs.signatures : theirs.signatures.replace(/\r\n/g, '\n');
          expect(ours.header).toBe(expected);
        });
      }
    }
  }
});

describe('the cost of signing is in proportion to the message', () => {
  it('a field folded over 100,000 lines is signed in seconds, not minutes', async () => {
    const raw = Buffer.from(`From: a@example.com\r\nX-Folded: a\r\n${' b\r\n'.repeat(100_000)}Subject: s\r\n\r\nhi\r\n`);
    for (const layout of ['mailauth', 'sorted'] as const) {
      const started = Date.now();
      const signed = await signMessage(raw, { domain: 'example.com', selector: 'sel', key: ed, headers: ['From', 'X-Folded', 'Subject'], layout });
      expect(signed.header).toMatch(/^DKIM-Signature: /);
      expect(Date.now() - started, layout).toBeLessThan(5_000);
    }
  });
});
