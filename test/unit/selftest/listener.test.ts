/** The selftest's SMTP receiver: what it takes, what it refuses, and that every bound closes the connection. */
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startSmtpListener, type ListenerLimits, type SmtpListener } from '../../../src/selftest/listener.js';

const PROBE = 'probe@[127.0.0.1]';
let listener: SmtpListener | null = null;
afterEach(async () => {
  await listener?.close();
  listener = null;
});

async function start(limits: Partial<ListenerLimits> = {}): Promise<SmtpListener> {
  listener = await startSmtpListener({ host: '127.0.0.1', port: 0, accepts: (r) => r.toLowerCase() === PROBE, limits });
  return listener;
}

/**
 * Send `input` at once (the receiver reads commands in order, so no waiting for replies is needed)
 * and collect every reply until the receiver closes the connection, or `keepOpen` ms after the last
 * byte when it does not (then `closedByServer` is false).
 */
function talk(port: number, input: string | Buffer, keepOpen = 10_000): Promise<{ replies: string[]; closedByServer: boolean }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let out = '';
    let timer: NodeJS.Timeout | undefined;
    socket.on('data', (d: Buffer) => (out += d.toString('latin1')));
    socket.on('error', reject);
    socket.on('connect', () => {
      if (input.length) socket.write(input);
      timer = setTimeout(() => {
        socket.destroy();
        resolve({ replies: out.split('\r\n').filter(Boolean), closedByServer: false });
      }, keepOpen);
    });
    socket.on('end', () => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ replies: out.split('\r\n').filter(Boolean), closedByServer: true });
    });
  });
}

const codes = (replies: string[]): string[] => replies.map((r) => r.slice(0, 4));

