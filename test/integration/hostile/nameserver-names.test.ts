/**
 * Servers given by name (`--nameserver ns.example:5300`): each is asked at one address, looked up
 * once before any question, from the hosts file or the system's resolvers (here a server of the
 * test's own on loopback, standing for /etc/resolv.conf's), never by the sockets at every query.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { answer, rdata, startHostileDns, T, type HostileServer } from '../../helpers/hostile-dns.js';
import { serversByAddress } from '../../../src/dns/resolver.js';
import { DnsTemporaryError, InputError } from '../../../src/errors.js';

let system: HostileServer;
let silent: HostileServer;
beforeAll(async () => {
  system = await startHostileDns((q) => {
    const name = q.name.toLowerCase();
    if (name === 'ns.example.test' && q.type === T.A) return answer(q, { answers: [{ name: { pointer: 12 }, type: T.A, rdata: rdata.a('127.0.0.9') }] });
    if (name === 'ns6.example.test' && q.type === T.AAAA) return answer(q, { answers: [{ name: { pointer: 12 }, type: T.AAAA, rdata: rdata.aaaa('::1') }] });
    if (name === 'ns.example.test' || name === 'ns6.example.test') return answer(q, {});
    return answer(q, { rcode: 3 });
  });
  silent = await startHostileDns(() => null);
});
afterAll(async () => {
  await Promise.all([system?.close(), silent?.close()]);
});

describe('servers given by name', () => {
  it('are asked at the address the system resolvers give, A first, else AAAA; addresses and localhost need no question', async () => {
    const at = [{ host: system.host, port: system.port }];
    expect(await serversByAddress([{ host: 'ns.example.test', port: 5300 }, { host: 'ns6.example.test', port: 53 }, { host: '192.0.2.1', port: 53 }, { host: 'localhost', port: 5353 }], 1000, at)).toEqual([
      { host: '127.0.0.9', port: 5300 },
      { host: '::1', port: 53 },
      { host: '192.0.2.1', port: 53 },
      { host: '127.0.0.1', port: 5353 },
    ]);
  });

  it('a name that does not exist is bad input naming it; one the resolvers do not answer for, a temporary failure within the timeout', async () => {
    await expect(serversByAddress([{ host: 'nosuch.example.test', port: 53 }], 1000, [{ host: system.host, port: system.port }])).rejects.toThrow(InputError);
    await expect(serversByAddress([{ host: 'nosuch.example.test', port: 53 }], 1000, [{ host: system.host, port: system.port }])).rejects.toThrow(
      `nosuch.example.test: no such host: the name has no A or AAAA record (the name does not exist (NXDOMAIN)), and /etc/hosts does not list it (asked of ${system.host}:${system.port}); give the DNS server's address or a name that has one`,
    );
    const started = performance.now();
    const late = serversByAddress([{ host: 'ns.example.test', port: 53 }], 300, [{ host: silent.host, port: silent.port }]);
    await expect(late).rejects.toThrow(DnsTemporaryError);
    await expect(late).rejects.toThrow(/^ns\.example\.test: its address could not be looked up: no answer in time \(timeout\)/);
    expect(performance.now() - started).toBeLessThan(5000);
  });
});
