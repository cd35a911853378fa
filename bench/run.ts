/**
 * `npm run bench [-- N ...]`: the bulk-check benchmark.
 *
 * For each N (default 1000): generate N synthetic domains with /work/shared/bench/mkbulk.py, serve
 * them with a local Knot, run the `maildns check` engine over domains.txt (selector "mail", the
 * same settings as the CLI defaults), then run bench_raw.py (a bare asyncio client sending only
 * the minimal query set) against the same server in the same run. Prints domains per second, DNS
 * queries per domain, peak memory and the ratio to the raw client, and scores the findings
 * against manifest.json (every broken domain found, no false alarm). Exit 1 when the score is not
 * perfect. Several N values (`npm run bench -- 1000 5000`) show whether memory stays flat as N
 * grows: each size runs in its own process so its peak RSS is its own.
 *
 * Environment: MAILDNS_BENCH_DIR (where the data goes; a temporary directory otherwise),
 * MAILDNS_BENCH_SHARED (the folder with mkbulk.py and bench_raw.py; default /work/shared/bench
 * or ../shared/bench next to the project).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { domainSource } from '../src/check/input.js';
import { runChecks } from '../src/check/run.js';
import { DnsResolver, type Resolver } from '../src/dns/resolver.js';
import { startKnot } from './knot.js';
import { newScore, readManifest, scoreIsPerfect, scoreResult, type Score } from './manifest.js';

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
  peakRssMb: number;
  score: Score;
}

export interface BenchOptions {
  concurrency?: number;
  selectors?: string[];
  /** Ask through this resolver (its `inner` DnsResolver, when it wraps one, is the one counted). */
  resolver?: Resolver & { inner?: DnsResolver };
}

/** Generate N domains into `dir` (mkbulk.py layout). */
export function generate(n: number, dir: string, shared = sharedBenchDir()): void {
  execFileSync('python3', [path.join(shared, 'mkbulk.py'), String(n), dir], { stdio: ['ignore', 'ignore', 'inherit'] });
}

/** Run the check engine over `dir`/domains.txt against a server; score against manifest.json. */
export async function benchCheck(dir: string, server: { host: string; port: number }, opts: BenchOptions = {}): Promise<BenchResult> {
  const manifest = readManifest(path.join(dir, 'manifest.json'));
  const resolver = opts.resolver ?? new DnsResolver({ servers: [server], timeoutMs: 2000, maxInFlight: 128, cacheLimit: 4096, sharedSockets: true });
  const counted = resolver instanceof DnsResolver ? resolver : resolver.inner;
  const source = await domainSource([], [path.join(dir, 'domains.txt')]);
  const score = newScore();
  const started = process.hrtime.bigint();
  const summary = await runChecks(source.names(), {
    resolver,
    selectors: opts.selectors ?? ['mail'],
    failOn: 'error',
    concurrency: opts.concurrency ?? 64,
    onResult: (r) => scoreResult(score, manifest, r),
  });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return {
    domains: summary.domains,
    seconds,
    domainsPerSecond: summary.domains / seconds,
    queries: counted?.queriesSent ?? NaN,
    queriesPerDomain: (counted?.queriesSent ?? NaN) / summary.domains,
    peakRssMb: process.resourceUsage().maxRSS / 1024,
    score,
  };
}

function rawBaseline(shared: string, dir: string, n: number, port: number): { domains_per_s: number; queries: number } {
  const out = execFileSync('python3', [path.join(shared, 'bench_raw.py'), path.join(dir, 'baseline-queries.txt'), String(n), '--port', String(port)], { encoding: 'utf8' });
  return JSON.parse(out.trim().split('\n').at(-1)!) as { domains_per_s: number; queries: number };
}

async function main(): Promise<void> {
  const sizes = process.argv.slice(2).map(Number).filter((n) => Number.isInteger(n) && n > 0);
  if (!sizes.length) sizes.push(1000);
  sizes.sort((a, b) => a - b);
  if (!process.argv.includes('--child')) {
    // One process per size, so each peak-memory figure is that size's own; --expose-gc lets the
    // child measure the heap that stays in use after a collection.
    let failed = false;
    for (const n of sizes) {
      const child = spawnSync(process.execPath, ['--expose-gc', fileURLToPath(import.meta.url), String(n), '--child'], { stdio: 'inherit' });
      if (child.status !== 0) failed = true;
    }
    process.exitCode = failed ? 1 : 0;
    return;
  }
  const shared = sharedBenchDir();
  let perfect = true;
  for (const n of sizes) {
    const base = process.env['MAILDNS_BENCH_DIR'] ?? mkdtempSync(path.join(tmpdir(), 'maildns-bench-'));
    const dir = path.join(base, `n${n}`);
    generate(n, dir, shared);
    const apexes = readFileSync(path.join(dir, 'zones.txt'), 'utf8').split('\n').filter(Boolean);
    const knot = await startKnot({ dir: path.join(dir, 'zones'), apexes });
    try {
      // A short warm-up so the first figures are not the JIT's.
      await benchCheck(dir, knot, { concurrency: 64 }).catch(() => undefined);
      const r = await benchCheck(dir, knot);
      const gc = (globalThis as { gc?: () => void }).gc;
      gc?.();
      const retainedMb = process.memoryUsage().heapUsed / 1048576;
      const raw = rawBaseline(shared, dir, n, knot.port);
      const ratio = r.domainsPerSecond / raw.domains_per_s;
      const s = r.score;
      process.stdout.write(
        [
          `maildns check, ${n} domains on a local Knot (selector "mail", concurrency 64)`,
          `  domains/s            ${r.domainsPerSecond.toFixed(0)}   (${r.seconds.toFixed(2)} s)`,
          `  DNS queries/domain   ${r.queriesPerDomain.toFixed(2)}   (${r.queries} queries, shared includes asked once)`,
          `  peak RSS             ${r.peakRssMb.toFixed(0)} MB   (JS heap still in use after the run: ${retainedMb.toFixed(0)} MB)`,
          `  bench_raw.py         ${raw.domains_per_s.toFixed(0)} domains/s (${raw.queries} queries, minimal set, no checks)`,
          `  ratio maildns/raw    ${ratio.toFixed(2)}`,
          `  findings vs manifest ${s.found}/${s.broken} broken domains found, ${s.falseAlarms.length} false alarms, ${s.dnsErrors.length} DNS errors`,
          `  advice on healthy domains (warnings, not failures): ${Object.entries(s.healthyWarnings).map(([c, k]) => `${c} ${k}`).join(', ') || 'none'}`,
          ...s.missed.slice(0, 10).map((m) => `    missed: ${m}`),
          ...s.falseAlarms.slice(0, 10).map((m) => `    false alarm: ${m}`),
          '',
        ].join('\n'),
      );
      process.stdout.write(
        `${JSON.stringify({ n, domainsPerSecond: Math.round(r.domainsPerSecond), queriesPerDomain: Number(r.queriesPerDomain.toFixed(3)), peakRssMb: Math.round(r.peakRssMb), retainedHeapMb: Math.round(retainedMb), rawDomainsPerSecond: raw.domains_per_s, ratio: Number(ratio.toFixed(3)), found: s.found, broken: s.broken, falseAlarms: s.falseAlarms.length })}\n`,
      );
      if (!scoreIsPerfect(s)) perfect = false;
    } finally {
      await knot.stop();
      if (!process.env['MAILDNS_BENCH_DIR']) rmSync(base, { recursive: true, force: true });
    }
  }
  process.exitCode = perfect ? 0 : 1;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main();
