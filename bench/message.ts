/**
 * `npm run bench -- --message [--message-mb M] [--rounds R]`: a large message verified as a user
 * verifies it, beside dkimpy (Debian's python3-dkim), the second verifier the tests use.
 *
 * A message of M megabytes (default 20: text and a base64 attachment, LF line ends as a Unix tool
 * saves it) is signed with `maildns sign` (RSA, relaxed/relaxed) under a key `maildns keygen` made,
 * whose record `maildns serve` publishes on 127.0.0.1 beside a DMARC record (the verdict needs no
 * other server). Each round runs, as fresh processes under GNU time, `maildns verify-message FILE
 * --nameserver 127.0.0.1:PORT --json` and dkimpy's `dkim.verify` on the same file with its key asked
 * of the same server; each must pass. Printed: the medians of wall time and peak RSS for both,
 * their ratios, and each peak RSS as a multiple of the message's size.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { GNU_TIME, MAILDNS, MAILDNS_ENV, requireGnuTime } from './command.js';
import { freePort } from './knot.js';

/** Debian's python, which has python3-dkim and python3-dnspython (a pyenv python on PATH hides them). */
const SYSTEM_PYTHON = '/usr/bin/python3';
/** Any one run: a verifier that takes longer is stuck. */
const RUN_TIMEOUT_MS = 120_000;

/** dkimpy's verification of argv[1], its key records asked of 127.0.0.1:argv[2]; exit 0 when it passes. */
const DKIMPY_VERIFY = [
  'import sys, dkim, dns.resolver',
  'r = dns.resolver.Resolver(configure=False); r.nameservers = ["127.0.0.1"]; r.port = int(sys.argv[2]); r.lifetime = 5',
  'def txt(name, timeout=5):',
  '    try: return b"".join(s for rr in r.resolve(name.decode().rstrip("."), "TXT") for s in rr.strings)',
  '    except Exception: return None',
  'ok = dkim.verify(open(sys.argv[1], "rb").read(), dnsfunc=txt)',
  'sys.exit(0 if ok else 1)',
].join('\n');

interface Timed {
  seconds: number;
  rssMb: number;
}

/** `command args` under GNU time: its wall time and peak RSS; rejects unless it exits 0. */
function timed(command: string, args: readonly string[], what: string): Promise<Timed> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(GNU_TIME, ['-f', '%M', command, ...args], { stdio: ['ignore', 'ignore', 'pipe'], env: MAILDNS_ENV });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), RUN_TIMEOUT_MS);
    child.on('error', (err) => reject(new Error(`${what}: ${err.message}`)));
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const seconds = (performance.now() - started) / 1000;
      const lines = stderr.trim().split('\n');
      if (signal) return reject(new Error(`${what} was stopped after ${RUN_TIMEOUT_MS / 1000} s`));
      if (code !== 0) return reject(new Error(`${what} exited ${code}: ${lines.slice(0, -1).join(' ').slice(0, 400)}`));
      resolve({ seconds, rssMb: Number(lines.at(-1)) / 1024 });
    });
  });
}

/** A message of about `mb` megabytes: a text part and a base64 attachment, lines ending in LF. */
export function largeMessage(mb: number): Buffer {
  const line = 'The quick brown fox jumps over the lazy dog, again and again, for a large message.\n';
  const base64Line = `${Buffer.alloc(57, 0x5a).toString('base64')}\n`;
  const target = mb * 1024 * 1024;
  const head = [
    'From: Bench <bench@bench.example>',
    'To: someone@example.net',
    'Subject: a large message',
    'Date: Tue, 01 Dec 2026 09:00:00 +0000',
    'Message-ID: <large@bench.example>',
    'MIME-Version: 1.0',
    'Content-Type: multipart/mixed; boundary="b"',
    '',
    '--b',
    'Content-Type: text/plain; charset=us-ascii',
    '',
    line.repeat(200),
    '--b',
    'Content-Type: application/octet-stream',
    'Content-Transfer-Encoding: base64',
    '',
    '',
  ].join('\n');
  const lines = Math.max(1, Math.ceil((target - head.length) / base64Line.length));
  return Buffer.from(`${head}${base64Line.repeat(lines)}--b--\n`, 'latin1');
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

function mustRun(args: string[], cwd: string, what: string): string {
  const r = spawnSync(MAILDNS, args, { cwd, encoding: 'utf8', env: MAILDNS_ENV, timeout: RUN_TIMEOUT_MS });
  if (r.status !== 0) throw new Error(`${what}: maildns ${args.join(' ')} exited ${r.status ?? r.signal}: ${(r.stderr || r.stdout).trim().slice(0, 400)}`);
  return r.stdout;
}

/** `maildns serve` on a free port; resolves once it says it is serving. */
async function serve(dir: string): Promise<{ port: number; child: ChildProcess }> {
  const port = await freePort();
  const child = spawn(MAILDNS, ['serve', '--plan', path.join(dir, 'maildns.yaml'), '--port', String(port)], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], env: MAILDNS_ENV });
  await new Promise<void>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error('maildns serve did not say it was serving within 30 s')), 30_000);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('serving')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.on('exit', (code) => reject(new Error(`maildns serve exited ${code} before it was serving`)));
  });
  return { port, child };
}

