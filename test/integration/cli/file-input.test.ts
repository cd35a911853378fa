/**
 * The files a plan names and the files other commands read (the plan itself, the DKIM keys, a
 * TLSA certificate, dkim check-record's --key, quickstart's plan and keys) are read as sign reads
 * its message and key (src/fsutil.ts): bounded, a FIFO or /dev/zero or a directory given where a
 * file belongs is one line naming it and exit 2, never a hang (a blocking read of a FIFO nothing
 * writes to waited for ever) and never a read without end.
 */
import { spawn, spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { closeSync, createWriteStream, existsSync, mkdirSync, mkdtempSync, openSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { publicKeyOf } from '../../../src/dkim/record.js';
import { composeDkimRecord } from '../../../src/dkim/record.js';
import { startServer } from '../../../src/dns/server.js';
import { CLI, preloadEnv, runCli, type CliResult } from '../../helpers/cli.js';

const PAIR = generateKeyPairSync('ed25519');
const KEY = PAIR.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const RECORD = composeDkimRecord(publicKeyOf(PAIR.privateKey));
const CERT_KEY = PAIR.publicKey.export({ type: 'spki', format: 'pem' }).toString();
/** Long enough that a run which waits on a FIFO is killed and fails, short against the 30 s input deadline. */
const KILL_AFTER_MS = 15_000;
const hasDevZero = existsSync('/dev/zero');

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'maildns-file-input-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function fifo(file: string): string {
  mkdirSync(path.dirname(file), { recursive: true });
  expect(spawnSync('mkfifo', [file]).status).toBe(0);
  return file;
}

function expectOneLine(r: CliResult, named: string, why: RegExp): void {
  expect(r.code, r.stderr).toBe(2);
  expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
  expect(r.stderr).toContain(named);
  expect(r.stderr).toMatch(why);
  expect(r.stderr).not.toMatch(/internal error|\n\s+at /);
}

const NOT_REGULAR = /is a FIFO \(named pipe\), not a regular file; .*: give a regular file/;
const DEVICE = /is a character device, not a regular file; .*: give a regular file/;

/** A plan for example.com with one Ed25519 DKIM selector (its key at keys/example.com/mail.private) and, when asked, a TLSA file. */
function writePlan(tlsa?: string): { plan: string; keyFile: string } {
  const plan = path.join(dir, 'maildns.yaml');
  const mx = tlsa ? `\n    mx: [{ host: mail.example.com, addresses: [192.0.2.25], tlsa: ${tlsa} }]` : '';
  writeFileSync(plan, `domains:\n  - domain: example.com\n    dkim: [{ selector: mail, algorithm: ed25519 }]${mx}\n`);
  return { plan, keyFile: path.join(dir, 'keys', 'example.com', 'mail.private') };
}

describe('the plan file', () => {
  it('a FIFO as --plan is read to its end, as sign reads a message; /dev/zero or a directory is one line naming it, at once', async () => {
    const started = Date.now();
    const plan = fifo(path.join(dir, 'plan.fifo'));
    createWriteStream(plan).end('domains:\n  - domain: example.com\n    mx: [{ host: mail.example.com, priority: 10 }]\n');
    const fed = await runCli(['records', '--plan', plan], { killAfterMs: KILL_AFTER_MS });
    expect(fed.code, fed.stderr).toBe(0);
    expect(fed.stdout).toMatch(/IN MX\s+10 mail\.example\.com\./);
    if (hasDevZero) expectOneLine(await runCli(['records', '--plan', '/dev/zero'], { killAfterMs: KILL_AFTER_MS }), '/dev/zero', /delivers more, more than the 16 MiB maildns reads as a plan/);
    mkdirSync(path.join(dir, 'plan.d'));
    expectOneLine(await runCli(['records', '--plan', path.join(dir, 'plan.d')], { killAfterMs: KILL_AFTER_MS }), path.join(dir, 'plan.d'), /is a directory; give a file name/);
    expect(Date.now() - started).toBeLessThan(KILL_AFTER_MS);
  });

  it('dkim rotate, which writes the plan back in place, refuses a FIFO or /dev/zero as the plan at once', async () => {
    const plan = fifo(path.join(dir, 'plan.fifo'));
    expectOneLine(await runCli(['dkim', 'rotate', 'example.com', '--plan', plan], { killAfterMs: KILL_AFTER_MS }), plan, NOT_REGULAR);
    if (hasDevZero) expectOneLine(await runCli(['dkim', 'rotate', 'example.com', '--plan', '/dev/zero'], { killAfterMs: KILL_AFTER_MS }), '/dev/zero', DEVICE);
  });

  it('quickstart whose plan is a FIFO', async () => {
    fifo(path.join(dir, 'maildns.yaml'));
    expectOneLine(await runCli(['quickstart', dir], { killAfterMs: KILL_AFTER_MS }), path.join(dir, 'maildns.yaml'), NOT_REGULAR);
  });
});

describe('the keys and files a plan names', () => {
  it('a DKIM key that is a FIFO, a link to /dev/zero, or a directory: records, verify and keygen say so in one line', async () => {
    const { plan, keyFile } = writePlan();
    fifo(keyFile);
    for (const args of [['records', '--plan', plan], ['verify', '--plan', plan, '--nameserver', '127.0.0.1:9', '--timeout', '50'], ['keygen', '--plan', plan], ['dkim', 'show', 'example.com', 'mail', '--plan', plan]]) {
      expectOneLine(await runCli(args, { killAfterMs: KILL_AFTER_MS }), keyFile, NOT_REGULAR);
    }
    rmSync(keyFile);
    if (hasDevZero) {
      symlinkSync('/dev/zero', keyFile);
      expectOneLine(await runCli(['records', '--plan', plan], { killAfterMs: KILL_AFTER_MS }), `${keyFile} -> /dev/zero`, DEVICE);
      rmSync(keyFile);
    }
    mkdirSync(keyFile);
    expectOneLine(await runCli(['records', '--plan', plan], { killAfterMs: KILL_AFTER_MS }), keyFile, /not a readable DKIM private key: EISDIR/);
  });

  it('quickstart whose key is a FIFO', async () => {
    // The plan quickstart writes, then the key it would create is a FIFO.
    const first = await runCli(['quickstart', dir], { killAfterMs: 60_000 });
    expect(first.code, first.stderr).toBe(0);
    const keyFile = path.join(dir, 'keys', 'example.com', 'mail.private');
    rmSync(keyFile);
    fifo(keyFile);
    expectOneLine(await runCli(['quickstart', dir], { killAfterMs: KILL_AFTER_MS }), keyFile, NOT_REGULAR);
  });

  it('a TLSA file that is a FIFO or a directory', async () => {
    const { plan, keyFile } = writePlan('mail.pem');
    mkdirSync(path.dirname(keyFile), { recursive: true });
    writeFileSync(keyFile, KEY, { mode: 0o600 });
    const pem = fifo(path.join(dir, 'mail.pem'));
    expectOneLine(await runCli(['records', '--plan', plan], { killAfterMs: KILL_AFTER_MS }), pem, NOT_REGULAR);
    rmSync(pem);
    mkdirSync(pem);
    expectOneLine(await runCli(['records', '--plan', plan], { killAfterMs: KILL_AFTER_MS }), pem, /the tlsa file of MX host mail\.example\.com cannot be read \(EISDIR\)/);
    rmSync(pem, { recursive: true });
    writeFileSync(pem, CERT_KEY);
    const ok = await runCli(['records', '--plan', plan], { killAfterMs: KILL_AFTER_MS });
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/_25\._tcp\.mail\s+IN TLSA\s+3 1 1 /);
  });
});

