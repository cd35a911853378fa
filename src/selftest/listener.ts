/**
 * A minimal RFC 5321 receiver for `maildns selftest`: the MTA delivers the probe here. It speaks
 * EHLO/HELO, MAIL, RCPT, DATA (dot-unstuffed, ended only by CRLF.CRLF), RSET, NOOP and QUIT, takes
 * only the recipients it is told to, and bounds everything a peer controls: line length, message
 * size, recipients, errors, connections and idle time. Anything past a bound gets a 5xx (or 421 for
 * a timeout) and the connection is closed.
 */
import net from 'node:net';

export interface ListenerLimits {
  /** A command line, CRLF included (RFC 5321 §4.5.3.1.4 allows 512). */
  maxCommandBytes: number;
  /** A text line of the message, CRLF included (RFC 5321 §4.5.3.1.6: 1000). */
  maxTextLineBytes: number;
  maxMessageBytes: number;
  maxRecipients: number;
  /** Bad or out-of-order commands before the connection is closed. */
  maxErrors: number;
  maxConnections: number;
  /** Silence from the client this long closes the connection. */
  idleMs: number;
}

const DEFAULT_LIMITS: ListenerLimits = {
  maxCommandBytes: 512,
  maxTextLineBytes: 1000,
  maxMessageBytes: 10 * 1024 * 1024,
  maxRecipients: 20,
  maxErrors: 10,
  maxConnections: 8,
  idleMs: 60_000,
};

export interface ReceivedMail {
  /** The EHLO or HELO name the client gave. */
  helo: string | null;
  /** The reverse path, without angle brackets ("" for the null sender). */
  mailFrom: string;
  rcptTo: string[];
  /** The message as received, dot-unstuffed, with CRLF line ends. */
  data: Buffer;
  client: string;
  receivedAt: Date;
}

export interface SmtpListener {
  host: string;
  port: number;
  received: ReceivedMail[];
  /** Resolves with the first message `match` accepts, or null when `deadline` (epoch ms) passes first. */
  waitFor(match: (m: ReceivedMail) => boolean, deadline: number): Promise<ReceivedMail | null>;
  close(): Promise<void>;
}

export interface ListenerOptions {
  host: string;
  port: number;
  /** The name in the greeting and the EHLO reply. */
  name?: string;
  /** Whether a recipient (address without brackets) is taken; others get 550. */
  accepts(recipient: string): boolean;
  limits?: Partial<ListenerLimits>;
}

const CRLF = Buffer.from('\r\n');

/** `<local@domain>` followed by optional ESMTP parameters; null when the path is malformed. */
function parsePath(arg: string, keyword: 'FROM' | 'TO'): { address: string; params: string[] } | null {
  const m = new RegExp(`^${keyword}:\\s*<([^<>\\s]*)>((?:\\s+\\S+)*)\\s*$`, 'i').exec(arg);
  if (!m) return null;
  const address = m[1]!;
  // RFC 5321 §4.5.3.1.3: a path is at most 256 octets; control characters never belong in one.
  if (Buffer.byteLength(address) > 254 || /[\x00-\x1f\x7f]/.test(address)) return null;
  return { address, params: m[2]!.trim() ? m[2]!.trim().split(/\s+/) : [] };
}

