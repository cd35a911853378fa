import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { argumentProblem, benchScriptTimeoutMs, checkdmarcRun, checkdmarcTimeoutMs, generate, runBenchScript } from '../../../bench/run.js';

const RUN = path.resolve(import.meta.dirname, '../../../dist/bench/run.js');

describe('bench: its arguments', () => {
  it('takes sizes, its flags with whole numbers, and its switches', () => {
    expect(argumentProblem(['1000', '10000', '--rounds', '3', '--startup-rounds', '5', '--startup-only'])).toBeNull();
    expect(argumentProblem(['--scale', '--scale-n', '500'])).toBeNull();
    expect(argumentProblem(['1000', '--checkdmarc-max', '1000'])).toBeNull();
    expect(argumentProblem(['--message', '--message-mb', '5', '--rounds', '1'])).toBeNull();
    expect(argumentProblem(['--checkdmarc-max'])).toBe('--checkdmarc-max needs a whole number');
  });

  it('names a typo or a flag without its number instead of running the whole bench', () => {
    expect(argumentProblem(['--round', '3'])).toBe('unknown argument --round');
    expect(argumentProblem(['1000', '--rounds'])).toBe('--rounds needs a whole number');
    expect(argumentProblem(['--rounds', 'x'])).toBe('--rounds needs a whole number');
  });

  it('--help prints the usage and measures nothing; a typo exits 2', () => {
    const help = spawnSync(process.execPath, [RUN, '--help'], { encoding: 'utf8', timeout: 20_000 });
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/^usage: npm run bench/);
    expect(help.stdout).not.toMatch(/start-up, a fresh process/);
    const typo = spawnSync(process.execPath, [RUN, '--round', '3'], { encoding: 'utf8', timeout: 20_000 });
    expect(typo.status).toBe(2);
    expect(typo.stderr).toMatch(/^bench: unknown argument --round\n/);
  });

  it('a checkdmarc run counts only when it reported on every domain of the list, with the port and list it was given', () =>
    withCommand('a.example\nb.example\n', '[ "$1" = 5300 ] || exit 9\nprintf "[" ; sed \'s/.*/{"domain": "&"}/\' "$2" | paste -sd, ; printf "]"\n', async (peer, dir) => {
      // A command of the shape MAILDNS_BENCH_CHECKDMARC names: one JSON object per line of the list it is given.
      expect(await checkdmarcRun(peer, dir, 2, 5300)).toBeGreaterThan(0);
      await expect(checkdmarcRun(peer, dir, 3, 5300)).rejects.toThrow(`${peer} reported on 2 of 3 domains; is it checking domains.txt against 127.0.0.1:5300?`);
      // A command that fails is no figure either.
      await expect(checkdmarcRun(peer, dir, 2, 53)).rejects.toThrow(`${peer} failed (exit 9)`);
    }));

  it('a checkdmarc command that does not finish is stopped at its deadline, its children with it, and says so', () =>
    // A wrapper whose checkdmarc never gets an answer: its child holds standard output open.
    withCommand('a.example\n', 'echo "resolving a.example" >&2\nsleep 20 &\nwait\n', async (hung, dir) => {
      const started = Date.now();
      await expect(checkdmarcRun(hung, dir, 1, 5300, 500)).rejects.toThrow(`${hung} had not finished after 0.5 s (1 domain), and was stopped: resolving a.example`);
      expect(Date.now() - started).toBeLessThan(5_000);
      // By default a second a domain, a minute at least.
      expect(checkdmarcTimeoutMs(1000)).toBe(1_000_000);
      expect(checkdmarcTimeoutMs(10)).toBe(60_000);
    }));

  it('mkbulk.py and bench_raw.py that do not finish are stopped at their deadline, and the error names the command', () => {
    // A shared bench folder whose scripts never end (bench_raw.py as on a server that never answers).
    const shared = mkdtempSync(path.join(tmpdir(), 'maildns-bench-shared-'));
    try {
      for (const script of ['mkbulk.py', 'bench_raw.py']) writeFileSync(path.join(shared, script), 'import time\ntime.sleep(30)\n');
      const started = Date.now();
      expect(() => generate(1, '/nonexistent/data', shared, 500)).toThrow(`python3 ${shared}/mkbulk.py 1 /nonexistent/data had not finished after 0.5 s (1 domain), and was stopped`);
      expect(() => runBenchScript(shared, 'bench_raw.py', ['queries.txt', '2', '--port', '5300'], 2, 500)).toThrow(`python3 ${shared}/bench_raw.py queries.txt 2 --port 5300 had not finished after 0.5 s (2 domains), and was stopped`);
      expect(Date.now() - started).toBeLessThan(10_000);
      // By default 10 ms a domain, a minute at least.
      expect(benchScriptTimeoutMs(100_000)).toBe(1_000_000);
      expect(benchScriptTimeoutMs(10)).toBe(60_000);
    } finally {
      rmSync(shared, { recursive: true, force: true });
    }
  });
});

/** `test` given a shell script made of `body` and the folder it is in, with `domains` as its domains.txt; the folder removed after. */
async function withCommand(domains: string, body: string, test: (command: string, dir: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'maildns-bench-args-'));
  try {
    writeFileSync(path.join(dir, 'domains.txt'), domains);
    const command = path.join(dir, 'command.sh');
    writeFileSync(command, `#!/bin/sh\n${body}`);
    chmodSync(command, 0o755);
    await test(command, dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
