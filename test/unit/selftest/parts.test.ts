/** The pieces of selftest that read text: OpenDKIM's tables and host lists, Postfix's lists and transports, the route flag, DATA's dot-stuffing. */
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { parseRoute, routeTransportMaps } from '../../../src/postfix/selftest-route.js';
import { hostListCovers, parseDataset, parseOpenDkimConf, signingTableMatch } from '../../../src/selftest/diagnose.js';
import { startSmtpListener } from '../../../src/selftest/listener.js';
import { splitPostfixList } from '../../../src/postfix/main-cf.js';
import { parseTransport, transportKeys } from '../../../src/selftest/postfix-live.js';
import { dataSection, submitSmtp } from '../../../src/selftest/submit.js';

describe('OpenDKIM tables', () => {
  const refile = '# sender pattern, key\n*@example.com rsa1._domainkey.example.com\n*@*.example.org org._domainkey.example.org\n';
  it('a refile: SigningTable matches by pattern, case aside; another domain is no match', () => {
    expect(signingTableMatch('refile', refile, 'alice@example.com')).toEqual({ line: 2, text: '*@example.com rsa1._domainkey.example.com' });
    expect(signingTableMatch('refile', refile, 'Alice@EXAMPLE.COM')?.line).toBe(2);
    expect(signingTableMatch('refile', refile, 'bob@mail.example.org')?.line).toBe(3);
    expect(signingTableMatch('refile', refile, 'bob@example.org')).toBeNull();
    expect(signingTableMatch('refile', refile, 'alice@example.com.evil')).toBeNull();
    expect(signingTableMatch('refile', '*@example.net x\n', 'postmaster@example.com')).toBeNull();
  });

  it('a plain SigningTable is looked up by address, domain, parent domain and *', () => {
    expect(signingTableMatch('file', 'alice@example.com a\n', 'alice@example.com')?.line).toBe(1);
    expect(signingTableMatch('file', 'example.com d\n', 'bob@example.com')?.line).toBe(1);
    expect(signingTableMatch('file', '.example.com p\n', 'bob@mail.example.com')?.line).toBe(1);
    expect(signingTableMatch('file', '* any\n', 'bob@example.net')?.line).toBe(1);
    expect(signingTableMatch('file', 'example.com d\n', 'bob@example.net')).toBeNull();
  });

  it('InternalHosts: addresses, networks, localhost and exclusions; names it cannot resolve are "unknown"', () => {
    const maildns = ['127.0.0.1', '::1', 'localhost'];
    expect(hostListCovers(maildns, '127.0.0.1')).toBe('yes');
    expect(hostListCovers(['localhost'], '::1')).toBe('yes');
    expect(hostListCovers(['192.0.2.0/24'], '127.0.0.1')).toBe('no');
    expect(hostListCovers(['192.0.2.0/24'], '192.0.2.77')).toBe('yes');
    expect(hostListCovers(['2001:db8::/32'], '2001:db8::25')).toBe('yes');
    expect(hostListCovers(['192.0.2.0/24', '!192.0.2.7'], '192.0.2.7')).toBe('no');
    expect(hostListCovers(['mail.example.com'], '192.0.2.7')).toBe('unknown');
    expect(hostListCovers([], '127.0.0.1')).toBe('no');
  });

  it('reads confs and data sets as OpenDKIM names them', () => {
    const conf = parseOpenDkimConf('# c\nSocket   local:/var/spool/postfix/opendkim/opendkim.sock\nsigningtable refile:/etc/opendkim/SigningTable # trailing\n');
    expect(conf.get('socket')).toEqual({ value: 'local:/var/spool/postfix/opendkim/opendkim.sock', line: 2 });
    expect(conf.get('signingtable')).toEqual({ value: 'refile:/etc/opendkim/SigningTable', line: 3 });
    expect(parseDataset('refile:/etc/opendkim/TrustedHosts')).toEqual({ kind: 'refile', path: '/etc/opendkim/TrustedHosts' });
    expect(parseDataset('/etc/opendkim/TrustedHosts')).toEqual({ kind: 'file', path: '/etc/opendkim/TrustedHosts' });
    expect(parseDataset('csl:127.0.0.1, ::1')).toEqual({ kind: 'csl', items: ['127.0.0.1', '::1'] });
    expect(parseDataset('db:/etc/opendkim/x.db')).toEqual({ kind: 'other', spec: 'db:/etc/opendkim/x.db' });
  });
});

