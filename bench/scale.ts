/**
 * `npm run bench -- --scale [--scale-n N] [--rounds R]`: checks at any size, each `maildns check`
 * a fresh process under GNU time against one Knot serving N synthetic domains (mkbulk.py; default
 * and most 99,999):
 *
 * 1. streaming: the whole list from --domains-file against its first 1,000 names: domains/s of
 *    each (wall time of the process) and peak RSS of the long run (target 150 MB, and the long
 *    run's domains/s at least 80% of the short one's);
 * 2. history: 10,000 names with --history on a file that holds an earlier run (a nightly run)
 *    against the same run without it (target: at most 15% fewer domains/s);
 * 3. shards: the same 10,000 names as two shards side by side (--shard 0/2 and 1/2, wall time
 *    until both are done) against one process.
 *
 * Rounds alternate the runs they compare, and each figure is the median of the rounds' own
 * ratios, which holds better on a shared machine than a ratio of medians.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { GNU_TIME, MAILDNS, MAILDNS_ENV, requireGnuTime } from './command.js';
import { startKnot } from './knot.js';


interface Timed {
  wallS: number;
  peakRssMb: number;
  code: number | null;
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

/** One `maildns check …` under GNU time, its report to a file. */
function timedCheck(dir: string, args: string[]): Promise<Timed> {
  const timeFile = path.join(dir, `time-${process.hrtime.bigint()}.txt`);
  const started = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    const child = spawn(GNU_TIME, ['-o', timeFile, '-f', '%M', MAILDNS, 'check', ...args], { stdio: ['ignore', 'ignore', 'pipe'], env: MAILDNS_ENV });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => {
      const wallS = Number(process.hrtime.bigint() - started) / 1e9;
      // Exit 1 is expected: the data has broken domains on purpose.
      if (code !== 0 && code !== 1) return reject(new Error(`maildns check ${args.join(' ')} exited ${code}: ${stderr.trim()}`));
      const kb = Number(readFileSync(timeFile, 'utf8').trim().split('\n').at(-1));
      rmSync(timeFile, { force: true });
      resolve({ wallS, peakRssMb: kb / 1024, code });
    });
  });
}

interface ScaleResult {
  n: number;
  rounds: number;
  streaming: { shortDomainsPerS: number; longDomainsPerS: number; ratio: number; peakRssMb: number };
  history: { plainDomainsPerS: number; historyDomainsPerS: number; cost: number };
  shards: { oneProcessS: number; twoShardsS: number; speedup: number };
}

