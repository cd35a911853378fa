/**
 * The verdicts of the DNSSEC check on answers made up here, for the cases the Knot and Unbound test
 * cannot stage easily: a resolver that does not validate, stale and SHA-1 DS records, retired
 * algorithms, a DS without keys, TLSA records that fail validation or that SMTP cannot use.
 */
import { describe, expect, it } from 'vitest';
import type { DnsAnswer, DnsStatus, RDataMap, Resolver, RRType } from '../../../src/dns/resolver.js';
import { composeDs, keyTag } from '../../../src/dnssec/keys.js';
import { auditDnssec, type DnssecResolvers } from '../../../src/dnssec/evaluate.js';
import { daneFindings } from '../../../src/dnssec/tlsa.js';
import type { DnskeyValue, DsValue, TlsaValue } from '../../../src/records.js';

interface Canned {
  status?: DnsStatus;
  records?: unknown[];
  ad?: boolean;
  aa?: boolean;
}

/** A resolver answering `name TYPE` from `answers`; anything else is NXDOMAIN (or, for SOA, NODATA). */
function cannedResolver(answers: Record<string, Canned>): Resolver {
  return {
    async lookup<T extends RRType>(name: string, type: T): Promise<DnsAnswer<RDataMap[T]>> {
      const c = answers[`${name} ${type}`] ?? { status: type === 'SOA' ? 'nodata' : 'nxdomain' };
      const records = (c.records ?? []) as RDataMap[T][];
      return { name, type, status: c.status ?? (records.length ? 'ok' : 'nodata'), records, ttl: 300, authoritative: c.aa ?? false, authenticData: c.ad ?? false, server: '192.0.2.53:53', cnameChain: [] };
    },
  };
}

const ZONE = 'example.test';
const KEY: DnskeyValue = { flags: 257, protocol: 3, algorithm: 13, publicKey: Buffer.alloc(64, 7).toString('base64') };
const soa = { mname: 'ns.example.test', rname: 'h.example.test', serial: 1, refresh: 3600, retry: 600, expire: 86400, minimum: 300 };
const dsOf = (key: DnskeyValue, digestType = 2): DsValue => {
  const [, , tag, algorithm, , digest] = composeDs(ZONE, key).split(' ');
  return digestType === 2 ? { keyTag: Number(tag), algorithm: Number(algorithm), digestType: 2, digest: digest!.toLowerCase() } : { keyTag: keyTag(key), algorithm: key.algorithm, digestType, digest: 'ab'.repeat(20) };
};

/** A zone as both resolvers see it: `keys` and `ds` (asked with CD), then the validated answers. */
function zone(opts: { keys?: DnskeyValue[]; ds?: DsValue[]; ad?: boolean; aa?: boolean; servfail?: boolean; extra?: Record<string, Canned> }): DnssecResolvers {
  const base: Record<string, Canned> = {
    [`${ZONE} SOA`]: { records: [soa], aa: opts.aa ?? false },
    [`${ZONE} DNSKEY`]: { records: opts.keys ?? [] },
    [`${ZONE} DS`]: { records: opts.ds ?? [] },
    [`${ZONE} MX`]: { records: [{ priority: 10, exchange: 'mx.example.test' }], ad: opts.ad ?? false, aa: opts.aa ?? false },
    [`${ZONE} TXT`]: { records: [['v=spf1 -all']], ad: opts.ad ?? false, aa: opts.aa ?? false },
  };
  const validated = Object.fromEntries(Object.entries(base).map(([k, v]) => [k, opts.servfail ? { status: 'servfail' as const } : { ...v, ad: v.ad ?? opts.ad ?? false }]));
  return { validating: cannedResolver({ ...validated, ...opts.extra }), unchecked: cannedResolver({ ...base, ...opts.extra }) };
}
const codes = (r: { findings: { code: string }[] }): string[] => r.findings.map((f) => f.code);