describe('Postfix lists and transports', () => {
  it('splits lists on commas and blanks, keeping { … } groups whole', () => {
    expect(splitPostfixList(routeTransportMaps({ host: '127.0.0.2', port: 11025 }) + ', hash:/etc/postfix/transport')).toEqual(['inline:{ [127.0.0.2]=maildns-selftest:[127.0.0.2]:11025 }', 'hash:/etc/postfix/transport']);
    expect(splitPostfixList('unix:a.sock,  { inet:localhost:8891, default_action=accept }')).toEqual(['unix:a.sock', '{ inet:localhost:8891, default_action=accept }']);
    expect(splitPostfixList('')).toEqual([]);
  });

  it('tries the keys transport(5) tries, in order', () => {
    expect(transportKeys('selftest-1@[127.0.0.2]')).toEqual(['selftest-1@[127.0.0.2]', '[127.0.0.2]', '*']);
    expect(transportKeys('probe@selftest.example.com')).toEqual(['probe@selftest.example.com', 'selftest.example.com', '.example.com', '.com', '*']);
  });

  it('reads a transport and its next hop', () => {
    expect(parseTransport('maildns-selftest:[127.0.0.2]:11025', '[127.0.0.2]')).toEqual({ transport: 'maildns-selftest', nexthop: '[127.0.0.2]:11025', host: '127.0.0.2', port: 11025 });
    expect(parseTransport('smtp:', '[127.0.0.5]')).toEqual({ transport: 'smtp', nexthop: '[127.0.0.5]', host: '127.0.0.5', port: 25 });
    expect(parseTransport('relay:mx.example.net', 'example.net')).toMatchObject({ transport: 'relay', host: null });
  });

  it('the route flag takes an address in 127.0.0.0/8 and a port, nothing else', () => {
    expect(parseRoute('127.0.0.2:11025')).toEqual({ host: '127.0.0.2', port: 11025 });
    for (const bad of ['192.0.2.1:25', '127.0.0.2', '127.0.0.2:0', '127.0.0.2:70000', '127.0.0.256:25', 'localhost:25', '[::1]:25']) expect(parseRoute(bad)).toBeNull();
  });
});

describe('submitting over SMTP', () => {
  it('dot-stuffs the message, and the listener gives it back as it was', async () => {
    const message = 'Subject: dots\r\n\r\n.one\r\n..two\r\n.\r\nend\r\n';
    expect(dataSection(message)).toBe('Subject: dots\r\n\r\n..one\r\n...two\r\n..\r\nend\r\n.\r\n');
    const listener = await startSmtpListener({ host: '127.0.0.1', port: 0, accepts: (r) => r === 'probe@[127.0.0.1]' });
    try {
      const s = await submitSmtp({ host: '127.0.0.1', port: listener.port, from: 'a@example.com', to: 'probe@[127.0.0.1]', message, deadline: Date.now() + 10_000 });
      expect(s).toMatchObject({ accepted: true, failedAt: null, reply: '250 2.0.0 Ok: received', clientAddress: '127.0.0.1' });
      expect(s.transcript).toContain('C: EHLO [127.0.0.1]');
      const got = await listener.waitFor(() => true, Date.now() + 5000);
      expect(got!.data.toString()).toBe(message);
      // A refused recipient is reported with its reply and stage.
      const refused = await submitSmtp({ host: '127.0.0.1', port: listener.port, from: 'a@example.com', to: 'carol@example.org', message, deadline: Date.now() + 10_000 });
      expect(refused).toMatchObject({ accepted: false, failedAt: 'rcpt', reply: '550 5.1.1 <carol@example.org>: recipient not accepted here' });
    } finally {
      await listener.close();
    }
  });

  it('a server that never answers ends in a timeout at the deadline', async () => {
    const silent = net.createServer(() => undefined);
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
    try {
      const port = (silent.address() as net.AddressInfo).port;
      const s = await submitSmtp({ host: '127.0.0.1', port, from: 'a@example.com', to: 'b@example.com', message: 'Subject: x\r\n\r\n', deadline: Date.now() + 300 });
      expect(s).toMatchObject({ accepted: false, failedAt: 'timeout' });
      expect(s.reply).toMatch(/^no answer from 127\.0\.0\.1:\d+ before the deadline$/);
    } finally {
      silent.close();
    }
  });
});
