/**
 * A DNS server that sends whatever bytes a test crafts: raw UDP and TCP on 127.0.0.1, no codec of
 * the project's in between (queries are read and answers written here, byte by byte), so malformed
 * answers, answers to other questions, truncated packets and silence reach maildns exactly as a
 * broken or hostile server would send them.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import { decodeMessage, MalformedMessage } from '../../src/dns/wire.js';
import { parseIpv6 } from '../../src/ipv6.js';

export const T = { A: 1, NS: 2, CNAME: 5, SOA: 6, PTR: 12, MX: 15, TXT: 16, AAAA: 28, OPT: 41, SPF: 99, AXFR: 252, IXFR: 251, ANY: 255 } as const;

/** A name in a crafted message: text (written as plain labels), raw octets as they are, or a compression pointer. */
type RawName = string | Buffer | { pointer: number | 'self' };

interface RawRecord {
  name: RawName;
  type: number;
  class?: number;
  ttl?: number;
  rdata: Buffer;
  /** RDLENGTH as written, when it should lie about the RDATA that follows. */
  rdlength?: number;
}

export interface RawMessage {
  id: number;
  qr?: boolean;
  opcode?: number;
  aa?: boolean;
  tc?: boolean;
  rd?: boolean;
  ra?: boolean;
  rcode?: number;
  questions?: { name: RawName; type: number; class?: number }[];
  answers?: RawRecord[];
  authorities?: RawRecord[];
  additionals?: RawRecord[];
  /** Section counts as written, when they should differ from the records that follow. */
  counts?: Partial<{ qd: number; an: number; ns: number; ar: number }>;
}

/** A name as uncompressed labels (text is written as latin1 octets, as DNS names are octets). */
export function encodeName(name: string): Buffer {
  const labels = name.split('.').filter((l) => l.length > 0);
  return Buffer.concat([...labels.map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l, 'latin1')])), Buffer.from([0])]);
}

function nameBytes(name: RawName, offset: number): Buffer {
  if (typeof name === 'string') return encodeName(name);
  if (Buffer.isBuffer(name)) return name;
  const target = name.pointer === 'self' ? offset : name.pointer;
  return Buffer.from([0xc0 | (target >> 8), target & 0xff]);
}

export const rdata = {
  a: (ip: string): Buffer => Buffer.from(ip.split('.').map(Number)),
  aaaa: (ip: string): Buffer => Buffer.from(parseIpv6(ip)!),
  txt: (...strings: string[]): Buffer => Buffer.concat(strings.map((s) => Buffer.concat([Buffer.from([Buffer.byteLength(s)]), Buffer.from(s)]))),
  name: (n: string): Buffer => encodeName(n),
  mx: (preference: number, exchange: string): Buffer => Buffer.concat([Buffer.from([preference >> 8, preference & 0xff]), encodeName(exchange)]),
  soa: (mname: string, rname: string, serial: number, minimum = 300): Buffer => {
    const nums = Buffer.alloc(20);
    [serial, 3600, 600, 604800, minimum].forEach((n, i) => nums.writeUInt32BE(n, i * 4));
    return Buffer.concat([encodeName(mname), encodeName(rname), nums]);
  },
};

/** The problem decodeMessage names in crafted octets, or null when they decode. */
export function problemOf(buf: Buffer): string | null {
  try {
    decodeMessage(buf);
    return null;
  } catch (err) {
    if (err instanceof MalformedMessage) return err.problem;
    throw err;
  }
}

/** The octets of a message; nothing is checked, so a test can write any lie it needs. */
export function encodeMessage(m: RawMessage): Buffer {
  const questions = m.questions ?? [];
  const sections = [m.answers ?? [], m.authorities ?? [], m.additionals ?? []];
  const header = Buffer.alloc(12);
  header.writeUInt16BE(m.id & 0xffff, 0);
  const flags =
    ((m.qr ?? true) ? 0x8000 : 0) | ((m.opcode ?? 0) << 11) | (m.aa ? 0x0400 : 0) | (m.tc ? 0x0200 : 0) | (m.rd ? 0x0100 : 0) | (m.ra ? 0x0080 : 0) | ((m.rcode ?? 0) & 0xf);
  header.writeUInt16BE(flags, 2);
  header.writeUInt16BE(m.counts?.qd ?? questions.length, 4);
  header.writeUInt16BE(m.counts?.an ?? sections[0]!.length, 6);
  header.writeUInt16BE(m.counts?.ns ?? sections[1]!.length, 8);
  header.writeUInt16BE(m.counts?.ar ?? sections[2]!.length, 10);
  const parts: Buffer[] = [header];
  let at = 12;
  const push = (b: Buffer): void => {
    parts.push(b);
    at += b.length;
  };
  for (const q of questions) {
    push(nameBytes(q.name, at));
    const tail = Buffer.alloc(4);
    tail.writeUInt16BE(q.type, 0);
    tail.writeUInt16BE(q.class ?? 1, 2);
    push(tail);
  }
  for (const section of sections) {
    for (const r of section) {
      push(nameBytes(r.name, at));
      const fixed = Buffer.alloc(10);
      fixed.writeUInt16BE(r.type, 0);
      fixed.writeUInt16BE(r.class ?? 1, 2);
      fixed.writeUInt32BE(r.ttl ?? 300, 4);
      fixed.writeUInt16BE(r.rdlength ?? r.rdata.length, 8);
      push(fixed);
      push(r.rdata);
    }
  }
  return Buffer.concat(parts);
}

