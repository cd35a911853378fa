/**
 * verify --authoritative NAME:PORT, and check --nameserver NAME:PORT, on a machine whose system resolver hangs: its resolv.conf names a
 * server that takes every question and answers none, with `options timeout:30 attempts:5`, so the C
 * library's getaddrinfo waits minutes for a name. The name is looked up by maildns's own resolver
 * (the servers of that resolv.conf, as no --nameserver is given) within --timeout: a temporary
 * failure naming the host, in about a second. A name the hosts file lists is asked at its address
 * there, as the system's `hosts: files dns` would, though DNS is hung.
 *
 * The machine is a network namespace of the test's own with loopback alone: `ip netns exec` mounts
 * /etc/netns/NAME/resolv.conf and /etc/netns/NAME/hosts over /etc's for the commands run in it (the
 * machine's own files are not touched). In it, `maildns serve` answers for the zone on 127.0.0.1:5300,
 * and a Python listener on 127.0.0.1:53 (UDP and TCP) reads questions and answers none.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI } from '../../helpers/cli.js';
import { IP, SYSTEM_PYTHON } from '../../helpers/programs.js';

const canMakeNamespaces = process.getuid?.() === 0 && existsSync(IP);
const NS = `maildns-hung-${process.pid}`;
const ETC = `/etc/netns/${NS}`;
const PLAN = `version: 1
domains:
  - domain: hung.test
    spf:
      ip4: [192.0.2.25]
      all: "-all"
`;

/** Takes every question on 127.0.0.1:53, over UDP and TCP, and answers none; exits when its standard input closes. */
const HUNG_RESOLVER = [
  'import socket, sys, threading',
  'u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("127.0.0.1", 53))',
  't = socket.socket(); t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); t.bind(("127.0.0.1", 53)); t.listen(16)',
  'held = []',
  'threading.Thread(target=lambda: [u.recvfrom(4096) for _ in iter(int, 1)], daemon=True).start()',
  'threading.Thread(target=lambda: [held.append(t.accept()) for _ in iter(int, 1)], daemon=True).start()',
  'print("listening", flush=True)',
  'sys.stdin.read()',
].join('\n');

let dir: string;
let serve: ChildProcess | undefined;
let hung: ChildProcess | undefined;

/** `node CLI args` inside the namespace. */
const inNamespace = (args: string[]): string[] => ['netns', 'exec', NS, process.execPath, CLI, ...args];

/** Resolves once `child` has printed `word`; rejects if it exits first. */
function printed(child: ChildProcess, word: string, what: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes(word)) resolve();
    });
    child.on('exit', (code) => reject(new Error(`${what} exited ${code} before it was ready`)));
  });
}

interface Report {
  domains: { status: string; servers: { name: string; address: string | null; status: string }[]; findings: { code: string; subject: string; message: string }[] }[];
}