describe('the DNSSEC verdicts', () => {
  it('a signed zone whose DS matches and whose answers carry AD is secure', async () => {
    const r = await auditDnssec(zone({ keys: [KEY], ds: [dsOf(KEY)], ad: true }), ZONE);
    expect(r).toMatchObject({ zone: ZONE, signed: true, validation: 'secure', ds: [{ matches: true }], dnskeys: [{ keyTag: keyTag(KEY), algorithm: 13, flags: 257 }] });
    expect(codes(r)).toEqual(['dnssec.secure', 'dane.none']);
  });

  it('finds the zone above a name that is not its apex', async () => {
    const resolvers = zone({ keys: [KEY], ds: [dsOf(KEY)], ad: true });
    expect((await auditDnssec(resolvers, `mail.${ZONE}`)).zone).toBe(ZONE);
  });

  it('signed with a matching DS but no AD: the resolver does not validate, or the chain above is broken', async () => {
    const r = await auditDnssec(zone({ keys: [KEY], ds: [dsOf(KEY)] }), ZONE);
    expect(r.validation).toBe('insecure');
    expect(codes(r)).toEqual(['dnssec.not-validated']);
  });

  it('an authoritative server asked for AD is no validator', async () => {
    const r = await auditDnssec(zone({ keys: [KEY], ds: [dsOf(KEY)], aa: true }), ZONE);
    expect(r.validation).toBe('indeterminate');
    expect(codes(r)).toEqual(['dnssec.resolver-not-validating']);
  });

  it('a SERVFAIL for an unsigned zone is a DNS failure, not bogus', async () => {
    const r = await auditDnssec(zone({ servfail: true }), ZONE);
    expect(r).toMatchObject({ signed: false, validation: 'indeterminate', dnsFailed: true });
    expect(codes(r)).toEqual(expect.arrayContaining(['dnssec.unsigned', 'dnssec.dns-temporary']));
  });

  it('a DS left over from a rollover, SHA-1 only, a retired algorithm, a DS without any key', async () => {
    const old: DnskeyValue = { ...KEY, publicKey: Buffer.alloc(64, 9).toString('base64') };
    expect(codes(await auditDnssec(zone({ keys: [KEY], ds: [dsOf(KEY), dsOf(old)], ad: true }), ZONE))).toContain('dnssec.ds-stale');
    expect(codes(await auditDnssec(zone({ keys: [KEY], ds: [dsOf(KEY, 1)] }), ZONE))).toEqual(expect.arrayContaining(['dnssec.ds-sha1', 'dnssec.ds-mismatch']));
    const rsasha1: DnskeyValue = { ...KEY, algorithm: 5 };
    expect(codes(await auditDnssec(zone({ keys: [rsasha1], ds: [dsOf(rsasha1)], ad: true }), ZONE))).toContain('dnssec.algorithm-retired');
    expect(codes(await auditDnssec(zone({ ds: [dsOf(KEY)] }), ZONE))).toContain('dnssec.ds-without-key');
  });
});

describe('the DANE verdicts', () => {
  const TLSA_NAME = '_25._tcp.mx.example.test';
  const tlsa311: TlsaValue = { usage: 3, selector: 1, matchingType: 1, data: 'ab'.repeat(32) };
  const signed = (extra: Record<string, Canned>, mxSecure = true): DnssecResolvers =>
    zone({ keys: [KEY], ds: [dsOf(KEY)], ad: true, extra: { ...extra, ...(mxSecure ? {} : { [`${ZONE} MX`]: { records: [{ priority: 10, exchange: 'mx.example.test' }] } }) } });

  it('validated, usable TLSA records are published; unusable ones are named; none usable is an error', async () => {
    expect(codes(await auditDnssec(signed({ [`${TLSA_NAME} TLSA`]: { records: [tlsa311], ad: true } }), ZONE))).toContain('dane.published');
    const pkix = await auditDnssec(signed({ [`${TLSA_NAME} TLSA`]: { records: [{ ...tlsa311, usage: 1 }], ad: true } }), ZONE);
    expect(codes(pkix)).toEqual(expect.arrayContaining(['dane.tlsa-usage', 'dane.tlsa-unusable']));
  });

  it('TLSA records under an MX record set that does not validate do not apply', async () => {
    const r = await auditDnssec(signed({ [`${TLSA_NAME} TLSA`]: { records: [tlsa311], ad: true } }, false), ZONE);
    expect(codes(r)).toContain('dane.mx-insecure');
  });

  it('TLSA records that fail validation are bogus: SERVFAIL validated, the records without validation', async () => {
    const resolvers = signed({});
    const bogus: DnssecResolvers = {
      validating: { lookup: (name, type) => (name === TLSA_NAME ? cannedResolver({ [`${TLSA_NAME} TLSA`]: { status: 'servfail' } }) : resolvers.validating).lookup(name, type) },
      unchecked: { lookup: (name, type) => (name === TLSA_NAME ? cannedResolver({ [`${TLSA_NAME} TLSA`]: { records: [tlsa311] } }) : resolvers.unchecked).lookup(name, type) },
    };
    const r = await auditDnssec(bogus, ZONE);
    expect(r.tlsa).toEqual([{ host: 'mx.example.test', name: TLSA_NAME, state: 'bogus', records: [`3 1 1 ${'ab'.repeat(32)}`] }]);
    expect(codes(r)).toContain('dane.tlsa-bogus');
  });

  it('a host with TLSA records that offers no STARTTLS loses the mail of senders that do DANE', () => {
    const probe = { host: 'mx.example.test', address: '192.0.2.25', port: 25, state: 'no-starttls' as const };
    expect(daneFindings(probe, [tlsa311]).map((f) => f.code)).toEqual(['dane.no-tls']);
    expect(daneFindings(probe, [])).toEqual([]);
  });
});
