/**
 * Handing the probe to the local MTA the two ways mail reaches it on a mail host: over SMTP (as
 * applications and mynetworks clients do; smtpd_milters sign it) and through /usr/sbin/sendmail
 * (cron, scripts; pickup and cleanup, so non_smtpd_milters sign it). Each has a deadline: a server
 * that stops answering or a sendmail that hangs ends in a refusal with stage `timeout`.
 */
import { spawn } from 'node:child_process';
import net, { isIP } from 'node:net';

export type SubmissionPath = 'smtp' | 'sendmail';

export interface Submission {
  via: SubmissionPath;
  /** The MTA took the message (250 after DATA; sendmail exited 0). */
  accepted: boolean;
  /** The stage that failed: connect, greeting, ehlo, mail, rcpt, data, message, timeout, or exit. */
  failedAt: string | null;
  /** The MTA's last reply (SMTP) or what sendmail printed. */
  reply: string | null;
  /** From "250 2.0.0 Ok: queued as 4Xk…", when the MTA said it. */
  queueId: string | null;
  /** Our address as the MTA saw it, for OpenDKIM's InternalHosts (SMTP only). */
  clientAddress: string | null;
  /** The SMTP dialogue, our lines prefixed "C: ". */
  transcript: string[];
}

const MAX_REPLY_BYTES = 16 * 1024;

/** The message as DATA carries it: CRLF line ends, leading dots doubled, ended by CRLF.CRLF. */
export function dataSection(message: string): string {
  const lines = message.replace(/\r?\n/g, '\n').replace(/\n$/, '').split('\n');
  return `${lines.map((l) => (l.startsWith('.') ? `.${l}` : l)).join('\r\n')}\r\n.\r\n`;
}

export function submitSmtp(opts: { host: string; port: number; helo?: string; from: string; to: string; message: string; deadline: number }): Promise<Submission> {
  return new Promise((resolve) => {
    const transcript: string[] = [];
    const socket = net.connect({ host: opts.host, port: opts.port });
    let buffer = '';
    let lines: string[] = [];
    let pending: ((reply: string | null) => void) | null = null;
    // Replies that came before they were waited for, in order; null for a closed connection.
    const early: (string | null)[] = [];
    const deliver = (reply: string | null): void => {
      if (!pending) {
        early.push(reply);
        return;
      }
      const p = pending;
      pending = null;
      p(reply);
    };
    let done = false;
    let clientAddress: string | null = null;

    const finish = (s: Omit<Submission, 'via' | 'transcript' | 'clientAddress'>): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ via: 'smtp', ...s, clientAddress, transcript });
    };
    const timer = setTimeout(() => {
      finish({ accepted: false, failedAt: 'timeout', reply: `no answer from ${opts.host}:${opts.port} before the deadline${transcript.length ? ` (last: ${transcript.at(-1)})` : ''}`, queueId: null });
    }, Math.max(0, opts.deadline - Date.now()));

    socket.on('error', (err) => {
      deliver(null);
      finish({ accepted: false, failedAt: clientAddress ? 'connection' : 'connect', reply: `${opts.host}:${opts.port}: ${err.message}`, queueId: null });
    });
    socket.on('close', () => deliver(null));
    socket.on('data', (chunk: Buffer) => {
      buffer += chunk.toString('latin1');
      if (buffer.length > MAX_REPLY_BYTES) {
        finish({ accepted: false, failedAt: 'reply', reply: `the reply of ${opts.host}:${opts.port} is longer than ${MAX_REPLY_BYTES} bytes`, queueId: null });
        return;
      }
      for (let i = buffer.indexOf('\r\n'); i >= 0; i = buffer.indexOf('\r\n')) {
        const line = buffer.slice(0, i);
        buffer = buffer.slice(i + 2);
        transcript.push(`S: ${line}`);
        lines.push(line);
        // The last line of a reply has a space (or nothing) after the code.
        if (!/^\d{3}-/.test(line)) {
          const reply = lines.join('\n');
          lines = [];
          deliver(reply);
        }
      }
    });

    const next = (): Promise<string | null> => new Promise((r) => (early.length ? r(early.shift()!) : (pending = r)));
    const send = (text: string, shown = text.trimEnd()): void => {
      transcript.push(`C: ${shown}`);
      socket.write(text);
    };
    /** The reply's last line when its code starts with `want`, else the refusal. */
    const expectReply = async (stage: string, want: string): Promise<string | null> => {
      const reply = await next();
      if (done) return null;
      if (reply === null) {
        finish({ accepted: false, failedAt: stage, reply: `${opts.host}:${opts.port} closed the connection`, queueId: null });
        return null;
      }
      if (!reply.startsWith(want)) {
        finish({ accepted: false, failedAt: stage, reply: reply.split('\n').at(-1)!, queueId: null });
        return null;
      }
      return reply;
    };

    socket.once('connect', async () => {
      clientAddress = socket.localAddress ?? null;
      if ((await expectReply('greeting', '2')) === null) return;
      // Our own address as a literal: always a valid EHLO argument, and never a name smtpd may doubt.
      send(`EHLO ${opts.helo ?? (clientAddress && isIP(clientAddress) === 4 ? `[${clientAddress}]` : '[127.0.0.1]')}\r\n`);
      if ((await expectReply('ehlo', '2')) === null) return;
      send(`MAIL FROM:<${opts.from}>\r\n`);
      if ((await expectReply('mail', '2')) === null) return;
      send(`RCPT TO:<${opts.to}>\r\n`);
      if ((await expectReply('rcpt', '2')) === null) return;
      send('DATA\r\n');
      if ((await expectReply('data', '3')) === null) return;
      send(dataSection(opts.message), '(the message)');
      const end = await expectReply('message', '2');
      if (end === null) return;
      send('QUIT\r\n');
      const last = end.split('\n').at(-1)!;
      const queueId = /queued as ([0-9A-Za-z]+)/.exec(last)?.[1] ?? null;
      // The message is taken: QUIT's answer does not change that, so do not wait long for it.
      const quit = next();
      await Promise.race([quit, new Promise((r) => setTimeout(r, 1000))]);
      finish({ accepted: true, failedAt: null, reply: last, queueId });
    });
  });
}

