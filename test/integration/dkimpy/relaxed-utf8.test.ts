/**
 * Relaxed canonicalization (RFC 6376 §3.4.2, §3.4.4) of raw 8-bit header fields and bodies, against
 * python3-dkim: white space is SP and HTAB only. mailauth's relaxed header rule took a regexp's
 * \s, which in its latin1 string is also 0x0B, 0x0C and 0xA0, an octet of "à" (C3 A0) and of many
 * CJK characters ("ム" E3 83 A0, "堀" E5 A0 80): maildns verify-message failed dkimpy's
 * signatures over such fields (dkim.signature-mismatch), and dkimpy failed maildns sign's.
 * "件名：テスト送信" holds no such octet, nor does "Å" (C3 85: 0x85 is no \s); they are here as
 * the cases that worked before.
 */
import { execFile } from 'node:child_process';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { composeDkimRecord, publicKeyOf } from '../../../src/dkim/record.js';
import { startServer, type RunningServer } from '../../../src/dns/server.js';
import { signMessage } from '../../../src/message/sign.js';
import { runCli } from '../../helpers/cli.js';
import { dkimpyVerify as dkimpyVerifyOn } from '../../helpers/opendkim.js';
import { SYSTEM_PYTHON } from '../../helpers/programs.js';

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
const ed = generateKeyPairSync('ed25519').privateKey;

let server: RunningServer;
let ns: string;
let dir: string;

beforeAll(async () => {
  server = await startServer({
    zones: ['example.com'],
    records: [
      { name: 'rsa._domainkey.example.com', type: 'TXT', ttl: 300, value: composeDkimRecord(publicKeyOf(rsa)) },
      { name: 'ed._domainkey.example.com', type: 'TXT', ttl: 300, value: composeDkimRecord(publicKeyOf(ed)) },
      { name: '_dmarc.example.com', type: 'TXT', ttl: 300, value: 'v=DMARC1; p=reject' },
    ],
  });
  ns = `${server.host}:${server.port}`;
  dir = mkdtempSync(path.join(tmpdir(), 'maildns-relaxed-utf8-'));
});
afterAll(async () => {
  await server.close();
});

const message = (headers: string[], body: string): Buffer =>
  Buffer.from([...headers, 'Date: Mon, 02 Mar 2026 10:00:00 +0000', 'Message-ID: <utf8@example.com>', 'MIME-Version: 1.0', 'Content-Type: text/plain; charset=utf-8', 'Content-Transfer-Encoding: 8bit', '', body].join('\r\n'), 'utf8');

/** Messages whose signed fields and bodies hold raw UTF-8, 0x0B or 0x0C; all but the last hold an octet \s takes. */
const MESSAGES: { name: string; raw: Buffer }[] = [
  {
    name: '"à" in Subject and From, one at the end of the Subject, one folded, one beside spaces',
    raw: message(['From: Andr\u00e0 <alice@example.com>', 'To: bob@example.net', 'Subject: \u00e0 la carte,  voil\u00e0 \u00e0\r\n \u00e0\u00e0'], 'Voil\u00e0  \u00e0 la carte.\u00a0Fin.\r\n'),
  },
  {
    name: 'Japanese Subject with "ム" and "堀" (0xA0 octets), beside "件名：テスト送信"',
    raw: message(['From: \u5800 <alice@example.com>', 'To: bob@example.net', 'Subject: \u4ef6\u540d\uff1a\u30c6\u30b9\u30c8\u9001\u4fe1 \u30b7\u30b9\u30c6\u30e0'], '\u30b7\u30b9\u30c6\u30e0\u306e \u30c6\u30b9\u30c8\u3067\u3059\u3002\r\n'),
  },
  {
    name: 'a literal 0x0B and 0x0C inside a signed field and the body',
    raw: message(['From: alice@example.com', 'To: bob@example.net', 'Subject: tab\x0bvertical \x0c form feed'], 'a\x0bb \x0c c\r\n'),
  },
  {
    name: '"件名：テスト送信" and "Å" (no 0xA0, 0x0B or 0x0C octet)',
    raw: message(['From: \u00c5sa <alice@example.com>', 'To: bob@example.net', 'Subject: \u4ef6\u540d\uff1a\u30c6\u30b9\u30c8\u9001\u4fe1 \u00c5\u2026'], '\u4ef6\u540d\uff1a\u30c6\u30b9\u30c8\u9001\u4fe1\r\n'),
  },
];

function python(script: string, args: string[], input?: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = execFile(SYSTEM_PYTHON, ['-c', script, ...args], { encoding: 'buffer' }, (err, stdout, stderr) =>
      err ? reject(new Error(`${err.message}\n${stderr.toString()}`)) : resolve(stdout),
    );
    if (input) child.stdin!.end(input);
  });
}

