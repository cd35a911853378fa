import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import dns2 from 'dns2';
import { startServer, type RunningServer } from '../../../src/dns/server.js';
import { DnsResolver } from '../../../src/dns/resolver.js';
import type { DnsRecord } from '../../../src/records.js';
import { DIG } from '../../helpers/programs.js';

const run = promisify(execFile);

const dkim = `v=DKIM1; k=rsa; p=${'Q'.repeat(392)}`;
const records: DnsRecord[] = [
  { name: 'example.com', type: 'MX', ttl: 3600, value: '10 mail.example.com' },
  { name: 'example.com', type: 'TXT', ttl: 3600, value: 'v=spf1 ip4:203.0.113.25 -all' },
  { name: '_dmarc.example.com', type: 'TXT', ttl: 3600, value: 'v=DMARC1; p=reject; rua=mailto:d@example.com' },
  { name: 'mail._domainkey.example.com', type: 'TXT', ttl: 300, value: dkim },
  { name: 'mail.example.com', type: 'A', ttl: 3600, value: '203.0.113.25' },
  { name: 'alias.example.com', type: 'CNAME', ttl: 3600, value: 'mail.example.com' },
  { name: '*.wild.example.com', type: 'TXT', ttl: 3600, value: 'wildcard' },
  // Enough TXT at one name (about 1,700 octets) to overflow even a 1232-octet EDNS answer.
  ...Array.from({ length: 12 }, (_, i): DnsRecord => ({ name: 'big.example.com', type: 'TXT', ttl: 60, value: `record-${i}-${'z'.repeat(120)}` })),
];

let server: RunningServer;
beforeAll(async () => {
  server = await startServer({ records, zones: ['example.com'], silent: ['silent.example.com'] });
});
afterAll(async () => {
  await server.close();
});

async function dig(...args: string[]): Promise<string> {
  const { stdout } = await run(DIG, [`@${server.host}`, '-p', String(server.port), '+time=2', '+tries=1', ...args]);
  return stdout;
}

describe('embedded DNS server, asked by dig', () => {
  it('answers TXT authoritatively over UDP with the plan record', async () => {
    const out = await dig('TXT', '_dmarc.example.com');
    expect(out).toMatch(/status: NOERROR/);
    expect(out).toMatch(/flags: qr aa rd;/);
    expect(out).toContain('"v=DMARC1; p=reject; rua=mailto:d@example.com"');
  });

  it('splits a long TXT value into <=255-octet strings on the wire', async () => {
    const out = await dig('+short', 'TXT', 'mail._domainkey.example.com');
    const strings = [...out.matchAll(/"([^"]*)"/g)].map((m) => m[1]!);
    expect(strings.map((s) => s.length)).toEqual([255, dkim.length - 255]);
    expect(strings.join('')).toBe(dkim);
  });

  it('tells NXDOMAIN from NODATA and puts the SOA in the authority section', async () => {
    const nx = await dig('TXT', 'nothing.example.com');
    expect(nx).toMatch(/status: NXDOMAIN/);
    expect(nx).toMatch(/AUTHORITY SECTION:\nexample\.com\.\s+300\s+IN\s+SOA/);
    const nodata = await dig('AAAA', 'mail.example.com');
    expect(nodata).toMatch(/status: NOERROR/);
    expect(nodata).toMatch(/ANSWER: 0, AUTHORITY: 1/);
    // An empty non-terminal exists: NODATA, not NXDOMAIN.
    expect(await dig('TXT', '_domainkey.example.com')).toMatch(/status: NOERROR/);
  });

  it('answers SOA and NS at the apex and refuses names outside its zones', async () => {
    expect(await dig('+short', 'SOA', 'example.com')).toMatch(/^ns\.example\.com\. hostmaster\.example\.com\. 1 /);
    expect(await dig('+short', 'NS', 'example.com')).toBe('ns.example.com.\n');
    expect(await dig('TXT', 'example.org')).toMatch(/status: REFUSED/);
  });

  it('echoes EDNS0 and truncates over UDP without it, complete over TCP', async () => {
    expect(await dig('TXT', 'example.com')).toMatch(/OPT PSEUDOSECTION:\n; EDNS: version: 0, flags:; udp: 1232/);
    const udp = await dig('+noedns', '+ignore', 'TXT', 'big.example.com');
    expect(udp).toMatch(/flags: qr aa tc rd;/);
    expect(udp).toMatch(/ANSWER: 0,/);
    const tcp = await dig('+tcp', 'TXT', 'big.example.com');
    expect(tcp).toMatch(/ANSWER: 12,/);
  });

  it('follows an in-zone CNAME and expands wildcards', async () => {
    expect(await dig('+short', 'A', 'alias.example.com')).toBe('mail.example.com.\n203.0.113.25\n');
    expect(await dig('+short', 'TXT', 'anything.wild.example.com')).toBe('"wildcard"\n');
  });

  it('stays silent for names configured to time out', async () => {
    // dig's shortest wait (+time=1): nothing will come, so waiting longer proves nothing more.
    await expect(dig('+time=1', 'TXT', 'silent.example.com')).rejects.toMatchObject({ stdout: expect.stringMatching(/timed out|no servers could be reached/) });
  });
});

describe('embedded DNS server, asked by other clients', () => {
  it('answers the dns2 UDP and TCP clients', async () => {
    const udp = dns2.UDPClient({ dns: server.host, port: server.port });
    const a = await udp('mail._domainkey.example.com', 'TXT');
    expect((a.answers[0] as unknown as { data: string[] }).data.join('')).toBe(dkim);
    const tcp = dns2.TCPClient({ dns: server.host, port: server.port });
    const b = await tcp('example.com', 'MX');
    expect(b.answers[0]).toMatchObject({ exchange: 'mail.example.com', priority: 10 });
  });

  it('gives maildns\'s resolver the whole answer through TCP after truncation', async () => {
    const resolver = new DnsResolver({ servers: [{ host: server.host, port: server.port }], recursionDesired: false });
    const big = await resolver.lookup('big.example.com', 'TXT');
    expect(big.status).toBe('ok');
    expect(big.records).toHaveLength(12);
    expect(big.authoritative).toBe(true);
  });
});
