/** The DNSSEC side of the wire: the DO and CD bits on request, DNSKEY, DS, TLSA and RRSIG read strictly, the AD bit of the answer. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packetCodec } from '../../../src/dns/packet.js';
import { DnsResolver } from '../../../src/dns/resolver.js';
import { buildFramedQuery, buildQuery, decodeMessage } from '../../../src/dns/wire.js';
import { answer, encodeMessage, encodeName, problemOf, startHostileDns, type HostileServer, type RawMessage } from '../../helpers/hostile-dns.js';

const Packet = packetCodec();

const TYPE = { DS: 43, RRSIG: 46, DNSKEY: 48, TLSA: 52 } as const;
const dnskeyRdata = Buffer.concat([Buffer.from([0x01, 0x01, 3, 13]), Buffer.from('c2lnbmluZyBrZXk=', 'base64')]);
const dsRdata = Buffer.concat([Buffer.from([0xcb, 0xcd, 13, 2]), Buffer.alloc(32, 0xab)]);
const tlsaRdata = Buffer.concat([Buffer.from([3, 1, 1]), Buffer.alloc(32, 0x5a)]);
function rrsigRdata(): Buffer {
  const fixed = Buffer.alloc(18);
  fixed.writeUInt16BE(15, 0);
  fixed[2] = 13;
  fixed[3] = 2;
  fixed.writeUInt32BE(300, 4);
  fixed.writeUInt32BE(1_800_000_000, 8);
  fixed.writeUInt32BE(1_700_000_000, 12);
  fixed.writeUInt16BE(52173, 16);
  return Buffer.concat([fixed, encodeName('example.test'), Buffer.from('signature')]);
}

const message = (type: number, rdata: Buffer): RawMessage => ({ id: 9, questions: [{ name: 'example.test', type }], answers: [{ name: { pointer: 12 }, type, rdata }] });

describe('DNSSEC bits on the query', () => {
  it('sets DO in the OPT record and CD in the header only when asked, byte for byte as the codec writes them', () => {
    for (const bits of [{ dnssecOk: true }, { checkingDisabled: true }, { dnssecOk: true, checkingDisabled: true }]) {
      const codec = new Packet();
      codec.header.id = 77;
      codec.header.rd = 1;
      if (bits.checkingDisabled) codec.header.cd = 1;
      codec.questions.push({ name: 'example.test', type: Packet.TYPE['DNSKEY']!, class: 1 });
      codec.additionals.push(Packet.Resource.EDNS([], { udpPayloadSize: 1232, doFlag: !!bits.dnssecOk }));
      expect(buildQuery('example.test', 'DNSKEY', 77, true, bits).equals(codec.toBuffer())).toBe(true);
      // The same bits on the TCP form that pipelined bulk queries use.
      expect(buildFramedQuery('example.test', 'DNSKEY', 77, true, bits).subarray(2).equals(codec.toBuffer())).toBe(true);
    }
    const plain = buildQuery('example.test', 'TXT', 77, true);
    expect(buildQuery('example.test', 'TXT', 77, true, {}).equals(plain)).toBe(true);
    expect(plain[3]! & 0x10).toBe(0);
    expect(plain.readUInt32BE(plain.length - 6) & 0x8000).toBe(0);
  });

  it('asks for DS and TLSA, types the codec has no name for', () => {
    for (const [type, code] of [['DS', 43], ['TLSA', 52]] as const) {
      const q = buildQuery('_25._tcp.mx.example.test', type, 1, true);
      expect(q.readUInt16BE(12 + encodeName('_25._tcp.mx.example.test').length)).toBe(code);
    }
  });
});

describe('DNSSEC records in answers', () => {
  it('reads DNSKEY, DS, TLSA and RRSIG field by field, and the AD bit', () => {
    const withAd = (m: RawMessage): Buffer => {
      const buf = encodeMessage(m);
      buf[3] = buf[3]! | 0x20;
      return buf;
    };
    const key = decodeMessage(withAd(message(TYPE.DNSKEY, dnskeyRdata)));
    expect(key.header.ad).toBe(1);
    expect(key.answers[0]).toMatchObject({ flags: 257, protocol: 3, algorithm: 13, key: 'c2lnbmluZyBrZXk=' });
    expect(decodeMessage(encodeMessage(message(TYPE.DS, dsRdata))).answers[0]).toMatchObject({ keyTag: 0xcbcd, algorithm: 13, digestType: 2, digest: 'ab'.repeat(32) });
    expect(decodeMessage(encodeMessage(message(TYPE.TLSA, tlsaRdata))).answers[0]).toMatchObject({ usage: 3, selector: 1, matchingType: 1, certificate: '5a'.repeat(32) });
    expect(decodeMessage(encodeMessage(message(TYPE.RRSIG, rrsigRdata()))).answers[0]).toMatchObject({
      typeCovered: 15,
      algorithm: 13,
      labels: 2,
      originalTtl: 300,
      signatureExpiration: 1_800_000_000,
      signatureInception: 1_700_000_000,
      keyTag: 52173,
      signer: 'example.test',
      signature: Buffer.from('signature').toString('base64'),
    });
  });

  it('writes a DNSSEC answer it read back out as it came (the codec compresses names, so the records are compared)', () => {
    for (const [type, rdata] of [[TYPE.DNSKEY, dnskeyRdata], [TYPE.DS, dsRdata], [TYPE.TLSA, tlsaRdata], [TYPE.RRSIG, rrsigRdata()]] as const) {
      const read = decodeMessage(encodeMessage(message(type, rdata)));
      expect(decodeMessage(read.toBuffer()).answers).toEqual(read.answers);
    }
  });

  it('refuses a DNSSEC record too short for its fixed fields: the whole answer is malformed, never "no record"', () => {
    expect(problemOf(encodeMessage(message(TYPE.DNSKEY, dnskeyRdata.subarray(0, 4))))).toMatch(/too short for a DNSKEY record/);
    expect(problemOf(encodeMessage(message(TYPE.DS, dsRdata.subarray(0, 4))))).toMatch(/too short for a DS record/);
    expect(problemOf(encodeMessage(message(TYPE.TLSA, tlsaRdata.subarray(0, 3))))).toMatch(/too short for a TLSA record/);
    expect(problemOf(encodeMessage(message(TYPE.RRSIG, rrsigRdata().subarray(0, 19))))).toMatch(/too short for an RRSIG record|runs past/);
    // The signer's name fills the RDATA: no signature follows it.
    const unsigned = rrsigRdata().subarray(0, 18 + encodeName('example.test').length);
    expect(problemOf(encodeMessage(message(TYPE.RRSIG, unsigned)))).toMatch(/no signature after the signer's name/);
    // The signer's name runs past the RDATA into what follows.
    const overlong = encodeMessage({ ...message(TYPE.RRSIG, rrsigRdata()), answers: [{ name: { pointer: 12 }, type: TYPE.RRSIG, rdata: rrsigRdata(), rdlength: 24 }] });
    expect(problemOf(overlong)).not.toBeNull();
  });
});

describe('a resolver asking with DO and CD', () => {
  let server: HostileServer;
  beforeAll(async () => {
    server = await startHostileDns((q) => {
      const reply = answer(q, { ra: true, aa: false, answers: [{ name: q.name, type: TYPE.DNSKEY, rdata: dnskeyRdata }] });
      if (q.name.startsWith('secure')) reply[3] = reply[3]! | 0x20;
      return reply;
    });
  });
  afterAll(() => server.close());

  it('exposes AD as authenticData, and sends the bits it was told to', async () => {
    const plain = new DnsResolver({ servers: [server], cache: false });
    const secure = await plain.lookup('secure.example.test', 'DNSKEY');
    expect(secure).toMatchObject({ status: 'ok', authenticData: true, records: [{ flags: 257, protocol: 3, algorithm: 13, publicKey: 'c2lnbmluZyBrZXk=' }] });
    expect((await plain.lookup('insecure.example.test', 'DNSKEY')).authenticData).toBe(false);
    expect(server.queries.map((q) => [q.doBit, q.cd])).toEqual([[false, false], [false, false]]);
    const checking = new DnsResolver({ servers: [server], cache: false, dnssecOk: true, checkingDisabled: true });
    await checking.lookup('secure.example.test', 'DNSKEY');
    expect(server.queries.at(-1)).toMatchObject({ doBit: true, cd: true });
  });
});
