/**
 * Addresses that never complete a TCP handshake, on loopback and without a firewall: a listening
 * socket with a backlog of 0 that nobody accepts from, its accept queue filled by one connection.
 * Linux then drops each SYN to it, as a black-holed address does, and a client's connect stays
 * pending until the client gives up (the kernel's own limit is minutes away). Node cannot listen
 * without accepting, so the listener is a Python child, which exits when its standard input closes.
 */
import { spawn } from 'node:child_process';
import net from 'node:net';
import { SYSTEM_PYTHON } from './programs.js';

export interface BlackHole {
  close(): Promise<void>;
}

const LISTEN_WITHOUT_ACCEPTING = [
  'import socket, sys',
  'held = []',
  'for host in sys.argv[2:]:',
  '    s = socket.socket(); s.bind((host, int(sys.argv[1]))); s.listen(0); held.append(s)',
  'print("listening", flush=True)',
  'sys.stdin.read()',
].join('\n');

/** Each of `hosts` (loopback addresses other than the one a test server is on) black-holed on `port`. */
export async function startBlackHole(hosts: readonly string[], port: number): Promise<BlackHole> {
  const listener = spawn(SYSTEM_PYTHON, ['-c', LISTEN_WITHOUT_ACCEPTING, String(port), ...hosts], { stdio: ['pipe', 'pipe', 'inherit'] });
  const exited = new Promise<void>((resolve) => listener.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    listener.stdout!.once('data', () => resolve());
    listener.once('exit', (code) => reject(new Error(`the black-hole listener on ${hosts.join(', ')} port ${port} exited (${code}) before listening`)));
  });
  // One connection fills a backlog of 0; the handshakes after it are dropped while it waits unaccepted.
  const fillers = await Promise.all(
    hosts.map(
      (host) =>
        new Promise<net.Socket>((resolve, reject) => {
          const socket = net.connect(port, host, () => resolve(socket));
          socket.once('error', reject);
        }),
    ),
  );
  return {
    close: async () => {
      for (const socket of fillers) socket.destroy();
      listener.stdin!.end();
      await exited;
    },
  };
}
