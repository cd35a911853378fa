import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { argumentProblem } from '../../../bench/run.js';

const RUN = path.resolve(import.meta.dirname, '../../../dist/bench/run.js');

describe('bench: its arguments', () => {
  it('takes sizes, its flags with whole numbers, and its switches', () => {
    expect(argumentProblem(['1000', '10000', '--rounds', '3', '--startup-rounds', '5', '--startup-only'])).toBeNull();
    expect(argumentProblem(['--scale', '--scale-n', '500'])).toBeNull();
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
});
