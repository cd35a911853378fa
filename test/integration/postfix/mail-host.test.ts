/**
 * The Debian mail host of the seeds, end to end, configured only from maildns's output: Debian's
 * Postfix (its own main.cf and master.cf, smtpd, cleanup and smtp chrooted as shipped) and Debian's
 * OpenDKIM (two instances, RSA and Ed25519, on unix sockets inside Postfix's chroot), installed with
 * the steps `maildns opendkim` and `maildns postfix` print. A message submitted over SMTP leaves
 * through the provider's smarthost (STARTTLS, then SMTP AUTH with the password map) signed twice,
 * and dkimpy and maildns verify-message pass both signatures against the plan's records.
 */
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DnsResolver } from '../../../src/dns/resolver.js';
import { parseMessage } from '../../../src/message/message.js';
import { verifyMessage } from '../../../src/message/verify.js';
import { lintPostfixMainCf } from '../../../src/postfix/lint.js';
import { eventually, isRoot, run, smtpSend } from '../../helpers/mailhost.js';
import { dkimpyVerifyEach } from '../../helpers/opendkim.js';
import { RELAY_USER, setUpSeedHost, testMessage as message, type SeedHost } from '../../helpers/seed-host.js';

const MAIL_USER = 'bob';
const MAIL_PASSWORD = 'bobs-mail-password';

