/** The scheduled-check examples (cron, systemd, GitHub Actions) run as written, against Knot. */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { LAUNCHER, launcherPath } from '../../helpers/cli.js';
import { startKnot, type KnotServer } from '../../helpers/knot.js';

const EXAMPLES = new URL('../../../examples/', import.meta.url).pathname;

const zone = (apex: string, spf: string[]): string =>
  [
    `$ORIGIN ${apex}.`,
    '$TTL 3600',
    `@ IN SOA ns.${apex}. h.${apex}. 1 3600 600 604800 300`,
    `@ IN NS ns.${apex}.`,
    `@ IN MX 10 mail.${apex}.`,
    'mail IN A 192.0.2.25',
    ...spf.map((s) => `@ IN TXT "${s}"`),
    `_dmarc IN TXT "v=DMARC1; p=reject; rua=mailto:dmarc@${apex}"`,
    `mail._domainkey IN TXT "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="`,
  ].join('\n') + '\n';

describe('examples/ for scheduled checks', () => {
  let knot: KnotServer;
  let bin: string;
  let work: string;
  const env = (): NodeJS.ProcessEnv => ({ ...process.env, PATH: `${bin}:${launcherPath()}`, MAILDNS_NAMESERVER: `127.0.0.1:${knot.port}`, NO_COLOR: '1' });
  beforeAll(async () => {
    knot = await startKnot({
      'fine.example': zone('fine.example', ['v=spf1 mx -all']),
      'twice.example': zone('twice.example', ['v=spf1 mx -all', 'v=spf1 a -all']),
    });
    work = mkdtempSync(path.join(tmpdir(), 'maildns-examples-'));
    bin = path.join(work, 'bin');
    execFileSync('mkdir', ['-p', bin]);
    // `maildns` on PATH, linked to the launcher as `npm install --global maildns` links it.
    symlinkSync(LAUNCHER, path.join(bin, 'maildns'));
  });
  afterAll(async () => knot?.stop());

  it('the cron entry is silent when every domain passes and prints the report when one fails', () => {
    const text = readFileSync(path.join(EXAMPLES, 'cron/maildns-check'), 'utf8');
    const line = text.split('\n').find((l) => /^\d/.test(l))!;
    const fields = line.split(/\s+/);
    expect(fields.slice(0, 5)).toEqual(['30', '3', '*', '*', '*']);
    expect(fields[5]).toBe('nobody'); // /etc/cron.d format: a user field
    const command = line.replace(/^(\S+\s+){6}/, '');
    const list = path.join(work, 'domains.txt');
    const run = (domains: string): ReturnType<typeof spawnSync> => {
      writeFileSync(list, domains);
      return spawnSync('/bin/sh', ['-c', command.replaceAll('/etc/maildns/domains.txt', list)], { env: env(), encoding: 'utf8' });
    };
    const good = run('fine.example\n');
    expect(good.status).toBe(0);
    expect(good.stdout).toBe('');
    const bad = run('# ours\nfine.example\ntwice.example\n');
    expect(bad.stdout).toMatch(/^maildns check exit 1$/m);
    expect(bad.stdout).toMatch(/FAIL {2}twice\.example/);
    expect(bad.stdout).toMatch(/spf\.multiple-records/);
    expect(bad.stdout).not.toMatch(/PASS {2}fine\.example/); // --quiet lists problems only
  });

  it('the systemd units verify and the service command fails on a failing domain', () => {
    const units = ['maildns-check.service', 'maildns-check.timer'].map((u) => path.join(EXAMPLES, 'systemd', u));
    if (existsSync('/usr/bin/systemd-analyze')) {
      const verify = spawnSync('/usr/bin/systemd-analyze', ['verify', ...units], { encoding: 'utf8' });
      expect(verify.stderr.trim()).toBe('');
      expect(verify.status).toBe(0);
    }
    const service = readFileSync(units[0]!, 'utf8');
    const exec = /^ExecStart=(.*)$/m.exec(service)![1]!;
    const selectors = /^Environment=MAILDNS_SELECTORS=(.*)$/m.exec(service)![1]!;
    const list = path.join(work, 'systemd-domains.txt');
    writeFileSync(list, 'fine.example\ntwice.example\n');
    const cmd = exec.replaceAll('/etc/maildns/domains.txt', list).replaceAll('${MAILDNS_SELECTORS}', selectors);
    const r = spawnSync('/bin/sh', ['-c', cmd], { env: env(), encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/FAIL {2}twice\.example/);
    expect(readFileSync(units[1]!, 'utf8')).toMatch(/^OnCalendar=\*-\*-\* 03:30:00$/m);
  });

  it('the GitHub Actions workflow is valid YAML, runs nightly, and its check step fails with a JUnit report', () => {
    const wf = parse(readFileSync(path.join(EXAMPLES, 'ci/maildns-check.yml'), 'utf8')) as {
      on: { schedule: { cron: string }[] };
      jobs: { check: { env: Record<string, string>; steps: { name?: string; run?: string; uses?: string }[] } };
    };
    expect(wf.on.schedule[0]!.cron).toBe('30 3 * * *');
    const steps = wf.jobs.check.steps;
    expect(steps.find((s) => s.run?.includes('npm install --global "$MAILDNS_PACKAGE"'))).toBeTruthy();
    expect(wf.jobs.check.env['MAILDNS_PACKAGE']).toBe('maildns');
    const step = steps.find((s) => s.run?.includes('maildns check'))!;
    const dir = mkdtempSync(path.join(tmpdir(), 'maildns-ci-'));
    writeFileSync(path.join(dir, 'domains.txt'), 'fine.example\ntwice.example\n');
    const r = spawnSync('/bin/bash', ['-e', '-c', step.run!], { cwd: dir, env: { ...env(), ...wf.jobs.check.env }, encoding: 'utf8' });
    expect(r.status).toBe(1);
    const xml = readFileSync(path.join(dir, 'maildns-report.xml'), 'utf8');
    expect(xml).toMatch(/<testsuite name="maildns check" tests="2" failures="1" errors="0"/);
    expect(r.stdout).toMatch(/^twice\.example:\n {2}spf\.multiple-records {2}twice\.example: /m);
    expect(r.stdout).not.toMatch(/fine\.example/);
  });
});
