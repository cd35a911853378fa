/**
 * The sharded scheduling examples run as written against Knot serving the benchmark data: the
 * Kubernetes Indexed Job (its pods' command with JOB_COMPLETION_INDEX, side by side, then the merge
 * Job) and the GitHub Actions matrix (each shard's step side by side, then the merge step). The
 * manifests must parse, the Job's command line must be the one the README shows, and the merged
 * result must be exactly that of one unsharded run.
 */
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import type { DomainResult } from '../../../src/check/audit.js';
import { CLI, runCli } from '../../helpers/cli.js';
import { startKnot, type KnotServer } from '../../helpers/knot.js';

const ROOT = new URL('../../../', import.meta.url).pathname;
const EXAMPLES = path.join(ROOT, 'examples');

interface Report {
  domains: DomainResult[];
  summary: Record<string, unknown>;
}
const timeless = (rs: DomainResult[]): Omit<DomainResult, 'ms'>[] => [...rs].sort((a, b) => a.domain.localeCompare(b.domain)).map(({ ms: _ms, ...r }) => r);

function sh(script: string, env: NodeJS.ProcessEnv, cwd: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('/bin/sh', ['-c', script], { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

interface K8sContainer {
  command: string[];
  env?: { name: string; value: string }[];
  workingDir?: string;
}
interface K8sDoc {
  kind: string;
  metadata: { name: string };
  spec: { completionMode?: string; completions?: number; parallelism?: number; template: { spec: { containers: K8sContainer[]; volumes: { name: string; persistentVolumeClaim?: { claimName: string } }[] } } };
}

function yamlDocs(file: string): K8sDoc[] {
  const docs = parseAllDocuments(readFileSync(file, 'utf8'));
  for (const d of docs) expect(d.errors).toEqual([]);
  return docs.map((d) => d.toJS() as K8sDoc);
}

describe('sharded examples over the benchmark data (N=120)', () => {
  let knot: KnotServer;
  let data: string;
  let bin: string;
  let whole: Report;
  const env = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => ({ ...process.env, PATH: `${bin}:${process.env['PATH']}`, MAILDNS_NAMESERVER: `127.0.0.1:${knot.port}`, NO_COLOR: '1', ...extra });

  beforeAll(async () => {
    const { generate } = await import('../../../bench/run.js');
    data = mkdtempSync(path.join(tmpdir(), 'maildns-sharded-'));
    generate(120, data);
    const apexes = readFileSync(path.join(data, 'zones.txt'), 'utf8').split('\n').filter(Boolean);
    knot = await startKnot({ dir: path.join(data, 'zones'), apexes });
    bin = path.join(data, 'bin');
    mkdirSync(bin);
    // `maildns` on PATH, as the examples install it.
    writeFileSync(path.join(bin, 'maildns'), `#!/bin/sh\nexec "${process.execPath}" "${CLI}" "$@"\n`);
    chmodSync(path.join(bin, 'maildns'), 0o755);
    const r = await runCli(['check', '--domains-file', path.join(data, 'domains.txt'), '-s', 'mail', '--nameserver', `127.0.0.1:${knot.port}`, '--json']);
    expect(r.code).toBe(1);
    whole = JSON.parse(r.stdout) as Report;
  });
  afterAll(async () => knot?.stop());

  async function expectMergedIsWhole(dir: string): Promise<void> {
    const shards = readdirSync(dir).filter((f) => /^shard-\d+\.ndjson$/.test(f)).map((f) => path.join(dir, f));
    const merged = await runCli(['report', 'merge', ...shards, '--json']);
    expect(merged.code).toBe(1);
    const doc = JSON.parse(merged.stdout) as Report;
    expect(timeless(doc.domains)).toEqual(timeless(whole.domains));
    for (const k of ['domains', 'pass', 'fail', 'dnsError', 'errors', 'warnings', 'outcome', 'exitCode']) expect(doc.summary[k]).toEqual(whole.summary[k]);
  }

  it('Kubernetes: the manifests parse, the command is the README\'s, the indexed pods and then the merge Job give the unsharded result', async () => {
    const [pvc, job] = yamlDocs(path.join(EXAMPLES, 'kubernetes/maildns-check-job.yaml'));
    const [merge] = yamlDocs(path.join(EXAMPLES, 'kubernetes/maildns-merge-job.yaml'));
    expect([pvc!.kind, job!.kind, merge!.kind]).toEqual(['PersistentVolumeClaim', 'Job', 'Job']);
    expect(job!.spec.completionMode).toBe('Indexed');
    const container = job!.spec.template.spec.containers[0]!;
    const vars = Object.fromEntries((container.env ?? []).map((e) => [e.name, e.value]));
    const shards = Number(vars['SHARDS']);
    expect([job!.spec.completions, job!.spec.parallelism]).toEqual([shards, shards]);
    for (const j of [job!, merge!]) expect(j.spec.template.spec.volumes.find((v) => v.name === 'reports')!.persistentVolumeClaim!.claimName).toBe(pvc!.metadata.name);
    expect(container.command.slice(0, 2)).toEqual(['sh', '-c']);
    const script = container.command[2]!;
    const line = script.split('\n')[0]!;
    expect(line).toMatch(/^maildns check .*--shard "\$JOB_COMPLETION_INDEX\/\$SHARDS" --format ndjson -o /);
    expect(readFileSync(path.join(ROOT, 'README.md'), 'utf8')).toContain(line);

    const reports = path.join(data, 'k8s-reports');
    mkdirSync(reports);
    const local = (s: string): string => s.replaceAll('/etc/maildns/domains.txt', path.join(data, 'domains.txt')).replaceAll('/reports/', `${reports}/`);
    const { PATH: _path, ...podEnv } = vars;
    const pods = await Promise.all(Array.from({ length: shards }, (_, i) => sh(local(script), env({ ...podEnv, JOB_COMPLETION_INDEX: String(i) }), data)));
    for (const p of pods) expect([p.code, p.stderr]).toEqual([0, '']); // the pods succeed: failing domains are results
    expect(readdirSync(reports).sort()).toEqual(Array.from({ length: shards }, (_, i) => `shard-${i}.ndjson`).sort());

    const m = merge!.spec.template.spec.containers[0]!;
    expect(m.workingDir).toBe('/reports');
    const ran = await sh(m.command[2]!, env(), reports);
    expect(ran.code).toBe(1); // as one run over the whole list would
    expect(ran.stdout).toMatch(/^FAIL {2}/m);
    expect(ran.stdout).toContain('checked 120 domains');
    expect(readFileSync(path.join(reports, 'report.html'), 'utf8').match(/<tbody /g)).toHaveLength(120);
    expect(readFileSync(path.join(reports, 'report.xml'), 'utf8')).toMatch(/<testsuite name="maildns check" tests="120"/);
    await expectMergedIsWhole(reports);
  });

  it('GitHub Actions: the workflow parses, the matrix covers every shard, the shard steps side by side and then the merge step give the unsharded result', async () => {
    const wf = parse(readFileSync(path.join(EXAMPLES, 'ci/maildns-sharded.yml'), 'utf8')) as {
      env: Record<string, string | number>;
      jobs: Record<string, { needs?: string; if?: string; strategy?: { 'fail-fast': boolean; matrix: { shard: number[] } }; steps: { name?: string; run?: string; with?: Record<string, unknown> }[] }>;
    };
    const shards = Number(wf.env['SHARDS']);
    const check = wf.jobs['check']!;
    expect(check.strategy!.matrix.shard).toEqual(Array.from({ length: shards }, (_, i) => i));
    expect(check.strategy!['fail-fast']).toBe(false);
    expect(wf.jobs['merge']!.needs).toBe('check');
    expect(wf.jobs['merge']!.if).toBe('always()');
    const step = (job: string, name: string): string => wf.jobs[job]!.steps.find((s) => s.name === name)!.run!;
    const shardStep = step('check', 'Check one shard');
    const mergeStep = step('merge', 'Merge the shards');
    const vars = Object.fromEntries(Object.entries(wf.env).map(([k, v]) => [k, String(v)]));

    const work = path.join(data, 'gha');
    mkdirSync(work);
    writeFileSync(path.join(work, 'domains.txt'), readFileSync(path.join(data, 'domains.txt')));
    // Each matrix job in its own checkout; download-artifact (merge-multiple) gathers their files in one.
    const runs = await Promise.all(
      check.strategy!.matrix.shard.map(async (i) => {
        const dir = path.join(work, `runner-${i}`);
        mkdirSync(dir);
        writeFileSync(path.join(dir, 'domains.txt'), readFileSync(path.join(data, 'domains.txt')));
        const r = await sh(shardStep.replaceAll('${{ matrix.shard }}', String(i)), env(vars), dir);
        return { ...r, dir, file: `shard-${i}.ndjson` };
      }),
    );
    const gathered = path.join(work, 'merge');
    mkdirSync(gathered);
    for (const r of runs) {
      expect([r.code, r.stderr]).toEqual([0, '']);
      writeFileSync(path.join(gathered, r.file), readFileSync(path.join(r.dir, r.file)));
    }
    const merged = await sh(mergeStep, env(vars), gathered);
    expect(merged.code).toBe(1);
    expect(merged.stdout).toContain('checked 120 domains');
    expect(existsSync(path.join(gathered, 'maildns-report.xml'))).toBe(true);
    expect(existsSync(path.join(gathered, 'maildns-report.html'))).toBe(true);
    await expectMergedIsWhole(gathered);

    // A shard that never reported: the merge job fails with exit 2 and names the missing shard.
    const partial = path.join(work, 'partial');
    mkdirSync(partial);
    for (const r of runs.slice(1)) writeFileSync(path.join(partial, r.file), readFileSync(path.join(r.dir, r.file)));
    const short = await sh(mergeStep, env(vars), partial);
    expect(short.code).toBe(2);
    expect(short.stderr).toContain(`shard 0/${shards} is missing`);
  });
});
