/** `maildns postfix` as a library: the seeds' Postfix set-up composed from the plan's mail_host. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parsePlan } from '../../../src/plan/load.js';
import { composePostfix, relayhostValue } from '../../../src/postfix/compose.js';
import { parseMainCf } from '../../../src/postfix/main-cf.js';
import { shellLine } from '../../../src/steps.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'maildns-postfix-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const SECRET = 'correct horse battery staple';

function plan(mailHost: string, dkim = '[mail, {selector: ed, algorithm: ed25519}]') {
  const file = path.join(dir, 'maildns.yaml');
  const text = `domains:\n  - domain: example.com\n    mx: [mail.example.com]\n    dkim: ${dkim}\nmail_host:\n${mailHost}`;
  writeFileSync(file, text);
  return parsePlan(text, file);
}

const RELAY = `  relay:\n    host: smtp.relay.example.net\n    username: example-com\n    password_env: RELAY_PASSWORD\n`;
const settings = (r: ReturnType<typeof composePostfix>): Record<string, string> => Object.fromEntries(r.mainCf.map((s) => [s.name, s.value]));

describe('composePostfix', () => {
  it('writes the seeds\' relay set-up: bracketed relayhost with port, SMTP AUTH over required TLS, the password map and its postmap step', () => {
    const r = composePostfix(plan(`  hostname: mail.example.com\n${RELAY}`), { env: { RELAY_PASSWORD: SECRET } });
    const s = settings(r);
    expect(s).toMatchObject({
      myhostname: 'mail.example.com',
      mydomain: 'example.com',
      myorigin: '$mydomain',
      mynetworks: '127.0.0.0/8 [::ffff:127.0.0.0]/104 [::1]/128',
      smtpd_relay_restrictions: 'permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination',
      relayhost: '[smtp.relay.example.net]:587',
      smtp_sasl_auth_enable: 'yes',
      smtp_sasl_password_maps: 'hash:/etc/postfix/sasl_passwd',
      smtp_sasl_security_options: 'noanonymous',
      smtp_tls_security_level: 'encrypt',
      smtpd_milters: 'unix:opendkim/opendkim.sock, unix:opendkim/opendkim-ed25519.sock',
      non_smtpd_milters: '$smtpd_milters',
      milter_default_action: 'tempfail',
    });
    const map = r.files.find((f) => f.name === 'sasl_passwd')!;
    expect(map).toMatchObject({ installPath: '/etc/postfix/sasl_passwd', mode: 0o600, secret: true });
    expect(map.content.split('\n').filter((l) => l && !l.startsWith('#'))).toEqual([`[smtp.relay.example.net]:587 example-com:${SECRET}`]);
    const lines = r.steps.map((x) => shellLine(x.argv));
    expect(lines.slice(0, 2)).toEqual(['install -o root -g root -m 0600 sasl_passwd /etc/postfix/sasl_passwd', 'postmap hash:/etc/postfix/sasl_passwd']);
    expect(lines.slice(-2)).toEqual(['postfix check', 'systemctl reload postfix']);
    // The lines file reads back as the same settings.
    const main = parseMainCf(r.files.find((f) => f.name === 'postfix-main.cf')!.content);
    expect(Object.fromEntries([...main].map(([k, v]) => [k, v.value]))).toEqual(s);
  });

  it('never puts the password anywhere but the map', () => {
    const r = composePostfix(plan(RELAY), { env: { RELAY_PASSWORD: SECRET } });
    const shown = JSON.stringify({ mainCf: r.mainCf, masterCf: r.masterCf, steps: r.steps, notes: r.notes, files: r.files.filter((f) => !f.secret) });
    expect(shown).not.toContain(SECRET);
  });

  it('names the plan line when the password is missing, and never echoes a value', () => {
    expect(() => composePostfix(plan(RELAY), { env: {} })).toThrow(/maildns\.yaml:9: the relay password is to come from the environment variable RELAY_PASSWORD, which is not set; set it to the password/);
    // RELAY_PASSWORD= (set, empty) is not "not set".
    expect(() => composePostfix(plan(RELAY), { env: { RELAY_PASSWORD: '' } })).toThrow(/maildns\.yaml:9: the relay password is to come from the environment variable RELAY_PASSWORD, which is set but empty; set it to the password/);
    const fileRelay = `  relay:\n    host: smtp.relay.example.net\n    username: example-com\n    password_file: relay-password\n`;
    expect(() => composePostfix(plan(fileRelay))).toThrow(/relay-password: the relay password file named by the plan \(maildns\.yaml:9\) does not exist/);
    writeFileSync(path.join(dir, 'relay-password'), `${SECRET}\nsecond line\n`, { mode: 0o600 });
    let message = '';
    try {
      composePostfix(plan(fileRelay));
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/relay-password holds more than one line/);
    expect(message).not.toContain(SECRET);
    writeFileSync(path.join(dir, 'relay-password'), `${SECRET}\n`);
    chmodSync(path.join(dir, 'relay-password'), 0o644);
    const r = composePostfix(plan(fileRelay));
    expect(r.notes.join('\n')).toMatch(/relay-password holds the relay password and is readable by others \(mode 0644\): chmod 600/);
    expect(r.files.find((f) => f.secret)!.content).toContain(`example-com:${SECRET}\n`);
  });

  it('port 465 speaks TLS at once; an IPv6 relay is written the Postfix way', () => {
    const r = composePostfix(plan('  relay: { host: smtp.relay.example.net, port: 465 }\n'));
    expect(settings(r)).toMatchObject({ relayhost: '[smtp.relay.example.net]:465', smtp_tls_wrappermode: 'yes', smtp_tls_security_level: 'encrypt' });
    expect(settings(r)['smtp_sasl_auth_enable']).toBeUndefined();
    expect(relayhostValue({ host: '2001:db8::25', port: 587 })).toBe('[ipv6:2001:db8::25]:587');
  });

  it('adds the submission service: TLS first, AUTH only over TLS, relay only for users who logged in', () => {
    const r = composePostfix(plan('  submission: { sasl: dovecot }\n'));
    expect(settings(r)).toMatchObject({ smtpd_tls_auth_only: 'yes', smtpd_sasl_type: 'dovecot', smtpd_sasl_path: 'private/auth', smtpd_tls_security_level: 'may' });
    expect(r.masterCf.map((m) => m.service)).toEqual(['submission', 'maildns-selftest']);
    const lines = r.steps.map((x) => shellLine(x.argv));
    expect(lines).toContain("postconf -M 'submission/inet=submission inet n - y - - smtpd'");
    const p = lines.find((l) => l.startsWith('postconf -P'))!;
    for (const o of ['smtpd_tls_security_level=encrypt', 'smtpd_sasl_auth_enable=yes', 'smtpd_tls_auth_only=yes', 'smtpd_relay_restrictions=permit_sasl_authenticated,reject']) expect(p).toContain(`submission/inet/${o}`);
    const dovecot = r.files.find((f) => f.name === 'dovecot-postfix-auth.conf')!;
    expect(dovecot.content).toMatch(/unix_listener \/var\/spool\/postfix\/private\/auth \{/);
    expect(dovecot.installPath).toBe('/etc/dovecot/conf.d/99-maildns-postfix-auth.conf');
    expect(r.files.find((f) => f.name === 'postfix-master.cf')!.content).toMatch(/^submission inet\s+n\s+-\s+y\s+-\s+-\s+smtpd\n  -o syslog_name=postfix\/submission$/m);
  });

  it('with Cyrus SASL: smtpd.conf for saslauthd, and saslauthd\'s socket moved inside the chroot', () => {
    const r = composePostfix(plan('  submission: { sasl: cyrus, port: 2587 }\n'));
    expect(r.files.find((f) => f.name === 'smtpd.conf')!.content).toMatch(/^pwcheck_method: saslauthd\nmech_list: PLAIN LOGIN\n$/m);
    const lines = r.steps.map((x) => shellLine(x.argv));
    expect(lines).toContain('adduser postfix sasl');
    expect(lines).toContain(`sed -i 's|^OPTIONS=.*|OPTIONS="-c -m /var/spool/postfix/var/run/saslauthd"|' /etc/default/saslauthd`);
    expect(lines).toContain("postconf -M '2587/inet=2587 inet n - y - - smtpd'");
  });

  it("routes mail for the selftest's address literal alone to the loopback in plain SMTP, past the relayhost", () => {
    const r = composePostfix(plan(RELAY), { env: { RELAY_PASSWORD: SECRET } });
    expect(settings(r)['transport_maps']).toBe('inline:{ [127.0.0.2]=maildns-selftest:[127.0.0.2]:11025 }');
    const lines = r.steps.map((x) => shellLine(x.argv));
    expect(lines).toContain("postconf -M 'maildns-selftest/unix=maildns-selftest unix - - y - - smtp'");
    expect(lines).toContain(
      'postconf -P maildns-selftest/unix/syslog_name=postfix/maildns-selftest maildns-selftest/unix/smtp_tls_security_level=none maildns-selftest/unix/smtp_tls_wrappermode=no maildns-selftest/unix/smtp_sasl_auth_enable=no',
    );
    const other = composePostfix(plan(RELAY), { env: { RELAY_PASSWORD: SECRET }, selftestRoute: { host: '127.0.0.9', port: 2526 } });
    expect(settings(other)['transport_maps']).toBe('inline:{ [127.0.0.9]=maildns-selftest:[127.0.0.9]:2526 }');
    const none = composePostfix(plan(RELAY), { env: { RELAY_PASSWORD: SECRET }, selftestRoute: null });
    expect(settings(none)['transport_maps']).toBeUndefined();
    expect(none.masterCf).toEqual([]);
  });

  it('without mail_host it says what to add', () => {
    const file = path.join(dir, 'maildns.yaml');
    expect(() => composePostfix(parsePlan('domains:\n  - domain: example.com\n', file))).toThrow(/maildns\.yaml: the plan has no "mail_host" section: add one/);
  });
});

describe('parseMainCf', () => {
  it('reads continued lines, skips comments, and keeps the last of two settings, with their lines', () => {
    const m = parseMainCf('# c\nsmtpd_relay_restrictions = permit_mynetworks,\n    reject_unauth_destination\n  # inside\n\nrelayhost = a\nrelayhost = [b]:587\n');
    expect(m.get('smtpd_relay_restrictions')).toEqual({ value: 'permit_mynetworks, reject_unauth_destination', line: 2 });
    expect(m.get('relayhost')).toEqual({ value: '[b]:587', line: 7 });
  });
});
