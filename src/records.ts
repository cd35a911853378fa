/**
 * The one record model every composer produces and every provider renders.
 * `value` is the record's logical value: for TXT the whole text (not yet split into
 * 255-octet character-strings; splitting is the renderer's job), for MX `PRIORITY HOST`,
 * for A/AAAA the address, for NS/CNAME/PTR the target name, for SOA the seven fields, for TLSA
 * `USAGE SELECTOR MATCHING-TYPE HEX`.
 */
export type RecordType = 'A' | 'AAAA' | 'CNAME' | 'MX' | 'NS' | 'PTR' | 'SOA' | 'TXT' | 'SPF' | 'TLSA';

export interface DnsRecord {
  /** Absolute owner name, lower-case, no trailing dot. */
  name: string;
  type: RecordType;
  ttl: number;
  value: string;
  /** What the record is for (`spf`, `dkim:mail`, `dmarc`, `mx`, `txt`), for humans and diffs. */
  purpose?: string;
  /**
   * TXT/SPF only: the exact character-strings to serve, when the split matters (tests of
   * records published as several strings). `value` should then equal their concatenation.
   */
  strings?: string[];
}

export interface MxValue {
  priority: number;
  exchange: string;
}

export function mxValue(priority: number, exchange: string): string {
  return `${priority} ${exchange.replace(/\.$/, '')}`;
}

export function parseMxValue(value: string): MxValue {
  const [prio, host] = value.trim().split(/\s+/, 2);
  return { priority: Number(prio), exchange: (host ?? '').replace(/\.$/, '') };
}

/** A DNSKEY record (RFC 4034 §2.1); the public key in base64. */
export interface DnskeyValue {
  flags: number;
  protocol: number;
  algorithm: number;
  publicKey: string;
}

/** A DS record (RFC 4034 §5.1); the digest in lower-case hex. */
export interface DsValue {
  keyTag: number;
  algorithm: number;
  digestType: number;
  digest: string;
}

/** A TLSA record (RFC 6698 §2.1); the certificate association data in lower-case hex. */
export interface TlsaValue {
  usage: number;
  selector: number;
  matchingType: number;
  data: string;
}

export interface SoaValue {
  mname: string;
  rname: string;
  serial: number;
  refresh: number;
  retry: number;
  expire: number;
  minimum: number;
}

export function soaValue(s: SoaValue): string {
  return [s.mname, s.rname, s.serial, s.refresh, s.retry, s.expire, s.minimum].join(' ');
}

export function parseSoaValue(value: string): SoaValue {
  const [mname = '', rname = '', ...nums] = value.trim().split(/\s+/);
  const [serial = 0, refresh = 0, retry = 0, expire = 0, minimum = 0] = nums.map(Number);
  return { mname: mname.replace(/\.$/, ''), rname: rname.replace(/\.$/, ''), serial, refresh, retry, expire, minimum };
}

/** A TLSA record's value as DnsRecord holds it: `USAGE SELECTOR MATCHING-TYPE HEX`. */
export function parseTlsaValue(value: string): TlsaValue {
  const [usage, selector, matchingType, ...data] = value.trim().split(/\s+/);
  return { usage: Number(usage), selector: Number(selector), matchingType: Number(matchingType), data: data.join('').toLowerCase() };
}
