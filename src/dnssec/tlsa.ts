/**
 * TLSA records for SMTP (RFC 6698, RFC 7671, RFC 7672): the name a host's records live at, what each
 * field means, which records an SMTP client can use, and whether a certificate chain a server
 * presents matches them. No DNS and no sockets here.
 */
import { createHash, createPublicKey, X509Certificate } from 'node:crypto';
import type { Finding } from '../findings.js';
import type { TlsaValue } from '../records.js';
import type { StartTlsProbe } from '../starttls/probe.js';
import { probeSubject } from '../starttls/subject.js';

/** RFC 7672 §2.2.3: the TLSA records of an MX host are at `_25._tcp.<host>`. */
export function tlsaName(host: string, port = 25): string {
  return `_${port}._tcp.${host.replace(/\.$/, '')}`;
}

/** Certificate usages (RFC 6698 §2.1.1); SMTP uses only DANE-TA(2) and DANE-EE(3) (RFC 7672 §3.1). */
const USAGE_NAMES: Record<number, string> = { 0: 'PKIX-TA', 1: 'PKIX-EE', 2: 'DANE-TA', 3: 'DANE-EE' };
/** Selectors (RFC 6698 §2.1.2): the whole certificate, or its SubjectPublicKeyInfo. */
const SELECTOR_NAMES: Record<number, string> = { 0: 'Cert', 1: 'SPKI' };
/** Matching types (RFC 6698 §2.1.3), with the length of the data each one holds. */
const MATCHING_NAMES: Record<number, string> = { 0: 'Full', 1: 'SHA2-256', 2: 'SHA2-512' };
const DIGEST_OCTETS: Record<number, number> = { 1: 32, 2: 64 };

export function tlsaText(r: TlsaValue): string {
  return `${r.usage} ${r.selector} ${r.matchingType} ${r.data}`;
}

/** Why an SMTP client cannot use `r` (RFC 7672 §3.1, RFC 6698 §2.1), or null when it can. */
export function unusableForSmtp(r: TlsaValue): string | null {
  if (r.usage === 0 || r.usage === 1) return `usage ${r.usage} (${USAGE_NAMES[r.usage]}) relies on the public CAs, which SMTP clients do not consult for DANE; use 3 (DANE-EE) or 2 (DANE-TA)`;
  if (!(r.usage in USAGE_NAMES)) return `usage ${r.usage} is not defined`;
  if (!(r.selector in SELECTOR_NAMES)) return `selector ${r.selector} is not defined`;
  if (!(r.matchingType in MATCHING_NAMES)) return `matching type ${r.matchingType} is not defined`;
  const octets = DIGEST_OCTETS[r.matchingType];
  if (octets !== undefined && r.data.length !== octets * 2) return `a ${MATCHING_NAMES[r.matchingType]} digest is ${octets} octets, this one is ${r.data.length / 2}`;
  return null;
}

/** The association data of `cert` for a record's selector and matching type, lower-case hex. */
export function associationData(cert: X509Certificate, selector: number, matchingType: number): string | null {
  const selected = selector === 0 ? cert.raw : selector === 1 ? cert.publicKey.export({ type: 'spki', format: 'der' }) : null;
  if (!selected) return null;
  if (matchingType === 0) return selected.toString('hex');
  if (matchingType === 1) return createHash('sha256').update(selected).digest('hex');
  if (matchingType === 2) return createHash('sha512').update(selected).digest('hex');
  return null;
}

/** The `3 1 1` record of a certificate or public key: SHA-256 of its SubjectPublicKeyInfo (RFC 7672 §3.1.1). */
export function composeTlsa311(spkiDer: Buffer): TlsaValue {
  return { usage: 3, selector: 1, matchingType: 1, data: createHash('sha256').update(spkiDer).digest('hex') };
}

