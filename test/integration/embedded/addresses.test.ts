/**
 * A and AAAA records in every text form an address may take, served by the embedded server and
 * read back by Debian's dig and by maildns' own strict decoder (src/dns/wire.ts, which refuses an
 * RDATA that is not 4 or 16 octets), against Node's reading of the same text. dns2's encoder read
 * a dotted-quad tail as hex groups: `::ffff:192.0.2.1` went out as ::255.255.1.146,
 * `64:ff9b::192.0.2.33` as 64:ff9b::192, and `0:0:0:0:0:ffff:192.0.2.1` as 14 octets, a malformed
 * message. An address that is none is refused where it enters: the server's records, the plan.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../../../src/dns/server.js';
import { exchange } from '../../../src/dns/wire.js';
import { InputError } from '../../../src/errors.js';
import { parsePlan } from '../../../src/plan/load.js';
import { composePlan } from '../../../src/plan/records.js';
import { DnsResolver } from '../../../src/dns/resolver.js';
import { compareAtServer } from '../../../src/verify/compare.js';
import type { DnsRecord } from '../../../src/records.js';
import { DIG } from '../../helpers/programs.js';

const run = promisify(execFile);

/** Node's reading of an address: the URL parser's RFC 5952 serialization of `[address]`. */
const nodeForm = (text: string): string => new URL(`http://[${text}]/`).hostname.slice(1, -1);

const AAAA = [
  '::ffff:192.0.2.1',
  '::FFFF:192.0.2.1',
  '0:0:0:0:0:ffff:192.0.2.1',
  '64:ff9b::192.0.2.33',
  '::192.0.2.1',
  '1:2:3:4:5:6:192.0.2.1',
  '2001:DB8::1',
  '2001:0db8:0000:0000:0000:0000:0000:0025',
  '::',
  '::1',
  '1::',
  '1:2:3:4:5:6:7::',
  '::2:3:4:5:6:7:8',
];
const A = ['192.0.2.1', '0.0.0.0', '255.255.255.255', '203.0.113.25'];

const records: DnsRecord[] = [
  ...AAAA.map((value, i): DnsRecord => ({ name: `v6-${i}.example.test`, type: 'AAAA', ttl: 60, value })),
  ...A.map((value, i): DnsRecord => ({ name: `v4-${i}.example.test`, type: 'A', ttl: 60, value })),
  // Several at one name, in one answer: a wrong RDLENGTH in one would throw the others off.
  ...AAAA.slice(0, 6).map((value): DnsRecord => ({ name: 'many.example.test', type: 'AAAA', ttl: 60, value })),
];

let server: RunningServer;
beforeAll(async () => {
  server = await startServer({ records, zones: ['example.test'] });
});
afterAll(async () => {
  await server.close();
});

async function dig(...args: string[]): Promise<string> {
  const { stdout, stderr } = await run(DIG, [`@${server.host}`, '-p', String(server.port), '+time=2', '+tries=1', '+short', ...args]);
  expect(stderr).toBe('');
  return stdout;
}

describe('addresses on the wire', () => {
  it.each(AAAA.map((a, i) => [a, i] as const))('AAAA %s: dig and the strict decoder read the address Node reads, over UDP and TCP', async (text, i) => {
    const name = `v6-${i}.example.test`;
    const [udp, tcp] = await Promise.all([dig(name, 'AAAA'), dig('+tcp', name, 'AAAA')]);
    for (const out of [udp, tcp]) {
      expect(out).not.toMatch(/malformed|Warning/i);
      expect(out.trim().split('\n').map(nodeForm)).toEqual([nodeForm(text)]);
    }
    for (const tcpOnly of [false, true]) {
      const { packet } = await exchange(server, name, 'AAAA', { timeoutMs: 2000, recursionDesired: false, tcpOnly });
      expect(packet.answers.map((r) => r.address)).toEqual([nodeForm(text)]);
    }
  });

  it.each(A.map((a, i) => [a, i] as const))('A %s: dig and the strict decoder read it back', async (text, i) => {
    const name = `v4-${i}.example.test`;
    expect((await dig(name, 'A')).trim()).toBe(text);
    const { packet } = await exchange(server, name, 'A', { timeoutMs: 2000, recursionDesired: false });
    expect(packet.answers.map((r) => r.address)).toEqual([text]);
  });

  it('several AAAA forms in one answer come back whole, each as Node reads it', async () => {
    const want = [...new Set(AAAA.slice(0, 6).map(nodeForm))].sort();
    const out = await dig('many.example.test', 'AAAA');
    expect([...new Set(out.trim().split('\n').map(nodeForm))].sort()).toEqual(want);
    const { packet } = await exchange(server, 'many.example.test', 'AAAA', { timeoutMs: 2000, recursionDesired: false });
    expect(packet.answers).toHaveLength(6);
    expect([...new Set(packet.answers.map((r) => r.address!))].sort()).toEqual(want);
  });
});

