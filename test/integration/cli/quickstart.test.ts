import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runCli } from '../../helpers/cli.js';

describe('maildns quickstart', () => {
  it('sets up, serves, verifies and signs end to end, offline, and keeps keys on a second run', async () => {
    const dir = path.join(mkdtempSync(path.join(tmpdir(), 'maildns-qs-')), 'qs');
    const first = await runCli(['quickstart', dir]);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    for (const title of ['Plan', 'DKIM keys', 'OpenDKIM and Postfix files', 'Records as a zone file', 'Records as MyDNS form rows', 'Embedded DNS server', 'Verify the published records', 'Sign a test message', 'Verify the test message', 'Next steps for a real domain']) {
      expect(first.stdout).toMatch(new RegExp(`== \\d+\\. ${title} \\[ok\\]`));
    }
    expect(first.stdout).toMatch(/dkim=pass \(2048-bit rsa key\) header\.d=example\.com/);
    expect(first.stdout).toMatch(/spf=pass/);
    expect(first.stdout).toMatch(/dmarc=pass/);
    const key = path.join(dir, 'keys', 'example.com', 'mail.private');
    expect(statSync(key).mode & 0o777).toBe(0o600);
    expect(statSync(path.dirname(key)).mode & 0o777).toBe(0o700);
    // The private key is never printed.
    const pem = readFileSync(key, 'utf8');
    expect(first.stdout).not.toContain(pem.split('\n')[1]!);

    const second = await runCli(['quickstart', dir, '--json']);
    expect(second.code).toBe(0);
    const json = JSON.parse(second.stdout) as { ok: boolean; steps: { title: string; body: string }[]; message: { dmarc: { result: string } } };
    expect(json.ok).toBe(true);
    expect(json.message.dmarc.result).toBe('pass');
    expect(json.steps.find((s) => s.title === 'DKIM keys')!.body).toMatch(/^kept /);
    expect(readFileSync(key, 'utf8')).toBe(pem);
  });

  it('a kept plan for another domain (an earlier --domain, or the operator\'s own domain edited in): the test message is from the plan\'s domain, and the Plan step says so', async () => {
    const dir = path.join(mkdtempSync(path.join(tmpdir(), 'maildns-qs-')), 'qs');
    expect((await runCli(['quickstart', dir, '--domain', 'example.net'])).code).toBe(0);
    const again = await runCli(['quickstart', dir]);
    expect(again.stderr).toBe('');
    expect(again.code).toBe(0);
    expect(again.stdout).toContain(`kept the existing ${path.join(dir, 'maildns.yaml')}; it plans example.net, not example.com, so the test message is from example.net`);
    expect(again.stdout).toMatch(/dmarc=pass \(p=none dis=none\) header\.from=example\.net/);
  });

  it('rejects a bad domain with one line and exit 2', async () => {
    const r = await runCli(['quickstart', mkdtempSync(path.join(tmpdir(), 'maildns-qs-')), '--domain', 'bad..example']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('maildns: --domain "bad..example" has an empty label (two dots in a row?)\n');
  });
});
