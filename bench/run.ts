/**
 * `npm run bench [-- N ...]`: the bulk-check benchmark.
 *
 * For each N (default 1000): generate N synthetic domains with /work/shared/bench/mkbulk.py, serve
 * them with a local Knot, run the `maildns check` engine over domains.txt (selector "mail", the
 * same settings as the CLI defaults): once cold, then warm-up runs, then rounds in which maildns
 * and bench_raw.py (a bare asyncio client sending only the minimal query set) take turns against
 * the same server. Prints the medians of the rounds (domains per second, the ratio to the raw
 * client, the implied multiple of checkdmarc), the cold first run, DNS queries per domain and
 * peak memory, and scores the findings of every run against manifest.json (every broken domain
 * found, no false alarm). Exit 1 when a score is not perfect. Several N values
 * (`npm run bench -- 1000 5000 20000`) show whether memory stays flat as N grows: the check runs
 * in a child process of its own for each size (the harness, Knot's control and bench_raw.py stay
 * outside), so its peak RSS is the engine's. `--rounds R` (default 9) and `--warmup W` (default 3,
 * the cold run included) change the counts.
 *
 * Environment: MAILDNS_BENCH_DIR (where the data goes; a temporary directory otherwise),
 * MAILDNS_BENCH_SHARED (the folder with mkbulk.py and bench_raw.py; default /work/shared/bench
 * or ../shared/bench next to the project). Before the check, the CLI's start-up (bench/startup.ts);
 * `--startup-only` stops after it, `--startup-rounds R` (default 15) sets its rounds.
 */