/** `sendmail [-C DIR] -f FROM -i -- TO`, the message on standard input with LF line ends. */
export function submitSendmail(opts: { sendmail: string; configDir?: string; from: string; to: string; message: string; deadline: number }): Promise<Submission> {
  return new Promise((resolve) => {
    const args = [...(opts.configDir ? ['-C', opts.configDir] : []), '-f', opts.from, '-i', '--', opts.to];
    const transcript = [`C: ${[opts.sendmail, ...args].join(' ')}`];
    const child = spawn(opts.sendmail, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    const collect = (d: Buffer): void => {
      if (output.length < MAX_REPLY_BYTES) output += d.toString('utf8');
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, Math.max(0, opts.deadline - Date.now()));
    let settled = false;
    const settle = (s: Omit<Submission, 'via' | 'transcript' | 'clientAddress' | 'queueId'>): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (output.trim()) transcript.push(`S: ${output.trim()}`);
      resolve({ via: 'sendmail', ...s, queueId: null, clientAddress: null, transcript });
    };
    child.on('error', (err) => settle({ accepted: false, failedAt: 'exit', reply: `${opts.sendmail}: ${err.message}` }));
    child.on('close', (code, signal) => {
      if (timedOut) return settle({ accepted: false, failedAt: 'timeout', reply: `${opts.sendmail} did not finish before the deadline` });
      if (code === 0) return settle({ accepted: true, failedAt: null, reply: output.trim() || null });
      settle({ accepted: false, failedAt: 'exit', reply: `${opts.sendmail} exited with ${code ?? signal}${output.trim() ? `: ${output.trim()}` : ''}` });
    });
    child.stdin.on('error', () => undefined); // a sendmail that exits early closes its input; its exit says why
    child.stdin.end(opts.message.replace(/\r\n/g, '\n'));
  });
}
