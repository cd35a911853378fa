/** A typed view of dns2's packet codec: the only part of dns2 maildns relies on for the wire format. */
import dns2 from 'dns2';

export interface WireHeader {
  id: number;
  qr: number;
  opcode: number;
  aa: number;
  tc: number;
  rd: number;
  ra: number;
  rcode: number;
}

export interface WireQuestion {
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
  Resource: { EDNS(rdata: unknown[], opts?: { udpPayloadSize?: number }): WireRecord };
}

export const Packet = (dns2 as unknown as { Packet: PacketCodec }).Packet;

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
  SPF: 99,
} as const;

export const RCODE = { NOERROR: 0, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;