async function measureScale(opts: { n: number; rounds: number; generate: (n: number, dir: string) => void }): Promise<ScaleResult> {
  requireGnuTime();
  const dir = mkdtempSync(path.join(tmpdir(), 'maildns-scale-'));
  try {
    opts.generate(opts.n, dir);
    const apexes = readFileSync(path.join(dir, 'zones.txt'), 'utf8').split('\n').filter(Boolean);
    const knot = await startKnot({ dir: path.join(dir, 'zones'), apexes });
    try {
      const all = path.join(dir, 'domains.txt');
      const names = readFileSync(all, 'utf8').split('\n').filter(Boolean);
      const short = path.join(dir, 'first-1000.txt');
      const mid = path.join(dir, 'first-10000.txt');
      writeFileSync(short, `${names.slice(0, 1000).join('\n')}\n`);
      writeFileSync(mid, `${names.slice(0, 10_000).join('\n')}\n`);
      const midCount = Math.min(10_000, names.length);
      const server = ['-s', 'mail', '--nameserver', `127.0.0.1:${knot.port}`];
      const base = [...server, '--format', 'json'];
      const out = (name: string): string[] => ['-o', path.join(dir, name)];
      const history = path.join(dir, 'history.db');
      // Untimed: the file cache holds the modules, Knot has answered once, the history holds a run.
      await timedCheck(dir, ['--domains-file', short, ...base, ...out('warm.json')]);
      await timedCheck(dir, ['--domains-file', mid, ...base, ...out('warm.json'), '--history', history]);

      const stream: { short: number; long: number; rss: number }[] = [];
      const hist: { plain: number; history: number }[] = [];
      const shard: { one: number; two: number }[] = [];
      for (let r = 0; r < opts.rounds; r++) {
        const s = await timedCheck(dir, ['--domains-file', short, ...base, ...out('short.json')]);
        const l = await timedCheck(dir, ['--domains-file', all, ...base, ...out('long.json')]);
        stream.push({ short: 1000 / s.wallS, long: names.length / l.wallS, rss: l.peakRssMb });
        const plain = await timedCheck(dir, ['--domains-file', mid, ...base, ...out('plain.json')]);
        const withHistory = await timedCheck(dir, ['--domains-file', mid, ...base, ...out('history.json'), '--history', history]);
        hist.push({ plain: midCount / plain.wallS, history: midCount / withHistory.wallS });
        const one = await timedCheck(dir, ['--domains-file', mid, ...server, '--format', 'ndjson', ...out('one.ndjson')]);
        const started = process.hrtime.bigint();
        await Promise.all([0, 1].map((i) => timedCheck(dir, ['--domains-file', mid, ...server, '--format', 'ndjson', ...out(`shard-${i}.ndjson`), '--shard', `${i}/2`])));
        shard.push({ one: one.wallS, two: Number(process.hrtime.bigint() - started) / 1e9 });
      }
      return {
        n: names.length,
        rounds: opts.rounds,
        streaming: { shortDomainsPerS: median(stream.map((x) => x.short)), longDomainsPerS: median(stream.map((x) => x.long)), ratio: median(stream.map((x) => x.long / x.short)), peakRssMb: median(stream.map((x) => x.rss)) },
        history: { plainDomainsPerS: median(hist.map((x) => x.plain)), historyDomainsPerS: median(hist.map((x) => x.history)), cost: median(hist.map((x) => 1 - x.history / x.plain)) },
        shards: { oneProcessS: median(shard.map((x) => x.one)), twoShardsS: median(shard.map((x) => x.two)), speedup: median(shard.map((x) => x.one / x.two)) },
      };
    } finally {
      await knot.stop();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function renderScale(r: ScaleResult): string {
  const fmt = (x: number): string => Math.round(x).toLocaleString('en-US');
  const ok = (yes: boolean): string => (yes ? 'met' : 'NOT met');
  return [
    `maildns check at scale: ${fmt(r.n)} domains from mkbulk.py on one local Knot, fresh processes, median of ${r.rounds} rounds`,
    `  streaming    ${fmt(r.n)} domains: ${fmt(r.streaming.longDomainsPerS)} domains/s, peak RSS ${r.streaming.peakRssMb.toFixed(0)} MB (target 150 MB: ${ok(r.streaming.peakRssMb <= 150)})`,
    `               first 1,000: ${fmt(r.streaming.shortDomainsPerS)} domains/s; long/short ${r.streaming.ratio.toFixed(2)} (target at least 0.80: ${ok(r.streaming.ratio >= 0.8)})`,
    `  history      10,000 domains: ${fmt(r.history.plainDomainsPerS)} domains/s without, ${fmt(r.history.historyDomainsPerS)} with --history on a file holding a run; cost ${(r.history.cost * 100).toFixed(0)}% (target at most 15%: ${ok(r.history.cost <= 0.15)})`,
    `  shards       10,000 domains: one process ${r.shards.oneProcessS.toFixed(1)} s, two shards side by side ${r.shards.twoShardsS.toFixed(1)} s; speed-up ${r.shards.speedup.toFixed(2)}x`,
    '',
  ].join('\n');
}

export async function runScaleBench(args: readonly string[], generate: (n: number, dir: string) => void): Promise<void> {
  const flag = (name: string, fallback: number): number => {
    const i = args.indexOf(`--${name}`);
    const v = i >= 0 ? Number(args[i + 1]) : fallback;
    return Number.isInteger(v) && v > 0 ? v : fallback;
  };
  const result = await measureScale({ n: Math.min(99_999, flag('scale-n', 99_999)), rounds: flag('rounds', 3), generate });
  process.stdout.write(renderScale(result));
  process.stdout.write(`${JSON.stringify(result)}\n`);
}
