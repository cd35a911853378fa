/**
 * What sign and verify-message read: a message or a key from a regular file, or from a pipe or a
 * device (a FIFO, a shell's <(…), /dev/zero) read to its end within the input deadline and a size
 * limit. Whatever the input, one line and exit 2, never a hang, a stack or an internal error.
 */
import { spawn, spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { createWriteStream, existsSync, mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readPrivateKeyFile } from '../../../src/dkim/keys.js';
import { InputError } from '../../../src/errors.js';
import { MAX_MESSAGE_BYTES, readMessageFile } from '../../../src/message/message.js';
import { runCli } from '../../helpers/cli.js';

/** The built library, as the CLI runs it. */
const DIST = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../dist/src');
const MESSAGE = 'From: Alice <alice@example.com>\r\nTo: bob@example.net\r\nSubject: hello\r\n\r\nHello Bob.\r\n';
const KEY = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
let dir: string;

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'maildns-input-'));
  writeFileSync(path.join(dir, 'm.eml'), MESSAGE);
  writeFileSync(path.join(dir, 'k.pem'), KEY, { mode: 0o600 });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function fifo(name: string): string {
  const file = path.join(dir, name);
  expect(spawnSync('mkfifo', [file]).status).toBe(0);
  return file;
}

/** Write `text` into the FIFO once a reader opens it, then close it. */
function feed(file: string, text: string): void {
  createWriteStream(file).end(text);
}

function expectOneLine(r: { code: number | null; stderr: string }, named: string, why: RegExp): void {
  expect(r.code).toBe(2);
  expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
  expect(r.stderr).toContain(named);
  expect(r.stderr).toMatch(why);
  expect(r.stderr).not.toMatch(/internal error|\n\s+at /);
}

describe('a pipe is read to its end', () => {
  it('sign reads the message and the key from FIFOs, verify-message the signed message', async () => {
    const message = fifo('message.fifo');
    const key = fifo('key.fifo');
    feed(message, MESSAGE);
    feed(key, KEY);
    const s = await runCli(['sign', message, '-d', 'example.com', '-s', 'mail', '-k', key], { killAfterMs: 20_000 });
    expect(s.stderr).toBe('');
    expect(s.code).toBe(0);
    expect(s.stdout).toMatch(/^DKIM-Signature: v=1; a=ed25519-sha256;/);
    expect(s.stdout.endsWith(MESSAGE)).toBe(true);
    const signed = fifo('signed.fifo');
    feed(signed, s.stdout);
    const v = await runCli(['verify-message', signed, '--nameserver', '127.0.0.1:9', '--timeout', '50', '--json'], { killAfterMs: 20_000 });
    expect(v.code).toBe(3);
    expect((JSON.parse(v.stdout) as { dkim: { selector: string }[] }).dkim.map((d) => d.selector)).toEqual(['mail']);
  });
});

describe('an input without an end, or too large, is one line and exit 2', () => {
  it.runIf(existsSync('/dev/zero'))('/dev/zero as the message or the key: refused at the size limit, not read forever', async () => {
    const started = Date.now();
    expectOneLine(await runCli(['verify-message', '/dev/zero', '--nameserver', '127.0.0.1:9'], { killAfterMs: 20_000 }), '/dev/zero', /delivers more, more than the 150 MiB maildns reads as a message/);
    expectOneLine(await runCli(['sign', 'm.eml', '-d', 'example.com', '-s', 'mail', '-k', '/dev/zero'], { cwd: dir, killAfterMs: 20_000 }), '/dev/zero', /more than the 64 KiB maildns reads as a private key/);
    expect(Date.now() - started).toBeLessThan(15_000);
  });

  it('a socket file as the message: what it is, and the fix', async () => {
    const socket = path.join(dir, 'message.sock');
    const server = net.createServer().listen(socket);
    await once(server, 'listening');
    expectOneLine(await runCli(['verify-message', socket, '--nameserver', '127.0.0.1:9'], { killAfterMs: 20_000 }), socket, /a socket, or a device that is not there\); give a file or a pipe/);
    server.close();
  });

  it('a file larger than the limit is refused before it is read (no internal error at 600 MB)', async () => {
    const big = path.join(dir, 'big.eml');
    writeFileSync(big, MESSAGE);
    truncateSync(big, 600 * 1024 * 1024);
    for (const cmd of [['verify-message', big, '--nameserver', '127.0.0.1:9'], ['sign', big, '-d', 'example.com', '-s', 'mail', '-k', path.join(dir, 'k.pem')]]) {
      expectOneLine(await runCli(cmd, { killAfterMs: 20_000 }), big, /is 600 MiB, more than the 150 MiB maildns reads as a message; no mail system takes a larger one/);
    }
    truncateSync(big, MAX_MESSAGE_BYTES + 1);
    await expect(readMessageFile(big)).rejects.toThrow(/more than the 150 MiB/);
    rmSync(big);
  });

  it('a FIFO nothing writes to, or whose writer never closes it, ends at the deadline', async () => {
    const silent = fifo('silent.fifo');
    await expect(readMessageFile(silent, { deadlineMs: 300 })).rejects.toThrow(InputError);
    await expect(readPrivateKeyFile(silent, { deadlineMs: 300 })).rejects.toThrow(/silent\.fifo: had not ended after 0\.3 s: a pipe, socket or device is read until its writer closes it/);
    const open = fifo('open.fifo');
    const writer = createWriteStream(open);
    writer.write('From: a@example.com\r\n');
    await expect(readMessageFile(open, { deadlineMs: 300 })).rejects.toThrow(/open\.fifo: had not ended after 0\.3 s/);
    writer.destroy();
  });

  it('a process whose read ended at the deadline can exit (no open of the FIFO left waiting in the thread pool)', async () => {
    const silent = fifo('exit.fifo');
    const program = `import(${JSON.stringify(pathToFileURL(path.join(DIST, 'message/message.js')).href)}).then((m) => m.readMessageFile(${JSON.stringify(silent)}, { deadlineMs: 300 })).catch((e) => { console.error(e.message); process.exit(2); });`;
    const r = await new Promise<{ code: number | null; stderr: string; ms: number }>((resolve) => {
      const started = Date.now();
      const child = spawn(process.execPath, ['--input-type=module', '-e', program]);
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const kill = setTimeout(() => child.kill('SIGKILL'), 10_000);
      child.on('close', (code) => {
        clearTimeout(kill);
        resolve({ code, stderr, ms: Date.now() - started });
      });
    });
    expect(r.stderr).toMatch(/exit\.fifo: had not ended after 0\.3 s/);
    expect(r.code).toBe(2);
    expect(r.ms).toBeLessThan(8_000);
  });
});
