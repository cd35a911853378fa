/**
 * The in-memory resolver gives the answers a DnsResolver gets from the embedded server for the same
 * records: both are asked the same questions and every answer is compared whole (status, records,
 * TTL, AA, CNAME chain, detail), with the server's address the only difference.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DnsAnswer, RRType } from '../../../src/dns/resolver.js';
import { startServer, type RunningServer } from '../../../src/dns/server.js';
import type { DnsRecord } from '../../../src/records.js';
import { LocalResolver } from '../../helpers/local-resolver.js';
import { MEMORY_SERVER, MemoryResolver, type MemoryZoneOptions } from '../../helpers/memory-resolver.js';
import { scenarios, zoneFromSuite } from '../../helpers/spf-suite.js';

const TYPES: RRType[] = ['A', 'AAAA', 'CNAME', 'MX', 'NS', 'PTR', 'SOA', 'TXT', 'SPF'];
const rr = (name: string, type: DnsRecord['type'], value: string, ttl = 300): DnsRecord => ({ name, type, ttl, value });

/**
 * Both resolvers over the same zone data; the wire one without cache or recursion. A name whose CNAME
 * leads to a silent name is asked with the long deadline: the server does answer its CNAME, and the
 * short one raced that answer and lost it on a loaded machine (a timeout at the name itself, not
 * at the silent name the chain leads to). It makes the wire side wait that deadline out once.
 */
async function pair(zone: MemoryZoneOptions): Promise<{ wire: LocalResolver; memory: MemoryResolver; server: RunningServer; close(): Promise<void> }> {
  const server = await startServer({ records: zone.records, zones: zone.zones, silent: zone.silent ?? [] });
  const wire = new LocalResolver(server, { silent: zone.silent ?? [], recursionDesired: false, cache: false });
  return { wire, memory: new MemoryResolver(zone), server, close: () => server.close() };
}

/** Ask both, concurrently, and return the questions whose answers differ (the server's address aside). */
async function differences(p: Awaited<ReturnType<typeof pair>>, questions: [string, RRType][]): Promise<string[]> {
  const address = `${p.server.host}:${p.server.port}`;
  // Keys in one order, the server's address as the memory resolver names itself.
  const text = (a: DnsAnswer<unknown>): string =>
    JSON.stringify(a, (_k, v: unknown) => (v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([x], [y]) => x.localeCompare(y))) : v)).replaceAll(address, MEMORY_SERVER);
  const out: string[] = [];
  await Promise.all(
    questions.map(async ([name, type]) => {
      const [wire, memory] = (await Promise.all([p.wire.lookup(name, type), p.memory.lookup(name, type)])).map(text);
      if (wire !== memory) out.push(`${name} ${type}\n  wire   ${wire}\n  memory ${memory}`);
    }),
  );
  return out.sort();
}

