/**
 * Crafted DKIM-Signature fields against the verifier, with the key served by the embedded DNS
 * server on 127.0.0.1. The message carries two signatures: a good one and the crafted one above
 * it. Whatever the crafted field says, it gets a verdict with its reason, the good one still
 * passes, and DMARC and the Authentication-Results field are always there.
 */
import { generateKeyPairSync } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { composeDkimRecord, publicKeyOf } from '../../../src/dkim/record.js';
import { DnsResolver } from '../../../src/dns/resolver.js';
import { startServer, type RunningServer } from '../../../src/dns/server.js';
import { parseMessage } from '../../../src/message/message.js';
import { signMessage } from '../../../src/message/sign.js';
import { verifyMessage } from '../../../src/message/verify.js';
import { signWithTags } from '../../helpers/dkim-craft.js';

const MESSAGE = 'From: Alice <alice@example.com>\r\nTo: bob@example.net\r\nSubject: hello\r\nDate: Mon, 02 Mar 2026 10:00:00 +0000\r\n\r\nHello Bob.\r\n';
const key = generateKeyPairSync('ed25519').privateKey;

let server: RunningServer;
let resolver: DnsResolver;

beforeAll(async () => {
  const keyRecord = composeDkimRecord(publicKeyOf(key));
  server = await startServer({
    zones: ['example.com', 'xn--bcher-kva.example'],
    records: [
      { name: 'good._domainkey.example.com', type: 'TXT', ttl: 300, value: keyRecord },
      { name: 'bad._domainkey.example.com', type: 'TXT', ttl: 300, value: keyRecord },
      { name: 'bad._domainkey.xn--bcher-kva.example', type: 'TXT', ttl: 300, value: keyRecord },
      { name: '_dmarc.example.com', type: 'TXT', ttl: 300, value: 'v=DMARC1; p=reject' },
    ],
  });
  resolver = new DnsResolver({ servers: [{ host: server.host, port: server.port }], recursionDesired: false, timeoutMs: 2000 });
});
afterAll(async () => {
  await server.close();
});

/** A message signed by selector "good", then by "bad", with `edit` applied to the "bad" field only. */
async function craftedMessage(edit: (field: string) => string): Promise<Buffer> {
  const good = await signMessage(Buffer.from(MESSAGE), { domain: 'example.com', selector: 'good', key });
  const both = await signMessage(good.message, { domain: 'example.com', selector: 'bad', key });
  const text = both.message.toString('latin1');
  const end = text.indexOf('DKIM-Signature:', 1);
  return Buffer.from(edit(text.slice(0, end)) + text.slice(end), 'latin1');
}

