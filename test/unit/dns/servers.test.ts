/** Server addresses as given (--nameserver, MAILDNS_NAMESERVER) and as /etc/resolv.conf lists them. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { hostsFileAddresses, systemServers } from '../../../src/dns/resolver.js';
import { parseServer } from '../../../src/dns/wire.js';

const dir = mkdtempSync(path.join(tmpdir(), 'maildns-servers-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('parseServer', () => {
  it.each([
    ['192.0.2.53', { host: '192.0.2.53', port: 53 }],
    ['127.0.0.1:5353', { host: '127.0.0.1', port: 5353 }],
    ['::1', { host: '::1', port: 53 }],
    ['[2001:db8::53]:5353', { host: '2001:db8::53', port: 5353 }],
    ['localhost:5353', { host: 'localhost', port: 5353 }],
    ['ns1.example.com.', { host: 'ns1.example.com.', port: 53 }],
  ])('takes %s', (text, address) => {
    expect(parseServer(text)).toEqual(address);
  });

  it.each([
    ['bad..host', /the host name has an empty label/],
    ['[bad..host]:53', /brackets hold an IPv6 address/],
    ['[192.0.2.1]:53', /brackets hold an IPv6 address/],
    ['[::1]:70000', /port out of range/],
    ['127.0.0.1:0', /port out of range/],
  ])('refuses %s', (text, why) => {
    expect(() => parseServer(text)).toThrow(why);
  });
});

describe('systemServers', () => {
  it('skips a nameserver line that names no server, as the C library does, and strips a zone index', () => {
    const conf = path.join(dir, 'resolv.conf');
    writeFileSync(conf, 'nameserver bad..host\nnameserver 192.0.2.53\nnameserver fe80::1%eth0\n# nameserver 192.0.2.99\n');
    expect(systemServers(conf)).toEqual([
      { host: '192.0.2.53', port: 53 },
      { host: 'fe80::1', port: 53 },
    ]);
  });

  it('takes a nameserver line with no address as naming none, not the next line\'s first word, and a host name as none (the C library reads addresses only)', () => {
    const conf = path.join(dir, 'bare.conf');
    writeFileSync(conf, 'nameserver\nsearch example.com\nnameserver   \n  options ndots:2\nnameserver dns.example.com\nnameserver 192.0.2.53\n');
    expect(systemServers(conf)).toEqual([{ host: '192.0.2.53', port: 53 }]);
  });

  it('falls back to loopback when no line names a server', () => {
    const conf = path.join(dir, 'empty.conf');
    writeFileSync(conf, 'nameserver [nope]\nsearch example.com\n');
    expect(systemServers(conf)).toEqual([{ host: '127.0.0.1', port: 53 }]);
  });
});

describe('hostsFileAddresses', () => {
  it('gives the addresses a hosts file lists for a name, in its order, names compared without case or a trailing dot, comments skipped', () => {
    const hosts = path.join(dir, 'hosts');
    writeFileSync(hosts, '127.0.0.1\tlocalhost\n::1 localhost ip6-localhost\n# 192.0.2.9 ns1.example.test\n192.0.2.53 NS1.Example.Test. ns1  # the primary\nnot-an-address ns1.example.test\n2001:db8::53 ns1.example.test\n192.0.2.54\n');
    expect(hostsFileAddresses('ns1.example.test', hosts)).toEqual(['192.0.2.53', '2001:db8::53']);
    expect(hostsFileAddresses('LOCALHOST', hosts)).toEqual(['127.0.0.1', '::1']);
    expect(hostsFileAddresses('ns2.example.test', hosts)).toEqual([]);
  });

  it('gives none when the file cannot be read', () => {
    expect(hostsFileAddresses('localhost', path.join(dir, 'no-such-hosts'))).toEqual([]);
  });
});
