/**
 * `maildns verify -o FILE`: the report appears whole or not at all. Written atomically when the run
 * ends; stopped by SIGTERM while it is still asking DNS, no file and no temporary file is left,
 * exit 143, and stderr says so.
 */
import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../../../src/dns/server.js';
import { CLI, runCli } from '../../helpers/cli.js';

let dir: string;
let server: RunningServer;
const PLAN = 'version: 1\ndomains:\n  - domain: example.com\n    spf: { ip4: [192.0.2.25], all: "-all" }\n';

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'maildns-verify-output-'));
  writeFileSync(path.join(dir, 'maildns.yaml'), PLAN);
  server = await startServer({ records: [{ name: 'example.com', type: 'TXT', ttl: 3600, value: 'v=spf1 ip4:192.0.2.25 -all' }], zones: ['example.com'], host: '127.0.0.1', port: 0 });
});
afterAll(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('verify -o FILE', () => {
  it('writes the same report it would print, and nothing on stdout', async () => {
    const at = `127.0.0.1:${server.port}`;
    const common = ['verify', '--json', '--authoritative', at, '--nameserver', at];
    const [printed, written] = await Promise.all([runCli(common, { cwd: dir }), runCli([...common, '-o', 'report.json'], { cwd: dir })]);
    expect(written.code).toBe(printed.code);
    expect(written.stdout).toBe('');
    const fromFile = JSON.parse(readFileSync(path.join(dir, 'report.json'), 'utf8')) as { exitCode: number; domains: { domain: string; status: string }[] };
    const fromStdout = JSON.parse(printed.stdout) as typeof fromFile;
    expect(fromFile.domains.map((d) => [d.domain, d.status])).toEqual(fromStdout.domains.map((d) => [d.domain, d.status]));
    expect(fromFile.exitCode).toBe(fromStdout.exitCode);
  });

  it('stopped by SIGTERM while DNS is asked: exit 143, no report and no temporary file', async () => {
    // A server that takes every question and never answers: the run is mid-way as long as the test likes.
    const silent = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => silent.bind(0, '127.0.0.1', resolve));
    const asked = new Promise<void>((resolve) => silent.once('message', () => resolve()));
    const at = `127.0.0.1:${silent.address().port}`;
    const child = spawn(process.execPath, [CLI, 'verify', '--json', '--authoritative', at, '--nameserver', at, '--timeout', '5000', '-o', 'stopped.json'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      await asked; // the first question reached the server: the command is running, its handlers are in place
      child.kill('SIGTERM');
      expect(await exited).toBe(143);
    } finally {
      silent.close();
    }
    expect(stderr).toMatch(/maildns: stopped by SIGTERM: nothing was written to stopped\.json/);
    expect(readdirSync(dir).filter((n) => n.includes('stopped'))).toEqual([]);
  });
});
