/**
 * Start-up of the CLI as a user meets it: each command a fresh process, timed from spawn to exit,
 * beside `node -e 0` in the same rounds (the commands take turns, so all see the same machine).
 * Prints the median wall time of each and its ratio to a bare Node start; the targets are
 * 150 ms for `--version` and `--help`, and 300 ms for `maildns spf DOMAIN` against the embedded
 * server (it answers in the bench's own process).
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer } from '../src/dns/server.js';

const CLI = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../cli/main.js');

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Wall milliseconds from spawn to exit; the command must succeed. */
function timeOnce(args: string[]): Promise<number> {
  const started = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    execFile(process.execPath, args, { timeout: 30_000 }, (err, _stdout, stderr) => {
      if (err) reject(new Error(`${args.join(' ')} failed: ${stderr || err.message}`));
      else resolve(Number(process.hrtime.bigint() - started) / 1e6);
    });
  });
}

export interface StartupFigure {
  name: string;
  medianMs: number;
  ratioToNode: number;
  targetMs: number | null;
}

export async function measureStartup(rounds = 15): Promise<StartupFigure[]> {
  const records = [
    { name: 'example.com', type: 'TXT' as const, ttl: 300, value: 'v=spf1 ip4:192.0.2.25 include:_spf.example.net -all' },
    { name: '_spf.example.net', type: 'TXT' as const, ttl: 300, value: 'v=spf1 ip4:198.51.100.0/24 -all' },
  ];
  const server = await startServer({ records, zones: ['example.com', 'example.net'], host: '127.0.0.1', port: 0 });
  try {
    const commands: { name: string; args: string[]; targetMs: number | null }[] = [
      { name: 'node -e 0', args: ['-e', '0'], targetMs: null },
      { name: 'maildns --version', args: [CLI, '--version'], targetMs: 150 },
      { name: 'maildns --help', args: [CLI, '--help'], targetMs: 150 },
      { name: 'maildns spf example.com (embedded server)', args: [CLI, 'spf', 'example.com', '--nameserver', `${server.host}:${server.port}`], targetMs: 300 },
    ];
    // One untimed pass so the file system cache holds every module.
    for (const c of commands) await timeOnce(c.args);
    const times = commands.map(() => [] as number[]);
    for (let r = 0; r < rounds; r++) {
      for (const [i, c] of commands.entries()) times[i]!.push(await timeOnce(c.args));
    }
    const node = median(times[0]!);
    return commands.map((c, i) => ({ name: c.name, medianMs: median(times[i]!), ratioToNode: median(times[i]!) / node, targetMs: c.targetMs }));
  } finally {
    await server.close();
  }
}

export function renderStartup(figures: readonly StartupFigure[], rounds: number): string {
  const width = Math.max(...figures.map((f) => f.name.length));
  const lines = [`CLI start-up, a fresh process each time (median of ${rounds} interleaved rounds)`];
  for (const f of figures) {
    const verdict = f.targetMs === null ? '' : f.medianMs <= f.targetMs ? `   target ${f.targetMs} ms: met` : `   target ${f.targetMs} ms: MISSED`;
    lines.push(`  ${f.name.padEnd(width)}  ${f.medianMs.toFixed(0).padStart(5)} ms   ${f.ratioToNode.toFixed(2)}x node -e 0${verdict}`);
  }
  return `${lines.join('\n')}\n`;
}
