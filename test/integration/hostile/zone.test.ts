/**
 * The zone of a name (findZone, which verify and the DNSSEC check share): the nearest name with an
 * SOA, never a public suffix's registry zone, which a domain not delegated yet sits under.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findZone } from '../../../src/dns/authoritative.js';
import { DnsResolver } from '../../../src/dns/resolver.js';
import { auditDnssec } from '../../../src/dnssec/evaluate.js';
import { answer, rdata, startHostileDns, T, type HostileServer } from '../../helpers/hostile-dns.js';

/** Zones the server holds: two registries (com, co.uk), one domain delegated under com, and a lab's own top-level zone. */
const ZONES = ['com', 'co.uk', 'delegated.com', 'corp', 'gov.uk'];

let dns: HostileServer;
let resolver: DnsResolver;
beforeAll(async () => {
  dns = await startHostileDns((q) => {
    const name = q.name.toLowerCase();
    const zone = ZONES.filter((z) => name === z || name.endsWith(`.${z}`)).sort((a, b) => b.length - a.length)[0];
    const soa = zone ? { name: zone, type: T.SOA, rdata: rdata.soa(`ns.${zone}`, `hostmaster.${zone}`, 1) } : null;
    if (q.type === T.SOA && name === zone) return answer(q, { answers: [{ ...soa!, name: { pointer: 12 } }] });
    return answer(q, { rcode: ZONES.includes(name) || name.startsWith('mail.delegated') ? 0 : 3, authorities: soa ? [soa] : [] });
  });
  resolver = new DnsResolver({ servers: [{ host: dns.host, port: dns.port }], timeoutMs: 1000, attempts: 1 });
});
afterAll(async () => {
  await dns.close();
});

describe('findZone', () => {
  it('finds the zone a name is in', async () => {
    expect((await findZone(resolver, 'mail.delegated.com')).zone).toBe('delegated.com');
  });

  it.each(['new.com', 'mail.new.com', 'new.co.uk'])('finds no zone for %s, not delegated, rather than its registry\'s', async (name) => {
    const found = await findZone(resolver, name);
    expect(found).toMatchObject({ zone: null, status: 'nxdomain' });
    // The registry's own SOA is never asked for.
    expect(dns.queries.filter((q) => q.type === T.SOA).map((q) => q.name.toLowerCase())).not.toContain(name.endsWith('co.uk') ? 'co.uk' : 'com');
  });

  it('takes a top-level zone the Public Suffix List does not know (a lab\'s corp) for the zone of the names in it', async () => {
    expect((await findZone(resolver, 'mail.example.corp')).zone).toBe('corp');
  });

  it('finds the zone of a domain that is itself a public suffix (gov.uk sends mail as gov.uk): its own, not its registry\'s', async () => {
    expect((await findZone(resolver, 'gov.uk')).zone).toBe('gov.uk');
    expect((await auditDnssec({ validating: resolver, unchecked: resolver }, 'gov.uk')).zone).toBe('gov.uk');
    // Not found there, nothing above it is asked.
    expect(await findZone(resolver, 'nhs.uk')).toMatchObject({ zone: null });
    expect(dns.queries.filter((q) => q.type === T.SOA).map((q) => q.name.toLowerCase())).not.toContain('uk');
  });

  it('the DNSSEC check of a domain not delegated under co.uk finds no zone, and reads no keys of co.uk', async () => {
    const audit = await auditDnssec({ validating: resolver, unchecked: resolver }, 'new.co.uk');
    expect(audit.zone).toBeNull();
    expect(audit.findings.map((f) => f.code)).toEqual(['dnssec.no-zone']);
  });
});
