/**
 * `npm run bench [-- N ...]`: what a user runs, measured beside a named peer in the same run.
 *
 * 1. Start-up (bench/startup.ts): `--version`, `--help` and `spf DOMAIN` as fresh processes beside
 *    `node -e 0`.
 * 2. Bulk checks as cron runs them: for each N (default 1000 10000 50000), N synthetic domains from
 *    mkbulk.py served by a local Knot; each round runs the installed CLI,
 *    `maildns check --domains-file domains.txt --selectors mail --format json` as a fresh process
 *    with stdout to a file, then bench_raw.py (a bare asyncio client sending only the minimal query
 *    set, no checks) against the same server, then bench_raw.py again with check's three DNS-only
 *    probes (MTA-STS, TLS-RPT, BIMI) added to each domain's questions (like for like), then the
 *    same check on the first domain alone (the start-up). Per size it prints the medians: domains/s
 *    (the process's whole wall time, start-up included), bench_raw.py's domains/s timed the same
 *    way (and its own loop's figure), the median of the rounds' ratios (the figure that holds on a
 *    noisy machine), the same ratio to the run with the probes, CPU milliseconds per domain, peak
 *    RSS, DNS queries per domain, and the score of every run's JSON against manifest.json (every
 *    broken domain found, no false alarm). Exit 1 when a score is not perfect.
 *
 * checkdmarc runs after each round when MAILDNS_BENCH_CHECKDMARC names a command for it (it is no
 * Debian package and cannot be installed offline), and the multiple printed is the median of the
 * rounds' ratios; otherwise the multiple is to a reference, a measurement: 65 to 70 domains/s,
 * fresh processes, same data and machine kind, December 2026.
 *
 * Flags: `--rounds R` (default 5), `--startup-rounds R` (default 15), `--startup-only`,
 * `--checkdmarc-max N` (checkdmarc at the sizes up to N, default 1000); `--scale
 * [--scale-n N]` runs bench/scale.ts instead (streaming, history and shards at up to 99,999 domains);
 * `--message [--message-mb M]` runs bench/message.ts instead (verify-message of a large message beside dkimpy).
 * Environment: MAILDNS_BENCH_DIR (where the data goes; a temporary directory otherwise),
 * MAILDNS_BENCH_SHARED (the folder with mkbulk.py and bench_raw.py; default the copy in
 * bench/vendor). Needs GNU time (`apt-get install time`) for CPU and RSS.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, openSync, closeSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { domainSource } from '../src/check/input.js';
import { runChecks } from '../src/check/run.js';
import { bulkResolverSettings, DEFAULT_CONCURRENCY } from '../src/check/settings.js';
import { DnsResolver, type Resolver } from '../src/dns/resolver.js';
import { DEFAULT_DEADLINE_MS, DEFAULT_TIMEOUT_MS } from '../src/dns/defaults.js';
import { GNU_TIME, MAILDNS, MAILDNS_ENV, requireGnuTime } from './command.js';
import { startKnot } from './knot.js';
import { measureStartup, renderStartup } from './startup.js';
import { newScore, readManifest, scoreIsPerfect, scoreResult, type ManifestEntry, type Score } from './manifest.js';
import type { DomainResult } from '../src/check/audit.js';

const here = path.dirname(fileURLToPath(import.meta.url));

/** The folder of mkbulk.py and bench_raw.py: MAILDNS_BENCH_SHARED, else the copy vendored in bench/vendor. */
export function sharedBenchDir(): string {
  // From the sources (bench/) or from the build (dist/bench/), the vendored copy is bench/vendor.
  const vendored = [path.join(here, 'vendor'), path.resolve(here, '../../bench/vendor')].find((d) => existsSync(d)) ?? path.join(here, 'vendor');
  const dir = process.env['MAILDNS_BENCH_SHARED'] || vendored;
  if (!existsSync(path.join(dir, 'mkbulk.py'))) throw new Error(`${dir}: no mkbulk.py there; set MAILDNS_BENCH_SHARED to the folder holding mkbulk.py and bench_raw.py`);
  return dir;
}

