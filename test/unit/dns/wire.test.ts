import { describe, expect, it } from 'vitest';
import { Packet, type WirePacket, type WireRecord } from '../../../src/dns/packet.js';
import { buildQuery, parsePacket, parseSimplePacket } from '../../../src/dns/wire.js';

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

describe('the fast reader of simple answers', () => {
  const cases: [string, Buffer][] = [
    ['A and AAAA', response({ answers: [rr(1, { address: '192.0.2.1' }), rr(28, { address: '2001:db8::1' }), rr(28, { address: '::ffff:192.0.2.9' })] })],
    ['MX, NS, PTR and a CNAME chain', response({ answers: [rr(5, { domain: 'alias.example.test' }), rr(15, { priority: 10, exchange: 'mx1.example.test' }, 'alias.example.test'), rr(2, { ns: 'ns1.example.test' }), rr(12, { domain: 'host.example.test' })] })],
    ['TXT with several strings, an empty one and 255 octets', response({ answers: [rr(16, { data: ['v=spf1 ip4:192.0.2.0/24', ' -all'] }), rr(16, { data: [''] }), rr(16, { data: ['x'.repeat(255), 'y'] })] })],
    ['NODATA with the SOA in the authority section', response({ authorities: [rr(6, { primary: 'ns1.example.test', admin: 'hostmaster.example.test', serial: 2024010101, refresh: 7200, retry: 3600, expiration: 1209600, minimum: 300 })] })],
    ['NXDOMAIN, truncated, not authoritative', response({}, { rcode: 3, tc: 1, aa: 0 })],
  ];
  for (const [what, buf] of cases) {
    it(`reads ${what} exactly as dns2's codec does`, () => {
      const fast = parseSimplePacket(buf);
      expect(fast).not.toBeNull();
      expect(plain(fast)).toEqual(plain(Packet.parse(buf)));
    });
  }

  it('writes a packet it read back out byte for byte', () => {
    for (const [, buf] of cases) expect(parseSimplePacket(buf)!.toBuffer().equals(buf)).toBe(true);
  });

  it('leaves unusual answers to the codec: other record types, non-ASCII names, malformed lengths', () => {
    // An A answer relabelled as type 257 (CAA): header 12, question 18, answer owner a 2-byte pointer.
    const caa = Buffer.from(response({ answers: [rr(1, { address: '192.0.2.1' })] }));
    expect(caa.readUInt16BE(32)).toBe(1);
    caa.writeUInt16BE(257, 32);
    expect(parseSimplePacket(caa)).toBeNull();
    const latin = Buffer.from(response({ answers: [rr(1, { address: '192.0.2.1' })] }));
    latin[13] = 0xe9; // a byte of the question name outside printable ASCII
    expect(parseSimplePacket(latin)).toBeNull();
    const cut = response({ answers: [rr(16, { data: ['v=spf1 -all'] })] }).subarray(0, 40);
    expect(parseSimplePacket(cut)).toBeNull();
    expect(() => parsePacket(Buffer.from([1, 2, 3]))).toThrow();
  });

  it('builds queries byte for byte as the codec does, with EDNS0 and the RD bit as asked', () => {
    for (const [name, type, rd] of [['example.test', 'TXT', true], ['_dmarc.Example.Test.', 'TXT', false], ['mail._domainkey.example.test', 'TXT', false], ['example.test', 'MX', true]] as const) {
      const codec = new Packet();
      codec.header.id = 77;
      codec.header.rd = rd ? 1 : 0;
      codec.questions.push({ name, type: Packet.TYPE[type]!, class: 1 });
      codec.additionals.push(Packet.Resource.EDNS([], { udpPayloadSize: 1232 }));
      expect(buildQuery(name, type, 77, rd).equals(codec.toBuffer())).toBe(true);
    }
  });
});