const long = 'k'.repeat(600);
const RECORDS: DnsRecord[] = [
  rr('one.example', 'MX', '10 Mail.One.Example.'),
  rr('one.example', 'MX', '20 backup.one.example', 60),
  rr('one.example', 'TXT', 'v=spf1 mx -all'),
  rr('one.example', 'TXT', 'google-site-verification=abc'),
  rr('mail.one.example', 'A', '192.0.2.25'),
  rr('mail.one.example', 'AAAA', '2001:DB8:0:0:0::25'),
  rr('v6.one.example', 'AAAA', '2001:db8:0:1:0:0:0:1'),
  rr('a.b.one.example', 'TXT', 'below an empty non-terminal'),
  rr('long.one.example', 'TXT', long),
  { name: 'split.one.example', type: 'TXT', ttl: 300, value: 'v=spf1 ip4:192.0.2.0/24 -all', strings: ['v=spf1 ip4:192.0.2.0/24', ' -all'] },
  { name: 'empty.one.example', type: 'TXT', ttl: 300, value: '', strings: [''] },
  rr('utf8.one.example', 'TXT', `${'a'.repeat(254)}é and more`),
  rr('spf99.one.example', 'SPF', 'v=spf1 -all'),
  rr('*.wild.one.example', 'TXT', 'wildcard'),
  rr('*.wild.one.example', 'A', '192.0.2.99'),
  rr('real.wild.one.example', 'TXT', 'not the wildcard'),
  rr('alias.one.example', 'CNAME', 'Mail.One.Example.'),
  rr('alias2.one.example', 'CNAME', 'alias.one.example'),
  rr('far.one.example', 'CNAME', 'target.two.example'),
  rr('dangling.one.example', 'CNAME', 'gone.one.example'),
  rr('dangling-far.one.example', 'CNAME', 'gone.two.example'),
  rr('outside.one.example', 'CNAME', 'somewhere.else.test'),
  rr('to-quiet.one.example', 'CNAME', 'quiet.two.example'),
  rr('loop1.one.example', 'CNAME', 'loop2.one.example'),
  rr('loop2.one.example', 'CNAME', 'loop1.one.example'),
  rr('4.3.2.1.in-addr.one.example', 'PTR', 'Host.One.Example.'),
  rr('sub.one.example', 'TXT', 'in its own zone'),
  rr('deeper.sub.one.example', 'A', '192.0.2.7'),
  rr('one.example', 'SOA', 'ns1.one.example. hostmaster.one.example. 7 3600 600 604800 60', 120),
  rr('one.example', 'NS', 'ns1.one.example.'),
  rr('one.example', 'NS', 'NS2.one.example'),
  rr('target.two.example', 'TXT', 'v=spf1 -all'),
  rr('target.two.example', 'A', '198.51.100.1'),
  rr('not-served.test', 'TXT', 'dropped: no zone serves it'),
];
const ZONES = ['one.example', 'two.example', 'sub.one.example'];
const SILENT = ['quiet.one.example', 'quiet.two.example'];

describe('MemoryResolver against the embedded server', () => {
  let p: Awaited<ReturnType<typeof pair>>;
  beforeAll(async () => {
    p = await pair({ records: RECORDS, zones: ZONES, silent: SILENT });
  });
  afterAll(async () => p?.close());

  const names = [...new Set(RECORDS.map((r) => r.name)), `${'l'.repeat(64)}.one.example`, `${'x.'.repeat(127)}one.example`, 'nothing.one.example', 'b.one.example', 'x.y.wild.one.example', 'wild.one.example', 'two.example', 'sub.one.example', 'gone.one.example', ...SILENT, 'elsewhere.test', 'example'];

  it('answers every question about every name as the server does', async () => {
    expect(await differences(p, names.flatMap((n) => TYPES.map((t): [string, RRType] => [n, t])))).toEqual([]);
  });

  it('ignores case and a trailing dot in the question, and answers with the normal form', async () => {
    const asked: [string, RRType][] = [['MAIL.One.Example.', 'A'], ['Alias.ONE.example', 'AAAA'], ['X.Wild.One.Example', 'TXT'], ['Far.One.Example.', 'TXT'], ['Quiet.One.Example', 'TXT']];
    expect(await differences(p, asked)).toEqual([]);
    expect((await p.memory.lookup('MAIL.One.Example.', 'A')).name).toBe('mail.one.example');
  });

  it('sends as many queries as the DnsResolver does, a chain into another zone included', async () => {
    const questions: [string, RRType][] = [['far.one.example', 'TXT'], ['dangling.one.example', 'A'], ['alias2.one.example', 'A'], ['quiet.one.example', 'TXT'], ['loop1.one.example', 'A']];
    const before = { wire: p.wire.queriesSent, memory: p.memory.queriesSent };
    for (const [name, type] of questions) await Promise.all([p.wire.lookup(name, type), p.memory.lookup(name, type)]);
    expect(p.memory.queriesSent - before.memory).toBe(p.wire.queriesSent - before.wire);
    expect(p.memory.queriesSent - before.memory).toBeGreaterThan(questions.length); // the chains cost more than one
  });

  // Spelled out, so a reader sees what "as the server does" means for the cases that matter most.
  it('keeps NXDOMAIN, NODATA, timeouts and refusals apart, and follows chains to their end', async () => {
    const m = p.memory;
    expect(await m.lookup('nothing.one.example', 'TXT')).toMatchObject({ status: 'nxdomain', authoritative: true, records: [] });
    expect(await m.lookup('b.one.example', 'TXT')).toMatchObject({ status: 'nodata', records: [] });
    expect(await m.lookup('mail.one.example', 'AAAA')).toMatchObject({ status: 'ok', records: ['2001:db8::25'], ttl: 300 });
    expect(await m.lookup('one.example', 'MX')).toMatchObject({ records: [{ priority: 10, exchange: 'mail.one.example' }, { priority: 20, exchange: 'backup.one.example' }], ttl: 60 });
    expect((await m.lookup('long.one.example', 'TXT')).records).toEqual([['k'.repeat(255), 'k'.repeat(255), 'k'.repeat(90)]]);
    expect(await m.lookup('alias2.one.example', 'A')).toMatchObject({ status: 'ok', records: ['192.0.2.25'], cnameChain: ['alias.one.example', 'mail.one.example'] });
    expect(await m.lookup('dangling-far.one.example', 'A')).toMatchObject({ status: 'nxdomain', cnameChain: ['gone.two.example'] });
    expect(await m.lookup('quiet.one.example', 'TXT')).toMatchObject({ status: 'timeout', authoritative: false, detail: `no answer from ${MEMORY_SERVER} for quiet.one.example TXT` });
    expect(await m.lookup('elsewhere.test', 'TXT')).toMatchObject({ status: 'refused', authoritative: false });
    expect(await m.lookup('x.wild.one.example', 'TXT')).toMatchObject({ records: [['wildcard']] });
    expect(await m.lookup(`${'l'.repeat(64)}.one.example`, 'A')).toMatchObject({ status: 'error', detail: expect.stringMatching(/label .* is 64 octets/) });
    expect(await m.lookup('one.example', 'SOA')).toMatchObject({ records: [{ mname: 'ns1.one.example', rname: 'hostmaster.one.example', serial: 7, minimum: 60 }], ttl: 120 });
  });
});

