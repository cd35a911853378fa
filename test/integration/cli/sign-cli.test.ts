/** `maildns sign` and `maildns verify-message` as a user runs them (built CLI, local DNS server). */
import { generateKeyPairSync } from 'node:crypto';
import { linkSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { composeDkimRecord, publicKeyOf } from '../../../src/dkim/record.js';
import { startServer, type RunningServer } from '../../../src/dns/server.js';
import { runCli } from '../../helpers/cli.js';

const MESSAGE = 'From: Alice <alice@example.com>\r\nTo: bob@example.net\r\nSubject: hello\r\nDate: Mon, 02 Mar 2026 10:00:00 +0000\r\nMessage-ID: <cli-1@example.com>\r\n\r\nHello Bob.\r\n';

const key = generateKeyPairSync('ed25519').privateKey;
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
let dir: string;
let server: RunningServer;
let refusing: RunningServer;
let ns: string;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'maildns-signcli-'));
  writeFileSync(path.join(dir, 'mail.private'), key.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  writeFileSync(
    path.join(dir, 'maildns.yaml'),
    'version: 1\ndomains:\n  - domain: example.com\n    dkim:\n      - selector: old\n        algorithm: rsa-2048\n        state: retiring\n      - selector: mail\n        algorithm: ed25519\n        key: mail.private\n        state: active\n',
  );
  writeFileSync(path.join(dir, 'rsa.private'), rsa.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  // Both an RSA and an Ed25519 key active, as RFC 8463 suggests.
  writeFileSync(
    path.join(dir, 'dual.yaml'),
    'version: 1\ndomains:\n  - domain: example.com\n    dkim:\n      - { selector: rsa, algorithm: rsa-2048, key: rsa.private }\n      - { selector: mail, algorithm: ed25519, key: mail.private }\n',
  );
  writeFileSync(path.join(dir, 'test.eml'), MESSAGE);
  server = await startServer({
    zones: ['example.com'],
    records: [
      { name: 'mail._domainkey.example.com', type: 'TXT', ttl: 300, value: composeDkimRecord(publicKeyOf(key)) },
      { name: 'rsa._domainkey.example.com', type: 'TXT', ttl: 300, value: composeDkimRecord(publicKeyOf(rsa)) },
      { name: '_dmarc.example.com', type: 'TXT', ttl: 300, value: 'v=DMARC1; p=reject' },
    ],
  });
  refusing = await startServer({ zones: ['example.org'], records: [] });
  ns = `127.0.0.1:${server.port}`;
});
afterAll(async () => {
  await server.close();
  await refusing.close();
});

