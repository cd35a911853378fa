/**
 * ARC (RFC 8617) in verify-message, against chains sealed by an independent implementation:
 * python3-dkim's arc_sign, with the sealers' keys served by the embedded DNS server (and, for
 * the timeout, by a server that never answers). dkimpy's own arc_verify judges each message too,
 * and must agree with maildns's verdict.
 */
import { execFile } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { composeDkimRecord, publicKeyOf } from '../../../src/dkim/record.js';
import { DnsResolver } from '../../../src/dns/resolver.js';
import { startServer, type RunningServer } from '../../../src/dns/server.js';
import { verifyArc } from '../../../src/message/arc.js';
import { parseMessage } from '../../../src/message/message.js';
import { signMessage } from '../../../src/message/sign.js';
import { verifyMessage, type MessageReport } from '../../../src/message/verify.js';
import { runCli } from '../../helpers/cli.js';
import { startHostileDns, type HostileServer } from '../../helpers/hostile-dns.js';
import { SYSTEM_PYTHON } from '../../helpers/programs.js';

const run = promisify(execFile);

const ORIGINAL = [
  'From: Alice <alice@example.com>',
  'To: list@lists.example.org',
  'Subject: meeting notes',
  'Date: Mon, 02 Mar 2026 10:00:00 +0000',
  'Message-ID: <arc-1@example.com>',
  '',
  'Hello list,',
  '',
  'the notes are below.',
  '',
].join('\r\n');

const author = generateKeyPairSync('ed25519').privateKey;
const listKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
const forwarderKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;

let server: RunningServer;
let silent: HostileServer;
let resolver: DnsResolver;
let dir: string;
let listPem: string;
let forwarderPem: string;

