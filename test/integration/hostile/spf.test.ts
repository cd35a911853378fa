/**
 * SPF from the wire: a character-string of a DNS answer is at most 255 octets (its length is one
 * octet), whatever the decoder makes of a UTF-8 character split between two of them.
 */
import { describe, expect, it } from 'vitest';
import { DnsResolver } from '../../../src/dns/resolver.js';
import { validateSpf } from '../../../src/spf/validate.js';
import { answer, startHostileDns, T } from '../../helpers/hostile-dns.js';

describe('an SPF record whose character-strings split a UTF-8 character', () => {
  it('is not said to have a string over 255 octets: on the wire each has 255 at most', async () => {
    // Cut at 255 octets through the "é" (c3 | a9), as a DNS host that splits every 255 octets does.
    const octets = Buffer.from(`v=spf1 ${'a'.repeat(247)}é -all`);
    const txt = Buffer.concat([Buffer.from([255]), octets.subarray(0, 255), Buffer.from([octets.length - 255]), octets.subarray(255)]);
    const dns = await startHostileDns((q) => (q.type === T.TXT && q.name.toLowerCase() === 'split.test' ? answer(q, { answers: [{ name: { pointer: 12 }, type: T.TXT, rdata: txt }] }) : answer(q, { rcode: 3 })));
    try {
      const report = await validateSpf(new DnsResolver({ servers: [{ host: dns.host, port: dns.port }], timeoutMs: 1000, attempts: 1 }), 'split.test', { probeOrphans: false });
      expect(report.tree?.record).toBe(octets.toString('utf8'));
      const codes = report.findings.map((f) => f.code);
      // The é is a syntax error of its own; no string is too long.
      expect(codes).toContain('spf.syntax');
      expect(codes).not.toContain('spf.string-too-long');
    } finally {
      await dns.close();
    }
  });

  it('still says so of a record given as published in one string of more than 255 octets', async () => {
    const dns = await startHostileDns((q) => answer(q, { rcode: 3 }));
    try {
      const record = `v=spf1 ${Array.from({ length: 20 }, (_, i) => `ip4:192.0.2.${i}`).join(' ')} -all`;
      const report = await validateSpf(new DnsResolver({ servers: [{ host: dns.host, port: dns.port }], timeoutMs: 1000, attempts: 1 }), 'split.test', { probeOrphans: false, asPublished: [[record]] });
      expect(report.findings.filter((f) => f.code === 'spf.string-too-long').map((f) => f.message)).toEqual([`character-string 1 of the SPF record is ${record.length} octets; one string holds at most 255`]);
    } finally {
      await dns.close();
    }
  });
});
