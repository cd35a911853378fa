/**
 * Address text to octets (src/ipv6.ts), the one parser behind the A and AAAA records the embedded
 * server writes, the plan's addresses and SPF's client addresses: against Node's own reading of
 * the text (net.isIPv6, and the WHATWG URL parser's RFC 5952 normalization of `[address]`), over a
 * hand table of the forms RFC 4291 §2.2 allows and over fast-check's generated IPv6 text (which
 * mixes compressed, full, upper-case and dotted-quad forms) and over near-misses built of groups,
 * separators and dotted quads: the parser is written out, not gated by net.isIPv6. The address tests that skip net.isIPv6
 * for text with fewer than two colons answer as net does.
 */
import { isIP, isIPv6 } from 'node:net';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { addressRecordProblem, formatIpv6, isIpAddress, isIpv6Address, parseIpv4, parseIpv6 } from '../../src/ipv6.js';
import { parseIp } from '../../src/spf/ip.js';

const RUNS = Number(process.env['MAILDNS_FUZZ_RUNS'] ?? 300);

/** Node's reading: the URL parser's serialization of the address, RFC 5952 text. */
const nodeForm = (text: string): string => new URL(`http://[${text}]/`).hostname.slice(1, -1);
const hex = (b: Uint8Array | null): string | null => (b ? Buffer.from(b).toString('hex') : null);

/** [text, its 16 octets in hex] */
const VALID: [string, string][] = [
  ['::ffff:192.0.2.1', '00000000000000000000ffffc0000201'],
  ['::FFFF:192.0.2.1', '00000000000000000000ffffc0000201'],
  ['0:0:0:0:0:ffff:192.0.2.1', '00000000000000000000ffffc0000201'],
  ['64:ff9b::192.0.2.33', '0064ff9b0000000000000000c0000221'],
  ['::192.0.2.1', '000000000000000000000000c0000201'],
  ['1:2:3:4:5:6:192.0.2.1', '000100020003000400050006c0000201'],
  ['1:2:3:4:5::192.0.2.1', '000100020003000400050000c0000201'],
  ['2001:DB8::1', '20010db8000000000000000000000001'],
  ['2001:0db8:0000:0000:0000:0000:0000:0001', '20010db8000000000000000000000001'],
  ['::', '00000000000000000000000000000000'],
  ['::1', '00000000000000000000000000000001'],
  ['1::', '00010000000000000000000000000000'],
  ['1:2:3:4:5:6:7::', '00010002000300040005000600070000'],
  ['::2:3:4:5:6:7:8', '00000002000300040005000600070008'],
  ['fe80::1:2', 'fe800000000000000000000000010002'],
];

const INVALID = ['fe80::1%eth0', '1::2::3', '1:2:3:4:5:6:7:8:9', '12345::1', '::ffff:1.2.3', '::ffff:01.2.3.4', '::ffff:256.0.0.1', 'g::1', ':1', '1:', '', ' ::1', '192.0.2.1', '1:2:3:4:5:6:7:192.0.2.1'];