export interface HostileQuery {
  id: number;
  /** The question name as sent (case kept), dots between labels. */
  name: string;
  type: number;
  class: number;
  rd: boolean;
  /** The DO bit of the OPT record right after the question, and the CD bit of the header. */
  doBit: boolean;
  cd: boolean;
  transport: 'udp' | 'tcp';
}

/**
 * What to send back: a message (framed for TCP), several (one after the other, e.g. a stray
 * datagram before the answer), `{ raw }` octets written as they are (a TCP frame that lies about
 * its length), or null for silence.
 */
export type HostileReply = Buffer | Buffer[] | { raw: Buffer; close?: boolean } | null;

export interface HostileServer {
  host: string;
  port: number;
  /** Every query received, in order. */
  queries: HostileQuery[];
  /** `host:port`, as --nameserver takes it. */
  address: string;
  close(): Promise<void>;
}

/** The question of a query: plain labels only (maildns never compresses its question). */
export function readQuery(buf: Buffer, transport: 'udp' | 'tcp'): HostileQuery | null {
  if (buf.length < 17) return null;
  const labels: string[] = [];
  let at = 12;
  while (at < buf.length && buf[at] !== 0) {
    const len = buf[at]!;
    if (len > 63 || at + 1 + len > buf.length) return null;
    labels.push(buf.toString('latin1', at + 1, at + 1 + len));
    at += 1 + len;
  }
  if (at + 5 > buf.length) return null;
  // The OPT record: root name, type, class, then the TTL whose third octet holds DO.
  const doBit = buf.readUInt16BE(10) > 0 && at + 13 <= buf.length && (buf[at + 12]! & 0x80) !== 0;
  return { id: buf.readUInt16BE(0), name: labels.join('.'), type: buf.readUInt16BE(at + 1), class: buf.readUInt16BE(at + 3), rd: (buf[2]! & 1) === 1, doBit, cd: (buf[3]! & 0x10) !== 0, transport };
}

/** A message with its two-octet length in front, as TCP carries it. */
export const frame = (msg: Buffer): Buffer => Buffer.concat([Buffer.from([msg.length >> 8, msg.length & 0xff]), msg]);

/** Hand each query read from a TCP connection to `handle`, one after the other (a frame may span reads). */
export function onTcpQueries(socket: net.Socket, handle: (q: HostileQuery) => void | Promise<void>): void {
  let buffered = Buffer.alloc(0);
  socket.on('data', async (chunk) => {
    buffered = Buffer.concat([buffered, chunk]);
    while (buffered.length >= 2 && buffered.length >= buffered.readUInt16BE(0) + 2) {
      const q = readQuery(buffered.subarray(2, buffered.readUInt16BE(0) + 2), 'tcp');
      buffered = buffered.subarray(buffered.readUInt16BE(0) + 2);
      if (q) await handle(q);
    }
  });
}

/**
 * `tcp: false`: the TCP listener is closed once UDP is bound, so a connection to the port is refused (a server that answers over UDP only).
 * `host`: the loopback address to listen at (127.0.0.1, another of 127.0.0.0/8, or ::1 for an IPv6-only server); `port`: that port (one attempt), else a free one.
 */
