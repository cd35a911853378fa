/**
 * verify on a machine with no IPv6 route (an IPv4-only host): every address of a discovered NS name
 * is a server of its own, and the AAAA one cannot be reached from here at all. That says nothing of
 * the server: a warning naming the address, not an error, while the zone is verified through its
 * IPv4 address. The machine is a network namespace of the test's own with loopback alone, where
 * `maildns serve` answers on 127.0.0.1:53 (discovered servers are asked on port 53).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI } from '../../helpers/cli.js';
import { IP } from '../../helpers/programs.js';

const canMakeNamespaces = process.getuid?.() === 0 && existsSync(IP);
const NS = `maildns-noroute-${process.pid}`;
const PLAN = `version: 1
domains:
  - domain: nr.test
    nameservers:
      - host: ns1.nr.test
        addresses: [127.0.0.1, "2001:db8::53"]
    spf:
      ip4: [127.0.0.1]
      all: "-all"
    dmarc:
      p: reject
      rua: [mailto:dmarc@nr.test]
`;

let dir: string;
let serve: ChildProcess | undefined;

/** `node CLI args` inside the namespace. */
const inNamespace = (args: string[]): string[] => ['netns', 'exec', NS, process.execPath, CLI, ...args];

describe.skipIf(!canMakeNamespaces)('verify from a host without an IPv6 route', () => {
  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'maildns-noroute-'));
    writeFileSync(path.join(dir, 'maildns.yaml'), PLAN);
    for (const args of [['netns', 'add', NS], ['netns', 'exec', NS, IP, 'link', 'set', 'lo', 'up']]) {
      const r = spawnSync(IP, args, { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr}`);
    }
    serve = spawn(IP, inNamespace(['serve', '--port', '53', '--plan', path.join(dir, 'maildns.yaml')]), { stdio: ['ignore', 'pipe', 'pipe'] });
    await new Promise<void>((resolve, reject) => {
      let out = '';
      serve!.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('serving')) resolve();
      });
      serve!.on('exit', (code) => reject(new Error(`maildns serve exited ${code}`)));
    });
  });
  afterAll(() => {
    serve?.kill();
    spawnSync(IP, ['netns', 'del', NS]);
    rmSync(dir, { recursive: true, force: true });
  });

  it('the AAAA address is a warning that names it; the zone is verified through the IPv4 one, exit 0', () => {
    const r = spawnSync(IP, inNamespace(['verify', '--plan', path.join(dir, 'maildns.yaml'), '--nameserver', '127.0.0.1:53', '--json']), { encoding: 'utf8', timeout: 30_000 });
    expect(r.status, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout) as { domains: { status: string; servers: { name: string; status: string }[]; findings: { code: string; severity: string; message: string }[] }[] };
    const [nr] = doc.domains;
    expect(nr!.status).toBe('as-planned');
    expect(nr!.servers.map((s) => [s.name, s.status])).toEqual([
      ['ns1.nr.test@127.0.0.1', 'ok'],
      ['ns1.nr.test@2001:db8::53', 'error'],
    ]);
    expect(nr!.findings.map((f) => [f.code, f.severity])).toEqual([['verify.server-no-route', 'warning']]);
    expect(nr!.findings[0]!.message).toMatch(/no route to 2001:db8::53 \(ENETUNREACH\), an address of ns1\.nr\.test.*compared at 127\.0\.0\.1:53/);
  });
});
