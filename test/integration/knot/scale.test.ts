/**
 * Checks at any size: shards side by side over the benchmark data merge into exactly the unsharded
 * result; NDJSON goes out a line at a time; -o writes every format atomically and a stopped run
 * leaves no file behind; a merge refuses what is not one whole list.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DomainResult } from '../../../src/check/audit.js';
import { startServer, type RunningServer } from '../../../src/dns/server.js';
import type { DnsRecord } from '../../../src/records.js';
import { CLI, runCli } from '../../helpers/cli.js';
import { startKnot, type KnotServer } from '../../helpers/knot.js';

interface Report {
  domains: DomainResult[];
  summary: Record<string, unknown>;
}

/** A result without its timing, which differs from run to run. */
const timeless = ({ ms: _ms, ...rest }: DomainResult): Omit<DomainResult, 'ms'> => rest;
const byDomain = (rs: DomainResult[]): Omit<DomainResult, 'ms'>[] => [...rs].sort((a, b) => a.domain.localeCompare(b.domain)).map(timeless);
const COUNTS = ['domains', 'pass', 'fail', 'dnsError', 'errors', 'warnings', 'infos', 'outcome', 'exitCode', 'failOn', 'selectors'] as const;
const counts = (s: Record<string, unknown>): Record<string, unknown> => Object.fromEntries(COUNTS.map((k) => [k, s[k]]));

