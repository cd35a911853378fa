/**
 * One DNS question to one server, over UDP with TCP on truncation, EDNS0 advertised, and a
 * hard deadline on every path. dns2's own clients are not used: their TCP path has no
 * timeout, their retry ignores the deadline and they never send EDNS0
 * (see shared notes on dns2 3.1.1). Only dns2's packet codec is used here.
 */
import { formatIpv6 } from '../ipv6.js';
import dgram from 'node:dgram';
import net from 'node:net';
import { Packet, type WirePacket, type WireRecord } from './packet.js';

export interface ServerAddress {
  host: string;
  port: number;
}

export interface WireOptions {
  timeoutMs: number;
  /** Ask the server to recurse (false when talking to an authoritative server). */
  recursionDesired: boolean;
  /** Skip UDP and ask over TCP directly. */
  tcpOnly?: boolean;
}

export class WireTimeout extends Error {
  constructor(server: ServerAddress, name: string, type: string) {
    super(`no answer from ${formatServer(server)} for ${name} ${type}`);
    this.name = 'WireTimeout';
  }
}

export function formatServer(s: ServerAddress): string {
  return s.host.includes(':') ? `[${s.host}]:${s.port}` : `${s.host}:${s.port}`;
}

/** Parse `HOST`, `HOST:PORT`, `[V6]:PORT` or a bare IPv6 literal. */
export function parseServer(text: string, defaultPort = 53): ServerAddress {
  const t = text.trim();
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(t);
  if (bracketed) return { host: bracketed[1]!, port: bracketed[2] ? Number(bracketed[2]) : defaultPort };
  if (net.isIPv6(t)) return { host: t, port: defaultPort };
  const m = /^([^:]+)(?::(\d+))?$/.exec(t);
  if (!m) throw new Error(`not a server address: "${text}" (use HOST, HOST:PORT or [IPv6]:PORT)`);
  const port = m[2] ? Number(m[2]) : defaultPort;
  if (!(port > 0 && port < 65536)) throw new Error(`port out of range in "${text}"`);
  return { host: m[1]!, port };
}

export const EDNS_PAYLOAD = 1232;

/** The query in dns2's encoding, for names the hand-built form below does not take. */
function buildQueryWithCodec(name: string, type: string, id: number, recursionDesired: boolean): Buffer {
  const query = new Packet();
  query.header.id = id;
  query.header.rd = recursionDesired ? 1 : 0;
  query.questions.push({ name, type: Packet.TYPE[type]!, class: Packet.CLASS['IN']! });
  query.additionals.push(Packet.Resource.EDNS([], { udpPayloadSize: EDNS_PAYLOAD }));
  return query.toBuffer();
}

/** Header (12) + root OPT record (11) around the question; the question name is the variable part. */
const OPT_RECORD = Buffer.from([0, 0, 41, EDNS_PAYLOAD >> 8, EDNS_PAYLOAD & 0xff, 0, 0, 0, 0, 0, 0]);

/**
 * One query message: header, the question (class IN) and an OPT record advertising EDNS_PAYLOAD.
 * Written by hand for plain ASCII names, byte for byte what dns2's codec writes (bulk runs send
 * thousands per second and the generic encoder was a visible cost); anything else goes to dns2.
 */
export function buildQuery(name: string, type: string, id: number, recursionDesired: boolean): Buffer {
  const qtype = Packet.TYPE[type];
  if (qtype === undefined) return buildQueryWithCodec(name, type, id, recursionDesired);
  const labels = name.split('.').filter((l) => l.length > 0);
  let nameLength = 1;
  for (const l of labels) {
    if (l.length > 63) return buildQueryWithCodec(name, type, id, recursionDesired);
    nameLength += l.length + 1;
  }
  if (nameLength > 255) return buildQueryWithCodec(name, type, id, recursionDesired);
  const buf = Buffer.allocUnsafe(12 + nameLength + 4 + OPT_RECORD.length);
  buf.writeUInt16BE(id & 0xffff, 0);
  buf.writeUInt16BE(recursionDesired ? 0x0100 : 0, 2);
  buf.writeUInt16BE(1, 4);
  buf.writeUInt16BE(0, 6);
  buf.writeUInt16BE(0, 8);
  buf.writeUInt16BE(1, 10);
  let at = 12;
  for (const l of labels) {
    buf[at++] = l.length;
    for (let i = 0; i < l.length; i++) {
      const c = l.charCodeAt(i);
      if (c > 0x7f) return buildQueryWithCodec(name, type, id, recursionDesired);
      buf[at++] = c;
    }
  }
  buf[at++] = 0;
  buf.writeUInt16BE(qtype, at);
  buf.writeUInt16BE(Packet.CLASS['IN']!, at + 2);
  OPT_RECORD.copy(buf, at + 4);
  return buf;
}

