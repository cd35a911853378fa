/**
 * Fetch an MTA-STS policy as a sending MTA must (RFC 8461 §3.3): HTTPS to mta-sts.<domain> with a
 * certificate valid for that name, no redirects followed, only a 200 with media type text/plain
 * (§3.2) taken, at most a bounded number of bytes read, and one deadline for the whole exchange.
 *
 * The policy host's addresses (A and AAAA at once, the A ones tried first) are asked through the
 * Resolver handed in (so `--nameserver` and tests reach it too); the TLS connection is made to them in turn while one
 * refuses the connection or does not take it in time, with SNI and the certificate check on the host
 * name, never on the address.
 */
import https from 'node:https';
import zlib from 'node:zlib';
import { checkServerIdentity, type PeerCertificate } from 'node:tls';
import { isTemporary, describeStatus, type DnsAnswer, type DnsStatus, type Resolver } from '../dns/resolver.js';
import { STS_POLICY_PATH, stsPolicyHost, stsPolicyUrl } from './compose.js';
import { tlsErrorText } from '../tls-error.js';
import { trustOptions } from '../tls-trust.js';

/** A bound on the policy's size: larger bodies are not read (64 KiB, the bound senders commonly use). */
const DEFAULT_POLICY_MAX_BYTES = 64 * 1024;
/** The whole fetch (connect, TLS, request, body) must end within this. Senders are advised a minute (§3.3); a checker need not wait that long. */
const DEFAULT_POLICY_TIMEOUT_MS = 15_000;

export interface PolicyFetchOptions {
  /** PEM certificates of the CAs to trust instead of Node's bundled roots (a private CA; tests). */
  ca?: string | Buffer;
  /** The policy host's HTTPS port: 443, except against a test server on loopback. */
  port?: number;
  timeoutMs?: number;
  maxBytes?: number;
}

type PolicyFetchFailure =
  | 'dns-temporary'
  | 'no-address'
  | 'connect'
  | 'tls'
  | 'certificate'
  | 'timeout'
  | 'redirect'
  | 'http-status'
  | 'content-type'
  | 'too-large'
  | 'content-encoding'
  | 'not-utf8';

/** An address of the policy host given up for the next one: it refused the connection, could not be reached or did not take it in time. */
export interface UnreachedAddress {
  address: string;
  /** What happened there, in words: "ECONNREFUSED connecting to ADDRESS port P", "no connection to ADDRESS port P within N ms". */
  detail: string;
}

export interface PolicyFetch {
  url: string;
  host: string;
  /** The address connected to; null when the host has none. */
  address: string | null;
  /**
   * The addresses tried before `address` and given up, in turn (ok only, and only when there were
   * some): senders that try them first lose time on each refresh, or take the domain for one without
   * a policy. When the whole fetch fails, `detail` names them instead.
   */
  unreached?: UnreachedAddress[];
  ok: boolean;
  failure?: PolicyFetchFailure;
  /** What went wrong, in words. */
  detail?: string;
  /** The HTTP status, when a response came. */
  status?: number;
  /** The status of the address lookup, when it is what failed (dns-temporary). */
  dnsStatus?: DnsStatus;
  /** What that lookup was, in words: "the AAAA records of mta-sts.example.com" (dns-temporary). */
  dnsLookup?: string;
  contentType?: string;
  /** The Location header of a redirect (not followed). */
  location?: string;
  /** The policy text (ok only). */
  body?: string;
}

/** The policy host's addresses of each family tried at most, in turn, while each refuses the connection or does not take it in time. */
const MAX_POLICY_ADDRESSES = 4;

/**
 * How long the IPv4 addresses, once known, wait for the AAAA answer (RFC 8305 §3, its Resolution
 * Delay): answers that come together give both families their share of the deadline, and an AAAA
 * lookup that hangs holds the connection back no longer than this.
 */
const RESOLUTION_DELAY_MS = 50;

type FamilyLookup = { type: 'A' | 'AAAA'; answer: DnsAnswer<string> };

const addressesIn = ({ answer }: FamilyLookup): string[] => (answer.status === 'ok' ? [...new Set(answer.records)].slice(0, MAX_POLICY_ADDRESSES) : []);

