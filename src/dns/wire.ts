/**
 * One DNS question to one server, over UDP with TCP on truncation, EDNS0 advertised, and a
 * hard deadline on every path. dns2's own clients are not used: their TCP path has no
 * timeout, their retry ignores the deadline and they never send EDNS0
 * (see shared notes on dns2 3.1.1). Only dns2's encoder is used here; answers are decoded by
 * decodeMessage below, whole or not at all, and taken only when classifyReply says they answer
 * the question asked.
 */
import { formatIpv6, isIpv6Address } from '../ipv6.js';
import { randomFillSync } from 'node:crypto';
import dgram from 'node:dgram';
import net, { isIP } from 'node:net';
import { DnsTemporaryError } from '../errors.js';
import { domainNameProblem, normalizeName } from '../names.js';
import { packetCodec, RCODE, TYPE, type WireHeader, type WirePacket, type WireRecord } from './packet.js';

const CLASS_IN = 1;

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
  /** Set the DO bit (RFC 3225): a validating resolver then sends the signatures and says in AD whether the answer validated. */
  dnssecOk?: boolean;
  /** Set the CD bit (RFC 4035 §3.2.2): a validating resolver then answers without validating, so a zone that fails validation still shows its records. */
  checkingDisabled?: boolean;
}

/** The DNSSEC bits of a query; none by default, which leaves the query's octets as they always were. */
export type DnssecBits = Pick<WireOptions, 'dnssecOk' | 'checkingDisabled'>;
/** The default of buildQuery, one object for every call (a bulk run builds thousands of queries a second). */
const NO_DNSSEC_BITS: DnssecBits = {};

export class WireTimeout extends Error {
  /** Set when the wait that ran out was over TCP, after a truncated answer over UDP (settleUdp). */
  afterTruncation = false;
  /** `ignored`: what came from the server in the meantime that did not answer the question. */
  constructor(server: ServerAddress, name: string, type: string, ignored?: string) {
    super(`no answer from ${formatServer(server)} for ${name} ${type}${ignored ? `; it sent ${ignored}` : ''}`);
    this.name = 'WireTimeout';
  }
}

/** What a failure over TCP after a truncated UDP answer is said after, whatever ended it (see settleUdp, and the resolver's deadline). */
export const AFTER_TRUNCATION = 'the answer over UDP was truncated (TC=1), and over TCP: ';

export function formatServer(s: ServerAddress): string {
  return s.host.includes(':') ? `[${s.host}]:${s.port}` : `${s.host}:${s.port}`;
}

/** Parse `HOST`, `HOST:PORT`, `[V6]:PORT` or a bare IPv6 literal. */
export function parseServer(text: string, defaultPort = 53): ServerAddress {
  const t = text.trim();
  const usage = '(use HOST, HOST:PORT or [IPv6]:PORT)';
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(t);
  const plain = bracketed || isIpv6Address(t) ? null : /^([^:]+)(?::(\d+))?$/.exec(t);
  if (!bracketed && !plain && !isIpv6Address(t)) throw new Error(`not a server address: "${text}" ${usage}`);
  const host = bracketed ? bracketed[1]! : plain ? plain[1]! : t;
  const portText = bracketed ? bracketed[2] : plain?.[2];
  const port = portText ? Number(portText) : defaultPort;
  if (!(port > 0 && port < 65536)) throw new Error(`port out of range in "${text}"`);
  // Brackets hold an IPv6 address (RFC 3986 §3.2.2); a name that cannot be a host is a typo to report, not a server that failed to answer.
  if (bracketed && !isIpv6Address(host)) throw new Error(`not a server address: "${text}": brackets hold an IPv6 address ${usage}`);
  const hostProblem = bracketed || isIP(host) ? null : domainNameProblem(host);
  if (hostProblem) throw new Error(`not a server address: "${text}": the host name ${hostProblem} ${usage}`);
  return { host, port };
}

const EDNS_PAYLOAD = 1232;

/** The code of a query type: maildns's table first (dns2's lacks DS and TLSA), then dns2's. */
function typeCode(type: string): number | undefined {
  return (TYPE as Record<string, number>)[type] ?? packetCodec().TYPE[type];
}

/** The query in dns2's encoding, for names the hand-built form below does not take. */
function buildQueryWithCodec(name: string, type: string, id: number, recursionDesired: boolean, bits: DnssecBits): Buffer {
  const Packet = packetCodec();
  const query = new Packet();
  query.header.id = id;
  query.header.rd = recursionDesired ? 1 : 0;
  if (bits.checkingDisabled) query.header.cd = 1;
  query.questions.push({ name, type: typeCode(type)!, class: CLASS_IN });
  query.additionals.push(Packet.Resource.EDNS([], { udpPayloadSize: EDNS_PAYLOAD, doFlag: !!bits.dnssecOk }));
  return query.toBuffer();
}

