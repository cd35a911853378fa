/**
 * The CA certificates that maildns' own TLS connections trust (the MTA-STS policy fetch, STARTTLS):
 * those of --ca-file when given; otherwise Node's roots and, when the `maildns` launcher
 * (bin/maildns) held NODE_EXTRA_CA_CERTS back from Node, that file's certificates, read here when a
 * connection first needs them. Node 20 reads that file as every process starts, which cost 40-55 ms
 * of each maildns start on a machine that names the system's bundle there; most commands make no
 * TLS connection. What is trusted is what Node would have trusted: its roots and the file's
 * certificates, and a file that cannot be read is reported in Node's words and left out.
 */
import { readFileSync } from 'node:fs';
import tls from 'node:tls';

/** The environment variable the launcher hands NODE_EXTRA_CA_CERTS' file name on in. */
export const DEFERRED_EXTRA_CA_CERTS = 'MAILDNS_DEFERRED_EXTRA_CA_CERTS';

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;

/** The connection's own secure-context options, which a shared context must carry itself. */
export type ContextOptions = Pick<tls.SecureContextOptions, 'minVersion' | 'maxVersion' | 'ciphers'>;

export type TrustOptions = { ca: string | Buffer } | { secureContext: tls.SecureContext } | Record<string, never>;

/** Undefined until looked at; null when there are none (no file deferred, or it could not be used). */
let deferred: string[] | null | undefined;
/** One context per set of options: each made from the roots and the file parses every certificate again. */
const contexts = new Map<string, tls.SecureContext>();

function ignoring(file: string, why: string): null {
  process.emitWarning(`Ignoring extra certs from \`${file}\`, load failed: ${why}`);
  return null;
}

/** The certificates of the deferred file, read once; a file without any adds none, as with Node. */
function deferredCertificates(): string[] | null {
  if (deferred !== undefined) return deferred;
  const file = process.env[DEFERRED_EXTRA_CA_CERTS];
  if (!file) return (deferred = null);
  try {
    deferred = readFileSync(file, 'latin1').match(PEM_CERTIFICATE) ?? null;
  } catch (err) {
    deferred = ignoring(file, (err as Error).message);
  }
  return deferred;
}

/**
 * The trust options of one TLS connection (tls.connect, https.request): `ca` (--ca-file's PEM)
 * alone when given; otherwise a shared context of Node's roots and the deferred certificates with
 * `context` in it; nothing (Node's own default) when no file was deferred.
 */
export function trustOptions(ca: string | Buffer | undefined, context: ContextOptions = {}): TrustOptions {
  if (ca !== undefined) return { ca };
  const extra = deferredCertificates();
  if (!extra) return {};
  const key = JSON.stringify(context);
  let shared = contexts.get(key);
  if (!shared) {
    try {
      shared = tls.createSecureContext({ ...context, ca: [...tls.rootCertificates, ...extra] });
    } catch (err) {
      deferred = ignoring(process.env[DEFERRED_EXTRA_CA_CERTS]!, (err as Error).message);
      return {};
    }
    contexts.set(key, shared);
  }
  return { secureContext: shared };
}