/** [what is crafted, the edit, the result and reason code of the crafted signature] */
const CASES: [string, (field: string) => string, string, string][] = [
  ['c= with a leading slash', (f) => f.replace('c=relaxed/relaxed', 'c=/simple/simple'), 'permerror', 'dkim.unknown-canonicalization'],
  ['c= with three parts', (f) => f.replace('c=relaxed/relaxed', 'c=relaxed/simple/relaxed'), 'permerror', 'dkim.unknown-canonicalization'],
  ['c= with an empty body half', (f) => f.replace('c=relaxed/relaxed', 'c=relaxed/'), 'permerror', 'dkim.unknown-canonicalization'],
  ['c= unknown', (f) => f.replace('c=relaxed/relaxed', 'c=nofws'), 'permerror', 'dkim.unknown-canonicalization'],
  ['t= in exponent form', (f) => f.replace(/t=\d+/, 't=16158e5284'), 'permerror', 'dkim.signature-syntax'],
  ['t= beyond any date', (f) => f.replace(/t=\d+/, 't=99999999999999'), 'permerror', 'dkim.signature-syntax'],
  ['t= negative', (f) => f.replace(/t=\d+/, 't=-5'), 'permerror', 'dkim.signature-syntax'],
  ['x= in exponent form', (f) => f.replace(/t=\d+/, 't=1; x=1e10'), 'permerror', 'dkim.signature-syntax'],
  ['l= not a number', (f) => f.replace(/t=\d+/, 'l=ten'), 'permerror', 'dkim.signature-syntax'],
  ['a= unknown', (f) => f.replace('a=ed25519-sha256', 'a=rsa-sha512'), 'permerror', 'dkim.unknown-algorithm'],
  ['a= without a hash', (f) => f.replace('a=ed25519-sha256', 'a=ed25519'), 'permerror', 'dkim.unknown-algorithm'],
  ['v= not 1', (f) => f.replace('v=1', 'v=2'), 'permerror', 'dkim.signature-version'],
  ['no bh=', (f) => f.replace(/bh=[^;]+;/, ''), 'permerror', 'dkim.signature-missing-tag'],
  ['a tag without "="', (f) => f.replace('v=1;', 'v=1; junk;'), 'permerror', 'dkim.signature-syntax'],
  ['a tag twice', (f) => f.replace('v=1;', 'v=1; v=1;'), 'permerror', 'dkim.signature-syntax'],
  ['d= with an empty label', (f) => f.replace('d=example.com', 'd=exa..mple.com'), 'permerror', 'dkim.signature-syntax'],
  ['s= longer than a label', (f) => f.replace('s=bad', `s=${'b'.repeat(64)}`), 'permerror', 'dkim.signature-syntax'],
  ['d= with a space', (f) => f.replace('d=example.com', 'd=example .com'), 'permerror', 'dkim.signature-syntax'],
  ['h= without From', (f) => f.replace(/h=[^;]+;/, 'h=To:Subject;'), 'permerror', 'dkim.from-not-signed'],
  ['i= outside d=', (f) => f.replace('d=example.com;', 'd=example.com; i=@example.org;'), 'permerror', 'dkim.identity-mismatch'],
  ['x= before t=', (f) => f.replace(/t=\d+/, 't=2000000000; x=1900000000'), 'permerror', 'dkim.expiry-before-timestamp'],
  ['x= in the past', (f) => f.replace(/t=\d+/, 't=1000000000; x=1000000001'), 'permerror', 'dkim.signature-expired'],
  ['q= unknown', (f) => f.replace('q=dns/txt', 'q=http/well-known'), 'permerror', 'dkim.unknown-query-method'],
  ['b= not base64', (f) => f.replace(/b=[^;]+$/, 'b=!!!!\r\n'), 'permerror', 'dkim.signature-syntax'],
  ['bh= not base64', (f) => f.replace(/bh=[^;]+;/, 'bh=!!!!;'), 'permerror', 'dkim.signature-syntax'],
  ['bh= too short for a SHA-256 hash', (f) => f.replace(/bh=[^;]+;/, 'bh=AAAA;'), 'permerror', 'dkim.signature-syntax'],
  ['b= empty', (f) => f.replace(/b=[^;]+$/, 'b=\r\n'), 'fail', 'dkim.signature-mismatch'],
];

describe('a crafted DKIM-Signature gets a verdict, and the others are still judged', () => {
  test.each(CASES)('%s', async (_what, edit, result, code) => {
    const report = await verifyMessage(parseMessage(await craftedMessage(edit)), resolver);
    const [crafted, good] = report.dkim;
    expect(crafted).toMatchObject({ selector: expect.stringMatching(/^b/), result, reasonCode: code });
    expect(crafted!.reason).toBeTruthy();
    expect(good).toMatchObject({ selector: 'good', result: 'pass' });
    expect(report.dmarc).toMatchObject({ result: 'pass', policy: 'reject' });
    expect(report.authenticationResults).toMatch(new RegExp(`^Authentication-Results: maildns;\\r\\n dkim=${result} `));
    expect(report.authenticationResults).toContain('dkim=pass (256-bit ed25519 key) header.d=example.com');
    expect(report.authenticationResults).toMatch(/dmarc=pass \(p=reject dis=none\) header\.from=example\.com$/);
  });

  test('t= and x= compare as numbers: x=1000000000 lies after t=999999999', async () => {
    const signTime = new Date(999_999_999_000);
    const expires = new Date(1_000_000_000_000);
    const signed = await signMessage(Buffer.from(MESSAGE), { domain: 'example.com', selector: 'good', key, signTime, expires });
    const report = await verifyMessage(parseMessage(signed.message), resolver, { now: new Date(999_999_999_500) });
    expect(report.dkim.map((d) => [d.result, d.reasonCode])).toEqual([['pass', undefined]]);
  });

  test('D= is not d= (tag names are case-sensitive, RFC 6376 §3.2): the reason says so', async () => {
    const report = await verifyMessage(parseMessage(await craftedMessage((f) => f.replace('d=example.com', 'D=example.com'))), resolver);
    expect(report.dkim[0]).toMatchObject({ result: 'permerror', reasonCode: 'dkim.signature-missing-tag' });
    expect(report.dkim[0]!.reason).toBe('the DKIM-Signature field lacks d= (it has D=: tag names are case-sensitive)');
  });

  test('a crafted value cannot add a result to the Authentication-Results field', async () => {
    const report = await verifyMessage(parseMessage(await craftedMessage((f) => f.replace('s=bad', 's=x) dkim=pass (y'))), resolver);
    expect(report.dkim[0]!.result).toBe('permerror');
    const results = report.authenticationResults.split(';\r\n ').slice(1).map((r) => r.split(' ')[0]);
    expect(results).toEqual(['dkim=permerror', 'dkim=pass', 'dmarc=pass']);
    expect(report.authenticationResults).toContain('header.s="x) dkim=pass (y"');
  });

  test('l= leaves appended text unsigned: a pass with the number of unsigned bytes', async () => {
    const { dkimSign } = await import('mailauth');
    const pem = key.export({ type: 'pkcs8', format: 'pem' }).toString();
    const signed = await dkimSign(Buffer.from(MESSAGE), {
      signatureData: [{ signingDomain: 'example.com', selector: 'good', privateKey: pem, algorithm: 'ed25519-sha256', maxBodyLength: 12 }],
    } as never);
    const appended = Buffer.from(`${signed.signatures}${MESSAGE}Appended by a stranger.\r\n`);
    const report = await verifyMessage(parseMessage(appended), resolver);
    expect(report.dkim[0]!.result).toBe('pass');
    // mailauth counts the canonicalized body without its final line break.
    expect(report.dkim[0]!.unsignedBodyBytes).toBeGreaterThanOrEqual('Appended by a stranger.'.length);
    expect(report.dkim[0]!.findings.map((f) => f.code)).toContain('dkim.body-length-limit');
  });
});

