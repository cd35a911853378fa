import { createHash, X509Certificate } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rmSync } from 'node:fs';
import { associationData, composeTlsa311, daneFindings, matchingTlsa, tlsaName, unusableForSmtp } from '../../../src/dnssec/tlsa.js';
import type { StartTlsProbe } from '../../../src/starttls/probe.js';
import { makeTestCa, type TestCa } from '../../helpers/https.js';

describe('TLSA records for SMTP', () => {
  it('live at _25._tcp.<MX host>', () => {
    expect(tlsaName('mx.example.test.')).toBe('_25._tcp.mx.example.test');
  });

  it('are usable with usages 2 and 3 only, defined selectors and matching types, and digests of the right length', () => {
    const sha256 = 'ab'.repeat(32);
    expect(unusableForSmtp({ usage: 3, selector: 1, matchingType: 1, data: sha256 })).toBeNull();
    expect(unusableForSmtp({ usage: 2, selector: 0, matchingType: 2, data: 'cd'.repeat(64) })).toBeNull();
    expect(unusableForSmtp({ usage: 1, selector: 1, matchingType: 1, data: sha256 })).toMatch(/PKIX-EE/);
    expect(unusableForSmtp({ usage: 0, selector: 1, matchingType: 1, data: sha256 })).toMatch(/PKIX-TA/);
    expect(unusableForSmtp({ usage: 4, selector: 1, matchingType: 1, data: sha256 })).toMatch(/usage 4/);
    expect(unusableForSmtp({ usage: 3, selector: 2, matchingType: 1, data: sha256 })).toMatch(/selector 2/);
    expect(unusableForSmtp({ usage: 3, selector: 1, matchingType: 3, data: sha256 })).toMatch(/matching type 3/);
    expect(unusableForSmtp({ usage: 3, selector: 1, matchingType: 1, data: 'ab'.repeat(31) })).toMatch(/32 octets, this one is 31/);
  });
});

describe('matching a presented chain against TLSA records', () => {
  let ca: TestCa;
  let leaf: X509Certificate;
  let other: X509Certificate;
  let root: X509Certificate;
  beforeAll(() => {
    ca = makeTestCa();
    leaf = new X509Certificate(ca.issue(['mx.example.test']).cert);
    other = new X509Certificate(ca.issue(['mx.example.test']).cert);
    root = new X509Certificate(ca.caPem);
  });
  afterAll(() => rmSync(ca.dir, { recursive: true, force: true }));

  it('DANE-EE: 3 1 1 is the SHA-256 of the SubjectPublicKeyInfo, 3 0 1 of the whole certificate', () => {
    const spki = leaf.publicKey.export({ type: 'spki', format: 'der' });
    const r311 = composeTlsa311(spki);
    expect(r311.data).toBe(createHash('sha256').update(spki).digest('hex'));
    expect(matchingTlsa([r311], [leaf, root], 'mx.example.test')).toEqual(r311);
    const r301 = { usage: 3, selector: 0, matchingType: 1, data: createHash('sha256').update(leaf.raw).digest('hex') };
    expect(matchingTlsa([r301], [leaf], 'any.name.test')).toEqual(r301);
    expect(associationData(leaf, 1, 2)).toBe(createHash('sha512').update(spki).digest('hex'));
    // Another key: no match, whatever else the records say.
    expect(matchingTlsa([r311, r301], [other, root], 'mx.example.test')).toBeNull();
  });

  it('DANE-TA: a certificate above the leaf that signed it, with the leaf naming the host', () => {
    const ta = { usage: 2, selector: 1, matchingType: 1, data: associationData(root, 1, 1)! };
    expect(matchingTlsa([ta], [leaf, root], 'mx.example.test')).toEqual(ta);
    expect(matchingTlsa([ta], [leaf, root], 'mx.elsewhere.test')).toBeNull();
    // The anchor must be in the chain the server sends, and the leaf is not its own anchor.
    expect(matchingTlsa([ta], [leaf], 'mx.example.test')).toBeNull();
    expect(matchingTlsa([{ ...ta, data: associationData(leaf, 1, 1)! }], [leaf, root], 'mx.example.test')).toBeNull();
  });

  it('ignores records SMTP cannot use, even when their data matches', () => {
    const pkix = { usage: 1, selector: 1, matchingType: 1, data: associationData(leaf, 1, 1)! };
    expect(matchingTlsa([pkix], [leaf, root], 'mx.example.test')).toBeNull();
  });
});

describe('the DANE verdict of a STARTTLS probe', () => {
  const records = [{ usage: 3, selector: 1, matchingType: 1, data: 'ab'.repeat(32) }];
  const text = `3 1 1 ${'ab'.repeat(32)}`;
  const refused: StartTlsProbe = { host: 'mx.old.test', address: '127.0.0.1', port: 25, state: 'handshake-failed', step: 'handshake', detail: 'tlsv1 alert protocol version' };
  const codes = (p: StartTlsProbe): string[][] => daneFindings(p, records).map((f) => [f.code, f.severity]);

  it('no TLS session at all (TLS 1.2 and 1.3 refused, no second session got one): dane.no-tls', () => {
    expect(codes(refused)).toEqual([['dane.no-tls', 'error']]);
  });

  it('TLS 1.2 and 1.3 refused but a TLS 1.0 session had: judged on the chain that session presented, not as no TLS', () => {
    const legacyTls = { tlsVersion: 'TLSv1', cipher: 'ECDHE-RSA-AES256-SHA' };
    const matched = daneFindings({ ...refused, legacyTls, dane: { tlsa: [text], matched: text } }, records);
    expect(matched.map((f) => [f.code, f.severity])).toEqual([['dane.match', 'info']]);
    expect(matched[0]!.message).toContain('in a TLSv1 session');
    const unmatched = daneFindings({ ...refused, legacyTls, dane: { tlsa: [text], matched: null } }, records);
    expect(unmatched.map((f) => [f.code, f.severity])).toEqual([['dane.no-match', 'error']]);
    expect(unmatched[0]!.message).toContain('in a TLSv1 session');
  });
});
