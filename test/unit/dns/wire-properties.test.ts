/**
 * Properties of the wire decoder over generated and mutated messages (fast-check): it gives a
 * whole message or MalformedMessage and nothing else, never a partial record set, and reads what
 * dns2's codec reads wherever both take a message. `npm test` runs a few hundred cases per
 * property; `npm run fuzz` runs the same properties with MAILDNS_FUZZ_RUNS cases each.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { packetCodec, type WirePacket, type WireRecord } from '../../../src/dns/packet.js';
import { classifyReply, decodeMessage, MalformedMessage, queryKey } from '../../../src/dns/wire.js';
import { normalizeName } from '../../../src/names.js';

const Packet = packetCodec();

const RUNS = Number(process.env['MAILDNS_FUZZ_RUNS'] ?? 150);
const TIMEOUT = process.env['MAILDNS_FUZZ_RUNS'] ? 24 * 3600_000 : 30_000;
const params = { numRuns: RUNS };

/** Types the decoder reads field by field; any other type is kept as its RDATA. */
const READ_TYPES = new Set([1, 2, 5, 6, 12, 15, 16, 28, 41, 99]);

const label = fc.stringMatching(/^[a-zA-Z0-9_-]{1,20}$/);
const name = fc.array(label, { minLength: 1, maxLength: 4 }).map((ls) => ls.join('.'));
const ttl = fc.integer({ min: 0, max: 0x7fffffff });
const characterString = fc.string({ maxLength: 60 }).filter((s) => Buffer.byteLength(s) <= 255);

/** One record of a type maildns reads, or of a private-use type neither codec knows (kept as RDATA by both). */
const record: fc.Arbitrary<WireRecord> = fc.oneof(
  fc.record({ name, type: fc.constant(1), class: fc.constant(1), ttl, address: fc.ipV4() }),
  fc.record({ name, type: fc.constant(28), class: fc.constant(1), ttl, address: fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => toIpv6Text(b)) }),
  fc.record({ name, type: fc.constantFrom(5, 12), class: fc.constant(1), ttl, domain: name }),
  fc.record({ name, type: fc.constant(2), class: fc.constant(1), ttl, ns: name }),
  fc.record({ name, type: fc.constant(15), class: fc.constant(1), ttl, priority: fc.integer({ min: 0, max: 0xffff }), exchange: name }),
  fc.record({ name, type: fc.constantFrom(16, 99), class: fc.constant(1), ttl, data: fc.array(characterString, { minLength: 1, maxLength: 4 }) }),
  fc.record({
    name,
    type: fc.constant(6),
    class: fc.constant(1),
    ttl,
    primary: name,
    admin: name,
    serial: fc.nat(),
    refresh: fc.nat(),
    retry: fc.nat(),
    expiration: fc.nat(),
    minimum: fc.nat(),
  }),
  fc.record({ name, type: fc.integer({ min: 65280, max: 65534 }), class: fc.constant(1), ttl, data: fc.uint8Array({ maxLength: 20 }).map((b) => Buffer.from(b)) }),
);

function toIpv6Text(bytes: Uint8Array): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i]! << 8) | bytes[i + 1]!).toString(16));
  return groups.join(':');
}

/** A well-formed message as dns2's codec writes it (with name compression). */
const message = fc
  .record({
    id: fc.integer({ min: 0, max: 0xffff }),
    rcode: fc.constantFrom(0, 2, 3, 5),
    aa: fc.integer({ min: 0, max: 1 }),
    question: fc.record({ name, type: fc.constantFrom(1, 15, 16, 28) }),
    answers: fc.array(record, { maxLength: 5 }),
    authorities: fc.array(record, { maxLength: 3 }),
    additionals: fc.array(record, { maxLength: 3 }),
    edns: fc.boolean(),
  })
  .map((m) => {
    const p = new Packet();
    p.header.id = m.id;
    p.header.qr = 1;
    p.header.aa = m.aa;
    p.header.rcode = m.rcode;
    p.questions.push({ ...m.question, class: 1 });
    p.answers.push(...m.answers);
    p.authorities.push(...m.authorities);
    p.additionals.push(...m.additionals);
    if (m.edns) p.additionals.push(Packet.Resource.EDNS([], { udpPayloadSize: 1232 }));
    return p.toBuffer();
  });

