/** The address tests that skip net.isIPv6 for text with fewer than two colons answer as net does. */
import fc from 'fast-check';
import { isIP, isIPv6 } from 'node:net';
import { describe, expect, it } from 'vitest';
import { isIpAddress, isIpv6Address } from '../../src/ipv6.js';

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
