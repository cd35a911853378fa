/**
 * A mail provider's smarthost on 127.0.0.1 for the relay tests: it speaks SMTP with STARTTLS, offers
 * AUTH (PLAIN, LOGIN) only after TLS as real providers do, refuses mail from clients that did not
 * log in, and keeps what it received, including whether TLS was up before the password arrived.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import tls from 'node:tls';

interface ReceivedLogin {
  mechanism: string;
  user: string;
  passwordMatches: boolean;
  /** True when the password came over TLS. */
  overTls: boolean;
}

interface ReceivedMessage {
  mailFrom: string;
  rcptTo: string[];
  data: string;
  overTls: boolean;
  authenticatedAs: string | null;
}

export interface SmtpProvider {
  host: string;
  port: number;
  logins: ReceivedLogin[];
  messages: ReceivedMessage[];
  /** The session transcripts, client lines prefixed with "C: " (passwords never recorded). */
  transcript: string[];
  close(): Promise<void>;
}

/** A throw-away self-signed certificate, made with the openssl command line. */
export function selfSignedCertificate(dir: string, name: string): { key: string; cert: string } {
  const key = path.join(dir, `${name}.key`);
  const cert = path.join(dir, `${name}.crt`);
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', `/CN=${name}`], { stdio: 'ignore' });
  return { key: readFileSync(key, 'utf8'), cert: readFileSync(cert, 'utf8') };
}

export async function startSmtpProvider(opts: { name: string; key: string; cert: string; user: string; password: string }): Promise<SmtpProvider> {
  const context = tls.createSecureContext({ key: opts.key, cert: opts.cert });
  const state = { logins: [] as ReceivedLogin[], messages: [] as ReceivedMessage[], transcript: [] as string[] };
  const sockets = new Set<net.Socket>();

  const server = net.createServer((raw) => {
    sockets.add(raw);
    raw.on('close', () => sockets.delete(raw));
    let stream: net.Socket | tls.TLSSocket = raw;
    let overTls = false;
    let buffer = '';
    let inData = false;
    let authenticatedAs: string | null = null;
    let pendingAuth: { mechanism: 'PLAIN' | 'LOGIN'; user?: string } | null = null;
    let envelope: { mailFrom: string; rcptTo: string[] } | null = null;
    const say = (line: string): void => {
      state.transcript.push(`S: ${line}`);
      stream.write(`${line}\r\n`);
    };
    const login = (mechanism: string, user: string, password: string): void => {
      const ok = user === opts.user && password === opts.password;
      state.logins.push({ mechanism, user, passwordMatches: ok, overTls });
      if (ok) authenticatedAs = user;
      say(ok ? '235 2.7.0 Authentication successful' : '535 5.7.8 Authentication credentials invalid');
    };
    const onLine = (line: string): void => {
      if (inData) {
        if (line === '.') {
          inData = false;
          const data = state.messages.at(-1)!;
          data.data = data.data.replace(/^\.\./gm, '.');
          say('250 2.0.0 Ok: queued');
          return;
        }
        state.messages.at(-1)!.data += `${line}\r\n`;
        return;
      }
      if (pendingAuth) {
        state.transcript.push('C: (credentials)');
        const text = Buffer.from(line, 'base64').toString('utf8');
        if (pendingAuth.mechanism === 'PLAIN') {
          const [, user = '', password = ''] = text.split('\u0000');
          pendingAuth = null;
          login('PLAIN', user, password);
        } else if (pendingAuth.user === undefined) {
          pendingAuth.user = text;
          say('334 UGFzc3dvcmQ6');
        } else {
          const user = pendingAuth.user;
          pendingAuth = null;
          login('LOGIN', user, text);
        }
        return;
      }
      state.transcript.push(`C: ${/^AUTH\s+PLAIN\s+\S/i.test(line) ? 'AUTH PLAIN (credentials)' : line}`);
      const [verb = '', ...rest] = line.split(' ');
      const arg = rest.join(' ');
      switch (verb.toUpperCase()) {
        case 'EHLO':
          say(`250-${opts.name}`);
          if (!overTls) say('250-STARTTLS');
          else say('250-AUTH PLAIN LOGIN');
          say('250 8BITMIME');
          return;
        case 'HELO':
          say(`250 ${opts.name}`);
          return;
        case 'STARTTLS': {
          if (overTls) return say('503 5.5.1 TLS already active');
          say('220 2.0.0 Ready to start TLS');
          stream.removeAllListeners('data');
          const secure = new tls.TLSSocket(raw, { isServer: true, secureContext: context });
          secure.on('data', onData);
          secure.on('error', () => raw.destroy());
          stream = secure;
          overTls = true;
          buffer = '';
          return;
        }
        case 'AUTH': {
          if (!overTls) return say('538 5.7.11 Encryption required for requested authentication mechanism');
          const [mechanism = '', initial] = arg.split(' ');
          if (mechanism.toUpperCase() === 'PLAIN') {
            if (initial) {
              const [, user = '', password = ''] = Buffer.from(initial, 'base64').toString('utf8').split('\u0000');
              return login('PLAIN', user, password);
            }
            pendingAuth = { mechanism: 'PLAIN' };
            return say('334 ');
          }
          if (mechanism.toUpperCase() === 'LOGIN') {
            pendingAuth = { mechanism: 'LOGIN' };
            return say('334 VXNlcm5hbWU6');
          }
          return say('504 5.5.4 Unrecognized authentication type');
        }
        case 'MAIL':
          if (!authenticatedAs) return say('530 5.7.0 Authentication required');
          envelope = { mailFrom: arg.replace(/^FROM:\s*/i, '').replace(/\s.*$/, ''), rcptTo: [] };
          return say('250 2.1.0 Ok');
        case 'RCPT':
          if (!envelope) return say('503 5.5.1 Error: need MAIL command');
          envelope.rcptTo.push(arg.replace(/^TO:\s*/i, '').replace(/\s.*$/, ''));
          return say('250 2.1.5 Ok');
        case 'DATA':
          if (!envelope || envelope.rcptTo.length === 0) return say('503 5.5.1 Error: need RCPT command');
          state.messages.push({ ...envelope, data: '', overTls, authenticatedAs });
          envelope = null;
          inData = true;
          return say('354 End data with <CR><LF>.<CR><LF>');
        case 'RSET':
          envelope = null;
          return say('250 2.0.0 Ok');
        case 'NOOP':
          return say('250 2.0.0 Ok');
        case 'QUIT':
          say('221 2.0.0 Bye');
          stream.end();
          return;
        default:
          return say('502 5.5.2 Error: command not recognized');
      }
    };
    function onData(chunk: Buffer): void {
      buffer += chunk.toString('latin1');
      for (let i = buffer.indexOf('\r\n'); i >= 0; i = buffer.indexOf('\r\n')) {
        const line = buffer.slice(0, i);
        buffer = buffer.slice(i + 2);
        onLine(line);
      }
    }
    raw.on('data', onData);
    raw.on('error', () => raw.destroy());
    say(`220 ${opts.name} ESMTP test provider`);
  });

  const port = await new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port));
  });
  return {
    host: '127.0.0.1',
    port,
    logins: state.logins,
    messages: state.messages,
    transcript: state.transcript,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
