/**
 * A real authoritative server for integration tests: Knot DNS (Debian package `knot`) started
 * on 127.0.0.1 with zone files in a private temporary directory.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync, existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

export const KNOTD = '/usr/sbin/knotd';
export const knotAvailable = existsSync(KNOTD);

export interface KnotServer {
  host: string;
  port: number;
  dir: string;
  /** Replace a zone's file and make Knot load it. */
  updateZone(apex: string, zoneText: string): void;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

/** Start Knot serving `zones` (apex -> master-file text). Throws when knotd is not installed. */
export async function startKnot(zones: Record<string, string>): Promise<KnotServer> {
  if (!knotAvailable) throw new Error(`${KNOTD} not found: install the Debian package "knot" (.ci/run does)`);
  const dir = mkdtempSync(path.join(tmpdir(), 'maildns-knot-'));
  const port = await freePort();
  const zoneEntries = Object.keys(zones)
    .map((apex) => `  - domain: ${apex}\n    file: ${path.join(dir, `${apex}.zone`)}\n    semantic-checks: off`)
    .join('\n');
  for (const [apex, text] of Object.entries(zones)) writeFileSync(path.join(dir, `${apex}.zone`), text);
  const conf = path.join(dir, 'knot.conf');
  writeFileSync(
    conf,
    `server:\n  listen: 127.0.0.1@${port}\n  rundir: ${dir}\n  user: root:root\n` +
      `database:\n  storage: ${dir}\n` +
      `log:\n  - target: stderr\n    any: warning\n` +
      `template:\n  - id: default\n    storage: ${dir}\n    zonefile-sync: -1\n    journal-content: none\n` +
      `zone:\n${zoneEntries}\n`,
  );
  const child: ChildProcess = spawn(KNOTD, ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const ctl = (...args: string[]): string => execFileSync('/usr/sbin/knotc', ['-c', conf, ...args], { encoding: 'utf8' });
  // Wait until every zone answers through the control socket.
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`knotd exited: ${stderr}`);
    try {
      const status = ctl('zone-status');
      if (Object.keys(zones).every((z) => status.includes(`[${z}.]`)) && !/serial: -/.test(status)) break;
    } catch {
      /* not up yet */
    }
    if (Date.now() > deadline) throw new Error(`knotd did not come up: ${stderr}`);
    await new Promise((r) => setTimeout(r, 25));
  }
  return {
    host: '127.0.0.1',
    port,
    dir,
    updateZone(apex, zoneText) {
      writeFileSync(path.join(dir, `${apex}.zone`), zoneText);
      ctl('zone-reload', apex);
    },
    async stop() {
      child.kill('SIGTERM');
      await new Promise((r) => (child.exitCode !== null ? r(null) : child.once('exit', r)));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
