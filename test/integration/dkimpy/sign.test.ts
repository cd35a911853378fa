/**
 * Signing (mailauth under maildns) against independent verifiers: the go-msgauth deterministic
 * vectors byte for byte, python3-dkim's verifier through a local DNS server, and maildns's own
 * verifier on the faults mailauth 4.13.3 has (rsa-sha1, body-hash mismatch, strict alignment,
 * several TXT records at a selector).
 */
import { execFile } from 'node:child_process';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { dkimSign, dkimVerify } from 'mailauth';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { composeDkimRecord, publicKeyOf } from '../../../src/dkim/record.js';
import { DnsResolver } from '../../../src/dns/resolver.js';
import { startServer, type RunningServer } from '../../../src/dns/server.js';
import type { DnsRecord } from '../../../src/records.js';
import { verifyDkim } from '../../../src/message/dkim.js';
import { parseMessage } from '../../../src/message/message.js';
import { loadPrivateKey, signMessage, type SignOptions } from '../../../src/message/sign.js';
import { verifyMessage } from '../../../src/message/verify.js';
import { dkimpyVerify as dkimpyVerifyOn } from '../../helpers/opendkim.js';
import { SYSTEM_PYTHON } from '../../helpers/programs.js';
import { mailauthResolver } from '../../helpers/mailauth-resolver.js';

const FIX = path.join(import.meta.dirname, '..', '..', 'fixtures', 'dkim');

const TEST_MESSAGE = [
  'From: Alice Example <alice@example.com>',
  'To: bob@example.net',
  'Subject: maildns test message',
  'Date: Mon, 02 Mar 2026 10:00:00 +0000',
  'Message-ID: <test-1@example.com>',
  'MIME-Version: 1.0',
  'Content-Type: text/plain; charset=us-ascii',
  '',
  'Hello Bob,',
  '',
  'this message checks DKIM, SPF and DMARC.  Two spaces here.',
  '',
].join('\r\n');

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
const ed = generateKeyPairSync('ed25519').privateKey;
const rsaShort = generateKeyPairSync('rsa', { modulusLength: 768 }).privateKey;

const txt = (name: string, value: string): DnsRecord => ({ name, type: 'TXT', ttl: 300, value });
const keyRecord = (k: KeyObject, extra: Parameters<typeof composeDkimRecord>[1] = {}): string => composeDkimRecord(publicKeyOf(k), extra);

const records: DnsRecord[] = [
  txt('rsa._domainkey.example.com', keyRecord(rsa)),
  txt('ed._domainkey.example.com', keyRecord(ed)),
  txt('short._domainkey.example.com', keyRecord(rsaShort)),
  txt('revoked._domainkey.example.com', 'v=DKIM1; k=rsa; p='),
  txt('sha1only._domainkey.example.com', keyRecord(rsa, { hash: ['sha1'] })),
  txt('testing._domainkey.example.com', keyRecord(rsa, { testing: true })),
  // Two TXT records at one selector: a stale key first, the right one second.
  txt('twice._domainkey.example.com', keyRecord(ed)),
  txt('twice._domainkey.example.com', keyRecord(rsa)),
  txt('example.com', 'v=spf1 ip4:192.0.2.10 -all'),
  txt('_dmarc.example.com', 'v=DMARC1; p=reject; adkim=s; aspf=s'),
  txt('rsa._domainkey.mail.example.com', keyRecord(rsa)),
  txt('mail.example.com', 'v=spf1 ip4:192.0.2.10 -all'),
  // example.net: relaxed alignment (the default).
  txt('_dmarc.example.net', 'v=DMARC1; p=quarantine'),
  txt('rsa._domainkey.mail.example.net', keyRecord(rsa)),
  // d=bücher.example s=sél, at their A-labels (RFC 8616 §3).
  txt('xn--sl-bja._domainkey.xn--bcher-kva.example', keyRecord(rsa)),
  txt('_dmarc.xn--bcher-kva.example', 'v=DMARC1; p=reject'),
  // go-msgauth vectors' keys, for the mailauth-layout signature of the same message.
  ...readFileSync(path.join(FIX, 'dns-records.tsv'), 'utf8')
    .split('\n')
    .filter((l) => l.trim() && !l.startsWith('#'))
    .map((l) => l.split('\t'))
    .map(([n, v]) => txt(n!, v!)),
];

let server: RunningServer;
let resolver: DnsResolver;
let dir: string;

beforeAll(async () => {
  server = await startServer({ records, zones: [''] });
  resolver = new DnsResolver({ servers: [{ host: server.host, port: server.port }], recursionDesired: false });
  dir = mkdtempSync(path.join(tmpdir(), 'maildns-sign-'));
});
afterAll(async () => {
  await server.close();
});