describe.skipIf(!isRoot)('the Debian mail host of the seeds, configured only from maildns output (needs root)', () => {
  let host: SeedHost;
  // Short names for what the tests below read most.
  let layout: SeedHost['layout'];
  let plan: SeedHost['plan'];
  let password: string;
  let provider: SeedHost['provider'];
  let dns: SeedHost['dns'];
  let opendkim: SeedHost['opendkim'];
  let postfixOut: SeedHost['postfixOut'];
  let postfix: SeedHost['postfix'];
  let smtpPort: number;
  let submissionPort: number;
  let dovecot: NonNullable<SeedHost['dovecot']>;
  let daemons: SeedHost['daemons'];
  let ran: string[];

  beforeAll(async () => {
    host = await setUpSeedHost({ prefix: 'maildns-mailhost-', dovecotUsers: { [MAIL_USER]: MAIL_PASSWORD } });
    ({ layout, plan, password, provider, dns, opendkim, postfixOut, postfix, smtpPort, submissionPort, daemons, ran } = host);
    dovecot = host.dovecot!;
  }, 120_000);

  afterAll(async () => {
    await host?.stop();
  });

  it('ran the printed steps, and `postfix check` finds nothing to say about the result', async () => {
    expect(ran.some((l) => l.startsWith('adduser postfix opendkim'))).toBe(true);
    expect(ran.some((l) => /^postmap -c \S+ hash:\S+sasl_passwd$/.test(l))).toBe(true);
    const check = await run('postfix', ['-c', postfix.configDir, 'check']);
    expect(check).toEqual({ code: 0, stdout: '', stderr: '' });
    expect(postfix.log()).not.toMatch(/warning|fatal|error/i);
    // The generated lines are in effect, master.cf's chroot column untouched.
    const n = (await postfix.postconf('-n')).stdout;
    expect(n).toContain(`relayhost = [127.0.0.1]:${provider.port}`);
    expect(n).toContain('smtpd_milters = unix:opendkim/opendkim.sock, unix:opendkim/opendkim-ed25519.sock');
    const master = (await postfix.postconf('-M')).stdout;
    expect(master).toMatch(new RegExp(`^${smtpPort}\\s+inet\\s+n\\s+-\\s+y\\s+-\\s+-\\s+smtpd`, 'm'));
    expect(master).toMatch(/^cleanup\s+unix\s+n\s+-\s+y\s/m);
  });

  it('maildns postfix lint finds nothing in what the running instance uses (postconf -n)', async () => {
    const n = (await postfix.postconf('-n')).stdout;
    expect(lintPostfixMainCf(n, { file: 'postconf -n', plan })).toEqual([]);
    // …and does find the seeds' by-hand fault when it is put back: TLS only if the smarthost offers it.
    expect(lintPostfixMainCf(`${n}smtp_tls_security_level = may\n`, { plan }).map((f) => f.code)).toEqual(['postfix.sasl-without-tls']);
  });

  it('keeps the keys and the password map private: keys opendkim 0600 in /etc/dkimkeys, sasl_passwd and its .db 0600', () => {
    for (const e of opendkim.entries) {
      const st = statSync(e.serverKeyPath);
      expect(st.mode & 0o777).toBe(0o600);
      expect(e.serverKeyPath.startsWith(layout.opendkim.serverKeysDir!)).toBe(true);
    }
    for (const f of ['sasl_passwd', 'sasl_passwd.db']) expect(statSync(path.join(layout.postfixConfigDir, f)).mode & 0o777).toBe(0o600);
    // The password reaches only the map: not the main.cf lines, not the steps.
    const printed = JSON.stringify({ mainCf: postfixOut.mainCf, steps: postfixOut.steps, notes: postfixOut.notes });
    expect(printed).not.toContain(password);
    expect(readFileSync(path.join(layout.postfixConfigDir, 'main.cf'), 'utf8')).not.toContain(password);
  });

  it('a message submitted over SMTP leaves through the smarthost (TLS, then SMTP AUTH) signed with RSA and Ed25519; dkimpy and maildns verify both', async () => {
    const sent = await smtpSend({ port: smtpPort, from: 'alice@example.com', to: 'carol@example.org', message: message('over smtp', 'Hello.\r\nThis is a test.') });
    expect(sent.sent, `${sent.output}\n${postfix.log()}`).toBe(true);
    const received = await eventually(`the provider receiving the message\n${postfix.log()}`, () => provider.messages.find((m) => m.data.includes('Subject: over smtp')));

    expect(provider.logins.length).toBeGreaterThan(0);
    expect(provider.logins.every((l) => l.overTls && l.passwordMatches && l.user === RELAY_USER)).toBe(true);
    expect(received.overTls).toBe(true);
    expect(received.authenticatedAs).toBe(RELAY_USER);

    const sigs = [...received.data.matchAll(/^DKIM-Signature:.*(?:\r\n[ \t].*)*/gm)].map((m) => m[0].replace(/\s+/g, ' '));
    expect(sigs.map((s) => /a=([\w-]+)/.exec(s)![1]).sort()).toEqual(['ed25519-sha256', 'rsa-sha256']);
    expect(sigs.every((s) => /d=example\.com;/.test(s))).toBe(true);

    const py = await dkimpyVerifyEach(received.data, dns.port);
    expect(py.results, py.output).toEqual([true, true]);
    const resolver = new DnsResolver({ servers: [{ host: dns.host, port: dns.port }], recursionDesired: false });
    const ours = await verifyMessage(parseMessage(Buffer.from(received.data)), resolver);
    expect(ours.dkim.map((d) => [d.result, d.domain, d.algorithm]).sort()).toEqual([
      ['pass', 'example.com', 'ed25519-sha256'],
      ['pass', 'example.com', 'rsa-sha256'],
    ]);
    expect(ours.dmarc.result).toBe('pass');
  });

  it('mail handed to sendmail (pickup, not smtpd) is signed too: non_smtpd_milters', async () => {
    const r = await run('/usr/sbin/sendmail', ['-C', postfix.configDir, '-f', 'alice@example.com', '-t'], { input: message('from sendmail', 'Sent by a cron job.').replace(/\r\n/g, '\n') });
    expect(r.code, `${r.stdout}${r.stderr}`).toBe(0);
    const received = await eventually(`the provider receiving the sendmail message\n${postfix.log()}`, () => provider.messages.find((m) => m.data.includes('Subject: from sendmail')));
    const py = await dkimpyVerifyEach(received.data, dns.port);
    expect(py.results, py.output).toEqual([true, true]);
  });

  it('submission: a mail client from outside mynetworks logs in over TLS (Dovecot checks the password) and its mail leaves signed', async () => {
    const r = await smtpSend({ port: submissionPort, from: 'bob@example.com', to: 'carol@example.org', message: message('submitted', 'From a laptop.'), login: { user: MAIL_USER, password: MAIL_PASSWORD }, sourceAddress: '127.0.0.2' });
    expect(r.sent, `${r.output}\n${postfix.log()}\n${dovecot.log()}`).toBe(true);
    expect(r.authBeforeTls).toBe(false);
    const received = await eventually(`the provider receiving the submitted message\n${postfix.log()}`, () => provider.messages.find((m) => m.data.includes('Subject: submitted')));
    const py = await dkimpyVerifyEach(received.data, dns.port);
    expect(py.results, py.output).toEqual([true, true]);
    expect(postfix.log()).toMatch(/postfix\/submission\/smtpd\[\d+\]: \w+: client=\S+\[127\.0\.0\.2\], sasl_method=PLAIN, sasl_username=bob/);
  });

  it('submission refuses mail without a login, a wrong password, and AUTH before STARTTLS', async () => {
    const msg = message('refused', 'No.');
    const noLogin = await smtpSend({ port: submissionPort, from: 'bob@example.com', to: 'carol@example.org', message: msg, starttls: true, sourceAddress: '127.0.0.2' });
    expect(noLogin.sent).toBe(false);
    expect(noLogin.refused).toMatch(/^554 5\.7\.1 /);
    const wrong = await smtpSend({ port: submissionPort, from: 'bob@example.com', to: 'carol@example.org', message: msg, login: { user: MAIL_USER, password: 'not-it' }, sourceAddress: '127.0.0.2' });
    expect(wrong.refused).toMatch(/^535 5\.7\.8 /);
    const clear = await smtpSend({ port: submissionPort, from: 'bob@example.com', to: 'carol@example.org', message: msg, sourceAddress: '127.0.0.2' });
    expect(clear.authBeforeTls).toBe(false);
    expect(clear.refused).toMatch(/^530 5\.7\.0 Must issue a STARTTLS command first/);
    expect(provider.messages.some((m) => m.data.includes('Subject: refused'))).toBe(false);
  });

  it('relays for mynetworks only: a client outside it (127.0.0.2) is refused mail to other domains (no open relay)', async () => {
    const r = await smtpSend({ port: smtpPort, from: 'spammer@example.net', to: 'victim@example.org', message: message('relay attempt', 'Buy now.'), sourceAddress: '127.0.0.2' });
    expect(r.sent).toBe(false);
    expect(r.refused).toMatch(/^554 5\.7\.1 .*Relay access denied/);
  });

  it('with OpenDKIM down, milter_default_action = tempfail answers 4xx and nothing leaves unsigned', async () => {
    for (const d of daemons) await d.stop();
    const before = provider.messages.length;
    const r = await smtpSend({ port: smtpPort, from: 'alice@example.com', to: 'carol@example.org', message: message('milter down', 'Must not leave unsigned.') });
    expect(r.sent).toBe(false);
    expect(r.refused).toMatch(/^451 4\.7\.1/);
    await new Promise((res) => setTimeout(res, 500));
    expect(provider.messages.length).toBe(before);
  });
});