export async function startHostileDns(respond: (q: HostileQuery) => HostileReply | Promise<HostileReply>, opts: { tcp?: boolean; host?: string; port?: number } = {}): Promise<HostileServer> {
  const host = opts.host ?? '127.0.0.1';
  const queries: HostileQuery[] = [];
  const sockets = new Set<net.Socket>();
  const tcp = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    onTcpQueries(socket, async (q) => {
      queries.push(q);
      const reply = await respond(q);
      if (reply === null || socket.destroyed) return;
      if (!Buffer.isBuffer(reply) && !Array.isArray(reply)) {
        socket.write(reply.raw);
        if (reply.close) socket.end();
        return;
      }
      for (const msg of Array.isArray(reply) ? reply : [reply]) socket.write(frame(msg));
    });
  });
  // TCP picks a free port, UDP takes the same number; again when UDP's is taken.
  for (let attempt = 0; ; attempt++) {
    await new Promise<void>((resolve, reject) => {
      tcp.once('error', reject);
      tcp.listen(opts.port ?? 0, host, () => resolve());
    });
    const port = (tcp.address() as net.AddressInfo).port;
    const udp = dgram.createSocket(net.isIPv6(host) ? 'udp6' : 'udp4');
    try {
      await new Promise<void>((resolve, reject) => {
        udp.once('error', reject);
        udp.bind(port, host, () => resolve());
      });
    } catch (err) {
      udp.close();
      await new Promise<void>((r) => tcp.close(() => r()));
      if (attempt > 5 || opts.port !== undefined) throw err;
      continue;
    }
    udp.on('message', async (msg, rinfo) => {
      const q = readQuery(msg, 'udp');
      if (!q) return;
      queries.push(q);
      const reply = await respond(q);
      if (reply === null) return;
      const out = Buffer.isBuffer(reply) ? [reply] : Array.isArray(reply) ? reply : [reply.raw];
      for (const m of out) udp.send(m, rinfo.port, rinfo.address);
    });
    if (opts.tcp === false) await new Promise<void>((r) => tcp.close(() => r()));
    return {
      host,
      port,
      queries,
      address: net.isIPv6(host) ? `[${host}]:${port}` : `${host}:${port}`,
      close: async () => {
        for (const s of sockets) s.destroy();
        await Promise.all([opts.tcp === false ? undefined : new Promise<void>((r) => tcp.close(() => r())), new Promise<void>((r) => udp.close(() => r()))]);
      },
    };
  }
}

/** A response to `q` that echoes its question: the usual frame around crafted records. */
export function answer(q: HostileQuery, parts: Omit<RawMessage, 'id' | 'questions'> & { questions?: RawMessage['questions']; id?: number } = {}): Buffer {
  return encodeMessage({ aa: true, rd: q.rd, questions: [{ name: q.name, type: q.type, class: q.class }], ...parts, id: parts.id ?? q.id });
}

/** The apex of hostileZone's names. */
const HOSTILE_APEX = 'hostile.test';

/**
 * Every kind of broken answer, one per name: `<scenario>.hostile.test`, and any name below it,
 * gets the scenario's answer for every type but SOA (so the zone itself can be found, as verify
 * does). `include.<scenario>.hostile.test` publishes "v=spf1 include:<scenario>.hostile.test -all",
 * `ok.hostile.test` answers as a good server does. The status maildns must give each is in
 * HOSTILE_STATUS.
 */