/** Damage of the kinds broken servers and the mutations produce: bytes overwritten, cut, inserted, pointers aimed anywhere. */
const mutation = fc.oneof(
  fc.record({ kind: fc.constant('set' as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('pointer' as const), at: fc.nat(), target: fc.integer({ min: 0, max: 0x3fff }) }),
  fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 4 }) }),
  fc.record({ kind: fc.constant('length' as const), at: fc.nat(), delta: fc.integer({ min: -3, max: 3 }) }),
);
type Mutation = typeof mutation extends fc.Arbitrary<infer M> ? M : never;

function mutate(buf: Buffer, changes: readonly Mutation[]): Buffer {
  let out = Buffer.from(buf);
  for (const c of changes) {
    if (out.length === 0) break;
    const at = c.at % out.length;
    switch (c.kind) {
      case 'set':
        out[at] = c.byte;
        break;
      case 'pointer':
        if (at + 1 < out.length) out.writeUInt16BE(0xc000 | c.target, at);
        break;
      case 'cut':
        out = out.subarray(0, at);
        break;
      case 'insert':
        out = Buffer.concat([out.subarray(0, at), Buffer.from(c.bytes), out.subarray(at)]);
        break;
      case 'length':
        out[at] = (out[at]! + c.delta) & 0xff;
        break;
    }
  }
  return out;
}

const damaged = fc.tuple(message, fc.array(mutation, { minLength: 1, maxLength: 4 })).map(([buf, changes]) => mutate(buf, changes));

type Outcome = { ok: true; packet: WirePacket } | { ok: false; problem: string };

/** The decoder's outcome; anything it throws other than MalformedMessage fails the property. */
function decode(buf: Buffer): Outcome {
  try {
    return { ok: true, packet: decodeMessage(buf) };
  } catch (err) {
    if (err instanceof MalformedMessage) return { ok: false, problem: err.problem };
    throw err;
  }
}

/**
 * What both codecs must agree on: every field, except the fields of records the decoder keeps as
 * RDATA, and the strings of a TXT record that may hold a UTF-8 character split between two of them
 * (`splitTxt`, see mayHoldSplitCharacter), which the decoder reads whole and dns2 as two U+FFFD.
 */
function comparable(p: WirePacket, splitTxt = false): unknown {
  const rec = (r: WireRecord): unknown => (READ_TYPES.has(r.type) ? (splitTxt && (r.type === 16 || r.type === 99) ? { ...r, data: null } : { ...r }) : { name: r.name, type: r.type, class: r.class, ttl: r.ttl });
  return { header: { ...p.header }, questions: p.questions.map((q) => ({ ...q })), answers: p.answers.map(rec), authorities: p.authorities.map(rec), additionals: p.additionals.map(rec) };
}

/** Whether dns2 read a string of a TXT record ending in U+FFFD and the next beginning with one: where a character may have been split. */
function mayHoldSplitCharacter(p: WirePacket): boolean {
  return [...p.answers, ...p.authorities, ...p.additionals].some((r) => (r.type === 16 || r.type === 99) && Array.isArray(r.data) && (r.data as string[]).some((str, i, all) => str.endsWith('\ufffd') && all[i + 1]?.startsWith('\ufffd')));
}

/** dns2 clamps an OPT record's TTL before reading the extended RCODE from it (RFC 6891 §6.1.3 puts it in the top byte). */
function optTtlTopBitSet(p: WirePacket): boolean {
  return p.additionals.some((r) => r.type === 41 && (r as { extendedRcode?: number }).extendedRcode! >= 0x80);
}

