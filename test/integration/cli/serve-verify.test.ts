/**
 * `maildns serve` then `verify` of the README's own example plan: the served zone carries the
 * plan's name servers and their addresses, so verify finds nothing to complain about.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DnsResolver } from '../../../src/dns/resolver.js';
import { startServer, type RunningServer } from '../../../src/dns/server.js';
import { loadPlan } from '../../../src/plan/load.js';
import { verifyPlan } from '../../../src/verify/run.js';
import { CLI, runCli } from '../../helpers/cli.js';

const EXAMPLE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../examples/maildns.yaml');

describe('serve then verify of examples/maildns.yaml', () => {
  let dir: string;
  let serve: ChildProcess;
  let served: { host: string; port: number };
  let provider: RunningServer;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'maildns-serve-verify-'));
    copyFileSync(EXAMPLE, path.join(dir, 'maildns.yaml'));
    const keygen = await runCli(['keygen'], { cwd: dir });
    expect(keygen.code, keygen.stderr).toBe(0);
    serve = spawn(process.execPath, [CLI, 'serve', '--port', '0', '--json'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    served = await new Promise((resolve, reject) => {
      let out = '';
      serve.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.trim().endsWith('}')) resolve((JSON.parse(out) as { listening: { host: string; port: number } }).listening);
      });
      serve.on('exit', (code) => reject(new Error(`serve exited early with ${code}`)));
    });
    // The relay provider's zone is someone else's: here a second server plays the rest of the DNS.
    provider = await startServer({
      zones: ['relay.example.net'],
      records: [{ name: '_spf.relay.example.net', type: 'TXT', ttl: 300, value: 'v=spf1 ip4:198.51.100.0/24 -all' }],
    });
  });

  afterAll(async () => {
    if (serve && serve.exitCode === null) {
      const exited = new Promise((r) => serve.once('exit', r));
      serve.kill('SIGTERM');
      await exited;
    }
    await provider?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('publishes the planned name servers and in-zone addresses, and verify finds no error or warning', async () => {
    const plan = loadPlan(path.join(dir, 'maildns.yaml'));
    const report = await verifyPlan(plan, {
      resolver: new DnsResolver({ servers: [{ host: provider.host, port: provider.port }], timeoutMs: 1000 }),
      authoritative: [`${served.host}:${served.port}`],
      timeoutMs: 1000,
    });
    const findings = report.domains.flatMap((d) => d.findings);
    expect(findings.filter((f) => f.severity !== 'info').map((f) => `${f.code} ${f.subject}: ${f.message}`)).toEqual([]);
    expect(report.outcome).toBe('ok');
    const d = report.domains[0]!;
    // The delegation rows were compared, not skipped: both NS hosts and ns1's glue match.
    const rows = d.records.filter((r) => r.purpose === 'ns' || r.purpose === 'ns-address').map((r) => [r.name, r.type, r.planned.value, r.servers.map((s) => s.state)]);
    expect(rows).toEqual([
      ['example.com', 'NS', 'ns1.example.com', ['match']],
      ['example.com', 'NS', 'ns2.example.net', ['match']],
      ['ns1.example.com', 'A', '192.0.2.53', ['match']],
    ]);
  });
});