const sign = (raw: string | Buffer, opts: Partial<SignOptions> & Pick<SignOptions, 'key'>) =>
  signMessage(Buffer.from(raw), { domain: 'example.com', selector: 'rsa', ...opts });

const verify = async (raw: Buffer | string) => verifyDkim(parseMessage(Buffer.from(raw)), resolver);

/** What mailauth's own verifier says of the first signature, for the cases where maildns knows better. */
const mailauthSays = async (raw: Buffer | string): Promise<string> => {
  const out = await dkimVerify(Buffer.from(raw), { resolver: mailauthResolver(resolver) as never });
  return (out.results[0] as unknown as { status: { result: string } }).status.result;
};

/** python3-dkim's verdict on the first signature, DNS from the local server (test/helpers/opendkim.ts). */
const dkimpyVerify = async (raw: Buffer): Promise<boolean> => (await dkimpyVerifyOn(raw, server.port)).ok;

describe('deterministic signing vectors (go-msgauth)', () => {
  const unsigned = readFileSync(path.join(FIX, 'go-msgauth/unsigned.eml'));
  const headers = ['From', 'To', 'Subject', 'Date', 'Message-ID'];
  const fixed = { canonicalization: 'simple/simple', headers, signTime: new Date(424242 * 1000), layout: 'sorted' } as const;

  test('RSA: same key, t= and h= give the same message byte for byte', async () => {
    const key = loadPrivateKey(readFileSync(path.join(FIX, 'rfc6376/brisbane.rsa.private.pem')));
    const out = await sign(unsigned, { ...fixed, key, domain: 'example.org', selector: 'brisbane' });
    expect(out.message.toString('latin1')).toBe(readFileSync(path.join(FIX, 'go-msgauth/signed-example.org.eml'), 'latin1'));
  });

  test('Ed25519 (RFC 8032 test key as a bare seed): byte for byte', async () => {
    const key = loadPrivateKey(readFileSync(path.join(FIX, 'rfc8463/brisbane.ed25519.seed')));
    const out = await sign(unsigned, { ...fixed, key, domain: 'football.example.com', selector: 'brisbane' });
    expect(out.message.toString('latin1')).toBe(readFileSync(path.join(FIX, 'go-msgauth/signed-ed25519.eml'), 'latin1'));
  });

  test("mailauth's own layout signs the same content with another field text: a different b= that verifies", async () => {
    const key = loadPrivateKey(readFileSync(path.join(FIX, 'rfc6376/brisbane.rsa.private.pem')));
    const out = await sign(unsigned, { ...fixed, layout: 'mailauth', key, domain: 'example.org', selector: 'brisbane' });
    const golden = readFileSync(path.join(FIX, 'go-msgauth/signed-example.org.eml'), 'latin1');
    expect(out.header).toMatch(/^DKIM-Signature: v=1; a=rsa-sha256; c=simple\/simple; d=example.org;/);
    expect(out.header).toMatch(/q=dns\/txt/);
    expect(out.message.toString('latin1')).not.toBe(golden);
    const [r] = await verify(out.message);
    expect(r!.result).toBe('pass');
    expect(r!.bodyHash!.computed).toBe('2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=');
  });
});

describe('maildns sign → python3-dkim dkimverify', () => {
  test('RSA and Ed25519 signatures verify in dkimpy and in maildns; changed copies fail in both', async () => {
    for (const [key, selector] of [
      [rsa, 'rsa'],
      [ed, 'ed'],
    ] as const) {
      const { message } = await sign(TEST_MESSAGE, { key, selector });
      expect(await dkimpyVerify(message)).toBe(true);
      expect((await verify(message)).map((r) => r.result)).toEqual(['pass']);

      const bodyChanged = Buffer.from(message.toString('latin1').replace('Hello Bob', 'Hello Eve'), 'latin1');
      expect(await dkimpyVerify(bodyChanged)).toBe(false);
      const [b] = await verify(bodyChanged);
      expect(b!.result).toBe('fail');
      expect(b!.reasonCode).toBe('dkim.body-hash-mismatch');
      expect(b!.bodyHash!.computed).not.toBe(b!.bodyHash!.expected);
      expect(b!.reason).toContain(b!.bodyHash!.computed);

      const headerChanged = Buffer.from(message.toString('latin1').replace('Subject: maildns test', 'Subject: maildns TEST'), 'latin1');
      expect(await dkimpyVerify(headerChanged)).toBe(false);
      const [h] = await verify(headerChanged);
      expect(h!.result).toBe('fail');
      expect(h!.reasonCode).toBe('dkim.signature-mismatch');
    }
  });

  test('an LF-only message keeps LF line ends and still verifies in both', async () => {
    const { message, header } = await sign(TEST_MESSAGE.replace(/\r\n/g, '\n'), { key: rsa });
    expect(header).not.toContain('\r');
    expect(await dkimpyVerify(message)).toBe(true);
    expect((await verify(message))[0]!.result).toBe('pass');
  });
});