export async function startSmtpListener(opts: ListenerOptions): Promise<SmtpListener> {
  const limits: ListenerLimits = { ...DEFAULT_LIMITS, ...opts.limits };
  const name = opts.name ?? 'maildns-selftest';
  const received: ReceivedMail[] = [];
  const waiters = new Set<() => void>();
  const sockets = new Set<net.Socket>();

  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    if (sockets.size > limits.maxConnections) {
      socket.end(`421 4.7.0 ${name} too many connections, try again later\r\n`);
      return;
    }
    session(socket);
  });

  function session(socket: net.Socket): void {
    const client = socket.remoteAddress ?? 'unknown';
    let buffer: Buffer = Buffer.alloc(0);
    let helo: string | null = null;
    let envelope: { mailFrom: string; rcptTo: string[] } | null = null;
    let data: Buffer[] | null = null;
    let dataBytes = 0;
    let errors = 0;
    let closing = false;

    const reply = (line: string): void => {
      if (!closing) socket.write(`${line}\r\n`);
    };
    const closeWith = (line: string): void => {
      reply(line);
      closing = true;
      socket.end();
      // A client that never reads would keep the socket half-open: give it a moment, then drop it.
      setTimeout(() => socket.destroy(), 1000).unref();
    };
    const error = (line: string): void => {
      errors += 1;
      if (errors >= limits.maxErrors) closeWith(`421 4.7.0 ${name} too many errors, closing`);
      else reply(line);
    };

    socket.setTimeout(limits.idleMs, () => closeWith(`421 4.4.2 ${name} timeout, closing`));

    const onCommand = (line: string): void => {
      const space = line.indexOf(' ');
      const verb = (space < 0 ? line : line.slice(0, space)).toUpperCase();
      const arg = space < 0 ? '' : line.slice(space + 1).trim();
      switch (verb) {
        case 'EHLO':
        case 'HELO': {
          if (!arg || !/^[\x21-\x7e]+$/.test(arg)) return error(`501 5.5.4 ${verb} needs a domain or address literal`);
          helo = arg;
          envelope = null;
          if (verb === 'HELO') return reply(`250 ${name}`);
          return reply(`250-${name}\r\n250-SIZE ${limits.maxMessageBytes}\r\n250-8BITMIME\r\n250 SMTPUTF8`);
        }
        case 'MAIL': {
          if (!helo) return error('503 5.5.1 send EHLO or HELO first');
          if (envelope) return error('503 5.5.1 nested MAIL command');
          const p = parsePath(arg, 'FROM');
          if (!p) return error('501 5.1.7 bad sender address syntax');
          const size = p.params.map((x) => /^SIZE=(\d+)$/i.exec(x)).find(Boolean);
          if (size && Number(size[1]) > limits.maxMessageBytes) return error(`552 5.3.4 message size exceeds ${limits.maxMessageBytes} bytes`);
          envelope = { mailFrom: p.address, rcptTo: [] };
          return reply('250 2.1.0 Ok');
        }
        case 'RCPT': {
          if (!envelope) return error('503 5.5.1 need MAIL before RCPT');
          const p = parsePath(arg, 'TO');
          if (!p || !p.address) return error('501 5.1.3 bad recipient address syntax');
          if (envelope.rcptTo.length >= limits.maxRecipients) return error('452 4.5.3 too many recipients');
          if (!opts.accepts(p.address)) return error(`550 5.1.1 <${p.address}>: recipient not accepted here`);
          envelope.rcptTo.push(p.address);
          return reply('250 2.1.5 Ok');
        }
        case 'DATA': {
          if (arg) return error('501 5.5.4 DATA takes no argument');
          if (!envelope || envelope.rcptTo.length === 0) return error('503 5.5.1 need RCPT before DATA');
          data = [];
          dataBytes = 0;
          return reply('354 End data with <CR><LF>.<CR><LF>');
        }
        case 'RSET':
          envelope = null;
          return reply('250 2.0.0 Ok');
        case 'NOOP':
          return reply('250 2.0.0 Ok');
        case 'QUIT':
          return closeWith(`221 2.0.0 ${name} closing`);
        default:
          return error('502 5.5.2 command not recognized');
      }
    };

    const onTextLine = (line: Buffer): void => {
      if (line.length === 1 && line[0] === 0x2e) {
        const mail: ReceivedMail = { helo, mailFrom: envelope!.mailFrom, rcptTo: envelope!.rcptTo, data: Buffer.concat(data!), client, receivedAt: new Date() };
        data = null;
        envelope = null;
        received.push(mail);
        for (const w of waiters) w();
        return reply('250 2.0.0 Ok: received');
      }
      // RFC 5321 §4.5.2: a leading dot was doubled by the sender.
      const text = line[0] === 0x2e ? line.subarray(1) : line;
      dataBytes += text.length + 2;
      if (dataBytes > limits.maxMessageBytes) return closeWith(`552 5.3.4 message size exceeds ${limits.maxMessageBytes} bytes, closing`);
      data!.push(text, CRLF);
    };

    socket.on('data', (chunk: Buffer) => {
      if (closing) return;
      buffer = buffer.length ? Buffer.concat([buffer, chunk]) : chunk;
      // Only CRLF ends a line: a bare LF is part of the line, so "\n.\n" never ends the data.
      for (let i = buffer.indexOf(CRLF); i >= 0 && !closing; i = buffer.indexOf(CRLF)) {
        const line = buffer.subarray(0, i);
        buffer = buffer.subarray(i + 2);
        const max = data ? limits.maxTextLineBytes : limits.maxCommandBytes;
        if (line.length + 2 > max) return closeWith(`500 5.5.2 line longer than ${max} bytes, closing`);
        if (data) onTextLine(line);
        // UTF-8, as an SMTPUTF8 client sends an address (RFC 6531 §3.3): Latin-1 garbled every non-ASCII character of MAIL FROM and RCPT TO.
        else onCommand(line.toString('utf8'));
      }
      const max = data ? limits.maxTextLineBytes : limits.maxCommandBytes;
      if (!closing && buffer.length + 2 > max) closeWith(`500 5.5.2 line longer than ${max} bytes, closing`);
    });

    reply(`220 ${name} ESMTP maildns selftest listener`);
  }

  const port = await new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: opts.host, port: opts.port, exclusive: true }, () => {
      server.off('error', reject);
      resolve((server.address() as net.AddressInfo).port);
    });
  });

  return {
    host: opts.host,
    port,
    received,
    waitFor(match, deadline) {
      return new Promise((resolve) => {
        const check = (): boolean => {
          const found = received.find(match);
          if (!found) return false;
          finish(found);
          return true;
        };
        const finish = (value: ReceivedMail | null): void => {
          waiters.delete(onMessage);
          clearTimeout(timer);
          resolve(value);
        };
        const onMessage = (): void => void check();
        const timer = setTimeout(() => finish(received.find(match) ?? null), Math.max(0, deadline - Date.now()));
        waiters.add(onMessage);
        check();
      });
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
