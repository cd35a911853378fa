/** `maildns postfix lint`: each finding from a main.cf that has the fault, and none from maildns's own lines. */
import { describe, expect, it } from 'vitest';
import { parsePlan } from '../../../src/plan/load.js';
import { composePostfix } from '../../../src/postfix/compose.js';
import { lintPostfixMainCf } from '../../../src/postfix/lint.js';

const PLAN = parsePlan(
  `domains:
  - domain: example.com
    mx: [mail.example.com]
    spf: { ip4: [192.0.2.25], include: [_spf.relay.example.net], all: "-all" }
    dkim: [mail]
mail_host:
  hostname: mail.example.com
  relay: { host: smtp.relay.example.net, username: u, password_env: RELAY_PW, spf_include: _spf.relay.example.net }
  submission: { sasl: dovecot }
`,
  '/srv/maildns.yaml',
);

/** A sound main.cf for the plan; each test breaks one thing. */
const GOOD: Record<string, string> = {
  compatibility_level: '3.6',
  myhostname: 'mail.example.com',
  mydomain: 'example.com',
  myorigin: '$mydomain',
  mynetworks: '127.0.0.0/8 [::ffff:127.0.0.0]/104 [::1]/128',
  smtpd_relay_restrictions: 'permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination',
  relayhost: '[smtp.relay.example.net]:587',
  smtp_sasl_auth_enable: 'yes',
  smtp_tls_security_level: 'encrypt',
  smtpd_sasl_auth_enable: 'yes',
  smtpd_tls_auth_only: 'yes',
  smtpd_milters: 'unix:opendkim/opendkim.sock',
  non_smtpd_milters: '$smtpd_milters',
};

function mainCf(changes: Record<string, string | null>): string {
  const all = { ...GOOD, ...changes };
  return Object.entries(all)
    .filter(([, v]) => v !== null)
    .map(([k, v]) => `${k} = ${v}`)
    .join('\n');
}

const codes = (text: string, opts = {}): string[] => lintPostfixMainCf(text, { plan: PLAN, ...opts }).map((f) => `${f.severity} ${f.code}`);