/** Header (12) + root OPT record (11) around the question; the question name is the variable part. */
const OPT_RECORD = Buffer.from([0, 0, 41, EDNS_PAYLOAD >> 8, EDNS_PAYLOAD & 0xff, 0, 0, 0, 0, 0, 0]);
/** Where the DO bit is in OPT_RECORD: the top bit of the flags in its TTL (RFC 6891 §6.1.4). */
const OPT_DO_OCTET = 7;

/**
 * One query message: header, the question (class IN) and an OPT record advertising EDNS_PAYLOAD.
 * Written by hand for plain ASCII names, byte for byte what dns2's codec writes (bulk runs send
 * thousands per second and the generic encoder was a visible cost); anything else goes to dns2.
 */
export function buildQuery(name: string, type: string, id: number, recursionDesired: boolean, bits: DnssecBits = NO_DNSSEC_BITS): Buffer {
  return buildQueryAt(name, type, id, recursionDesired, bits, 0);
}

/** The query with its two-octet length in front, as it goes over TCP (RFC 1035 §4.2.2). */
export function buildFramedQuery(name: string, type: string, id: number, recursionDesired: boolean, bits: DnssecBits = NO_DNSSEC_BITS): Buffer {
  const framed = buildQueryAt(name, type, id, recursionDesired, bits, 2);
  framed.writeUInt16BE(framed.length - 2, 0);
  return framed;
}

/** The query written `offset` octets into a buffer of its own (the octets before it left for the caller). */
function buildQueryAt(name: string, type: string, id: number, recursionDesired: boolean, bits: DnssecBits, offset: number): Buffer {
  const length = handBuiltQueryLength(name, type);
  if (length === 0) return buildQueryWithCodecAt(name, type, id, recursionDesired, bits, offset);
  const buf = Buffer.allocUnsafe(offset + length);
  writeHandBuiltQuery(buf, offset, name, type, id, recursionDesired, bits);
  return buf;
}

/**
 * The length of the query the hand-built form writes, or 0 when it does not take the name or type
 * (dns2's codec writes those: non-ASCII, a label over 63 octets, a name over 255, a type of its table).
 */
function handBuiltQueryLength(name: string, type: string): number {
  if (typeCode(type) === undefined) return 0;
  // The name's wire length: a length octet per label, its octets, the root's zero (empty labels are skipped, as dns2 does).
  let nameLength = 1;
  let label = 0;
  for (let i = 0; i <= name.length; i++) {
    const c = i < name.length ? name.charCodeAt(i) : 0x2e;
    if (c > 0x7f) return 0;
    if (c !== 0x2e) {
      label++;
      continue;
    }
    if (label > 63) return 0;
    if (label > 0) nameLength += label + 1;
    label = 0;
  }
  return nameLength > 255 ? 0 : 12 + nameLength + 4 + OPT_RECORD.length;
}

/** The hand-built query at `offset` of `buf`, which has handBuiltQueryLength octets free there. */
function writeHandBuiltQuery(buf: Buffer, offset: number, name: string, type: string, id: number, recursionDesired: boolean, bits: DnssecBits): void {
  buf.writeUInt16BE(id & 0xffff, offset);
  buf.writeUInt16BE((recursionDesired ? 0x0100 : 0) | (bits.checkingDisabled ? 0x0010 : 0), offset + 2);
  buf.writeUInt16BE(1, offset + 4);
  buf.writeUInt16BE(0, offset + 6);
  buf.writeUInt16BE(0, offset + 8);
  buf.writeUInt16BE(1, offset + 10);
  let at = offset + 12;
  let lengthAt = -1;
  for (let i = 0; i <= name.length; i++) {
    const c = i < name.length ? name.charCodeAt(i) : 0x2e;
    if (c !== 0x2e) {
      if (lengthAt < 0) lengthAt = at++;
      buf[at++] = c;
    } else if (lengthAt >= 0) {
      buf[lengthAt] = at - lengthAt - 1;
      lengthAt = -1;
    }
  }
  buf[at++] = 0;
  buf.writeUInt16BE(typeCode(type)!, at);
  buf.writeUInt16BE(CLASS_IN, at + 2);
  OPT_RECORD.copy(buf, at + 4);
  if (bits.dnssecOk) buf[at + 4 + OPT_DO_OCTET] = 0x80;
}

/**
 * Where pipelined queries are written before they go out: framed queries are put one after another
 * in one buffer, and each write hands the socket what was put since the last. A buffer and a copy
 * per query, then one more copy to join them, was a visible part of a bulk run's garbage.
 */
const FRAMED_QUERY_CHUNK = 16384;

export class FramedQueryBuffer {
  private chunk: Buffer = Buffer.allocUnsafe(FRAMED_QUERY_CHUNK);
  /** The first octet not yet handed out by take(). */
  private start = 0;
  private end = 0;

