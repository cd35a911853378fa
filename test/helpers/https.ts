/**
 * A test certificate authority made with the openssl program, and an HTTPS server (node:https) on
 * 127.0.0.1 (and other loopback addresses when asked) that picks its certificate by SNI and its
 * answer by Host: the policy host of MTA-STS tests. Nothing here is mocked: maildns connects,
 * checks the chain and the name, and reads what the server sends.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createSecureContext, type SecureContext } from 'node:tls';

export interface TestCa {
  dir: string;
  /** PEM of the CA certificate: what maildns is told to trust (--ca-file). */
  caFile: string;
  caPem: string;
  /** A leaf certificate signed by the CA for these DNS names. */
  issue(names: readonly string[]): { key: string; cert: string };
}

function openssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

export function makeTestCa(): TestCa {
  const dir = mkdtempSync(path.join(tmpdir(), 'maildns-ca-'));
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl(dir, ['req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '3', '-subj', '/CN=maildns test CA', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  let serial = 0;
  return {
    dir,
    caFile: path.join(dir, 'ca.pem'),
    caPem: readFileSync(path.join(dir, 'ca.pem'), 'utf8'),
    issue(names) {
      const n = ++serial;
      writeFileSync(path.join(dir, `leaf${n}.ext`), `subjectAltName=${names.map((d) => `DNS:${d}`).join(',')}\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n`);
      openssl(dir, ['req', ...ec, '-keyout', `leaf${n}.key`, '-out', `leaf${n}.csr`, '-subj', `/CN=${names[0]}`]);
      openssl(dir, ['x509', '-req', '-in', `leaf${n}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-set_serial', String(1000 + n), '-out', `leaf${n}.pem`, '-days', '2', '-extfile', `leaf${n}.ext`]);
      return { key: readFileSync(path.join(dir, `leaf${n}.key`), 'utf8'), cert: readFileSync(path.join(dir, `leaf${n}.pem`), 'utf8') };
    },
  };
}

export interface PolicyServer {
  port: number;
  /** Requests received, as "host path". */
  requests: string[];
  close(): Promise<void>;
}

export type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * Serve HTTPS on 127.0.0.1: the certificate for each SNI name from `certs` (`*` for any other
 * name), the answer from `routes` by Host (without the port); an unknown host gets 404. `alsoOn`
 * names further loopback addresses served the same way on the same port (a policy host with an
 * address after a dead one, when DNS gives addresses in their order).
 */
export async function startPolicyServer(certs: Record<string, { key: string; cert: string }>, routes: Record<string, Handler>, { alsoOn = [] }: { alsoOn?: readonly string[] } = {}): Promise<PolicyServer> {
  const contexts = new Map<string, SecureContext>(Object.entries(certs).map(([name, c]) => [name, createSecureContext(c)]));
  const fallback = certs['*'] ?? Object.values(certs)[0]!;
  const requests: string[] = [];
  // Connections that a test leaves hanging must not keep close() waiting.
  const sockets = new Set<import('node:net').Socket>();
  const listen = async (host: string, port: number): Promise<https.Server> => {
    const server = https.createServer(
      {
        key: fallback.key,
        cert: fallback.cert,
        SNICallback: (name, cb) => cb(null, contexts.get(name.toLowerCase()) ?? contexts.get('*')),
      },
      (req, res) => {
        const host = (req.headers.host ?? '').replace(/:\d+$/, '').toLowerCase();
        requests.push(`${host} ${req.url}`);
        const route = routes[host];
        if (!route) {
          res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
          return;
        }
        route(req, res);
      },
    );
    server.on('secureConnection', (s) => {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, resolve);
    });
    return server;
  };
  const first = await listen('127.0.0.1', 0);
  const port = (first.address() as { port: number }).port;
  const servers = [first];
  try {
    for (const host of alsoOn) servers.push(await listen(host, port));
  } catch (err) {
    for (const server of servers) server.close();
    throw err;
  }
  return {
    port,
    requests,
    close: async () => {
      for (const s of sockets) s.destroy();
      await Promise.all(servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
    },
  };
}

/** A handler that answers 200 with `body` and the given media type. */
export function serve(body: string | Buffer, contentType = 'text/plain'): Handler {
  return (_req, res) => {
    res.writeHead(200, { 'content-type': contentType }).end(body);
  };
}