/** What `pending` gives if it settles within `ms`, else null (it goes on). */
async function within<T>(pending: Promise<T>, ms: number): Promise<T | null> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<null>((resolve) => {
    timer = setTimeout(() => resolve(null), ms);
  });
  try {
    return await Promise.race([pending, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Node's TLS error codes that mean "the certificate is not good for this name or not trusted". */
function isCertificateError(code: string | undefined): boolean {
  return !!code && (code === 'ERR_TLS_CERT_ALTNAME_INVALID' || /CERT|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)/.test(code));
}

export async function fetchStsPolicy(resolver: Resolver, domain: string, opts: PolicyFetchOptions = {}): Promise<PolicyFetch> {
  const host = stsPolicyHost(domain);
  const url = stsPolicyUrl(domain);
  const port = opts.port ?? 443;
  const maxBytes = opts.maxBytes ?? DEFAULT_POLICY_MAX_BYTES;
  const timeoutMs = opts.timeoutMs ?? DEFAULT_POLICY_TIMEOUT_MS;
  // Both families are asked at once. The A addresses come first, so that a checker without IPv6
  // does not warn of every host that has both (RFC 8305 §4 would interleave them); the AAAA answer is
  // waited for only when none of them takes the connection, as a sender's HTTPS client then goes on
  // to a host's IPv6 addresses.
  const lookup = (type: FamilyLookup['type']): Promise<FamilyLookup> => resolver.lookup(host, type).then((answer) => ({ type, answer }));
  const aaaaLookup = lookup('AAAA');
  // Not waited for when an IPv4 address serves: a resolver that throws then must not end the process (waited for, it throws here as before).
  aaaaLookup.catch(() => undefined);
  const a = await lookup('A');
  const ipv4 = addressesIn(a);
  const aaaaSoon = ipv4.length ? await within(aaaaLookup, RESOLUTION_DELAY_MS) : await aaaaLookup;

  // A sender's HTTPS client goes on to the host's next address when one refuses the connection,
  // cannot be reached or does not take it in time; once a server has taken the connection, its
  // answer is the answer. An address gets an equal part of what is left to connect (an AAAA answer
  // not yet in counts as one), the last one all of it: the fetch keeps its one deadline, what a quick
  // refusal saves goes to those after it, and a connection once made has the rest of the deadline for its answer.
  let until = 0;
  const unreached: UnreachedAddress[] = [];
  // The fetches of those addresses, each a failure to connect: the last is the fetch's own when none serves.
  const unreachedFetches: PolicyFetch[] = [];
  /** The answer of the first of `addresses` that takes the connection, `later` more addresses to come after them; null when none does. */
  const firstTaking = async (addresses: string[], later: number): Promise<PolicyFetch | null> => {
    until ||= Date.now() + timeoutMs;
    for (const [i, address] of addresses.entries()) {
      const connectMs = Math.max(1, Math.floor((until - Date.now()) / (addresses.length - i + later)));
      const { fetch, unreachable } = await fetchFrom(address, { url, host, port, maxBytes, timeoutMs, until, connectMs, ca: opts.ca });
      if (!unreachable) return fetch;
      unreached.push({ address, detail: fetch.detail! });
      unreachedFetches.push(fetch);
    }
    return null;
  };
  // A policy fetched after addresses were given up carries them; a failure names them in its detail.
  const told = (fetch: PolicyFetch, before: UnreachedAddress[] = unreached): PolicyFetch => {
    if (!before.length) return fetch;
    if (fetch.ok) return { ...fetch, unreached: before };
    return fetch.detail ? { ...fetch, detail: `${before.map((u) => u.detail).join('; ')}; then ${fetch.detail}` } : fetch;
  };

  const overIpv4 = await firstTaking(ipv4, aaaaSoon ? addressesIn(aaaaSoon).length : 1);
  if (overIpv4) return told(overIpv4);
  const aaaa = aaaaSoon ?? (await aaaaLookup);
  const overIpv6 = await firstTaking(addressesIn(aaaa), 0);
  if (overIpv6) return told(overIpv6);

  const temporary = [a, aaaa].find(({ answer }) => isTemporary(answer.status));
  const dnsLookup = temporary ? `the ${temporary.type} records of ${host}` : '';
  const lastUnreached = unreachedFetches.at(-1);
  if (!lastUnreached) {
    if (temporary) return { url, host, address: null, ok: false, failure: 'dns-temporary', detail: `${dnsLookup}: ${describeStatus(temporary.answer.status)}`, dnsStatus: temporary.answer.status, dnsLookup };
    return { url, host, address: null, ok: false, failure: 'no-address', detail: `${host} has no A or AAAA record (${describeStatus(a.answer.status)})` };
  }
  // No address it knows took the connection, and the other family could not be looked up: an address of that one may serve the policy.
  if (temporary) {
    const gaveUp = unreached.map((u) => u.detail).join('; ');
    const dnsStatus = temporary.answer.status;
    return { ...lastUnreached, failure: 'dns-temporary', dnsStatus, dnsLookup: `${dnsLookup}, after no ${temporary.type === 'A' ? 'IPv6' : 'IPv4'} address took the connection (${gaveUp})`, detail: `${gaveUp}; then ${dnsLookup}: ${describeStatus(dnsStatus)}` };
  }
  return told(lastUnreached, unreached.slice(0, -1));
}

/** Errors of a TCP connection once made (reset, timed out, no route to it any more): a failure of the connection, not an answer. */
const CONNECTION_BROKE = /^(ECONNRESET|EHOSTUNREACH|ENETUNREACH|ETIMEDOUT|EPIPE)$/;

/**
 * One GET of the policy from one address of the policy host, to end by `until`; `unreachable` when no
 * TCP connection was made, within `connectMs` or at all, which leaves a sender free to try the next address.
 */
function fetchFrom(address: string, { url, host, port, maxBytes, timeoutMs, until, connectMs, ca }: { url: string; host: string; port: number; maxBytes: number; timeoutMs: number; until: number; connectMs: number; ca: string | Buffer | undefined }): Promise<{ fetch: PolicyFetch; unreachable: boolean }> {
  const base = { url, host, address };
  return new Promise((done) => {
    const resolve = (fetch: PolicyFetch, unreachable = false): void => done({ fetch, unreachable });
    let settled = false;
    const req = https.request({
      host: address,
      port,
      path: STS_POLICY_PATH,
      method: 'GET',
      servername: host,
      // The name the certificate must carry is the policy host's, whatever address was reached.
      checkServerIdentity: (_hostname: string, cert: PeerCertificate) => checkServerIdentity(host, cert),
      ...trustOptions(ca),
      agent: false,
      headers: { host: port === 443 ? host : `${host}:${port}`, 'user-agent': 'maildns', accept: 'text/plain' },
    });
    const finish = (r: PolicyFetch, unreachable = false): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.destroy();
      resolve(r, unreachable);
    };
    // Until the TCP connection is made, this address's share of the deadline: at its end the address
    // could not be reached (a firewall dropping the connection, nothing answering there), a failure to
    // connect. From then on, what is left of the one deadline: at its end a server slow to answer, a
    // timeout. finish() ends the request whatever state it is in.
    let connected = false;
    const timedOut = (): void =>
      connected
        ? finish({ ...base, ok: false, failure: 'timeout', detail: `no complete answer within ${timeoutMs} ms` })
        : finish({ ...base, ok: false, failure: 'connect', detail: `no connection to ${address} port ${port} within ${connectMs} ms` }, true);
    let timer = setTimeout(timedOut, connectMs);
    req.on('socket', (socket) =>
      socket.once('connect', () => {
        connected = true;
        clearTimeout(timer);
        timer = setTimeout(timedOut, Math.max(1, until - Date.now()));
      }),
    );
    req.on('error', (err: NodeJS.ErrnoException) => {
      // Whatever fails before the TCP connection is made is the way to this address (EINVAL for a
      // link-local one, EPERM from a local firewall, as much as ECONNREFUSED): the next may serve the policy.
      if (!connected) return finish({ ...base, ok: false, failure: 'connect', detail: `${err.code ?? err.message} connecting to ${address} port ${port}` }, true);
      if (isCertificateError(err.code)) return finish({ ...base, ok: false, failure: 'certificate', detail: err.message });
      // node's word for a connection the server closed after taking the request, without a response.
      if (err.code === 'ECONNRESET' && err.message === 'socket hang up') return finish({ ...base, ok: false, failure: 'connect', detail: 'the server closed the connection without answering the request' });
      // A connection that broke once made: that server's answer.
      if (err.code && CONNECTION_BROKE.test(err.code)) return finish({ ...base, ok: false, failure: 'connect', detail: `${err.code} on the connection to ${address} port ${port}` });
      if (err.code?.startsWith('HPE_')) return finish({ ...base, ok: false, failure: 'connect', detail: `the answer is not valid HTTP (${err.code})` });
      finish({ ...base, ok: false, failure: 'tls', detail: tlsErrorText(err) });
    });
    // A 101 nobody asked for goes to 'upgrade' listeners; without one, node closes the socket with neither a response nor an error.
    req.on('upgrade', (res: { statusCode?: number }, socket: { destroy(): void }) => {
      socket.destroy();
      finish({ ...base, ok: false, failure: 'http-status', status: res.statusCode ?? 101, detail: `HTTP ${res.statusCode ?? 101}: a switch of protocol that was not asked for` });
    });
    let responded = false;
    req.on('close', () => {
      if (!responded) finish({ ...base, ok: false, failure: 'connect', detail: 'the connection closed before an answer came' });
    });
    req.on('response', (res) => {
      responded = true;
      const status = res.statusCode ?? 0;
      const contentType = res.headers['content-type'] ?? '';
      const answered = { ...base, status, contentType };
      const location = res.headers.location;
      // A redirect sends elsewhere; a 304 (nothing was asked conditionally) or another 3xx without a Location is just not a 200.
      if (status >= 300 && status < 400 && (location || [301, 302, 303, 307, 308].includes(status))) {
        return finish({ ...answered, ok: false, failure: 'redirect', detail: `HTTP ${status}${location ? ` to ${location}` : ''}`, ...(location ? { location } : {}) });
      }
      if (status !== 200) return finish({ ...answered, ok: false, failure: 'http-status', detail: `HTTP ${status} ${res.statusMessage ?? ''}`.trim() });
      // Parameters (charset) are ignored; the media type itself must be text/plain.
      const mediaType = contentType.split(';')[0]!.trim().toLowerCase();
      if (mediaType !== 'text/plain') return finish({ ...answered, ok: false, failure: 'content-type', detail: `the media type is ${contentType ? `"${contentType}"` : 'not given'}` });
      // HTTP's representation is the decoded body (RFC 9110 §8.4): a compressed policy is read as senders' HTTP clients read it.
      const coding = String(res.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
      const decoder = coding === 'identity' ? null : coding === 'gzip' || coding === 'x-gzip' ? zlib.createGunzip() : coding === 'deflate' ? zlib.createInflate() : coding === 'br' ? zlib.createBrotliDecompress() : undefined;
      if (decoder === undefined) return finish({ ...answered, ok: false, failure: 'content-encoding', detail: `the body is sent with Content-Encoding "${coding.slice(0, 40)}", which is not gzip, deflate or br` });
      const declared = Number(res.headers['content-length']);
      // Content-Length counts the bytes as sent (compressed, with a Content-Encoding); the bound is on the decoded body too.
      const tooLarge = (asSent: boolean): void =>
        finish({ ...answered, ok: false, failure: 'too-large', detail: `larger than ${maxBytes} bytes${asSent ? ` (Content-Length ${declared}${decoder ? `, Content-Encoding ${coding}` : ''})` : decoder ? ` once decoded (Content-Encoding ${coding})` : ''}` });
      if (Number.isFinite(declared) && declared > maxBytes) return tooLarge(true);
      const body = decoder ? res.pipe(decoder) : res;
      decoder?.on('error', () => finish({ ...answered, ok: false, failure: 'content-encoding', detail: `the body is not valid ${coding} data` }));
      const chunks: Buffer[] = [];
      let size = 0;
      body.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > maxBytes) {
          decoder?.destroy();
          return tooLarge(false);
        }
        chunks.push(chunk);
      });
      body.on('end', () => {
        let text: string;
        try {
          // A byte order mark is kept: it is no part of the policy's grammar (§3.2), and senders that read the text as served fail on it.
          text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(Buffer.concat(chunks));
        } catch {
          return finish({ ...answered, ok: false, failure: 'not-utf8', detail: 'the body is not UTF-8 text' });
        }
        finish({ ...answered, ok: true, body: text });
      });
      res.on('error', (err) => finish({ ...answered, ok: false, failure: 'connect', detail: `the answer broke off: ${err.message}` }));
      // Once the whole answer is in, a decoder may still be at work: only an answer cut short is a failure here.
      res.on('close', () => {
        if (!res.complete) finish({ ...answered, ok: false, failure: 'connect', detail: 'the connection closed before the whole answer came' });
      });
    });
    req.end();
  });
}
