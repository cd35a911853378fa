/** The OpenDKIM and Postfix files composed from a plan. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { keygenPlan } from '../../../src/dkim/keygen.js';
import { composeOpenDkim, composeSigningTable, postfixMilterAddress, signingTableCatchAlls } from '../../../src/dkim/opendkim.js';
import { parsePlan } from '../../../src/plan/load.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'maildns-odfiles-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

async function planWithKeys(yaml: string) {
  const file = path.join(dir, 'maildns.yaml');
  writeFileSync(file, yaml);
  const plan = parsePlan(yaml, file);
  await keygenPlan(plan);
  return plan;
}

const body = (text: string): string[] => text.split('\n').filter((l) => l && !l.startsWith('#'));
const file = (r: ReturnType<typeof composeOpenDkim>, name: string): string => r.files.find((f) => f.name === name)!.content;

describe('OpenDKIM files', () => {
  it('writes a plain KeyTable, a refile: SigningTable with one *@domain line per domain, and TrustedHosts', async () => {
    const plan = await planWithKeys('domains:\n  - domain: example.com\n    dkim: [mail]\n  - domain: example.net\n    dkim: [{selector: s1, algorithm: rsa-1024}]\n');
    const r = composeOpenDkim(plan, { configDir: '/etc/opendkim', trustedHosts: ['192.0.2.0/24'] });
    expect(r.files.map((f) => f.name)).toEqual(['TrustedHosts', 'KeyTable', 'SigningTable', 'opendkim.conf', 'postfix-main.cf']);
    const keys = path.join(dir, 'keys');
    expect(body(file(r, 'KeyTable'))).toEqual([
      `mail._domainkey.example.com example.com:mail:${keys}/example.com/mail.private`,
      `s1._domainkey.example.net example.net:s1:${keys}/example.net/s1.private`,
    ]);
    expect(body(file(r, 'SigningTable'))).toEqual(['*@example.com mail._domainkey.example.com', '*@example.net s1._domainkey.example.net']);
    expect(body(file(r, 'TrustedHosts'))).toEqual(['127.0.0.1', '::1', 'localhost', '192.0.2.0/24']);
    for (const f of r.files) expect(f.content).toMatch(/^# .*\n# Written by maildns from maildns\.yaml/);
    const conf = file(r, 'opendkim.conf');
    expect(body(conf).map((l) => l.replace(/\s+/g, ' '))).toEqual([
      'Socket inet:8891@localhost',
      'Mode sv',
      'Canonicalization relaxed/relaxed',
      'SignatureAlgorithm rsa-sha256',
      'KeyTable /etc/opendkim/KeyTable',
      'SigningTable refile:/etc/opendkim/SigningTable',
      'ExternalIgnoreList refile:/etc/opendkim/TrustedHosts',
      'InternalHosts refile:/etc/opendkim/TrustedHosts',
      'OversignHeaders From',
    ]);
    expect(conf).not.toMatch(/KeyTable\s+refile:/);
    expect(body(file(r, 'postfix-main.cf'))).toEqual([
      'smtpd_milters = inet:localhost:8891',
      'non_smtpd_milters = $smtpd_milters',
      'milter_default_action = accept',
      'milter_protocol = 6',
    ]);
    expect(r.chown).toBe(`chown -R opendkim:opendkim ${keys}`);
  });

  it('splits RSA and Ed25519 keys into two instances with their own tables, sockets and algorithm', async () => {
    const plan = await planWithKeys('domains:\n  - domain: example.com\n    dkim: [rsa, {selector: ed, algorithm: ed25519}]\n');
    const r = composeOpenDkim(plan, { configDir: '/etc/opendkim', socket: 'inet:12301@127.0.0.1' });
    expect(r.instances.map((i) => [i.type, i.socket, i.conf, i.keyTable, i.signingTable])).toEqual([
      ['rsa', 'inet:12301@127.0.0.1', 'opendkim-rsa.conf', 'KeyTable.rsa', 'SigningTable.rsa'],
      ['ed25519', 'inet:12302@127.0.0.1', 'opendkim-ed25519.conf', 'KeyTable.ed25519', 'SigningTable.ed25519'],
    ]);
    expect(body(file(r, 'SigningTable.ed25519'))).toEqual(['*@example.com ed._domainkey.example.com']);
    expect(file(r, 'opendkim-ed25519.conf')).toMatch(/SignatureAlgorithm\s+ed25519-sha256/);
    expect(file(r, 'opendkim-ed25519.conf')).toMatch(/\nMode\s+s\n/);
    expect(file(r, 'opendkim-ed25519.conf')).toMatch(/one SignatureAlgorithm per/);
    expect(body(file(r, 'postfix-main.cf'))[0]).toBe('smtpd_milters = inet:127.0.0.1:12301, inet:127.0.0.1:12302');
    expect(r.notes.join('\n')).toMatch(/two/);
  });

  it('signs only with active selectors, keeps published ones in the KeyTable, and turns on MultipleSignatures when needed', async () => {
    const plan = await planWithKeys(
      'domains:\n  - domain: example.com\n    dkim:\n      - {selector: old, state: retiring}\n      - {selector: a1}\n      - {selector: a2, state: active}\n      - {selector: new, state: published}\n',
    );
    const r = composeOpenDkim(plan, { configDir: '/c' });
    expect(body(file(r, 'KeyTable')).map((l) => l.split(' ')[0])).toEqual(['old._domainkey.example.com', 'a1._domainkey.example.com', 'a2._domainkey.example.com', 'new._domainkey.example.com']);
    expect(body(file(r, 'SigningTable'))).toEqual(['*@example.com a1._domainkey.example.com', '*@example.com a2._domainkey.example.com']);
    expect(file(r, 'opendkim.conf')).toMatch(/MultipleSignatures\s+yes/);
  });

  it('leaves out selectors without a key and says so', async () => {
    const yaml = 'domains:\n  - domain: example.com\n    dkim: [mail]\n';
    const plan = parsePlan(yaml, path.join(dir, 'maildns.yaml'));
    const r = composeOpenDkim(plan, { configDir: '/c' });
    expect(r.instances).toEqual([]);
    expect(r.notes.join('\n')).toMatch(/no key yet/);
  });

  it('never writes a catch-all SigningTable line and spots one in an existing table', () => {
    expect(() => composeSigningTable([{ domain: '*', selector: 's', keyPath: '/k', type: 'rsa', signs: true }])).toThrow(/\*@\*/);
    expect(signingTableCatchAlls('# x\n*@example.com a\n*@* b._domainkey.example.com\n')).toEqual(['*@* b._domainkey.example.com']);
  });

  it('converts OpenDKIM sockets to Postfix milter addresses', () => {
    expect(postfixMilterAddress('inet:8891@localhost')).toBe('inet:localhost:8891');
    expect(postfixMilterAddress('inet6:8891@::1')).toBe('inet:[::1]:8891');
    expect(postfixMilterAddress('local:/run/opendkim/opendkim.sock')).toBe('unix:/run/opendkim/opendkim.sock');
    expect(() => postfixMilterAddress('8891')).toThrow(/inet:PORT@HOST/);
  });
});