  /** Put the framed query on the end; throws (and puts nothing) when it cannot be written. */
  add(name: string, type: string, id: number, recursionDesired: boolean, bits: DnssecBits): void {
    const length = handBuiltQueryLength(name, type);
    if (length === 0) {
      const framed = buildFramedQuery(name, type, id, recursionDesired, bits);
      this.reserve(framed.length);
      framed.copy(this.chunk, this.end);
      this.end += framed.length;
      return;
    }
    this.reserve(2 + length);
    this.chunk.writeUInt16BE(length, this.end);
    writeHandBuiltQuery(this.chunk, this.end + 2, name, type, id, recursionDesired, bits);
    this.end += 2 + length;
  }

  get empty(): boolean {
    return this.start === this.end;
  }

  /** Everything put since the last take, or null. What it returns is never written to again. */
  take(): Buffer | null {
    if (this.start === this.end) return null;
    const out = this.chunk.subarray(this.start, this.end);
    this.start = this.end;
    return out;
  }

  /** Drop what was put and not taken. */
  clear(): void {
    this.start = this.end;
  }

  /** Room for `n` more octets: a new buffer when this one is full, with what was not taken yet moved to it (what was taken stays the socket's). */
  private reserve(n: number): void {
    if (this.end + n <= this.chunk.length) return;
    const waiting = this.chunk.subarray(this.start, this.end);
    const next = Buffer.allocUnsafe(Math.max(FRAMED_QUERY_CHUNK, waiting.length + n));
    waiting.copy(next, 0);
    this.chunk = next;
    this.start = 0;
    this.end = waiting.length;
  }
}

function buildQueryWithCodecAt(name: string, type: string, id: number, recursionDesired: boolean, bits: DnssecBits, offset: number): Buffer {
  const query = buildQueryWithCodec(name, type, id, recursionDesired, bits);
  if (offset === 0) return query;
  const out = Buffer.alloc(offset + query.length);
  query.copy(out, offset);
  return out;
}

/**
 * A DNS message that cannot be decoded whole: a name that loops or runs past the end, RDATA
 * shorter than its RDLENGTH, a record that does not fill its RDATA, octets after the last record.
 * The answer is unusable, which is a temporary failure, never "no record" (the resolver turns it
 * into the status `malformed`; should it reach the CLI, it exits 3 like any DNS failure).
 */
export class MalformedMessage extends DnsTemporaryError {
  constructor(readonly problem: string) {
    super(`malformed answer: ${problem}`);
    this.name = 'MalformedMessage';
  }
}

const MAX_NAME_OCTETS = 255;

/** Where the name readName last read ends in place (after its terminator or first pointer). */
let nameEnd = 0;
/** Whether a label of the name readName last read holds a "." octet (its dotted text is then another name's). */
let nameDotted = false;
/** A dotted name of at most MAX_NAME_OCTETS octets fits: labels and the dots between them. */
const NAME_SCRATCH = Buffer.alloc(256);

/**
 * The name at `at` (RFC 1035 §4.1.4). A compression pointer must point backwards, past the header,
 * to a prior occurrence: each jump then goes strictly lower, so a name always ends, and a pointer
 * that loops (to itself or forward) is malformed. Labels are read byte for byte (latin1), as dns2
 * writes and reads them.
 */
function readName(buf: Buffer, at: number, limit = buf.length): string {
  // The dotted name is put together in a scratch buffer and made a string once (one allocation a name).
  let length = 0;
  let end = -1;
  let octets = 1;
  let pos = at;
  nameDotted = false;
  for (;;) {
    if (pos >= limit) throw new MalformedMessage(`the name at offset ${at} runs past the end of the message`);
    const len = buf[pos]!;
    if (len === 0) {
      nameEnd = end < 0 ? pos + 1 : end;
      return length === 0 ? '' : NAME_SCRATCH.toString('latin1', 0, length);
    }
    if ((len & 0xc0) === 0xc0) {
      if (pos + 1 >= limit) throw new MalformedMessage(`the name at offset ${at} runs past the end of the message`);
      const target = ((len & 0x3f) << 8) | buf[pos + 1]!;
      if (target >= pos) throw new MalformedMessage(`the compression pointer at offset ${pos} points to ${target}, not to an earlier name (a loop)`);
      if (target < 12) throw new MalformedMessage(`the compression pointer at offset ${pos} points into the header`);
      if (end < 0) end = pos + 2;
      pos = target;
      continue;
    }
    // 01 and 10 are the retired extended label types (RFC 6891 §5); as lengths they would exceed 63.
    if (len & 0xc0) throw new MalformedMessage(`the label length ${len} at offset ${pos} is over 63 octets`);
    octets += len + 1;
    if (octets > MAX_NAME_OCTETS) throw new MalformedMessage(`the name at offset ${at} is longer than ${MAX_NAME_OCTETS} octets`);
    if (pos + 1 + len > limit) throw new MalformedMessage(`the name at offset ${at} runs past the end of the message`);
    if (length > 0) NAME_SCRATCH[length++] = 0x2e;
    // Byte by byte: a label is at most 63 octets, and Buffer#copy made a view of the source for each label (5% of all a bulk run allocates).
    for (let i = pos + 1, stop = pos + 1 + len; i < stop; i++) {
      const octet = buf[i]!;
      if (octet === 0x2e) nameDotted = true;
      NAME_SCRATCH[length++] = octet;
    }
    pos += len + 1;
  }
}