/** The DER SubjectPublicKeyInfo of a PEM certificate, public key or private key; null when the text holds none. */
export function spkiFromPem(pem: string): Buffer | null {
  try {
    const key = pem.includes('-----BEGIN CERTIFICATE-----') ? new X509Certificate(pem).publicKey : createPublicKey(pem);
    return key.export({ type: 'spki', format: 'der' });
  } catch {
    return null;
  }
}

/**
 * The record of `records` that the chain `chain` (leaf first, as the server sent it) matches, or
 * null. DANE-EE (3): the leaf itself, no name or date checks (RFC 7672 §3.1.1). DANE-TA (2): a
 * certificate of the chain above the leaf, the leaf chaining up to it by signature, and the leaf
 * naming the MX host (RFC 7672 §3.1.2, §3.2.2).
 */
export function matchingTlsa(records: readonly TlsaValue[], chain: readonly X509Certificate[], host: string): TlsaValue | null {
  const leaf = chain[0];
  if (!leaf) return null;
  for (const r of records) {
    if (unusableForSmtp(r)) continue;
    const want = r.data.toLowerCase();
    if (r.usage === 3 && associationData(leaf, r.selector, r.matchingType) === want) return r;
    if (r.usage === 2) {
      const anchor = chain.findIndex((c, i) => i > 0 && associationData(c, r.selector, r.matchingType) === want);
      if (anchor > 0 && chainsUpTo(chain, anchor) && leaf.checkHost(host) !== undefined) return r;
    }
  }
  return null;
}

/** Each certificate up to `anchor` is signed by the next one. */
function chainsUpTo(chain: readonly X509Certificate[], anchor: number): boolean {
  for (let i = 0; i < anchor; i++) if (!chain[i]!.verify(chain[i + 1]!.publicKey)) return false;
  return true;
}

/**
 * What a STARTTLS probe of a host with validated TLSA records means for senders that do DANE: they
 * require STARTTLS (RFC 7672 §2.2) and a chain that matches a record (§3), and defer the mail otherwise.
 */
export function daneFindings(probe: StartTlsProbe, records: readonly TlsaValue[]): Finding[] {
  if (!records.length) return [];
  const subject = probeSubject(probe);
  // TLS 1.2 and 1.3 refused, but a second session had TLS 1.0 or 1.1: DANE senders that allow those
  // (Postfix's smtp_tls_mandatory_protocols does by default) match that session's chain.
  const legacy = probe.state === 'handshake-failed' ? probe.legacyTls : undefined;
  if (probe.state === 'no-starttls' || probe.state === 'starttls-refused' || (probe.state === 'handshake-failed' && !legacy)) {
    return [{ code: 'dane.no-tls', severity: 'error', subject, message: `${tlsaName(probe.host)} publishes validated TLSA records, but no TLS session could be had (${probe.state}): senders that do DANE will not deliver to this host`, fix: 'turn on STARTTLS with the key the TLSA records name', rfc: 'RFC 7672 §2.2' }];
  }
  if ((probe.state !== 'tls' && !legacy) || !probe.dane) return [];
  const chain = legacy ? `the certificate chain presented in a ${legacy.tlsVersion} session (the server refused TLS 1.2 and 1.3; see tls.old-version)` : 'the certificate chain';
  if (probe.dane.matched) return [{ code: 'dane.match', severity: 'info', subject, message: `${chain} matches the TLSA record ${probe.dane.matched}${legacy ? `: senders that do DANE and allow ${legacy.tlsVersion} deliver, those that require TLS 1.2 do not` : ''}`, rfc: 'RFC 7672 §3' }];
  return [{ code: 'dane.no-match', severity: 'error', subject, message: `${chain} matches none of the TLSA records (${probe.dane.tlsa.join(', ')}): senders that do DANE will not deliver to this host`, fix: 'publish the TLSA record of the key the server uses now (3 1 1: SHA-256 of its SubjectPublicKeyInfo), or put the server\'s certificate back', rfc: 'RFC 7672 §3.1' }];
}