export async function runMessageBench(rounds: number, mb: number): Promise<void> {
  requireGnuTime();
  if (spawnSync(SYSTEM_PYTHON, ['-c', 'import dkim, dns.resolver']).status !== 0) {
    throw new Error(`${SYSTEM_PYTHON} cannot import dkim and dns.resolver: apt-get install python3-dkim python3-dnspython`);
  }
  const dir = mkdtempSync(path.join(tmpdir(), 'maildns-bench-message-'));
  let server: ChildProcess | undefined;
  try {
    writeFileSync(path.join(dir, 'maildns.yaml'), 'version: 1\ndomains:\n  - domain: bench.example\n    spf: { ip4: [192.0.2.25], all: "-all" }\n    dkim:\n      - selector: mail\n        algorithm: rsa-2048\n    dmarc: { p: reject }\n');
    mustRun(['keygen'], dir, 'the key');
    const raw = path.join(dir, 'large.eml');
    writeFileSync(raw, largeMessage(mb));
    const signed = path.join(dir, 'signed.eml');
    mustRun(['sign', raw, '--plan', 'maildns.yaml', '--output', signed], dir, 'signing');
    const size = statSync(signed).size;
    const served = await serve(dir);
    server = served.child;
    const ours: Timed[] = [];
    const peer: Timed[] = [];
    for (let i = 0; i < rounds; i++) {
      ours.push(await timed(MAILDNS, ['verify-message', signed, '--nameserver', `127.0.0.1:${served.port}`, '--json'], 'maildns verify-message'));
      peer.push(await timed(SYSTEM_PYTHON, ['-c', DKIMPY_VERIFY, signed, String(served.port)], 'dkimpy'));
    }
    const verdict = JSON.parse(mustRun(['verify-message', signed, '--nameserver', `127.0.0.1:${served.port}`, '--json'], dir, 'the verdict')) as { dkim: { result: string }[] };
    if (verdict.dkim[0]?.result !== 'pass') throw new Error(`maildns verify-message did not pass its own signature: ${JSON.stringify(verdict.dkim)}`);
    const sizeMb = size / 1024 / 1024;
    const [oursS, peerS, oursRss, peerRss] = [median(ours.map((t) => t.seconds)), median(peer.map((t) => t.seconds)), median(ours.map((t) => t.rssMb)), median(peer.map((t) => t.rssMb))];
    process.stdout.write(
      [
        `verify-message of a ${sizeMb.toFixed(1)} MB message (LF line ends, RSA relaxed/relaxed), a fresh process per run (median of ${rounds} rounds, each followed by dkimpy)`,
        `  maildns verify-message   ${oursS.toFixed(2)} s   peak RSS ${oursRss.toFixed(0)} MB (${(oursRss / sizeMb).toFixed(1)}x the message)`,
        `  dkimpy dkim.verify       ${peerS.toFixed(2)} s   peak RSS ${peerRss.toFixed(0)} MB (${(peerRss / sizeMb).toFixed(1)}x the message)`,
        `  ratio maildns/dkimpy     time ${(oursS / peerS).toFixed(2)}   RSS ${(oursRss / peerRss).toFixed(2)}`,
        JSON.stringify({ messageMb: Number(sizeMb.toFixed(2)), rounds, seconds: Number(oursS.toFixed(3)), peakRssMb: Math.round(oursRss), dkimpySeconds: Number(peerS.toFixed(3)), dkimpyPeakRssMb: Math.round(peerRss) }),
        '',
      ].join('\n'),
    );
  } finally {
    server?.kill();
    rmSync(dir, { recursive: true, force: true });
  }
}

