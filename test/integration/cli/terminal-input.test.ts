/**
 * Input typed at a terminal: a pseudo-terminal made by util-linux's `script` (Debian's bsdutils,
 * which every Debian system has) is the command's standard input, and what a person types is
 * written to it after a pause. A pipe's writer that has not finished in the input deadline is
 * taken for one that never will; a person at a terminal is given far longer, and told how to end.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI } from '../../helpers/cli.js';

const SCRIPT = '/usr/bin/script';
const FSUTIL = path.resolve(path.dirname(CLI), '../src/fsutil.js');

interface Typed {
  output: string;
  code: number | null;
}

/** Run `argv` with a pseudo-terminal as its standard input (and output), typing `keys` after `pauseMs`. */
function atTerminal(argv: string[], keys: string, pauseMs: number): Promise<Typed> {
  const command = argv.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const child = spawn(SCRIPT, ['-qec', command, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const typing = setTimeout(() => {
    child.stdin.write(keys);
    // Ctrl-D at the start of a line ends the input at a terminal.
    setTimeout(() => child.stdin.write('\x04'), 200);
  }, pauseMs);
  const killer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  return new Promise((resolve) =>
    child.on('exit', (code) => {
      clearTimeout(typing);
      clearTimeout(killer);
      resolve({ output: output.replace(/\r\n/g, '\n'), code });
    }),
  );
}

describe.skipIf(!existsSync(SCRIPT))('input typed at a terminal', () => {
  let dir: string;
  // Reads standard input through the CLI's bounded reader, with the deadline in ms its argument gives (none: the default), and prints what it got.
  let reader: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'maildns-tty-'));
    reader = path.join(dir, 'read.mjs');
    writeFileSync(
      reader,
      `import { readStandardInput } from ${JSON.stringify(FSUTIL)};\n` +
        `try {\n` +
        `  const got = await readStandardInput({ maxBytes: 1024, what: 'a test', fix: 'none', ...(process.argv[2] ? { deadlineMs: Number(process.argv[2]) } : {}), atTerminal: (where) => console.log('at terminal: ' + where) });\n` +
        `  console.log('read: ' + JSON.stringify(got.toString()));\n` +
        `} catch (err) { console.log('failed: ' + err.message); }\n`,
    );
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('a terminal is read by its own deadline, and the caller is told it is one; a pipe is given up at the deadline the caller gives', async () => {
    const typed = await atTerminal([process.execPath, reader], 'hello\n', 1000);
    expect(typed.output).toContain('at terminal: <stdin>');
    expect(typed.output).toContain('read: "hello\\n"');
    // The same late writer through a pipe: given up at its deadline, with the fix.
    const piped = await new Promise<string>((resolve) => {
      const child = spawn(process.execPath, [reader, '300'], { stdio: ['pipe', 'pipe', 'inherit'] });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      const late = setTimeout(() => child.stdin.end('hello\n'), 1000);
      child.on('exit', () => {
        clearTimeout(late);
        resolve(out);
      });
    });
    expect(piped).toMatch(/^failed: <stdin>: had not ended after 0\.3 s: a pipe, socket or device is read until its writer closes it; close it \(Ctrl-D ends what is typed at a terminal\), or give a file\n$/);
    expect(piped).not.toContain('at terminal');
  });

  it('a terminal is given up at the caller\'s deadline when it is shorter than the terminal\'s own', async () => {
    const typed = await atTerminal([process.execPath, reader, '300'], 'hello\n', 1000);
    expect(typed.output).toContain('at terminal: <stdin>');
    expect(typed.output).toContain('failed: <stdin>: had not ended after 0.3 s: a pipe, socket or device is read until its writer closes it; close it (Ctrl-D ends what is typed at a terminal), or give a file\n');
    expect(typed.output).not.toContain('read: ');
  });

  it('postfix lint --stdin at a terminal says what to type and how to end it, then lints what was typed', async () => {
    const typed = await atTerminal([process.execPath, CLI, 'postfix', 'lint', '--stdin', '--domain', 'example.com', '--json'], 'relayhost = smtp.example.net:587\n', 500);
    expect(typed.output).toContain('reading Postfix settings (`postconf -n` lines) from the terminal (<stdin>): type or paste it, then press Ctrl-D on a line of its own\n');
    const json = JSON.parse(typed.output.slice(typed.output.indexOf('{'))) as { findings: { code: string }[] };
    // What was typed was read: the relayhost without brackets is found.
    expect(json.findings.map((f) => f.code)).toContain('postfix.relayhost-no-brackets');
    expect(typed.code).toBe(1);
  });

  it('verify-message /dev/stdin at a terminal says so, and judges the message pasted there', async () => {
    const message = 'From: a@example.com\nTo: b@example.org\nSubject: pasted\n\nhello\n';
    const typed = await atTerminal([process.execPath, CLI, 'verify-message', '/dev/stdin', '--json', '--nameserver', '127.0.0.1:9'], message, 500);
    // /dev/stdin is a link to the terminal's device, which the name shows.
    expect(typed.output).toMatch(/reading the message from the terminal \(\/dev\/stdin -> \/dev\/pts\/\d+\): type or paste it, then press Ctrl-D on a line of its own\n/);
    const json = JSON.parse(typed.output.slice(typed.output.indexOf('{'))) as { from?: unknown; dkim: unknown[] };
    expect(json.dkim).toEqual([]);
  });

  it('check --domains-file - at a terminal says what to type and how to end it, then checks the names typed', async () => {
    const typed = await atTerminal([process.execPath, CLI, 'check', '--domains-file', '-', '--json', '--nameserver', '127.0.0.1:9', '--timeout', '200'], 'example.com\nexample.org\n', 500);
    expect(typed.output).toContain('reading the domains to check, one a line, from the terminal (<stdin>): type or paste it, then press Ctrl-D on a line of its own\n');
    const json = JSON.parse(typed.output.slice(typed.output.indexOf('{'))) as { domains: { domain: string }[] };
    expect(json.domains.map((d) => d.domain)).toEqual(['example.com', 'example.org']);
  });
});
