/**
 * `maildns selftest --json` reports the probe as it arrived: `received.message` is its text, read
 * as UTF-8 (mail's 8-bit text is UTF-8: SMTPUTF8, RFC 6532), not as Latin-1, which turned every
 * non-ASCII character into two or three others. No Postfix runs here: postconf and postmap read a
 * config directory of the test's own, and a stand-in MTA takes the probe over SMTP and hands it
 * on to selftest's listener with a non-ASCII header field and body line added.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { submitSmtp } from '../../../src/selftest/submit.js';
import { runCli } from '../../helpers/cli.js';
import { freePort } from '../../helpers/opendkim.js';

const hasPostfixTools = existsSync('/usr/sbin/postconf') && existsSync('/usr/sbin/postmap');

/**
 * An MTA in miniature on 127.0.0.1: it takes one message over SMTP, answers "queued", then hands
 * it to `next` with `add` put in front of its header and at the end of its body.
 */
function standInMta(next: { host: string; port: number }, add: { field: string; line: string; from?: string }): Promise<net.Server> {
  const server = net.createServer((socket) => {
    let buffer = '';
    let inData = false;
    let from = '';
    let to = '';
    socket.write('220 stand-in ESMTP\r\n');
    socket.on('data', (chunk: Buffer) => {
      buffer += chunk.toString('utf8');
      for (;;) {
        if (inData) {
          const end = buffer.indexOf('\r\n.\r\n');
          if (end < 0) return;
          const message = buffer.slice(0, end + 2).replace(/^\.\./gm, '.');
          buffer = buffer.slice(end + 5);
          inData = false;
          socket.write('250 2.0.0 Ok: queued as STANDIN1\r\n');
          const [head, ...body] = message.split('\r\n\r\n');
          const passedOn = `${add.field}\r\n${head}\r\n\r\n${body.join('\r\n\r\n')}${add.line}\r\n`;
          void submitSmtp({ host: next.host, port: next.port, from: add.from ?? from, to, message: passedOn, deadline: Date.now() + 10_000 });
          continue;
        }
        const i = buffer.indexOf('\r\n');
        if (i < 0) return;
        const line = buffer.slice(0, i);
        buffer = buffer.slice(i + 2);
        if (/^MAIL FROM:/i.test(line)) from = /<(.*)>/.exec(line)?.[1] ?? '';
        if (/^RCPT TO:/i.test(line)) to = /<(.*)>/.exec(line)?.[1] ?? '';
        if (/^DATA/i.test(line)) {
          inData = true;
          socket.write('354 go ahead\r\n');
        } else if (/^QUIT/i.test(line)) socket.end('221 bye\r\n');
        else socket.write('250 ok\r\n');
      }
    });
    socket.on('error', () => {});
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

describe.skipIf(!hasPostfixTools)('selftest --json: the message as it arrived, in UTF-8', () => {
  let dir: string;
  let mta: net.Server | undefined;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'maildns-selftest-json-'));
  });
  afterAll(() => {
    mta?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** selftest --json through the stand-in MTA, which adds `add`; `opendkimConf` and `to` as given (default: a conf that does not exist, probe@[127.0.0.1]). */
  async function probe(add: { field: string; line: string; from?: string }, opts: { opendkimConf?: string; to?: string } = {}) {
    const listenerPort = await freePort('127.0.0.1');
    const config = mkdtempSync(path.join(dir, 'postfix-'));
    writeFileSync(path.join(config, 'main.cf'), `compatibility_level = 3.6\nmyhostname = mail.example.com\ntransport_maps = inline:{ [127.0.0.1]=maildns-selftest:[127.0.0.1]:${listenerPort} }\n`);
    writeFileSync(path.join(config, 'master.cf'), 'maildns-selftest unix - - y - - smtp\n  -o smtp_tls_security_level=none\n');
    const plan = path.join(dir, 'maildns.yaml');
    writeFileSync(plan, 'domains:\n  - domain: example.com\n    dkim: [{ selector: mail, algorithm: ed25519 }]\n');
    mta?.close();
    mta = await standInMta({ host: '127.0.0.1', port: listenerPort }, add);
    const { port: smtpPort } = mta.address() as net.AddressInfo;
    const r = await runCli(
      [
        'selftest', '--json',
        '--plan', plan,
        '--config-dir', config,
        '--smtp', `127.0.0.1:${smtpPort}`,
        '--to', opts.to ?? 'probe@[127.0.0.1]',
        '--nameserver', '127.0.0.1:9',
        '--timeout', '50',
        '--opendkim-conf', opts.opendkimConf ?? path.join(dir, 'opendkim.conf'),
        '--wait', '15',
      ],
      { killAfterMs: 40_000 },
    );
    expect(r.stdout, r.stderr).toMatch(/^\{/);
    return JSON.parse(r.stdout) as {
      verdict: string;
      received: { message: string; bytes: number; mailFrom: string; rcptTo: string[] } | null;
      reasons: { code: string; subject: string; message: string }[];
      notes: string[];
    };
  }

  it('a non-ASCII header field and body line come out as they were sent', async () => {
    const field = 'X-Greeting: Grüße aus Köln, 東京';
    const line = 'Ünïcödé body line — ok';
    const report = await probe({ field, line });
    expect(report.received, JSON.stringify(report)).not.toBeNull();
    expect(report.verdict).toBe('unsigned');
    expect(report.received!.message).toContain(`${field}\r\n`);
    expect(report.received!.message).toContain(`${line}\r\n`);
    expect(Buffer.byteLength(report.received!.message)).toBe(report.received!.bytes);
  });

  it('a UTF-8 MAIL FROM and RCPT TO (SMTPUTF8, RFC 6531) come out as they were sent', async () => {
    const from = 'rücklauf@bücher.example';
    const to = 'prüfung-東京@[127.0.0.1]';
    const report = await probe({ field: 'X-Seen: yes', line: 'ok', from }, { to });
    expect(report.received, JSON.stringify(report)).not.toBeNull();
    expect(report.received!.mailFrom).toBe(from);
    expect(report.received!.rcptTo).toEqual([to]);
  });

  it('an --opendkim-conf, SigningTable or InternalHosts that is a FIFO is noted as not read, not waited on for ever', async () => {
    const fifo = (name: string): string => {
      const file = path.join(dir, name);
      expect(spawnSync('mkfifo', [file]).status).toBe(0);
      return file;
    };
    const confFifo = fifo('opendkim-conf.fifo');
    let report = await probe({ field: 'X-Seen: yes', line: 'ok' }, { opendkimConf: confFifo });
    expect(report.verdict).toBe('unsigned');
    expect(report.notes.join('\n')).toContain(`${confFifo}: not read (is a FIFO (named pipe), not a regular file;`);
    const signing = fifo('SigningTable.fifo');
    const internal = fifo('InternalHosts.fifo');
    const conf = path.join(dir, 'opendkim-fifos.conf');
    writeFileSync(conf, `Mode sv\nSocket local:/var/spool/postfix/opendkim/opendkim.sock\nSigningTable refile:${signing}\nKeyTable file:${path.join(dir, 'KeyTable')}\nInternalHosts ${internal}\n`);
    report = await probe({ field: 'X-Seen: yes', line: 'ok' }, { opendkimConf: conf });
    expect(report.verdict).toBe('unsigned');
    expect(report.reasons.map((x) => x.message).join('\n')).toContain(`SigningTable ${signing} cannot be read (is a FIFO (named pipe), not a regular file;`);
    expect(report.notes.join('\n')).toContain(`InternalHosts ${internal} cannot be read (is a FIFO (named pipe), not a regular file;`);
  });
});
