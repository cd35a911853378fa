/**
 * A signed DNS tree on 127.0.0.1 for the DNSSEC tests: Knot (Debian 12's knot 3.2) serving zones
 * with its automatic signing (a KASP database in the server's storage, one ECDSA P-256 CSK per zone,
 * made when the zone first loads), keymgr for the DS of each signed zone, and Unbound from Debian as
 * the validating resolver, trusting the DS of the parent zone the tests give it and sent to Knot for
 * every name (stub zones; the root too, so nothing is ever asked of the internet).
 *
 * bench/knot.ts starts Knot for unsigned zones; this one writes its own configuration for the
 * signing policy and the key store, and takes freePort from there.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from '../../bench/knot.js';
import { DnsResolver } from '../../src/dns/resolver.js';
import { KEYMGR, KNOTC, KNOTD, notRunnable, UNBOUND } from './programs.js';

interface SignedZone {
  /** Master-file text (with $ORIGIN and $TTL); Knot adds the DNSKEY, RRSIG and NSEC records. */
  text: string;
  signed: boolean;
}

export interface SignedKnot {
  host: string;
  port: number;
  /** `host@port`, as Unbound's stub-addr takes it. */
  stubAddress: string;
  /** The DS records keymgr gives for a signed zone (SHA-256 first), as zone-file lines with the owner. */
  ds(apex: string): string[];
  /** The DNSKEY records Knot serves at a zone's apex, as zone-file lines. */
  dnskeys(apex: string): string[];
  /** The whole zone as Knot serves it, signatures included, as a master file. */
  signedText(apex: string): string;
  /** Replace a zone's text and wait until Knot serves the new serial (signed again when it is signed). */
  updateZone(apex: string, text: string, serial: number): Promise<void>;
  stop(): Promise<void>;
}

const START_DEADLINE_MS = 30_000;

function run(file: string, args: string[]): string {
  try {
    return execFileSync(file, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 20_000 });
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === 'ENOENT' || e.code === 'EACCES') throw notRunnable(file, e.code);
    throw new Error(`${path.basename(file)} ${args.join(' ')} failed: ${e.stderr || e.message}`);
  }
}

/**
 * Wait until `ready`; throw when the process exits first or the wait runs out. At a start (`dir`
 * given, the process's own folder) the process is stopped and the folder removed before the throw.
 */
