/**
 * Crafted SPF records, table-driven: the parser gives errors with an offset and a reason, never
 * an exception, and check_host() over the embedded DNS server on 127.0.0.1 gives one of the seven
 * results for each of them, whatever the sender, HELO name or address.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DnsResolver } from '../../../src/dns/resolver.js';
import { startServer, type RunningServer } from '../../../src/dns/server.js';
import { checkHost, SPF_RESULTS } from '../../../src/spf/evaluate.js';
import { parseSpf } from '../../../src/spf/parse.js';

const RECORDS = [
  'v=spf1',
  'v=spf1 ',
  'v=spf1 -all',
  'v=spf1  ip4:192.0.2.1   -all',
  'v=spf1 ip4:',
  'v=spf1 ip4:192.0.2.1/',
  'v=spf1 ip4:192.0.2.1/99',
  'v=spf1 ip6:fe80::1%eth0',
  'v=spf1 ip6:::/0 -all',
  'v=spf1 a/',
  'v=spf1 a//',
  'v=spf1 a/24//64',
  'v=spf1 a:/24',
  'v=spf1 mx:.',
  'v=spf1 include:',
  'v=spf1 include:%',
  'v=spf1 include:%{',
  'v=spf1 include:%{z}',
  'v=spf1 include:%{l99999999999r}.example.test',
  'v=spf1 exists:%{ir}.%{l1r+-}._spf.%{d} -all',
  'v=spf1 exists:%{i}.%{v}.%{h}.%{c}.%{r}.%{t}.%{p}.example.test',
  'v=spf1 redirect=',
  'v=spf1 redirect=a redirect=b',
  'v=spf1 exp=%{',
  'v=spf1 =',
  'v=spf1 ==',
  'v=spf1 -',
  'v=spf1 ++all',
  'v=spf1 all:x',
  'v=spf1 ptr:',
  'v=spf1 unknown=%{d}',
  'v=spf1 \u0000',
  'v=spf1 ip4:192.0.2.1\t-all',
  'v=spf1 include:bücher.example',
  'v=spf10 -all',
  ' v=spf1 -all',
  `v=spf1 ${'a '.repeat(500)}-all`,
  `v=spf1 include:${'x'.repeat(300)}.example`,
];

describe('crafted SPF records through the parser', () => {
  it.each(RECORDS)('%j: terms and errors, no exception', (record) => {
    const p = parseSpf(record);
    for (const e of p.errors) expect(e).toMatchObject({ offset: expect.any(Number), reason: expect.any(String) });
    for (const e of p.errors) expect(e.offset).toBeGreaterThanOrEqual(0);
    expect(p.mechanisms.length).toBeLessThanOrEqual(p.terms.length);
  });
});

describe('crafted SPF records through check_host()', () => {
  let server: RunningServer;
  let resolver: DnsResolver;
  beforeAll(async () => {
    server = await startServer({
      zones: ['test'],
      records: RECORDS.map((value, i) => ({ name: `r${i}.crafted.test`, type: 'TXT' as const, ttl: 300, value })),
    });
    resolver = new DnsResolver({ servers: [{ host: server.host, port: server.port }], recursionDesired: false, timeoutMs: 1000, attempts: 1 });
  });
  afterAll(async () => {
    await server.close();
  });

  const CLIENTS: [string, string, string][] = [
    ['192.0.2.1', 'user@example.test', 'mail.example.test'],
    ['::ffff:192.0.2.1', '', '[192.0.2.1]'],
    ['2001:db8::1', '"odd local"@x', 'not-a-fqdn'],
    ['192.0.2.1', '@', ''],
  ];
  it.each(RECORDS.map((r, i) => [i, r] as const))('record %i %j gives a result for every client', async (i) => {
    for (const [ip, sender, helo] of CLIENTS) {
      const v = await checkHost(resolver, { ip, domain: `r${i}.crafted.test`, sender, helo });
      expect(SPF_RESULTS).toContain(v.result);
      expect(v.reason).toBeTruthy();
    }
  });
});
