import { describe, expect, it } from 'vitest';
import { packetCodec, type WirePacket, type WireRecord } from '../../../src/dns/packet.js';
import { buildFramedQuery, buildQuery, classifyReply, decodeMessage, FramedQueryBuffer, queryKey } from '../../../src/dns/wire.js';
import { encodeMessage, encodeName, problemOf, rdata, T, type RawMessage } from '../../helpers/hostile-dns.js';

const Packet = packetCodec();

/** An answer as dns2's codec writes it: the question, records in the three sections, an OPT record. */
function response(records: { answers?: WireRecord[]; authorities?: WireRecord[] }, flags: { aa?: number; tc?: number; rcode?: number } = {}): Buffer {
  const p = new Packet();
  p.header.id = 4242;
  p.header.qr = 1;
  p.header.aa = flags.aa ?? 1;
  p.header.tc = flags.tc ?? 0;
  p.header.rcode = flags.rcode ?? 0;
  p.questions.push({ name: 'example.test', type: 16, class: 1 });
  p.answers.push(...(records.answers ?? []));
  p.authorities.push(...(records.authorities ?? []));
  p.additionals.push(Packet.Resource.EDNS([], { udpPayloadSize: 1232 }));
  return p.toBuffer();
}

const rr = (type: number, fields: Partial<WireRecord>, name = 'example.test'): WireRecord => ({ name, type, class: 1, ttl: 300, ...fields });
const plain = (p: WirePacket | null): unknown => p && { header: p.header, questions: p.questions, answers: p.answers, authorities: p.authorities, additionals: p.additionals };

