/** The plan's `mail_host` section: the Postfix host, its relay and its submission service. */
import { describe, expect, it } from 'vitest';
import { parsePlan } from '../../../src/plan/load.js';

const DOMAINS = `domains:
  - domain: example.com
    mx: [{ host: mail.example.com, priority: 10 }]
`;

function errorOf(text: string): string {
  try {
    parsePlan(text, '/srv/maildns.yaml');
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error('expected the plan to be rejected');
}

describe('plan: mail_host', () => {
  it('reads a full section, with networks in Postfix\'s form and the password file beside the plan', () => {
    const plan = parsePlan(
      `${DOMAINS}mail_host:
  hostname: mail.example.com
  mynetworks: [127.0.0.0/8, "::1/128", 192.0.2.10]
  relay:
    host: smtp.relay.example.net
    username: example-com
    password_file: secrets/relay
    spf_include: _spf.relay.example.net
  submission: { sasl: dovecot }
`,
      '/srv/maildns.yaml',
    );
    expect(plan.mailHost).toEqual({
      hostname: 'mail.example.com',
      domain: 'example.com',
      mynetworks: ['127.0.0.0/8', '[::1]/128', '192.0.2.10'],
      relay: {
        host: 'smtp.relay.example.net',
        port: 587,
        username: 'example-com',
        password: { kind: 'file', name: '/srv/secrets/relay', file: '/srv/maildns.yaml', line: 10 },
        spfInclude: '_spf.relay.example.net',
      },
      submission: { port: 587, sasl: 'dovecot', tlsCert: '/etc/ssl/certs/ssl-cert-snakeoil.pem', tlsKey: '/etc/ssl/private/ssl-cert-snakeoil.key' },
    });
  });

  it('takes the hostname from the domain\'s own MX, Debian\'s loopback mynetworks, and no relay or submission by default', () => {
    const plan = parsePlan(`${DOMAINS}mail_host: {}\n`, '/srv/maildns.yaml');
    expect(plan.mailHost).toEqual({ hostname: 'mail.example.com', domain: 'example.com', mynetworks: ['127.0.0.0/8', '[::ffff:127.0.0.0]/104', '[::1]/128'] });
    expect(parsePlan(DOMAINS, '/srv/maildns.yaml').mailHost).toBeUndefined();
  });

  it('never takes the password itself, and says where it should go', () => {
    expect(errorOf(`${DOMAINS}mail_host:\n  relay:\n    host: smtp.relay.example.net\n    username: u\n    password: hunter2\n`)).toBe(
      '/srv/maildns.yaml:8: mail_host.relay.password is not read: the password never goes in the plan; put it in a file of its own (mode 0600) and name it with password_file, or name an environment variable with password_env',
    );
  });

  it('rejects half an SMTP AUTH set-up, two password sources, and bad names, each at its line', () => {
    expect(errorOf(`${DOMAINS}mail_host:\n  relay:\n    host: smtp.relay.example.net\n    username: u\n`)).toMatch(/^\/srv\/maildns\.yaml:7: mail_host\.relay\.username needs its password source: add password_file/);
    expect(errorOf(`${DOMAINS}mail_host:\n  relay:\n    host: smtp.relay.example.net\n    password_env: RELAY\n`)).toMatch(/^\/srv\/maildns\.yaml:7: mail_host\.relay\.password_env needs "username"/);
    expect(errorOf(`${DOMAINS}mail_host:\n  relay:\n    host: h.example.net\n    username: u\n    password_env: A\n    password_file: f\n`)).toMatch(/:8: mail_host\.relay\.password_env and password_file both name the password/);
    expect(errorOf(`${DOMAINS}mail_host:\n  relay:\n    host: h.example.net\n    username: "a:b"\n    password_env: A\n`)).toMatch(/:7: mail_host\.relay\.username must not contain white space or ":"/);
    expect(errorOf(`${DOMAINS}mail_host:\n  relay:\n    host: h.example.net\n    username: u\n    password_env: "not a name"\n`)).toMatch(/:8: mail_host\.relay\.password_env must be an environment variable's name/);
    expect(errorOf(`${DOMAINS}mail_host:\n  relay: { host: h.example.net, port: 70000 }\n`)).toMatch(/:5: mail_host\.relay\.port must be a whole number from 1 to 65535/);
  });

  it('refuses an open relay in mynetworks, a domain the plan does not have, and a missing hostname', () => {
    expect(errorOf(`${DOMAINS}mail_host:\n  mynetworks: [0.0.0.0/0]\n`)).toMatch(/:5: mail_host\.mynetworks\[0\] "0\.0\.0\.0\/0" lets every client on the internet relay/);
    expect(errorOf(`${DOMAINS}mail_host:\n  mynetworks: [192.0.2.0/33]\n`)).toMatch(/must be an IPv4 or IPv6 network/);
    expect(errorOf(`${DOMAINS}mail_host:\n  domain: example.org\n`)).toMatch(/:5: mail_host\.domain "example\.org" is not one of the plan's domains \(example\.com\)/);
    expect(errorOf('domains:\n  - domain: example.com\nmail_host: {}\n')).toBe('/srv/maildns.yaml:3: mail_host needs "hostname", the mail host\'s name (myhostname), e.g. mail.example.com');
    expect(errorOf(`${DOMAINS}mail_host:\n  submission: { sasl: pam }\n`)).toMatch(/mail_host\.submission\.sasl must be one of dovecot, cyrus/);
  });

  it('accepts an IP address as the relay host', () => {
    expect(parsePlan(`${DOMAINS}mail_host:\n  relay: { host: "[192.0.2.25]", port: 25 }\n`, '/p.yaml').mailHost!.relay).toEqual({ host: '192.0.2.25', port: 25 });
  });
});
