/** keygen: permissions, no overwrite, --force with backup, key formats, the .txt file, records. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createPrivateKey } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ensureSelectorKey, genkeyTxt, keygenPlan } from '../../../src/dkim/keygen.js';
import { validateDkimRecord } from '../../../src/dkim/validate.js';
import { writeFileAtomic } from '../../../src/fsutil.js';
import { parsePlan } from '../../../src/plan/load.js';
import { composePlan } from '../../../src/plan/records.js';
import { splitCharacterStrings } from '../../../src/txt.js';

let dir: string;
const mode = (p: string): number => statSync(p).mode & 0o777;

function planIn(yaml: string) {
  const file = path.join(dir, 'maildns.yaml');
  writeFileSync(file, yaml);
  return parsePlan(yaml, file);
}

beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'maildns-keygen-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('keygen', () => {
  it('writes 0600 PEM keys in 0700 directories, RSA 2048 by default and Ed25519 as PKCS#8', async () => {
    const plan = planIn('domains:\n  - domain: example.com\n    dkim: [mail, {selector: ed, algorithm: ed25519}]\n');
    const results = await keygenPlan(plan);
    expect(results.map((r) => [r.selector, r.status, r.algorithm, r.bits])).toEqual([
      ['mail', 'created', 'rsa-2048', 2048],
      ['ed', 'created', 'ed25519', 256],
    ]);
    const keys = path.join(dir, 'keys');
    expect(mode(keys)).toBe(0o700);
    expect(mode(path.join(keys, 'example.com'))).toBe(0o700);
    const rsa = path.join(keys, 'example.com', 'mail.private');
    const ed = path.join(keys, 'example.com', 'ed.private');
    expect(mode(rsa)).toBe(0o600);
    expect(mode(ed)).toBe(0o600);
    expect(readFileSync(ed, 'utf8')).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    expect(createPrivateKey(readFileSync(ed, 'utf8')).asymmetricKeyType).toBe('ed25519');
    expect(createPrivateKey(readFileSync(rsa, 'utf8')).asymmetricKeyDetails?.modulusLength).toBe(2048);
    // No temporary files left behind.
    expect(readdirSync(path.join(keys, 'example.com')).sort()).toEqual(['ed.private', 'ed.txt', 'mail.private', 'mail.txt']);
  });

  it('puts the Ed25519 public key in the record as the raw 32 bytes (44 base64 characters)', async () => {
    const plan = planIn('domains:\n  - domain: example.com\n    dkim: [{selector: ed, algorithm: ed25519}]\n');
    const [r] = await keygenPlan(plan);
    const p = /p=(\S+)$/.exec(r!.record)![1]!;
    expect(p).toHaveLength(44);
    expect(Buffer.from(p, 'base64')).toHaveLength(32);
    expect(r!.record).toBe(`v=DKIM1; k=ed25519; p=${p}`);
    expect(validateDkimRecord(r!.record).findings).toEqual([]);
  });

  it('never overwrites an existing key and reuses it', async () => {
    const plan = planIn('domains:\n  - domain: example.com\n    dkim: [mail]\n');
    const [first] = await keygenPlan(plan);
    const before = readFileSync(first!.keyPath, 'utf8');
    const [again] = await keygenPlan(plan);
    expect(again!.status).toBe('kept');
    expect(again!.record).toBe(first!.record);
    expect(readFileSync(first!.keyPath, 'utf8')).toBe(before);
    // Even a race that creates the file between check and write cannot make it overwrite.
    expect(() => writeFileAtomic(first!.keyPath, 'x', { mode: 0o600, exclusive: true })).toThrow(/EEXIST/);
    expect(readFileSync(first!.keyPath, 'utf8')).toBe(before);
  });

  it('refuses a key file that holds no private key, naming it, and leaves it as it was', async () => {
    const plan = planIn('domains:\n  - domain: example.com\n    dkim: [mail]\n');
    const [first] = await keygenPlan(plan);
    writeFileSync(first!.keyPath, '-----BEGIN PRIVATE KEY-----\ncut short\n', { mode: 0o600 });
    await expect(keygenPlan(plan)).rejects.toThrow(new RegExp(`^${first!.keyPath}: not a readable DKIM private key: .+; move it away, or replace it`));
    expect(readFileSync(first!.keyPath, 'utf8')).toBe('-----BEGIN PRIVATE KEY-----\ncut short\n');
  });

  it('says what is wrong with a key file in its own terms (empty, no PEM key, cut short), never as an OpenSSL decoder error, and leaves it as it was', async () => {
    const plan = planIn('domains:\n  - domain: example.com\n    dkim: [mail]\n');
    const [first] = await keygenPlan(plan);
    const fix = 'move it away, or replace it with `maildns keygen --force` (which keeps it as a backup)';
    const cases: [string, string][] = [
      ['', 'the file is empty'],
      ['\n', 'the file is empty'],
      ['v=DKIM1; k=rsa; p=MIIB\n', 'it holds no PEM private key (a "-----BEGIN PRIVATE KEY-----" block)'],
      ['-----BEGIN PRIVATE KEY-----\ncut short\n', 'its PEM private key cannot be decoded (cut short or damaged)'],
      ['-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIB\n-----END ENCRYPTED PRIVATE KEY-----\n', 'it is encrypted with a passphrase, which OpenDKIM and maildns cannot give (write it out unencrypted: openssl pkey -in KEY -out KEY.new)'],
    ];
    for (const [content, why] of cases) {
      writeFileSync(first!.keyPath, content, { mode: 0o600 });
      await expect(keygenPlan(plan)).rejects.toThrow(`${first!.keyPath}: not a readable DKIM private key: ${why}; ${fix}`);
      expect(readFileSync(first!.keyPath, 'utf8')).toBe(content);
    }
  });

  it('--force replaces the key and keeps the old one as a timestamped 0600 backup', async () => {
    const plan = planIn('domains:\n  - domain: example.com\n    dkim: [mail]\n');
    const [first] = await keygenPlan(plan);
    const before = readFileSync(first!.keyPath, 'utf8');
    const [forced] = await keygenPlan(plan, { force: true, now: new Date('2026-11-23T16:14:00Z') });
    expect(forced!.status).toBe('replaced');
    expect(forced!.backup).toBe(`${first!.keyPath}.20261123T161400Z.bak`);
    expect(readFileSync(forced!.backup!, 'utf8')).toBe(before);
    expect(mode(forced!.backup!)).toBe(0o600);
    expect(readFileSync(first!.keyPath, 'utf8')).not.toBe(before);
    expect(mode(first!.keyPath)).toBe(0o600);
    expect(forced!.record).not.toBe(first!.record);
    // The record published for the selector is the old key's until it is changed.
    expect(forced!.recordChanged).toBe(true);
    expect(forced!.warnings).toEqual([expect.stringContaining(`the old key, kept as ${forced!.backup}, may still be published at mail._domainkey.example.com`)]);
  });

  it('warns about 1024-bit keys, and about a kept key that others can read or that differs from the plan', async () => {
    const plan = planIn('domains:\n  - domain: example.com\n    dkim: [{selector: old, algorithm: rsa-1024}]\n');
    const [r] = await keygenPlan(plan);
    expect(r!.bits).toBe(1024);
    expect(r!.warnings.join('\n')).toMatch(/1024-bit RSA/);
    expect(r!.problem).toBe(false);
    chmodSync(r!.keyPath, 0o644);
    const changed = planIn('domains:\n  - domain: example.com\n    dkim: [{selector: old, algorithm: ed25519}]\n');
    const [kept] = await keygenPlan(changed);
    expect(kept!.status).toBe('kept');
    expect(kept!.problem).toBe(true);
    expect(kept!.warnings.join('\n')).toMatch(/chmod 600/);
    expect(kept!.warnings.join('\n')).toMatch(/asks for ed25519 but the existing key is rsa-1024/);
  });

  it('honours the keys directory of the plan and an explicit key path', async () => {
    const plan = planIn('defaults:\n  keys_dir: secret\ndomains:\n  - domain: example.com\n    dkim: [mail, {selector: x, key: elsewhere/x.pem}]\n');
    const results = await keygenPlan(plan);
    expect(results[0]!.keyPath).toBe(path.join(dir, 'secret', 'example.com', 'mail.private'));
    expect(results[1]!.keyPath).toBe(path.join(dir, 'elsewhere', 'x.pem'));
    expect(results[1]!.txtPath).toBe(path.join(dir, 'elsewhere', 'x.txt'));
    expect(existsSync(results[1]!.txtPath)).toBe(true);
    expect(mode(path.join(dir, 'elsewhere'))).toBe(0o700);
  });

  it('writes <selector>.txt in the layout of opendkim-genkey, strings of at most 255 octets', async () => {
    const plan = planIn('domains:\n  - domain: example.com\n    dkim: [{selector: sel, hash: [sha256]}]\n');
    const [r] = await keygenPlan(plan);
    const txt = readFileSync(r!.txtPath, 'utf8');
    expect(txt).toMatch(/^sel\._domainkey\tIN\tTXT\t\( "v=DKIM1; h=sha256; k=rsa; "\n\t  "p=[A-Za-z0-9+/]+"\n\t  "[A-Za-z0-9+/=]+" \)  ; ----- DKIM key sel for example\.com\n$/);
    const strings = [...txt.matchAll(/"([^"]*)"/g)].map((m) => m[1]!);
    expect(strings.every((s) => s.length <= 255)).toBe(true);
    expect(strings.join('')).toBe(r!.record);
    expect(genkeyTxt('example.com', 'e', 'v=DKIM1; k=ed25519; p=AAAA')).toBe('e._domainkey\tIN\tTXT\t( "v=DKIM1; k=ed25519; "\n\t  "p=AAAA" )  ; ----- DKIM key e for example.com\n');
  });
});

describe('the DKIM record in `maildns records`', () => {
  it('appears once the key exists, with t=y, h= and s= from the plan', async () => {
    const plan = planIn(
      'domains:\n  - domain: example.com\n    dkim:\n      - selector: mail\n        testing: true\n        hash: [sha256]\n        service: email\n',
    );
    expect(composePlan(plan)[0]!.records.filter((r) => r.purpose?.startsWith('dkim'))).toEqual([]);
    const d = plan.domains[0]!;
    const key = await ensureSelectorKey(plan, d, d.dkim[0]!);
    const rec = composePlan(plan)[0]!.records.find((r) => r.purpose === 'dkim:mail')!;
    expect(rec.name).toBe('mail._domainkey.example.com');
    expect(rec.type).toBe('TXT');
    expect(rec.value).toMatch(/^v=DKIM1; h=sha256; k=rsa; s=email; t=y; p=MIIB[A-Za-z0-9+/=]+$/);
    expect(rec.value).toBe(key.record);
    expect(splitCharacterStrings(rec.value).length).toBe(2);
    expect(validateDkimRecord(rec.value).findings.map((f) => f.code)).toEqual(['dkim.testing']);
  });
});
