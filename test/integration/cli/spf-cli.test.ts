/** `maildns spf …` as a user runs it (built CLI), against the embedded DNS server. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../../../src/dns/server.js';
import type { DnsRecord } from '../../../src/records.js';
import { CLI, preloadEnv, runCli } from '../../helpers/cli.js';

const txt = (name: string, value: string): DnsRecord => ({ name, type: 'TXT', ttl: 300, value });
let server: RunningServer;
let ns: string;
beforeAll(async () => {
  server = await startServer({
    records: [
      txt('example.test', 'v=spf1 ip4:192.0.2.0/24 include:prov.example.net ~all'),
      txt('prov.example.net', 'v=spf1 ip4:198.51.100.0/24 a:out.prov.example.net -all'),
      { name: 'out.prov.example.net', type: 'A', ttl: 300, value: '203.0.113.5' },
      txt('broken.test', 'v=spf1 ip4:192.0.2.0/24 +all'),
      txt('warn.test', 'v=spf1 ip4:192.0.2.1 ?all'),
    ],
    zones: [''],
    silent: ['slow.test'],
  });
  ns = `${server.host}:${server.port}`;
});
afterAll(async () => {
  await server.close();
});

describe('maildns spf', () => {
  it('prints the tree with per-branch counts; exit 0 without errors', async () => {
    const r = await runCli(['spf', 'example.test', '--nameserver', ns]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('include:prov.example.net  [2 lookups]');
    expect(r.stdout).toContain('a:out.prov.example.net [1]');
    expect(r.stdout).toContain('DNS-querying terms: 2/10');
  });

  it('a domain without SPF: its name and the count are two words, as in the tree of one with SPF', async () => {
    const r = await runCli(['spf', 'nothing.test', '--nameserver', ns]);
    expect(r.stdout.split('\n')[0]).toBe('nothing.test [0 lookups]  (no SPF record)');
  });

  it('does without dns2: the resolver writes its queries and reads the answers itself', async () => {
    // This preload lists the CommonJS modules the run loaded (dns2 is one; its codec is required on
    // first use). It requires tldts itself, so that the list is seen to hold what was loaded.
    const probe = `import { createRequire } from 'node:module'; const require = createRequire(${JSON.stringify(CLI)}); require('tldts'); process.on('exit', () => process.stderr.write(Object.keys(require.cache).join('\\n')));`;
    const r = await runCli(['spf', 'example.test', '--nameserver', ns], { env: preloadEnv(probe) });
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/[/\\]tldts[/\\]/);
    expect(r.stderr).not.toMatch(/[/\\]dns2[/\\]/);
  });

  // The runs of one test are independent, so they start together: each costs a node start-up.
  it('exits 1 on errors, 0 on warnings alone, 3 when DNS cannot be asked', async () => {
    const [bad, warn, slow, notADomain] = await Promise.all([
      runCli(['spf', 'broken.test', '--nameserver', ns, '--json']),
      runCli(['spf', 'warn.test', '--nameserver', ns]),
      runCli(['spf', 'slow.test', '--nameserver', ns, '--timeout', '300']),
      runCli(['spf', 'not a domain', '--nameserver', ns]),
    ]);
    expect(bad.code).toBe(1);
    expect(JSON.parse(bad.stdout).findings.map((f: { code: string }) => f.code)).toContain('spf.pass-all');
    expect(warn.code).toBe(0);
    expect(slow.code).toBe(3);
    expect(notADomain.code).toBe(2);
  });

  it('--ip prints the result as the first word', async () => {
    const [pass, soft, nope] = await Promise.all([
      runCli(['spf', 'example.test', '--ip', '203.0.113.5', '--nameserver', ns]),
      runCli(['spf', 'example.test', '--ip', '2001:db8::1', '--sender', 'bob@example.test', '--nameserver', ns, '--json']),
      runCli(['spf', 'example.test', '--ip', 'nope', '--nameserver', ns]),
    ]);
    expect(pass.stdout.split(/\s/)[0]).toBe('pass');
    expect(pass.code).toBe(0);
    expect(pass.stdout).toContain('matched: "include:prov.example.net"');
    expect(JSON.parse(soft.stdout)).toMatchObject({ result: 'softfail', matched: { term: '~all' } });
    expect(soft.code).toBe(1);
    expect(nope.code).toBe(2);
  });

  it('compose and flatten', async () => {
    const [c, f] = await Promise.all([
      runCli(['spf', 'compose', '--mx', '--include', '_spf.example.net', '--all', '~all']),
      runCli(['spf', 'flatten', 'example.test', '--nameserver', ns]),
    ]);
    expect(c.stdout.trim()).toBe('v=spf1 mx include:_spf.example.net ~all');
    expect(f.code).toBe(0);
    expect(f.stdout).toContain('example.test. 3600 IN TXT "v=spf1 ip4:192.0.2.0/24 ip4:198.51.100.0/24 a:out.prov.example.net ~all"');
    expect(f.stdout).toContain('prov.example.net (include:prov.example.net) was copied');
  });
});
