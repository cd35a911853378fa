/**
 * The embedded server against clients that would wear it down: idle TCP connections are closed
 * (RFC 7766 §6.2.3), their number is capped (§6.2.2), ANY gets one RRset (RFC 8482) and zone
 * transfers are refused.
 */
import { execFile } from 'node:child_process';
import dgram from 'node:dgram';
import net from 'node:net';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../../../src/dns/server.js';
import type { DnsRecord } from '../../../src/records.js';
import { encodeMessage, T } from '../../helpers/hostile-dns.js';

const run = promisify(execFile);
const records: DnsRecord[] = [
  { name: 'example.com', type: 'MX', ttl: 3600, value: '10 mail.example.com' },
  { name: 'example.com', type: 'TXT', ttl: 3600, value: 'v=spf1 -all' },
  { name: 'example.com', type: 'TXT', ttl: 3600, value: 'site-verification=abc' },
  { name: 'mail.example.com', type: 'A', ttl: 3600, value: '192.0.2.25' },
];

let server: RunningServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

/** A TCP connection to the server, and a promise that settles when the server closes it. */
async function connect(s: RunningServer): Promise<{ socket: net.Socket; closed: Promise<number> }> {
  const socket = net.createConnection({ host: s.host, port: s.port });
  socket.on('error', () => undefined);
  const closed = new Promise<number>((resolve) => socket.on('close', () => resolve(performance.now())));
  // A connection over the cap may be closed before it is seen open.
  await Promise.race([new Promise<void>((resolve) => socket.once('connect', () => resolve())), closed]);
  return { socket, closed };
}

/** One query over an open TCP connection, answered in full. */
function askOverTcp(socket: net.Socket, name: string, type: number): Promise<Buffer> {
  const query = encodeMessage({ id: 7, qr: false, questions: [{ name, type }] });
  const framed = Buffer.concat([Buffer.from([query.length >> 8, query.length & 0xff]), query]);
  return new Promise((resolve) => {
    let got = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      got = Buffer.concat([got, chunk]);
      if (got.length >= 2 && got.length >= got.readUInt16BE(0) + 2) {
        socket.off('data', onData);
        resolve(got.subarray(2));
      }
    };
    socket.on('data', onData);
    socket.write(framed);
  });
}

/** One query over UDP; the raw answer. */
async function askOverUdp(s: RunningServer, name: string, type: number): Promise<Buffer> {
  const socket = dgram.createSocket('udp4');
  try {
    return await new Promise<Buffer>((resolve) => {
      socket.on('message', (msg) => resolve(msg));
      socket.send(encodeMessage({ id: 9, qr: false, questions: [{ name, type }] }), s.port, s.host);
    });
  } finally {
    socket.close();
  }
}

const rcodeOf = (msg: Buffer): number => msg[3]! & 0xf;
const ancountOf = (msg: Buffer): number => msg.readUInt16BE(6);

describe('TCP connections', () => {
  it('closes a connection that sends nothing once the idle timeout has passed, and not before', async () => {
    server = await startServer({ records, zones: ['example.com'], tcpIdleTimeoutMs: 300 });
    const opened = performance.now();
    const { closed } = await connect(server);
    expect((await closed) - opened).toBeGreaterThanOrEqual(290);
  });

  it('answers on a connection, then closes it when it falls idle', async () => {
    server = await startServer({ records, zones: ['example.com'], tcpIdleTimeoutMs: 300 });
    const { socket, closed } = await connect(server);
    // The server's idle clock starts again at its last write, which comes after the query is sent.
    const asked = performance.now();
    const answer = await askOverTcp(socket, 'mail.example.com', T.A);
    expect([rcodeOf(answer), ancountOf(answer)]).toEqual([0, 1]);
    expect((await closed) - asked).toBeGreaterThanOrEqual(290);
  });

  it('holds at most maxTcpConnections at once: the others are closed as they arrive, the held ones still answer', async () => {
    server = await startServer({ records, zones: ['example.com'], tcpIdleTimeoutMs: 60_000, maxTcpConnections: 5 });
    const clients = await Promise.all(Array.from({ length: 20 }, () => connect(server!)));
    // Wait for the server to close the ones over the cap (it does so as it accepts them).
    const closed = clients.map(() => false);
    clients.forEach((c, i) => void c.closed.then(() => (closed[i] = true)));
    while (closed.filter(Boolean).length < 15) await new Promise((r) => setTimeout(r, 20));
    const held = clients.filter((_, i) => !closed[i]);
    expect(held).toHaveLength(5);
    for (const c of held) expect(rcodeOf(await askOverTcp(c.socket, 'example.com', T.MX))).toBe(0);
    for (const c of clients) c.socket.destroy();
  });
});

describe('meta questions', () => {
  it('answers ANY with one RRset of the name (RFC 8482), not every record there', async () => {
    server = await startServer({ records, zones: ['example.com'] });
    const { stdout } = await run('/usr/bin/dig', [`@${server.host}`, '-p', String(server.port), '+time=2', '+tries=1', '+noall', '+answer', 'ANY', 'example.com']);
    const types = stdout.trim().split('\n').map((line) => line.split(/\s+/)[3]);
    expect(types).toEqual(['MX']);
    expect(rcodeOf(await askOverUdp(server, 'nothing.example.com', T.ANY))).toBe(3);
  });

  it('refuses AXFR and IXFR, over TCP and UDP, instead of an empty NOERROR', async () => {
    server = await startServer({ records, zones: ['example.com'] });
    const { stdout } = await run('/usr/bin/dig', [`@${server.host}`, '-p', String(server.port), '+time=2', '+tries=1', 'AXFR', 'example.com']);
    expect(stdout).toMatch(/Transfer failed/);
    for (const type of [T.AXFR, T.IXFR]) {
      const { socket } = await connect(server);
      expect(rcodeOf(await askOverTcp(socket, 'example.com', type))).toBe(5);
      socket.destroy();
      expect(rcodeOf(await askOverUdp(server, 'example.com', type))).toBe(5);
    }
  });
});