describe('python3-dkim dkimsign with U-labels → maildns (RFC 8616 §5)', () => {
  test('d=bücher.example s=sél in an internationalized message: the key at the A-labels, a pass, aligned with the From domain', async () => {
    const unsigned = Buffer.from('From: Alice <alice@b\u00fccher.example>\r\nTo: bob@example.net\r\nSubject: gr\u00fc\u00dfe\r\n\r\nHallo Bob.\r\n', 'utf8');
    const keyFile = path.join(dir, 'rsa.pem');
    writeFileSync(keyFile, rsa.export({ type: 'pkcs1', format: 'pem' }));
    const script = [
      'import sys, dkim',
      "sig = dkim.sign(sys.stdin.buffer.read(), 's\u00e9l'.encode(), 'b\u00fccher.example'.encode(), open(sys.argv[1], 'rb').read(), include_headers=[b'from', b'to', b'subject'])",
      'sys.stdout.buffer.write(sig)',
    ].join('\n');
    const child = execFile(SYSTEM_PYTHON, ['-c', script, keyFile], { encoding: 'buffer' });
    child.stdin!.end(unsigned);
    const signature: Buffer = await new Promise((resolve, reject) => {
      const out: Buffer[] = [];
      child.stdout!.on('data', (b: Buffer) => out.push(b));
      child.on('error', reject);
      child.on('close', (code) => (code === 0 ? resolve(Buffer.concat(out)) : reject(new Error(`dkimsign exited ${code}`))));
    });
    // dkimpy writes the names as given, in UTF-8.
    expect(signature.toString('utf8')).toContain('d=b\u00fccher.example');
    const signed = Buffer.concat([signature, unsigned]);
    expect(await dkimpyVerify(signed)).toBe(true);

    const report = await verifyMessage(parseMessage(signed), resolver);
    expect(report.dkim[0]).toMatchObject({ result: 'pass', domain: 'xn--bcher-kva.example', selector: 'xn--sl-bja' });
    expect(report.dmarc).toMatchObject({ fromDomain: 'xn--bcher-kva.example', result: 'pass' });
    const note = report.dkim[0]!.findings.find((f) => f.code === 'dkim.signature-u-labels');
    expect(note!.message).toContain('xn--sl-bja._domainkey.xn--bcher-kva.example');
  });
});

describe('what mailauth 4.13.3 gets wrong is right here', () => {
  test('rsa-sha1 is rejected (RFC 8301) although mailauth passes it', async () => {
    const signed = await dkimSign(Buffer.from(TEST_MESSAGE), {
      signatureData: [{ signingDomain: 'example.com', selector: 'rsa', privateKey: rsa.export({ type: 'pkcs8', format: 'pem' }), algorithm: 'rsa-sha1' }],
    } as unknown as Parameters<typeof dkimSign>[1]);
    const [r] = await verify(signed.signatures + TEST_MESSAGE);
    expect(r!.algorithm).toBe('rsa-sha1');
    expect(await mailauthSays(signed.signatures + TEST_MESSAGE)).toBe('pass');
    expect(r!.result).toBe('fail');
    expect(r!.reasonCode).toBe('dkim.weak-algorithm');
  });

  test('a body-hash mismatch is fail, not neutral', async () => {
    const { message } = await sign(TEST_MESSAGE, { key: rsa });
    const changed = Buffer.concat([message, Buffer.from('appended line\r\n')]);
    const [r] = await verify(changed);
    expect(await mailauthSays(changed)).toBe('neutral');
    expect(r!.result).toBe('fail');
    expect(r!.reasonCode).toBe('dkim.body-hash-mismatch');
  });

  test('several TXT records at the selector are reported, and each is tried', async () => {
    const { message } = await sign(TEST_MESSAGE, { key: rsa, selector: 'twice' });
    const [r] = await verify(message);
    expect(r!.findings.map((f) => f.code)).toContain('dkim.multiple-key-records');
    expect(r!.key!.recordCount).toBe(2);
    expect(r!.result).toBe('pass');
  });

  test('strict alignment is strict: d= a subdomain of the From domain does not align under adkim=s', async () => {
    const { message } = await sign(TEST_MESSAGE, { key: rsa, domain: 'mail.example.com' });
    const report = await verifyMessage(parseMessage(message), resolver);
    expect(report.dkim[0]!.result).toBe('pass');
    expect(report.dmarc.adkim).toBe('s');
    expect(report.dmarc.identifiers[0]!.alignment.aligned).toBe(false);
    expect(report.dmarc.result).toBe('fail');
    expect(report.dmarc.disposition).toBe('reject');
    expect(report.findings.map((f) => f.code)).toContain('dmarc.dkim-not-aligned');

    // The same shape under relaxed alignment passes.
    const net = TEST_MESSAGE.replace('alice@example.com', 'alice@example.net');
    const relaxed = await verifyMessage(parseMessage((await sign(net, { key: rsa, domain: 'mail.example.net' })).message), resolver);
    expect(relaxed.dmarc.adkim).toBe('r');
    expect(relaxed.dmarc.result).toBe('pass');
  });
});