function encodeWithCodec(this: WirePacket): Buffer {
  const Packet = packetCodec();
  const codec = new Packet();
  codec.header = this.header;
  codec.questions = this.questions;
  codec.answers = this.answers;
  codec.authorities = this.authorities;
  codec.additionals = this.additionals;
  return codec.toBuffer();
}

/** A header as read from the wire, with its section counts. */
interface ReadHeader extends WireHeader {
  qdcount: number;
  ancount: number;
  nscount: number;
  arcount: number;
}

function readHeader(buf: Buffer): ReadHeader {
  const flags = buf.readUInt16BE(2);
  return {
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
    qdcount: buf.readUInt16BE(4),
    ancount: buf.readUInt16BE(6),
    nscount: buf.readUInt16BE(8),
    arcount: buf.readUInt16BE(10),
  } as ReadHeader;
}

/** The question section from offset 12; returns where it ends. */
function readQuestions(buf: Buffer, count: number, into: WirePacket['questions']): number {
  let at = 12;
  for (let i = 0; i < count; i++) {
    const name = readName(buf, at);
    if (nameEnd + 4 > buf.length) throw new MalformedMessage(`question ${i + 1} runs past the end of the message`);
    into.push({ name, type: buf.readUInt16BE(nameEnd), class: buf.readUInt16BE(nameEnd + 2) });
    at = nameEnd + 4;
  }
  return at;
}

const SECTION_NAMES = ['answer', 'authority', 'additional'] as const;

/**
 * Which record a problem is in ("answer record 2 (example.com type 16)"), written out only when
 * there is a problem to report: one shared object, set for each record as it is read.
 */
class RecordDescription {
  section = 0;
  index = 0;
  owner: string | null = null;
  type = 0;
  toString(): string {
    const where = `${SECTION_NAMES[this.section]} record ${this.index + 1}`;
    return this.owner === null ? where : `${where} (${this.owner || '.'} type ${this.type})`;
  }
}
const currentRecord = new RecordDescription();

/**
 * The records whose RDATA is a few fixed fields, then at least one octet of data: DS (RFC 4034
 * §5.1), DNSKEY (§2.1) and TLSA (RFC 6698 §2.1), by type code.
 */
const FIXED_THEN_DATA: Record<number, { name: string; fields: readonly (readonly [string, 1 | 2])[]; rest: string; encoding: 'hex' | 'base64' }> = {
  43: { name: 'DS', fields: [['keyTag', 2], ['algorithm', 1], ['digestType', 1]], rest: 'digest', encoding: 'hex' },
  48: { name: 'DNSKEY', fields: [['flags', 2], ['protocol', 1], ['algorithm', 1]], rest: 'key', encoding: 'base64' },
  52: { name: 'TLSA', fields: [['usage', 1], ['selector', 1], ['matchingType', 1]], rest: 'certificate', encoding: 'hex' },
};

/**
 * A host name in RDATA (NS, CNAME, PTR, MX) read as text: a label that holds a "." octet (legal on
 * the wire, `mail\.example.com` in a zone file) would read as another name, the host `mail.example.com`,
 * so such an answer is not decoded (a PTR record of that kind had confirmed reverse DNS no receiver sees).
 */
function hostNameRead(name: string, what: RecordDescription): string {
  if (nameDotted) throw new MalformedMessage(`${what} names a host with a "." inside a label (read as "${name}", which is another name)`);
  return name;
}

/**
 * The character-strings of TXT RDATA whose UTF-8 characters may be split between two strings (a DNS
 * host that cuts a value every 255 octets splits them: "caf\xc3" "\xa9"): a character begun at the
 * end of one string and ended at the start of the next is read whole, in the string it begins in,
 * so that the strings joined are the value's text, never two U+FFFD where it had an é. Octets that
 * make no character stay U+FFFD in their own string, as a single string's do.
 */
function characterStringsAcross(buf: Buffer, start: number, stop: number): string[] {
  const strings: string[] = [];
  // How many octets at the start of this string the previous one took (the end of its last character).
  let taken = 0;
  for (let p = start; p < stop; p += 1 + buf[p]!) {
    const from = p + 1 + taken;
    const to = p + 1 + buf[p]!;
    taken = 0;
    // The octet that began the string's last character: back over at most three continuation octets (10xxxxxx).
    let lead = to - 1;
    while (lead > from && to - lead < 4 && (buf[lead]! & 0xc0) === 0x80) lead--;
    const size = lead < from ? 1 : buf[lead]! >= 0xf0 ? 4 : buf[lead]! >= 0xe0 ? 3 : buf[lead]! >= 0xc0 ? 2 : 1;
    const missing = size - (to - lead);
    // The next string (its length octet at `to`) must begin with the octets that end that character, and make one with it.
    if (missing > 0 && to < stop && buf[to]! >= missing) {
      const octets = Buffer.concat([buf.subarray(lead, to), buf.subarray(to + 1, to + 1 + missing)]);
      const character = octets.toString('utf8');
      // One character only when it encodes back to those octets (a U+FFFD published as ef bf bd is one too).
      if (Buffer.from(character, 'utf8').equals(octets)) {
        strings.push(buf.toString('utf8', from, lead) + character);
        taken = missing;
        continue;
      }
    }
    strings.push(buf.toString('utf8', from, to));
  }
  return strings;
}

