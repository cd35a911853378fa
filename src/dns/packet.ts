/** A typed view of dns2's packet codec: the only part of dns2 maildns relies on for the wire format. */
import { createRequire } from 'node:module';
import path from 'node:path';

export interface WireHeader {
  id: number;
  qr: number;
  opcode: number;
  aa: number;
  tc: number;
  rd: number;
  ra: number;
  /** AD and CD (RFC 4035 §3.2.2, §3.2.3), as wire.ts reads them and dns2 writes them. */
  ad?: number;
  cd?: number;
  rcode: number;
}

interface WireQuestion {
  name: string;
  type: number;
  class: number;
}

export interface WireRecord {
  name: string;
  type: number;
  class: number;
  ttl: number;
  address?: string;
  exchange?: string;
  priority?: number;
  ns?: string;
  domain?: string;
  data?: string[] | string | Buffer;
  primary?: string;
  admin?: string;
  serial?: number;
  refresh?: number;
  retry?: number;
  expiration?: number;
  minimum?: number;
  rdata?: unknown[];
  /** DNSSEC and DANE records (RFC 4034, RFC 6698), as wire.ts decodes them; `data` keeps their RDATA as it came. */
  flags?: number;
  protocol?: number;
  algorithm?: number;
  /** DNSKEY: the public key, base64 (dns2's field, so its encoder writes the record back out). */
  key?: string;
  keyTag?: number;
  digestType?: number;
  /** DS: the digest, lower-case hex. */
  digest?: string;
  usage?: number;
  selector?: number;
  matchingType?: number;
  /** TLSA: the certificate association data, lower-case hex. */
  certificate?: string;
  typeCovered?: number;
  labels?: number;
  originalTtl?: number;
  /** RRSIG: seconds since 1970 (RFC 4034 §3.1.5, serial number arithmetic is the reader's). */
  signatureExpiration?: number;
  signatureInception?: number;
  signer?: string;
  /** RRSIG: the signature, base64. */
  signature?: string;
}

export interface WirePacket {
  header: WireHeader;
  questions: WireQuestion[];
  answers: WireRecord[];
  authorities: WireRecord[];
  additionals: WireRecord[];
  toBuffer(): Buffer;
}

interface PacketCodec {
  new (): WirePacket;
  parse(buffer: Buffer): WirePacket;
  TYPE: Record<string, number>;
  CLASS: Record<string, number>;
  RCODE: Record<string, number>;
  typeName(code: number): string;
  Resource: { EDNS(rdata: unknown[], opts?: { udpPayloadSize?: number; doFlag?: boolean }): WireRecord };
}

/**
 * dns2's codec, loaded on first use: the resolver writes its queries and reads the answers itself
 * (src/dns/wire.ts), so a check or `spf DOMAIN` does without its ~5 ms load. dns2's entry loads its
 * servers and clients too (and node:http, https and dgram with them), about 25 ms of every start;
 * the codec is its own file, which the package's export map does not name, so it is loaded by its
 * path beside the entry.
 */
const require = createRequire(import.meta.url);
let codec: PacketCodec | undefined;
export function packetCodec(): PacketCodec {
  return (codec ??= require(path.join(path.dirname(require.resolve('dns2')), 'packet.js')) as PacketCodec);
}

export const TYPE = {
  A: 1,
  NS: 2,
  CNAME: 5,
  SOA: 6,
  PTR: 12,
  MX: 15,
  TXT: 16,
  AAAA: 28,
  OPT: 41,
  DS: 43,
  RRSIG: 46,
  DNSKEY: 48,
  TLSA: 52,
  SPF: 99,
} as const;

export const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;