describe('shards over the benchmark data (mkbulk.py, N=240) against Knot', () => {
  let knot: KnotServer;
  let dir: string;
  let ns: string;
  let list: string;
  let whole: Report;
  beforeAll(async () => {
    const { generate } = await import('../../../bench/run.js');
    dir = mkdtempSync(path.join(tmpdir(), 'maildns-shards-'));
    generate(240, dir);
    const apexes = readFileSync(path.join(dir, 'zones.txt'), 'utf8').split('\n').filter(Boolean);
    knot = await startKnot({ dir: path.join(dir, 'zones'), apexes });
    ns = `127.0.0.1:${knot.port}`;
    list = path.join(dir, 'domains.txt');
    const r = await runCli(['check', '--domains-file', list, '-s', 'mail', '--nameserver', ns, '--json']);
    expect(r.code).toBe(1); // the data has broken domains on purpose
    whole = JSON.parse(r.stdout) as Report;
    expect(whole.domains).toHaveLength(240);
  });
  afterAll(async () => knot?.stop());

  it('N shards run side by side, each written with -o, merge into exactly the unsharded result', async () => {
    for (const [n, format] of [
      [3, 'ndjson'],
      [4, 'json'],
    ] as const) {
      const files = Array.from({ length: n }, (_, i) => path.join(dir, `shard-${n}-${i}.${format}`));
      const runs = await Promise.all(files.map((file, i) => runCli(['check', '--domains-file', list, '-s', 'mail', '--nameserver', ns, '--shard', `${i}/${n}`, '--format', format, '-o', file])));
      for (const r of runs) {
        expect(r.stdout).toBe(''); // the report went to the file
        expect([0, 1]).toContain(r.code);
      }
      // A report someone reformatted (jq ., say) is read whole and merges the same.
      if (format === 'json') writeFileSync(files[0]!, JSON.stringify(JSON.parse(readFileSync(files[0]!, 'utf8')), null, 2));
      const merged = await runCli(['report', 'merge', ...[...files].reverse(), '--json']);
      expect(merged.stderr).toBe('');
      expect(merged.code).toBe(1);
      const doc = JSON.parse(merged.stdout) as Report;
      expect(byDomain(doc.domains)).toEqual(byDomain(whole.domains));
      expect(counts(doc.summary)).toEqual(counts(whole.summary));
      expect(doc.summary['sources']).toBe(n);
      // Each shard got a fair part of the list.
      for (const file of files) expect(readFileSync(file, 'utf8').split('\n').length).toBeGreaterThan(240 / n / 2);
    }
  });

  it('the split does not depend on line order, case or repeated names', async () => {
    const names = readFileSync(list, 'utf8').split('\n').filter(Boolean);
    const messy = path.join(dir, 'messy.txt');
    writeFileSync(messy, `# the same list, backwards, some names twice and in capitals\n${[...names].reverse().join('\n')}\n${names.slice(0, 30).map((n) => n.toUpperCase() + '.').join('\n')}\n`);
    const files = [0, 1].map((i) => path.join(dir, `messy-${i}.ndjson`));
    await Promise.all(files.map((file, i) => runCli(['check', '--domains-file', messy, '-s', 'mail', '--nameserver', ns, '--shard', `${i}/2`, '--format', 'ndjson', '-o', file])));
    const merged = await runCli(['report', 'merge', ...files, '--json']);
    expect(merged.code).toBe(1);
    const doc = JSON.parse(merged.stdout) as Report;
    expect(byDomain(doc.domains)).toEqual(byDomain(whole.domains));
  });

  it('merges into the summary, JUnit and HTML with the exit code of one run', async () => {
    const files = [0, 1].map((i) => path.join(dir, `two-${i}.ndjson`));
    await Promise.all(files.map((file, i) => runCli(['check', '--domains-file', list, '-s', 'mail', '--nameserver', ns, '--shard', `${i}/2`, '--format', 'ndjson', '-o', file])));
    const text = await runCli(['report', 'merge', ...files, '--quiet']);
    expect(text.code).toBe(1);
    const failing = whole.domains.filter((d) => d.status === 'fail').map((d) => d.domain);
    expect(text.stdout.match(/^FAIL {2}(\S+)/gm)!.map((l) => l.slice(6)).sort()).toEqual(failing.sort());
    expect(text.stdout).toContain(`checked 240 domains`);
    const junit = await runCli(['report', 'merge', ...files, '--format', 'junit']);
    expect(junit.code).toBe(1);
    expect(junit.stdout).toMatch(new RegExp(`<testsuite name="maildns check" tests="240" failures="${failing.length}" errors="0"`));
    const html = path.join(dir, 'merged.html');
    const page = await runCli(['report', 'merge', ...files, '--format', 'html', '-o', html]);
    expect(page.code).toBe(1);
    expect(readFileSync(html, 'utf8').match(/<tbody /g)).toHaveLength(240);
  });

  it('refuses what is not one whole list: a missing or repeated shard, a file cut short, different settings (exit 2, the file named)', async () => {
    const files = [0, 1, 2].map((i) => path.join(dir, `check-${i}.ndjson`));
    await Promise.all(files.map((file, i) => runCli(['check', '--domains-file', list, '-s', 'mail', '--nameserver', ns, '--shard', `${i}/3`, '--format', 'ndjson', '-o', file])));
    const missing = await runCli(['report', 'merge', files[0]!, files[2]!]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/shard 1\/3 is missing \(have 0, 2\)/);
    expect(missing.stdout).toBe('');
    const twice = await runCli(['report', 'merge', files[0]!, files[1]!, files[1]!, files[2]!]);
    expect(twice.code).toBe(2);
    expect(twice.stderr).toContain(`${files[1]}: is given twice`);
    const cut = path.join(dir, 'cut.ndjson');
    writeFileSync(cut, readFileSync(files[1]!, 'utf8').split('\n').slice(0, 5).join('\n') + '\n');
    const crashed = await runCli(['report', 'merge', files[0]!, cut, files[2]!]);
    expect(crashed.code).toBe(2);
    expect(crashed.stderr).toMatch(new RegExp(`${cut}: has no summary line at its end: the run that wrote it did not finish`));
    const strict = path.join(dir, 'strict-1.ndjson');
    await runCli(['check', '--domains-file', list, '-s', 'mail', '--nameserver', ns, '--shard', '1/3', '--format', 'ndjson', '--fail-on', 'warning', '-o', strict]);
    const mixed = await runCli(['report', 'merge', files[0]!, strict, files[2]!]);
    expect(mixed.code).toBe(2);
    expect(mixed.stderr).toContain(`${strict}: failed domains at severity "warning"`);
    const notReport = await runCli(['report', 'merge', list]);
    expect(notReport.code).toBe(2);
    expect(notReport.stderr).toContain(list);
  });
});

/** The records of a healthy sending domain. */
function healthy(d: string): DnsRecord[] {
  return [
    { name: d, type: 'SOA', ttl: 3600, value: `ns.${d} hostmaster.${d} 1 3600 600 604800 300` },
    { name: d, type: 'MX', ttl: 3600, value: `10 mail.${d}` },
    { name: `mail.${d}`, type: 'A', ttl: 3600, value: '192.0.2.25' },
    { name: d, type: 'TXT', ttl: 3600, value: 'v=spf1 mx -all' },
    { name: `_dmarc.${d}`, type: 'TXT', ttl: 3600, value: `v=DMARC1; p=reject; rua=mailto:dmarc@${d}` },
  ];
}