// Concurrent: each scenario has a server of its own, and most wait once for their silent names' deadline.
describe.concurrent('MemoryResolver against the embedded server, over the RFC 7208 suite\'s zone data', () => {
  for (const scenario of scenarios) {
    const zone = zoneFromSuite(scenario.zonedata ?? {});
    if (zone.records.length === 0 && zone.silent.length === 0) continue;
    it(scenario.description, async ({ expect }) => {
      const p = await pair({ records: zone.records, zones: [''], silent: zone.silent });
      try {
        const names = [...new Set([...zone.records.map((r) => r.name), ...zone.silent])];
        const questions = names.flatMap((n) => [...TYPES.map((t): [string, RRType] => [n, t]), [n.toUpperCase(), 'TXT'] as [string, RRType], [`no-such.${n}`, 'A'] as [string, RRType]]);
        expect(await differences(p, questions)).toEqual([]);
      } finally {
        await p.close();
      }
    });
  }
});

describe('MemoryResolver on its own', () => {
  it('fails a servfail name, and logs every lookup as asked', async () => {
    const m = new MemoryResolver({ records: [rr('ok.test', 'A', '192.0.2.1')], zones: ['test'], servfail: ['broken.test'] });
    expect(await m.lookup('Broken.Test', 'TXT')).toMatchObject({ status: 'servfail', authoritative: false, records: [] });
    await m.lookup('ok.test', 'A');
    expect(m.asked).toEqual(['Broken.Test TXT', 'ok.test A']);
  });

  it('rejects a record it could not serve (an AAAA that is no address) instead of making up an answer', async () => {
    await expect(new MemoryResolver({ records: [rr('x.test', 'AAAA', 'not-an-address')], zones: [''] }).lookup('x.test', 'AAAA')).rejects.toThrow(/not an IPv6 address/);
  });
});