interface BenchResult {
  domains: number;
  seconds: number;
  domainsPerSecond: number;
  queries: number;
  queriesPerDomain: number;
  score: Score;
}

interface BenchOptions {
  concurrency?: number;
  selectors?: string[];
  /** Ask through this resolver (its `inner` DnsResolver, when it wraps one, is the one counted). */
  resolver?: Resolver & { inner?: DnsResolver };
  /** What each domain should be found to have; read from `dir`/manifest.json when absent. */
  manifest?: ReadonlyMap<string, ManifestEntry>;
}

/**
 * What one run of mkbulk.py or bench_raw.py over N domains may take: both get through thousands of
 * domains a second here, so 10 ms a domain (a minute at least) is a script that hangs (bench_raw.py
 * on a server that never answers), not a slow one.
 */
export function benchScriptTimeoutMs(n: number): number {
  return Math.max(60_000, n * 10);
}

/**
 * `script` of the shared bench folder run by python3 to its end, over `n` domains; its standard
 * output, when `stdout` is 'pipe'. Stopped when it has not finished within `timeoutMs`, with an error
 * naming the command, as a checkdmarc run is.
 */
export function runBenchScript(shared: string, script: string, args: string[], n: number, timeoutMs: number, stdout: 'pipe' | 'ignore' = 'pipe'): string {
  const argv = [path.join(shared, script), ...args];
  try {
    return execFileSync('python3', argv, { encoding: 'utf8', stdio: ['ignore', stdout, 'inherit'], timeout: timeoutMs, killSignal: 'SIGKILL' }) ?? '';
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ETIMEDOUT') throw err;
    throw new Error(`python3 ${argv.join(' ')} had not finished after ${timeoutMs / 1000} s (${n} domain${n === 1 ? '' : 's'}), and was stopped`);
  }
}

/** Generate N domains into `dir` (mkbulk.py layout). */
export function generate(n: number, dir: string, shared = sharedBenchDir(), timeoutMs = benchScriptTimeoutMs(n)): void {
  runBenchScript(shared, 'mkbulk.py', [String(n), dir], n, timeoutMs, 'ignore');
}

