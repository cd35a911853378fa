/**
 * The embedded authoritative DNS server: serves a set of records over UDP and TCP on a local
 * address, for the quick start, `maildns serve` and every DNS test that needs no Knot.
 *
 * It uses dns2's packet codec but its own sockets, because dns2's server does not set AA,
 * does not echo EDNS OPT, corrupts TXT strings over 255 octets and cannot close while a TCP
 * client idles. Here: AA on in-zone answers, NXDOMAIN versus NODATA with the SOA in the
 * authority section, wildcards, in-zone CNAME chasing, TXT split into <=255-octet strings,
 * EDNS0 echoed, TC=1 over UDP when the answer does not fit, complete answers over TCP. ANY gets
 * one RRset of the name (RFC 8482 §4.1), zone transfers (AXFR, IXFR) are refused, and TCP
 * connections are closed when idle and capped in number (RFC 7766 §6.2.3, §6.2.2).
 */
import dgram from 'node:dgram';
import net from 'node:net';
import { InputError } from '../errors.js';
import { addressRecordProblem, formatIpv6, parseIpv6 } from '../ipv6.js';
import { isAtOrBelow, normalizeName } from '../names.js';
import { parseMxValue, parseSoaValue, parseTlsaValue, type DnsRecord } from '../records.js';
import { splitCharacterStrings } from '../txt.js';
import { packetCodec, RCODE, TYPE, type WirePacket, type WireRecord } from './packet.js';

export interface ServeOptions {
  records: readonly DnsRecord[];
  /** Apex names this server is authoritative for; `''` means every name. */
  zones: readonly string[];
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  /** Names whose queries get no answer at all (a server that times out). */
  silent?: readonly string[];
  /** Delay before every answer, to play a slow server. */
  delayMs?: number;
  /** Largest UDP answer whatever the client advertises (RFC 6891 leaves the cap to the server). */
  maxUdpPayload?: number;
  /** A TCP connection with nothing sent or received this long is closed (RFC 7766 §6.2.3: of the order of seconds). */
  tcpIdleTimeoutMs?: number;
  /** TCP connections open at once; more are closed as they arrive, so idle clients cannot exhaust the server. */
  maxTcpConnections?: number;
}

export interface RunningServer {
  host: string;
  port: number;
  /** Queries received so far. */
  queries: number;
  close(): Promise<void>;
}

const CLASSIC_UDP_LIMIT = 512;
const SYNTH_TTL = 3600;
const DEFAULT_TCP_IDLE_MS = 10_000;
const DEFAULT_MAX_TCP_CONNECTIONS = 100;
/** Meta question types (RFC 6895 §3.1): ANY, and the zone transfers this server does not offer. */
const QTYPE = { IXFR: 251, AXFR: 252, ANY: 255 } as const;

interface Zone {
  apex: string;
  byName: Map<string, DnsRecord[]>;
  /** Every name that exists, including empty non-terminals. */
  existing: Set<string>;
}

function buildZones(records: readonly DnsRecord[], apexes: readonly string[]): Zone[] {
  const zones: Zone[] = apexes.map((a) => ({ apex: normalizeName(a), byName: new Map(), existing: new Set() }));
  // Longest apex first so a record lands in its most specific zone.
  zones.sort((a, b) => b.apex.length - a.apex.length);
  for (const rec of records) {
    // An address that is none is refused here, before the server starts, not written malformed into answers.
    const problem = rec.type === 'A' || rec.type === 'AAAA' ? addressRecordProblem(rec.type, rec.value) : null;
    if (problem) throw new InputError(`the ${rec.type} record of ${rec.name}: ${problem}`);
    const name = normalizeName(rec.name);
    const zone = zones.find((z) => isAtOrBelow(name, z.apex));
    if (!zone) continue;
    const list = zone.byName.get(name) ?? [];
    list.push({ ...rec, name });
    zone.byName.set(name, list);
  }
  for (const zone of zones) {
    if (zone.apex !== '') synthesizeApex(zone);
    for (const name of zone.byName.keys()) {
      // Record every ancestor up to the apex so empty non-terminals answer NODATA, not NXDOMAIN.
      let n = name;
      while (true) {
        zone.existing.add(n);
        if (n === zone.apex) break;
        const dot = n.indexOf('.');
        if (dot < 0) break;
        n = n.slice(dot + 1);
      }
    }
  }
  return zones;
}

function synthesizeApex(zone: Zone): void {
  const at = zone.byName.get(zone.apex) ?? [];
  if (!at.some((r) => r.type === 'NS')) at.push({ name: zone.apex, type: 'NS', ttl: SYNTH_TTL, value: `ns.${zone.apex}` });
  if (!at.some((r) => r.type === 'SOA')) {
    at.push({ name: zone.apex, type: 'SOA', ttl: SYNTH_TTL, value: `ns.${zone.apex} hostmaster.${zone.apex} 1 3600 600 604800 300` });
  }
  zone.byName.set(zone.apex, at);
}