async function until(what: string, ready: () => Promise<boolean> | boolean, child: ChildProcess, log: () => string, dir?: string): Promise<void> {
  const deadline = Date.now() + START_DEADLINE_MS;
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`${what}: the process exited: ${log()}`);
      try {
        if (await ready()) return;
      } catch {
        /* not up yet */
      }
      if (Date.now() > deadline) throw new Error(`${what} within ${START_DEADLINE_MS} ms: ${log()}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  } catch (err) {
    if (dir !== undefined) {
      await stopChild(child);
      rmSync(dir, { recursive: true, force: true });
    }
    throw err;
  }
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
}

export async function startSignedKnot(zones: Record<string, SignedZone>): Promise<SignedKnot> {
  const dir = mkdtempSync(path.join(tmpdir(), 'maildns-knot-dnssec-'));
  const port = await freePort();
  const conf = path.join(dir, 'knot.conf');
  const entries = Object.entries(zones)
    .map(([apex, z]) => `  - domain: ${apex}\n    file: ${path.join(dir, `${apex}.zone`)}\n` + (z.signed ? '    dnssec-signing: on\n    dnssec-policy: tests\n' : ''))
    .join('');
  for (const [apex, z] of Object.entries(zones)) writeFileSync(path.join(dir, `${apex}.zone`), z.text);
  writeFileSync(
    conf,
    `server:\n  listen: 127.0.0.1@${port}\n  rundir: ${dir}\n  user: root:root\n` +
      `database:\n  storage: ${dir}\n` +
      `log:\n  - target: stderr\n    any: warning\n` +
      // One combined signing key per zone, made at the first load; the tests never roll it.
      `policy:\n  - id: tests\n    algorithm: ecdsap256sha256\n    single-type-signing: on\n    nsec3: off\n` +
      `template:\n  - id: default\n    storage: ${dir}\n    zonefile-sync: -1\n` +
      `zone:\n${entries}`,
  );
  const child = spawn(KNOTD, ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const ctl = (...args: string[]): string => run(KNOTC, ['-c', conf, ...args]);
  const direct = new DnsResolver({ servers: [{ host: '127.0.0.1', port }], recursionDesired: false, cache: false, timeoutMs: 1000, attempts: 1 });
  const serial = async (apex: string): Promise<number | null> => (await direct.lookup(apex, 'SOA')).records[0]?.serial ?? null;
  await until('knotd did not load every zone', async () => (await Promise.all(Object.keys(zones).map(serial))).every((s) => s !== null), child, () => stderr, dir);
  return {
    host: '127.0.0.1',
    port,
    stubAddress: `127.0.0.1@${port}`,
    ds: (apex) => run(KEYMGR, ['-c', conf, apex, 'ds']).split('\n').filter((l) => /\sDS\s/.test(l)),
    dnskeys: (apex) => ctl('zone-read', apex, '@', 'DNSKEY').split('\n').filter((l) => /\sDNSKEY\s/.test(l)),
    // zone-read prints "[zone.] owner ttl type rdata": without the zone in brackets, master-file lines.
    signedText: (apex) => ctl('zone-read', apex).split('\n').map((l) => l.replace(/^\[[^\]]*\]\s+/, '')).join('\n'),
    async updateZone(apex, text, wanted) {
      writeFileSync(path.join(dir, `${apex}.zone`), text);
      ctl('zone-reload', apex);
      // Signing adds to the serial: any serial at or past the file's is the new zone.
      await until(`knotd did not serve serial ${wanted} of ${apex}`, async () => ((await serial(apex)) ?? 0) >= wanted, child, () => stderr);
    },
    async stop() {
      await stopChild(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface ValidatingResolver {
  host: string;
  port: number;
  /** `host:port`, as --nameserver and --validating-resolver take it. */
  address: string;
  stop(): Promise<void>;
}

/**
 * Unbound validating under `trustAnchor` (a DS line), each zone of `stubs` sent to the server given
 * for it (`host@port`), and the root to the first of them.
 */
export async function startUnbound(trustAnchor: string, stubs: Record<string, string>): Promise<ValidatingResolver> {
  const zones = Object.keys(stubs);
  const dir = mkdtempSync(path.join(tmpdir(), 'maildns-unbound-'));
  const port = await freePort();
  const conf = path.join(dir, 'unbound.conf');
  writeFileSync(
    conf,
    [
      'server:',
      `  interface: 127.0.0.1`,
      `  port: ${port}`,
      '  do-ip6: no',
      '  do-daemonize: no',
      '  username: ""',
      '  chroot: ""',
      `  directory: "${dir}"`,
      `  pidfile: "${path.join(dir, 'unbound.pid')}"`,
      '  use-syslog: no',
      '  logfile: ""',
      '  verbosity: 0',
      // Knot is on loopback; Unbound refuses to ask loopback addresses unless told.
      '  do-not-query-localhost: no',
      '  module-config: "validator iterator"',
      '  access-control: 127.0.0.0/8 allow',
      // test. is one of Unbound's built-in local zones (RFC 6761); the tests' zones live under it.
      '  local-zone: "test." nodefault',
      `  trust-anchor: "${trustAnchor}"`,
      '  trust-anchor-signaling: no',
      '  root-key-sentinel: no',
      '  qname-minimisation: no',
      '  prefetch: no',
      ...[...zones, '.'].flatMap((zone) => ['stub-zone:', `  name: "${zone}"`, `  stub-addr: ${stubs[zone] ?? stubs[zones[0]!]}`]),
      '',
    ].join('\n'),
  );
  const child = spawn(UNBOUND, ['-d', '-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  child.once('error', (err) => (stderr += String(err)));
  const probe = new DnsResolver({ servers: [{ host: '127.0.0.1', port }], cache: false, timeoutMs: 1000, attempts: 1 });
  await until('unbound did not answer', async () => (await probe.lookup(zones[0]!, 'SOA')).status === 'ok', child, () => stderr, dir);
  return {
    host: '127.0.0.1',
    port,
    address: `127.0.0.1:${port}`,
    async stop() {
      await stopChild(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