describe('maildns sign / verify-message', () => {
  test('sign --plan signs with every active selector: RSA and Ed25519 together, both verify', async () => {
    const signed = path.join(dir, 'dual.eml');
    const s = await runCli(['sign', 'test.eml', '--plan', 'dual.yaml', '-o', signed, '--json'], { cwd: dir });
    expect(s.code).toBe(0);
    const out = JSON.parse(s.stdout) as { signatures: { selector: string; algorithm: string }[] };
    expect(out.signatures.map((x) => [x.selector, x.algorithm])).toEqual([['rsa', 'rsa-sha256'], ['mail', 'ed25519-sha256']]);
    const v = await runCli(['verify-message', signed, '--nameserver', ns, '--json']);
    expect(v.code).toBe(0);
    const report = JSON.parse(v.stdout) as { dkim: { result: string; selector: string }[] };
    expect(report.dkim.map((d) => [d.selector, d.result]).sort()).toEqual([['mail', 'pass'], ['rsa', 'pass']]);
    // --algorithm keeps only the active keys of that kind.
    const only = await runCli(['sign', 'test.eml', '--plan', 'dual.yaml', '--algorithm', 'ed25519-sha256', '--json'], { cwd: dir });
    expect((JSON.parse(only.stdout) as { signatures: unknown[] }).signatures).toHaveLength(1);
  });

  test('sign --plan uses the active selector; the result passes verify-message (exit 0)', async () => {
    const signed = path.join(dir, 'signed.eml');
    const s = await runCli(['sign', 'test.eml', '--plan', 'maildns.yaml', '-o', signed], { cwd: dir });
    expect(s.code).toBe(0);
    expect(s.stdout).toBe('');
    const text = readFileSync(signed, 'latin1');
    expect(text).toMatch(/^DKIM-Signature: v=1; a=ed25519-sha256; c=relaxed\/relaxed; d=example.com;/);
    expect(text.endsWith(MESSAGE)).toBe(true);
    expect(text).not.toContain('PRIVATE KEY');

    const [v, t] = await Promise.all([runCli(['verify-message', signed, '--nameserver', ns, '--json']), runCli(['verify-message', signed, '--nameserver', ns])]);
    expect(v.code).toBe(0);
    const report = JSON.parse(v.stdout) as { dkim: { result: string; selector: string; key: { bits: number } }[]; dmarc: { result: string; policy: string } };
    expect(report.dkim.map((d) => [d.result, d.selector, d.key.bits])).toEqual([['pass', 'mail', 256]]);
    expect(report.dmarc).toMatchObject({ result: 'pass', policy: 'reject' });

    expect(t.code).toBe(0);
    expect(t.stdout).toMatch(/#1 PASS {2}d=example.com s=mail a=ed25519-sha256/);
    expect(t.stdout).toMatch(/Authentication-Results: maildns;\n dkim=pass/);
  });

  test('a changed copy fails DKIM and DMARC: exit 1, with bh expected vs computed', async () => {
    const s = await runCli(['sign', 'test.eml', '-d', 'example.com', '-s', 'mail', '-k', 'mail.private'], { cwd: dir });
    expect(s.code).toBe(0);
    writeFileSync(path.join(dir, 'changed.eml'), s.stdout.replace('Hello Bob.', 'Hello Eve.'));
    const v = await runCli(['verify-message', 'changed.eml', '--nameserver', ns], { cwd: dir });
    expect(v.code).toBe(1);
    expect(v.stdout).toMatch(/#1 FAIL/);
    expect(v.stdout).toMatch(/expected bh=\S+\n\s+computed bh=\S+/);
    expect(v.stdout).toMatch(/dmarc=fail \(p=reject dis=reject\) header\.from=example\.com/);
  });

  test('bad input is one line and exit 2', async () => {
    const bad = [
      ['sign', 'missing.eml', '--plan', 'maildns.yaml'],
      ['sign', 'test.eml'],
      ['sign', 'test.eml', '-d', 'example.com', '-s', 'mail', '-k', 'maildns.yaml'],
      ['sign', 'test.eml', '-d', 'example.com', '-s', 'mail', '-k', 'mail.private', '--headers', 'To:Subject'],
      ['verify-message', 'maildns.yaml'],
      ['verify-message', 'test.eml', '--ip', 'not-an-ip', '--nameserver', ns],
    ];
    // Independent runs, started together: each costs a node start-up.
    const results = await Promise.all(bad.map((args) => runCli(args, { cwd: dir })));
    results.forEach((r, i) => {
      const args = bad[i]!.join(' ');
      expect(r.code, args).toBe(2);
      expect(r.stderr.trim().split('\n'), args).toHaveLength(1);
      expect(r.stderr).not.toContain('PRIVATE');
    });
  });

  test('-o cannot name a file the signing reads from: the key (by any name) or the plan is kept, exit 2', async () => {
    const keyText = readFileSync(path.join(dir, 'mail.private'), 'latin1');
    const planText = readFileSync(path.join(dir, 'maildns.yaml'), 'latin1');
    symlinkSync('mail.private', path.join(dir, 'key-link'));
    linkSync(path.join(dir, 'mail.private'), path.join(dir, 'key-hardlink'));
    const explicit = ['sign', 'test.eml', '-d', 'example.com', '-s', 'mail', '-k', 'mail.private', '-o'];
    const runs = [
      [[...explicit, 'mail.private'], 'mail.private'],
      [[...explicit, './mail.private'], 'mail.private'], // the path as yargs normalizes it
      [[...explicit, 'key-link'], 'key-link'],
      [[...explicit, 'key-hardlink'], 'key-hardlink'],
      [['sign', 'test.eml', '--plan', 'maildns.yaml', '-o', 'mail.private'], 'mail.private'],
      [['sign', 'test.eml', '--plan', 'maildns.yaml', '-o', 'maildns.yaml'], 'maildns.yaml'],
    ] as const;
    for (const [args, named] of runs) {
      const r = await runCli([...args], { cwd: dir });
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1);
      expect(r.stderr, args.join(' ')).toContain(`-o ${named}`);
      expect(r.stderr).not.toContain('PRIVATE');
      expect(readFileSync(path.join(dir, 'mail.private'), 'latin1')).toBe(keyText);
      expect(readFileSync(path.join(dir, 'maildns.yaml'), 'latin1')).toBe(planText);
    }
  });

  test('a message without a body (no empty line, or not even a final line end) is signed, and verifies', async () => {
    for (const [name, text] of [['no-body.eml', 'From: Alice <alice@example.com>\r\nSubject: headers only\r\n'], ['no-line-end.eml', 'From: Alice <alice@example.com>']]) {
      writeFileSync(path.join(dir, name), text);
      const s = await runCli(['sign', name, '-d', 'example.com', '-s', 'mail', '-k', 'mail.private'], { cwd: dir });
      expect(s.stderr, name).toBe('');
      expect(s.code, name).toBe(0);
      expect(s.stdout.endsWith(text)).toBe(true);
      writeFileSync(path.join(dir, `signed-${name}`), s.stdout);
      const v = await runCli(['verify-message', `signed-${name}`, '--nameserver', ns, '--json'], { cwd: dir });
      expect((JSON.parse(v.stdout) as { dkim: { result: string }[] }).dkim.map((d) => d.result), name).toEqual(['pass']);
      expect(v.code, name).toBe(0);
    }
  });

  test('--json gives the signed message as its text when it is UTF-8, else as base64: either way the bytes that verify', async () => {
    const utf8 = Buffer.from('From: J\u00fcrgen <alice@example.com>\r\nSubject: Gr\u00fc\u00dfe\r\n\r\nK\u00e4se\r\n', 'utf8');
    const latin1 = Buffer.from('From: J\u00fcrgen <alice@example.com>\r\nSubject: Gr\u00fc\u00dfe\r\n\r\nK\u00e4se\r\n', 'latin1');
    for (const [name, raw] of [['utf8.eml', utf8], ['latin1.eml', latin1]] as const) {
      writeFileSync(path.join(dir, name), raw);
      const s = await runCli(['sign', name, '-d', 'example.com', '-s', 'mail', '-k', 'mail.private', '--json'], { cwd: dir });
      expect(s.code, name).toBe(0);
      const out = JSON.parse(s.stdout) as { message?: string; messageBase64?: string };
      const bytes = name === 'utf8.eml' ? Buffer.from(out.message!, 'utf8') : Buffer.from(out.messageBase64!, 'base64');
      expect(name === 'utf8.eml' ? out.messageBase64 : out.message, name).toBeUndefined();
      expect(bytes.subarray(bytes.length - raw.length).equals(raw), name).toBe(true);
      writeFileSync(path.join(dir, `json-${name}`), bytes);
      const v = await runCli(['verify-message', `json-${name}`, '--nameserver', ns, '--json'], { cwd: dir });
      expect((JSON.parse(v.stdout) as { dkim: { result: string }[] }).dkim.map((d) => d.result), name).toEqual(['pass']);
    }
  });

  test('an encrypted private key is told as such, with the fix, and nothing of it printed', async () => {
    writeFileSync(path.join(dir, 'pkcs8.enc'), rsa.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'secret' }), { mode: 0o600 });
    writeFileSync(path.join(dir, 'pkcs1.enc'), rsa.export({ type: 'pkcs1', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'secret' }), { mode: 0o600 });
    for (const name of ['pkcs8.enc', 'pkcs1.enc']) {
      const r = await runCli(['sign', 'test.eml', '-d', 'example.com', '-s', 'rsa', '-k', name], { cwd: dir });
      expect(r.code, name).toBe(2);
      expect(r.stderr.trim(), name).toBe(`maildns: ${name}: the private key is encrypted (a passphrase protects it), and sign takes no passphrase: write it without one, e.g. openssl pkey -in ${name} -out plain.private, and keep that file mode 0600`);
    }
  });

  test('a message without From: one line naming the file and the fix', async () => {
    writeFileSync(path.join(dir, 'no-from.eml'), 'To: bob@example.net\r\nSubject: x\r\n\r\nhi\r\n');
    const r = await runCli(['sign', 'no-from.eml', '-d', 'example.com', '-s', 'mail', '-k', 'mail.private'], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('maildns: no-from.eml: the message has no From header field, which DKIM must sign (RFC 6376 §5.4): add one (From: Name <address>) and sign again\n');
  });

  test('--help of both commands: what they read, the exit codes, and what happens to the key', async () => {
    const sign = (await runCli(['sign', '--help'])).stdout.replace(/\s+/g, ' ');
    expect(sign).toContain('a file, or a pipe read to its end');
    expect(sign).toContain('it may be the message itself, never the key or the plan');
    expect(sign).toContain('Exit codes: 0 signed; 2 bad input');
    expect(sign).toContain('The key is only read: nothing of it is printed');
    const verify = (await runCli(['verify-message', '--help'])).stdout.replace(/\s+/g, ' ');
    expect(verify).toContain('a file, or a pipe read to its end');
    expect(verify).toContain('Each result but pass comes with its fix');
    expect(verify).toContain('the first 20 DKIM signatures from the top are checked');
    expect(verify).not.toContain('questions of one domain');
  });

  test('DNS that cannot be asked is exit 3, not a DKIM or DMARC failure', async () => {
    const s = await runCli(['sign', 'test.eml', '--plan', 'maildns.yaml'], { cwd: dir });
    writeFileSync(path.join(dir, 'signed2.eml'), s.stdout);
    const v = await runCli(['verify-message', 'signed2.eml', '--nameserver', `127.0.0.1:${refusing.port}`, '--json'], { cwd: dir });
    expect(v.code).toBe(3);
    const report = JSON.parse(v.stdout) as { dkim: { result: string }[]; dmarc: { result: string } };
    expect(report.dkim[0]!.result).toBe('temperror');
    expect(report.dmarc.result).toBe('temperror');
  });
});
