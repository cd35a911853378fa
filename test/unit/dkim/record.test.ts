/** DKIM key record parsing and lints, PKCS#1 recognition, and published-key matching. */
import { describe, expect, it } from 'vitest';
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { unquoteCharacterStrings as unpasteRecord } from '../../../src/txt.js';
import { compareWithPrivateKey, decodePublishedKey } from '../../../src/dkim/keys.js';
import { parseDkimKeyRecord, parseTagList } from '../../../src/dkim/parse.js';
import { composeDkimRecord, publicKeyFromPem } from '../../../src/dkim/record.js';
import { validateDkimRecord } from '../../../src/dkim/validate.js';

const pem = (k: ReturnType<typeof generateKeyPairSync>['privateKey']): string => k.export({ type: 'pkcs8', format: 'pem' }).toString();
const rsa2048 = pem(generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey);
const rsa1024 = pem(generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey);
const rsa512 = pem(generateKeyPairSync('rsa', { modulusLength: 512 }).privateKey);
const ed = pem(generateKeyPairSync('ed25519').privateKey);
const recordOf = (p: string): string => composeDkimRecord(publicKeyFromPem(p));
const pkcs1Of = (p: string): string => createPublicKey(p).export({ type: 'pkcs1', format: 'der' }).toString('base64');
const codes = (text: string): string[] => validateDkimRecord(text).findings.map((f) => f.code);

describe('tag lists', () => {
  it('splits tags, unfolds white space and allows one trailing ";"', () => {
    const t = parseTagList(' v = DKIM1 ;k=rsa;\r\n\tp=AB CD\r\n EF;');
    expect(t.tags.map((x) => [x.name, x.value])).toEqual([
      ['v', 'DKIM1'],
      ['k', 'rsa'],
      ['p', 'AB CD EF'],
    ]);
    expect(t.problems).toEqual([]);
    expect(parseDkimKeyRecord('v=DKIM1; p=AB CD\r\n EF').p).toBe('ABCDEF');
  });

  it('reports duplicate tags and malformed pieces', () => {
    expect(parseTagList('k=rsa; k=ed25519').problems.map((p) => p.kind)).toEqual(['duplicate']);
    expect(parseTagList('k=rsa;; p').problems.map((p) => p.kind)).toEqual(['syntax', 'syntax']);
  });

  it('defaults k to rsa and s to *', () => {
    const r = parseDkimKeyRecord('p=');
    expect([r.keyType, r.keyTypeGiven, r.services, r.p]).toEqual(['rsa', false, ['*'], '']);
  });
});