test('d= in UTF-8 (RFC 6532) is looked up at its A-label (RFC 8616 §3, §5), and a note gives that form', async () => {
  // "bücher" in UTF-8: the field is read as Latin-1 ("bÃ¼cher"); the name asked is the A-label of what the octets spell.
  const report = await verifyMessage(parseMessage(await craftedMessage((f) => Buffer.from(f.replace('d=example.com', 'd=b\u00fccher.example'), 'utf8').toString('latin1'))), resolver);
  // The key is found there; the signature was made over d=example.com, so it does not verify.
  expect(report.dkim[0]).toMatchObject({ domain: 'xn--bcher-kva.example', selector: 'bad', result: 'fail', reasonCode: 'dkim.signature-mismatch' });
  expect(report.dkim[0]!.key).toBeDefined();
  const note = report.dkim[0]!.findings.find((f) => f.code === 'dkim.signature-u-labels');
  expect(note).toMatchObject({ severity: 'info', rfc: 'RFC 8616 §5' });
  expect(note!.message).toContain('d=b\u00fccher.example');
  expect(note!.message).toContain('bad._domainkey.xn--bcher-kva.example');
  expect(report.authenticationResults).toContain('header.d=xn--bcher-kva.example');
});

test('d= in octets that spell no UTF-8 (a Latin-1 ü) is a permerror: no name a query can be made for', async () => {
  const report = await verifyMessage(parseMessage(await craftedMessage((f) => f.replace('d=example.com', 'd=b\u00fccher.example'))), resolver);
  expect(report.dkim[0]).toMatchObject({ result: 'permerror', reasonCode: 'dkim.signature-syntax' });
  expect(report.dkim[0]!.reason).toContain('not a valid internationalized domain name');
});

describe('a crafted From domain gets a DMARC verdict, never a DNS failure', () => {
  let idn: RunningServer;
  let idnResolver: DnsResolver;
  beforeAll(async () => {
    idn = await startServer({ zones: [''], records: [{ name: '_dmarc.xn--bcher-kva.de', type: 'TXT', ttl: 300, value: 'v=DMARC1; p=quarantine' }] });
    idnResolver = new DnsResolver({ servers: [{ host: idn.host, port: idn.port }], recursionDesired: false, timeoutMs: 2000 });
  });
  afterAll(async () => {
    await idn.close();
  });

  test.each([
    ['a@exa..mple.com', /empty label/],
    ['a@[192.0.2.1]', /characters a host name cannot carry/],
    [`a@${'x'.repeat(64)}.example`, /label of 64 characters/],
    ['a@-x.example', /characters a host name cannot carry/],
    ['a@b\u00fccher.de', /not a valid internationalized domain name/],
    // A reader that stops at the NUL shows a@example.com; the domain after the last "@" is another.
    ['a@example.com\u0000@evil.example', /no usable address/],
    ['a@example.com@evil.example', /no usable address/],
    ['a@exam\u0007ple.com', /no usable address/],
  ])('From: %s is a permerror with the reason', async (from, why) => {
    // The last row is Latin-1 ü, which is no UTF-8: not a name DMARC can look up.
    const report = await verifyMessage(parseMessage(Buffer.from(`From: ${from}\r\n\r\nhi\r\n`, 'latin1')), idnResolver);
    expect(report.dnsFailed).toBe(false);
    expect(report.dmarc.result).toBe('permerror');
    expect(report.dmarc.reason).toMatch(why);
    expect(report.authenticationResults).toMatch(/dmarc=permerror$/);
  });

  test('an internationalized From domain (UTF-8) is looked up as its A-label', async () => {
    const report = await verifyMessage(parseMessage(Buffer.from('From: a@b\u00fccher.de\r\n\r\nhi\r\n', 'utf8')), idnResolver);
    expect(report.dmarc).toMatchObject({ fromDomain: 'xn--bcher-kva.de', recordName: '_dmarc.xn--bcher-kva.de', policy: 'quarantine', result: 'fail' });
  });
});

