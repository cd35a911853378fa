/**
 * DKIM signing of a message (RFC 6376 §5, RFC 8463 for Ed25519) with mailauth's body
 * canonicalization and maildns's header canonicalization (./canon.ts).
 *
 * Two layouts of the DKIM-Signature field:
 *  - `mailauth` (default): the field as mailauth's `dkimSign` writes it (tags v a c d h q s t bh b).
 *  - `sorted`: tags in alphabetical order with `b=` last, no `q=` (its default is dns/txt),
 *    folded at 75 columns. It is the layout of go-msgauth, and it exists so that signing the
 *    same message with the same key, t= and h= reproduces other signers' deterministic
 *    signatures byte for byte: the signature covers the DKIM-Signature field itself, so two
 *    signers agree on b= only when they also agree on that field's text. The body hash still
 *    comes from mailauth; the header canonicalization is maildns's (./canon.ts, as for verifying).
 */
import { createHash, createPrivateKey, sign as cryptoSign, type KeyObject } from 'node:crypto';
import { dkimBody } from 'mailauth/lib/dkim/body/index.js';
import { generateCanonicalizedHeader } from 'mailauth/lib/dkim/header/index.js';
import { formatSignatureHeaderLine } from 'mailauth/lib/tools.js';
import { signedHeaderOctets } from './canon.js';
import { headerLines, linesByName, linesToSign, signingLines } from './dkim.js';
import { InputError } from '../errors.js';
import { domainNameProblem, normalizeName } from '../names.js';
import { fieldsNamed, MALFORMED_LINE_FIX, malformedLineProblem, parseMessage, wireParts, type ParsedMessage } from './message.js';

import type { Canonicalization, SignAlgorithm } from './options.js';

export { CANONICALIZATIONS, SIGN_ALGORITHMS, type Canonicalization, type SignAlgorithm } from './options.js';

/** Fields signed when none are named: what a receiver shows or acts on. From is always first. */
const DEFAULT_SIGNED_FIELDS = [
  'From', 'Sender', 'Reply-To', 'Subject', 'Date', 'Message-ID', 'To', 'Cc', 'MIME-Version', 'Content-Type',
  'Content-Transfer-Encoding', 'In-Reply-To', 'References', 'List-Id', 'List-Unsubscribe', 'List-Unsubscribe-Post',
];

export interface SignOptions {
  domain: string;
  selector: string;
  key: KeyObject;
  /** Defaults to the key's type. */
  algorithm?: SignAlgorithm;
  canonicalization?: Canonicalization;
  /** Field names for h=; default DEFAULT_SIGNED_FIELDS (those present). Must include From. */
  headers?: string[];
  /** t=; default now. */
  signTime?: Date;
  /** Optional x= (expiry). */
  expires?: Date;
  layout?: 'mailauth' | 'sorted';
}

interface SignResult {
  /** The DKIM-Signature field, folded, ending in the message's line end. */
  header: string;
  /** The signed message: the new field followed by the message exactly as given. */
  message: Buffer;
  algorithm: SignAlgorithm;
}

/**
 * Read a private key: PEM (PKCS#1, PKCS#8) or the bare base64 32-byte Ed25519 seed that dkimpy
 * and RFC 8463 use. Never puts key material into an error message.
 */
export function loadPrivateKey(text: string | Buffer, label = 'key'): KeyObject {
  const s = text.toString().trim();
  try {
    if (/^-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/.test(s)) return createPrivateKey(s);
    if (/^[A-Za-z0-9+/]{42,43}=?$/.test(s)) {
      const seed = Buffer.from(s, 'base64');
      if (seed.length === 32) {
        // PKCS#8 wrapper for a raw Ed25519 private key (RFC 8410 §7).
        const der = Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed]);
        return createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
      }
    }
  } catch {
    /* reported below without echoing the key */
  }
  if (/^-----BEGIN ENCRYPTED PRIVATE KEY-----|^Proc-Type: 4,ENCRYPTED/m.test(s)) {
    throw new InputError(`the private key is encrypted (a passphrase protects it), and sign takes no passphrase: write it without one, e.g. openssl pkey -in ${label} -out plain.private, and keep that file mode 0600`, label);
  }
  if (/PUBLIC KEY/.test(s)) throw new InputError('this is a public key; sign needs the private key (the .private file)', label);
  throw new InputError('not a private key: expected a PEM private key (RSA or Ed25519) or a base64 Ed25519 seed', label);
}