describe('the selftest SMTP listener', () => {
  it('receives a message: dot-unstuffed, ended only by CRLF.CRLF (a bare LF dot is text), with the envelope and HELO name', async () => {
    const l = await start();
    const body = ['From: a@example.com', 'Subject: t', '', '..a line that began with a dot', 'bare LF dot below stays text\n.\nstill text', '...', ''].join('\r\n');
    const r = await talk(l.port, `EHLO mail.example.com\r\nMAIL FROM:<a@example.com> SIZE=100 BODY=8BITMIME\r\nRCPT TO:<${PROBE}>\r\nDATA\r\n${body}.\r\nQUIT\r\n`);
    expect(r.closedByServer).toBe(true);
    expect(codes(r.replies)).toEqual(['220 ', '250-', '250-', '250-', '250 ', '250 ', '250 ', '354 ', '250 ', '221 ']);
    expect(r.replies).toContain('250-SIZE 10485760');
    expect(r.replies).toContain('250 SMTPUTF8');
    const got = await l.waitFor(() => true, Date.now() + 5000);
    expect(got).toMatchObject({ helo: 'mail.example.com', mailFrom: 'a@example.com', rcptTo: [PROBE], client: '127.0.0.1' });
    expect(got!.data.toString('latin1')).toBe(['From: a@example.com', 'Subject: t', '', '.a line that began with a dot', 'bare LF dot below stays text\n.\nstill text', '..', ''].join('\r\n'));
  });

  it('takes only the recipients it is told to, and the commands in their order', async () => {
    const l = await start();
    const r = await talk(l.port, `MAIL FROM:<a@example.com>\r\nHELO x\r\nRCPT TO:<${PROBE}>\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<carol@example.org>\r\nDATA\r\nRCPT TO:<${PROBE.toUpperCase()}>\r\nRCPT TO:<bad address>\r\nRCPT TO:<${PROBE}> NOTIFY=NEVER\r\nNOOP\r\nRSET\r\nSTARTTLS\r\nAUTH PLAIN AGFiAGM=\r\nQUIT\r\n`);
    expect(codes(r.replies)).toEqual(['220 ', '503 ', '250 ', '503 ', '250 ', '550 ', '503 ', '250 ', '501 ', '250 ', '250 ', '250 ', '502 ', '502 ', '221 ']);
    expect(r.replies[5]).toBe('550 5.1.1 <carol@example.org>: recipient not accepted here');
    expect(l.received).toEqual([]);
  });

  it('an overlong command line gets 500 and the connection closes', async () => {
    const l = await start();
    const r = await talk(l.port, `EHLO ${'a'.repeat(600)}\r\nQUIT\r\n`);
    expect(r.replies.slice(1)).toEqual(['500 5.5.2 line longer than 512 bytes, closing']);
    expect(r.closedByServer).toBe(true);
    // …and so does one that never ends: the receiver does not buffer without bound.
    const endless = await talk(l.port, 'x'.repeat(100_000));
    expect(endless.replies.slice(1)).toEqual(['500 5.5.2 line longer than 512 bytes, closing']);
    expect(endless.closedByServer).toBe(true);
  });

  it('a message over the size limit gets 552 and the connection closes; nothing is kept', async () => {
    const l = await start({ maxMessageBytes: 2000 });
    const declared = await talk(l.port, 'EHLO x\r\nMAIL FROM:<a@example.com> SIZE=5000\r\nQUIT\r\n');
    expect(declared.replies.slice(-2)).toEqual(['552 5.3.4 message size exceeds 2000 bytes', '221 2.0.0 maildns-selftest closing']);
    const lines = Array.from({ length: 100 }, (_, i) => `line ${i} ${'x'.repeat(40)}`).join('\r\n');
    const r = await talk(l.port, `EHLO x\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<${PROBE}>\r\nDATA\r\n${lines}\r\n.\r\nQUIT\r\n`);
    expect(r.replies.at(-1)).toBe('552 5.3.4 message size exceeds 2000 bytes, closing');
    expect(r.closedByServer).toBe(true);
    expect(l.received).toEqual([]);
  });

  it('an overlong text line in DATA gets 500 and closes', async () => {
    const l = await start();
    const r = await talk(l.port, `EHLO x\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<${PROBE}>\r\nDATA\r\n${'y'.repeat(1200)}\r\n.\r\n`);
    expect(r.replies.at(-1)).toBe('500 5.5.2 line longer than 1000 bytes, closing');
    expect(r.closedByServer).toBe(true);
  });

  it('crafted input (binary, a flood of bad commands) ends in 421 after the error limit', async () => {
    const l = await start({ maxErrors: 5 });
    const junk = Buffer.concat(Array.from({ length: 20 }, () => Buffer.from([0x00, 0xff, 0x1b, 0x5b, 0x0d, 0x0a])));
    const r = await talk(l.port, junk);
    expect(codes(r.replies)).toEqual(['220 ', '502 ', '502 ', '502 ', '502 ', '421 ']);
    expect(r.closedByServer).toBe(true);
    const helo = await talk(l.port, 'EHLO\r\nHELO a b\r\nQUIT\r\n');
    expect(codes(helo.replies)).toEqual(['220 ', '501 ', '501 ', '221 ']);
  });

  it('a silent client is told 421 and dropped after the idle time', async () => {
    const l = await start({ idleMs: 200 });
    const r = await talk(l.port, '');
    expect(r.closedByServer).toBe(true);
    expect(r.replies).toEqual(['220 maildns-selftest ESMTP maildns selftest listener', '421 4.4.2 maildns-selftest timeout, closing']);
    // A client that stops halfway through DATA is dropped the same way, and nothing is kept.
    const half = await talk(l.port, `EHLO x\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<${PROBE}>\r\nDATA\r\nSubject: half`);
    expect(half.replies.at(-1)).toBe('421 4.4.2 maildns-selftest timeout, closing');
    expect(l.received).toEqual([]);
  });

  it('refuses connections past its limit with 421', async () => {
    const l = await start({ maxConnections: 1 });
    const first = net.connect(l.port, '127.0.0.1');
    await new Promise((r) => first.once('data', r));
    const second = await talk(l.port, '');
    expect(second.replies).toEqual(['421 4.7.0 maildns-selftest too many connections, try again later']);
    expect(second.closedByServer).toBe(true);
    first.destroy();
  });

  it('waitFor gives null once the deadline passes without a matching message', async () => {
    const l = await start();
    expect(await l.waitFor(() => true, Date.now() + 50)).toBeNull();
  });
});