export function hostileZone(q: HostileQuery): HostileReply {
  const name = q.name.toLowerCase();
  const labels = name.split('.');
  if (!name.endsWith(`.${HOSTILE_APEX}`) && name !== HOSTILE_APEX) return answer(q, { rcode: 5, aa: false });
  const soa = { name: HOSTILE_APEX, type: T.SOA, rdata: rdata.soa(`ns.${HOSTILE_APEX}`, `hostmaster.${HOSTILE_APEX}`, 1) };
  const nodata = (): Buffer => answer(q, { authorities: [soa] });
  if (q.type === T.SOA) return name === HOSTILE_APEX ? answer(q, { answers: [{ ...soa, name: { pointer: 12 } }] }) : nodata();
  const scenario = labels.at(-3) ?? '';
  const plausible = (type: number): Buffer =>
    type === T.A ? rdata.a('192.0.2.1') : type === T.AAAA ? Buffer.alloc(16, 1) : type === T.MX ? rdata.mx(10, `mail.${HOSTILE_APEX}`) : rdata.txt(labels[0] === '_dmarc' ? 'v=DMARC1; p=reject' : 'v=spf1 -all');
  const good = (): Buffer => answer(q, { answers: [{ name: { pointer: 12 }, type: q.type, rdata: plausible(q.type) }] });
  if (labels[0] === 'include' && labels.length > 3) {
    return q.type === T.TXT ? answer(q, { answers: [{ name: { pointer: 12 }, type: T.TXT, rdata: rdata.txt(`v=spf1 include:${labels.slice(1).join('.')} -all`) }] }) : nodata();
  }
  const record = (owner: RawName, extra: Partial<RawRecord> = {}): RawRecord => ({ name: owner, type: q.type, rdata: plausible(q.type), ...extra });
  const elsewhere = `elsewhere.${HOSTILE_APEX}`;
  switch (scenario) {
    case 'ok':
      return q.type === T.TXT ? good() : nodata();
    case 'pointer-loop':
      return answer(q, { answers: [record({ pointer: 'self' })] });
    case 'short-rdata':
      return answer(q, { answers: [record({ pointer: 12 }, { rdlength: plausible(q.type).length + 20 })] });
    case 'long-label':
      return answer(q, { answers: [record(Buffer.concat([Buffer.from([64]), Buffer.alloc(64, 0x61), Buffer.from([0])]))] });
    case 'long-name':
      return answer(q, { answers: [record(Array.from({ length: 5 }, () => 'a'.repeat(60)).join('.'))] });
    case 'trailing':
      return Buffer.concat([good(), Buffer.from([0, 0, 0])]);
    case 'cut-short':
      return good().subarray(0, -5);
    case 'wrong-section':
      return answer(q, { additionals: [record({ pointer: 12 })] });
    case 'other-name':
      return answer(q, { questions: [{ name: elsewhere, type: q.type }], answers: [record({ pointer: 12 })] });
    case 'other-type':
      return answer(q, { questions: [{ name: q.name, type: q.type === T.A ? T.TXT : T.A }], answers: [record({ pointer: 12 })] });
    case 'other-class':
      return answer(q, { questions: [{ name: q.name, type: q.type, class: 3 }], answers: [record({ pointer: 12 })] });
    case 'other-id':
      return answer(q, { id: q.id ^ 1, answers: [record({ pointer: 12 })] });
    case 'echo':
      return encodeMessage({ id: q.id, qr: false, rd: q.rd, questions: [{ name: q.name, type: q.type, class: q.class }] });
    case 'stray-first':
      return [answer(q, { questions: [{ name: elsewhere, type: q.type }], answers: [record({ pointer: 12 })] }), good()];
    case 'cname-loop': {
      const partner = labels[0] === 'loop-b' ? labels.slice(1).join('.') : `loop-b.${name}`;
      return answer(q, { answers: [{ name: { pointer: 12 }, type: T.CNAME, rdata: rdata.name(partner) }, { name: partner, type: T.CNAME, rdata: rdata.name(name) }] });
    }
    case 'silent':
      return null;
    case 'referral':
      // A server that delegates the name: the cut's NS set in the authority section, the asked RRset as glue.
      return answer(q, { aa: false, authorities: [{ name: { pointer: 12 }, type: T.NS, rdata: rdata.name(`ns.${name}`) }], additionals: [record({ pointer: 12 })] });
    case 'tc-then-ok':
      return q.transport === 'udp' ? answer(q, { tc: true }) : good();
    case 'tc-then-cut': {
      if (q.transport === 'udp') return answer(q, { tc: true });
      const frame = Buffer.alloc(2);
      frame.writeUInt16BE(200, 0);
      return { raw: Buffer.concat([frame, good().subarray(0, 20)]), close: true };
    }
    case 'tcp-other-name':
      return q.transport === 'udp' ? answer(q, { tc: true }) : answer(q, { questions: [{ name: elsewhere, type: q.type }], answers: [record({ pointer: 12 })] });
    default:
      return answer(q, { rcode: 3, authorities: [soa] });
  }
}

/** The status maildns's resolver must give a lookup at each scenario of hostileZone, on every path. */
export const HOSTILE_STATUS = {
  'pointer-loop': 'malformed',
  'short-rdata': 'malformed',
  'long-label': 'malformed',
  'long-name': 'malformed',
  trailing: 'malformed',
  'cut-short': 'malformed',
  'wrong-section': 'malformed',
  'tcp-other-name': 'malformed',
  'other-name': 'timeout',
  'other-type': 'timeout',
  'other-class': 'timeout',
  'other-id': 'timeout',
  echo: 'timeout',
  silent: 'timeout',
  'cname-loop': 'error',
  'tc-then-cut': 'error',
  referral: 'nodata',
  'stray-first': 'ok',
  'tc-then-ok': 'ok',
  ok: 'ok',
} as const;

export type HostileScenario = keyof typeof HOSTILE_STATUS;