/** A record whose fields end at `end` must end at its RDATA's `stop`. */
function mustFill(end: number, start: number, stop: number, what: RecordDescription): void {
  if (end !== stop) throw new MalformedMessage(`${what} fills ${end - start} of its ${stop - start} octets of RDATA`);
}

/** The RDATA of one record, into `rec`; it must fill its RDLENGTH exactly. */
function readRdata(buf: Buffer, rec: Record<string, unknown>, type: number, start: number, stop: number, what: RecordDescription): void {
  const length = stop - start;
  switch (type) {
    case 1:
      if (length !== 4) throw new MalformedMessage(`${what} has ${length} octets of address, not 4`);
      rec['address'] = `${buf[start]}.${buf[start + 1]}.${buf[start + 2]}.${buf[start + 3]}`;
      return;
    case 28:
      if (length !== 16) throw new MalformedMessage(`${what} has ${length} octets of address, not 16`);
      rec['address'] = formatIpv6(buf.subarray(start, stop));
      return;
    case 2:
    case 5:
    case 12: {
      // Names in RDATA may point anywhere earlier in the message, but must end inside the RDATA.
      const target = hostNameRead(readName(buf, start, stop), what);
      mustFill(nameEnd, start, stop, what);
      rec[type === 2 ? 'ns' : 'domain'] = target;
      return;
    }
    case 15: {
      if (length < 3) throw new MalformedMessage(`${what} is ${length} octets, too short for an MX record`);
      const exchange = hostNameRead(readName(buf, start + 2, stop), what);
      mustFill(nameEnd, start, stop, what);
      rec['priority'] = buf.readUInt16BE(start);
      rec['exchange'] = exchange;
      return;
    }
    case 6: {
      const primary = readName(buf, start, stop);
      const admin = readName(buf, nameEnd, stop);
      const at = nameEnd;
      mustFill(at + 20, start, stop, what);
      rec['primary'] = primary;
      rec['admin'] = admin;
      rec['serial'] = buf.readUInt32BE(at);
      rec['refresh'] = buf.readUInt32BE(at + 4);
      rec['retry'] = buf.readUInt32BE(at + 8);
      rec['expiration'] = buf.readUInt32BE(at + 12);
      rec['minimum'] = buf.readUInt32BE(at + 16);
      return;
    }
    case 16:
    case 99: {
      // RFC 1035 §3.3.14: one or more character-strings, filling the RDATA.
      if (length === 0) throw new MalformedMessage(`${what} has no character-string`);
      const strings: string[] = [];
      // Whether a string before the last ends in a non-ASCII octet: a character may then go on in the next one.
      let runsOn = false;
      for (let p = start; p < stop; ) {
        const len = buf[p]!;
        if (p + 1 + len > stop) throw new MalformedMessage(`${what} has a character-string running past its RDATA`);
        if (len > 0 && buf[p + len]! >= 0x80 && p + 1 + len < stop) runsOn = true;
        strings.push(buf.toString('utf8', p + 1, p + 1 + len));
        p += 1 + len;
      }
      rec['data'] = runsOn ? characterStringsAcross(buf, start, stop) : strings;
      return;
    }
    case 41: {
      const ttl = rec['ttl'] as number;
      rec['extendedRcode'] = (ttl >>> 24) & 0xff;
      rec['version'] = (ttl >>> 16) & 0xff;
      rec['doFlag'] = !!(ttl & 0x8000);
      const options: { code: number; data: Buffer }[] = [];
      for (let p = start; p < stop; ) {
        if (p + 4 > stop || p + 4 + buf.readUInt16BE(p + 2) > stop) throw new MalformedMessage(`${what} has an EDNS option running past its RDATA`);
        const len = buf.readUInt16BE(p + 2);
        options.push({ code: buf.readUInt16BE(p), data: Buffer.from(buf.subarray(p + 4, p + 4 + len)) });
        p += 4 + len;
      }
      rec['rdata'] = options;
      return;
    }
    case 43:
    case 48:
    case 52: {
      const layout = FIXED_THEN_DATA[type]!;
      const fixed = layout.fields.reduce((n, [, size]) => n + size, 0);
      if (length < fixed + 1) throw new MalformedMessage(`${what} is ${length} octets, too short for a ${layout.name} record`);
      let at = start;
      for (const [field, size] of layout.fields) {
        rec[field] = size === 2 ? buf.readUInt16BE(at) : buf[at];
        at += size;
      }
      rec[layout.rest] = buf.toString(layout.encoding, at, stop);
      rec['data'] = Buffer.from(buf.subarray(start, stop));
      return;
    }
    case 46: {
      // RFC 4034 §3.1: 18 octets of fixed fields, the signer's name, then a signature of at least one octet.
      if (length < 20) throw new MalformedMessage(`${what} is ${length} octets, too short for an RRSIG record`);
      const signer = readName(buf.subarray(0, stop), start + 18);
      if (nameEnd >= stop) throw new MalformedMessage(`${what} has no signature after the signer's name`);
      rec['typeCovered'] = buf.readUInt16BE(start);
      rec['algorithm'] = buf[start + 2];
      rec['labels'] = buf[start + 3];
      rec['originalTtl'] = buf.readUInt32BE(start + 4);
      rec['signatureExpiration'] = buf.readUInt32BE(start + 8);
      rec['signatureInception'] = buf.readUInt32BE(start + 12);
      rec['keyTag'] = buf.readUInt16BE(start + 16);
      rec['signer'] = signer;
      rec['signature'] = buf.toString('base64', nameEnd, stop);
      rec['data'] = Buffer.from(buf.subarray(start, stop));
      return;
    }
    default:
      // RFC 3597: a type maildns does not read is kept as it came.
      rec['data'] = Buffer.from(buf.subarray(start, stop));
  }
}

