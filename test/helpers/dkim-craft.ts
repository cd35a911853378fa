/**
 * A DKIM-Signature with whatever tags a test writes, validly signed: `bh=BH` is replaced by the
 * body hash its c= and l= ask for (or by `bodyHash`), and b= signs the field as written, so the
 * verifier's verdict is about the tags, not about a signature broken by editing them.
 */
import { createHash, sign, type KeyObject } from 'node:crypto';
import { dkimBody } from 'mailauth/lib/dkim/body/index.js';
import { generateCanonicalizedHeader } from 'mailauth/lib/dkim/header/index.js';
import { headerLines, linesByName, signingLines } from '../../src/message/dkim.js';
import { parseMessage, wireParts } from '../../src/message/message.js';

export function signWithTags(raw: Buffer, tagText: string, key: KeyObject, bodyHash?: string): Buffer {
  const tags = new Map(tagText.split(';').map((t) => t.trim()).filter(Boolean).map((t) => [t.slice(0, t.indexOf('=')).trim(), t.slice(t.indexOf('=') + 1).trim()]));
  const [headerCanon = 'simple', bodyCanon = 'simple'] = (tags.get('c') || 'simple/simple').split('/');
  const { header, body } = wireParts(parseMessage(raw));
  const hasher = dkimBody(bodyCanon, 'sha256', tags.has('l') ? Number(tags.get('l')) : false);
  hasher.update(body);
  const field = `DKIM-Signature: ${tagText.replace('bh=BH', `bh=${bodyHash ?? hasher.digest('base64')}`)}; b=`;
  const lines = signingLines(linesByName(headerLines(header)), (tags.get('h') ?? '').split(':'));
  const { canonicalizedHeader } = generateCanonicalizedHeader('DKIM', lines, { signatureHeaderLine: field, canonicalization: `${headerCanon}/${bodyCanon}` });
  const b = key.asymmetricKeyType === 'rsa' ? sign('sha256', canonicalizedHeader, key) : sign(null, createHash('sha256').update(canonicalizedHeader).digest(), key);
  return Buffer.concat([Buffer.from(`${field}${b.toString('base64')}\r\n`, 'latin1'), raw]);
}
