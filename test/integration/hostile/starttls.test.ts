/**
 * The STARTTLS probe against SMTP servers that misbehave on purpose: node:net fakes on 127.0.0.1,
 * each playing one hostile server (no Postfix, no root). Each gets a verdict naming what it did,
 * within the step deadline and a bounded amount of memory.
 */
import net from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { probeStartTls } from '../../../src/starttls/probe.js';

const servers: net.Server[] = [];
afterAll(() => {
  for (const s of servers) s.close();
});

/** A fake SMTP server on 127.0.0.1; its port. */
async function fake(onConnection: (s: net.Socket) => void): Promise<number> {
  const server = net.createServer((s) => {
    s.on('error', () => {});
    onConnection(s);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.push(server);
  return (server.address() as net.AddressInfo).port;
}

/** Write `text` every millisecond until the client goes away: a flood in small pieces, each line ended. */
function flood(s: net.Socket, text: string): void {
  const timer = setInterval(() => (s.destroyed ? clearInterval(timer) : s.write(text)), 1);
  s.on('close', () => clearInterval(timer));
}

describe('STARTTLS probe against hostile SMTP servers', () => {
  it('ends an endless multi-line greeting, sent a line at a time, at the reply bound, not at the deadline', async () => {
    const port = await fake((s) => flood(s, `220-${'e'.repeat(1000)}\r\n`.repeat(8)));
    const r = await probeStartTls('mx.flood.test', '127.0.0.1', { port, stepTimeoutMs: 5000 });
    expect(r).toMatchObject({ state: 'unreachable', step: 'greeting', detail: expect.stringContaining('more than 65536 bytes without ending its reply') });
  });

  it('ends an endless multi-line EHLO reply the same way', async () => {
    const port = await fake((s) => {
      s.write('220 mx.flood.test ESMTP\r\n');
      s.once('data', () => flood(s, `250-${'E'.repeat(1000)}\r\n`.repeat(8)));
    });
    const r = await probeStartTls('mx.flood.test', '127.0.0.1', { port, stepTimeoutMs: 5000 });
    expect(r).toMatchObject({ state: 'unreachable', step: 'ehlo', detail: expect.stringContaining('more than 65536 bytes') });
  });

  it('says in one line why the handshake failed when the server answers the ClientHello with plain text', async () => {
    const port = await fake((s) => {
      s.write('220 mx.plain.test ESMTP\r\n');
      s.on('data', (d: Buffer) => {
        const line = d.toString('latin1');
        if (/^EHLO/i.test(line)) s.write('250-mx.plain.test\r\n250 STARTTLS\r\n');
        else if (/^STARTTLS/i.test(line)) s.write('220 2.0.0 Ready to start TLS\r\n');
        else s.write('500 5.5.1 this is not TLS\r\n');
      });
    });
    const r = await probeStartTls('mx.plain.test', '127.0.0.1', { port, stepTimeoutMs: 5000 });
    expect(r).toMatchObject({ state: 'handshake-failed', step: 'handshake', detail: 'wrong version number' });
  });
});
