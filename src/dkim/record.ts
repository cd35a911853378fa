/** The DKIM key record (RFC 6376 §3.6.1, RFC 8463 for Ed25519) composed from a private key. */
import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { InputError } from '../errors.js';
import { inputLocation, readInputFileSync } from '../fsutil.js';

export type DkimKeyType = 'rsa' | 'ed25519';

export interface DkimRecordOptions {
  testing?: boolean;
  hash?: string[];
  service?: string;
}

export interface DkimPublicKey {
  type: DkimKeyType;
  /** Bits of an RSA modulus; 256 for Ed25519. */
  bits: number;
  /** The `p=` value: base64 SubjectPublicKeyInfo for RSA, the raw 32-byte key for Ed25519. */
  p: string;
}

const ED25519_SPKI_PREFIX_LENGTH = 12;

export function publicKeyOf(key: KeyObject): DkimPublicKey {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  const spki = pub.export({ type: 'spki', format: 'der' });
  if (pub.asymmetricKeyType === 'rsa') {
    return { type: 'rsa', bits: pub.asymmetricKeyDetails?.modulusLength ?? 0, p: spki.toString('base64') };
  }
  if (pub.asymmetricKeyType === 'ed25519') {
    return { type: 'ed25519', bits: 256, p: spki.subarray(ED25519_SPKI_PREFIX_LENGTH).toString('base64') };
  }
  throw new Error(`unsupported key type ${pub.asymmetricKeyType}: DKIM keys are RSA or Ed25519`);
}

export function publicKeyFromPem(pem: string): DkimPublicKey {
  return publicKeyOf(createPrivateKey(pem));
}

/** How a private key file is read (src/fsutil.ts readInputFile): a DKIM key is a few kilobytes. */
export const PRIVATE_KEY_INPUT = { maxBytes: 64 * 1024, what: 'a private key', fix: 'a DKIM private key is a few kilobytes: is this the key file?' } as const;

/**
 * The public half of the private key in `keyPath`. A file that holds none (cut short, overwritten,
 * a directory, the .txt beside it) is bad input naming the file, with `fix` when the caller has one;
 * a pipe or a device (a FIFO, /dev/zero) or a file larger than a key is refused at once, naming it.
 * A symbolic link is followed, as OpenDKIM follows one; what is wrong is said of `link -> target`.
 */
export function publicKeyFromKeyFile(keyPath: string, fix?: string): DkimPublicKey {
  const notAKey = (why: string, err?: unknown): InputError =>
    new InputError(`not a readable DKIM private key: ${why}${fix ? `; ${fix}` : ''}`, err === undefined ? keyPath : inputLocation(keyPath, err));
  let pem: string;
  try {
    pem = readInputFileSync(keyPath, PRIVATE_KEY_INPUT).toString('utf8');
  } catch (err) {
    // Refused for what the file is (a FIFO, too large): that names the file and the fix already.
    if (err instanceof InputError) throw err;
    throw notAKey((err as Error).message.split('\n')[0]!, err);
  }
  // What is wrong in the file's own terms: OpenSSL says "DECODER routines::unsupported" for most of these.
  if (pem.trim() === '') throw notAKey('the file is empty');
  if (!/-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/.test(pem)) throw notAKey('it holds no PEM private key (a "-----BEGIN PRIVATE KEY-----" block)');
  if (/-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type: 4,ENCRYPTED/.test(pem)) throw notAKey('it is encrypted with a passphrase, which OpenDKIM and maildns cannot give (write it out unencrypted: openssl pkey -in KEY -out KEY.new)');
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch {
    throw notAKey('its PEM private key cannot be decoded (cut short or damaged)');
  }
  try {
    return publicKeyOf(key);
  } catch (err) {
    throw notAKey((err as Error).message);
  }
}

export function composeDkimRecord(key: DkimPublicKey, opts: DkimRecordOptions = {}): string {
  const tags = ['v=DKIM1'];
  if (opts.hash?.length) tags.push(`h=${opts.hash.join(':')}`);
  tags.push(`k=${key.type}`);
  if (opts.service && opts.service !== '*') tags.push(`s=${opts.service}`);
  if (opts.testing) tags.push('t=y');
  tags.push(`p=${key.p}`);
  return tags.join('; ');
}