describe.skipIf(!canMakeNamespaces)('verify --authoritative with a name, on a machine whose system resolver hangs', () => {
  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'maildns-hung-'));
    writeFileSync(path.join(dir, 'maildns.yaml'), PLAN);
    mkdirSync(ETC, { recursive: true });
    writeFileSync(path.join(ETC, 'resolv.conf'), 'nameserver 127.0.0.1\noptions timeout:30 attempts:5\n');
    writeFileSync(path.join(ETC, 'hosts'), '127.0.0.1 localhost\n127.0.0.1 listed.hung.test\n');
    for (const args of [['netns', 'add', NS], ['netns', 'exec', NS, IP, 'link', 'set', 'lo', 'up']]) {
      const r = spawnSync(IP, args, { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr}`);
    }
    hung = spawn(IP, ['netns', 'exec', NS, SYSTEM_PYTHON, '-c', HUNG_RESOLVER], { stdio: ['pipe', 'pipe', 'inherit'] });
    serve = spawn(IP, inNamespace(['serve', '--port', '5300', '--plan', path.join(dir, 'maildns.yaml')]), { stdio: ['ignore', 'pipe', 'pipe'] });
    await Promise.all([printed(hung, 'listening', 'the hung resolver'), printed(serve, 'serving', 'maildns serve')]);
    // The system's resolver does hang there: getent (getaddrinfo) is still waiting after 3 s.
    const getent = spawnSync(IP, ['netns', 'exec', NS, 'getent', 'hosts', 'ns.hung.test'], { timeout: 3_000 });
    if (getent.error === undefined) throw new Error(`getent in the namespace did not hang: exit ${getent.status}`);
  });
  afterAll(() => {
    serve?.kill();
    hung?.stdin?.end();
    hung?.kill();
    spawnSync(IP, ['netns', 'del', NS]);
    rmSync(ETC, { recursive: true, force: true });
    rmSync(dir, { recursive: true, force: true });
  });

  it('a name in DNS only: a temporary failure that names it, within --timeout (exit 3), not a hang', () => {
    const started = performance.now();
    const r = spawnSync(IP, inNamespace(['verify', '--plan', path.join(dir, 'maildns.yaml'), '--authoritative', 'ns.hung.test:5300', '--timeout', '500', '--json']), { encoding: 'utf8', timeout: 20_000, killSignal: 'SIGKILL' });
    expect(r.error, 'verify was killed after 20 s').toBeUndefined();
    expect(performance.now() - started).toBeLessThan(10_000);
    expect(r.status, r.stderr).toBe(3);
    const [d] = (JSON.parse(r.stdout) as Report).domains;
    expect(d!.status).toBe('dns-unavailable');
    expect(d!.servers.map((s) => [s.name, s.address, s.status])).toEqual([['ns.hung.test:5300', null, 'timeout']]);
    expect(d!.findings.map((f) => [f.code, f.subject])).toEqual([['verify.server-unreachable', 'ns.hung.test:5300']]);
    expect(d!.findings[0]!.message).toMatch(/^--authoritative names ns\.hung\.test:5300, but its address could not be looked up: no answer in time \(timeout\) \(no answer from 127\.0\.0\.1:53 for ns\.hung\.test A{1,4}\)/);
  });

  it('a name the hosts file lists: asked at its address there, the zone verified (exit 0)', () => {
    const r = spawnSync(IP, inNamespace(['verify', '--plan', path.join(dir, 'maildns.yaml'), '--authoritative', 'listed.hung.test:5300', '--timeout', '500', '--json']), { encoding: 'utf8', timeout: 20_000, killSignal: 'SIGKILL' });
    expect(r.error, 'verify was killed after 20 s').toBeUndefined();
    expect(r.status, r.stderr).toBe(0);
    const [d] = (JSON.parse(r.stdout) as Report).domains;
    expect(d!.servers.map((s) => [s.name, s.address, s.status])).toEqual([['listed.hung.test:5300', '127.0.0.1:5300', 'ok']]);
    expect(d!.status).toBe('as-planned');
  });

  it('check --nameserver NAME with the name in DNS only: one line naming it within --timeout (exit 3), not a hang at every query', () => {
    const started = performance.now();
    const r = spawnSync(IP, inNamespace(['check', 'hung.test', '--nameserver', 'ns.hung.test:5300', '--timeout', '500', '--json']), { encoding: 'utf8', timeout: 20_000, killSignal: 'SIGKILL' });
    expect(r.error, 'check was killed after 20 s').toBeUndefined();
    expect(performance.now() - started).toBeLessThan(10_000);
    expect(r.status).toBe(3);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^maildns: --nameserver ns\.hung\.test: its address could not be looked up: no answer in time \(timeout\).*, asking for the A{1,4} records of ns\.hung\.test \(asked of 127\.0\.0\.1:53\); give the server's address instead of its name\n$/);
  });

  it('check --nameserver NAME with the name in the hosts file: asked at its address there', () => {
    const r = spawnSync(IP, inNamespace(['check', 'hung.test', '--nameserver', 'listed.hung.test:5300', '--timeout', '500', '--json']), { encoding: 'utf8', timeout: 20_000, killSignal: 'SIGKILL' });
    expect(r.error, 'check was killed after 20 s').toBeUndefined();
    const report = JSON.parse(r.stdout) as { domains: { domain: string; spf: { published: string | null } }[] };
    expect(report.domains[0]!.spf.published).toBe('v=spf1 ip4:192.0.2.25 -all');
  });
});
