/**
 * The deferred NODE_EXTRA_CA_CERTS file (src/tls-trust.ts) is trusted over a real TLS handshake,
 * through Node's internal addCACert and, for a Node without it, through the fallback that gives
 * Node's bundled roots and the file as `ca`.
 */
import tls from 'node:tls';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { makeTestCa, serve, startPolicyServer, type PolicyServer } from '../../helpers/https.js';

let web: PolicyServer;
let caFile: string;
beforeAll(async () => {
  const ca = makeTestCa();
  caFile = ca.caFile;
  web = await startPolicyServer({ '*': ca.issue(['mta-sts.trusted.example']) }, { 'mta-sts.trusted.example': serve('ok') });
});
afterAll(async () => {
  await web.close();
});
afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
  vi.resetModules();
});

/** Whether a handshake with the trust options trustOptions gives (the deferred file named) verifies the server's certificate. */
async function handshakeTrusted(): Promise<boolean> {
  vi.stubEnv('NODE_EXTRA_CA_CERTS', '');
  vi.stubEnv('MAILDNS_DEFERRED_EXTRA_CA_CERTS', caFile);
  const { trustOptions } = await import('../../../src/tls-trust.js');
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port: web.port, servername: 'mta-sts.trusted.example', ...trustOptions(undefined), rejectUnauthorized: false }, () => {
      resolve(socket.authorized);
      socket.destroy();
    });
    socket.on('error', reject);
  });
}

describe('the deferred CA file', () => {
  it('is trusted through the secure context Node adds it to', async () => {
    expect(await handshakeTrusted()).toBe(true);
  });

  it('is trusted all the same by a Node whose secure context has no addCACert', async () => {
    const real = tls.createSecureContext;
    vi.spyOn(tls, 'createSecureContext').mockImplementation((options) => {
      const made = real(options);
      // What a Node without the internal would hand back: the context, no addCACert on it.
      return { context: Object.create(null) as object, ...(options?.ca ? made : {}) } as tls.SecureContext;
    });
    expect(await handshakeTrusted()).toBe(true);
  });
});
