/**
 * The plan-less audit (src/check) on DNS data in memory: for every mechanism, a name that cannot
 * be asked (no answer, SERVFAIL) is a temporary failure that leaves the domain "dns-error", never the
 * "missing record" the same name gives when it really does not exist. In memory a timeout comes at
 * once, so each case is exact and costs no deadline.
 */
import { describe, expect, it } from 'vitest';
import { auditDomain, type DomainResult } from '../../../src/check/audit.js';
import { runChecks } from '../../../src/check/run.js';
import type { DnsRecord } from '../../../src/records.js';
import { MemoryResolver } from '../../helpers/memory-resolver.js';

const D = 'shop.example';
/** The Ed25519 public key of RFC 8463's example. */
const KEY = '11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=';

/** The records of a healthy sending domain. */
const healthy = (d: string): DnsRecord[] => [
  { name: d, type: 'MX', ttl: 3600, value: `10 mail.${d}` },
  { name: `mail.${d}`, type: 'A', ttl: 3600, value: '192.0.2.25' },
  { name: d, type: 'TXT', ttl: 3600, value: 'v=spf1 mx ip4:192.0.2.0/24 -all' },
  { name: `_dmarc.${d}`, type: 'TXT', ttl: 3600, value: `v=DMARC1; p=reject; rua=mailto:dmarc@${d}` },
  { name: `mail._domainkey.${d}`, type: 'TXT', ttl: 3600, value: `v=DKIM1; k=ed25519; p=${KEY}` },
];

/** The domain's zone and its parent's, which the DMARC tree walk asks (_dmarc.example). */
const ZONES = [D, 'example'];
const audit = (resolver: MemoryResolver, d = D): Promise<DomainResult> => auditDomain(resolver, d, { selectors: ['mail'], failOn: 'error' });
const codes = (r: DomainResult): string[] => r.findings.map((f) => f.code);

/** A name of the healthy domain, what its failure is called, and what its absence is called. */
const cases: { name: string; temporary: string; missing: string }[] = [
  { name: `_dmarc.${D}`, temporary: 'dmarc.dns-temporary', missing: 'dmarc.no-record' },
  { name: `mail._domainkey.${D}`, temporary: 'dkim.dns-temporary', missing: 'dkim.no-record' },
  { name: `mail.${D}`, temporary: 'mx.dns-temporary', missing: 'mx.host-no-address' },
];

describe('auditDomain on DNS data in memory', () => {
  it('passes the healthy domain, asking only about it and its parent\'s DMARC record', async () => {
    const resolver = new MemoryResolver({ records: healthy(D), zones: ZONES });
    const r = await audit(resolver);
    expect(r.findings.filter((f) => f.severity !== 'info')).toEqual([]);
    expect(r.status).toBe('pass');
    expect([...new Set(resolver.asked.filter((q) => !q.split(' ')[0]!.endsWith(D)))]).toEqual(['_dmarc.example TXT']);
  });

  for (const c of cases) {
    for (const failure of ['silent', 'servfail'] as const) {
      it(`${c.name} ${failure === 'silent' ? 'unanswered' : 'SERVFAIL'}: ${c.temporary}, dns-error, the rest still checked; absent: ${c.missing}, fail`, async () => {
        const broken = await audit(new MemoryResolver({ records: healthy(D), zones: ZONES, [failure]: [c.name] }));
        expect(broken.status).toBe('dns-error');
        expect(codes(broken)).toContain(c.temporary);
        expect(codes(broken)).not.toContain(c.missing);
        expect(broken.spf.published).toBe('v=spf1 mx ip4:192.0.2.0/24 -all');
        expect(broken.findings.filter((f) => f.severity === 'error' && !f.code.endsWith('.dns-temporary'))).toEqual([]);

        const absent = await audit(new MemoryResolver({ records: healthy(D).filter((r) => r.name !== c.name), zones: ZONES }));
        expect(absent.status).toBe('fail');
        expect(codes(absent)).toContain(c.missing);
        expect(codes(absent)).not.toContain(c.temporary);
      });
    }
  }

  it('the apex unanswered: SPF and MX are temporary failures, not "no SPF" or "no MX"', async () => {
    const r = await audit(new MemoryResolver({ records: healthy(D), zones: ZONES, silent: [D] }));
    expect(r.status).toBe('dns-error');
    expect(codes(r)).toEqual(expect.arrayContaining(['spf.temperror', 'mx.dns-temporary']));
    expect(codes(r)).not.toContain('spf.none');
    expect(codes(r)).not.toContain('mx.none');
    expect(r.spf.dnsFailed).toBe(true);
    expect(r.dmarc.published).toEqual([`v=DMARC1; p=reject; rua=mailto:dmarc@${D}`]);
  });

  it('a zone nobody serves (REFUSED) is a temporary failure too', async () => {
    const r = await audit(new MemoryResolver({ records: healthy(D), zones: ['other.example'] }));
    expect(r.status).toBe('dns-error');
    expect(codes(r)).toEqual(expect.arrayContaining(['spf.temperror', 'dmarc.dns-temporary', 'dkim.dns-temporary', 'mx.dns-temporary']));
  });
});