/** python3-dkim's signature (relaxed/relaxed) over From, To, Subject, prepended to the message. */
async function dkimpySign(raw: Buffer, key: KeyObject, selector: string): Promise<Buffer> {
  const keyFile = path.join(dir, `${selector}.pem`);
  writeFileSync(keyFile, key.asymmetricKeyType === 'rsa' ? key.export({ type: 'pkcs1', format: 'pem' }) : key.export({ format: 'jwk' }).d!.replace(/-/g, '+').replace(/_/g, '/') + '=');
  const script = [
    'import sys, dkim',
    "sig = dkim.sign(sys.stdin.buffer.read(), sys.argv[2].encode(), b'example.com', open(sys.argv[1], 'rb').read().strip(), canonicalize=(b'relaxed', b'relaxed'),",
    "                include_headers=[b'from', b'to', b'subject'], signature_algorithm=sys.argv[3].encode())",
    'sys.stdout.buffer.write(sig)',
  ].join('\n');
  const sig = await python(script, [keyFile, selector, key.asymmetricKeyType === 'rsa' ? 'rsa-sha256' : 'ed25519-sha256'], raw);
  return Buffer.concat([sig, raw]);
}

/** python3-dkim's verdict on the first signature, DNS from the local server (test/helpers/opendkim.ts). */
const dkimpyVerify = async (raw: Buffer): Promise<boolean> => (await dkimpyVerifyOn(raw, server.port)).ok;

/** maildns verify-message (the built CLI) --json: each signature's result and reason code. */
async function maildnsVerify(raw: Buffer): Promise<{ result: string; reasonCode?: string }[]> {
  const file = path.join(dir, `m-${Math.random().toString(36).slice(2)}.eml`);
  writeFileSync(file, raw);
  const out = await runCli(['verify-message', file, '--nameserver', ns, '--json']);
  expect(out.stderr).toBe('');
  return (JSON.parse(out.stdout) as { dkim: { result: string; reasonCode?: string }[] }).dkim.map((d) => ({ result: d.result, ...(d.reasonCode ? { reasonCode: d.reasonCode } : {}) }));
}

describe('python3-dkim dkim.sign (relaxed/relaxed) → maildns verify-message', () => {
  test.each(MESSAGES)('$name: pass', async ({ raw }) => {
    for (const [key, selector] of [
      [rsa, 'rsa'],
      [ed, 'ed'],
    ] as const) {
      const signed = await dkimpySign(raw, key, selector);
      expect(await dkimpyVerify(signed)).toBe(true);
      expect(await maildnsVerify(signed)).toEqual([{ result: 'pass' }]);
      // Still a signature over the Subject: changed, it fails.
      const changed = Buffer.from(signed.toString('latin1').replace('\r\nSubject: ', '\r\nSubject: x'), 'latin1');
      expect(changed.equals(signed)).toBe(false);
      expect(await maildnsVerify(changed)).toEqual([{ result: 'fail', reasonCode: 'dkim.signature-mismatch' }]);
    }
  });
});

describe('maildns sign (relaxed/relaxed) → python3-dkim dkim.verify', () => {
  test.each(MESSAGES)('$name: both layouts, RSA and Ed25519', async ({ raw }) => {
    for (const [key, selector] of [
      [rsa, 'rsa'],
      [ed, 'ed'],
    ] as const) {
      for (const layout of ['mailauth', 'sorted'] as const) {
        const { message: signed } = await signMessage(raw, { domain: 'example.com', selector, key, layout, headers: ['From', 'To', 'Subject'] });
        expect({ layout, selector, dkimpy: await dkimpyVerify(signed) }).toEqual({ layout, selector, dkimpy: true });
        expect(await maildnsVerify(signed)).toEqual([{ result: 'pass' }]);
      }
    }
  });

  test('the CLI: maildns sign -o, then dkimpy and maildns verify-message pass every message', async () => {
    const keyFile = path.join(dir, 'cli.private');
    writeFileSync(keyFile, rsa.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    for (const [i, { raw }] of MESSAGES.entries()) {
      const input = path.join(dir, `cli-${i}.eml`);
      const output = path.join(dir, `cli-${i}.signed.eml`);
      writeFileSync(input, raw);
      const s = await runCli(['sign', input, '-d', 'example.com', '-s', 'rsa', '-k', keyFile, '-o', output]);
      expect(s.code).toBe(0);
      expect(s.stderr).toMatch(/^signed with d=example\.com s=rsa a=rsa-sha256; wrote /);
      const signed = readFileSync(output);
      expect(signed.subarray(signed.length - raw.length).equals(raw)).toBe(true);
      expect(await dkimpyVerify(signed)).toBe(true);
      expect(await maildnsVerify(signed)).toEqual([{ result: 'pass' }]);
    }
  });
});
