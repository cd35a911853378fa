/** The built CLI against the hostile server: a broken answer exits 3 (DNS could not be asked), never as "no record". */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostileZone, startHostileDns, type HostileServer } from '../../helpers/hostile-dns.js';
import { runCli } from '../../helpers/cli.js';

let server: HostileServer;
beforeAll(async () => {
  server = await startHostileDns(hostileZone);
});
afterAll(async () => server?.close());

const ask = (...args: string[]) => runCli([...args, '--nameserver', server.address, '--timeout', '300']);

describe('maildns against a server that sends broken answers', () => {
  it('spf exits 3 on a malformed answer and says the answer was malformed', async () => {
    const r = await ask('spf', 'pointer-loop.hostile.test');
    expect(r.code).toBe(3);
    expect(r.stdout).toMatch(/spf\.dns-malformed/);
    expect(r.stdout).toMatch(/the server sent a malformed answer/);
    expect(r.stdout).not.toMatch(/spf\.none/);
  });

  it('spf --ip exits 3 (temperror) on a malformed answer, not 1 with "none"', async () => {
    const r = await ask('spf', 'short-rdata.hostile.test', '--ip', '192.0.2.1');
    expect(r.code).toBe(3);
    expect(r.stdout).toMatch(/temperror/);
  });

  it('dmarc exits 3 on a CNAME loop at _dmarc and names the loop', async () => {
    const r = await ask('dmarc', 'cname-loop.hostile.test');
    expect(r.code).toBe(3);
    expect(r.stdout).toMatch(/CNAME loop/);
    expect(r.stdout).not.toMatch(/dmarc\.no-record/);
  });
});