/**
 * Decode a whole DNS message, or throw MalformedMessage (and nothing else): every question and
 * record the header counts, each RDATA filling its RDLENGTH exactly, nothing left over. There is
 * no partial result: a message with one broken record is unusable as a whole, since the record
 * set it would leave is not the one the server holds. Field names and values are those of dns2's
 * codec (which still encodes, and which the property tests compare against).
 */
export function decodeMessage(buf: Buffer): WirePacket {
  if (buf.length < 12) throw new MalformedMessage(`the message is ${buf.length} octets, shorter than a header`);
  const header = readHeader(buf);
  const questions: WirePacket['questions'] = [];
  return decodeRecords(buf, header, questions, readQuestions(buf, header.qdcount, questions));
}

/** The rest of decodeMessage: the records after the question section, which ends at `at`. */
function decodeRecords(buf: Buffer, header: ReadHeader, questions: WirePacket['questions'], at: number): WirePacket {
  // A plain object with the codec's fields; toBuffer is the codec's own, for the rare caller that writes it back out.
  const packet: WirePacket = { header, questions, answers: [], authorities: [], additionals: [], toBuffer: encodeWithCodec };
  const what = currentRecord;
  let opt: Record<string, unknown> | null = null;
  for (let s = 0; s < 3; s++) {
    const count = s === 0 ? header.ancount : s === 1 ? header.nscount : header.arcount;
    const section = s === 0 ? packet.answers : s === 1 ? packet.authorities : packet.additionals;
    for (let i = 0; i < count; i++) {
      what.section = s;
      what.index = i;
      what.owner = null;
      let name: string;
      try {
        name = readName(buf, at);
      } catch (err) {
        throw err instanceof MalformedMessage ? new MalformedMessage(`${what}: ${err.problem}`) : err;
      }
      at = nameEnd;
      if (at + 10 > buf.length) throw new MalformedMessage(`${what} runs past the end of the message`);
      const type = buf.readUInt16BE(at);
      let ttl = buf.readUInt32BE(at + 4);
      // RFC 2181 §8: a TTL with the top bit set is treated as its largest value (as dns2 does).
      if (ttl > 0x7fffffff && type !== 41) ttl = 0x7fffffff;
      const start = at + 10;
      const stop = start + buf.readUInt16BE(at + 8);
      if (stop > buf.length) throw new MalformedMessage(`${what} declares ${stop - start} octets of RDATA, only ${buf.length - start} remain`);
      const rec: Record<string, unknown> = { name, type, class: buf.readUInt16BE(at + 2), ttl };
      what.owner = name;
      what.type = type;
      if (type === 41) {
        // RFC 6891 §6.1.1: one OPT record, at the root, in the additional section.
        if (s !== 2 || name !== '' || opt) throw new MalformedMessage(`${SECTION_NAMES[s]} record ${i + 1} is an OPT record out of place`);
        opt = rec;
      }
      readRdata(buf, rec, type, start, stop, what);
      if (type === 41 && ttl > 0x7fffffff) rec['ttl'] = 0x7fffffff;
      section.push(rec as unknown as WireRecord);
      at = stop;
    }
  }
  if (at !== buf.length) throw new MalformedMessage(`${buf.length - at} octets follow the last record the header counts`);
  // RFC 6891 §6.1.3: the OPT record carries the upper 8 bits of a 12-bit RCODE.
  if (opt && (opt['extendedRcode'] as number)) header.rcode = ((opt['extendedRcode'] as number) << 4) | header.rcode;
  return packet;
}

/** The question a reply must carry: the ID sent and the name and type asked (class IN). */
export interface QueryKey {
  id: number;
  /** Normalized (see names.ts), as the question name is compared case-insensitively. */
  name: string;
  type: number;
}