/** Run the check engine over `dir`/domains.txt against a server; score against manifest.json. */
export async function benchCheck(dir: string, server: { host: string; port: number }, opts: BenchOptions = {}): Promise<BenchResult> {
  const manifest = opts.manifest ?? readManifest(path.join(dir, 'manifest.json'));
  const concurrency = opts.concurrency ?? DEFAULT_CONCURRENCY;
  // The same settings as `maildns check` (src/cli/commands/check.ts) with its default --timeout and --deadline.
  const resolver = opts.resolver ?? new DnsResolver({ servers: [server], timeoutMs: DEFAULT_TIMEOUT_MS, deadlineMs: DEFAULT_DEADLINE_MS, ...bulkResolverSettings(concurrency) });
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

interface RawRun {
  /** Domains/s over the python process's whole wall time, start-up included: timed as maildns is. */
  processDomainsPerS: number;
  /** Domains/s of bench_raw.py's own query loop, as it reports it (no interpreter start-up). */
  loopDomainsPerS: number;
  queries: number;
}

/**
 * The DNS-only probes `check` sends besides the minimal set (MTA-STS, TLS-RPT and BIMI records,
 * one TXT question each), for the like-for-like baseline below.
 */
const PROBE_PREFIXES = ['_mta-sts.', '_smtp._tls.', 'default._bimi.'];
/** bench_raw.py takes the first 4 x N domain lines of its list (mkbulk.py writes 4 a domain). */
const RAW_LINES_PER_DOMAIN = 4;
export const PROBE_LIST = 'probe-queries.txt';
/** mkbulk.py's names of the domains themselves and what lies under them (bench_raw.py's own test). */
const BULK_DOMAIN = /(^|\.)d\d{5}\.example\.?$/;

/**
 * mkbulk.py's minimal list with check's three DNS-only probes after each domain's four questions
 * (written for the first `n` domains only, so a count rounded up takes nothing more).
 */
export function writeProbeList(dir: string, n: number): number {
  const perDomain = RAW_LINES_PER_DOMAIN + PROBE_PREFIXES.length;
  const lines = readFileSync(path.join(dir, 'baseline-queries.txt'), 'utf8').split('\n').filter(Boolean);
  const sharedNames = lines.filter((l) => !BULK_DOMAIN.test(l.split(' ')[0]!));
  const out = [...sharedNames];
  for (const line of lines.filter((l) => BULK_DOMAIN.test(l.split(' ')[0]!)).slice(0, RAW_LINES_PER_DOMAIN * n)) {
    out.push(line);
    const [name, type] = line.split(' ');
    if (type === 'MX') for (const prefix of PROBE_PREFIXES) out.push(`${prefix}${name} TXT`);
  }
  writeFileSync(path.join(dir, PROBE_LIST), `${out.join('\n')}\n`);
  // The N to give bench_raw.py for all of them: it reads N x 4 lines, the list has n x 7.
  return Math.ceil((n * perDomain) / RAW_LINES_PER_DOMAIN);
}

/**
 * One bench_raw.py run as a fresh process, timed from spawn to exit like the check process: its
 * minimal list, or with `probes` (the `N` writeProbeList returned) the list with check's probes.
 */
function rawBaseline(shared: string, dir: string, n: number, port: number, probes?: number): RawRun {
  const list = probes === undefined ? 'baseline-queries.txt' : PROBE_LIST;
  const asked = probes ?? n;
  const started = process.hrtime.bigint();
  const out = runBenchScript(shared, 'bench_raw.py', [path.join(dir, list), String(asked), '--port', String(port)], n, benchScriptTimeoutMs(n));
  const wallS = Number(process.hrtime.bigint() - started) / 1e9;
  const own = JSON.parse(out.trim().split('\n').at(-1)!) as { domains_per_s: number; queries: number };
  // Its own figure counts the N it was given; n domains is what it asked about.
  return { processDomainsPerS: n / wallS, loopDomainsPerS: (own.domains_per_s * n) / asked, queries: own.queries };
}

/**
 * checkdmarc run beside maildns when MAILDNS_BENCH_CHECKDMARC names a command for it: the command
 * is given the server's port and the domain list (`COMMAND PORT DOMAINS_FILE`) and writes
 * checkdmarc's JSON, one object per domain, to standard output. checkdmarc cannot be installed
 * where the bench runs offline, and it takes no DNS port of its own, so the command is the user's
 * (a wrapper that points dnspython at 127.0.0.1:PORT). Slow (checkdmarc checks one domain at a
 * time), so it runs at the sizes up to --checkdmarc-max only.
 */
const CHECKDMARC_COMMAND = process.env['MAILDNS_BENCH_CHECKDMARC'] || null;

/**
 * What one checkdmarc run may take: checkdmarc checks about 50 domains/s here, so a second a domain
 * (a minute at least) is a command that hangs (a wrapper whose resolver is never answered), not a
 * slow one.
 */
export function checkdmarcTimeoutMs(n: number): number {
  return Math.max(60_000, n * 1000);
}

/**
 * One checkdmarc run (`command`) as a fresh process, timed from spawn to exit, in domains/s; it must
 * have reported on every domain. Ended (its whole process group, so a wrapper's checkdmarc too) when
 * it has not finished within `timeoutMs`; a failure says why, with the end of what it wrote to
 * standard error.
 */
export function checkdmarcRun(command: string, dir: string, n: number, port: number, timeoutMs = checkdmarcTimeoutMs(n)): Promise<number> {
  const started = process.hrtime.bigint();
  return new Promise<number>((resolve, reject) => {
    const child = spawn(command, [String(port), path.join(dir, 'domains.txt')], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const out: Buffer[] = [];
    let err = '';
    child.stdout!.on('data', (d: Buffer) => out.push(d));
    child.stderr!.on('data', (d: Buffer) => (err = (err + d.toString('utf8')).slice(-2000)));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    }, timeoutMs);
    const said = (): string => (err.trim() ? `: ${err.trim().split('\n').slice(-3).join(' / ')}` : '');
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new Error(`${command}: ${e.message}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const wallS = Number(process.hrtime.bigint() - started) / 1e9;
      if (timedOut) return reject(new Error(`${command} had not finished after ${timeoutMs / 1000} s (${n} domain${n === 1 ? '' : 's'}), and was stopped${said()}`));
      if (code !== 0) return reject(new Error(`${command} failed (${code !== null ? `exit ${code}` : `signal ${signal}`})${said()}`));
      let parsed: unknown;
      try {
        parsed = JSON.parse(Buffer.concat(out).toString('utf8'));
      } catch {
        return reject(new Error(`${command} printed no JSON on standard output${said()}`));
      }
      const reported = Array.isArray(parsed) ? parsed.length : 1;
      if (reported !== n) return reject(new Error(`${command} reported on ${reported} of ${n} domains; is it checking domains.txt against 127.0.0.1:${port}?`));
      resolve(n / wallS);
    });
  });
}

/** checkdmarc 5.17.5 measured with fresh processes on this machine kind and data, December 2026. */
const CHECKDMARC_REFERENCE = { low: 65, high: 70, what: 'checkdmarc 5.17.5, fresh processes, same data and machine kind, measured December 2026' };

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

function intFlag(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : Number(process.env[`MAILDNS_BENCH_${name.toUpperCase()}`] ?? fallback);
  return Number.isInteger(v) && v >= 0 ? v : fallback;
}

interface CliRun {
  wallS: number;
  cpuS: number;
  peakRssMb: number;
  queries: number;
  score: Score;
}

/** One `maildns check` as a fresh process under GNU time, its JSON to a file, then scored. */
async function runCheckProcess(dir: string, port: number, manifest: ReadonlyMap<string, ManifestEntry>, domainsFile = 'domains.txt'): Promise<CliRun> {
  const outFile = path.join(dir, 'check.json');
  const timeFile = path.join(dir, 'check.time');
  const out = openSync(outFile, 'w');
  const started = process.hrtime.bigint();
  try {
    await new Promise<void>((resolve, reject) => {
      const args = ['-o', timeFile, '-f', '%U %S %M', MAILDNS, 'check', '--domains-file', path.join(dir, domainsFile), '--selectors', 'mail', '--format', 'json', '--nameserver', `127.0.0.1:${port}`];
      // stdout straight to a file, as cron redirects it.
      const child = spawn(GNU_TIME, args, { stdio: ['ignore', out, 'pipe'], env: MAILDNS_ENV });
      let stderr = '';
      child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('error', reject);
      child.on('exit', (code) => {
        // Exit 1 is expected: the data has broken domains on purpose.
        if (code === 0 || code === 1) resolve();
        else reject(new Error(`maildns check exited ${code}: ${stderr.trim()}`));
      });
    });
  } finally {
    closeSync(out);
  }
  const wallS = Number(process.hrtime.bigint() - started) / 1e9;
  const [user, sys, rssKb] = readFileSync(timeFile, 'utf8').trim().split('\n').at(-1)!.split(' ').map(Number);
  const doc = JSON.parse(readFileSync(outFile, 'utf8')) as { domains: DomainResult[]; summary: { queries: number } };
  const score = newScore();
  for (const r of doc.domains) scoreResult(score, manifest, r);
  return { wallS, cpuS: user! + sys!, peakRssMb: rssKb! / 1024, queries: doc.summary.queries, score };
}

const USAGE = `usage: npm run bench -- [N ...] [--rounds R] [--startup-rounds R] [--startup-only]
       npm run bench -- --scale [--scale-n N] [--rounds R]
       npm run bench -- --message [--message-mb M] [--rounds R]
  N                   domain counts to check (default 1000 10000 50000)
  --rounds R          interleaved rounds per size (default 5)
  --startup-rounds R  rounds of the start-up figures (default 15)
  --startup-only      the start-up figures alone
  --checkdmarc-max N  with MAILDNS_BENCH_CHECKDMARC: run checkdmarc at the sizes up to N (default 1000)
  --scale             bench/scale.ts instead: streaming, history and shards at up to 99,999 domains
  --message           bench/message.ts instead: verify-message of a large message beside dkimpy
  --message-mb M      the message's size in megabytes (default 20)
environment: MAILDNS_BENCH_DIR keeps the data there; MAILDNS_BENCH_SHARED names the folder with mkbulk.py and bench_raw.py;
  MAILDNS_BENCH_CHECKDMARC names a command, run as COMMAND PORT DOMAINS_FILE, that checks the list with checkdmarc
  against 127.0.0.1:PORT and prints its JSON: then checkdmarc runs after each round and its multiple is measured`;
const VALUE_FLAGS = new Set(['--rounds', '--startup-rounds', '--scale-n', '--checkdmarc-max', '--message-mb']);
const SWITCHES = new Set(['--startup-only', '--scale', '--message']);

/** The flags this bench takes, or an error naming the one it does not (a typo would run the whole bench). */
export function argumentProblem(args: readonly string[]): string | null {
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (VALUE_FLAGS.has(a)) {
      if (!/^\d+$/.test(args[i + 1] ?? '')) return `${a} needs a whole number`;
      i++;
    } else if (!SWITCHES.has(a) && !/^\d+$/.test(a)) return `unknown argument ${a}`;
  }
  return null;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const problem = argumentProblem(args);
  if (problem) {
    process.stderr.write(`bench: ${problem}\n${USAGE}\n`);
    process.exitCode = 2;
    return;
  }
  const sizes = args.filter((a, i) => /^\d+$/.test(a) && !/^--/.test(args[i - 1] ?? '')).map(Number).filter((n) => n > 0);
  if (!sizes.length) sizes.push(1000, 10000, 50000);
  sizes.sort((a, b) => a - b);
  if (args.includes('--scale')) {
    // Checks at any size (bench/scale.ts): streaming, history and shards, instead of the sizes above.
    const { runScaleBench } = await import('./scale.js');
    await runScaleBench(args, (n, dir) => generate(n, dir, sharedBenchDir()));
    return;
  }
  if (args.includes('--message')) {
    const { runMessageBench } = await import('./message.js');
    await runMessageBench(Math.max(1, intFlag('rounds', 5)), Math.max(1, intFlag('message-mb', 20)));
    return;
  }
  const rounds = Math.max(1, intFlag('rounds', 5));
  const checkdmarcMax = intFlag('checkdmarc-max', 1000);
  // Start-up first: it needs no data, and a slow start is what a user notices before any speed.
  const startupRounds = Math.max(1, intFlag('startup-rounds', 15));
  process.stdout.write(`${renderStartup(await measureStartup(startupRounds), startupRounds)}\n`);
  if (args.includes('--startup-only')) return;
  requireGnuTime();
  const shared = sharedBenchDir();
  let perfect = true;
  for (const n of sizes) {
    const base = process.env['MAILDNS_BENCH_DIR'] ?? mkdtempSync(path.join(tmpdir(), 'maildns-bench-'));
    const dir = path.join(base, `n${n}`);
    generate(n, dir, shared);
    const manifest = readManifest(path.join(dir, 'manifest.json'));
    const apexes = readFileSync(path.join(dir, 'zones.txt'), 'utf8').split('\n').filter(Boolean);
    const knot = await startKnot({ dir: path.join(dir, 'zones'), apexes });
    try {
      // One untimed pass each: the file system cache holds the modules and Knot has answered once.
      await runCheckProcess(dir, knot.port, manifest);
      rawBaseline(shared, dir, n, knot.port);
      const probes = writeProbeList(dir, n);
      const runs: CliRun[] = [];
      const raws: RawRun[] = [];
      const sameProbes: RawRun[] = [];
      const startups: number[] = [];
      // The same command on the list's first domain alone: what a run costs before its loop.
      writeFileSync(path.join(dir, 'first-domain.txt'), `${readFileSync(path.join(dir, 'domains.txt'), 'utf8').split('\n')[0]}\n`);
      const withCheckdmarc = CHECKDMARC_COMMAND !== null && n <= checkdmarcMax;
      const checkdmarcSpeeds: number[] = [];
      for (let i = 0; i < rounds; i++) {
        runs.push(await runCheckProcess(dir, knot.port, manifest));
        raws.push(rawBaseline(shared, dir, n, knot.port));
        sameProbes.push(rawBaseline(shared, dir, n, knot.port, probes));
        startups.push((await runCheckProcess(dir, knot.port, manifest, 'first-domain.txt')).wallS);
        if (withCheckdmarc) checkdmarcSpeeds.push(await checkdmarcRun(CHECKDMARC_COMMAND!, dir, n, knot.port));
      }
      const speeds = runs.map((r) => n / r.wallS);
      const speed = median(speeds);
      const raw = median(raws.map((r) => r.processDomainsPerS));
      const rawLoop = median(raws.map((r) => r.loopDomainsPerS));
      // Each round's two runs are neighbours in time: the median of their ratios cancels most drift.
      // Both are fresh processes timed from spawn to exit, as cron runs them; the ratio to the
      // python loop alone (no interpreter start-up) follows it.
      const ratio = median(runs.map((r, i) => n / r.wallS / raws[i]!.processDomainsPerS));
      const loopRatio = median(runs.map((r, i) => n / r.wallS / raws[i]!.loopDomainsPerS));
      // Like for like: the same client sending check's DNS-only probes too. The issue's ratio is the one above.
      const probeRatio = median(runs.map((r, i) => n / r.wallS / sameProbes[i]!.processDomainsPerS));
      const rawSameProbes = median(sameProbes.map((r) => r.processDomainsPerS));
      const startupMs = median(startups) * 1000;
      const cpuMsPerDomain = median(runs.map((r) => (r.cpuS * 1000) / n));
      const rss = median(runs.map((r) => r.peakRssMb));
      const queriesPerDomain = runs[0]!.queries / n;
      // Both ask the shared SPF includes (once a run, not a domain's): counted apart, they cancel.
      const beyondProbesPerDomain = (runs[0]!.queries - sameProbes[0]!.queries) / n;
      const s = runs.find((r) => !scoreIsPerfect(r.score))?.score ?? runs[0]!.score;
      // Like the ratio to bench_raw.py: each round's two runs are neighbours in time.
      const checkdmarcMultiple = withCheckdmarc ? median(runs.map((r, i) => n / r.wallS / checkdmarcSpeeds[i]!)) : null;
      const fmt = (x: number): string => Math.round(x).toLocaleString('en-US');
      process.stdout.write(
        [
          `maildns check --domains-file, ${fmt(n)} domains on a local Knot, a fresh process per run (median of ${rounds} rounds, each followed by bench_raw.py)`,
          `  domains/s            ${fmt(speed)}   (rounds ${fmt(Math.min(...speeds))} to ${fmt(Math.max(...speeds))}; wall time of the whole process, start-up included)`,
          `  bench_raw.py         ${fmt(raw)} domains/s, a fresh process timed the same way (${raws[0]!.queries} queries: the minimal set, no checks); its own loop ${fmt(rawLoop)}/s`,
          `  ratio maildns/raw    ${ratio.toFixed(2)}   (median of the rounds' ratios, process to process; ${loopRatio.toFixed(2)} to its loop alone)`,
          `  same probes          ${probeRatio.toFixed(2)}   (ratio to bench_raw.py sending check's three DNS-only probes too: ${sameProbes[0]!.queries} queries, ${fmt(rawSameProbes)} domains/s; maildns asks ${beyondProbesPerDomain.toFixed(2)} more a domain)`,
          `  start-up             ${startupMs.toFixed(0)} ms   (the same command on the first domain alone)`,
          `  CPU per domain       ${cpuMsPerDomain.toFixed(3)} ms   (user + system of the check process)`,
          `  peak RSS             ${rss.toFixed(0)} MB`,
          `  DNS queries/domain   ${queriesPerDomain.toFixed(2)}   (${runs[0]!.queries} queries, shared includes asked once)`,
          withCheckdmarc
            ? `  vs checkdmarc        ${checkdmarcMultiple!.toFixed(1)}x   (median of the rounds' ratios; checkdmarc ran after each round here: ${fmt(median(checkdmarcSpeeds))} domains/s, a fresh process timed the same way, rounds ${Math.min(...checkdmarcSpeeds).toFixed(1)} to ${Math.max(...checkdmarcSpeeds).toFixed(1)})`
            : `  vs checkdmarc        ${(speed / CHECKDMARC_REFERENCE.high).toFixed(0)}x to ${(speed / CHECKDMARC_REFERENCE.low).toFixed(0)}x   (reference: ${CHECKDMARC_REFERENCE.low} to ${CHECKDMARC_REFERENCE.high} domains/s, ${CHECKDMARC_REFERENCE.what}; not run here${CHECKDMARC_COMMAND ? `: above --checkdmarc-max ${checkdmarcMax}` : ''})`,
          `  findings vs manifest ${s.found}/${s.broken} broken domains found, ${s.falseAlarms.length} false alarms, ${s.dnsErrors.length} DNS errors (every run scored)`,
          ...s.missed.slice(0, 10).map((m) => `    missed: ${m}`),
          ...s.falseAlarms.slice(0, 10).map((m) => `    false alarm: ${m}`),
          '',
        ].join('\n'),
      );
      process.stdout.write(
        `${JSON.stringify({ n, rounds, domainsPerSecond: Math.round(speed), rawDomainsPerSecond: Math.round(raw), rawLoopDomainsPerSecond: Math.round(rawLoop), ratio: Number(ratio.toFixed(3)), ratioToRawLoop: Number(loopRatio.toFixed(3)), rawSameProbesDomainsPerSecond: Math.round(rawSameProbes), ratioSameProbes: Number(probeRatio.toFixed(3)), queriesBeyondProbesPerDomain: Number(beyondProbesPerDomain.toFixed(3)), startupMs: Math.round(startupMs), cpuMsPerDomain: Number(cpuMsPerDomain.toFixed(3)), peakRssMb: Math.round(rss), queriesPerDomain: Number(queriesPerDomain.toFixed(3)), ...(checkdmarcMultiple !== null ? { checkdmarcDomainsPerSecond: Number(median(checkdmarcSpeeds).toFixed(1)), checkdmarcMultiple: Number(checkdmarcMultiple.toFixed(2)) } : {}), found: s.found, broken: s.broken, falseAlarms: s.falseAlarms.length, perRound: runs.map((r, i) => ({ maildns: Math.round(n / r.wallS), raw: Math.round(raws[i]!.processDomainsPerS), rawLoop: Math.round(raws[i]!.loopDomainsPerS), rawSameProbes: Math.round(sameProbes[i]!.processDomainsPerS), cpuS: r.cpuS, rssMb: Math.round(r.peakRssMb) })) })}\n\n`,
      );
      if (runs.some((r) => !scoreIsPerfect(r.score))) perfect = false;
    } finally {
      await knot.stop();
      if (!process.env['MAILDNS_BENCH_DIR']) rmSync(base, { recursive: true, force: true });
    }
  }
  process.exitCode = perfect ? 0 : 1;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main();