describe('the cost of a crafted message is in proportion to its size', () => {
  test('h= naming 100,000 fields over a header of 50,000 is judged in seconds, not minutes', async () => {
    const names = Array.from({ length: 100_000 }, (_, i) => `X-${i}`).join(':');
    const field = `DKIM-Signature: v=1; a=ed25519-sha256; c=relaxed/relaxed; d=example.com; s=good; h=From:${names}; bh=AAAA; b=AAAA\r\n`;
    const raw = Buffer.from(field + 'X-A: y\r\n'.repeat(50_000) + MESSAGE);
    const started = Date.now();
    const report = await verifyMessage(parseMessage(raw), resolver);
    expect(report.dkim).toHaveLength(1);
    expect(report.dkim[0]!.result).not.toBe('pass');
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  test('a field folded over 100,000 lines (700 kB) is judged in seconds, not minutes', async () => {
    const signed = await signMessage(Buffer.from(`X-Folded: a\r\n${' b\r\n'.repeat(100_000)}${MESSAGE}`), { domain: 'example.com', selector: 'good', key, headers: ['From', 'X-Folded'] });
    const started = Date.now();
    const report = await verifyMessage(parseMessage(signed.message), resolver);
    expect(report.dkim.map((d) => d.result)).toEqual(['pass']);
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});

describe('l= as signed (a valid signature over the tags as written)', () => {
  const tags = (l: string): string => `v=1; a=ed25519-sha256; c=relaxed/relaxed; d=example.com; s=good; h=From:To:Subject; l=${l}; bh=BH`;

  test('l=0 signs none of the body: a pass that says the whole body is unsigned', async () => {
    const report = await verifyMessage(parseMessage(signWithTags(Buffer.from(MESSAGE), tags('0'), key)), resolver);
    expect(report.dkim[0]).toMatchObject({ result: 'pass', unsignedBodyBytes: 'Hello Bob.\r\n'.length });
    expect(report.dkim[0]!.findings.map((f) => f.code)).toContain('dkim.body-length-limit');
  });

  test('l= under the body: the bytes left unsigned are all the bytes after l=', async () => {
    const report = await verifyMessage(parseMessage(signWithTags(Buffer.from(`${MESSAGE}a second line\r\n`), tags('5'), key)), resolver);
    expect(report.dkim[0]).toMatchObject({ result: 'pass', unsignedBodyBytes: 'Hello Bob.\r\na second line\r\n'.length - 5 });
  });

  test('l= beyond the body is a permerror (RFC 6376 §3.5: it must not be larger; OpenDKIM rejects it)', async () => {
    const report = await verifyMessage(parseMessage(signWithTags(Buffer.from(MESSAGE), tags('100000'), key)), resolver);
    expect(report.dkim[0]).toMatchObject({ result: 'permerror', reasonCode: 'dkim.body-length-beyond-body' });
    expect(report.dkim[0]!.reason).toBe('l=100000 is more than the 12 octets of the body as canonicalized (relaxed): the body is shorter than when it was signed, or l= is wrong (RFC 6376 §3.5: l= must not be larger than the body)');
  });
});

test('a bh= that is no SHA-256 hash says so, not that the body changed (a valid signature over it)', async () => {
  const tags = 'v=1; a=ed25519-sha256; c=relaxed/relaxed; d=example.com; s=good; h=From:To:Subject; bh=BH';
  const report = await verifyMessage(parseMessage(signWithTags(Buffer.from(MESSAGE), tags, key, 'AAAA')), resolver);
  expect(report.dkim[0]).toMatchObject({ result: 'permerror', reasonCode: 'dkim.signature-syntax', reason: 'bh=AAAA is not a SHA-256 hash in base64 (32 octets; it holds 3)' });
});

test('an i= without "@" is no identity: a permerror, though validly signed (it passed)', async () => {
  const tags = 'v=1; a=ed25519-sha256; c=relaxed/relaxed; d=example.com; i=example.com; s=good; h=From:To:Subject; bh=BH';
  const report = await verifyMessage(parseMessage(signWithTags(Buffer.from(MESSAGE), tags, key)), resolver);
  expect(report.dkim[0]).toMatchObject({ result: 'permerror', reasonCode: 'dkim.signature-syntax', reason: 'i=example.com is not an identity: write it as an address in d=, user@example.com or @example.com (RFC 6376 §3.5)' });
});
