/**
 * DNSSEC keys and their delegation: the key tag of a DNSKEY (RFC 4034 Appendix B), the digest a DS
 * record holds of it (RFC 4034 §5.1.4, RFC 4509, RFC 6605), whether a DS matches a key, and the text
 * forms of both. No DNS here: the records come from src/dns and the verdicts from evaluate.ts.
 */
import { createHash } from 'node:crypto';
import type { DnskeyValue, DsValue } from '../records.js';

/** DNSKEY flags (RFC 4034 §2.1.1): a zone key, and the secure entry point a DS is meant to point at. */
const ZONE_KEY = 0x0100;
const SECURE_ENTRY_POINT = 0x0001;

export function isZoneKey(key: DnskeyValue): boolean {
  return (key.flags & ZONE_KEY) !== 0;
}

export function isSecureEntryPoint(key: DnskeyValue): boolean {
  return (key.flags & SECURE_ENTRY_POINT) !== 0;
}

/** The RDATA of a DNSKEY record as it goes on the wire (flags, protocol, algorithm, key). */
function dnskeyRdata(key: DnskeyValue): Buffer {
  const head = Buffer.alloc(4);
  head.writeUInt16BE(key.flags, 0);
  head[2] = key.protocol;
  head[3] = key.algorithm;
  return Buffer.concat([head, Buffer.from(key.publicKey, 'base64')]);
}

/** RFC 4034 Appendix B: a checksum of the RDATA; algorithm 1 (RSA/MD5) takes bits of the modulus instead. */
export function keyTag(key: DnskeyValue): number {
  const rdata = dnskeyRdata(key);
  if (key.algorithm === 1) return rdata.length >= 4 ? rdata.readUInt16BE(rdata.length - 3) : 0;
  let sum = 0;
  for (let i = 0; i < rdata.length; i++) sum += i & 1 ? rdata[i]! : rdata[i]! << 8;
  sum += (sum >> 16) & 0xffff;
  return sum & 0xffff;
}

/** An owner name in canonical wire form (RFC 4034 §6.2): lower-case labels, uncompressed. */
export function canonicalName(name: string): Buffer {
  const labels = name.toLowerCase().split('.').filter((l) => l.length > 0);
  return Buffer.concat([...labels.map((l) => Buffer.concat([Buffer.from([Buffer.byteLength(l, 'latin1')]), Buffer.from(l, 'latin1')])), Buffer.from([0])]);
}

/** DS digest types and the hash each names (IANA "Delegation Signer (DS) Resource Record (RR) Type Digest Algorithms"). */
const DIGEST_HASH: Record<number, string> = { 1: 'sha1', 2: 'sha256', 4: 'sha384' };

/** IANA "DNS Security Algorithm Numbers", the ones in use. */
const ALGORITHM_NAMES: Record<number, string> = {
  1: 'RSAMD5',
  3: 'DSA',
  5: 'RSASHA1',
  6: 'DSA-NSEC3-SHA1',
  7: 'RSASHA1-NSEC3-SHA1',
  8: 'RSASHA256',
  10: 'RSASHA512',
  12: 'ECC-GOST',
  13: 'ECDSAP256SHA256',
  14: 'ECDSAP384SHA384',
  15: 'ED25519',
  16: 'ED448',
};

/** RFC 8624 §3.1: algorithms a zone must not, or should not, be signed with any more. */
export const RETIRED_ALGORITHMS: ReadonlySet<number> = new Set([1, 3, 5, 6, 7, 10, 12]);

export function algorithmName(algorithm: number): string {
  return ALGORITHM_NAMES[algorithm] ?? `algorithm ${algorithm}`;
}

/** The digest a DS record of digest type `digestType` holds for `key` at `owner`, lower-case hex; null for a type maildns cannot compute (GOST, unknown). */
export function dsDigest(owner: string, key: DnskeyValue, digestType: number): string | null {
  const hash = DIGEST_HASH[digestType];
  if (!hash) return null;
  return createHash(hash).update(canonicalName(owner)).update(dnskeyRdata(key)).digest('hex');
}

/**
 * Whether `ds` (at `owner`, in the parent) points at `key`: same key tag and algorithm, the digest
 * of the key, and a zone key (RFC 4035 §5.2). null when the digest type cannot be computed here.
 */
export function dsMatchesKey(owner: string, ds: DsValue, key: DnskeyValue): boolean | null {
  const digest = dsDigest(owner, key, ds.digestType);
  if (digest === null) return null;
  return ds.keyTag === keyTag(key) && ds.algorithm === key.algorithm && isZoneKey(key) && digest === ds.digest.toLowerCase();
}

/** The DS record to publish at the parent for `key` (SHA-256, RFC 8624 §3.3), in zone-file form. */
export function composeDs(owner: string, key: DnskeyValue): string {
  return `${owner.replace(/\.$/, '')}. DS ${keyTag(key)} ${key.algorithm} 2 ${dsDigest(owner, key, 2)!.toUpperCase()}`;
}

export function dsText(ds: DsValue): string {
  return `${ds.keyTag} ${ds.algorithm} ${ds.digestType} ${ds.digest.toUpperCase()}`;
}