function toWire(rec: DnsRecord, ownerOverride?: string): WireRecord {
  const base = { name: ownerOverride ?? rec.name, type: TYPE[rec.type], class: 1, ttl: rec.ttl };
  switch (rec.type) {
    case 'A':
      return { ...base, address: rec.value };
    case 'AAAA':
      // dns2 writes the groups of the text it is given and reads a dotted-quad tail
      // (::ffff:192.0.2.1) as hex groups, so it gets the RFC 5952 text of the 16 octets: hex only.
      return { ...base, address: formatIpv6(parseIpv6(rec.value)!) };
    case 'CNAME':
    case 'PTR':
      return { ...base, domain: rec.value.replace(/\.$/, '') };
    case 'NS':
      return { ...base, ns: rec.value.replace(/\.$/, '') };
    case 'MX': {
      const mx = parseMxValue(rec.value);
      return { ...base, priority: mx.priority, exchange: mx.exchange };
    }
    case 'SOA': {
      const s = parseSoaValue(rec.value);
      return { ...base, primary: s.mname, admin: s.rname, serial: s.serial, refresh: s.refresh, retry: s.retry, expiration: s.expire, minimum: s.minimum };
    }
    case 'TXT':
    case 'SPF':
      return { ...base, data: (rec.strings ? rec.strings.map((t) => Buffer.from(t, 'utf8')) : splitCharacterStrings(rec.value)) as unknown as string[] };
    case 'TLSA': {
      // dns2 has no TLSA encoder: it writes `data` as the RDATA.
      const t = parseTlsaValue(rec.value);
      return { ...base, data: Buffer.concat([Buffer.from([t.usage, t.selector, t.matchingType]), Buffer.from(t.data, 'hex')]) };
    }
  }
}

class ZoneAnswerer {
  private readonly zones: Zone[];
  private readonly silent: Set<string>;

  constructor(records: readonly DnsRecord[], apexes: readonly string[], silent: readonly string[] = []) {
    this.zones = buildZones(records, apexes);
    this.silent = new Set(silent.map(normalizeName));
  }

  /** The response to a query, or null when the server should stay silent. */
  answer(query: WirePacket): WirePacket | null {
    const Packet = packetCodec();
    const response = new Packet();
    response.header.id = query.header.id;
    response.header.qr = 1;
    response.header.opcode = query.header.opcode;
    response.header.rd = query.header.rd;
    const question = query.questions[0];
    if (!question || query.header.opcode !== 0) {
      response.header.rcode = question ? RCODE.NOTIMP : RCODE.FORMERR; // FORMERR when there is no question
      return response;
    }
    response.questions.push(question);
    if (question.type === QTYPE.AXFR || question.type === QTYPE.IXFR) {
      response.header.rcode = RCODE.REFUSED;
      return response;
    }
    const qname = normalizeName(question.name);
    if (this.silent.has(qname)) return null;
    const zone = this.zones.find((z) => isAtOrBelow(qname, z.apex));
    if (!zone) {
      response.header.rcode = RCODE.REFUSED;
      return response;
    }
    response.header.aa = 1;
    const soa = zone.apex === '' ? undefined : zone.byName.get(zone.apex)?.find((r) => r.type === 'SOA');
    const negative = (): void => {
      if (soa) response.authorities.push(toWire({ ...soa, ttl: Math.min(soa.ttl, parseSoaValue(soa.value).minimum) }));
    };

    let owner = qname;
    for (let hop = 0; hop < 8; hop++) {
      const found = this.recordsAt(zone, owner);
      if (found === null) {
        // Past a CNAME the chain simply ends; at the question name the name does not exist.
        if (hop === 0) response.header.rcode = RCODE.NXDOMAIN;
        negative();
        return response;
      }
      // RFC 8482 §4.1: ANY is answered with one RRset of the name, not all of them.
      const first = found.records[0];
      const matching = question.type === QTYPE.ANY ? (first ? found.records.filter((r) => r.type === first.type) : []) : found.records.filter((r) => TYPE[r.type] === question.type);
      if (matching.length) {
        response.answers.push(...matching.map((r) => toWire(r, owner)));
        return response;
      }
      const cname = found.records.find((r) => r.type === 'CNAME');
      if (cname && question.type !== TYPE.CNAME) {
        response.answers.push(toWire(cname, owner));
        owner = normalizeName(cname.value);
        if (!isAtOrBelow(owner, zone.apex)) return response;
        continue;
      }
      negative();
      return response;
    }
    return response;
  }