describe('the wire decoder', () => {
  const cases: [string, Buffer][] = [
    ['A and AAAA', response({ answers: [rr(1, { address: '192.0.2.1' }), rr(28, { address: '2001:db8::1' }), rr(28, { address: '::ffff:192.0.2.9' })] })],
    ['MX, NS, PTR and a CNAME chain', response({ answers: [rr(5, { domain: 'alias.example.test' }), rr(15, { priority: 10, exchange: 'mx1.example.test' }, 'alias.example.test'), rr(2, { ns: 'ns1.example.test' }), rr(12, { domain: 'host.example.test' })] })],
    ['TXT with several strings, an empty one and 255 octets', response({ answers: [rr(16, { data: ['v=spf1 ip4:192.0.2.0/24', ' -all'] }), rr(16, { data: [''] }), rr(16, { data: ['x'.repeat(255), 'y'] })] })],
    ['NODATA with the SOA in the authority section', response({ authorities: [rr(6, { primary: 'ns1.example.test', admin: 'hostmaster.example.test', serial: 2024010101, refresh: 7200, retry: 3600, expiration: 1209600, minimum: 300 })] })],
    ['NXDOMAIN, truncated, not authoritative', response({}, { rcode: 3, tc: 1, aa: 0 })],
  ];
  for (const [what, buf] of cases) {
    it(`reads ${what} exactly as dns2's codec does`, () => {
      expect(plain(decodeMessage(buf))).toEqual(plain(Packet.parse(buf)));
    });
  }

  it('reads a UTF-8 character split between two TXT character-strings as that character, on every TXT record of an answer', () => {
    // A DNS host that cuts a value every 255 octets cuts "é" (c3 a9) in two; joined, the strings are the text.
    const value = `${'x'.repeat(254)}é, ok`;
    const octets = Buffer.from(value);
    const split = (at: number): Buffer => Buffer.concat([Buffer.from([at]), octets.subarray(0, at), Buffer.from([octets.length - at]), octets.subarray(at)]);
    const buf = encodeMessage({ id: 1, questions: [{ name: 'example.test', type: T.TXT }], answers: [255, 254, 253].map((at) => ({ name: { pointer: 12 }, type: T.TXT, rdata: split(at) })) });
    const records = decodeMessage(buf).answers.map((r) => (r as unknown as { data: string[] }).data);
    expect(records.map((strings) => strings.join(''))).toEqual([value, value, value]);
    // The character is in the string it begins in; the others are as they were cut.
    expect(records.map((strings) => strings.map((str) => str.length))).toEqual([[255, 4], [254, 5], [253, 6]]);
    // Octets that are no UTF-8 stay replaced, as a single string's are: c3 then a string beginning with "A".
    const broken = encodeMessage({ id: 1, questions: [{ name: 'example.test', type: T.TXT }], answers: [{ name: { pointer: 12 }, type: T.TXT, rdata: Buffer.from([1, 0xc3, 2, 0x41, 0xff]) }] });
    expect((decodeMessage(broken).answers[0] as unknown as { data: string[] }).data.join('')).toBe(Buffer.from([0xc3, 0x41, 0xff]).toString('utf8'));
  });

  it('reads a U+FFFD published in the value (ef bf bd) and split between two strings as the one character it is', () => {
    const value = `${'x'.repeat(254)}\ufffd.`;
    const octets = Buffer.from(value);
    const buf = encodeMessage({ id: 1, questions: [{ name: 'example.test', type: T.TXT }], answers: [{ name: { pointer: 12 }, type: T.TXT, rdata: Buffer.concat([Buffer.from([255]), octets.subarray(0, 255), Buffer.from([octets.length - 255]), octets.subarray(255)]) }] });
    expect((decodeMessage(buf).answers[0] as unknown as { data: string[] }).data.join('')).toBe(value);
  });

  it('writes a packet it read back out byte for byte', () => {
    for (const [, buf] of cases) expect(decodeMessage(buf).toBuffer().equals(buf)).toBe(true);
  });

  it('keeps records of types it does not read as their RDATA, and non-ASCII names octet for octet', () => {
    // An A answer relabelled as type 257 (CAA): header 12, question 18, answer owner a 2-byte pointer.
    const caa = Buffer.from(response({ answers: [rr(1, { address: '192.0.2.1' })] }));
    expect(caa.readUInt16BE(32)).toBe(1);
    caa.writeUInt16BE(257, 32);
    expect(decodeMessage(caa).answers[0]).toMatchObject({ type: 257, data: Buffer.from([192, 0, 2, 1]) });
    const latin = Buffer.from(response({ answers: [rr(1, { address: '192.0.2.1' })] }));
    latin[13] = 0xe9; // a byte of the question name outside printable ASCII
    expect(decodeMessage(latin).questions[0]!.name).toBe(Packet.parse(latin).questions[0]!.name);
  });

  it('builds queries byte for byte as the codec does, with EDNS0 and the RD bit as asked', () => {
    const names = [['example.test', 'TXT', true], ['_dmarc.Example.Test.', 'TXT', false], ['mail._domainkey.example.test', 'TXT', false], ['example.test', 'MX', true], ['a..b.test', 'A', false], ['.', 'NS', true], [`${'x'.repeat(63)}.test`, 'TXT', false], ['bücher.test', 'TXT', true]] as const;
    for (const [name, type, rd] of names) {
      const codec = new Packet();
      codec.header.id = 77;
      codec.header.rd = rd ? 1 : 0;
      codec.questions.push({ name, type: Packet.TYPE[type]!, class: 1 });
      codec.additionals.push(Packet.Resource.EDNS([], { udpPayloadSize: 1232 }));
      expect(buildQuery(name, type, 77, rd).equals(codec.toBuffer())).toBe(true);
      // Over TCP: the same message after its two-octet length.
      const framed = buildFramedQuery(name, type, 77, rd);
      expect(framed.readUInt16BE(0)).toBe(framed.length - 2);
      expect(framed.subarray(2).equals(codec.toBuffer())).toBe(true);
    }
  });

  it('puts pipelined queries one after another, each as buildFramedQuery frames it, and never rewrites what it handed out', () => {
    const out = new FramedQueryBuffer();
    expect(out.empty).toBe(true);
    expect(out.take()).toBeNull();
    const questions = [['example.test', 'TXT'], ['bücher.test', 'MX'], ['_dmarc.Example.Test.', 'TXT'], ['.', 'NS']] as const;
    for (const [i, [name, type]] of questions.entries()) out.add(name, type, 100 + i, i % 2 === 0, { dnssecOk: i === 3 });
    const first = out.take()!;
    const expected = Buffer.concat(questions.map(([name, type], i) => buildFramedQuery(name, type, 100 + i, i % 2 === 0, { dnssecOk: i === 3 })));
    expect(first.equals(expected)).toBe(true);
    const kept = Buffer.from(first);
    // Enough to need a new buffer several times over: what was taken before stays as it was.
    const many = Array.from({ length: 2000 }, (_, i) => `host${i}.example.test`);
    for (const [i, name] of many.entries()) out.add(name, 'A', i, false, {});
    const second = out.take()!;
    expect(first.equals(kept)).toBe(true);
    expect(second.equals(Buffer.concat(many.map((name, i) => buildFramedQuery(name, 'A', i, false, {}))))).toBe(true);
    out.add('dropped.test', 'TXT', 1, false, {});
    out.clear();
    expect(out.empty).toBe(true);
    // A name that cannot be sent throws and puts nothing.
    expect(() => out.add(`${'x'.repeat(64)}.test`, 'TXT', 1, false, {})).toThrow();
    expect(out.take()).toBeNull();
  });
});