export function queryKey(id: number, name: string, type: string): QueryKey {
  // Empty labels are not sent (buildQuery skips them), so the answer's question lacks them too.
  const labels = name.startsWith('.') || name.includes('..') ? name.split('.').filter((l) => l.length > 0).join('.') : name;
  return { id, name: normalizeName(labels), type: typeCode(type) ?? -1 };
}

/**
 * What a message received for a query is:
 * - `unrelated`: not an answer to it (another ID, not a response, another question). Over UDP it is
 *   ignored and the wait goes on (a stray or forged datagram must not end the query, RFC 5452 §9.1).
 * - `truncated`: TC=1 with the right question; ask again over TCP (the rest is not read: a server may cut it anywhere).
 * - `malformed`: the message is the answer (its ID and question match) but cannot be decoded whole.
 * - `answer`: decoded whole.
 * The one rule for every path (one socket per query, the shared sockets, TCP).
 */
type Reply =
  | { kind: 'answer'; packet: WirePacket }
  | { kind: 'truncated' }
  | { kind: 'malformed'; problem: string }
  | { kind: 'unrelated'; why: string };

export function classifyReply(buf: Buffer, key: QueryKey): Reply {
  if (buf.length < 12) return { kind: 'unrelated', why: `a ${buf.length}-octet datagram` };
  const header = readHeader(buf);
  if (header.id !== key.id) return { kind: 'unrelated', why: `an answer with another ID (${header.id})` };
  if (!header.qr) return { kind: 'unrelated', why: 'a message that is not a response (QR=0)' };
  const questions: WirePacket['questions'] = [];
  let questionsEnd: number;
  try {
    questionsEnd = readQuestions(buf, header.qdcount, questions);
  } catch (err) {
    if (err instanceof MalformedMessage) return { kind: 'malformed', problem: err.problem };
    throw err;
  }
  if (questions.length > 1) return { kind: 'malformed', problem: `the answer has ${questions.length} questions` };
  const q = questions[0];
  if (!q) {
    // Some servers leave the question out of an error; an answer without one can only be a failure.
    if (header.rcode === RCODE.NOERROR || header.rcode === RCODE.NXDOMAIN) return { kind: 'unrelated', why: 'an answer without a question' };
  } else if (q.type !== key.type || q.class !== CLASS_IN || normalizeName(q.name) !== key.name) {
    return { kind: 'unrelated', why: `an answer to another question (${q.name || '.'} type ${q.type} class ${q.class})` };
  }
  if (header.tc) return { kind: 'truncated' };
  try {
    return { kind: 'answer', packet: decodeRecords(buf, header, questions, questionsEnd) };
  } catch (err) {
    if (err instanceof MalformedMessage) return { kind: 'malformed', problem: err.problem };
    throw err;
  }
}

/** The reply a UDP query settles on: the first datagram from the server that is not `unrelated` to it. */
export type UdpOutcome = Exclude<Reply, { kind: 'unrelated' }>;

/** What a UDP reply leads to, on every path: its packet, a malformed answer, or the question again over TCP. */
export async function settleUdp(reply: UdpOutcome, overTcp: () => Promise<WirePacket>): Promise<WireResponse> {
  if (reply.kind === 'answer') return { packet: reply.packet, tcp: false };
  if (reply.kind === 'malformed') throw new MalformedMessage(reply.problem);
  try {
    return { packet: await overTcp(), tcp: true };
  } catch (err) {
    // A failure over TCP (refused, reset, closed early, no answer in time) says why only with the truncation that led there.
    // Only this failure path pays for it. A timeout stays a WireTimeout (status timeout), its message prefixed.
    if (err instanceof WireTimeout) {
      err.message = AFTER_TRUNCATION + err.message;
      err.afterTruncation = true;
      throw err;
    }
    if (err instanceof MalformedMessage || !(err instanceof Error)) throw err;
    const again = new Error(AFTER_TRUNCATION + err.message);
    throw Object.assign(again, { cause: err });
  }
}

/** What was ignored while waiting, for the timeout's message: a server that only ever answers another question is not silent. */
export class IgnoredReplies {
  count = 0;
  last = '';
  note(why: string): void {
    this.count++;
    this.last = why;
  }
  describe(): string | undefined {
    return this.count ? `${this.count} message${this.count === 1 ? '' : 's'} that did not answer it, the last ${this.last}` : undefined;
  }
}