/** A name at `at` (compression allowed, as dns2 reads it): [name, end of the name in place], or null for anything unusual. */
function readName(buf: Buffer, at: number): [string, number] | null {
  let name = '';
  let end = -1;
  let total = 1;
  let jumps = 0;
  let pos = at;
  for (;;) {
    if (pos >= buf.length) return null;
    const len = buf[pos]!;
    if (len === 0) {
      if (end < 0) end = pos + 1;
      return [name, end];
    }
    if ((len & 0xc0) === 0xc0) {
      if (pos + 1 >= buf.length || ++jumps > 32) return null;
      const target = ((len & 0x3f) << 8) | buf[pos + 1]!;
      if (end < 0) end = pos + 2;
      // Only pointers backwards: loops are then impossible (dns2 checks for cycles itself).
      if (target >= pos) return null;
      pos = target;
      continue;
    }
    if (len & 0xc0) return null;
    total += len + 1;
    if (total > 255 || pos + 1 + len > buf.length) return null;
    for (let i = pos + 1; i <= pos + len; i++) {
      const c = buf[i]!;
      // Plain printable ASCII only, so the text is the same however it is decoded.
      if (c < 0x21 || c > 0x7e || c === 0x2e) return null;
    }
    const label = buf.toString('latin1', pos + 1, pos + 1 + len);
    name = name ? `${name}.${label}` : label;
    pos += len + 1;
  }
}


const SIMPLE_TYPES = new Set([1, 2, 5, 6, 12, 15, 16, 28, 41, 99]);

function encodeWithCodec(this: WirePacket): Buffer {
  const codec = new Packet();
  codec.header = this.header;
  codec.questions = this.questions;
  codec.answers = this.answers;
  codec.authorities = this.authorities;
  codec.additionals = this.additionals;
  return codec.toBuffer();
}

/**
 * A reader for the answers of a bulk run, which are simple: the record types maildns asks for,
 * well-formed, printable names. It gives the same packet dns2's codec gives, and null for anything
 * outside that (unknown types, EDNS options or extended RCODE, odd names, any malformed part), which
 * then goes to dns2's codec with its error handling.
 */
export function parseSimplePacket(buf: Buffer): WirePacket | null {
  if (buf.length < 12) return null;
  const flags = buf.readUInt16BE(2);
  const counts = [buf.readUInt16BE(4), buf.readUInt16BE(6), buf.readUInt16BE(8), buf.readUInt16BE(10)] as const;
  // A plain object with the codec's fields (its constructor's defaults would all be overwritten);
  // toBuffer is the codec's own, for the rare caller that writes a parsed packet back out.
  const packet: WirePacket = { header: {} as WirePacket['header'], questions: [], answers: [], authorities: [], additionals: [], toBuffer: encodeWithCodec };
  packet.header = {
    id: buf.readUInt16BE(0),
    qr: flags >> 15,
    opcode: (flags >> 11) & 0xf,
    aa: (flags >> 10) & 1,
    tc: (flags >> 9) & 1,
    rd: (flags >> 8) & 1,
    ra: (flags >> 7) & 1,
    z: (flags >> 6) & 1,
    ad: (flags >> 5) & 1,
    cd: (flags >> 4) & 1,
    rcode: flags & 0xf,
    qdcount: counts[0],
    ancount: counts[1],
    nscount: counts[2],
    arcount: counts[3],
  } as WirePacket['header'];
  let at = 12;
  for (let i = 0; i < counts[0]; i++) {
    const n = readName(buf, at);
    if (!n || n[1] + 4 > buf.length) return null;
    packet.questions.push({ name: n[0], type: buf.readUInt16BE(n[1]), class: buf.readUInt16BE(n[1] + 2) });
    at = n[1] + 4;
  }
  const sections = [packet.answers, packet.authorities, packet.additionals];
  for (let s = 0; s < 3; s++) {
    for (let i = 0; i < counts[s + 1]!; i++) {
      const n = readName(buf, at);
      if (!n || n[1] + 10 > buf.length) return null;
      at = n[1];
      const type = buf.readUInt16BE(at);
      const cls = buf.readUInt16BE(at + 2);
      let ttl = buf.readUInt32BE(at + 4);
      if (ttl > 0x7fffffff) ttl = 0x7fffffff;
      const length = buf.readUInt16BE(at + 8);
      const start = at + 10;
      const stop = start + length;
      if (stop > buf.length || !SIMPLE_TYPES.has(type)) return null;
      const rec: Record<string, unknown> = { name: n[0], type, class: cls, ttl };
      switch (type) {
        case 1:
          if (length !== 4) return null;
          rec['address'] = `${buf[start]}.${buf[start + 1]}.${buf[start + 2]}.${buf[start + 3]}`;
          break;
        case 28:
          if (length !== 16) return null;
          rec['address'] = formatIpv6(buf.subarray(start, start + 16));
          break;
        case 2:
        case 5:
        case 12: {
          const t = readName(buf, start);
          if (!t || t[1] !== stop) return null;
          rec[type === 2 ? 'ns' : 'domain'] = t[0];
          break;
        }
        case 15: {
          if (length < 3) return null;
          const t = readName(buf, start + 2);
          if (!t || t[1] !== stop) return null;
          rec['priority'] = buf.readUInt16BE(start);
          rec['exchange'] = t[0];
          break;
        }
        case 6: {
          const m = readName(buf, start);
          const r = m && readName(buf, m[1]);
          if (!r || r[1] + 20 !== stop) return null;
          rec['primary'] = m[0];
          rec['admin'] = r[0];
          rec['serial'] = buf.readUInt32BE(r[1]);
          rec['refresh'] = buf.readUInt32BE(r[1] + 4);
          rec['retry'] = buf.readUInt32BE(r[1] + 8);
          rec['expiration'] = buf.readUInt32BE(r[1] + 12);
          rec['minimum'] = buf.readUInt32BE(r[1] + 16);
          break;
        }
        case 16:
        case 99: {
          const strings: string[] = [];
          let p = start;
          while (p < stop) {
            const len = buf[p]!;
            if (p + 1 + len > stop) return null;
            for (let k = p + 1; k <= p + len; k++) if (buf[k]! > 0x7e || buf[k]! < 0x20) return null;
            strings.push(buf.toString('latin1', p + 1, p + 1 + len));
            p += 1 + len;
          }
          rec['data'] = strings;
          break;
        }
        case 41:
          // Only the plain OPT record maildns's queries get back: at the root, no options, no extended RCODE.
          if (s !== 2 || length !== 0 || n[0] !== '' || (ttl >>> 24) & 0xff) return null;
          rec['extendedRcode'] = 0;
          rec['version'] = (ttl >>> 16) & 0xff;
          rec['doFlag'] = !!(ttl & 0x8000);
          rec['rdata'] = [];
          break;
      }
      sections[s]!.push(rec as unknown as WireRecord);
      at = stop;
    }
  }
  return packet;
}