describe('dkim check-record --key', () => {
  it('reads the key from a FIFO to its end, as sign does', async () => {
    const key = fifo(path.join(dir, 'key.fifo'));
    createWriteStream(key).end(KEY);
    const r = await runCli(['dkim', 'check-record', RECORD, '--key', key, '--json'], { killAfterMs: KILL_AFTER_MS });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.stringify(JSON.parse(r.stdout))).not.toMatch(/different key|cannot be read/);
  });

  it('/dev/zero or a directory as the key: one line naming it', async () => {
    if (hasDevZero) {
      expectOneLine(await runCli(['dkim', 'check-record', RECORD, '--key', '/dev/zero'], { killAfterMs: KILL_AFTER_MS }), '/dev/zero', /delivers more, more than the 64 KiB maildns reads as a private key/);
    }
    mkdirSync(path.join(dir, 'keys'));
    expectOneLine(await runCli(['dkim', 'check-record', RECORD, '--key', path.join(dir, 'keys')], { killAfterMs: KILL_AFTER_MS }), path.join(dir, 'keys'), /is a directory; give a file name/);
  });
});

describe('a key that is a symbolic link (Debian links keys into /etc/dkimkeys)', () => {
  it('is read through the link, as OpenDKIM reads it', async () => {
    const { plan, keyFile } = writePlan();
    mkdirSync(path.join(dir, 'real'));
    writeFileSync(path.join(dir, 'real', 'mail.private'), KEY, { mode: 0o600 });
    mkdirSync(path.dirname(keyFile), { recursive: true, mode: 0o700 });
    symlinkSync(path.join(dir, 'real', 'mail.private'), keyFile);
    const records = await runCli(['records', '--plan', plan], { killAfterMs: KILL_AFTER_MS });
    expect(records.code, records.stderr).toBe(0);
    expect(records.stdout).toContain(RECORD);
    writeFileSync(path.join(dir, 'm.eml'), 'From: a@example.com\r\nTo: b@example.net\r\nSubject: hi\r\n\r\nhi\r\n');
    const signed = await runCli(['sign', path.join(dir, 'm.eml'), '-d', 'example.com', '-s', 'mail', '-k', keyFile], { killAfterMs: KILL_AFTER_MS });
    expect(signed.code, signed.stderr).toBe(0);
    expect(signed.stdout).toMatch(/^DKIM-Signature: v=1; a=ed25519-sha256;/);
  });

  it('a link to no file: every command that reads the key names `link -> target` and the fix, none takes it for a key yet to create', async () => {
    const { plan, keyFile } = writePlan();
    const target = path.join(dir, 'moved', 'mail.private');
    mkdirSync(path.dirname(keyFile), { recursive: true, mode: 0o700 });
    symlinkSync(target, keyFile);
    const why = /the symbolic link leads to no file; point it at a private key \(ln -sfn FILE .*mail\.private\), or remove it/;
    for (const args of [
      ['records', '--plan', plan],
      ['keygen', '--plan', plan],
      ['dkim', 'show', 'example.com', 'mail', '--plan', plan],
      ['opendkim', '--plan', plan],
      ['sign', plan, '-d', 'example.com', '-s', 'mail', '-k', keyFile],
      ['dkim', 'check-record', RECORD, '--key', keyFile],
    ]) {
      expectOneLine(await runCli(args, { killAfterMs: KILL_AFTER_MS }), `${keyFile} -> ${target}`, why);
    }
    // Nothing was written over the link.
    const { lstatSync } = await import('node:fs');
    expect(lstatSync(keyFile).isSymbolicLink()).toBe(true);
  });

  it('keygen --force over a link to no file keeps the link as the backup and says no key was there', async () => {
    const { plan, keyFile } = writePlan();
    const target = path.join(dir, 'moved', 'mail.private');
    mkdirSync(path.dirname(keyFile), { recursive: true, mode: 0o700 });
    symlinkSync(target, keyFile);
    const r = await runCli(['keygen', '--force', '--plan', plan], { killAfterMs: KILL_AFTER_MS });
    expect(r.code, r.stderr).toBe(0);
    const backup = /the old symbolic link, which led to no file \(no key was there\), kept as (\S+)/.exec(r.stdout)?.[1];
    expect(backup, r.stdout).toBeDefined();
    const { lstatSync, readlinkSync } = await import('node:fs');
    expect(readlinkSync(backup!)).toBe(target);
    expect(lstatSync(keyFile).isFile()).toBe(true);
    expect(r.stdout).not.toContain('old key kept');
    // No key was there, so none can be published.
    expect(r.stderr).not.toContain('may still be published');
  });

  it('keygen --force over a key warns on stderr that the old key may still be published and signing mail in flight; --json says recordChanged', async () => {
    const { plan } = writePlan();
    expect((await runCli(['keygen', '--plan', plan])).code).toBe(0);
    const r = await runCli(['keygen', '--force', '--plan', plan]);
    expect(r.code, r.stderr).toBe(0);
    const backup = /old key kept as (\S+)/.exec(r.stdout)?.[1];
    expect(r.stderr).toBe(
      `warning: example.com selector mail: the old key, kept as ${backup}, may still be published at mail._domainkey.example.com and have signed mail still in flight: publish the new record (\`maildns records\`) and install the new key (\`maildns opendkim\`) together; mail signed with the old key fails DKIM once the record changes (\`maildns dkim rotate example.com\` replaces a key without that gap)\n`,
    );
    const json = await runCli(['keygen', '--force', '--json', '--plan', plan]);
    const out = JSON.parse(json.stdout) as { keys: { status: string; recordChanged?: boolean; warnings: string[] }[]; warnings: string[] };
    expect(out.keys[0]).toMatchObject({ status: 'replaced', recordChanged: true });
    expect(out.warnings).toEqual([expect.stringMatching(/^example\.com selector mail: the old key, kept as .+\.bak, may still be published at mail\._domainkey\.example\.com/)]);
    // A key kept as it is changes no record.
    const kept = JSON.parse((await runCli(['keygen', '--json', '--plan', plan])).stdout) as { keys: { status: string; recordChanged?: boolean }[] };
    expect(kept.keys[0]!.status).toBe('kept');
    expect(kept.keys[0]!.recordChanged).toBeUndefined();
  });

  it('a plan that is a link to no file names `link -> target`', async () => {
    const link = path.join(dir, 'maildns.yaml');
    symlinkSync(path.join(dir, 'repo', 'maildns.yaml'), link);
    expectOneLine(await runCli(['records', '--plan', link], { killAfterMs: KILL_AFTER_MS }), `${link} -> ${path.join(dir, 'repo', 'maildns.yaml')}`, /the symbolic link leads to no file; point it at a plan/);
  });
});