function udpExchange(server: ServerAddress, query: Buffer, key: QueryKey, deadline: number, ignored: IgnoredReplies): Promise<UdpOutcome> {
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket(isIpv6Address(server.host) ? 'udp6' : 'udp4');
    const timer = setTimeout(() => finish(new Error('timeout')), Math.max(0, deadline - Date.now()));
    let done = false;
    function finish(err: Error | null, reply?: UdpOutcome): void {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.close();
      if (err) reject(err);
      else resolve(reply!);
    }
    socket.on('message', (msg, rinfo) => {
      if (rinfo.port !== server.port) return;
      const reply = classifyReply(msg, key);
      if (reply.kind === 'unrelated') ignored.note(reply.why);
      else finish(null, reply);
    });
    const failed = (err: NodeJS.ErrnoException | null): void => {
      if (err) finish(err.code === 'ECONNREFUSED' ? new PortClosed(server) : err);
    };
    socket.on('error', failed);
    // Connected, so that the ICMP "port unreachable" of a closed port ends the wait at once (see PortClosed).
    // A connect that fails (an address that cannot be reached from here, a name that does not
    // resolve) ends the query with its error: there is nothing to send on.
    socket.connect(server.port, server.host, (err?: Error) => (err ? finish(err) : socket.send(query, failed)));
  });
}

/**
 * A query to a port nothing listens at: a connected UDP socket hears of the ICMP "port
 * unreachable" the closed port sends back, so the query fails now instead of at its deadline (a
 * list checked against a mistyped port had sat out every timeout, for hours).
 */
export class PortClosed extends Error {
  constructor(
    server: ServerAddress,
    /** False when the query was not sent: held while the port was known closed, it failed with the probe or at its deadline (UdpMux). */
    readonly sent = true,
  ) {
    super(`connection refused: nothing listens at ${formatServer(server)}`);
  }
}

/** One query over its own TCP connection. Only the answer can come back on it: anything else is a broken answer. */
function tcpExchange(server: ServerAddress, query: Buffer, key: QueryKey, deadline: number): Promise<WirePacket> {
  return new Promise((resolve, reject) => {
    const socket = net.createConnection({ host: server.host, port: server.port });
    const timer = setTimeout(() => finish(new Error('timeout')), Math.max(0, deadline - Date.now()));
    let buffered = Buffer.alloc(0);
    let done = false;
    function finish(err: Error | null, packet?: WirePacket): void {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      if (err) reject(err);
      else resolve(packet!);
    }
    socket.on('connect', () => {
      const framed = Buffer.alloc(query.length + 2);
      framed.writeUInt16BE(query.length, 0);
      query.copy(framed, 2);
      socket.write(framed);
    });
    socket.on('data', (chunk) => {
      buffered = Buffer.concat([buffered, chunk]);
      if (buffered.length < 2) return;
      const len = buffered.readUInt16BE(0);
      if (buffered.length < len + 2) return;
      const reply = classifyReply(buffered.subarray(2, len + 2), key);
      if (reply.kind === 'answer') finish(null, reply.packet);
      else if (reply.kind === 'malformed') finish(new MalformedMessage(reply.problem));
      else if (reply.kind === 'truncated') finish(new MalformedMessage('the answer over TCP is truncated (TC=1)'));
      else finish(new MalformedMessage(`over TCP the server sent ${reply.why}`));
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

/**
 * Query IDs from the operating system's random source, drawn 4,096 at a time. An off-path attacker
 * who guesses the ID (and the port) of a question over UDP can answer it first (RFC 5452 §4.3, §9.2);
 * Math.random is V8's xorshift128+, whose state a few of its outputs give away, so the next IDs
 * would be known too.
 */
const queryIds = new Uint16Array(4096);
let queryIdsLeft = 0;

export function randomQueryId(): number {
  if (queryIdsLeft === 0) {
    randomFillSync(queryIds);
    queryIdsLeft = queryIds.length;
  }
  return queryIds[--queryIdsLeft]!;
}

/** Ask over TCP alone (after a truncated UDP answer, or when asked to). */
export async function exchangeTcp(server: ServerAddress, name: string, type: string, opts: WireOptions, id = randomQueryId()): Promise<WirePacket> {
  try {
    return await tcpExchange(server, buildQuery(name, type, id, opts.recursionDesired, opts), queryKey(id, name, type), Date.now() + opts.timeoutMs);
  } catch (err) {
    if (err instanceof Error && err.message === 'timeout') throw new WireTimeout(server, name, type);
    throw err;
  }
}

/**
 * Ask one question; throws WireTimeout when the deadline passes, MalformedMessage when the answer
 * cannot be decoded whole, other errors when the transport fails.
 */
export async function exchange(server: ServerAddress, name: string, type: string, opts: WireOptions): Promise<WireResponse> {
  const deadline = Date.now() + opts.timeoutMs;
  const overTcp = (): Promise<WirePacket> => exchangeTcp(server, name, type, { ...opts, timeoutMs: Math.max(1, deadline - Date.now()) });
  if (opts.tcpOnly) return { packet: await overTcp(), tcp: true };
  const id = randomQueryId();
  const ignored = new IgnoredReplies();
  let reply: UdpOutcome;
  try {
    reply = await udpExchange(server, buildQuery(name, type, id, opts.recursionDesired, opts), queryKey(id, name, type), deadline, ignored);
  } catch (err) {
    if (err instanceof Error && err.message === 'timeout') throw new WireTimeout(server, name, type, ignored.describe());
    throw err;
  }
  return settleUdp(reply, overTcp);
}