beforeAll(async () => {
  server = await startServer({
    zones: [''],
    records: [
      { name: 'mail._domainkey.example.com', type: 'TXT', ttl: 300, value: composeDkimRecord(publicKeyOf(author)) },
      { name: '_dmarc.example.com', type: 'TXT', ttl: 300, value: 'v=DMARC1; p=reject' },
      { name: 'arc._domainkey.lists.example.org', type: 'TXT', ttl: 300, value: composeDkimRecord(publicKeyOf(listKey)) },
      { name: 'arc._domainkey.forward.example.net', type: 'TXT', ttl: 300, value: composeDkimRecord(publicKeyOf(forwarderKey)) },
      // Two records at one selector, neither usable: an Ed25519 key (not the rsa-sha256 signature's type) and a revoked one.
      { name: 'multi._domainkey.lists.example.org', type: 'TXT', ttl: 300, value: `v=DKIM1; k=ed25519; p=${Buffer.alloc(32, 7).toString('base64')}` },
      { name: 'multi._domainkey.lists.example.org', type: 'TXT', ttl: 300, value: 'v=DKIM1; p=' },
      // The list's key, published in testing mode (t=y).
      { name: 'testing._domainkey.lists.example.org', type: 'TXT', ttl: 300, value: composeDkimRecord(publicKeyOf(listKey), { testing: true }) },
    ],
    // A sealer whose key name the server never answers, beside names it does answer.
    silent: ['arc._domainkey.slow.example.org'],
  });
  silent = await startHostileDns(() => null);
  resolver = new DnsResolver({ servers: [{ host: server.host, port: server.port }], recursionDesired: false, timeoutMs: 2000 });
  dir = mkdtempSync(path.join(tmpdir(), 'maildns-arc-'));
  listPem = path.join(dir, 'list.pem');
  forwarderPem = path.join(dir, 'forwarder.pem');
  writeFileSync(listPem, listKey.export({ type: 'pkcs1', format: 'pem' }));
  writeFileSync(forwarderPem, forwarderKey.export({ type: 'pkcs1', format: 'pem' }));
});
afterAll(async () => {
  await server.close();
  await silent.close();
  // The sealers' private keys and every message written for dkimpy are in it.
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** dkimpy's arc_sign: the set for `srvId`'s Authentication-Results, put on top of `message`. */
async function arcSign(message: Buffer, domain: string, keyFile: string, srvId: string, cv: 'none' | 'pass' | 'fail', opts: { selector?: string; simpleAmsWithoutC?: boolean } = {}): Promise<Buffer> {
  const file = path.join(dir, `in-${Math.random().toString(36).slice(2)}.eml`);
  writeFileSync(file, message);
  const script = [
    'import sys, base64, hashlib, dkim',
    'from dkim.canonicalization import CanonicalizationPolicy',
    "m = open(sys.argv[1], 'rb').read()",
    "cv = {'none': dkim.CV_None, 'pass': dkim.CV_Pass, 'fail': dkim.CV_Fail}[sys.argv[5]]",
    // dkimpy always writes c=relaxed/relaxed; this writes the AMS as RFC 6376's default reads it: no c=, simple/simple.
    "if sys.argv[7] == '1':",
    '    orig = dkim.ARC.gen_header',
    '    def gen(self, fields, include, canon, name, pk, standardize=False):',
    "        if name == b'ARC-Message-Signature':",
    "            canon = CanonicalizationPolicy.from_c_value(b'simple/simple')",
    '            bh = base64.b64encode(hashlib.sha256(canon.canonicalize_body(self.body)).digest())',
    "            fields = [(k, bh if k == b'bh' else v) for (k, v) in fields if k != b'c']",
    '        return orig(self, fields, include, canon, name, pk, standardize)',
    '    dkim.ARC.gen_header = gen',
    "sig = dkim.arc_sign(m, sys.argv[6].encode(), sys.argv[2].encode(), open(sys.argv[3], 'rb').read(), sys.argv[4].encode(), cv)",
    "assert sig, 'arc_sign wrote no set'",
    "sys.stdout.buffer.write(b''.join(sig) + m)",
  ].join('\n');
  const args = [file, domain, keyFile, srvId, cv, opts.selector ?? 'arc', opts.simpleAmsWithoutC ? '1' : '0'];
  const { stdout } = await run(SYSTEM_PYTHON, ['-c', script, ...args], { encoding: 'buffer', maxBuffer: 1 << 24 });
  return stdout;
}

/** dkimpy's arc_verify with dnspython aimed at `port`: its cv (None, a terminated chain, is fail). */
async function dkimpyArcVerify(message: Buffer, port = server.port, lifetime = 1.5): Promise<string> {
  const file = path.join(dir, `v-${Math.random().toString(36).slice(2)}.eml`);
  writeFileSync(file, message);
  const script = [
    'import sys, dkim, dns.resolver',
    'r = dns.resolver.Resolver(configure=False)',
    "r.nameservers = ['127.0.0.1']",
    `r.port = ${port}`,
    `r.lifetime = ${lifetime}`,
    'dns.resolver.default_resolver = r',
    'try:',
    "    cv, results, comment = dkim.arc_verify(open(sys.argv[1], 'rb').read())",
    "    print((cv or b'fail').decode(), comment)",
    'except Exception as e:',
    "    print('error', type(e).__name__, e)",
  ].join('\n');
  const { stdout } = await run(SYSTEM_PYTHON, ['-c', script, file], { encoding: 'utf8' });
  return stdout.trim();
}

const withAr = (message: Buffer, ar: string): Buffer => Buffer.concat([Buffer.from(`Authentication-Results: ${ar}\r\n`), message]);
const edit = (message: Buffer, from: string | RegExp, to: string): Buffer => {
  const text = message.toString('latin1');
  const out = text.replace(from, to);
  expect(out, `the edit ${String(from)}`).not.toBe(text);
  return Buffer.from(out, 'latin1');
};

/** The original, DKIM-signed by its author; then the list adds a footer (breaking DKIM) and seals. */
async function listChain(): Promise<{ signed: Buffer; one: Buffer }> {
  const signed = (await signMessage(Buffer.from(ORIGINAL), { domain: 'example.com', selector: 'mail', key: author })).message;
  const received = withAr(signed, 'lists.example.org; dkim=pass header.d=example.com header.s=mail; spf=pass smtp.mailfrom=alice@example.com; dmarc=pass header.from=example.com');
  const footered = Buffer.concat([received, Buffer.from('-- \r\nlist footer: unsubscribe at lists.example.org\r\n')]);
  return { signed, one: await arcSign(footered, 'lists.example.org', listPem, 'lists.example.org', 'none') };
}

async function twoInstances(cv: 'pass' | 'fail' = 'pass'): Promise<Buffer> {
  const { one } = await listChain();
  return arcSign(withAr(one, `forward.example.net; arc=${cv} header.oldest-pass=0`), 'forward.example.net', forwarderPem, 'forward.example.net', cv);
}

/** The list adds its footer, DKIM-signs with `selector` and seals with it: one key record, for DKIM and ARC both to judge. */
async function listSignedAndSealed(selector: string): Promise<Buffer> {
  const { signed } = await listChain();
  const footered = Buffer.concat([withAr(signed, 'lists.example.org; dkim=pass header.d=example.com'), Buffer.from('-- \r\nlist footer\r\n')]);
  const listSigned = (await signMessage(footered, { domain: 'lists.example.org', selector, key: listKey })).message;
  return arcSign(listSigned, 'lists.example.org', listPem, 'lists.example.org', 'none', { selector });
}

/** The list's DKIM verdict, its code in ARC's terms (`dkim.x` is `arc.x`). */
function listDkim(report: MessageReport): { result: string; reasonCode: string | undefined } {
  const d = report.dkim.find((x) => x.domain === 'lists.example.org');
  expect(d, 'the list\'s DKIM-Signature').toBeDefined();
  return { result: d!.result, reasonCode: d!.reasonCode?.replace(/^dkim\./, 'arc.') };
}

describe('chains sealed by dkimpy', () => {
  test('one instance: pass; DKIM broke at the list, DMARC fails, and the first sealer saw the aligned DKIM pass (override information)', async () => {
    const { one } = await listChain();
    const report = await verifyMessage(parseMessage(one), resolver);
    expect(report.dkim[0]!.result).toBe('fail');
    expect(report.dmarc.result).toBe('fail');
    expect(report.arc).toMatchObject({ result: 'pass', instances: 1, oldestPass: 0 });
    expect(report.arc.sets).toEqual([expect.objectContaining({ instance: 1, cv: 'none', seal: expect.objectContaining({ result: 'pass', domain: 'lists.example.org', selector: 'arc' }), messageSignature: expect.objectContaining({ result: 'pass' }) })]);
    expect(report.arc.override).toMatchObject({ sealer: 'lists.example.org', authservId: 'lists.example.org', dkim: [{ method: 'dkim', result: 'pass', properties: { 'header.d': 'example.com', 'header.s': 'mail' } }], spf: [{ result: 'pass', properties: { 'smtp.mailfrom': 'alice@example.com' } }] });
    const override = report.findings.find((f) => f.code === 'arc.dmarc-override-possible');
    expect(override).toMatchObject({ rfc: 'RFC 8617 §7.2', fix: expect.stringMatching(/\w/) });
    expect(override!.message).toContain('dkim for example.com');
    expect(report.authenticationResults).toMatch(/;\r\n arc=pass \(i=1 spf=pass dkim=pass\) header\.oldest-pass=0$/);
    expect(await dkimpyArcVerify(one)).toMatch(/^pass /);
  });

  test('two instances (list, then forwarder with cv=pass): pass, both seals checked', async () => {
    const two = await twoInstances();
    const arc = await verifyArc(parseMessage(two), resolver);
    expect({ result: arc.result, reason: arc.reason, instances: arc.instances, oldestPass: arc.oldestPass }).toEqual({ result: 'pass', reason: expect.stringContaining('lists.example.org, forward.example.net'), instances: 2, oldestPass: 0 });
    expect(arc.sets.map((s) => [s.instance, s.cv, s.seal.result, s.seal.domain, s.messageSignature.result])).toEqual([
      [1, 'none', 'pass', 'lists.example.org', 'pass'],
      [2, 'pass', 'pass', 'forward.example.net', 'pass'],
    ]);
    expect(arc.override!.sealer).toBe('lists.example.org');
    expect(await dkimpyArcVerify(two)).toMatch(/^pass /);
  });

  test('the forwarder changed the body after the list sealed, then sealed: pass with oldest-pass=2 (the older AMS broke)', async () => {
    const { one } = await listChain();
    const changed = Buffer.concat([withAr(one, 'forward.example.net; arc=pass'), Buffer.from('forwarded by forward.example.net\r\n')]);
    const two = await arcSign(changed, 'forward.example.net', forwarderPem, 'forward.example.net', 'pass');
    const arc = await verifyArc(parseMessage(two), resolver);
    expect({ result: arc.result, oldestPass: arc.oldestPass }).toEqual({ result: 'pass', oldestPass: 2 });
    expect(arc.sets[0]!.messageSignature).toMatchObject({ result: 'fail', reasonCode: 'arc.body-hash-mismatch' });
    expect(arc.findings.map((f) => f.code)).toEqual(['arc.older-ams-broken']);
    expect(await dkimpyArcVerify(two)).toMatch(/^pass /);
  });

  test('the body changed after the newest seal: the AMS fails, so the chain fails', async () => {
    const { one } = await listChain();
    const changed = edit(one, 'the notes are below.', 'the notes are NOT below.');
    const report = await verifyMessage(parseMessage(changed), resolver);
    expect(report.arc).toMatchObject({ result: 'fail', reasonCode: 'arc.ams-fail', rfc: 'RFC 8617 §5.2 step 4', fix: expect.stringMatching(/\w/) });
    expect(report.arc.sets[0]!.messageSignature).toMatchObject({ result: 'fail', reasonCode: 'arc.body-hash-mismatch' });
    // The verdict is the report's arc, as each DKIM signature's is its own: not a finding besides.
    expect(report.findings.map((f) => f.code)).not.toContain('arc.ams-fail');
    expect(report.authenticationResults).toMatch(/\r\n arc=fail \(arc\.ams-fail\)$/);
    expect(await dkimpyArcVerify(changed)).toMatch(/^fail /);
  });

  test('a broken seal: the first AAR changed after sealing (the AMS does not cover it, the seal does)', async () => {
    const two = await twoInstances();
    const changed = edit(two, /(ARC-Authentication-Results: i=1; lists\.example\.org; dkim=)pass/, '$1fail');
    const arc = await verifyArc(parseMessage(changed), resolver);
    expect(arc).toMatchObject({ result: 'fail', reasonCode: 'arc.seal-fail', rfc: 'RFC 8617 §5.2 step 6' });
    expect(arc.sets.map((s) => [s.seal.result, s.seal.reasonCode ?? null, s.messageSignature.result])).toEqual([
      ['fail', 'arc.signature-mismatch', 'pass'],
      ['fail', 'arc.signature-mismatch', 'pass'],
    ]);
    expect(arc.reason).toContain('instance 2');
    expect(await dkimpyArcVerify(changed)).toMatch(/^fail /);
  });

  test('an i= gap: instance 2 renumbered 3, so i= runs 1, 3', async () => {
    const two = await twoInstances();
    const gap = edit(edit(edit(two, 'ARC-Seal: i=2;', 'ARC-Seal: i=3;'), 'ARC-Message-Signature: i=2;', 'ARC-Message-Signature: i=3;'), 'ARC-Authentication-Results: i=2;', 'ARC-Authentication-Results: i=3;');
    const arc = await verifyArc(parseMessage(gap), resolver);
    expect(arc).toMatchObject({ result: 'fail', reasonCode: 'arc.structure', instances: 3, rfc: 'RFC 8617 §5.1.1' });
    expect(arc.reason).toContain('i= runs 1 to 3 with instance 2 missing');
    expect(await dkimpyArcVerify(gap)).toMatch(/^fail /);
  });

  test('cv=fail in the newest instance: the chain fails, whatever the seals say', async () => {
    const failed = await twoInstances('fail');
    expect(failed.toString('latin1')).toMatch(/ARC-Seal: i=2; cv=fail;/);
    const arc = await verifyArc(parseMessage(failed), resolver);
    expect(arc).toMatchObject({ result: 'fail', reasonCode: 'arc.cv-fail', rfc: 'RFC 8617 §5.2 step 2' });
    expect(arc.reason).toContain('forward.example.net');
    expect(await dkimpyArcVerify(failed)).toMatch(/^fail /);
  });

  test('a sealer whose key is not published (NXDOMAIN): the chain fails (each signature a permerror, as DKIM says); the same key name timing out: the chain could not be evaluated, arc=fail (the arc method has no temperror) with dnsFailed and arc.dns-temporary', async () => {
    const { signed } = await listChain();
    const noKey = await arcSign(withAr(signed, 'nokey.example.org; dkim=pass header.d=example.com'), 'nokey.example.org', listPem, 'nokey.example.org', 'none');
    const arc = await verifyArc(parseMessage(noKey), resolver);
    expect(arc).toMatchObject({ result: 'fail', reasonCode: 'arc.key-missing' });
    expect(arc.sets[0]!.seal).toMatchObject({ result: 'permerror', reasonCode: 'arc.key-not-found', reason: expect.stringContaining('arc._domainkey.nokey.example.org') });
    expect(await dkimpyArcVerify(noKey)).toMatch(/^fail /);

    const slow = new DnsResolver({ servers: [{ host: silent.host, port: silent.port }], recursionDesired: false, timeoutMs: 300 });
    const started = Date.now();
    const timedOut = await verifyArc(parseMessage(noKey), slow);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(timedOut).toMatchObject({ result: 'fail', reasonCode: 'arc.key-lookup-failed', dnsFailed: true, fix: expect.stringContaining('--nameserver') });
    expect(timedOut.findings).toContainEqual(expect.objectContaining({ code: 'arc.dns-temporary', severity: 'error', rfc: 'RFC 8617 §4.4', message: expect.stringContaining('could not be evaluated') }));
    expect(arc.dnsFailed).toBe(false);
    expect(timedOut.sets[0]!.seal.result).toBe('temperror');
    expect(timedOut.sets[0]!.messageSignature.result).toBe('temperror');
    // dkimpy cannot tell a timeout from a missing key: its verdict is fail, where maildns says temperror.
    expect(await dkimpyArcVerify(noKey, silent.port, 0.5)).toMatch(/^fail Most recent ARC-Message-Signature did not validate/);
  });
});

test('a Subject with "à" in UTF-8 (octets C3 A0): the AMS verifies, as in dkimpy (0xA0 is no white space to relaxed canonicalization)', async () => {
  const utf8 = Buffer.from(ORIGINAL.replace('Subject: meeting notes', 'Subject: voil\u00e0 les notes'), 'utf8');
  const sealed = await arcSign(withAr(utf8, 'lists.example.org; dkim=none'), 'lists.example.org', listPem, 'lists.example.org', 'none');
  expect(sealed.toString('latin1')).toMatch(/h=[^;]*subject/);
  const arc = await verifyArc(parseMessage(sealed), resolver);
  expect(arc.sets[0]!.messageSignature.result).toBe('pass');
  expect(arc.result).toBe('pass');
  expect(await dkimpyArcVerify(sealed)).toMatch(/^pass /);
});

describe('the ARC-Message-Signature and ARC-Seal are judged as DKIM judges a signature (RFC 8617 §4.1.2, §5.1.1, §5.2)', () => {
  test('a key not published (NXDOMAIN): permerror arc.key-not-found, as DKIM says dkim.key-not-found; the chain fails (arc.key-missing)', async () => {
    const sealed = await listSignedAndSealed('gone');
    const report = await verifyMessage(parseMessage(sealed), resolver);
    const dkim = listDkim(report);
    expect(dkim).toEqual({ result: 'permerror', reasonCode: 'arc.key-not-found' });
    expect(report.arc.sets[0]!.messageSignature).toMatchObject(dkim);
    expect(report.arc.sets[0]!.seal).toMatchObject(dkim);
    expect(report.arc).toMatchObject({ result: 'fail', reasonCode: 'arc.key-missing', rfc: 'RFC 8617 §5.2 step 4' });
    expect(await dkimpyArcVerify(sealed)).toMatch(/^fail /);
  });

  test('a key not published and the body changed: the missing key decides (arc.key-missing), as in DKIM, not the body hash', async () => {
    const changed = edit(await listSignedAndSealed('gone'), 'the notes are below.', 'the notes are NOT below.');
    const report = await verifyMessage(parseMessage(changed), resolver);
    const dkim = listDkim(report);
    expect(dkim).toEqual({ result: 'permerror', reasonCode: 'arc.key-not-found' });
    expect(report.arc.sets[0]!.messageSignature).toMatchObject(dkim);
    expect(report.arc).toMatchObject({ result: 'fail', reasonCode: 'arc.key-missing' });
    expect(await dkimpyArcVerify(changed)).toMatch(/^fail /);
  });

  test('two key records at the selector, neither usable: the record DKIM picks decides (the revoked key, fail), with arc.multiple-key-records', async () => {
    const sealed = await listSignedAndSealed('multi');
    const report = await verifyMessage(parseMessage(sealed), resolver);
    const dkim = listDkim(report);
    expect(dkim).toEqual({ result: 'fail', reasonCode: 'arc.key-revoked' });
    expect(report.arc.sets[0]!.messageSignature).toMatchObject(dkim);
    expect(report.arc.sets[0]!.seal).toMatchObject(dkim);
    expect(report.arc).toMatchObject({ result: 'fail', reasonCode: 'arc.ams-fail' });
    expect(report.arc.findings).toContainEqual(expect.objectContaining({ code: 'arc.multiple-key-records', subject: 'multi._domainkey.lists.example.org' }));
    expect(report.findings.map((f) => f.code)).toEqual(expect.arrayContaining(['dkim.multiple-key-records', 'arc.multiple-key-records']));
    // dkimpy takes the first record, the Ed25519 key, and raises ValueError on it: no verdict, and no pass.
    expect(await dkimpyArcVerify(sealed)).toMatch(/^(fail|error ValueError) /);
  });

  test('a key in testing mode (t=y): arc.key-testing says it in ARC\'s words (ARC-Seal, ARC-Message-Signature, sealing), once for the seal and message signature that share it; dkim.key-testing keeps DKIM\'s', async () => {
    const sealed = await listSignedAndSealed('testing');
    const report = await verifyMessage(parseMessage(sealed), resolver);
    expect(report.arc.result).toBe('pass');
    const arcTesting = report.arc.findings.filter((f) => f.code === 'arc.key-testing');
    expect(arcTesting).toEqual([expect.objectContaining({ subject: 'testing._domainkey.lists.example.org', message: expect.stringContaining('ARC-Seal or ARC-Message-Signature'), fix: expect.stringContaining('once sealing works') })]);
    for (const f of report.arc.findings) expect(`${f.message} ${f.fix ?? ''}`, f.code).not.toMatch(/\bDKIM\b|unsigned|signing works/);
    expect(report.findings).toContainEqual(expect.objectContaining({ code: 'dkim.key-testing', message: expect.stringContaining('testing DKIM'), fix: expect.stringContaining('once signing works') }));
  });

  test('bh= that is no SHA-256 hash: permerror arc.signature-syntax, as DKIM, not a body-hash mismatch', async () => {
    const text = (await listSignedAndSealed('arc')).toString('latin1');
    const changed = Buffer.from(text.replace(/\bbh=[^;]*/g, 'bh=AAAA'), 'latin1');
    expect(changed.toString('latin1').match(/\bbh=AAAA/g)).toHaveLength(3);
    const report = await verifyMessage(parseMessage(changed), resolver);
    const dkim = listDkim(report);
    expect(dkim).toEqual({ result: 'permerror', reasonCode: 'arc.signature-syntax' });
    expect(report.arc.sets[0]!.messageSignature).toMatchObject(dkim);
    expect(report.arc.result).toBe('fail');
  });

  test('l= beyond the body: permerror arc.body-length-beyond-body, as DKIM', async () => {
    const sealed = await listSignedAndSealed('arc');
    const changed = edit(edit(sealed, 'ARC-Message-Signature: i=1;', 'ARC-Message-Signature: i=1; l=100000;'), /DKIM-Signature: v=1;/g, 'DKIM-Signature: v=1; l=100000;');
    const report = await verifyMessage(parseMessage(changed), resolver);
    const dkim = listDkim(report);
    expect(dkim).toEqual({ result: 'permerror', reasonCode: 'arc.body-length-beyond-body' });
    expect(report.arc.sets[0]!.messageSignature).toMatchObject(dkim);
    expect(report.arc.result).toBe('fail');
  });

  test('an AMS without c= is simple/simple, RFC 6376\'s default: one signed so verifies (dkimpy reads a missing c= as relaxed, and fails it)', async () => {
    const { signed } = await listChain();
    const footered = Buffer.concat([withAr(signed, 'lists.example.org; dkim=pass header.d=example.com'), Buffer.from('-- \r\nlist footer\r\n')]);
    const sealed = await arcSign(footered, 'lists.example.org', listPem, 'lists.example.org', 'none', { simpleAmsWithoutC: true });
    const ams = parseMessage(sealed).fields.find((f) => f.name.toLowerCase() === 'arc-message-signature')!.value;
    expect(ams).not.toMatch(/(^|;)\s*c\s*=/);
    const arc = await verifyArc(parseMessage(sealed), resolver);
    expect(arc.sets[0]!.messageSignature).toMatchObject({ result: 'pass' });
    expect(arc.sets[0]!.seal).toMatchObject({ result: 'pass' });
    expect(arc.result).toBe('pass');
    expect(await dkimpyArcVerify(sealed)).toMatch(/^fail /);
  });
});

test('a malformed header line (0x0B where a fold should be): the chain fails on it (arc.header-malformed), each ARC signature a permerror as each DKIM one is; dkimpy rejects the message', async () => {
  const sealed = await listSignedAndSealed('arc');
  const damaged = edit(sealed, 'Subject: meeting notes\r\n', 'Subject: meeting notes\r\n\x0bnotes\r\n');
  const report = await verifyMessage(parseMessage(damaged), resolver);
  expect(report.findings.map((f) => f.code)).toContain('message.header-malformed');
  expect(listDkim(report)).toEqual({ result: 'permerror', reasonCode: 'arc.header-malformed' });
  expect(report.arc.sets[0]!.messageSignature).toMatchObject({ result: 'permerror', reasonCode: 'arc.header-malformed' });
  expect(report.arc.sets[0]!.seal).toMatchObject({ result: 'permerror', reasonCode: 'arc.header-malformed' });
  expect(report.arc).toMatchObject({ result: 'fail', reasonCode: 'arc.header-malformed', rfc: 'RFC 5322 §2.2.3', fix: expect.stringContaining('space or tab') });
  expect(report.arc.reason).toContain('header line');
  expect(await dkimpyArcVerify(damaged)).toMatch(/^error MessageFormatError Unexpected characters in RFC822 header/);
});

describe('crafted chains: a verdict, quickly', () => {
  test('10,000 ARC sets: fail on the count alone, in well under a second of work, no signature checked', async () => {
    const { one } = await listChain();
    const junk = Array.from({ length: 10_000 }, (_, k) => `ARC-Seal: i=${k + 2}; cv=pass; a=rsa-sha256; d=x${k}.example; s=s; b=AAAA\r\nARC-Message-Signature: i=${k + 2}; a=rsa-sha256; d=x${k}.example; s=s; h=from; bh=AAAA; b=AAAA\r\nARC-Authentication-Results: i=${k + 2}; x${k}.example; arc=pass\r\n`).join('');
    const started = Date.now();
    const arc = await verifyArc(parseMessage(Buffer.concat([Buffer.from(junk), one])), resolver);
    expect(Date.now() - started).toBeLessThan(3000);
    expect(arc).toMatchObject({ result: 'fail', reasonCode: 'arc.structure', instances: 10_001, rfc: 'RFC 8617 §4.2.1' });
    expect(arc.reason).toContain('the chain has 10001 instances; at most 50 are allowed');
    expect(arc.sets).toHaveLength(50);
    expect(arc.sets.every((s) => s.seal.result === 'not-checked' && s.messageSignature.result === 'not-checked')).toBe(true);
  });

  test.each([
    ['no i= anywhere', (t: string) => t.replace(/(ARC-[A-Za-z-]+: )i=1;/g, '$1')],
    ['i=0', (t: string) => t.replace(/(ARC-[A-Za-z-]+: )i=1;/g, '$1i=0;')],
    ['two ARC-Seal fields for i=1', (t: string) => t.replace(/(ARC-Seal: [^]*?)(ARC-Message-Signature)/, '$1ARC-Seal: i=1; cv=none; a=rsa-sha256; d=x; s=y; b=\r\n$2')],
    ['a=rsa-sha1 in the seal', (t: string) => t.replace('ARC-Seal: i=1; cv=none; a=rsa-sha256', 'ARC-Seal: i=1; cv=none; a=rsa-sha1')],
    ['an AAR of bare parentheses', (t: string) => t.replace(/ARC-Authentication-Results: i=1;[^]*?\r\n(?=\S)/, 'ARC-Authentication-Results: i=1; ((((((\r\n')],
    ['d= that is no name', (t: string) => t.replace(/d=lists\.example\.org/g, 'd=..bad..')],
    ['a seal with no b=', (t: string) => t.replace(/(ARC-Seal: [^]*?)b=[^;]*?\r\n(?=\S)/, '$1\r\n')],
  ])('%s: fail with a reason, no exception', async (_name, change) => {
    const { one } = await listChain();
    const text = change(one.toString('latin1'));
    expect(text).not.toBe(one.toString('latin1'));
    const arc = await verifyArc(parseMessage(Buffer.from(text, 'latin1')), resolver);
    expect(arc.result).toBe('fail');
    expect(arc.reason).toMatch(/\w/);
    expect(arc.fix).toMatch(/\w/);
  });
});

describe('maildns verify-message (built CLI)', () => {
  test('an ARC section in the text and "arc" in the JSON; an unsealed message says none', async () => {
    const two = await twoInstances();
    const f = path.join(dir, 'two.eml');
    writeFileSync(f, two);
    const ns = `${server.host}:${server.port}`;
    const text = await runCli(['verify-message', f, '--nameserver', ns]);
    expect(text.stderr).toBe('');
    expect(text.code).toBe(1);
    expect(text.stdout).toMatch(/\nARC {2}\(RFC 8617\)\n {2}PASS {2}2 instances, oldest-pass=0\n/);
    expect(text.stdout).toMatch(/\n {3}i=1 cv=none {2}seal pass d=lists\.example\.org s=arc; message signature pass d=lists\.example\.org s=arc; results by lists\.example\.org\n {3}i=2 cv=pass {2}seal pass d=forward\.example\.net/);
    expect(text.stdout).toMatch(/on arrival at the first sealer \(lists\.example\.org\): dkim=pass \(example\.com\), spf=pass \(alice@example\.com\), dmarc=pass/);
    expect(text.stdout).toMatch(/\n arc=pass \(i=2 spf=pass dkim=pass\) header\.oldest-pass=0\n$/);
    const json = JSON.parse((await runCli(['verify-message', f, '--nameserver', ns, '--json'])).stdout) as { arc: { result: string; instances: number; sets: unknown[] }; findings: { code: string }[] };
    expect(json.arc).toMatchObject({ result: 'pass', instances: 2 });
    expect(json.findings.map((x) => x.code)).toContain('arc.dmarc-override-possible');

    expect(json.arc).toMatchObject({ dnsFailed: false });

    const plain = path.join(dir, 'plain.eml');
    writeFileSync(plain, ORIGINAL);
    const none = await runCli(['verify-message', plain, '--nameserver', ns]);
    expect(none.stdout).toMatch(/\nARC {2}\(RFC 8617\)\n {2}NONE {2}the message has no ARC sets/);
    expect(none.stdout).not.toMatch(/\n arc=/);
  });

  test('a sealer\'s key that times out, all else answered: arc=fail, never arc=temperror; arc.dns-temporary; exit 3, as for a DKIM key that times out', async () => {
    const { signed } = await listChain();
    const received = Buffer.concat([withAr(signed, 'slow.example.org; dkim=pass header.d=example.com'), Buffer.from('-- \r\nfooter\r\n')]);
    const sealed = await arcSign(received, 'slow.example.org', listPem, 'slow.example.org', 'none');
    const f = path.join(dir, 'slow.eml');
    writeFileSync(f, sealed);
    const ns = `${server.host}:${server.port}`;
    const text = await runCli(['verify-message', f, '--nameserver', ns, '--timeout', '300']);
    expect(text.stderr).toBe('');
    expect(text.code).toBe(3);
    expect(text.stdout).toMatch(/\nARC {2}\(RFC 8617\)\n {2}FAIL {2}1 instance\n/);
    expect(text.stdout).toMatch(/arc\.dns-temporary .*could not be evaluated/);
    expect(text.stdout).toMatch(/\n arc=fail \(arc\.key-lookup-failed\)\n$/);
    // A signature's own result may be temperror (as a DKIM one's); the chain's is not.
    expect(text.stdout).not.toMatch(/arc=temperror|TEMPERROR/);
    const json = JSON.parse((await runCli(['verify-message', f, '--nameserver', ns, '--timeout', '300', '--json'])).stdout) as { arc: { result: string; dnsFailed: boolean }; dmarc: { result: string }; dkim: { result: string }[]; dnsFailed: boolean; exitCode: number; findings: { code: string; severity: string }[] };
    expect(json.dmarc.result).toBe('fail');
    expect(json.dkim.map((d) => d.result)).toEqual(['fail']);
    expect(json.arc).toMatchObject({ result: 'fail', dnsFailed: true });
    expect(json).toMatchObject({ dnsFailed: true, exitCode: 3 });
    expect(json.findings).toContainEqual({ code: 'arc.dns-temporary', severity: 'error', subject: expect.any(String), message: expect.any(String), fix: expect.any(String), rfc: 'RFC 8617 §4.4' });
  });

  test('a sealer\'s key that times out when its chain could not have overridden the DMARC fail (the first sealer saw no DKIM or SPF pass): still arc.dns-temporary, but exit 1, as a DKIM key that times out does not decide a verdict another identifier decided', async () => {
    const { signed } = await listChain();
    const received = Buffer.concat([withAr(signed, 'slow.example.org; dkim=fail header.d=example.com; spf=softfail smtp.mailfrom=alice@example.com'), Buffer.from('-- \r\nfooter\r\n')]);
    const sealed = await arcSign(received, 'slow.example.org', listPem, 'slow.example.org', 'none');
    const f = path.join(dir, 'slow-no-override.eml');
    writeFileSync(f, sealed);
    const ns = `${server.host}:${server.port}`;
    const json = JSON.parse((await runCli(['verify-message', f, '--nameserver', ns, '--timeout', '300', '--json'])).stdout) as { arc: { result: string; dnsFailed: boolean }; dmarc: { result: string }; dnsFailed: boolean; exitCode: number; findings: { code: string }[] };
    expect(json.dmarc.result).toBe('fail');
    expect(json.arc).toMatchObject({ result: 'fail', dnsFailed: true });
    expect(json.findings.map((x) => x.code)).toContain('arc.dns-temporary');
    expect(json).toMatchObject({ dnsFailed: false, exitCode: 1 });
    expect((await runCli(['verify-message', f, '--nameserver', ns, '--timeout', '300'])).code).toBe(1);
  });

  test('a chain that fails: its verdict (reason and fix) is printed once, in the ARC section, not again among the findings', async () => {
    const { one } = await listChain();
    const f = path.join(dir, 'changed.eml');
    writeFileSync(f, edit(one, 'the notes are below.', 'the notes are NOT below.'));
    const ns = `${server.host}:${server.port}`;
    const text = await runCli(['verify-message', f, '--nameserver', ns]);
    expect(text.code).toBe(1);
    const json = JSON.parse((await runCli(['verify-message', f, '--nameserver', ns, '--json'])).stdout) as { arc: { result: string; reasonCode: string; reason: string; fix: string }; findings: { code: string }[] };
    expect(json.arc).toMatchObject({ result: 'fail', reasonCode: 'arc.ams-fail' });
    const times = (needle: string): number => text.stdout.split(needle).length - 1;
    expect(times(json.arc.reason)).toBe(1);
    expect(times(json.arc.fix)).toBe(1);
    expect(text.stdout).toMatch(/\nARC {2}\(RFC 8617\)\n {2}FAIL {2}1 instance\n {5}the newest ARC-Message-Signature/);
    expect(json.findings.map((x) => x.code)).not.toContain('arc.ams-fail');
  });
});
