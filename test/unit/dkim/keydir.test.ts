/**
 * Where private keys may live (OpenDKIM's RequireSafeKeys): keygen and the OpenDKIM files refuse
 * a keys directory that is a symbolic link or that other users can write to, never change the
 * mode of a directory maildns did not create, and clear the temporary files of interrupted runs.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { keygenPlan } from '../../../src/dkim/keygen.js';
import { composeOpenDkim } from '../../../src/dkim/opendkim.js';
import { InputError } from '../../../src/errors.js';
import { parsePlan } from '../../../src/plan/load.js';

let dir: string;
const mode = (p: string): number => statSync(p).mode & 0o7777;
const PLAN = 'domains:\n  - domain: example.com\n    dkim: [{selector: mail, algorithm: ed25519}]\n';

function plan(keysDir = 'keys') {
  const file = path.join(dir, 'maildns.yaml');
  const text = `defaults:\n  keys_dir: ${keysDir}\n${PLAN}`;
  writeFileSync(file, text);
  return parsePlan(text, file);
}

async function refusal(run: () => Promise<unknown> | unknown): Promise<InputError> {
  try {
    await run();
  } catch (err) {
    expect(err).toBeInstanceOf(InputError);
    return err as InputError;
  }
  throw new Error('expected an InputError');
}

beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'maildns-keydir-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('a keys directory that is not safe is refused, and left as it is', () => {
  it('a symbolic link (here to a 1777 directory): refused, the target keeps its mode and gets no key', async () => {
    const shared = path.join(dir, 'shared');
    mkdirSync(shared);
    chmodSync(shared, 0o1777);
    symlinkSync(shared, path.join(dir, 'keys'));
    const err = await refusal(() => keygenPlan(plan()));
    expect(err.message).toMatch(/keys: is a symbolic link \(to .*shared\).*real directory/);
    expect(mode(shared)).toBe(0o1777);
    expect(readdirSync(shared)).toEqual([]);
  });

  it.each([0o777, 0o1777, 0o702])('a directory others can write to (mode %o): refused, mode unchanged', async (m) => {
    const keys = path.join(dir, 'keys');
    mkdirSync(keys);
    chmodSync(keys, m);
    const err = await refusal(() => keygenPlan(plan()));
    expect(err.message).toContain(`can be written by every user (mode ${m.toString(8).padStart(4, '0')})`);
    expect(err.message).toMatch(/mkdir -m 700/);
    expect(mode(keys)).toBe(m);
    expect(readdirSync(keys)).toEqual([]);
  });

  it('the same for the domain directory under a safe keys directory', async () => {
    const domainDir = path.join(dir, 'keys', 'example.com');
    mkdirSync(domainDir, { recursive: true });
    chmodSync(domainDir, 0o777);
    await refusal(() => keygenPlan(plan()));
    expect(mode(domainDir)).toBe(0o777);
  });

  it('a directory maildns did not create keeps its mode (0755 stays 0755); the ones it creates are 0700', async () => {
    const keys = path.join(dir, 'keys');
    mkdirSync(keys);
    chmodSync(keys, 0o755);
    const [r] = await keygenPlan(plan());
    expect(r!.status).toBe('created');
    expect(mode(keys)).toBe(0o755);
    expect(mode(path.join(keys, 'example.com'))).toBe(0o700);
    expect(mode(r!.keyPath)).toBe(0o600);
  });

  it('`maildns opendkim` refuses keys in such a directory too (OpenDKIM would not sign with them)', async () => {
    const p = plan();
    await keygenPlan(p);
    chmodSync(p.keysDir, 0o777);
    const err = await refusal(() => composeOpenDkim(p, { configDir: '/etc/opendkim' }));
    expect(err.message).toMatch(/keys: can be written by every user/);
  });
});

describe('temporary files of interrupted runs', () => {
  /** A process id that has just ended. */
  function deadPid(): number {
    const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    return Number(child.stdout);
  }

  it('a stale temp file of a process that is gone is removed on the next run, with a note; one of a live process is kept', async () => {
    const domainDir = path.join(dir, 'keys', 'example.com');
    mkdirSync(domainDir, { recursive: true, mode: 0o700 });
    const stale = `.mail.private.${deadPid()}.0123456789ab.tmp`;
    const live = `.mail.private.${process.ppid}.ba9876543210.tmp`;
    for (const name of [stale, live]) writeFileSync(path.join(domainDir, name), '-----BEGIN PRIVATE KEY-----\n', { mode: 0o600 });
    const [r] = await keygenPlan(plan());
    expect(existsSync(path.join(domainDir, stale))).toBe(false);
    expect(existsSync(path.join(domainDir, live))).toBe(true);
    expect(r!.notes).toEqual([expect.stringContaining(`removed ${path.join(domainDir, stale)}, a temporary file an interrupted run left behind`)]);
  });
});