describe('wire decoder properties', () => {
  it('decodes every well-formed message whole, as dns2 reads it', () => {
    fc.assert(
      fc.property(message, (buf) => {
        const ours = decode(buf);
        if (!ours.ok) throw new Error(`a well-formed message was refused: ${ours.problem}`);
        const theirs = Packet.parse(buf) as WirePacket & { errors: unknown[] };
        expect(theirs.errors).toEqual([]);
        expect(comparable(ours.packet)).toEqual(comparable(theirs));
      }),
      params,
    );
  }, TIMEOUT);

  it('reads a TXT value cut into character-strings at any octets, through its characters too, as the value joined', () => {
    const value = fc.string({ unit: 'binary', minLength: 1, maxLength: 120 });
    fc.assert(
      fc.property(value, fc.array(fc.nat(), { maxLength: 6 }), (text, cuts) => {
        const octets = Buffer.from(text);
        fc.pre(octets.length <= 255 * 4);
        const at = [...new Set(cuts.map((c) => c % (octets.length + 1)))].sort((a, b) => a - b);
        const pieces: Buffer[] = [];
        let from = 0;
        for (const cut of [...at, octets.length]) {
          // Pieces of at most 255 octets: cut again where a piece would be longer.
          for (; cut - from > 255; from += 255) pieces.push(octets.subarray(from, from + 255));
          pieces.push(octets.subarray(from, cut));
          from = cut;
        }
        const rdata = Buffer.concat(pieces.flatMap((piece) => [Buffer.from([piece.length]), piece]));
        const head = Buffer.from([0, 1, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0, 1, 0x61, 0, 0, 16, 0, 1, 0xc0, 12, 0, 16, 0, 1, 0, 0, 0, 60, rdata.length >> 8, rdata.length & 0xff]);
        const ours = decode(Buffer.concat([head, rdata]));
        if (!ours.ok) throw new Error(ours.problem);
        const strings = (ours.packet.answers[0] as unknown as { data: string[] }).data;
        // A character cut into three strings or more (a string of one or two octets inside it) is the one exception.
        fc.pre(!pieces.slice(1, -1).some((piece) => piece.length < 3));
        expect(strings.join('')).toBe(text);
        expect(strings).toHaveLength(pieces.length);
      }),
      params,
    );
  }, TIMEOUT);

  it('gives a damaged message whole or not at all: every record the header counts, or MalformedMessage', () => {
    fc.assert(
      fc.property(damaged, (buf) => {
        const ours = decode(buf);
        if (!ours.ok) return;
        const counts = [4, 6, 8, 10].map((o) => buf.readUInt16BE(o));
        const p = ours.packet;
        expect([p.questions.length, p.answers.length, p.authorities.length, p.additionals.length]).toEqual(counts);
      }),
      params,
    );
  }, TIMEOUT);

  it('reads a damaged message as dns2 does wherever both take it whole', () => {
    fc.assert(
      fc.property(damaged, (buf) => {
        const ours = decode(buf);
        let theirs: (WirePacket & { errors: unknown[] }) | null = null;
        try {
          theirs = Packet.parse(buf) as WirePacket & { errors: unknown[] };
        } catch {
          /* dns2 refused the header: nothing to compare */
        }
        if (!ours.ok || !theirs || theirs.errors.length || optTtlTopBitSet(ours.packet)) return;
        const split = mayHoldSplitCharacter(theirs);
        expect(comparable(ours.packet, split)).toEqual(comparable(theirs, split));
      }),
      params,
    );
  }, TIMEOUT);

  it('never takes a damaged record of a type maildns reads where dns2 finds it broken', () => {
    fc.assert(
      fc.property(damaged, (buf) => {
        type Parsed = WirePacket & { errors: { section?: string; index?: number }[] };
        let theirs: Parsed;
        try {
          theirs = Packet.parse(buf) as Parsed;
        } catch {
          return;
        }
        const ours = decode(buf);
        if (!ours.ok || !theirs.errors.length) return;
        // dns2 found a broken record we took: only one whose RDATA we keep as it came may be (a type we
        // do not read, or EDNS options), as dns2 reads their fields itself.
        const e = theirs.errors[0]!;
        const section = ours.packet[(e.section ?? 'answers') as 'answers'];
        const type = section?.[e.index ?? 0]?.type;
        expect(type === undefined ? 'no such record' : READ_TYPES.has(type) && type !== 41 ? `type ${type}` : 'kept as RDATA').toBe('kept as RDATA');
      }),
      params,
    );
  }, TIMEOUT);

  it('classifies any message received for a query as one of four outcomes, the answer only when its question matches', () => {
    fc.assert(
      fc.property(damaged, (buf) => {
        if (buf.length < 12) return;
        const id = buf.readUInt16BE(0);
        const first = decode(buf);
        const q = first.ok ? first.packet.questions[0] : undefined;
        const key = queryKey(id, q?.name ?? 'example.test', 'TXT');
        const reply = classifyReply(buf, key);
        expect(['answer', 'truncated', 'malformed', 'unrelated']).toContain(reply.kind);
        if (reply.kind === 'answer') {
          const asked = reply.packet.questions[0];
          if (asked) expect([asked.type, asked.class, normalizeName(asked.name)]).toEqual([16, 1, key.name]);
          else expect(reply.packet.header.rcode === 0 || reply.packet.header.rcode === 3).toBe(false);
        }
      }),
      params,
    );
  }, TIMEOUT);
});
