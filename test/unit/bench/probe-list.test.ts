import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generate, PROBE_LIST, sharedBenchDir, writeProbeList } from '../../../bench/run.js';
import { SYSTEM_PYTHON } from '../../helpers/programs.js';

/** The lines bench_raw.py's own loader takes from `list` when told N: the list it will send. */
function rawClientTakes(list: string, n: number): string[] {
  const program = 'import json, sys; sys.path.insert(0, sys.argv[1]); import bench_raw; print(json.dumps([" ".join(l) for l in bench_raw.load(sys.argv[2], int(sys.argv[3]))]))';
  return JSON.parse(execFileSync(SYSTEM_PYTHON, ['-c', program, sharedBenchDir(), list, String(n)], { encoding: 'utf8' })) as string[];
}

describe("bench: the like-for-like list (bench_raw.py with check's DNS-only probes)", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'maildns-probe-list-'));
    generate(20, dir);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  for (const n of [1, 7, 10]) {
    it(`bench_raw.py sends the minimal set plus three probes for each of the first ${n} domains, and nothing of the others`, () => {
      const minimal = rawClientTakes(path.join(dir, 'baseline-queries.txt'), n);
      const withProbes = rawClientTakes(path.join(dir, PROBE_LIST), writeProbeList(dir, n));
      const domains = minimal.filter((l) => l.endsWith(' MX')).map((l) => l.split(' ')[0]!);
      expect(domains).toHaveLength(n);
      const probes = domains.flatMap((d) => [`_mta-sts.${d} TXT`, `_smtp._tls.${d} TXT`, `default._bimi.${d} TXT`]);
      expect([...withProbes].sort()).toEqual([...minimal, ...probes].sort());
      // Each domain's probes follow its own four questions, as check asks them together.
      for (const d of domains) expect(withProbes.indexOf(`_mta-sts.${d} TXT`)).toBe(withProbes.indexOf(`${d} MX`) + 1);
      expect(readFileSync(path.join(dir, PROBE_LIST), 'utf8').endsWith('\n')).toBe(true);
    });
  }
});
