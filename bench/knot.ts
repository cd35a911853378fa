/**
 * Knot DNS (Debian package `knot`) started on 127.0.0.1 with zone files in a private temporary
 * directory: the real authoritative server behind the integration tests and the benchmark.
 * test/helpers/knot.ts re-exports this file, so there is one copy of the launcher.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync, existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

export const KNOTD = '/usr/sbin/knotd';
export const KNOTC = '/usr/sbin/knotc';
export const knotAvailable = existsSync(KNOTD);

export interface KnotServer {
  host: string;
  port: number;
  dir: string;
  /** Replace a zone's file and make Knot load it. */
  updateZone(apex: string, zoneText: string): void;
  stop(): Promise<void>;
}

export interface KnotZoneDir {
  /** Directory holding `<apex>.zone` files (as mkbulk.py writes them). */
  dir: string;
  /** The apexes to serve. */
  apexes: string[];
}

/** A TCP port on `host` (127.0.0.1 unless told) that was free a moment ago. */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, host, () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Start Knot serving `zones`: either apex -> master-file text, or a directory of zone files.
 * Throws when knotd is not installed.
 */
export async function startKnot(zones: Record<string, string> | KnotZoneDir, opts: { udpWorkers?: number } = {}): Promise<KnotServer> {
  if (!knotAvailable) throw new Error(`${KNOTD} not found: install the Debian package "knot" (.ci/run does)`);
  const dir = mkdtempSync(path.join(tmpdir(), 'maildns-knot-'));
  const fromDir = typeof zones.dir === 'string' && Array.isArray(zones.apexes);
  const apexes = fromDir ? (zones as KnotZoneDir).apexes : Object.keys(zones);
  const zoneDir = fromDir ? path.resolve((zones as KnotZoneDir).dir) : dir;
  if (!fromDir) for (const [apex, text] of Object.entries(zones as Record<string, string>)) writeFileSync(path.join(dir, `${apex}.zone`), text);
  const zoneEntries = apexes.map((apex) => `  - domain: ${apex}\n    file: ${path.join(zoneDir, `${apex}.zone`)}\n    semantic-checks: off`).join('\n');
  const conf = path.join(dir, 'knot.conf');
  // The port was free when picked, but a client's UDP socket (ephemeral ports share the range) may
  // take it before knotd binds: then another port is tried.
  for (let tries = 1; ; tries++) {
    const port = await freePort();
    try {
      return await launch(conf, dir, zoneDir, port, apexes, zoneEntries, opts);
    } catch (err) {
      if (!(err instanceof PortTaken) || tries === 5) throw err;
    }
  }
}

class PortTaken extends Error {}

async function launch(conf: string, dir: string, zoneDir: string, port: number, apexes: string[], zoneEntries: string, opts: { udpWorkers?: number }): Promise<KnotServer> {
  writeFileSync(
    conf,
    `server:\n  listen: 127.0.0.1@${port}\n  rundir: ${dir}\n  user: root:root\n` +
      (opts.udpWorkers ? `  udp-workers: ${opts.udpWorkers}\n` : '') +
      `database:\n  storage: ${dir}\n` +
      `log:\n  - target: stderr\n    any: warning\n` +
      `template:\n  - id: default\n    storage: ${dir}\n    zonefile-sync: -1\n    journal-content: none\n` +
      `zone:\n${zoneEntries}\n`,
  );
  const child: ChildProcess = spawn(KNOTD, ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const ctl = (...args: string[]): string => execFileSync(KNOTC, ['-c', conf, ...args], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, stdio: ['ignore', 'pipe', 'pipe'] });
  // Wait until every zone is loaded (has a serial) according to the control socket.
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw /address already in use/.test(stderr) ? new PortTaken(stderr) : new Error(`knotd exited: ${stderr}`);
    try {
      const status = ctl('zone-status');
      const loaded = new Set([...status.matchAll(/^\[([^\]]+)\.\]\s.*serial: \d/gm)].map((m) => m[1]!.toLowerCase()));
      if (apexes.every((z) => loaded.has(z.toLowerCase().replace(/\.$/, '')))) break;
    } catch {
      /* not up yet */
    }
    if (Date.now() > deadline) {
      child.kill('SIGTERM');
      throw new Error(`knotd did not come up: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  return {
    host: '127.0.0.1',
    port,
    dir,
    updateZone(apex, zoneText) {
      writeFileSync(path.join(zoneDir, `${apex}.zone`), zoneText);
      ctl('zone-reload', apex);
    },
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await new Promise((r) => (child.exitCode !== null ? r(null) : child.once('exit', r)));
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
