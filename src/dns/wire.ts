/**
 * One DNS question to one server, over UDP with TCP on truncation, EDNS0 advertised, and a
 * hard deadline on every path. dns2's own clients are not used: their TCP path has no
 * timeout, their retry ignores the deadline and they never send EDNS0
 * (see shared notes on dns2 3.1.1). Only dns2's packet codec is used here.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import { Packet, type WirePacket } from './packet.js';

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

function buildQuery(name: string, type: string, recursionDesired: boolean): Buffer {
  const query = new Packet();
  query.header.id = Math.floor(Math.random() * 0xffff);
  query.header.rd = recursionDesired ? 1 : 0;
  query.questions.push({ name, type: Packet.TYPE[type]!, class: Packet.CLASS['IN']! });
  query.additionals.push(Packet.Resource.EDNS([], { udpPayloadSize: EDNS_PAYLOAD }));
  return query.toBuffer();
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
  const query = buildQuery(name, type, opts.recursionDesired);
  const deadline = Date.now() + opts.timeoutMs;
  try {
    if (!opts.tcpOnly) {
      const raw = await udpExchange(server, query, deadline);
      const packet = Packet.parse(raw);
      if (!packet.header.tc) return { packet, tcp: false };
    }
    const raw = await tcpExchange(server, query, deadline);
    return { packet: Packet.parse(raw), tcp: true };
  } catch (err) {
    if (err instanceof Error && err.message === 'timeout') throw new WireTimeout(server, name, type);
    throw err;
  }
}
