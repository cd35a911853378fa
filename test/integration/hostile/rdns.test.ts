/**
 * The reverse DNS check when DNS gives no usable answer: a failure is temporary (rdns.dns-temporary),
 * a broken answer is said to be one (rdns.dns-malformed), both worded as every check's DNS failures.
 */
import { describe, expect, it } from 'vitest';
import { isTemporaryFinding } from '../../../src/check/audit.js';
import { TEMPORARY_FAILURE_FIX } from '../../../src/dns/failure.js';
import { DnsResolver } from '../../../src/dns/resolver.js';
import { checkReverseDns } from '../../../src/rdns/evaluate.js';
import { answer, rdata, startHostileDns, T } from '../../helpers/hostile-dns.js';

describe('reverse DNS without a usable answer', () => {
  it.each([
    ['SERVFAIL', 'rdns.dns-temporary', 'the server failed to answer (SERVFAIL)'],
    ['an answer whose RDATA runs past the message', 'rdns.dns-malformed', 'the server sent a malformed answer'],
  ])('%s for the PTR record', async (what, code, said) => {
    const dns = await startHostileDns((q) => {
      if (q.type !== T.PTR) return answer(q, { rcode: 3 });
      return what === 'SERVFAIL' ? answer(q, { rcode: 2 }) : answer(q, { answers: [{ name: { pointer: 12 }, type: T.PTR, rdata: rdata.name('mail.example.test'), rdlength: 200 }] });
    });
    try {
      const report = await checkReverseDns(new DnsResolver({ servers: [{ host: dns.host, port: dns.port }], timeoutMs: 1000, attempts: 1 }), [{ address: '192.0.2.25', source: 'sending_hosts' }]);
      expect(report.dnsFailed).toBe(true);
      expect(report.results.map((r) => r.state)).toEqual(['dns-error']);
      expect(report.findings).toHaveLength(1);
      const f = report.findings[0]!;
      expect(f).toMatchObject({ code, severity: 'error', subject: '192.0.2.25 (sending_hosts)', fix: TEMPORARY_FAILURE_FIX });
      expect(f.message.startsWith(`could not read the PTR record at 25.2.0.192.in-addr.arpa: ${said}`)).toBe(true);
      expect(f.message.endsWith('; this is a temporary failure, not a missing record')).toBe(true);
      // Not a verdict on the domain: it is reported as DNS trouble, not a failure.
      expect(isTemporaryFinding(f)).toBe(true);
    } finally {
      await dns.close();
    }
  });
});

describe('reverse DNS whose PTR name has a label with a dot in it', () => {
  it('is not confirmed by the host name the dotted text of that label spells', async () => {
    // One label "mail.example" then "test": the name mail\.example.test, not the host mail.example.test.
    const dotted = Buffer.concat([Buffer.from([12]), Buffer.from('mail.example'), Buffer.from([4]), Buffer.from('test'), Buffer.from([0])]);
    const dns = await startHostileDns((q) => {
      if (q.type === T.PTR) return answer(q, { answers: [{ name: { pointer: 12 }, type: T.PTR, rdata: dotted }] });
      // The host the dotted text spells has the address: only a reading that loses the label's dot confirms it.
      if (q.type === T.A && q.name.toLowerCase() === 'mail.example.test') return answer(q, { answers: [{ name: { pointer: 12 }, type: T.A, rdata: rdata.a('192.0.2.25') }] });
      return answer(q, { rcode: 3 });
    });
    try {
      const report = await checkReverseDns(new DnsResolver({ servers: [{ host: dns.host, port: dns.port }], timeoutMs: 1000, attempts: 1 }), [{ address: '192.0.2.25', source: 'sending_hosts' }]);
      // Not the host mail.example.test: an answer maildns cannot read as a name, said to be broken.
      expect(report.results.map((r) => [r.state, r.confirmedName])).toEqual([['dns-error', null]]);
      expect(report.findings.map((f) => f.code)).toEqual(['rdns.dns-malformed']);
      expect(report.findings[0]!.message).toContain('a "." inside a label');
      expect(dns.queries.filter((q) => q.type === T.A)).toEqual([]);
    } finally {
      await dns.close();
    }
  });
});

describe('reverse DNS of an address with more PTR names than are followed', () => {
  it('names only the PTR names it looked up as not resolving back, and says how many there were', async () => {
    const ptrNames = Array.from({ length: 12 }, (_, i) => `host${i + 1}.example.test`);
    const dns = await startHostileDns((q) => {
      if (q.type === T.PTR) return answer(q, { answers: ptrNames.map((n) => ({ name: { pointer: 12 }, type: T.PTR, rdata: rdata.name(n) })) });
      return answer(q, { rcode: 3 });
    });
    try {
      const report = await checkReverseDns(new DnsResolver({ servers: [{ host: dns.host, port: dns.port }], timeoutMs: 1000, attempts: 1 }), [{ address: '192.0.2.25', source: 'sending_hosts' }]);
      expect(report.results.map((r) => r.state)).toEqual(['not-confirmed']);
      const asked = dns.queries.filter((q) => q.type === T.A).map((q) => q.name.toLowerCase());
      expect(asked.sort()).toEqual(ptrNames.slice(0, 10).sort());
      const notBack = report.findings.find((f) => f.code === 'rdns.not-forward-confirmed')!;
      expect(notBack.message).toContain(`${ptrNames.slice(0, 10).join(', ')} do not resolve back to 192.0.2.25 (the first 10 of 12 followed)`);
      expect(notBack.message).not.toContain('host11.example.test');
      // The warning about the list itself still names all of them.
      expect(report.findings.find((f) => f.code === 'rdns.multiple-ptr')!.message).toContain('host12.example.test');
    } finally {
      await dns.close();
    }
  });
});