describe('parseIpv6', () => {
  it.each(VALID)('%s is 16 octets, as Node reads it', (text, octets) => {
    expect(isIPv6(text)).toBe(true);
    expect(hex(parseIpv6(text))).toBe(octets);
    expect(formatIpv6(parseIpv6(text)!)).toBe(nodeForm(text));
  });

  it.each(INVALID)('%j is refused', (text) => {
    expect(parseIpv6(text)).toBeNull();
  });

  it('reads every text fast-check makes as Node does, and refuses what Node refuses', () => {
    fc.assert(
      fc.property(fc.ipV6(), (text) => {
        const octets = parseIpv6(text);
        expect(octets).not.toBeNull();
        expect(octets!.length).toBe(16);
        expect(formatIpv6(octets!)).toBe(nodeForm(text));
        expect(hex(parseIpv6(text.toUpperCase()))).toBe(hex(octets));
      }),
      { numRuns: RUNS },
    );
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom(...'0123456789abcdefABCDEF:.%'), maxLength: 45 }), (text) => {
        const octets = parseIpv6(text);
        expect(octets !== null).toBe(isIPv6(text) && !text.includes('%'));
        if (octets) expect(formatIpv6(octets)).toBe(nodeForm(text));
      }),
      { numRuns: RUNS * 5 },
    );
    // Text built of groups, separators and dotted quads, which near-misses of every form come from.
    const pieces = fc.array(fc.constantFrom('0', '1', 'fe80', 'FFFF', '12345', ':', '::', '.', '%', 'x', '192.0.2.1', '1.2.3', '01.2.3.4', '256.0.0.1'), { maxLength: 16 });
    fc.assert(
      fc.property(pieces.map((p) => p.join('')), (text) => {
        const octets = parseIpv6(text);
        expect(octets !== null, text).toBe(isIPv6(text) && !text.includes('%'));
        if (octets) expect(formatIpv6(octets)).toBe(nodeForm(text));
      }),
      { numRuns: RUNS * 10 },
    );
  });

  it('gives SPF the same octets (an IPv4-mapped client is IPv4, RFC 7208 §5)', () => {
    expect(parseIp('::ffff:192.0.2.1')).toEqual({ family: 4, bytes: Uint8Array.from([192, 0, 2, 1]) });
    expect(hex(parseIp('64:ff9b::192.0.2.33')!.bytes)).toBe('0064ff9b0000000000000000c0000221');
    expect(hex(parseIp('fe80::1%eth0')!.bytes)).toBe('fe800000000000000000000000000001');
  });
});

describe('the value of an A or AAAA record', () => {
  it('takes the forms of its family and names the problem of anything else', () => {
    expect(parseIpv4('192.0.2.1')).toEqual(Uint8Array.from([192, 0, 2, 1]));
    expect(parseIpv4('192.0.2.01')).toBeNull();
    expect(addressRecordProblem('A', '192.0.2.1')).toBeNull();
    expect(addressRecordProblem('A', '192.0.2.01')).toBe('"192.0.2.01" is not an IPv4 address such as 192.0.2.1');
    expect(addressRecordProblem('A', '2001:db8::1')).toBe('"2001:db8::1" is not an IPv4 address such as 192.0.2.1 (it is IPv6: publish it as AAAA)');
    for (const [text] of VALID) expect(addressRecordProblem('AAAA', text)).toBeNull();
    expect(addressRecordProblem('AAAA', 'fe80::1%eth0')).toBe('"fe80::1%eth0" carries a zone index (%eth0), which means something on one host only; write the address without it');
    expect(addressRecordProblem('AAAA', '192.0.2.1')).toBe('"192.0.2.1" is not an IPv6 address such as 2001:db8::1 (it is IPv4: publish it as A)');
    expect(addressRecordProblem('AAAA', '1::2::3')).toBe('"1::2::3" is not an IPv6 address such as 2001:db8::1');
  });
});

const samples = ['', ':', '::', '::1', '1::', 'fe80::1%eth0', '::ffff:192.0.2.1', '2001:db8::25', '1:2:3:4:5:6:7:8', '[::1]:53', '[::1]', '127.0.0.1', '127.0.0.1:53', 'host:53', 'mx1.example.com', '2001:db8:1', '256.1.1.1'];

describe('isIpv6Address and isIpAddress', () => {
  it('agree with net.isIPv6 and net.isIP on servers, hosts and addresses', () => {
    for (const s of samples) {
      expect(isIpv6Address(s), s).toBe(isIPv6(s));
      expect(isIpAddress(s), s).toBe(isIP(s) !== 0);
    }
  });

  it('agree with them on arbitrary text of hex digits, colons, dots and the like', () => {
    const text = fc.array(fc.constantFrom('0', '1', 'a', 'f', 'g', ':', '::', '.', '%', '[', ']', '192.0.2.1', 'ffff'), { maxLength: 14 }).map((parts) => parts.join(''));
    fc.assert(
      fc.property(text, (s) => isIpv6Address(s) === isIPv6(s) && isIpAddress(s) === (isIP(s) !== 0)),
      { numRuns: 500 },
    );
  });
});
