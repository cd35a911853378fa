/**
 * Header lines that are no field and no fold, against python3-dkim, through the built CLI. RFC 5322
 * §2.2.3 lets only WSP (SP, HTAB) begin a folded line; a line that starts with 0x0B, 0x0C or 0xA0
 * (an octet of UTF-8 "à") continues no field, and dkimpy's rfc822_parse raises MessageFormatError for
 * it, in dkim.sign and dkim.verify alike. mailauth's parseHeaders (which maildns's header split
 * followed) took a regexp \s for a fold. maildns sign refuses such a message (exit 2, one line,
 * the line number and the fix) rather than sign what a verifier rejects; verify-message judges it:
 * a message.header-malformed finding and a permerror for each signature. Folds with SP and HTAB
 * sign and verify as before.
 */
import { execFile } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { composeDkimRecord, publicKeyOf } from '../../../src/dkim/record.js';
import { startServer, type RunningServer } from '../../../src/dns/server.js';
import { runCli } from '../../helpers/cli.js';
import { SYSTEM_PYTHON } from '../../helpers/programs.js';

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;

let server: RunningServer;
let ns: string;
let dir: string;
let keyFile: string;

beforeAll(async () => {
  server = await startServer({
    zones: ['example.com'],
    records: [
      { name: 'rsa._domainkey.example.com', type: 'TXT', ttl: 300, value: composeDkimRecord(publicKeyOf(rsa)) },
      { name: '_dmarc.example.com', type: 'TXT', ttl: 300, value: 'v=DMARC1; p=reject' },
    ],
  });
  ns = `${server.host}:${server.port}`;
  dir = mkdtempSync(path.join(tmpdir(), 'maildns-header-lines-'));
  keyFile = path.join(dir, 'rsa.private');
  writeFileSync(keyFile, rsa.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
});
afterAll(async () => {
  await server.close();
});

/** A message whose Subject has a second line starting with `lead`; the From line is line 1, the Subject's second line is line 3. */
const message = (lead: string): Buffer =>
  Buffer.from(
    [
      'From: alice@example.com',
      'Subject: a subject',
      `${lead}on two lines`,
      'To: bob@example.net',
      'Date: Mon, 02 Mar 2026 10:00:00 +0000',
      'Message-ID: <hdr@example.com>',
      '',
      'Hello.',
      '',
    ].join('\r\n'),
    'latin1',
  );

function python(script: string, args: string[], input?: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(SYSTEM_PYTHON, ['-c', script, ...args], { encoding: 'buffer' }, (err, stdout, stderr) =>
      err ? reject(new Error(`${err.message}\n${stderr.toString()}`)) : resolve(stdout.toString('latin1')),
    );
    if (input) child.stdin!.end(input);
  });
}

const DNS_SETUP = (port: number): string[] => [
  'import dns.resolver',
  'r = dns.resolver.Resolver(configure=False)',
  "r.nameservers = ['127.0.0.1']",
  `r.port = ${port}`,
  'dns.resolver.default_resolver = r',
];

/** dkimpy's dkim.verify on the message: "True", "False", or "MessageFormatError: …" when it rejects the message. */
async function dkimpyVerify(raw: Buffer): Promise<string> {
  const script = [
    'import sys, dkim',
    ...DNS_SETUP(server.port),
    'try:',
    '    print(dkim.verify(sys.stdin.buffer.read()))',
    'except dkim.MessageFormatError as e:',
    "    print('MessageFormatError: %s' % e)",
  ].join('\n');
  return (await python(script, [], raw)).trim();
}

/** dkimpy's relaxed/relaxed signature over From, To, Subject prepended to the message, or "MessageFormatError: …". */
async function dkimpySign(raw: Buffer): Promise<Buffer | string> {
  const pem = path.join(dir, 'rsa.pem');
  writeFileSync(pem, rsa.export({ type: 'pkcs1', format: 'pem' }));
  const script = [
    'import sys, dkim',
    'try:',
    "    sig = dkim.sign(sys.stdin.buffer.read(), b'rsa', b'example.com', open(sys.argv[1], 'rb').read(), canonicalize=(b'relaxed', b'relaxed'), include_headers=[b'from', b'to', b'subject'])",
    '    sys.stdout.buffer.write(sig)',
    'except dkim.MessageFormatError as e:',
    "    print('MessageFormatError: %s' % e)",
  ].join('\n');
  const out = await python(script, [pem], raw);
  return out.startsWith('MessageFormatError') ? out.trim() : Buffer.concat([Buffer.from(out, 'latin1'), raw]);
}

interface Verdict {
  code: number | null;
  stderr: string;
  dkim: { result: string; reasonCode?: string }[];
  findings: { code: string; severity: string; rfc?: string; fix?: string; message: string }[];
}

async function maildnsVerify(raw: Buffer): Promise<Verdict> {
  const file = path.join(dir, `v-${Math.random().toString(36).slice(2)}.eml`);
  writeFileSync(file, raw);
  const out = await runCli(['verify-message', file, '--nameserver', ns, '--json']);
  const report = out.stdout ? (JSON.parse(out.stdout) as { dkim: { result: string; reasonCode?: string }[]; findings: Verdict['findings'] }) : { dkim: [], findings: [] };
  return { code: out.code, stderr: out.stderr, dkim: report.dkim.map((d) => ({ result: d.result, ...(d.reasonCode ? { reasonCode: d.reasonCode } : {}) })), findings: report.findings };
}