describe('the other files a command is named', () => {
  it('--ca-file, spf flatten --compare and the relay password file a plan names: a FIFO or /dev/zero is refused at once', async () => {
    const pipe = fifo(path.join(dir, 'in.fifo'));
    const devices = hasDevZero ? [pipe, '/dev/zero'] : [pipe];
    for (const file of devices) {
      const why = file === pipe ? NOT_REGULAR : DEVICE;
      expectOneLine(await runCli(['check', 'example.com', '--tls', '--ca-file', file, '--nameserver', '127.0.0.1:9', '--timeout', '50'], { killAfterMs: KILL_AFTER_MS }), `--ca-file ${file}`, why);
      expectOneLine(await runCli(['spf', 'flatten', 'example.com', '--compare', file, '--nameserver', '127.0.0.1:9', '--timeout', '50'], { killAfterMs: KILL_AFTER_MS }), file, why);
      const plan = path.join(dir, 'maildns.yaml');
      writeFileSync(
        plan,
        `domains:\n  - domain: example.com\n    mx: [mail.example.com]\n    dkim: [mail]\nmail_host:\n  relay:\n    host: smtp.relay.example.net\n    username: example-com\n    password_file: ${file}\n`,
      );
      expectOneLine(await runCli(['postfix', '--plan', plan, '--out', path.join(dir, 'out')], { killAfterMs: KILL_AFTER_MS }), file, why);
    }
  });

  it('postfix lint reads a FIFO to its end, as sign reads a message, and stops /dev/zero at its limit', async () => {
    const pipe = fifo(path.join(dir, 'main.cf'));
    createWriteStream(pipe).end('myhostname = mail.example.com\n');
    // In a directory without maildns.yaml: --domain stands for the plan.
    const r = await runCli(['postfix', 'lint', pipe, '--domain', 'example.com', '--json'], { cwd: dir, killAfterMs: KILL_AFTER_MS });
    expect(r.stderr).toBe('');
    expect([0, 1]).toContain(r.code);
    expect(r.stdout).toMatch(/^\{/);
    if (hasDevZero) expectOneLine(await runCli(['postfix', 'lint', '/dev/zero', '--domain', 'example.com'], { cwd: dir, killAfterMs: KILL_AFTER_MS }), '/dev/zero', /delivers more, more than the 16 MiB maildns reads as a main\.cf/);
  });
});

/** The CLI as a fresh process with `stdin` (a file, a device) as its standard input, killed after KILL_AFTER_MS. */
function runWithStdin(args: string[], stdin: string | Readable, env: Record<string, string> = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const input = typeof stdin === 'string' ? openSync(stdin, 'r') : 'pipe';
    const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, NO_COLOR: '1', ...env }, stdio: [input, 'pipe', 'pipe'] });
    if (typeof input === 'number') closeSync(input);
    else (stdin as Readable).pipe(child.stdin!).on('error', () => undefined);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), KILL_AFTER_MS);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('standard input', () => {
  it.skipIf(!hasDevZero)('check --domains-file - < /dev/zero: one line naming <stdin>:1, exit 2, at once', async () => {
    const started = Date.now();
    const r = await runWithStdin(['check', '--domains-file', '-', '--nameserver', '127.0.0.1:9', '--timeout', '50'], '/dev/zero');
    expectOneLine(r, '<stdin>:1', /a line longer than 65536 characters, where a domain name has at most 253/);
    expect(Date.now() - started).toBeLessThan(KILL_AFTER_MS);
  });

  it('check --domains-file -: a line without end after good lines is refused at its number; a list longer than 16 MiB still streams in', async () => {
    const long = path.join(dir, 'long-line.txt');
    writeFileSync(long, `example.com\r\nexample.org # two\n${'x'.repeat(70_000)}\nexample.net\n`);
    expectOneLine(await runWithStdin(['check', '--domains-file', '-', '--nameserver', '127.0.0.1:9', '--timeout', '50'], long), '<stdin>:3', /a line longer than 65536 characters/);
    // 20 MiB of comments, written a chunk at a time down a pipe, then one name: no total bound, the name is checked (DNS cannot be asked here: exit 3).
    const comment = Buffer.from(`# ${'c'.repeat(1021)}\n`);
    const chunks = function* (): Generator<Buffer> {
      for (let i = 0; i < 20 * 1024; i++) yield comment;
      yield Buffer.from('example.com\n');
    };
    const r = await runWithStdin(['check', '--domains-file', '-', '--nameserver', '127.0.0.1:9', '--timeout', '50', '--format', 'json'], Readable.from(chunks()));
    expect(r.stderr).not.toMatch(/stdin|internal error/);
    expect(r.code, r.stderr).toBe(3);
    expect(r.stdout).toContain('"example.com"');
  });

  it('check --domains-file -: a name piped in a million times is held once (`yes example.com |`)', async () => {
    const lines = Buffer.from('Example.COM\nexample.com\n'.repeat(512));
    const chunks = function* (): Generator<Buffer> {
      for (let i = 0; i < 3000; i++) yield lines;
    };
    // The process's peak resident memory, printed as it exits.
    const peak = preloadEnv("process.on('exit', () => process.stderr.write('maxrss ' + process.resourceUsage().maxRSS + '\\n'))");
    const r = await runWithStdin(['check', '--domains-file', '-', '--nameserver', '127.0.0.1:9', '--timeout', '50', '--format', 'json'], Readable.from(chunks()), peak);
    expect(r.code, r.stderr).toBe(3);
    expect(r.stderr).toMatch(/note: 3071999 names were given more than once; each domain is checked once/);
    expect(JSON.parse(r.stdout.replace(/^[^{]*/, '')).domains.map((d: { domain: string }) => d.domain)).toEqual(['example.com']);
    // Each of 3 million lines kept took about 170 MB more (268 MB against 96 MB at its peak).
    expect(Number(/maxrss (\d+)/.exec(r.stderr)![1]) / 1024).toBeLessThan(160);
  });

  it('postfix lint --stdin reads a pipe to its end, and stops /dev/zero at its limit', async () => {
    const r = await runCli(['postfix', 'lint', '--stdin', '--domain', 'example.com', '--json'], { cwd: dir, input: 'myhostname = mail.example.com\n', killAfterMs: KILL_AFTER_MS });
    expect(r.stderr).toBe('');
    expect([0, 1]).toContain(r.code);
    expect(JSON.parse(r.stdout)).toMatchObject({ file: 'postconf -n' });
    if (hasDevZero) {
      const zero = await runWithStdin(['postfix', 'lint', '--stdin', '--domain', 'example.com'], '/dev/zero');
      expectOneLine(zero, '<stdin>: delivers more', /more than the 16 MiB maildns reads as a main\.cf/);
    }
  });
});

describe('the deferred NODE_EXTRA_CA_CERTS file (MAILDNS_DEFERRED_EXTRA_CA_CERTS, bin/maildns)', () => {
  it('a FIFO there is left out with Node\'s warning at the first TLS connection, not waited on for ever', async () => {
    const pipe = fifo(path.join(dir, 'extra-ca.fifo'));
    // An MX on 127.0.0.1 whose SMTP server offers STARTTLS: the TLS connection after it is where the file is read.
    const dns = await startServer({ records: [{ name: 'ca.test', type: 'MX', ttl: 300, value: '10 mx.ca.test.' }, { name: 'mx.ca.test', type: 'A', ttl: 300, value: '127.0.0.1' }], zones: ['ca.test'] });
    let startTls = false;
    const smtp = net.createServer((s) => {
      s.on('error', () => undefined);
      s.write('220 mx.ca.test ESMTP\r\n');
      s.on('data', (d: Buffer) => {
        const line = d.toString('latin1');
        if (/^EHLO/i.test(line)) s.write('250-mx.ca.test\r\n250 STARTTLS\r\n');
        else if (/^STARTTLS/i.test(line)) {
          startTls = true;
          s.end('220 2.0.0 go ahead\r\n');
        } else if (/^QUIT/i.test(line)) s.end('221 bye\r\n');
        else if (!startTls) s.write('250 ok\r\n');
      });
    });
    await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = smtp.address() as net.AddressInfo;
      const r = await runCli(['check', 'ca.test', '--tls', '--format', 'json', '--nameserver', `${dns.host}:${dns.port}`], {
        env: { MAILDNS_SMTP_PORT: String(port), NODE_EXTRA_CA_CERTS: '', MAILDNS_DEFERRED_EXTRA_CA_CERTS: pipe },
        killAfterMs: KILL_AFTER_MS,
      });
      expect(startTls).toBe(true);
      expect(r.code, r.stderr).not.toBeNull();
      expect(r.stdout).toMatch(/^\{/);
      expect(r.stderr).toContain(`Ignoring extra certs from \`${pipe}\`, load failed: is a FIFO (named pipe), not a regular file`);
    } finally {
      smtp.close();
      await dns.close();
    }
  });
});
