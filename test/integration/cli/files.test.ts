/**
 * File-system failures through the built CLI: one line that names the file or directory the user
 * gave (never a temporary file) with the fix, exit 2, no stack, nothing left behind, and no hang.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { generateKeyPairSync } from 'node:crypto';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../helpers/cli.js';
import { keygenPlan } from '../../../src/dkim/keygen.js';
import { loadPlan } from '../../../src/plan/load.js';

let dir: string;
const PLAN = 'version: 1\ndomains:\n  - domain: example.com\n    dkim: [{selector: mail, algorithm: ed25519}]\n';

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'maildns-files-'));
  writeFileSync(path.join(dir, 'maildns.yaml'), PLAN);
  // opendkim writes nothing while a key is missing, so the key exists and the output directory is what fails.
  await keygenPlan(loadPlan(path.join(dir, 'maildns.yaml')));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** One line on stderr, naming `target` and no temporary file, exit 2. */
function expectOneLine(r: { code: number | null; stdout: string; stderr: string }, target: string, fix: RegExp): void {
  expect(r.code).toBe(2);
  expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
  expect(r.stderr).toContain(target);
  expect(r.stderr).toMatch(fix);
  expect(r.stderr).not.toMatch(/\.tmp\b|\n\s+at /);
}

describe('file-system failures are one line with the path and the fix', () => {
  it.runIf(existsSync('/proc/self'))('opendkim --out /proc/odk ends (no endless mkdir), exit 2', async () => {
    const r = await runCli(['opendkim', '--out', '/proc/odk'], { cwd: dir, killAfterMs: 20_000 });
    expectOneLine(r, '/proc/odk', /does not let a directory be created here/);
  });

  it.runIf(existsSync('/proc/self'))('mta-sts --out /proc/mta ends too (no endless mkdir), exit 2', async () => {
    const work = mkdtempSync(path.join(dir, 'mta-sts-'));
    writeFileSync(path.join(work, 'maildns.yaml'), 'version: 1\ndomains:\n  - domain: example.com\n    mx: [mx.example.com]\n    mta_sts: { mode: testing }\n');
    const r = await runCli(['mta-sts', '--out', '/proc/mta'], { cwd: work, killAfterMs: 20_000 });
    expectOneLine(r, '/proc/mta', /does not let a directory be created here/);
  });

  it('opendkim --out an existing file: EEXIST as words', async () => {
    writeFileSync(path.join(dir, 'a-file'), 'x');
    expectOneLine(await runCli(['opendkim', '--out', 'a-file'], { cwd: dir }), 'a-file', /already exists; move it away or pick another name/);
    expectOneLine(await runCli(['opendkim', '--out', 'a-file/below'], { cwd: dir }), 'a-file/below', /a part of the path is not a directory/);
  });

  it('init -o a directory --force: EISDIR names the directory, not the temporary file, and leaves none', async () => {
    mkdirSync(path.join(dir, 'a-dir'));
    expectOneLine(await runCli(['init', 'example.com', '-o', 'a-dir', '--force'], { cwd: dir }), 'a-dir', /is a directory; give a file name/);
    expect(readdirSync(dir).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });

  it('a directory given where a file is read: the same one line, for a message, a plan, a key and a main.cf', async () => {
    mkdirSync(path.join(dir, 'not-a-file'), { recursive: true });
    writeFileSync(path.join(dir, 'm.eml'), 'From: a@example.com\r\n\r\nhi\r\n');
    for (const args of [['verify-message', 'not-a-file'], ['records', '--plan', 'not-a-file'], ['sign', 'm.eml', '-d', 'example.com', '-s', 'mail', '-k', 'not-a-file'], ['postfix', 'lint', 'not-a-file']]) {
      expectOneLine(await runCli(args, { cwd: dir }), 'not-a-file', /is a directory; give a file name/);
    }
  });

  it('init --force and sign -o write through a symbolic link to the file it points to, and keep the link', async () => {
    const work = mkdtempSync(path.join(dir, 'through-'));
    mkdirSync(path.join(work, 'repo'));
    writeFileSync(path.join(work, 'repo', 'plan.yaml'), 'old\n');
    symlinkSync(path.join('repo', 'plan.yaml'), path.join(work, 'maildns.yaml'));
    expect((await runCli(['init', 'example.com', '--force'], { cwd: work })).code).toBe(0);
    expect(lstatSync(path.join(work, 'maildns.yaml')).isSymbolicLink()).toBe(true);
    expect(readFileSync(path.join(work, 'repo', 'plan.yaml'), 'utf8')).toMatch(/domain: example\.com/);
    writeFileSync(path.join(work, 'm.eml'), 'From: a@example.com\r\nTo: b@example.org\r\nSubject: hi\r\n\r\nhello\r\n');
    writeFileSync(path.join(work, 'k.pem'), generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }));
    symlinkSync(path.join('repo', 'signed.eml'), path.join(work, 'signed.eml'));
    expect((await runCli(['sign', 'm.eml', '-d', 'example.com', '-s', 'ed', '-k', 'k.pem', '-o', 'signed.eml'], { cwd: work })).code).toBe(0);
    expect(lstatSync(path.join(work, 'signed.eml')).isSymbolicLink()).toBe(true);
    expect(readFileSync(path.join(work, 'repo', 'signed.eml'), 'utf8')).toMatch(/^DKIM-Signature: /);
    // Standard output as the file (a pipe here): written into, not replaced by a file (as root, /dev/stdout's own link would have been).
    const piped = await runCli(['sign', 'm.eml', '-d', 'example.com', '-s', 'ed', '-k', 'k.pem', '-o', '/dev/stdout'], { cwd: work });
    expect(piped.code).toBe(0);
    expect(piped.stdout).toMatch(/^DKIM-Signature: /);
    expect(lstatSync('/dev/stdout').isSymbolicLink()).toBe(true);
    // A report's -o too (its standard output is a socket here, which cannot be opened again by name).
    const report = await runCli(['check', 'example.com', '--nameserver', '127.0.0.1:9', '--timeout', '50', '--format', 'json', '-o', '/dev/stdout'], { cwd: work });
    expect(report.code).toBe(3);
    expect((JSON.parse(report.stdout) as { domains: unknown[] }).domains).toHaveLength(1);
  });

  it('init --force, sign -o and check -o keep the mode of the file they replace (directly or through a link); keygen --force makes a key 0600 whatever the old one had', async () => {
    const work = mkdtempSync(path.join(dir, 'mode-'));
    const modeOf = (p: string): number => statSync(path.join(work, p)).mode & 0o777;
    mkdirSync(path.join(work, 'repo'));
    writeFileSync(path.join(work, 'maildns.yaml'), 'old\n', { mode: 0o600 });
    expect((await runCli(['init', 'example.com', '--force'], { cwd: work })).code).toBe(0);
    expect(modeOf('maildns.yaml')).toBe(0o600);
    writeFileSync(path.join(work, 'repo', 'plan.yaml'), 'old\n');
    chmodSync(path.join(work, 'repo', 'plan.yaml'), 0o640);
    symlinkSync(path.join('repo', 'plan.yaml'), path.join(work, 'linked.yaml'));
    expect((await runCli(['init', 'example.com', '--force', '-o', 'linked.yaml'], { cwd: work })).code).toBe(0);
    expect(modeOf('repo/plan.yaml')).toBe(0o640);
    writeFileSync(path.join(work, 'm.eml'), 'From: a@example.com\r\nTo: b@example.org\r\nSubject: hi\r\n\r\nhello\r\n');
    writeFileSync(path.join(work, 'k.pem'), generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }));
    writeFileSync(path.join(work, 'signed.eml'), 'old\n', { mode: 0o600 });
    expect((await runCli(['sign', 'm.eml', '-d', 'example.com', '-s', 'ed', '-k', 'k.pem', '-o', 'signed.eml'], { cwd: work })).code).toBe(0);
    expect(modeOf('signed.eml')).toBe(0o600);
    writeFileSync(path.join(work, 'report.json'), 'old\n', { mode: 0o600 });
    expect((await runCli(['check', 'example.com', '--nameserver', '127.0.0.1:9', '--timeout', '50', '--format', 'json', '-o', 'report.json'], { cwd: work })).code).toBe(3);
    expect(modeOf('report.json')).toBe(0o600);
    // A new file still gets 0644.
    expect((await runCli(['init', 'example.com', '-o', 'new.yaml'], { cwd: work })).code).toBe(0);
    expect(modeOf('new.yaml')).toBe(0o644);
    // A secret is never as loose as the file it replaces.
    writeFileSync(path.join(work, 'keyed.yaml'), PLAN);
    expect((await runCli(['keygen', '--plan', 'keyed.yaml'], { cwd: work })).code).toBe(0);
    chmodSync(path.join(work, 'keys', 'example.com', 'mail.private'), 0o644);
    expect((await runCli(['keygen', '--plan', 'keyed.yaml', '--force'], { cwd: work })).code).toBe(0);
    expect(modeOf('keys/example.com/mail.private')).toBe(0o600);
  });

  it.runIf(process.getuid?.() === 0)('init --force by a user who owns the plan but is not in its group: written (EPERM is no failure), and that group\'s access not handed to the user\'s', async () => {
    const { chownSync } = await import('node:fs');
    const user = { uid: 12345, gid: 12345 };
    // A directory of the user's own, outside the test's 0700 one, which the user cannot enter.
    const work = mkdtempSync(path.join(tmpdir(), 'maildns-owner-'));
    try {
      chownSync(work, user.uid, user.gid);
      writeFileSync(path.join(work, 'maildns.yaml'), 'old\n', { mode: 0o640 });
      chownSync(path.join(work, 'maildns.yaml'), user.uid, 23456);
      const r = await runCli(['init', 'example.com', '--force'], { cwd: work, user });
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const st = statSync(path.join(work, 'maildns.yaml'));
      expect(`${st.uid}:${st.gid} ${(st.mode & 0o777).toString(8)}`).toBe('12345:12345 600');
      expect(readFileSync(path.join(work, 'maildns.yaml'), 'utf8')).toMatch(/domain: example\.com/);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });

  it('init --force, sign -o and check -o through a dangling link to newdir/: one line naming the link, its target and the fix, exit 2, no file newdir', async () => {
    const work = mkdtempSync(path.join(dir, 'slash-'));
    symlinkSync('newdir/', path.join(work, 'maildns.yaml'));
    const fix = /^maildns: maildns\.yaml: is a symbolic link to newdir\/, which names a directory \(the trailing slash\) that does not exist, so no file can be written there: point it at a file \(ln -sfn newdir\/maildns\.yaml maildns\.yaml\), or remove it\n$/;
    expectOneLine(await runCli(['init', 'example.com', '--force'], { cwd: work }), 'maildns.yaml', fix);
    // Without --force too: a dangling link is no existing plan.
    expectOneLine(await runCli(['init', 'example.com'], { cwd: work }), 'maildns.yaml', fix);
    expectOneLine(await runCli(['check', 'example.com', '--nameserver', '127.0.0.1:9', '--timeout', '50', '-o', 'maildns.yaml'], { cwd: work }), 'maildns.yaml', fix);
    writeFileSync(path.join(work, 'm.eml'), 'From: a@example.com\r\nTo: b@example.org\r\nSubject: hi\r\n\r\nhello\r\n');
    writeFileSync(path.join(work, 'k.pem'), generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }));
    expectOneLine(await runCli(['sign', 'm.eml', '-d', 'example.com', '-s', 'ed', '-k', 'k.pem', '-o', 'maildns.yaml'], { cwd: work }), 'maildns.yaml', fix);
    expect(readdirSync(work).sort()).toEqual(['k.pem', 'm.eml', 'maildns.yaml']);
    // A name given with the slash itself names a directory too.
    expectOneLine(await runCli(['init', 'example.com', '-o', 'newdir/'], { cwd: work }), 'newdir/', /^maildns: newdir\/: names a directory \(it ends in '\/'\), not a file; give a file name\n$/);
    expect(readdirSync(work).sort()).toEqual(['k.pem', 'm.eml', 'maildns.yaml']);
  });

  it('through a link to a directory or into a missing one: one line naming the link and where it leads, exit 2, nothing written', async () => {
    const work = mkdtempSync(path.join(dir, 'leads-'));
    mkdirSync(path.join(work, 'repo'));
    symlinkSync('repo', path.join(work, 'maildns.yaml'));
    const toDirectory = `maildns: maildns.yaml: is a symbolic link that leads to the directory ${path.join(work, 'repo')}, not a file; point the link at a file (ln -sfn ${path.join(work, 'repo', 'maildns.yaml')} maildns.yaml), or give another file name\n`;
    const init = await runCli(['init', 'example.com', '--force'], { cwd: work });
    expectOneLine(init, 'maildns.yaml', /./);
    expect(init.stderr).toBe(toDirectory);
    const check = await runCli(['check', 'example.com', '--nameserver', '127.0.0.1:9', '--timeout', '50', '-o', 'maildns.yaml'], { cwd: work });
    expect(check.stderr).toBe(toDirectory);
    symlinkSync(path.join('missing', 'plan.yaml'), path.join(work, 'into-missing.yaml'));
    expectOneLine(await runCli(['init', 'example.com', '-o', 'into-missing.yaml'], { cwd: work }), 'into-missing.yaml', new RegExp(`^maildns: into-missing\\.yaml -> ${path.join(work, 'missing', 'plan.yaml')}: no such file or directory; check the path\n$`));
    expect(readdirSync(work).sort()).toEqual(['into-missing.yaml', 'maildns.yaml', 'repo']);
    expect(readdirSync(path.join(work, 'repo'))).toEqual([]);
  });

  it.runIf(process.getuid?.() === 0)('through a link onto a read-only file system, or into a directory the user may not write: the link and where it leads', async () => {
    const { chownSync } = await import('node:fs');
    const work = mkdtempSync(path.join(tmpdir(), 'maildns-leads-'));
    chmodSync(work, 0o755); // the user below goes through it to a directory of their own
    const readOnly = path.join(work, 'ro');
    mkdirSync(readOnly);
    const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k,ro', 'tmpfs', readOnly]).status === 0;
    try {
      if (mounted) {
        symlinkSync(path.join(readOnly, 'plan.yaml'), path.join(work, 'maildns.yaml'));
        expectOneLine(await runCli(['init', 'example.com', '--force'], { cwd: work }), 'maildns.yaml', new RegExp(`^maildns: maildns\\.yaml -> ${readOnly}/plan\\.yaml: the file system is read-only; write somewhere else\n$`));
      }
      const user = { uid: 12345, gid: 12345 };
      const mine = path.join(work, 'mine');
      mkdirSync(mine);
      chownSync(mine, user.uid, user.gid);
      mkdirSync(path.join(work, 'roots'));
      symlinkSync(path.join(work, 'roots', 'signed.eml'), path.join(mine, 'signed.eml'));
      writeFileSync(path.join(mine, 'm.eml'), 'From: a@example.com\r\nTo: b@example.org\r\nSubject: hi\r\n\r\nhello\r\n');
      writeFileSync(path.join(mine, 'k.pem'), generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }));
      chownSync(path.join(mine, 'k.pem'), user.uid, user.gid);
      const r = await runCli(['sign', 'm.eml', '-d', 'example.com', '-s', 'ed', '-k', 'k.pem', '-o', 'signed.eml'], { cwd: mine, user });
      expectOneLine(r, 'signed.eml', new RegExp(`^maildns: signed\\.eml -> ${path.join(work, 'roots', 'signed.eml')}: permission denied; check the owner and mode, or run as the right user\n$`));
    } finally {
      if (mounted) spawnSync('umount', [readOnly]);
      rmSync(work, { recursive: true, force: true });
    }
  });

  it('keygen refuses a symlinked keys directory and leaves its target alone', async () => {
    const work = mkdtempSync(path.join(dir, 'link-'));
    writeFileSync(path.join(work, 'maildns.yaml'), PLAN);
    const shared = path.join(work, 'shared');
    mkdirSync(shared);
    chmodSync(shared, 0o1777);
    symlinkSync(shared, path.join(work, 'keys'));
    const r = await runCli(['keygen'], { cwd: work });
    expectOneLine(r, path.join(work, 'keys'), /is a symbolic link/);
    expect(statSync(shared).mode & 0o7777).toBe(0o1777);
    expect(readdirSync(shared)).toEqual([]);
  });

  it('keygen says which stale temporary file it removed', async () => {
    const work = mkdtempSync(path.join(dir, 'stale-'));
    writeFileSync(path.join(work, 'maildns.yaml'), PLAN);
    const domainDir = path.join(work, 'keys', 'example.com');
    mkdirSync(domainDir, { recursive: true, mode: 0o700 });
    const gone = Number(spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout);
    const stale = `.mail.private.${gone}.00000000abcd.tmp`;
    writeFileSync(path.join(domainDir, stale), '-----BEGIN PRIVATE KEY-----\n', { mode: 0o600 });
    const r = await runCli(['keygen'], { cwd: work });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`note: removed ${path.join(domainDir, stale)}`);
    expect(readdirSync(domainDir).sort()).toEqual(['mail.private', 'mail.txt']);
  });
});