/** Decode a DNS message: the fast reader for simple answers, dns2's codec for everything else. */
export function parsePacket(buf: Buffer): WirePacket {
  return parseSimplePacket(buf) ?? Packet.parse(buf);
}

function udpExchange(server: ServerAddress, query: Buffer, deadline: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket(net.isIPv6(server.host) ? 'udp6' : 'udp4');
    const id = query.readUInt16BE(0);
    const timer = setTimeout(() => finish(new Error('timeout')), Math.max(0, deadline - Date.now()));
    let done = false;
    function finish(err: Error | null, msg?: Buffer): void {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.close();
      if (err) reject(err);
      else resolve(msg!);
    }
    socket.on('message', (msg, rinfo) => {
      // Ignore stray datagrams: wrong source or wrong id.
      if (rinfo.port !== server.port || msg.length < 12 || msg.readUInt16BE(0) !== id) return;
      finish(null, msg);
    });
    socket.on('error', (err) => finish(err));
    socket.send(query, server.port, server.host, (err) => {
      if (err) finish(err);
    });
  });
}

function tcpExchange(server: ServerAddress, query: Buffer, deadline: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = net.createConnection({ host: server.host, port: server.port });
    const timer = setTimeout(() => finish(new Error('timeout')), Math.max(0, deadline - Date.now()));
    let buffered = Buffer.alloc(0);
    let done = false;
    function finish(err: Error | null, msg?: Buffer): void {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      if (err) reject(err);
      else resolve(msg!);
    }
    socket.on('connect', () => {
      const framed = Buffer.alloc(query.length + 2);
      framed.writeUInt16BE(query.length, 0);
      query.copy(framed, 2);
      socket.write(framed);
    });
    socket.on('data', (chunk) => {
      buffered = Buffer.concat([buffered, chunk]);
      if (buffered.length >= 2) {
        const len = buffered.readUInt16BE(0);
        if (buffered.length >= len + 2) finish(null, buffered.subarray(2, len + 2));
      }
    });
    socket.on('error', (err) => finish(err));
    socket.on('close', () => finish(new Error('connection closed before a full answer')));
  });
}

export interface WireResponse {
  packet: WirePacket;
  /** True when the answer came over TCP. */
  tcp: boolean;
}

/** Ask one question; throws WireTimeout when the deadline passes, other errors when the transport fails. */
export async function exchange(server: ServerAddress, name: string, type: string, opts: WireOptions): Promise<WireResponse> {
  const query = buildQuery(name, type, Math.floor(Math.random() * 0xffff), opts.recursionDesired);
  const deadline = Date.now() + opts.timeoutMs;
  try {
    if (!opts.tcpOnly) {
      const raw = await udpExchange(server, query, deadline);
      const packet = parsePacket(raw);
      if (!packet.header.tc) return { packet, tcp: false };
    }
    const raw = await tcpExchange(server, query, deadline);
    return { packet: parsePacket(raw), tcp: true };
  } catch (err) {
    if (err instanceof Error && err.message === 'timeout') throw new WireTimeout(server, name, type);
    throw err;
  }
}