/** The name mail\.example.test on the wire: the label "mail.example", then "test". */
const DOTTED_LABEL_NAME = Buffer.concat([Buffer.from([12]), Buffer.from('mail.example'), Buffer.from([4]), Buffer.from('test'), Buffer.from([0])]);

describe('the wire decoder refuses a message it cannot decode whole', () => {
  const question = { name: 'example.test', type: T.TXT };
  const txt = (m: Partial<RawMessage> = {}): RawMessage => ({ id: 1, questions: [question], answers: [{ name: { pointer: 12 }, type: T.TXT, rdata: rdata.txt('v=spf1 -all') }], ...m });
  const malformed: [string, Buffer, RegExp][] = [
    ['a compression pointer to itself', encodeMessage(txt({ answers: [{ name: { pointer: 'self' }, type: T.TXT, rdata: rdata.txt('v=spf1 -all') }] })), /points to \d+, not to an earlier name/],
    // Two pointers that point at each other: the second one's target is the first, which points forward.
    ['two compression pointers pointing at each other', Buffer.concat([encodeMessage({ id: 1, questions: [{ name: { pointer: 14 }, type: T.TXT }] }).subarray(0, 12), Buffer.from([0xc0, 14, 0xc0, 12, 0, 16, 0, 1])]), /compression pointer at offset 12 points to 14/],
    ['a pointer into the header', encodeMessage(txt({ answers: [{ name: { pointer: 4 }, type: T.TXT, rdata: rdata.txt('x') }] })), /points into the header/],
    ['RDATA shorter than RDLENGTH', encodeMessage(txt({ answers: [{ name: { pointer: 12 }, type: T.TXT, rdata: rdata.txt('v=spf1 -all'), rdlength: 40 }] })), /declares 40 octets of RDATA, only 12 remain/],
    ['a label over 63 octets', encodeMessage(txt({ answers: [{ name: Buffer.concat([Buffer.from([64]), Buffer.alloc(64, 0x61), Buffer.from([0])]), type: T.TXT, rdata: rdata.txt('x') }] })), /label length 64 .* over 63 octets/],
    ['a name over 255 octets', encodeMessage(txt({ answers: [{ name: Array.from({ length: 5 }, () => 'a'.repeat(60)).join('.'), type: T.TXT, rdata: rdata.txt('x') }] })), /longer than 255 octets/],
    ['a record the header counts but the message lacks', encodeMessage(txt({ counts: { an: 2 } })), /answer record 2: .*runs past the end/],
    ['octets after the last record', Buffer.concat([encodeMessage(txt()), Buffer.from([0, 0, 0])]), /3 octets follow the last record/],
    ['a TXT string running past its RDATA', encodeMessage(txt({ answers: [{ name: { pointer: 12 }, type: T.TXT, rdata: Buffer.from([20, 0x61, 0x62]) }] })), /character-string running past its RDATA/],
    ['a TXT record with no string', encodeMessage(txt({ answers: [{ name: { pointer: 12 }, type: T.TXT, rdata: Buffer.alloc(0) }] })), /no character-string/],
    ['an A record of 5 octets', encodeMessage(txt({ answers: [{ name: { pointer: 12 }, type: T.A, rdata: Buffer.from([192, 0, 2, 1, 9]) }] })), /5 octets of address, not 4/],
    ['a CNAME whose name does not fill its RDATA', encodeMessage(txt({ answers: [{ name: { pointer: 12 }, type: T.CNAME, rdata: Buffer.concat([encodeName('a.test'), Buffer.from([7])]) }] })), /fills 8 of its 9 octets/],
    ['a CNAME whose name runs past its RDATA', encodeMessage(txt({ answers: [{ name: { pointer: 12 }, type: T.CNAME, rdata: encodeName('a.test'), rdlength: 3 }, { name: { pointer: 12 }, type: T.A, rdata: rdata.a('192.0.2.1') }] })), /runs past the end/],
    ['an SOA cut short', encodeMessage(txt({ authorities: [{ name: { pointer: 12 }, type: T.SOA, rdata: rdata.soa('ns.test', 'h.test', 1).subarray(0, 30) }], answers: [] })), /fills/],
    ['an OPT record in the answer section', encodeMessage(txt({ answers: [{ name: '', type: T.OPT, class: 1232, ttl: 0, rdata: Buffer.alloc(0) }] })), /OPT record out of place/],
    ['a message shorter than its header', Buffer.from([0, 1, 0x81, 0]), /shorter than a header/],
    // One label "mail.example", then "test": mail\.example.test, which reads as the host mail.example.test.
    ['an MX host with a "." inside a label', encodeMessage(txt({ answers: [{ name: { pointer: 12 }, type: T.MX, rdata: Buffer.concat([Buffer.from([0, 10]), DOTTED_LABEL_NAME]) }] })), /answer record 1 \(example\.test type 15\) names a host with a "\." inside a label \(read as "mail\.example\.test"/],
    ['a CNAME target with a "." inside a label', encodeMessage(txt({ answers: [{ name: { pointer: 12 }, type: T.CNAME, rdata: DOTTED_LABEL_NAME }] })), /inside a label/],
    ['a PTR name with a "." inside a label, reached through a compression pointer', encodeMessage(txt({ questions: [{ name: DOTTED_LABEL_NAME, type: T.PTR }], answers: [{ name: 'x.test', type: T.PTR, rdata: Buffer.from([0xc0, 12]) }] })), /inside a label/],
    ['an NS host with a "." inside a label', encodeMessage(txt({ answers: [], authorities: [{ name: { pointer: 12 }, type: T.NS, rdata: DOTTED_LABEL_NAME }] })), /inside a label/],
  ];
  for (const [what, buf, problem] of malformed) {
    it(`refuses ${what}, and throws MalformedMessage alone`, () => {
      expect(problemOf(buf)).toMatch(problem);
    });
  }

  it('still reads an SOA whose mailbox has a "." in its first label (first\\.last.example.test), as negative answers carry', () => {
    const mailbox = Buffer.concat([Buffer.from([10]), Buffer.from('first.last'), encodeName('example.test')]);
    const nums = rdata.soa('ns.test', 'h.test', 7).subarray(-20);
    const buf = encodeMessage(txt({ answers: [], authorities: [{ name: { pointer: 12 }, type: T.SOA, rdata: Buffer.concat([encodeName('ns.example.test'), mailbox, nums]) }] }));
    expect(problemOf(buf)).toBeNull();
    expect(decodeMessage(buf).authorities[0]).toMatchObject({ primary: 'ns.example.test', serial: 7 });
  });
});

describe('which message answers a query', () => {
  const key = queryKey(4242, 'Example.Test.', 'TXT');
  const reply = (m: Partial<RawMessage>): Buffer => encodeMessage({ id: 4242, questions: [{ name: 'example.test', type: T.TXT }], answers: [{ name: { pointer: 12 }, type: T.TXT, rdata: rdata.txt('v=spf1 -all') }], ...m });

  it('takes the answer whose ID and question match, the name compared case-insensitively', () => {
    expect(classifyReply(reply({ questions: [{ name: 'EXAMPLE.test', type: T.TXT }] }), key)).toMatchObject({ kind: 'answer' });
  });

  it('tells apart what is not an answer to it: another ID, a query, another name, type or class', () => {
    expect(classifyReply(reply({ id: 4243 }), key)).toMatchObject({ kind: 'unrelated', why: expect.stringMatching(/another ID/) });
    expect(classifyReply(reply({ qr: false }), key)).toMatchObject({ kind: 'unrelated', why: expect.stringMatching(/QR=0/) });
    expect(classifyReply(reply({ questions: [{ name: 'other.test', type: T.TXT }] }), key)).toMatchObject({ kind: 'unrelated', why: expect.stringMatching(/another question \(other\.test type 16 class 1\)/) });
    expect(classifyReply(reply({ questions: [{ name: 'example.test', type: T.A }] }), key)).toMatchObject({ kind: 'unrelated' });
    expect(classifyReply(reply({ questions: [{ name: 'example.test', type: T.TXT, class: 3 }] }), key)).toMatchObject({ kind: 'unrelated' });
    expect(classifyReply(reply({ questions: [], answers: [] }), key)).toMatchObject({ kind: 'unrelated', why: 'an answer without a question' });
  });

  it('takes an error without a question as the answer, since it can only be a failure', () => {
    expect(classifyReply(reply({ questions: [], answers: [], rcode: 5 }), key)).toMatchObject({ kind: 'answer' });
  });

  it('calls a truncated answer truncated without reading past the question, and a broken one malformed', () => {
    const cut = reply({ tc: true }).subarray(0, 40);
    expect(classifyReply(cut, key)).toEqual({ kind: 'truncated' });
    expect(classifyReply(reply({}).subarray(0, 40), key)).toMatchObject({ kind: 'malformed' });
    expect(classifyReply(reply({ questions: [{ name: { pointer: 'self' }, type: T.TXT }] }), key)).toMatchObject({ kind: 'malformed' });
    expect(classifyReply(reply({ questions: [{ name: 'example.test', type: T.TXT }, { name: 'example.test', type: T.TXT }] }), key)).toMatchObject({ kind: 'malformed', problem: 'the answer has 2 questions' });
  });
});
