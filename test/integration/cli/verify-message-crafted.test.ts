/**
 * `maildns verify-message` (built CLI) on messages with crafted DKIM-Signature fields, against
 * the embedded DNS server: a verdict for every signature, the DMARC result and the
 * Authentication-Results field always, the exit code from DMARC, and --json output that is JSON
 * alone (mailauth prints to stdout when l= does not match the body; maildns never lets it).
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { dkimSign } from 'mailauth';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { composeDkimRecord, publicKeyOf } from '../../../src/dkim/record.js';
import { startServer, type RunningServer } from '../../../src/dns/server.js';
import { signMessage } from '../../../src/message/sign.js';
import { runCli } from '../../helpers/cli.js';

const MESSAGE = 'From: Alice <alice@example.com>\r\nTo: bob@example.net\r\nSubject: hello\r\n\r\nHello Bob.\r\n';
const key = generateKeyPairSync('ed25519').privateKey;
let server: RunningServer;
let ns: string;
let dir: string;

beforeAll(async () => {
  server = await startServer({
    zones: ['example.com'],
    records: [
      { name: 'mail._domainkey.example.com', type: 'TXT', ttl: 300, value: composeDkimRecord(publicKeyOf(key)) },
      { name: '_dmarc.example.com', type: 'TXT', ttl: 300, value: 'v=DMARC1; p=reject' },
    ],
  });
  ns = `${server.host}:${server.port}`;
  dir = mkdtempSync(path.join(tmpdir(), 'maildns-vm-crafted-'));
});
afterAll(async () => {
  await server.close();
});

async function file(name: string, content: Buffer | string): Promise<string> {
  const f = path.join(dir, name);
  writeFileSync(f, content);
  return f;
}

describe('verify-message on crafted signatures', () => {
  test.each([
    ['c=/simple/simple', (t: string) => t.replace('c=relaxed/relaxed', 'c=/simple/simple'), 'dkim.unknown-canonicalization'],
    ['t=16158e5284', (t: string) => t.replace(/t=\d+/, 't=16158e5284'), 'dkim.signature-syntax'],
  ])('%s alone: permerror with its reason, dmarc=fail, the header printed, exit 1', async (name, edit, code) => {
    const signed = await signMessage(Buffer.from(MESSAGE), { domain: 'example.com', selector: 'mail', key });
    const f = await file(`${code}.eml`, edit(signed.message.toString('latin1')));
    const text = await runCli(['verify-message', f, '--nameserver', ns]);
    expect(text.stderr).toBe('');
    expect(text.code).toBe(1);
    expect(text.stdout).toMatch(/Authentication-Results: maildns;\n dkim=permerror \(dkim\.\S+\) header\.d=example\.com .*\n dmarc=fail \(p=reject dis=reject\) header\.from=example\.com/);
    const json = await runCli(['verify-message', f, '--nameserver', ns, '--json']);
    const report = JSON.parse(json.stdout) as { dkim: { result: string; reasonCode: string; reason: string }[]; dmarc: { result: string }; exitCode: number };
    expect(report.dkim).toEqual([expect.objectContaining({ result: 'permerror', reasonCode: code, reason: expect.stringContaining(name.split('=')[0]!) })]);
    expect(report.dmarc.result).toBe('fail');
  });

  test('beside a good signature, the crafted one does not stop DMARC from passing (exit 0)', async () => {
    const good = await signMessage(Buffer.from(MESSAGE), { domain: 'example.com', selector: 'mail', key });
    const both = (await signMessage(good.message, { domain: 'example.com', selector: 'mail', key })).message.toString('latin1');
    const end = both.indexOf('DKIM-Signature:', 1);
    const f = await file('two.eml', both.slice(0, end).replace('c=relaxed/relaxed', 'c=/simple/simple') + both.slice(end));
    const r = await runCli(['verify-message', f, '--nameserver', ns]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/\n dkim=permerror .*\n dkim=pass .*\n dmarc=pass /);
  });

  test('--json with an l= signature and appended text is JSON alone', async () => {
    const pem = key.export({ type: 'pkcs8', format: 'pem' }).toString();
    const signed = await dkimSign(Buffer.from(MESSAGE), {
      signatureData: [{ signingDomain: 'example.com', selector: 'mail', privateKey: pem, algorithm: 'ed25519-sha256', maxBodyLength: 5 }],
    } as never);
    const f = await file('l.eml', `${signed.signatures}${MESSAGE}more text\r\n`);
    const r = await runCli(['verify-message', f, '--nameserver', ns, '--json']);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as { dkim: { result: string; findings: { code: string }[] }[] };
    expect(report.dkim[0]!.result).toBe('pass');
    expect(report.dkim[0]!.findings.map((x) => x.code)).toContain('dkim.body-length-limit');
  });
});

describe('a message with many DKIM-Signature fields', () => {
  test('10,000 signatures, each asking for a key of its own: the first 20 are checked, the rest said to be skipped, in seconds', async () => {
    const signed = await signMessage(Buffer.from(MESSAGE), { domain: 'example.com', selector: 'mail', key });
    const junk = Array.from({ length: 10_000 }, (_, i) => `DKIM-Signature: v=1; a=ed25519-sha256; d=example.com; s=s${i}; h=From; bh=AAAA; b=AAAA\r\n`).join('');
    const f = await file('many.eml', junk + signed.message.toString('latin1'));
    const started = Date.now();
    const r = await runCli(['verify-message', f, '--nameserver', ns, '--json'], { killAfterMs: 60_000 });
    expect(Date.now() - started).toBeLessThan(15_000);
    const report = JSON.parse(r.stdout) as { dkim: { index: number }[]; findings: { code: string; message: string }[]; authenticationResults: string };
    expect(report.dkim.map((d) => d.index)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(report.findings.find((x) => x.code === 'dkim.too-many-signatures')?.message).toMatch(/10001 DKIM-Signature fields; the first 20 from the top were checked, the 9981 below them were not/);
    expect(report.authenticationResults.match(/dkim=/g)).toHaveLength(20);
    expect(r.code).toBe(1);
  });
});

describe('every verdict but pass has its fix', () => {
  type Verdict = { result: string; fix?: string };
  const verdicts = (r: { dkim: Verdict[]; spf: Verdict | null; dmarc: Verdict }): Verdict[] => [...r.dkim, ...(r.spf ? [r.spf] : []), r.dmarc];

  test.each([
    ['a changed body (dkim fail), SPF fail, DMARC fail', 'changed', ['--ip', '192.0.2.99', '--mail-from', 'bounce@example.com']],
    ['no From domain (DMARC permerror), SPF none', 'no-from-domain', ['--ip', '192.0.2.99', '--mail-from', 'bounce@example.org']],
    ['a DMARC record nowhere (DMARC none), a key nowhere (dkim permerror)', 'no-dmarc', []],
    ['DNS that refuses (temperror everywhere)', 'refused', ['--ip', '192.0.2.99', '--mail-from', 'bounce@example.com']],
  ])('%s: a fix in the JSON for each, and a fix line under each in the text', async (_what, kind, extra) => {
    const signed = (await signMessage(Buffer.from(MESSAGE), { domain: 'example.com', selector: 'mail', key })).message.toString('latin1');
    const text =
      kind === 'changed' ? signed.replace('Hello Bob.', 'Hello Eve.')
      : kind === 'no-from-domain' ? signed.replace('From: Alice <alice@example.com>', 'From: Alice')
      : kind === 'no-dmarc' ? signed.replace('s=mail', 's=nokey')
      : signed;
    const f = await file(`fix-${kind}.eml`, text);
    // A server for every name that holds nothing: no key, no DMARC record anywhere.
    const bare = kind === 'no-dmarc' ? await startServer({ zones: [''], records: [] }) : null;
    const nameserver = kind === 'refused' ? '127.0.0.1:9' : bare ? `${bare.host}:${bare.port}` : ns;
    const json = await runCli(['verify-message', f, '--nameserver', nameserver, '--timeout', '200', '--json', ...extra]);
    const report = JSON.parse(json.stdout) as { dkim: Verdict[]; spf: Verdict | null; dmarc: Verdict };
    const failing = verdicts(report).filter((v) => v.result !== 'pass');
    expect(failing.length).toBeGreaterThan(1);
    for (const v of failing) expect(v.fix, JSON.stringify(v).slice(0, 300)).toMatch(/\w/);
    const plain = await runCli(['verify-message', f, '--nameserver', nameserver, '--timeout', '200', ...extra]);
    const fixLines = plain.stdout.split('\n').filter((l) => /^ {5}fix: \S/.test(l));
    expect(fixLines).toHaveLength(failing.length);
    await bare?.close();
  });
});

test('a Return-Path that holds no address is an SPF verdict (none, with the reason), not bad input', async () => {
  const signed = (await signMessage(Buffer.from(MESSAGE), { domain: 'example.com', selector: 'mail', key })).message.toString('latin1');
  for (const [name, path] of [['rp-word.eml', '<nobody>'], ['rp-two-at.eml', '<a@b@example.com>']]) {
    const f = await file(name, `Return-Path: ${path}\r\n${signed}`);
    const r = await runCli(['verify-message', f, '--nameserver', ns, '--ip', '192.0.2.10', '--json']);
    expect(r.stderr, name).toBe('');
    expect(r.code, name).toBe(0);
    const report = JSON.parse(r.stdout) as { spf: { result: string; reason: string; fix: string }; dmarc: { result: string } };
    expect(report.spf).toMatchObject({ result: 'none', reason: `the Return-Path field holds no address (${path.slice(1, -1)}), so there is no MAIL FROM domain to check` });
    expect(report.spf.fix).toMatch(/--mail-from/);
    expect(report.dmarc.result).toBe('pass');
  }
  // Given on the command line, it is bad input as before.
  const bad = await runCli(['verify-message', await file('rp-flag.eml', signed), '--nameserver', ns, '--ip', '192.0.2.10', '--mail-from', 'nobody']);
  expect(bad.code).toBe(2);
});