function algorithmForKey(key: KeyObject): SignAlgorithm {
  if (key.asymmetricKeyType === 'rsa') return 'rsa-sha256';
  if (key.asymmetricKeyType === 'ed25519') return 'ed25519-sha256';
  throw new InputError(`a ${key.asymmetricKeyType ?? 'unknown'} key cannot sign DKIM; use an RSA or Ed25519 key`);
}

function checkOptions(msg: ParsedMessage, opts: SignOptions, label: string): { algorithm: SignAlgorithm; headers: string[] } {
  const problem = domainNameProblem(opts.domain);
  if (problem) throw new InputError(`the signing domain "${opts.domain}" ${problem}`);
  if (!/^[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?$/.test(opts.selector)) {
    throw new InputError(`"${opts.selector}" is not a valid selector (letters, digits, "-", "_" and "." only)`);
  }
  const keyAlgorithm = algorithmForKey(opts.key);
  const algorithm = opts.algorithm ?? keyAlgorithm;
  if (algorithm !== keyAlgorithm) throw new InputError(`the algorithm ${algorithm} does not fit the ${opts.key.asymmetricKeyType} key; use ${keyAlgorithm}`);
  if (opts.key.asymmetricKeyType === 'rsa' && (opts.key.asymmetricKeyDetails?.modulusLength ?? 0) < 1024) {
    throw new InputError('the RSA key is shorter than 1024 bits; receivers ignore such signatures (RFC 8301 §3.2): make a 2048-bit key');
  }
  const malformed = msg.malformed[0];
  // A verifier reads such a line its own way (dkimpy rejects the message): a signature over it would not verify.
  if (malformed) throw new InputError(`${malformedLineProblem(malformed)}, so the message cannot be signed: ${MALFORMED_LINE_FIX}, and sign again`, label);
  if (fieldsNamed(msg, 'From').length === 0) throw new InputError('the message has no From header field, which DKIM must sign (RFC 6376 §5.4): add one (From: Name <address>) and sign again', label);
  const wanted = opts.headers?.length ? opts.headers : DEFAULT_SIGNED_FIELDS.filter((h) => fieldsNamed(msg, h).length > 0);
  for (const h of wanted) {
    if (!/^[\x21-\x39\x3b-\x7e]+$/.test(h)) throw new InputError(`"${h}" is not a header field name`);
  }
  if (!wanted.some((h) => h.toLowerCase() === 'from')) throw new InputError('the signed header list must include From (RFC 6376 §5.4); add it to the list');
  return { algorithm, headers: wanted };
}

/** Join the new field to the message with the message's own line ends. */
function attach(msg: ParsedMessage, headerCrlf: string): { header: string; message: Buffer } {
  const header = msg.lfOnly ? headerCrlf.replace(/\r\n/g, '\n') : headerCrlf;
  return { header, message: Buffer.concat([Buffer.from(header, 'latin1'), msg.raw]) };
}

export async function signMessage(raw: Buffer, opts: SignOptions, label = 'message'): Promise<SignResult> {
  const msg = parseMessage(raw, label);
  const { algorithm, headers } = checkOptions(msg, opts, label);
  const domain = normalizeName(opts.domain);
  const signing = { ...opts, domain, algorithm, headers };
  const header = (opts.layout ?? 'mailauth') === 'sorted' ? sortedLayoutSignature(msg, signing) : mailauthLayoutSignature(msg, signing);
  return { ...attach(msg, header), algorithm };
}

type Signing = SignOptions & { domain: string; algorithm: SignAlgorithm; headers: string[] };

/** b= over the canonicalized header: RSA signs it with SHA-256, Ed25519 its SHA-256 digest (RFC 8463 §3). */
function signatureOf(algorithm: SignAlgorithm, canonicalizedHeader: Buffer, key: KeyObject): string {
  const signature =
    algorithm === 'rsa-sha256' ? cryptoSign('sha256', canonicalizedHeader, key) : cryptoSign(null, createHash('sha256').update(canonicalizedHeader).digest(), key);
  return signature.toString('base64');
}

/**
 * The layout mailauth's dkimSign writes (tags v a c d h q s t bh b; h= every instance of the named
 * fields present, bottom first), made from its primitives, as dkimSign makes it. dkimSign itself
 * is not used: it signs nothing when the message has no empty line after the header (a message
 * without a body), and said only "mailauth produced no signature".
 */
function mailauthLayoutSignature(msg: ParsedMessage, opts: Signing): string {
  const canonicalization = opts.canonicalization ?? 'relaxed/relaxed';
  const bodyCanon = canonicalization.split('/')[1]!;
  const { header: headerPart, body } = wireParts(msg);
  const hasher = dkimBody(bodyCanon, 'sha256', false);
  hasher.update(body);
  const lines = linesToSign(headerLines(headerPart), opts.headers);
  // mailauth makes the tags and the field as dkimSign lays it out (b= a placeholder); the octets
  // signed are canonicalized by maildns (./canon.ts), not by mailauth's \s-based relaxed rule.
  const { signatureHeaderLine, dkimHeaderOpts } = generateCanonicalizedHeader('DKIM', lines, {
    algorithm: opts.algorithm,
    canonicalization,
    signingDomain: opts.domain,
    selector: opts.selector,
    bodyHash: hasher.digest('base64'),
    signTime: opts.signTime ?? new Date(),
    ...(opts.expires ? { expires: opts.expires } : {}),
  });
  const canonicalizedHeader = signedHeaderOctets(lines.headers, signatureHeaderLine, canonicalization.split('/')[0]!);
  return `${formatSignatureHeaderLine('DKIM', { ...dkimHeaderOpts, b: signatureOf(opts.algorithm, canonicalizedHeader, opts.key) }, true)}\r\n`;
}

/** Fold "name: " + tags into lines of at most 75 columns (after the field name), b= alone at the end. */
function layoutSorted(tags: Record<string, string>, b: string): string {
  const lines: string[] = [];
  let line = '';
  for (const name of Object.keys(tags).sort()) {
    const piece = ` ${name}=${tags[name]};`;
    if (line && line.length + piece.length > 75) {
      lines.push(line);
      line = '';
    }
    line += piece;
  }
  if (line) lines.push(line);
  const bText = ` b=${b}`;
  const bLines: string[] = [];
  for (let i = 0; i < bText.length; i += 75) bLines.push(bText.slice(i, i + 75));
  return `DKIM-Signature:${lines.join('\r\n')}\r\n${bLines.join('\r\n ')}\r\n`;
}

function sortedLayoutSignature(msg: ParsedMessage, opts: Signing): string {
  const canon = opts.canonicalization ?? 'relaxed/relaxed';
  const [headerCanon, bodyCanon] = canon.split('/') as [string, string];
  const { header: headerPart, body } = wireParts(msg);
  const hasher = dkimBody(bodyCanon, 'sha256', false);
  hasher.update(body);
  const tags: Record<string, string> = {
    a: opts.algorithm,
    bh: hasher.digest('base64'),
    c: canon,
    d: opts.domain,
    h: opts.headers.join(':'),
    s: opts.selector,
    t: String(Math.floor((opts.signTime ?? new Date()).getTime() / 1000)),
    v: '1',
  };
  if (opts.expires) tags['x'] = String(Math.floor(opts.expires.getTime() / 1000));
  const unsigned = layoutSorted(tags, '').replace(/\r\n$/, '');
  const lines = signingLines(linesByName(headerLines(headerPart)), opts.headers);
  const canonicalizedHeader = signedHeaderOctets(lines.headers, unsigned, headerCanon);
  return layoutSorted(tags, signatureOf(opts.algorithm, canonicalizedHeader, opts.key));
}

interface SignatureMade {
  selector: string;
  algorithm: SignAlgorithm;
  header: string;
}

/**
 * Sign with several keys, one DKIM-Signature each (an RSA and an Ed25519 key of the same domain,
 * say). Each signature covers the message as given, not the others: the signed fields never
 * include DKIM-Signature, so the order they are added in does not matter to a verifier.
 */
export async function signWithEach(raw: Buffer, keys: readonly Omit<SignOptions, 'layout'>[], label = 'message'): Promise<{ message: Buffer; signatures: SignatureMade[] }> {
  let message = raw;
  const signatures: SignatureMade[] = [];
  for (const k of keys) {
    const r = await signMessage(message, k, label);
    message = r.message;
    signatures.push({ selector: k.selector, algorithm: r.algorithm, header: r.header });
  }
  return { message, signatures };
}