describe('runChecks on DNS data in memory', () => {
  const run = async (resolver: MemoryResolver, names: string[]) => {
    const order: string[] = [];
    const summary = await runChecks(names, { resolver, selectors: ['mail'], failOn: 'error', concurrency: 2, onResult: (r) => void order.push(`${r.domain} ${r.status}`) });
    return { summary, order };
  };
  const records = [...healthy('a.example'), ...healthy('b.example'), ...healthy('c.example').filter((r) => !r.name.startsWith('_dmarc.'))];

  it('exit 1 when a domain fails or could not be fully checked, results in input order', async () => {
    const { summary, order } = await run(new MemoryResolver({ records, zones: ['a.example', 'b.example', 'c.example', 'example'], silent: ['_dmarc.b.example'] }), ['c.example', 'a.example', 'b.example']);
    expect(order).toEqual(['c.example fail', 'a.example pass', 'b.example dns-error']);
    expect(summary).toMatchObject({ domains: 3, pass: 1, fail: 1, dnsError: 1, outcome: 'problems' });
  });

  it('exit 3 when no domain could be asked at all', async () => {
    const names = ['a.example', 'b.example'];
    const silent = [...new Set(records.map((r) => r.name))];
    const { summary } = await run(new MemoryResolver({ records, zones: names, silent }), names);
    expect(summary).toMatchObject({ domains: 2, dnsError: 2, outcome: 'dns-unavailable' });
  });

});

describe('auditDomain when a mechanism fails unexpectedly', () => {
  for (const how of ['throws', 'rejects'] as const) {
    it(`an MX lookup that ${how} is an internal error of SPF (its mx mechanism) and of MX, never a crash; DMARC and DKIM still report`, async () => {
      const resolver = new MemoryResolver({ records: healthy(D), zones: ZONES });
      const lookup = resolver.lookup.bind(resolver);
      resolver.lookup = ((name: string, type: Parameters<typeof lookup>[1]) => {
        if (type !== 'MX') return lookup(name, type);
        if (how === 'throws') throw new Error('fault injected');
        return Promise.reject(new Error('fault injected'));
      }) as typeof resolver.lookup;
      const r = await audit(resolver);
      const internal = r.findings.filter((f) => f.code === 'check.internal-error');
      expect(internal.map((f) => f.message)).toEqual(['the SPF audit failed unexpectedly: fault injected', 'the MX audit failed unexpectedly: fault injected']);
      expect(r.status).toBe('fail');
      expect(r.mx).toEqual({ published: null, dnsFailed: false });
      expect(r.dmarc.governing?.policy).toBe('reject');
      expect(r.dkim[0]!.published).toContain('v=DKIM1');
    });
  }
});