describe('key record outcomes', () => {
  const cases: [string, string, string, KeyObject][] = [
    ['nokey', 'permerror', 'dkim.key-not-found', rsa],
    ['revoked', 'fail', 'dkim.key-revoked', rsa],
    ['short', 'fail', 'dkim.key-too-short', rsaShort],
    ['sha1only', 'permerror', 'dkim.key-hash-not-allowed', rsa],
    ['ed', 'permerror', 'dkim.key-type-mismatch', rsa],
  ];
  test.each(cases)('selector %s: %s (%s)', async (selector, result, code, key) => {
    // The signer refuses a short key, so sign that one with mailauth directly.
    const message =
      selector === 'short'
        ? (await dkimSign(Buffer.from(TEST_MESSAGE), { signatureData: [{ signingDomain: 'example.com', selector, privateKey: key.export({ type: 'pkcs8', format: 'pem' }) }] } as unknown as Parameters<typeof dkimSign>[1])).signatures + TEST_MESSAGE
        : (await sign(TEST_MESSAGE, { key, selector })).message;
    const [r] = await verify(message);
    expect({ result: r!.result, code: r!.reasonCode }).toEqual({ result, code });
  });

  test('t=y is reported as testing', async () => {
    const [r] = await verify((await sign(TEST_MESSAGE, { key: rsa, selector: 'testing' })).message);
    expect(r!.result).toBe('pass');
    expect(r!.testing).toBe(true);
    expect(r!.key!.flags).toEqual(['y']);
  });
});

describe('SPF, DMARC and the Authentication-Results field', () => {
  test('a good message from the listed address passes everything', async () => {
    const { message } = await sign(TEST_MESSAGE, { key: ed, selector: 'ed' });
    const report = await verifyMessage(parseMessage(message), resolver, { ip: '192.0.2.10', mailFrom: 'bounce@example.com', helo: 'mx.example.com' });
    expect(report.spf!.result).toBe('pass');
    expect(report.dmarc.result).toBe('pass');
    expect(report.dmarc.identifiers.map((i) => [i.method, i.result, i.alignment.aligned])).toEqual([
      ['dkim', 'pass', true],
      ['spf', 'pass', true],
    ]);
    expect(report.authenticationResults).toMatch(/^Authentication-Results: maildns;\r\n dkim=pass \(256-bit ed25519 key\) header\.d=example\.com /);
    expect(report.authenticationResults).toMatch(/spf=pass \(client 192\.0\.2\.10\) smtp\.mailfrom=bounce@example\.com;/);
    expect(report.authenticationResults).toMatch(/dmarc=pass \(p=reject dis=none\) header\.from=example\.com$/);
  });

  test('SPF alone carries DMARC when the signature broke; a wrong client fails both', async () => {
    const { message } = await sign(TEST_MESSAGE, { key: rsa });
    const broken = Buffer.from(message.toString('latin1').replace('Hello Bob', 'Hi Bob'), 'latin1');
    const ok = await verifyMessage(parseMessage(broken), resolver, { ip: '192.0.2.10', mailFrom: 'bounce@example.com' });
    expect([ok.dkim[0]!.result, ok.spf!.result, ok.dmarc.result]).toEqual(['fail', 'pass', 'pass']);
    const bad = await verifyMessage(parseMessage(broken), resolver, { ip: '198.51.100.7', mailFrom: 'bounce@example.com' });
    expect([bad.spf!.result, bad.dmarc.result, bad.dmarc.disposition]).toEqual(['fail', 'fail', 'reject']);
    expect(bad.authenticationResults).toMatch(/dkim=fail \(body hash did not verify\)/);
  });

  test('aspf=s: a MAIL FROM in a subdomain passes SPF but does not align', async () => {
    const report = await verifyMessage(parseMessage(Buffer.from(TEST_MESSAGE)), resolver, { ip: '192.0.2.10', mailFrom: 'bounce@mail.example.com' });
    expect(report.spf!.result).toBe('pass');
    expect(report.dmarc.identifiers[0]!.alignment.aligned).toBe(false);
    expect(report.dmarc.result).toBe('fail');
  });
});