describe('postfix lint', () => {
  it('finds nothing in a sound main.cf, nor in the lines maildns postfix writes', () => {
    expect(lintPostfixMainCf(mainCf({}), { plan: PLAN })).toEqual([]);
    const lines = composePostfix(PLAN, { env: { RELAY_PW: 'x' } }).files.find((f) => f.name === 'postfix-main.cf')!.content;
    expect(lintPostfixMainCf(`compatibility_level = 3.6\n${lines}`, { plan: PLAN })).toEqual([]);
  });

  it('open relay: mynetworks of the whole internet, a public range, a bare permit, no reject_unauth_destination', () => {
    expect(codes(mainCf({ mynetworks: '0.0.0.0/0' }))).toEqual(['error postfix.open-relay']);
    expect(codes(mainCf({ mynetworks: '127.0.0.0/8 203.0.113.0/24' }))).toEqual(['error postfix.mynetworks-public']);
    expect(codes(mainCf({ mynetworks: '127.0.0.0/8, 192.168.1.0/24' }))).toEqual(['warning postfix.mynetworks-wide']);
    expect(codes(mainCf({ mynetworks: '127.0.0.0/8 203.0.113.25/32 [2001:db8::25]/128' }))).toEqual([]);
    expect(codes(mainCf({ smtpd_relay_restrictions: 'permit_mynetworks, permit, reject_unauth_destination' }))).toEqual(['error postfix.open-relay']);
    expect(codes(mainCf({ smtpd_relay_restrictions: 'permit_mynetworks, permit_sasl_authenticated' }))).toEqual(['error postfix.no-reject-unauth-destination']);
    // Below compatibility level 1 there is no default relay restriction, and the default mynetworks_style is subnet.
    expect(codes(mainCf({ compatibility_level: null, smtpd_relay_restrictions: null, mynetworks: null }))).toEqual(['warning postfix.mynetworks-wide', 'error postfix.no-reject-unauth-destination']);
    const f = lintPostfixMainCf(mainCf({ mynetworks: '0.0.0.0/0' }), { plan: PLAN, file: '/etc/postfix/main.cf' })[0]!;
    expect(f.subject).toBe('/etc/postfix/main.cf:5 mynetworks');
    expect(f.fix).toBe('list only this host and networks you run: mynetworks = 127.0.0.0/8 [::1]/128');
  });

  it('SASL without TLS, on either side (the seeds\' smtp_tls_security_level = may)', () => {
    expect(codes(mainCf({ smtpd_tls_auth_only: null }))).toEqual(['error postfix.sasl-without-tls']);
    expect(codes(mainCf({ smtp_tls_security_level: 'may' }))).toEqual(['error postfix.sasl-without-tls']);
    const f = lintPostfixMainCf(mainCf({ smtp_tls_security_level: 'may' }), { plan: PLAN })[0]!;
    expect(f.message).toMatch(/relay password is sent even when the smarthost offers no TLS \(smtp_tls_security_level = may\)/);
    expect(f.fix).toBe('smtp_tls_security_level = encrypt');
    expect(codes(mainCf({ smtp_tls_security_level: null, relayhost: '[smtp.relay.example.net]:465', smtp_tls_wrappermode: 'yes' }))).toEqual([]);
  });

  it('a relayhost without brackets, one the plan does not name, and a provider the domain\'s SPF does not include', () => {
    expect(codes(mainCf({ relayhost: 'smtp.relay.example.net:587' }))).toEqual(['warning postfix.relayhost-no-brackets']);
    expect(lintPostfixMainCf(mainCf({ relayhost: 'smtp.relay.example.net:587' }), { plan: PLAN })[0]!.fix).toBe('relayhost = [smtp.relay.example.net]:587 (and the same key in the password map)');
    expect(codes(mainCf({ relayhost: '[smtp.other-provider.example]:587' }))).toEqual(['warning postfix.relayhost-not-planned', 'error postfix.relay-not-in-spf']);
    // Without a planned relay, the provider's registrable domain must appear among the includes.
    const noRelay = parsePlan('domains:\n  - domain: example.com\n    spf: { include: [spf.mailjet.example] }\n', '/p.yaml');
    expect(lintPostfixMainCf(mainCf({ relayhost: '[in-v3.mailjet.example]:587' }), { plan: noRelay }).map((f) => f.code)).toEqual([]);
    const missing = lintPostfixMainCf(mainCf({ relayhost: '[smtp.sendgrid.example]:587' }), { plan: noRelay });
    expect(missing.map((f) => f.code)).toEqual(['postfix.relay-not-in-spf']);
    expect(missing[0]!.message).toMatch(/example\.com's SPF record does not include anything of sendgrid\.example/);
  });

  it('milters: an absolute unix socket path, read inside the chroot; non_smtpd_milters missing, accept when the milter is down', () => {
    // Chrooted smtpd and cleanup read an absolute path inside the queue directory (postconf(5)):
    // Debian's /run/opendkim/opendkim.sock is /var/spool/postfix/run/opendkim/opendkim.sock to them.
    expect(codes(mainCf({ smtpd_milters: 'unix:/run/opendkim/opendkim.sock' }))).toEqual(['warning postfix.milter-outside-chroot', 'warning postfix.milter-outside-chroot']);
    const outside = lintPostfixMainCf(mainCf({ smtpd_milters: 'unix:/run/opendkim/opendkim.sock' }), { plan: PLAN })[0]!;
    expect(outside.message).toMatch(/unix:\/run\/opendkim\/opendkim\.sock means \/var\/spool\/postfix\/run\/opendkim\/opendkim\.sock to them/);
    expect(outside.fix).toMatch(/^make OpenDKIM's Socket local:\/var\/spool\/postfix\/run\/opendkim\/opendkim\.sock, or /);
    // The seeds' setup (OpenDKIM's Socket local:/var/spool/postfix/var/run/opendkim/opendkim.sock) works: no error, exit 0.
    const seed = lintPostfixMainCf(mainCf({ smtpd_milters: 'unix:/var/run/opendkim/opendkim.sock', non_smtpd_milters: 'unix:/var/run/opendkim/opendkim.sock' }), { plan: PLAN });
    expect(seed.map((f) => f.severity)).toEqual(['warning', 'warning']);
    expect(seed[0]!.message).toContain('means /var/spool/postfix/var/run/opendkim/opendkim.sock to them');
    // The host's path of a socket below the queue directory is doubled inside the chroot: it is never reached.
    expect(codes(mainCf({ smtpd_milters: 'unix:/var/spool/postfix/opendkim/opendkim.sock' }))).toEqual(['error postfix.milter-outside-chroot', 'error postfix.milter-outside-chroot']);
    const doubled = lintPostfixMainCf(mainCf({ smtpd_milters: 'unix:/var/spool/postfix/opendkim/opendkim.sock' }), { plan: PLAN })[0]!;
    expect(doubled.message).toContain('means /var/spool/postfix/var/spool/postfix/opendkim/opendkim.sock to them, where no socket is');
    expect(doubled.fix).toBe('name the socket relative to the queue directory: smtpd_milters = unix:opendkim/opendkim.sock');
    expect(codes(mainCf({ smtpd_milters: 'unix:/srv/pf/od.sock', queue_directory: '/srv/pf' }))).toEqual(['error postfix.milter-outside-chroot', 'error postfix.milter-outside-chroot']);
    expect(codes(mainCf({ smtpd_milters: 'unix:od.sock', queue_directory: '/srv/pf' }))).toEqual([]);
    expect(codes(mainCf({ non_smtpd_milters: null }))).toEqual(['warning postfix.non-smtpd-milters-missing']);
    expect(codes(mainCf({ milter_default_action: 'accept' }))).toEqual(['warning postfix.milter-default-accept']);
    // A milter with its own settings is a { address, name = value … } group, with or without spaces inside the braces.
    for (const group of ['{unix:/run/opendkim/opendkim.sock, default_action=tempfail}', '{ unix:/run/opendkim/opendkim.sock, default_action = tempfail }']) {
      expect(codes(mainCf({ smtpd_milters: group }))).toEqual(['warning postfix.milter-outside-chroot', 'warning postfix.milter-outside-chroot']);
    }
    expect(codes(mainCf({ smtpd_milters: '{unix:opendkim/opendkim.sock, default_action=tempfail}, inet:localhost:8891' }))).toEqual([]);
  });

  it('myhostname, mydomain and myorigin against the sending domain', () => {
    expect(codes(mainCf({ myhostname: 'vm.internal.example.net' }))).toEqual(['warning postfix.identity-mismatch']);
    expect(codes(mainCf({ mydomain: 'example.org' }))).toEqual(['warning postfix.identity-mismatch', 'warning postfix.identity-mismatch']);
    // myorigin defaults to $myhostname: local mail leaves as user@mail.example.com.
    const f = lintPostfixMainCf(mainCf({ myorigin: null }), { plan: PLAN });
    expect(f.map((x) => x.code)).toEqual(['postfix.identity-mismatch']);
    expect(f[0]!.message).toMatch(/leaves as user@mail\.example\.com, not user@example\.com \(myorigin defaults to \$myhostname\)/);
    // No plan and no domain: the names are not judged.
    expect(lintPostfixMainCf(mainCf({ myorigin: null }))).toEqual([]);
    expect(lintPostfixMainCf(mainCf({ myorigin: null }), { domain: 'example.com' }).map((x) => x.code)).toEqual(['postfix.identity-mismatch']);
  });

  it('reads postconf -n output the same way', () => {
    expect(lintPostfixMainCf('mynetworks = 0.0.0.0/0\nsmtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination\n', { file: 'postconf -n' })[0]!.subject).toBe('postconf -n:1 mynetworks');
  });
});