describe('streaming and stopping', () => {
  let slow: RunningServer;
  let quiet: RunningServer;
  const many = Array.from({ length: 30 }, (_, i) => `d${i}.example`);
  beforeAll(async () => {
    const records = [{ name: 'example', type: 'SOA' as const, ttl: 3600, value: 'ns.example h.example 1 3600 600 604800 300' }, ...many.flatMap(healthy), ...healthy('fast.example'), ...healthy('stuck.example')];
    const zones = ['example'];
    // Every answer 150 ms late: a run over 30 domains one at a time takes seconds.
    slow = await startServer({ records, zones, delayMs: 150 });
    quiet = await startServer({ records, zones, silent: ['_dmarc.stuck.example'] });
  });
  afterAll(async () => {
    await slow?.close();
    await quiet?.close();
  });

  it('--format ndjson writes each domain\'s line as it is done, before the run ends', async () => {
    // stuck.example waits for its DMARC answer until the timeout; fast.example is done long before.
    const child = spawn(process.execPath, [CLI, 'check', 'fast.example', 'stuck.example', '--nameserver', `127.0.0.1:${quiet.port}`, '--timeout', '1500', '--format', 'ndjson'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let linesBeforeExit: string[] | null = null;
    const firstLine = new Promise<void>((resolve) =>
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('\n') && linesBeforeExit === null) {
          linesBeforeExit = out.split('\n').filter(Boolean);
          resolve();
        }
      }),
    );
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    await firstLine;
    expect(child.exitCode).toBeNull(); // still waiting for stuck.example
    expect(linesBeforeExit!.map((l) => JSON.parse(l) as { type: string; domain: string }).map((l) => [l.type, l.domain])).toEqual([['domain', 'fast.example']]);
    expect(await exited).toBe(1);
    const lines = out.trim().split('\n').map((l) => JSON.parse(l) as { type: string; domain?: string; summary?: { domains: number; dnsError: number } });
    expect(lines.map((l) => l.type)).toEqual(['domain', 'domain', 'summary']);
    expect(lines[2]!.summary).toMatchObject({ domains: 2, dnsError: 1 });
  });

  it('a reader that quits early (`| head -1`): exit 141 as for SIGPIPE, nothing on stderr', async () => {
    const child = spawn(process.execPath, [CLI, 'check', ...many, '--nameserver', `127.0.0.1:${slow.port}`, '--concurrency', '1', '--format', 'ndjson'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    // The first line, then the reader goes away while the next domain is still being asked about.
    child.stdout.once('data', () => child.stdout.destroy());
    expect(await exited).toBe(141);
    expect(stderr).toBe('');
  });

  it('-o FILE writes every format, and the file holds what standard output would', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'maildns-out-'));
    const ns = `127.0.0.1:${quiet.port}`;
    for (const format of ['text', 'json', 'ndjson', 'junit', 'html']) {
      const file = path.join(dir, `report.${format}`);
      const toFile = await runCli(['check', 'fast.example', 'd1.example', '--nameserver', ns, '--format', format, '-o', file]);
      const toStdout = await runCli(['check', 'fast.example', 'd1.example', '--nameserver', ns, '--format', format]);
      expect([toFile.code, toStdout.code, toFile.stdout]).toEqual([0, 0, '']);
      const norm = (s: string): string => s.replace(/"ms":\d+|time="[\d.]+"|timestamp="[^"]+"|in \d+(\.\d+)? ?m?s|\d{4}-\d\d-\d\d \d\d:\d\d UTC|checked in \d+ ms|; [\d.]+ s;/g, 'T');
      expect(norm(readFileSync(file, 'utf8'))).toBe(norm(toStdout.stdout));
    }
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('SIGTERM or SIGINT mid-run: the report is not written, the temporary file is removed, an older report stays whole', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'maildns-stop-'));
    for (const [signal, code] of [
      ['SIGTERM', 143],
      ['SIGINT', 130],
    ] as const) {
      const file = path.join(dir, `report-${signal}.json`);
      writeFileSync(file, 'yesterday\'s report\n');
      const child = spawn(process.execPath, [CLI, 'check', ...many, '--nameserver', `127.0.0.1:${slow.port}`, '--concurrency', '1', '--json', '-o', file], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
      // Wait until the run has begun writing its temporary file, then stop it.
      const tmp = (): string[] => readdirSync(dir).filter((f) => f.startsWith(`.report-${signal}.json.`) && f.endsWith('.tmp'));
      const deadline = Date.now() + 20_000;
      while (tmp().length === 0 && Date.now() < deadline && child.exitCode === null) await new Promise((r) => setTimeout(r, 20));
      expect(tmp()).toHaveLength(1);
      child.kill(signal);
      expect(await exited).toBe(code);
      expect(stderr).toMatch(new RegExp(`^maildns: stopped by ${signal}: after \\d+ domains?; ${file.replace(/[.]/g, '\\.')} was not written \\(its temporary file is removed\\)\\n$`));
      expect(tmp()).toEqual([]);
      expect(readFileSync(file, 'utf8')).toBe('yesterday\'s report\n');
    }
  });

  it('-o onto a device or pipe writes straight to it; through a symbolic link it replaces the file and keeps the link', async () => {
    const ns = `127.0.0.1:${quiet.port}`;
    const piped = await runCli(['check', 'fast.example', '--nameserver', ns, '--format', 'ndjson', '-o', '/dev/stdout']);
    expect([piped.code, piped.stderr]).toEqual([0, '']);
    expect(piped.stdout.trim().split('\n').map((l) => (JSON.parse(l) as { type: string }).type)).toEqual(['domain', 'summary']);
    // A named pipe with a reader: written straight, still a pipe afterwards.
    const dir = mkdtempSync(path.join(tmpdir(), 'maildns-link-'));
    const fifo = path.join(dir, 'reports.fifo');
    execFileSync('mkfifo', [fifo]);
    const reader = spawn('cat', [fifo], { stdio: ['ignore', 'pipe', 'ignore'] });
    let read = '';
    reader.stdout.on('data', (d: Buffer) => (read += d.toString()));
    const readerDone = new Promise((resolve) => reader.on('close', resolve));
    expect((await runCli(['check', 'fast.example', '--nameserver', ns, '--format', 'ndjson', '-o', fifo])).code).toBe(0);
    await readerDone;
    expect(read.trim().split('\n')).toHaveLength(2);
    expect(lstatSync(fifo).isFIFO()).toBe(true);
    // A write that fails (a full disk) is exit 2 naming the file, not a crash or a hang.
    const full = await runCli(['check', 'fast.example', '--nameserver', ns, '--format', 'html', '-o', '/dev/full']);
    expect([full.code, full.stderr]).toEqual([2, 'maildns: /dev/full: no space left on the device; free some space and run again\n']);
    const real = path.join(dir, 'real.json');
    const link = path.join(dir, 'latest.json');
    writeFileSync(real, 'old\n');
    symlinkSync(real, link);
    expect((await runCli(['check', 'fast.example', '--nameserver', ns, '--json', '-o', link])).code).toBe(0);
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect((JSON.parse(readFileSync(real, 'utf8')) as Report).domains.map((d) => d.domain)).toEqual(['fast.example']);
    const onDir = await runCli(['check', 'fast.example', '--nameserver', ns, '--json', '-o', dir]);
    expect(onDir.code).toBe(2);
    expect(onDir.stderr).toBe(`maildns: ${dir}: is a directory; give a file name\n`);
  });

  it('-o into a directory that does not exist: exit 2 naming the file, nothing asked', async () => {
    const file = path.join(tmpdir(), 'no-such-dir-maildns', 'r.json');
    const r = await runCli(['check', 'fast.example', '--nameserver', `127.0.0.1:${quiet.port}`, '--json', '-o', file]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`maildns: ${file}: no such file or directory; check the path\n`);
    expect(existsSync(file)).toBe(false);
  });

  it('--format given twice: the last one counts (a wrapper\'s default, then the caller\'s)', async () => {
    const r = await runCli(['check', 'fast.example', '--nameserver', `127.0.0.1:${quiet.port}`, '--format', 'json', '--format', 'ndjson']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split('\n').map((l) => (JSON.parse(l) as { type: string }).type)).toEqual(['domain', 'summary']);
  });

  it('--shard is checked: a bad value is exit 2 with the fix', async () => {
    const r = await runCli(['check', 'fast.example', '--shard', '4/4']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--shard: shard "4/4": the index must be from 0 to 3');
  });
});