  /** Records at a name (wildcard-expanded), an empty list for an empty non-terminal, null when the name does not exist. */
  private recordsAt(zone: Zone, name: string): { records: DnsRecord[] } | null {
    const direct = zone.byName.get(name);
    if (direct) return { records: direct };
    if (zone.existing.has(name)) return { records: [] };
    // RFC 4592: the closest encloser's wildcard answers for names that do not exist.
    let encloser = name;
    while (encloser !== zone.apex && encloser.includes('.')) {
      encloser = encloser.slice(encloser.indexOf('.') + 1);
      if (zone.existing.has(encloser) || encloser === zone.apex) {
        const wild = zone.byName.get(`*.${encloser}`);
        return wild ? { records: wild } : null;
      }
    }
    return null;
  }
}

function udpLimit(query: WirePacket, cap: number): number {
  const opt = query.additionals.find((r) => r.type === TYPE.OPT);
  if (!opt) return CLASSIC_UDP_LIMIT;
  return Math.min(Math.max(opt.class, CLASSIC_UDP_LIMIT), cap);
}

function withEdns(query: WirePacket, response: WirePacket, payload: number): void {
  if (query.additionals.some((r) => r.type === TYPE.OPT)) response.additionals.push(packetCodec().Resource.EDNS([], { udpPayloadSize: payload }));
}

function encodeForUdp(response: WirePacket, limit: number): Buffer {
  const full = response.toBuffer();
  if (full.length <= limit) return full;
  // RFC 2181 §9: drop the data and set TC so the client asks again over TCP.
  response.header.tc = 1;
  response.answers = [];
  response.authorities = [];
  return response.toBuffer();
}

export async function startServer(opts: ServeOptions): Promise<RunningServer> {
  const host = opts.host ?? '127.0.0.1';
  const answerer = new ZoneAnswerer(opts.records, opts.zones, opts.silent);
  const cap = opts.maxUdpPayload ?? 1232;
  const delay = opts.delayMs ?? 0;
  const sockets = new Set<net.Socket>();
  const state = { queries: 0 };

  const respond = async (raw: Buffer): Promise<{ query: WirePacket; response: WirePacket } | null> => {
    state.queries++;
    let query: WirePacket;
    try {
      query = packetCodec().parse(raw);
    } catch {
      return null; // Not a DNS message: nothing sensible to answer.
    }
    const response = answerer.answer(query);
    if (!response) return null;
    if (delay) await new Promise((r) => setTimeout(r, delay));
    return { query, response };
  };

  const tcp = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    // Node's socket timeout counts from the last read or write: an idle connection is closed.
    socket.setTimeout(opts.tcpIdleTimeoutMs ?? DEFAULT_TCP_IDLE_MS, () => socket.destroy());
    let buffered = Buffer.alloc(0);
    socket.on('data', (chunk) => {
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= 2 && buffered.length >= buffered.readUInt16BE(0) + 2) {
        const len = buffered.readUInt16BE(0);
        const message = buffered.subarray(2, len + 2);
        buffered = buffered.subarray(len + 2);
        void respond(message).then((r) => {
          if (!r || socket.destroyed) return;
          withEdns(r.query, r.response, cap);
          const out = r.response.toBuffer();
          const framed = Buffer.alloc(out.length + 2);
          framed.writeUInt16BE(out.length, 0);
          out.copy(framed, 2);
          socket.write(framed);
        });
      }
    });
  });

  const openUdp = (): dgram.Socket => {
    const udp = dgram.createSocket(net.isIPv6(host) ? 'udp6' : 'udp4');
    udp.on('message', (msg, rinfo) => {
      void respond(msg).then((r) => {
        if (!r) return;
        withEdns(r.query, r.response, cap);
        udp.send(encodeForUdp(r.response, udpLimit(r.query, cap)), rinfo.port, rinfo.address);
      });
    });
    return udp;
  };

  // Connections over the cap are closed by Node as they are accepted.
  tcp.maxConnections = opts.maxTcpConnections ?? DEFAULT_MAX_TCP_CONNECTIONS;

  // Bind TCP first (port 0 picks one), then UDP on the same number; retry if UDP's is taken.
  for (let attempt = 0; ; attempt++) {
    const port = await new Promise<number>((resolve, reject) => {
      tcp.once('error', reject);
      tcp.listen(opts.port ?? 0, host, () => {
        tcp.off('error', reject);
        resolve((tcp.address() as net.AddressInfo).port);
      });
    });
    const udp = openUdp();
    try {
      await new Promise<void>((resolve, reject) => {
        udp.once('error', reject);
        udp.bind(port, host, () => {
          udp.off('error', reject);
          resolve();
        });
      });
      return {
        host,
        port,
        get queries() {
          return state.queries;
        },
        close: async () => {
          for (const s of sockets) s.destroy();
          await Promise.all([new Promise<void>((r) => tcp.close(() => r())), new Promise<void>((r) => udp.close(() => r()))]);
        },
      };
    } catch (err) {
      udp.close();
      await new Promise<void>((r) => tcp.close(() => r()));
      if ((opts.port ?? 0) !== 0 || attempt > 5) throw err;
    }
  }
}