describe('an address that is none is refused where it enters', () => {
  it.each([
    ['AAAA', 'fe80::1%eth0', 'the AAAA record of bad.example.test: "fe80::1%eth0" carries a zone index (%eth0), which means something on one host only; write the address without it'],
    ['AAAA', '1::2::3', 'the AAAA record of bad.example.test: "1::2::3" is not an IPv6 address such as 2001:db8::1'],
    ['AAAA', '::ffff:1.2.3', 'the AAAA record of bad.example.test: "::ffff:1.2.3" is not an IPv6 address such as 2001:db8::1'],
    ['AAAA', '192.0.2.1', 'the AAAA record of bad.example.test: "192.0.2.1" is not an IPv6 address such as 2001:db8::1 (it is IPv4: publish it as A)'],
    ['A', '2001:db8::1', 'the A record of bad.example.test: "2001:db8::1" is not an IPv4 address such as 192.0.2.1 (it is IPv6: publish it as AAAA)'],
    ['A', '192.0.2.01', 'the A record of bad.example.test: "192.0.2.01" is not an IPv4 address such as 192.0.2.1'],
  ] as const)('the embedded server refuses %s %s before it starts', async (type, value, message) => {
    const started = startServer({ records: [{ name: 'bad.example.test', type, ttl: 60, value }], zones: ['example.test'] });
    await expect(started).rejects.toThrow(InputError);
    await expect(started).rejects.toThrow(message);
  });

  it('the plan refuses an address with a zone index, and takes the other forms', () => {
    const plan = (addresses: string): string => `domains:\n  - domain: example.test\n    mx: [{ host: mail.example.test, addresses: [${addresses}] }]\n`;
    expect(() => parsePlan(plan('"fe80::1%eth0"'), 'p.yaml')).toThrow(/^p\.yaml:3: domains\[0\]\.mx\[0\]\.addresses\[0\] must be an address without a zone index \(got "fe80::1%eth0"\): %eth0 means something on one host only$/);
    expect(() => parsePlan(plan('"1::2::3"'), 'p.yaml')).toThrow(/addresses\[0\] must be an IPv4 or IPv6 address \(got "1::2::3"\)/);
    // One address in two forms would be one record twice.
    expect(() => parsePlan(plan('"::ffff:192.0.2.1", "0:0:0:0:0:FFFF:192.0.2.1"'), 'p.yaml')).toThrow(
      /addresses\[1\] is "0:0:0:0:0:FFFF:192\.0\.2\.1", the address "::ffff:192\.0\.2\.1" already listed in another form; list each address once$/,
    );
    const distinct = AAAA.filter((a, i) => AAAA.findIndex((b) => nodeForm(b) === nodeForm(a)) === i);
    const ok = parsePlan(plan(distinct.map((a) => `"${a}"`).join(', ')), 'p.yaml');
    const composed = composePlan(ok).flatMap((d) => d.records).filter((r) => r.name === 'mail.example.test');
    expect(composed.map((r) => [r.type, r.value])).toEqual(distinct.map((a) => ['AAAA', a]));
  });

  it('verify finds a planned address published, whichever form the plan writes it in', async () => {
    const resolver = new DnsResolver({ servers: [{ host: server.host, port: server.port }], recursionDesired: false, timeoutMs: 2000 });
    for (const [i, text] of AAAA.entries()) {
      const planned: DnsRecord = { name: `v6-${i}.example.test`, type: 'AAAA', ttl: 60, value: text };
      const answer = await resolver.lookup(planned.name, 'AAAA');
      const { views, extras } = compareAtServer(`${server.host}:${server.port}`, [planned], answer);
      expect(views.map((v) => v.state)).toEqual(['match']);
      expect(extras).toEqual([]);
    }
  });
});
