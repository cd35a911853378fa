/**
 * The CA certificates that maildns' own TLS connections trust (the MTA-STS policy fetch, STARTTLS):
 * those of --ca-file when given; otherwise Node's CA store and, when the `maildns` launcher
 * (bin/maildns) held NODE_EXTRA_CA_CERTS back from Node, that file's certificates, read here when a
 * connection first needs them. Node 20 reads that file as every process starts, which cost 39-55 ms
 * of each maildns start on a machine that names the system's bundle there; most commands make no
 * TLS connection. What is trusted is what Node would have trusted: its CA store and the file's
 * certificates, and a file that cannot be read is reported in Node's words and left out.
 */
import tls from 'node:tls';
import { InputError } from './errors.js';
import { readInputFileSync } from './fsutil.js';

/** The environment variable the launcher hands NODE_EXTRA_CA_CERTS' file name on in. */
const DEFERRED_EXTRA_CA_CERTS = 'MAILDNS_DEFERRED_EXTRA_CA_CERTS';

/** The connection's own secure-context options, which a shared context must carry itself. */
type ContextOptions = Pick<tls.SecureContextOptions, 'minVersion' | 'maxVersion' | 'ciphers'>;

type TrustOptions = (ContextOptions & { ca?: string | Buffer }) | { secureContext: tls.SecureContext };

/** Undefined until looked at; null when there is none (no file deferred, or it could not be read). */
let deferred: Buffer | null | undefined;
/** One context per set of options: each parses the file's certificates again. */
const contexts = new Map<string, tls.SecureContext>();

function ignoring(file: string, why: string): null {
  process.emitWarning(`Ignoring extra certs from \`${file}\`, load failed: ${why}`);
  return null;
}

/** The deferred file, read once. */
function deferredFile(): Buffer | null {
  if (deferred !== undefined) return deferred;
  const file = process.env[DEFERRED_EXTRA_CA_CERTS];
  // A NODE_EXTRA_CA_CERTS Node saw (a process the launcher did not start, with the name inherited) is in Node's store already.
  if (!file || process.env['NODE_EXTRA_CA_CERTS']) return (deferred = null);
  try {
    // Bounded (src/fsutil.ts): a FIFO or a device is refused at once, where a blocking read of a FIFO nothing writes to hung the first TLS connection.
    deferred = readInputFileSync(file, { maxBytes: 16 << 20, what: 'CA certificates', fix: 'name a PEM file of CA certificates in NODE_EXTRA_CA_CERTS' });
  } catch (err) {
    const e = err as Error;
    deferred = ignoring(file, e instanceof InputError && e.location !== undefined ? e.message.slice(e.location.length + 2) : e.message);
  }
  return deferred;
}

/**
 * The trust and context options of one TLS connection (tls.connect, https.request): `context` with
 * `ca` (--ca-file's PEM) when given; otherwise a shared context with `context` in it, of Node's own
 * CA store and the deferred file's certificates; `context` alone (Node's own store) when no file
 * was deferred.
 */
export function trustOptions(ca: string | Buffer | undefined, context: ContextOptions = {}): TrustOptions {
  if (ca !== undefined) return { ...context, ca };
  const extra = deferredFile();
  if (!extra) return context;
  const key = JSON.stringify(context);
  let shared = contexts.get(key);
  if (!shared) {
    // The store a connection without `ca` gets, whichever Node's is: its bundled roots, OpenSSL's
    // (--use-openssl-ca, or a build that defaults to it) or a build's system CA path as well, which
    // tls.rootCertificates does not hold. addCACert adds the file to a copy of it, for this context
    // alone, with the PEM reading of NODE_EXTRA_CA_CERTS (OpenSSL's: the old "X509 CERTIFICATE"
    // label is read, and the certificates after one it cannot read are not).
    shared = tls.createSecureContext(context);
    (shared.context as { addCACert(pem: Buffer): void }).addCACert(extra);
    contexts.set(key, shared);
  }
  return { secureContext: shared };
}