async function maildnsSign(raw: Buffer, name: string): Promise<{ code: number | null; stderr: string; output: string }> {
  const input = path.join(dir, `${name}.eml`);
  const output = path.join(dir, `${name}.signed.eml`);
  writeFileSync(input, raw);
  const s = await runCli(['sign', input, '-d', 'example.com', '-s', 'rsa', '-k', keyFile, '--headers', 'From:To:Subject', '-o', output]);
  return { code: s.code, stderr: s.stderr, output };
}

describe('a fold with SP or HTAB (RFC 5322 §2.2.3) still signs and verifies', () => {
  test.each([
    ['SP', ' '],
    ['HTAB', '\t'],
  ])('%s: maildns sign → dkimpy and verify-message pass; dkimpy sign → verify-message passes', async (what, lead) => {
    const raw = message(lead);
    const s = await maildnsSign(raw, `fold-${what}`);
    expect(s.stderr).toMatch(/^signed with d=example\.com s=rsa a=rsa-sha256; wrote /);
    expect(s.code).toBe(0);
    const signed = readFileSync(s.output);
    expect(signed.subarray(signed.length - raw.length).equals(raw)).toBe(true);
    expect(await dkimpyVerify(signed)).toBe('True');
    expect(await maildnsVerify(signed)).toMatchObject({ code: 0, stderr: '', dkim: [{ result: 'pass' }], findings: [] });

    const theirs = await dkimpySign(raw);
    expect(Buffer.isBuffer(theirs)).toBe(true);
    expect(await dkimpyVerify(theirs as Buffer)).toBe('True');
    expect(await maildnsVerify(theirs as Buffer)).toMatchObject({ code: 0, stderr: '', dkim: [{ result: 'pass' }], findings: [] });
    // The fold is signed: the folded line changed, both fail it.
    const changed = Buffer.from((theirs as Buffer).toString('latin1').replace(`${lead}on two lines`, `${lead}on two linez`), 'latin1');
    expect(await dkimpyVerify(changed)).toBe('False');
    expect((await maildnsVerify(changed)).dkim).toEqual([{ result: 'fail', reasonCode: 'dkim.signature-mismatch' }]);
  });
});

describe('a header line starting with 0x0B, 0x0C or 0xA0 is no fold: malformed', () => {
  const CASES = [
    ['0x0B', '\x0b'],
    ['0x0C', '\x0c'],
    ['0xA0', '\xa0'],
  ] as const;

  test.each(CASES)('%s: dkimpy will not sign it; maildns sign refuses it (exit 2, the line and the fix), writing nothing', async (shown, lead) => {
    const raw = message(lead);
    expect(await dkimpySign(raw)).toMatch(/^MessageFormatError: Unexpected characters in RFC822 header/);
    const s = await maildnsSign(raw, `bad-${shown}`);
    expect(s.code).toBe(2);
    expect(s.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(s.stderr).toContain(`header line 3 begins with ${shown} and is no field ("name: value") and no folded line, which only a space or tab may begin (RFC 5322 §2.2.3), so the message cannot be signed: begin the line with a space or tab if it continues the field above, or remove it`);
    expect(s.stderr).not.toMatch(/\n\s+at /);
    expect(existsSync(s.output)).toBe(false);
  });

  test.each(CASES)('%s: a signed message whose fold became it: dkimpy rejects it, verify-message gives a verdict (permerror, finding)', async (shown, lead) => {
    // A valid dkimpy signature over an SP fold, the SP then turned into the octet on the way.
    const signed = (await dkimpySign(message(' '))) as Buffer;
    expect(await dkimpyVerify(signed)).toBe('True');
    const damaged = Buffer.from(signed.toString('latin1').replace('\r\n on two lines', `\r\n${lead}on two lines`), 'latin1');
    expect(damaged.equals(signed)).toBe(false);
    expect(await dkimpyVerify(damaged)).toMatch(/^MessageFormatError: Unexpected characters in RFC822 header/);
    const v = await maildnsVerify(damaged);
    expect(v.stderr).toBe('');
    expect(v.code).toBe(1);
    expect(v.dkim).toEqual([{ result: 'permerror', reasonCode: 'dkim.header-malformed' }]);
    const line = damaged.toString('latin1').split('\r\n').findIndex((l) => l.startsWith(lead)) + 1;
    expect(v.findings.find((f) => f.code === 'message.header-malformed')).toMatchObject({
      severity: 'error',
      rfc: 'RFC 5322 §2.2.3',
      message: expect.stringContaining(`header line ${line} begins with ${shown}`),
      fix: expect.stringMatching(/^begin the line with a space or tab if it continues the field above, or remove it/),
    });
    // The text report says it too, without a stack trace.
    const file = path.join(dir, `text-${shown}.eml`);
    writeFileSync(file, damaged);
    const text = await runCli(['verify-message', file, '--nameserver', ns]);
    expect(text.stderr).toBe('');
    expect(text.stdout).toContain('message.header-malformed');
    expect(text.stdout).toContain('dkim=permerror (dkim.header-malformed)');
  });
});
