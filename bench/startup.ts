/**
 * Start-up of the CLI as a user meets it: each command a fresh process, timed from spawn to exit,
 * beside `node -e 0` in the same rounds (the commands take turns, so all see the same machine).
 * Prints the median wall time of each and its ratio to a bare start of the Node maildns runs in;
 * the targets are 150 ms for `--version`, `--help` and `check --help` (a help yargs lays out), and
 * 300 ms for `maildns spf DOMAIN` against the embedded server (it answers in the bench's own
 * process). maildns is the installed command (bin/maildns).
 * Where NODE_EXTRA_CA_CERTS is set, `node -e 0` reads that file as it starts and maildns does not
 * (bin/maildns says why), so a bare Node start without it is timed beside it.
 */
import { execFile } from 'node:child_process';
import { startServer } from '../src/dns/server.js';
import { MAILDNS, MAILDNS_ENV } from './command.js';

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

interface Command {
  name: string;
  file: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  targetMs: number | null;
}

/** Wall milliseconds from spawn to exit; the command must succeed. */
function timeOnce({ file, args, env }: Command): Promise<number> {
  const started = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    execFile(file, args, { timeout: 30_000, env }, (err, _stdout, stderr) => {
      if (err) reject(new Error(`${args.join(' ')} failed: ${stderr || err.message}`));
      else resolve(Number(process.hrtime.bigint() - started) / 1e6);
    });
  });
}

interface StartupFigure {
  name: string;
  medianMs: number;
  ratioToNode: number;
  /** The bare Node start the ratio is to. */
  ratioTo: string;
  targetMs: number | null;
}

export async function measureStartup(rounds = 15): Promise<StartupFigure[]> {
  const records = [
    { name: 'example.com', type: 'TXT' as const, ttl: 300, value: 'v=spf1 ip4:192.0.2.25 include:_spf.example.net -all' },
    { name: '_spf.example.net', type: 'TXT' as const, ttl: 300, value: 'v=spf1 ip4:198.51.100.0/24 -all' },
  ];
  const server = await startServer({ records, zones: ['example.com', 'example.net'], host: '127.0.0.1', port: 0 });
  try {
    const bareNode = (name: string, env: NodeJS.ProcessEnv): Command => ({ name, file: process.execPath, args: ['-e', '0'], env, targetMs: null });
    const maildns = (name: string, args: string[], targetMs: number): Command => ({ name, file: MAILDNS, args, env: MAILDNS_ENV, targetMs });
    const plain = bareNode('node -e 0', process.env);
    // The start the ratios are to, that of the Node maildns runs in: without NODE_EXTRA_CA_CERTS
    // when it is set, since the launcher keeps it from Node's start.
    const base = process.env['NODE_EXTRA_CA_CERTS'] ? bareNode('node -e 0, NODE_EXTRA_CA_CERTS unset', { ...process.env, NODE_EXTRA_CA_CERTS: '' }) : plain;
    const commands: Command[] = [
      plain,
      ...(base === plain ? [] : [base]),
      maildns('maildns --version', ['--version'], 150),
      maildns('maildns --help', ['--help'], 150),
      maildns('maildns check --help', ['check', '--help'], 150),
      maildns('maildns spf example.com (embedded server)', ['spf', 'example.com', '--nameserver', `${server.host}:${server.port}`], 300),
    ];
    // One untimed pass so the file system cache holds every module.
    for (const c of commands) await timeOnce(c);
    const times = commands.map(() => [] as number[]);
    for (let r = 0; r < rounds; r++) {
      for (const [i, c] of commands.entries()) times[i]!.push(await timeOnce(c));
    }
    const node = median(times[commands.indexOf(base)]!);
    return commands.map((c, i) => ({ name: c.name, medianMs: median(times[i]!), ratioToNode: median(times[i]!) / node, ratioTo: base.name, targetMs: c.targetMs }));
  } finally {
    await server.close();
  }
}

export function renderStartup(figures: readonly StartupFigure[], rounds: number): string {
  const width = Math.max(...figures.map((f) => f.name.length));
  const lines = [`CLI start-up, a fresh process each time (median of ${rounds} interleaved rounds; ratios to ${figures[0]?.ratioTo ?? 'node -e 0'})`];
  for (const f of figures) {
    const verdict = f.targetMs === null ? '' : f.medianMs <= f.targetMs ? `   target ${f.targetMs} ms: met` : `   target ${f.targetMs} ms: MISSED`;
    lines.push(`  ${f.name.padEnd(width)}  ${f.medianMs.toFixed(0).padStart(5)} ms   ${f.ratioToNode.toFixed(2)}x${verdict}`);
  }
  return `${lines.join('\n')}\n`;
}