/** A 64 KiB tmpfs, where the test may mount one (root with CAP_SYS_ADMIN); null elsewhere. */
function smallFileSystem(): string | null {
  if (process.getuid?.() !== 0) return null;
  const mnt = mkdtempSync(path.join(tmpdir(), 'maildns-full-'));
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', mnt]);
  if (r.status !== 0) {
    rmSync(mnt, { recursive: true, force: true });
    return null;
  }
  return mnt;
}

describe('a full file system', () => {
  const mnt = smallFileSystem();
  afterAll(() => {
    if (!mnt) return;
    spawnSync('umount', [mnt]);
    rmSync(mnt, { recursive: true, force: true });
  });

  it.runIf(mnt !== null)('ENOSPC: one line naming the output file, exit 2, no partial or temporary file left', async () => {
    const key = path.join(dir, 'sign.key');
    writeFileSync(key, generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    const big = path.join(dir, 'big.eml');
    writeFileSync(big, `From: a@example.com\r\nSubject: big\r\n\r\n${'x'.repeat(76)}\r\n`.repeat(2000));
    const out = path.join(mnt!, 'signed.eml');
    const r = await runCli(['sign', big, '-d', 'example.com', '-s', 'mail', '-k', key, '-o', out]);
    expectOneLine(r, out, /no space left on the device; free some space and run again/);
    expect(readdirSync(mnt!)).toEqual([]);
  });
});