import { execFileSync, fork, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { domainSource } from '../src/check/input.js';
import { bulkResolverSettings, DEFAULT_CONCURRENCY, runChecks } from '../src/check/run.js';
import { DnsResolver, type Resolver } from '../src/dns/resolver.js';
import { startKnot } from './knot.js';
import { measureStartup, renderStartup } from './startup.js';
import { newScore, readCompactManifest, readManifest, scoreIsPerfect, scoreResult, writeCompactManifest, type ManifestEntry, type Score } from './manifest.js';

const here = path.dirname(fileURLToPath(import.meta.url));

export function sharedBenchDir(): string {
  const candidates = [process.env['MAILDNS_BENCH_SHARED'], '/work/shared/bench', path.resolve(here, '../../../shared/bench'), path.resolve(here, '../../shared/bench')];
  const found = candidates.find((c): c is string => Boolean(c) && existsSync(path.join(c!, 'mkbulk.py')));
  if (!found) throw new Error('mkbulk.py not found: set MAILDNS_BENCH_SHARED to the folder holding mkbulk.py and bench_raw.py');
  return found;
}

export interface BenchResult {
  domains: number;
  seconds: number;
  domainsPerSecond: number;
  queries: number;
  queriesPerDomain: number;
  score: Score;
}

export interface BenchOptions {
  concurrency?: number;
  selectors?: string[];
  /** Ask through this resolver (its `inner` DnsResolver, when it wraps one, is the one counted). */
  resolver?: Resolver & { inner?: DnsResolver };
  /** What each domain should be found to have; read from `dir`/manifest.json when absent. */
  manifest?: ReadonlyMap<string, ManifestEntry>;
}

/** Generate N domains into `dir` (mkbulk.py layout). */
export function generate(n: number, dir: string, shared = sharedBenchDir()): void {
  execFileSync('python3', [path.join(shared, 'mkbulk.py'), String(n), dir], { stdio: ['ignore', 'ignore', 'inherit'] });
}

/** Run the check engine over `dir`/domains.txt against a server; score against manifest.json. */
export async function benchCheck(dir: string, server: { host: string; port: number }, opts: BenchOptions = {}): Promise<BenchResult> {
  const manifest = opts.manifest ?? readManifest(path.join(dir, 'manifest.json'));
  const concurrency = opts.concurrency ?? DEFAULT_CONCURRENCY;
  // The same settings as `maildns check` (src/cli/commands/check.ts) with its default --timeout.
  const resolver = opts.resolver ?? new DnsResolver({ servers: [server], timeoutMs: 2000, ...bulkResolverSettings(concurrency) });
  const counted = resolver instanceof DnsResolver ? resolver : resolver.inner;
  const source = await domainSource([], [path.join(dir, 'domains.txt')]);
  const score = newScore();
  const started = process.hrtime.bigint();
  const summary = await runChecks(source.names(), {
    resolver,
    selectors: opts.selectors ?? ['mail'],
    failOn: 'error',
    concurrency,
    onResult: (r) => scoreResult(score, manifest, r),
  });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return {
    domains: summary.domains,
    seconds,
    domainsPerSecond: summary.domains / seconds,
    queries: counted?.queriesSent ?? NaN,
    queriesPerDomain: (counted?.queriesSent ?? NaN) / summary.domains,
    score,
  };
}

function rawBaseline(shared: string, dir: string, n: number, port: number): { domains_per_s: number; queries: number } {
  const out = execFileSync('python3', [path.join(shared, 'bench_raw.py'), path.join(dir, 'baseline-queries.txt'), String(n), '--port', String(port)], { encoding: 'utf8' });
  return JSON.parse(out.trim().split('\n').at(-1)!) as { domains_per_s: number; queries: number };
}

/**
 * The reference figures of /work/shared/bench/README.md, measured on this machine kind: checkdmarc
 * checks 43 domains/s where bench_raw.py reaches 2,480. Scaling checkdmarc by bench_raw measured
 * in this run gives its figure here; the issue's target is 50 times that.
 */
const CHECKDMARC_REFERENCE = { domainsPerSecond: 43, rawDomainsPerSecond: 2480 };
const TARGET_TIMES_CHECKDMARC = 50;

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

function intFlag(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : Number(process.env[`MAILDNS_BENCH_${name.toUpperCase()}`] ?? fallback);
  return Number.isInteger(v) && v >= 0 ? v : fallback;
}

/**
 * The check process: runs the engine when the harness asks, so its peak memory is the engine's
 * (with the compact manifest it scores against), not the harness's or Knot's bookkeeping.
 */
async function engineProcess(dir: string, port: number): Promise<void> {
  const manifest = readCompactManifest(path.join(dir, 'expected.tsv'));
  const server = { host: '127.0.0.1', port };
  process.on('message', (msg: { cmd: 'run' | 'memory' }) => {
    if (msg.cmd === 'run') {
      void benchCheck(dir, server, { manifest }).then((r) => process.send!({ result: r }));
    } else {
      (globalThis as { gc?: () => void }).gc?.();
      const memory = { peakRssMb: process.resourceUsage().maxRSS / 1024, retainedHeapMb: process.memoryUsage().heapUsed / 1048576 };
      process.send!({ memory }, () => process.disconnect());
    }
  });
  process.send!({ ready: true });
}

/** Send one command to the check process and wait for its answer. */
function ask<T>(child: ChildProcess, cmd: 'run' | 'memory', key: string): Promise<T> {
  return new Promise((resolve, reject) => {
    if (child.exitCode !== null || !child.connected) {
      reject(new Error(`the check process is gone (exit ${child.exitCode}) before "${cmd}"`));
      return;
    }
    const onMessage = (m: Record<string, unknown>): void => {
      if (!(key in m)) return;
      child.off('message', onMessage);
      child.off('exit', onExit);
      resolve(m[key] as T);
    };
    const onExit = (code: number | null): void => reject(new Error(`the check process exited (${code}) before answering "${cmd}"`));
    child.on('message', onMessage);
    child.once('exit', onExit);
    child.send({ cmd }, (err) => {
      if (err) reject(err);
    });
  });
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const engine = args.indexOf('--engine');
  if (engine >= 0) return engineProcess(args[engine + 1]!, Number(args[engine + 2]));
  const sizes = args.filter((a, i) => /^\d+$/.test(a) && !/^--/.test(args[i - 1] ?? '')).map(Number).filter((n) => n > 0);
  if (!sizes.length) sizes.push(1000);
  sizes.sort((a, b) => a - b);
  const rounds = Math.max(1, intFlag('rounds', 9));
  const warmups = Math.max(1, intFlag('warmup', 3));
  // Start-up first: it needs no data, and a slow start is what a user notices before any speed.
  const startupRounds = Math.max(1, intFlag('startup-rounds', 15));
  process.stdout.write(`${renderStartup(await measureStartup(startupRounds), startupRounds)}\n`);
  if (args.includes('--startup-only')) return;
  const shared = sharedBenchDir();
  let perfect = true;
  for (const n of sizes) {
    const base = process.env['MAILDNS_BENCH_DIR'] ?? mkdtempSync(path.join(tmpdir(), 'maildns-bench-'));
    const dir = path.join(base, `n${n}`);
    generate(n, dir, shared);
    writeCompactManifest(path.join(dir, 'manifest.json'), path.join(dir, 'expected.tsv'));
    const apexes = readFileSync(path.join(dir, 'zones.txt'), 'utf8').split('\n').filter(Boolean);
    const knot = await startKnot({ dir: path.join(dir, 'zones'), apexes });
    // --expose-gc lets the check process measure the heap that stays in use after a collection.
    const child = fork(fileURLToPath(import.meta.url), ['--engine', dir, String(knot.port)], { execArgv: ['--expose-gc'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    try {
      await new Promise<void>((resolve, reject) => {
        child.once('message', () => resolve());
        child.once('exit', (code) => reject(new Error(`the check process exited (${code}) while starting`)));
      });
      // The first run of a fresh process pays for the JIT compiling the code; it is reported on its
      // own. Then a few more warm-up runs, then rounds of maildns and bench_raw.py taking turns, so
      // both see the same machine; the figures are the medians of the rounds.
      const results: BenchResult[] = [];
      for (let i = 0; i < warmups; i++) results.push(await ask<BenchResult>(child, 'run', 'result'));
      const measured: BenchResult[] = [];
      const raws: { domains_per_s: number; queries: number }[] = [];
      for (let i = 0; i < rounds; i++) {
        measured.push(await ask<BenchResult>(child, 'run', 'result'));
        raws.push(rawBaseline(shared, dir, n, knot.port));
      }
      results.push(...measured);
      const memory = await ask<{ peakRssMb: number; retainedHeapMb: number }>(child, 'memory', 'memory');
      const cold = results[0]!.domainsPerSecond;
      const speeds = measured.map((r) => r.domainsPerSecond);
      const speed = median(speeds);
      const raw = median(raws.map((r) => r.domains_per_s));
      // Each round's maildns run and bench_raw.py run are neighbours in time: the median of their
      // ratios cancels most of the machine's drift.
      const ratio = median(measured.map((m, i) => m.domainsPerSecond / raws[i]!.domains_per_s));
      const checkdmarcHere = (CHECKDMARC_REFERENCE.domainsPerSecond * raw) / CHECKDMARC_REFERENCE.rawDomainsPerSecond;
      const times = (ratio * CHECKDMARC_REFERENCE.rawDomainsPerSecond) / CHECKDMARC_REFERENCE.domainsPerSecond;
      const targetRatio = (TARGET_TIMES_CHECKDMARC * CHECKDMARC_REFERENCE.domainsPerSecond) / CHECKDMARC_REFERENCE.rawDomainsPerSecond;
      const r = measured[0]!;
      // Every run is scored, warm-ups included: a finding that comes and goes is a failure.
      const s = results.find((x) => !scoreIsPerfect(x.score))?.score ?? r.score;
      const fmt = (x: number): string => Math.round(x).toLocaleString('en-US');
      process.stdout.write(
        [
          `maildns check, ${n} domains on a local Knot (selector "mail", concurrency ${DEFAULT_CONCURRENCY}; ${rounds} rounds after ${warmups} warm-up runs)`,
          `  domains/s            ${fmt(speed)} median (rounds ${fmt(Math.min(...speeds))} to ${fmt(Math.max(...speeds))}); first run of a fresh process ${fmt(cold)}`,
          `  DNS queries/domain   ${r.queriesPerDomain.toFixed(2)}   (${r.queries} queries, shared includes asked once)`,
          `  peak RSS             ${memory.peakRssMb.toFixed(0)} MB   (the check process, all runs; JS heap still in use after them: ${memory.retainedHeapMb.toFixed(0)} MB)`,
          `  bench_raw.py         ${fmt(raw)} domains/s median (${raws[0]!.queries} queries: the minimal set, no checks)`,
          `  ratio maildns/raw    ${ratio.toFixed(2)}   (median of the rounds' ratios; target ${targetRatio.toFixed(2)}: ${TARGET_TIMES_CHECKDMARC}x checkdmarc)`,
          `  vs checkdmarc        ${times.toFixed(1)}x   (its reference ${CHECKDMARC_REFERENCE.domainsPerSecond}/s at bench_raw ${fmt(CHECKDMARC_REFERENCE.rawDomainsPerSecond)}/s, scaled to this run: ${checkdmarcHere.toFixed(0)}/s)`,
          `  findings vs manifest ${s.found}/${s.broken} broken domains found, ${s.falseAlarms.length} false alarms, ${s.dnsErrors.length} DNS errors`,
          `  advice on healthy domains (warnings, not failures): ${Object.entries(s.healthyWarnings).map(([c, k]) => `${c} ${k}`).join(', ') || 'none'}`,
          ...s.missed.slice(0, 10).map((m) => `    missed: ${m}`),
          ...s.falseAlarms.slice(0, 10).map((m) => `    false alarm: ${m}`),
          '',
        ].join('\n'),
      );
      process.stdout.write(
        `${JSON.stringify({ n, rounds, domainsPerSecond: Math.round(speed), firstRunDomainsPerSecond: Math.round(cold), queriesPerDomain: Number(r.queriesPerDomain.toFixed(3)), peakRssMb: Math.round(memory.peakRssMb), retainedHeapMb: Math.round(memory.retainedHeapMb), rawDomainsPerSecond: Math.round(raw), ratio: Number(ratio.toFixed(3)), timesCheckdmarc: Number(times.toFixed(1)), found: s.found, broken: s.broken, falseAlarms: s.falseAlarms.length, perRound: measured.map((m, i) => ({ maildns: Math.round(m.domainsPerSecond), raw: Math.round(raws[i]!.domains_per_s) })) })}\n`,
      );
      if (!scoreIsPerfect(s)) perfect = false;
    } finally {
      if (child.exitCode === null) child.kill();
      await knot.stop();
      if (!process.env['MAILDNS_BENCH_DIR']) rmSync(base, { recursive: true, force: true });
    }
  }
  process.exitCode = perfect ? 0 : 1;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main();
