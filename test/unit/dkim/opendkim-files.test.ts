/** The OpenDKIM and Postfix files composed from a plan. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { keygenPlan } from '../../../src/dkim/keygen.js';
import { composeOpenDkim, composeSigningTable, postfixMilterAddress } from '../../../src/dkim/opendkim.js';
import { parsePlan } from '../../../src/plan/load.js';
import { shellLine } from '../../../src/steps.js';

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

describe('OpenDKIM files for Debian 12', () => {
  it('writes a plain KeyTable naming the keys in /etc/dkimkeys, a refile: SigningTable with one *@domain line per domain, and TrustedHosts', async () => {
    const plan = await planWithKeys('domains:\n  - domain: example.com\n    dkim: [mail]\n  - domain: example.net\n    dkim: [{selector: s1, algorithm: rsa-1024}]\n');
    const r = composeOpenDkim(plan, { trustedHosts: ['192.0.2.0/24'] });
    expect(r.files.map((f) => [f.name, f.installPath])).toEqual([
      ['TrustedHosts', '/etc/opendkim/TrustedHosts'],
      ['KeyTable', '/etc/opendkim/KeyTable'],
      ['SigningTable', '/etc/opendkim/SigningTable'],
      ['opendkim.conf', '/etc/opendkim.conf'],
      ['postfix-main.cf', null],
    ]);
    expect(body(file(r, 'KeyTable'))).toEqual([
      'mail._domainkey.example.com example.com:mail:/etc/dkimkeys/example.com/mail.private',
      's1._domainkey.example.net example.net:s1:/etc/dkimkeys/example.net/s1.private',
    ]);
    expect(r.entries.map((e) => e.keyPath)).toEqual([path.join(dir, 'keys/example.com/mail.private'), path.join(dir, 'keys/example.net/s1.private')]);
    expect(body(file(r, 'SigningTable'))).toEqual(['*@example.com mail._domainkey.example.com', '*@example.net s1._domainkey.example.net']);
    expect(body(file(r, 'TrustedHosts'))).toEqual(['127.0.0.1', '::1', 'localhost', '192.0.2.0/24']);
    for (const f of r.files) expect(f.content).toMatch(/^# .*\n# Written by maildns from maildns\.yaml/);
  });

  it('writes a complete opendkim.conf: the Debian process settings, a socket inside Postfix\'s chroot, the tables', async () => {
    const plan = await planWithKeys('domains:\n  - domain: example.com\n    dkim: [mail]\n');
    const r = composeOpenDkim(plan);
    const conf = file(r, 'opendkim.conf');
    expect(body(conf).map((l) => l.replace(/\s+/g, ' '))).toEqual([
      'Syslog yes',
      'SyslogSuccess yes',
      'UserID opendkim',
      'UMask 007',
      'PidFile /run/opendkim/opendkim.pid',
      'Socket local:/var/spool/postfix/opendkim/opendkim.sock',
      'Mode sv',
      'Canonicalization relaxed/relaxed',
      'SignatureAlgorithm rsa-sha256',
      'KeyTable /etc/opendkim/KeyTable',
      'SigningTable refile:/etc/opendkim/SigningTable',
      'ExternalIgnoreList refile:/etc/opendkim/TrustedHosts',
      'InternalHosts refile:/etc/opendkim/TrustedHosts',
      'OversignHeaders From',
      'TrustAnchorFile /usr/share/dns/root.key',
    ]);
    expect(conf).not.toMatch(/KeyTable\s+refile:/);
    expect(body(file(r, 'postfix-main.cf'))).toEqual([
      'smtpd_milters = unix:opendkim/opendkim.sock',
      'non_smtpd_milters = $smtpd_milters',
      'milter_default_action = tempfail',
    ]);
    expect(file(r, 'postfix-main.cf')).toMatch(/unix:opendkim\/opendkim\.sock is \/var\/spool\/postfix\/opendkim\/opendkim\.sock/);
    expect(file(r, 'postfix-main.cf')).toMatch(/"accept", which sends it on unsigned/);
  });

  it('prints the Debian steps: adduser postfix opendkim, the socket directory, keys owned by opendkim 0600, opendkim -n, the restart', async () => {
    const plan = await planWithKeys('domains:\n  - domain: example.com\n    dkim: [mail]\n');
    const r = composeOpenDkim(plan);
    const local = path.join(dir, 'keys/example.com/mail.private');
    expect(r.steps.map((s) => shellLine(s.argv))).toEqual([
      'adduser postfix opendkim',
      'install -d -o opendkim -g opendkim -m 0750 /var/spool/postfix/opendkim',
      'install -d -o opendkim -g opendkim -m 0700 /etc/dkimkeys',
      'install -d -o opendkim -g opendkim -m 0700 /etc/dkimkeys/example.com',
      `install -o opendkim -g opendkim -m 0600 ${local} /etc/dkimkeys/example.com/mail.private`,
      'install -d -m 0755 /etc/opendkim',
      'install -m 0644 TrustedHosts KeyTable SigningTable /etc/opendkim/',
      'install -m 0644 opendkim.conf /etc/opendkim.conf',
      'opendkim -n -x /etc/opendkim.conf',
      "postconf -e 'smtpd_milters = unix:opendkim/opendkim.sock' 'non_smtpd_milters = $smtpd_milters' 'milter_default_action = tempfail'",
      'systemctl restart opendkim',
      'systemctl reload postfix',
    ]);
  });

  it('keys made where OpenDKIM reads them (keys_dir = --server-keys-dir) are not copied onto themselves, which install refuses', async () => {
    const plan = await planWithKeys(`defaults: { keys_dir: ${path.join(dir, 'dkimkeys')} }\ndomains:\n  - domain: example.com\n    dkim: [mail]\n`);
    const r = composeOpenDkim(plan, { serverKeysDir: path.join(dir, 'dkimkeys') });
    const key = path.join(dir, 'dkimkeys/example.com/mail.private');
    const lines = r.steps.map((s) => shellLine(s.argv));
    expect(lines.filter((l) => l.includes('mail.private'))).toEqual([`chown opendkim:opendkim ${key}`, `chmod 0600 ${key}`]);
    expect(lines).toContain(`install -d -o opendkim -g opendkim -m 0700 ${path.join(dir, 'dkimkeys/example.com')}`);
  });

  it('refuses a --trusted entry that is no address, network or host name, which OpenDKIM would read without a word', async () => {
    const plan = await planWithKeys('domains:\n  - domain: example.com\n    dkim: [mail]\n');
    const ok = composeOpenDkim(plan, { trustedHosts: ['192.0.2.0/24', '203.0.113.7', '2001:db8::/32', 'relay.example.net', '*.example.org', '!192.0.2.9'] });
    expect(body(file(ok, 'TrustedHosts')).slice(3)).toEqual(['192.0.2.0/24', '203.0.113.7', '2001:db8::/32', 'relay.example.net', '*.example.org', '!192.0.2.9']);
    expect(() => composeOpenDkim(plan, { trustedHosts: ['bad host'] })).toThrow(/^trusted host "bad host" is not an address, a network such as 192\.0\.2\.0\/24 or a host name: it has a label with characters/);
    expect(() => composeOpenDkim(plan, { trustedHosts: ['300.1.1.1/8'] })).toThrow(/^trusted host "300\.1\.1\.1\/8" is not an IPv4 address or network/);
    expect(() => composeOpenDkim(plan, { trustedHosts: ['192.0.2.0/33'] })).toThrow(/prefix length \/33/);
  });

  it('an inet socket needs no socket directory and no group, and may sit anywhere', async () => {
    const plan = await planWithKeys('domains:\n  - domain: example.com\n    dkim: [mail]\n');
    const r = composeOpenDkim(plan, { socket: 'inet:8891@localhost' });
    expect(r.postfixSettings[0]).toMatchObject({ name: 'smtpd_milters', value: 'inet:localhost:8891' });
    expect(r.steps.map((s) => s.argv[0])).not.toContain('adduser');
  });

  it('refuses a unix socket Postfix\'s chroot cannot reach, unless Postfix runs unchrooted', async () => {
    const plan = await planWithKeys('domains:\n  - domain: example.com\n    dkim: [mail]\n');
    expect(() => composeOpenDkim(plan, { socket: 'local:/run/opendkim/opendkim.sock' })).toThrow(
      /\/run\/opendkim\/opendkim\.sock lies outside Postfix's queue directory \/var\/spool\/postfix.*use local:\/var\/spool\/postfix\/opendkim\/opendkim\.sock or inet:8891@localhost/,
    );
    const r = composeOpenDkim(plan, { socket: 'local:/run/opendkim/opendkim.sock', postfixChrooted: false });
    expect(r.postfixSettings[0]!.value).toBe('unix:/run/opendkim/opendkim.sock');
  });

  it('splits RSA and Ed25519 into two complete instances: RSA under the packaged unit, Ed25519 with its own conf, unit, socket and pid file', async () => {
    const plan = await planWithKeys('domains:\n  - domain: example.com\n    dkim: [rsa, {selector: ed, algorithm: ed25519}]\n');
    const r = composeOpenDkim(plan);
    expect(r.instances.map((i) => [i.type, i.socket, i.confPath, i.pidFile, i.unit, i.keyTable])).toEqual([
      ['rsa', 'local:/var/spool/postfix/opendkim/opendkim.sock', '/etc/opendkim.conf', '/run/opendkim/opendkim.pid', 'opendkim', 'KeyTable.rsa'],
      ['ed25519', 'local:/var/spool/postfix/opendkim/opendkim-ed25519.sock', '/etc/opendkim/opendkim-ed25519.conf', '/run/opendkim/opendkim-ed25519.pid', 'opendkim-ed25519', 'KeyTable.ed25519'],
    ]);
    for (const name of ['opendkim.conf', 'opendkim-ed25519.conf']) {
      const conf = file(r, name);
      for (const setting of ['UserID', 'UMask', 'PidFile', 'Syslog', 'Socket', 'SignatureAlgorithm']) expect(conf).toMatch(new RegExp(`^${setting}\\s`, 'm'));
    }
    expect(body(file(r, 'SigningTable.ed25519'))).toEqual(['*@example.com ed._domainkey.example.com']);
    expect(file(r, 'opendkim-ed25519.conf')).toMatch(/SignatureAlgorithm\s+ed25519-sha256/);
    expect(file(r, 'opendkim-ed25519.conf')).toMatch(/\nMode\s+s\n/);
    const unit = file(r, 'opendkim-ed25519.service');
    expect(unit).toMatch(/^ExecStart=\/usr\/sbin\/opendkim -x \/etc\/opendkim\/opendkim-ed25519\.conf$/m);
    expect(unit).toMatch(/^PIDFile=\/run\/opendkim\/opendkim-ed25519\.pid$/m);
    expect(unit).toMatch(/^Type=forking$/m);
    expect(r.files.find((f) => f.name === 'opendkim-ed25519.service')!.installPath).toBe('/etc/systemd/system/opendkim-ed25519.service');
    expect(body(file(r, 'postfix-main.cf'))[0]).toBe('smtpd_milters = unix:opendkim/opendkim.sock, unix:opendkim/opendkim-ed25519.sock');
    const lines = r.steps.map((s) => shellLine(s.argv));
    expect(lines).toContain('opendkim -n -x /etc/opendkim/opendkim-ed25519.conf');
    expect(lines.slice(-4)).toEqual(['systemctl daemon-reload', 'systemctl enable opendkim-ed25519', 'systemctl restart opendkim opendkim-ed25519', 'systemctl reload postfix']);
  });

  it('inet sockets: the second instance takes the next port', async () => {
    const plan = await planWithKeys('domains:\n  - domain: example.com\n    dkim: [rsa, {selector: ed, algorithm: ed25519}]\n');
    const r = composeOpenDkim(plan, { socket: 'inet:12301@127.0.0.1' });
    expect(r.instances.map((i) => i.socket)).toEqual(['inet:12301@127.0.0.1', 'inet:12302@127.0.0.1']);
    expect(r.postfixSettings[0]!.value).toBe('inet:127.0.0.1:12301, inet:127.0.0.1:12302');
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

  it('writes nothing when keys are missing, and names every missing one', async () => {
    const yaml = 'domains:\n  - domain: example.com\n    dkim: [mail, {selector: ed, algorithm: ed25519}]\n';
    const plan = parsePlan(yaml, path.join(dir, 'maildns.yaml'));
    const r = composeOpenDkim(plan, { configDir: '/c' });
    expect(r.files).toEqual([]);
    expect(r.steps).toEqual([]);
    expect(r.missingKeys).toEqual([
      { domain: 'example.com', selector: 'mail', keyPath: path.join(dir, 'keys/example.com/mail.private') },
      { domain: 'example.com', selector: 'ed', keyPath: path.join(dir, 'keys/example.com/ed.private') },
    ]);
  });

  it('refuses a key whose type is not the plan\'s algorithm', async () => {
    const plan = await planWithKeys('domains:\n  - domain: example.com\n    dkim: [{selector: ed, algorithm: ed25519}]\n');
    const wrong = parsePlan('domains:\n  - domain: example.com\n    dkim: [{selector: ed, algorithm: rsa-2048}]\n', plan.file!);
    expect(() => composeOpenDkim(wrong)).toThrow(/ed\.private: this is an Ed25519 key, but the plan gives example\.com selector ed the algorithm rsa-2048/);
  });

  it('never writes a catch-all SigningTable line', () => {
    expect(() => composeSigningTable([{ domain: '*', selector: 's', keyPath: '/k', serverKeyPath: '/k', type: 'rsa', signs: true }])).toThrow(/\*@\*/);
  });

  it('converts OpenDKIM sockets to Postfix milter addresses', () => {
    expect(postfixMilterAddress('inet:8891@localhost')).toBe('inet:localhost:8891');
    expect(postfixMilterAddress('inet6:8891@::1')).toBe('inet:[::1]:8891');
    expect(postfixMilterAddress('local:/var/spool/postfix/opendkim/opendkim.sock')).toBe('unix:opendkim/opendkim.sock');
    expect(postfixMilterAddress('local:/srv/q/od/x.sock', { postfixQueueDir: '/srv/q' })).toBe('unix:od/x.sock');
    expect(() => postfixMilterAddress('local:/run/opendkim/opendkim.sock')).toThrow(/outside Postfix's queue directory/);
    expect(() => postfixMilterAddress('8891')).toThrow(/inet:PORT@HOST/);
    expect(() => postfixMilterAddress('local:relative.sock')).toThrow(/absolute path/);
  });
});