describe('record lints', () => {
  it('passes generated RSA 2048 and Ed25519 records', () => {
    expect(codes(recordOf(rsa2048))).toEqual([]);
    expect(codes(recordOf(ed))).toEqual([]);
    expect(validateDkimRecord(recordOf(ed)).key?.type).toBe('ed25519');
  });

  it('wants v=DKIM1 first when present', () => {
    const p = recordOf(rsa2048).split('p=')[1];
    expect(codes(`k=rsa; v=DKIM1; p=${p}`)).toEqual(['dkim.version-not-first']);
    expect(codes(`v=DKIM2; p=${p}`)).toEqual(['dkim.bad-version']);
    expect(codes(`p=${p}`)).toEqual([]);
  });

  it('checks p= is base64 of a key of the k= type', () => {
    expect(codes('v=DKIM1; p=not*base64')).toEqual(['dkim.key-not-base64']);
    // The base64url alphabet, padding inside, and a length that is not a multiple of four are not base64 either.
    const rsaP = recordOf(rsa2048).split('p=')[1]!;
    // A character outside ASCII (which Node's decoder would read by its low byte) is refused too.
    for (const bad of [rsaP.replace(/\+/g, '-').replace(/\//g, '_'), `${rsaP.slice(0, 8)}=${rsaP.slice(9)}`, rsaP.slice(0, -1), `\u014d${rsaP.slice(1)}`, `${rsaP.slice(0, 20)}\u0141${rsaP.slice(21)}`]) {
      expect(bad).not.toBe(rsaP);
      expect(codes(`v=DKIM1; p=${bad}`)).toEqual(['dkim.key-not-base64']);
    }
    // A key cut short (a DNS form that kept only the first 255 characters, say).
    expect(codes(`v=DKIM1; k=rsa; p=${recordOf(rsa2048).split('p=')[1]!.slice(0, 236)}`)).toEqual(['dkim.key-unreadable']);
    const edP = recordOf(ed).split('p=')[1];
    expect(codes(`v=DKIM1; k=rsa; p=${edP}`)).toEqual(['dkim.key-type-mismatch']);
    expect(codes(`v=DKIM1; k=ed25519; p=${recordOf(rsa2048).split('p=')[1]}`)).toEqual(['dkim.key-type-mismatch']);
    expect(codes(`v=DKIM1; k=dsa; p=${edP}`)).toEqual(['dkim.unknown-key-type']);
  });

  it('recognises a bare PKCS#1 RSA key and gives the SubjectPublicKeyInfo to publish instead', () => {
    const check = validateDkimRecord(`v=DKIM1; k=rsa; p=${pkcs1Of(rsa2048)}`);
    expect(check.form).toBe('pkcs1');
    expect(check.key?.bits).toBe(2048);
    const f = check.findings.find((x) => x.code === 'dkim.key-pkcs1')!;
    expect(f.severity).toBe('error');
    expect(f.fix).toContain(`p=${publicKeyFromPem(rsa2048).p}`);
    expect(decodePublishedKey(pkcs1Of(rsa2048), 'rsa')).toMatchObject({ ok: true, form: 'pkcs1' });
  });

  it('flags Ed25519 published as SubjectPublicKeyInfo instead of the raw key', () => {
    const spki = createPublicKey(ed).export({ type: 'spki', format: 'der' }).toString('base64');
    expect(codes(`v=DKIM1; k=ed25519; p=${spki}`)).toEqual(['dkim.ed25519-spki']);
  });

  it('grades RSA key sizes: under 1024 error, 1024 warning', () => {
    expect(codes(recordOf(rsa512))).toEqual(['dkim.key-too-short']);
    expect(codes(recordOf(rsa1024))).toEqual(['dkim.key-1024']);
    expect(validateDkimRecord(recordOf(rsa1024)).findings[0]!.severity).toBe('warning');
    // rotate keeps the active key's algorithm: the fix names the size, or it makes another 1024-bit key.
    expect(validateDkimRecord(recordOf(rsa1024)).findings[0]!.fix).toMatch(/maildns dkim rotate DOMAIN --algorithm rsa-2048/);
    expect(validateDkimRecord(recordOf(rsa512)).findings[0]!.fix).toMatch(/maildns dkim rotate DOMAIN --algorithm rsa-2048/);
  });

  it('warns about t=y, sha1-only h=, and refuses an s= without email', () => {
    const p = recordOf(rsa2048).split('p=')[1];
    expect(codes(`v=DKIM1; t=y; p=${p}`)).toEqual(['dkim.testing']);
    expect(codes(`v=DKIM1; t=s; p=${p}`)).toEqual([]);
    expect(codes(`v=DKIM1; h=sha1; p=${p}`)).toEqual(['dkim.sha1-only']);
    expect(codes(`v=DKIM1; h=sha1:sha256; p=${p}`)).toEqual([]);
    expect(codes(`v=DKIM1; s=email; p=${p}`)).toEqual([]);
    expect(codes(`v=DKIM1; s=*; p=${p}`)).toEqual([]);
    expect(codes(`v=DKIM1; s=xmpp; p=${p}`)).toEqual(['dkim.service-type']);
  });

  it('treats an empty p= as revoked and a missing p= as an error', () => {
    const revoked = validateDkimRecord('v=DKIM1; p=');
    expect(revoked.revoked).toBe(true);
    expect(revoked.findings.map((f) => [f.code, f.severity])).toEqual([['dkim.revoked', 'warning']]);
    expect(codes('v=DKIM1; k=rsa')).toEqual(['dkim.no-key']);
  });

  // RFC 6376 §3.2: "Tags MUST be interpreted in a case-sensitive manner": P= is an unknown tag, ignored.
  it('names a tag written in another case than a known one, which verifiers ignore', () => {
    const p = recordOf(rsa2048).split('p=')[1];
    const check = validateDkimRecord(`V=DKIM1; k=rsa; P=${p}`);
    expect(check.findings.map((f) => [f.code, f.severity])).toEqual([['dkim.tag-case', 'warning'], ['dkim.tag-case', 'warning'], ['dkim.no-key', 'error']]);
    expect(check.findings[1]!.message).toBe('P= is not p=: tag names are case-sensitive, so verifiers take P= for an unknown tag and ignore it');
    expect(check.findings[2]!.message).toContain('(it has P=');
    // Where the tag itself is there too, the other is just an unknown tag.
    expect(codes(`v=DKIM1; k=rsa; p=${p}; K=x`)).toEqual([]);
  });

  it('reports duplicate tags as errors', () => {
    expect(codes(`v=DKIM1; k=rsa; k=rsa; p=${recordOf(rsa2048).split('p=')[1]}`)).toEqual(['dkim.duplicate-tag']);
  });
});

describe('published key against private key', () => {
  it('matches the same key, also when published as PKCS#1, and not another key', () => {
    expect(compareWithPrivateKey(recordOf(rsa2048), rsa2048).matches).toBe(true);
    expect(compareWithPrivateKey(recordOf(ed), ed).matches).toBe(true);
    expect(compareWithPrivateKey(`v=DKIM1; p=${pkcs1Of(rsa2048)}`, rsa2048).matches).toBe(true);
    expect(compareWithPrivateKey(recordOf(rsa1024), rsa2048).matches).toBe(false);
    expect(compareWithPrivateKey(recordOf(rsa1024), rsa2048).reason).toMatch(/different key/);
    expect(compareWithPrivateKey(recordOf(ed), rsa2048).reason).toMatch(/ed25519/);
    expect(compareWithPrivateKey('v=DKIM1; p=', rsa2048).reason).toMatch(/revoked/);
  });
});

describe('pasted records', () => {
  it('joins quoted zone-file strings', () => {
    expect(unpasteRecord('mail._domainkey IN TXT ( "v=DKIM1; k=rsa; "\n\t "p=AB\\"C" )  ; comment')).toBe('v=DKIM1; k=rsa; p=AB"C');
    expect(unpasteRecord('  v=DKIM1; p=  ')).toBe('v=DKIM1; p=');
  });
});
