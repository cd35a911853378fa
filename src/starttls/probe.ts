/**
 * STARTTLS on a domain's MX hosts, at each of their addresses (A and AAAA), as a sending server meets
 * it (RFC 3207): connect to port 25, read the greeting, EHLO, look for STARTTLS among the extensions,
 * STARTTLS, then the TLS handshake with SNI set to the MX host name. Every address gets its own
 * probe and findings: a sender that reaches one offering no TLS sends in plain text. Reported: the
 * TLS version and cipher, whether the certificate chains to a trusted CA (the built-in roots, or
 * --ca-file's) and names the MX host, and, when the domain's MTA-STS policy was fetched, whether it
 * satisfies that policy (RFC 8461 §4.1).
 *
 * The handshake offers TLS 1.2 and 1.3, as senders do (RFC 8996). When the server refuses them for
 * their version, a second session offers TLS 1.0 and 1.1 (only those), to say what the server does speak.
 *
 * Every step has its own deadline, so a server that stalls at any point gets a verdict naming the
 * step; nothing is ever sent after STARTTLS but QUIT, and no mail is offered.
 */
import { DEFAULT_STEP_TIMEOUT_MS } from './defaults.js';
import { X509Certificate } from 'node:crypto';
import net from 'node:net';
import { hostname } from 'node:os';
import tls from 'node:tls';
import { temporaryFinding } from '../dns/failure.js';
import { isTemporary, type Resolver } from '../dns/resolver.js';
import type { Finding, Severity } from '../findings.js';
import { mxMatchesPattern, type ParsedStsPolicy } from '../mtasts/parse.js';
import type { TlsaValue } from '../records.js';
import { daneFindings, matchingTlsa, tlsaText } from '../dnssec/tlsa.js';
import { parseIp, readableForm } from '../spf/ip.js';
import type { RecentMap } from '../recent.js';
import type { Slots } from '../slots.js';
import { probeSubject } from './subject.js';
import { tlsErrorText } from '../tls-error.js';
import { trustOptions } from '../tls-trust.js';

type SmtpStep = 'connect' | 'greeting' | 'ehlo' | 'starttls' | 'handshake';

/**
 * tls: the handshake completed (the certificate verdict is separate); no-starttls: EHLO did not
 * offer it; starttls-refused: offered, but the STARTTLS command was refused; smtp-refused: the
 * greeting or EHLO was refused; timeout / unreachable / handshake-failed: the step in `step`.
 */
type StartTlsState = 'tls' | 'no-starttls' | 'starttls-refused' | 'smtp-refused' | 'timeout' | 'unreachable' | 'handshake-failed' | 'no-address' | 'dns-error';

interface CertificateVerdict {
  subject: string;
  altNames: string[];
  issuer: string;
  validTo: string;
  /** Chains to a trusted CA and is within its validity dates. */
  trusted: boolean;
  /** Names the MX host (RFC 6125 rules, as node:tls checks them). */
  nameValid: boolean;
  /** Why the chain is not trusted (node's code, e.g. SELF_SIGNED_CERT_IN_CHAIN). */
  error?: string;
}

export interface StartTlsProbe {
  host: string;
  address: string | null;
  port: number;
  state: StartTlsState;
  /** The step that stalled or failed (every state but tls and no-address). */
  step?: SmtpStep;
  greeting?: string;
  /** EHLO keywords offered before STARTTLS, upper-case. */
  extensions?: string[];
  /** The server's refusal, as it answered. */
  reply?: string;
  tlsVersion?: string;
  cipher?: string;
  certificate?: CertificateVerdict;
  /** Against the MTA-STS policy, when one was fetched and its mode is not none. */
  mtaSts?: { mode: 'enforce' | 'testing'; pattern: string | null; satisfied: boolean };
  /**
   * Against the host's validated TLSA records, when the DNSSEC check found some (RFC 7672 §3): the
   * record the chain matched, or null. With legacyTls, the chain that TLS 1.0 or 1.1 session presented.
   */
  dane?: { tlsa: string[]; matched: string | null };
  /** What went wrong, in words: why the step failed, or (no-starttls) the EHLO lines that name no extension. */
  detail?: string;
  /** Bytes the server sent after its 220 to STARTTLS and before the handshake (discarded, never read as replies); the second session's are in legacyTls or legacyTlsFailed. */
  sentAhead?: number;
  /**
   * When the handshake failed for the protocol version (state handshake-failed): what a second
   * session offering TLS 1.0 and 1.1 (only those) got. Its certificate is not judged: OpenSSL 3 allows
   * those versions only at security level 0, where weak keys and SHA-1 signatures pass; its chain is
   * still matched against the TLSA records (`dane`), a comparison of digests no security level affects.
   */
  legacyTls?: { tlsVersion: string; cipher: string; sentAhead?: number };
  /**
   * When that second session was tried and got no TLS session (a 421, a timeout, a reset, a
   * refused handshake): how it ended, as the probe's own fields would say it.
   */
  legacyTlsFailed?: Pick<StartTlsProbe, 'state' | 'step' | 'detail' | 'reply' | 'sentAhead'>;
}

export interface StartTlsOptions {
  /** 25 unless a test says otherwise. */
  port?: number;
  /** PEM CA certificates to trust instead of the built-in roots. */
  ca?: string;
  /** Milliseconds for each step (connect, greeting, EHLO, STARTTLS, handshake) of each session: a host refusing TLS 1.2 and 1.3 gets two, so ten deadlines. */
  stepTimeoutMs?: number;
  /** The EHLO name; the machine's host name by default. */
  ehloName?: string;
  /** Validated, usable TLSA records by MX host (the DNSSEC check's): the presented chain is matched against them. */
  tlsa?: ReadonlyMap<string, readonly TlsaValue[]>;
  /**
   * A run's probes, shared by its domains: a host is probed at an address once a run however many
   * domains name it as their MX (hosted mail puts thousands of domains behind a few hosts, each of
   * which had been given a connection per domain). Keyed by host, address and TLSA records, so one
   * is for calls whose other options are the same; startTlsFromArgs gives each check run one,
   * bounded (PROBES_KEPT). The probes in it are shared by the results: read them, do not change them.
   */
  probes?: RecentMap<string, Promise<StartTlsProbe>>;
  /** The run's bound on SMTP sessions open at once, shared by its probes (startTlsFromArgs: SESSIONS_AT_ONCE); a session waits for a place before it connects. */
  sessions?: Slots;
}

/** More reply text than any SMTP server sends for a greeting or EHLO: a server sending more is broken. */
const MAX_REPLY_BYTES = 64 * 1024;

class StepFailure extends Error {
  constructor(
    readonly state: StartTlsState,
    readonly step: SmtpStep,
    message: string,
    readonly reply?: string,
  ) {
    super(message);
  }
}

/** The handshake failed; `versionRefused`: for the protocol version (no version both sides allow). */
class HandshakeFailure extends StepFailure {
  constructor(
    message: string,
    readonly versionRefused: boolean,
  ) {
    super('handshake-failed', 'handshake', message);
  }
}

/**
 * The TLS versions a session offers. modern: 1.2 and 1.3, what senders allow nowadays (RFC 8996),
 * pinned so that node's --tls-min-v1.0 or --tls-min-v1.3 does not change the verdict. legacy: 1.0
 * and 1.1 only, which OpenSSL 3 allows only at security level 0; only those, so that what the
 * second session gets is an old version (a pool whose other backend speaks 1.3 is not told it
 * chose a deprecated TLS 1.3).
 */
const TLS_VERSIONS = {
  modern: { minVersion: 'TLSv1.2' },
  legacy: { minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT:@SECLEVEL=0' },
} satisfies Record<string, tls.ConnectionOptions>;
type TlsVersions = keyof typeof TLS_VERSIONS;

/** OpenSSL's errors for no common version: the server's protocol_version alert, or a ServerHello with a version the client does not allow. */
const VERSION_REFUSED = new Set(['ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION', 'ERR_SSL_UNSUPPORTED_PROTOCOL']);

interface Reply {
  code: number;
  lines: string[];
  text: string;
}

/** Reads SMTP replies (RFC 5321 §4.2: "250-" continues, "250 " ends) from a plain socket. */
class SmtpReader {
  private buffer = '';
  private waiting: { resolve: (r: Reply) => void; reject: (e: Error) => void; lines: string[]; bytes: number } | null = null;
  private closed: Error | null = null;

  constructor(private readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.buffer += chunk.toString('latin1');
      if (this.buffer.length > MAX_REPLY_BYTES) this.fail(new Error(`the server sent more than ${MAX_REPLY_BYTES} bytes without ending its reply`));
      this.drain();
    });
    socket.on('error', (err) => this.fail(err));
    socket.on('close', () => this.fail(new Error('the server closed the connection')));
  }

  private fail(err: Error): void {
    this.closed ??= err;
    const w = this.waiting;
    this.waiting = null;
    w?.reject(err);
  }

  private drain(): void {
    while (this.waiting) {
      const nl = this.buffer.indexOf('\n');
      if (nl < 0) return;
      const line = this.buffer.slice(0, nl).replace(/\r$/, '');
      this.buffer = this.buffer.slice(nl + 1);
      this.waiting.lines.push(line);
      // The bound is on the whole reply: an endless "220-" greeting arrives a line at a time.
      this.waiting.bytes += nl + 1;
      if (this.waiting.bytes > MAX_REPLY_BYTES) return this.fail(new Error(`the server sent more than ${MAX_REPLY_BYTES} bytes without ending its reply`));
      if (!/^\d{3}-/.test(line)) {
        const w = this.waiting;
        this.waiting = null;
        const code = /^\d{3}/.test(line) ? Number(line.slice(0, 3)) : 0;
        w.resolve({ code, lines: w.lines, text: w.lines.join('\n') });
      }
    }
  }

  /** The next whole reply, or a StepFailure when `ms` pass first or the connection ends. */
  read(step: SmtpStep, ms: number): Promise<Reply> {
    return new Promise<Reply>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting = null;
        reject(new StepFailure('timeout', step, `no complete reply within ${ms} ms`));
      }, ms);
      const done = { resolve: (r: Reply) => (clearTimeout(timer), resolve(r)), reject: (e: Error) => (clearTimeout(timer), reject(new StepFailure('unreachable', step, e.message))) };
      if (this.closed) return done.reject(this.closed);
      this.waiting = { ...done, lines: [], bytes: 0 };
      this.drain();
    });
  }

  /** Stop reading: the socket is handed to TLS, with nothing left unread (a server must not send ahead, RFC 3207 §4.2). */
  detach(): string {
    this.socket.removeAllListeners('data');
    this.socket.removeAllListeners('error');
    this.socket.removeAllListeners('close');
    return this.buffer;
  }
}

/**
 * An EHLO reply line (RFC 5321 §4.2): the code, "-" or SP, then (§4.1.1.1) a keyword and its
 * parameters. A line without the separator ("250STARTTLS") is malformed and names no keyword.
 */
const EHLO_LINE = /^\d{3}(?:[- ]\s*(\S*)|$)/;

function connect(address: string, port: number, ms: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: address, port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new StepFailure('timeout', 'connect', `no connection within ${ms} ms`));
    }, ms);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      resolve(socket);
    });
    socket.once('error', (err) => {
      clearTimeout(timer);
      reject(new StepFailure('unreachable', 'connect', err.message));
    });
  });
}

function handshake(socket: net.Socket, host: string, ca: string | undefined, ms: number, versions: TlsVersions): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    // Not rejected here: a sender doing opportunistic TLS goes on with any certificate, so the
    // certificate gets its own verdict instead of ending the probe.
    const secure = tls.connect({ socket, servername: host, rejectUnauthorized: false, ...trustOptions(ca || undefined, TLS_VERSIONS[versions]) });
    const timer = setTimeout(() => {
      secure.destroy();
      reject(new StepFailure('timeout', 'handshake', `the TLS handshake did not finish within ${ms} ms`));
    }, ms);
    secure.once('secureConnect', () => {
      clearTimeout(timer);
      secure.removeAllListeners('error');
      secure.on('error', () => {});
      resolve(secure);
    });
    secure.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(new HandshakeFailure(tlsErrorText(err), VERSION_REFUSED.has(err.code ?? '')));
    });
  });
}

/**
 * The chain the server presented, leaf first: node links each certificate to its issuer (a root to
 * itself), and completes a chain that stops short of a root from the trusted CAs (--ca-file's).
 */
function presentedChain(secure: tls.TLSSocket): X509Certificate[] {
  const chain: X509Certificate[] = [];
  const seen = new Set<tls.DetailedPeerCertificate>();
  for (let c: tls.DetailedPeerCertificate | undefined = secure.getPeerCertificate(true); c?.raw && !seen.has(c); c = c.issuerCertificate) {
    seen.add(c);
    chain.push(new X509Certificate(c.raw));
  }
  return chain;
}

function certificateVerdict(secure: tls.TLSSocket, host: string): CertificateVerdict {
  const cert = secure.getPeerCertificate();
  const altNames = (cert.subjectaltname ?? '').split(/,\s*/).filter((n) => n.startsWith('DNS:')).map((n) => n.slice(4));
  const nameValid = cert.subject !== undefined && tls.checkServerIdentity(host, cert) === undefined;
  // node checks the name only once the chain is good, so a name error alone means a trusted chain.
  const error = secure.authorizationError ? String(secure.authorizationError) : undefined;
  const trusted = secure.authorized || error === 'ERR_TLS_CERT_ALTNAME_INVALID';
  return {
    subject: cert.subject?.CN ? `CN=${cert.subject.CN}` : '',
    altNames,
    issuer: cert.issuer?.CN ? `CN=${cert.issuer.CN}` : '',
    validTo: cert.valid_to ?? '',
    trusted,
    nameValid,
    ...(trusted ? {} : { error: error ?? 'untrusted' }),
  };
}

/**
 * One MX host at one address: the SMTP dialogue up to the TLS handshake, offering TLS 1.2 and 1.3;
 * when the server refuses those for their version, a second dialogue offering TLS 1.0 and 1.1.
 */
export async function probeStartTls(host: string, address: string, opts: StartTlsOptions = {}): Promise<StartTlsProbe> {
  const { probe, versionRefused } = await boundedSession(host, address, opts, 'modern');
  if (!versionRefused) return probe;
  const legacy = await boundedSession(host, address, opts, 'legacy');
  if (legacy.probe.state !== 'tls') {
    const { state, step, detail, reply, sentAhead } = legacy.probe;
    return { ...probe, legacyTlsFailed: { state, ...(step ? { step } : {}), ...(detail ? { detail } : {}), ...(reply ? { reply } : {}), ...(sentAhead ? { sentAhead } : {}) } };
  }
  const { tlsVersion, cipher, sentAhead, dane } = legacy.probe;
  return { ...probe, legacyTls: { tlsVersion: tlsVersion!, cipher: cipher!, ...(sentAhead ? { sentAhead } : {}) }, ...(dane ? { dane } : {}) };
}

/** A session within the run's bound on sessions open at once (StartTlsOptions.sessions); its step deadlines start once it has a place. */
function boundedSession(host: string, address: string, opts: StartTlsOptions, versions: TlsVersions): Promise<{ probe: StartTlsProbe; versionRefused: boolean }> {
  return opts.sessions ? opts.sessions.run(() => session(host, address, opts, versions)) : session(host, address, opts, versions);
}

/** One SMTP dialogue up to the handshake offering `versions`; a legacy one's certificate is not judged (see legacyTls), its chain is matched against the TLSA records. */
async function session(host: string, address: string, opts: StartTlsOptions, versions: TlsVersions): Promise<{ probe: StartTlsProbe; versionRefused: boolean }> {
  const port = opts.port ?? 25;
  const ms = opts.stepTimeoutMs ?? DEFAULT_STEP_TIMEOUT_MS;
  const out: StartTlsProbe = { host, address, port, state: 'tls' };
  let socket: net.Socket | null = null;
  try {
    socket = await connect(address, port, ms);
    const reader = new SmtpReader(socket);
    const greeting = await reader.read('greeting', ms);
    out.greeting = greeting.text;
    if (greeting.code !== 220) throw new StepFailure('smtp-refused', 'greeting', 'the greeting is not 220', greeting.text);
    socket.write(`EHLO ${opts.ehloName ?? hostname()}\r\n`);
    const ehlo = await reader.read('ehlo', ms);
    if (ehlo.code !== 250) throw new StepFailure('smtp-refused', 'ehlo', 'EHLO was refused', ehlo.text);
    const lines = ehlo.lines.slice(1).map((line) => ({ line, parsed: EHLO_LINE.exec(line) }));
    out.extensions = lines.flatMap((l) => (l.parsed?.[1] ? [l.parsed[1].toUpperCase()] : []));
    if (!out.extensions.includes('STARTTLS')) {
      out.state = 'no-starttls';
      const malformed = lines.filter((l) => !l.parsed).map((l) => l.line);
      if (malformed.length) out.detail = `the EHLO reply has ${malformed.length === 1 ? 'a line' : `${malformed.length} lines`} with no "-" or space after the reply code, naming no extension: ${oneLine(malformed.join('\n'))}`;
      socket.write('QUIT\r\n');
      return { probe: out, versionRefused: false };
    }
    socket.write('STARTTLS\r\n');
    const go = await reader.read('starttls', ms);
    if (go.code !== 220) throw new StepFailure('starttls-refused', 'starttls', 'STARTTLS was refused', go.text);
    // What came with the 220 is plain text anyone on the path could have put there: dropped, and reported.
    const ahead = reader.detach();
    if (ahead.length) out.sentAhead = ahead.length;
    const secure = await handshake(socket, host, opts.ca, ms, versions);
    socket = secure;
    out.tlsVersion = secure.getProtocol() ?? '';
    out.cipher = secure.getCipher()?.name ?? '';
    if (versions === 'modern') out.certificate = certificateVerdict(secure, host);
    // A legacy session's chain is matched too: matching compares digests of what the server
    // presented, which the security level does not touch, and DANE senders that allow TLS 1.0 use it.
    const tlsa = opts.tlsa?.get(host);
    if (tlsa?.length) {
      const matched = matchingTlsa(tlsa, presentedChain(secure), host);
      out.dane = { tlsa: tlsa.map(tlsaText), matched: matched ? tlsaText(matched) : null };
    }
    secure.write('QUIT\r\n');
    return { probe: out, versionRefused: false };
  } catch (err) {
    if (!(err instanceof StepFailure)) throw err;
    const probe: StartTlsProbe = { ...out, state: err.state, step: err.step, detail: err.message, ...(err.reply ? { reply: err.reply } : {}) };
    return { probe, versionRefused: err instanceof HandshakeFailure && err.versionRefused };
  } finally {
    // QUIT is a courtesy: the answer is not awaited. The session ends once its socket is destroyed,
    // so that a bound on sessions open at once (StartTlsOptions.sessions) holds to the last one.
    const s = socket;
    if (s) await new Promise<void>((closed) => setImmediate(() => closed(void s.destroy())));
  }
}

/** Whether a probe meets the MTA-STS policy (§4.1): the host matches an mx pattern and the certificate is trusted and names it. */
function againstPolicy(p: StartTlsProbe, policy: ParsedStsPolicy): StartTlsProbe['mtaSts'] {
  if (policy.mode !== 'enforce' && policy.mode !== 'testing') return undefined;
  const pattern = policy.mx.find((m) => mxMatchesPattern(p.host, m)) ?? null;
  const satisfied = pattern !== null && p.state === 'tls' && !!p.certificate?.trusted && !!p.certificate.nameValid;
  return { mode: policy.mode, pattern, satisfied };
}

/**
 * Bytes sent ahead of the handshake, in either session, whatever came of it: plain text anyone on the
 * path could have put there (RFC 3207 §4.2 lets only the handshake follow the 220).
 */
function sentAheadFinding(p: StartTlsProbe, subject: string): Finding | null {
  const bytes = (n: number): string => `${n} byte${n === 1 ? '' : 's'}`;
  const second = p.legacyTls ?? p.legacyTlsFailed;
  const sessions = [
    ...(p.sentAhead ? [`${bytes(p.sentAhead)}${second ? ' in the first session (offering TLS 1.2 and 1.3)' : ''}`] : []),
    ...(second?.sentAhead ? [`${bytes(second.sentAhead)} in the second session (offering TLS 1.0 and 1.1)`] : []),
  ];
  if (!sessions.length) return null;
  return { code: 'tls.sent-ahead', severity: 'warning', subject, message: `the MX host sent ${sessions.join(' and ')} after its 220 reply to STARTTLS, before the TLS handshake, where only the handshake may follow; it is how plain text injected into the session looks (the bytes were discarded)`, fix: 'check the server and anything between it and the internet (a proxy or filter rewriting SMTP) for replies sent ahead of the handshake', rfc: 'RFC 3207 §4' };
}

function findingsOf(p: StartTlsProbe, domain: string): Finding[] {
  const subject = probeSubject(p);
  const ahead = sentAheadFinding(p, subject);
  const found = stateFindings(p, domain, subject, ahead !== null);
  return ahead ? [...found, ahead] : found;
}

/** The findings of the probe's state; `sentAhead`: a tls.sent-ahead finding follows them (no tls.ok then). */
function stateFindings(p: StartTlsProbe, domain: string, subject: string, sentAhead: boolean): Finding[] {
  const sts = p.mtaSts;
  // Under an enforced MTA-STS policy, senders do not deliver without valid TLS (RFC 8461 §5).
  const tlsSeverity: Severity = sts?.mode === 'enforce' ? 'error' : 'warning';
  const stsNote = sts ? `; ${domain}'s MTA-STS policy (mode ${sts.mode}) requires TLS with a valid certificate, so ${sts.mode === 'enforce' ? 'senders that honour it will not deliver here' : 'senders report a failure'}` : '';
  const at = `at the ${p.step} step`;
  switch (p.state) {
    case 'no-starttls':
      return [{ code: 'tls.no-starttls', severity: tlsSeverity, subject, message: `the MX host does not offer STARTTLS (EHLO offered ${p.extensions?.join(' ') || 'nothing'}${p.detail ? `; ${p.detail}` : ''}): mail to it travels unencrypted${stsNote}`, fix: 'turn on STARTTLS with a certificate for the MX host name (Postfix: smtpd_tls_security_level = may, smtpd_tls_chain_files)', rfc: sts ? 'RFC 8461 §4.1' : 'RFC 3207 §4' }];
    case 'starttls-refused':
      return [{ code: 'tls.starttls-refused', severity: 'error', subject, message: `the MX host offers STARTTLS but refused it (${oneLine(p.reply)}); senders fall back to plain text or give up`, fix: 'check the server\'s TLS set-up (certificate and key files, permissions) in its log', rfc: 'RFC 3207 §4' }];
    case 'smtp-refused':
      return [{ code: 'tls.smtp-refused', severity: 'error', subject, message: `the MX host refused the session ${at} (${oneLine(p.reply)}), so STARTTLS could not be tried`, fix: 'check that the host accepts mail from the internet (greeting 220, EHLO 250)', rfc: 'RFC 5321 §4.3.2' }];
    case 'timeout':
      return [{ code: 'tls.timeout', severity: 'error', subject, message: `the MX host stalled ${at}: ${p.detail}`, fix: 'check that the server is up and not overloaded, and that nothing between filters port 25; or raise --tls-timeout', rfc: 'RFC 5321 §4.5.3.2' }];
    case 'unreachable':
      return [{ code: 'tls.unreachable', severity: 'error', subject, message: `could not talk to the MX host ${at}: ${p.detail}`, fix: 'check that the server listens on port 25 and that no firewall drops it', rfc: 'RFC 5321 §5.1' }];
    case 'handshake-failed':
      if (p.legacyTls) return [{ code: 'tls.old-version', severity: tlsSeverity, subject, message: `the MX host refused TLS 1.2 and 1.3 (${p.detail}); offered TLS 1.0 and 1.1 in a second session, it chose ${p.legacyTls.tlsVersion} (${p.legacyTls.cipher}), deprecated by RFC 8996: senders that require TLS 1.2, as most now do, cannot start TLS and send in plain text or not at all${stsNote}; the certificate was not judged (TLS 1.0 and 1.1 need a security level at which weak keys and SHA-1 signatures pass)`, fix: 'turn on TLS 1.2 and 1.3 in the server (Postfix: smtpd_tls_protocols = >=TLSv1.2; an OpenSSL older than 1.0.1 has neither, upgrade it)', rfc: 'RFC 8996' }];
      return [{ code: 'tls.handshake-failed', severity: 'error', subject, message: `the TLS handshake after STARTTLS failed: ${p.detail}${retried(p.legacyTlsFailed)}`, fix: 'check the server\'s protocols and ciphers (TLS 1.2 or 1.3) and its certificate files', rfc: 'RFC 3207 §4.1' }];
    case 'no-address':
    case 'dns-error':
      return [];
    case 'tls': {
      const c = p.certificate!;
      const out: Finding[] = [];
      if (!c.trusted) out.push({ code: 'tls.certificate-untrusted', severity: tlsSeverity, subject, message: `the certificate (${c.subject || 'no subject'}, issued by ${c.issuer || 'unknown'}) does not chain to a trusted CA (${c.error})${stsNote}`, fix: 'install a certificate from a public CA (or the chain the CA gave, intermediates included)', rfc: sts ? 'RFC 8461 §4.1' : 'RFC 3207 §4.1' });
      if (!c.nameValid) out.push({ code: 'tls.certificate-name', severity: tlsSeverity, subject, message: `the certificate names ${c.altNames.join(', ') || c.subject || 'no host'}, not ${p.host}${stsNote}`, fix: `install a certificate whose subjectAltName includes ${p.host}`, rfc: sts ? 'RFC 8461 §4.1' : 'RFC 6125 §6.4' });
      if (sts && !sts.pattern) out.push({ code: 'tls.mta-sts-mx-pattern', severity: tlsSeverity, subject, message: `${p.host} matches no mx pattern of the MTA-STS policy${stsNote}`, fix: `add "mx: ${p.host}" to the policy and change the _mta-sts id`, rfc: 'RFC 8461 §4.1' });
      if (out.length === 0 && !sentAhead) out.push({ code: 'tls.ok', severity: 'info', subject, message: `STARTTLS with ${p.tlsVersion} (${p.cipher}); the certificate is trusted and names ${p.host}${sts ? `, as the MTA-STS policy (mode ${sts.mode}, mx ${sts.pattern}) requires` : ''}`, rfc: 'RFC 3207' });
      return out;
    }
  }
}

/** How the second session (TLS 1.0 and 1.1) ended, when it got no TLS either. */
function retried(legacy: StartTlsProbe['legacyTlsFailed']): string {
  if (!legacy) return '';
  const how = [legacy.step ? ` at the ${legacy.step} step` : '', legacy.detail ? `: ${oneLine(legacy.detail)}` : '', legacy.reply ? ` (${oneLine(legacy.reply)})` : ''].join('');
  return `; a second session, offering TLS 1.0 and 1.1, got no TLS either (${legacy.state}${how})`;
}

function oneLine(text: string | undefined): string {
  return (text ?? '').replace(/\s*\n\s*/g, ' / ').slice(0, 200);
}

export interface StartTlsAudit {
  results: StartTlsProbe[];
  findings: Finding[];
  dnsFailed: boolean;
}

/** `policy`: the domain's MTA-STS policy, when one was fetched. */
type StartTlsAuditOptions = StartTlsOptions & { policy?: ParsedStsPolicy | null };

/**
 * The most addresses of one MX host that are probed: a sender tries a few (RFC 5321 §5.1 asks for
 * at least two), and a host publishing dozens would otherwise get dozens of connections from one check.
 */
const MAX_ADDRESSES_PER_HOST = 8;

interface HostAddresses {
  /** The A records, then the AAAA records, each in address order and each server once; at most MAX_ADDRESSES_PER_HOST. */
  probed: string[];
  /** The addresses past that bound, not probed. */
  leftOut: string[];
  /** One finding for each of the two lookups that failed temporarily. */
  failures: Finding[];
}

/**
 * Each server once, in the order first named: an RRset may name an address twice (a broken or hostile
 * server sends duplicates), and an AAAA record may be the IPv4-mapped form of an A record
 * (::ffff:192.0.2.1), the same server; a second probe of it would double its findings and take
 * one of the MAX_ADDRESSES_PER_HOST places of an address not otherwise tried.
 */
function differentServers(addresses: readonly string[]): string[] {
  const seen = new Set<string>();
  return addresses.filter((address) => {
    const ip = parseIp(address);
    const key = ip ? readableForm(ip) : address;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/**
 * Addresses in numeric order. DNS gives an RRset in no set order (round-robin servers and public
 * resolvers rotate it), so its order would make each run probe its addresses in another order and,
 * past MAX_ADDRESSES_PER_HOST, another set of them: the history would see findings come and go.
 */
function inAddressOrder(addresses: readonly string[]): string[] {
  const keyed = addresses.map((text) => ({ text, bytes: parseIp(text)?.bytes ?? new Uint8Array(0) }));
  return keyed.sort((x, y) => Buffer.compare(x.bytes, y.bytes) || (x.text < y.text ? -1 : x.text > y.text ? 1 : 0)).map((k) => k.text);
}

/** Every address of a host, A and AAAA both asked: a sender may reach any of them. */
async function addressesOf(resolver: Resolver, host: string): Promise<HostAddresses> {
  const [a, aaaa] = await Promise.all([resolver.lookup(host, 'A'), resolver.lookup(host, 'AAAA')]);
  const all = differentServers([...inAddressOrder(a.records), ...inAddressOrder(aaaa.records)]);
  const failures = ([['A', a], ['AAAA', aaaa]] as const).filter(([, answer]) => isTemporary(answer.status)).map(([type, answer]) => temporaryFinding('tls', host, `the ${type} records of the MX host ${host}`, answer));
  return { probed: all.slice(0, MAX_ADDRESSES_PER_HOST), leftOut: all.slice(MAX_ADDRESSES_PER_HOST), failures };
}

/** The addresses past MAX_ADDRESSES_PER_HOST: what was not looked at, so that no one reads the host as wholly checked. */
function leftOutFinding(host: string, { probed, leftOut }: HostAddresses): Finding {
  return { code: 'tls.addresses-left-out', severity: 'info', subject: host, message: `the MX host has ${probed.length + leftOut.length} addresses; STARTTLS was tried at the first ${probed.length} (A before AAAA, each in address order), not at ${leftOut.join(', ')}`, rfc: 'RFC 5321 §5.1' };
}

/** The probe of `host` at `address`: the run's when it shares its probes and has made it (for the same TLSA records), else a new one. */
function probeOnce(host: string, address: string, opts: StartTlsAuditOptions): Promise<StartTlsProbe> {
  const { probes } = opts;
  if (!probes) return probeStartTls(host, address, opts);
  const tlsa = opts.tlsa?.get(host);
  const key = `${host} ${address} ${tlsa?.length ? tlsa.map(tlsaText).join(' ') : ''}`;
  let probe = probes.get(key);
  if (probe === undefined) {
    probe = probeStartTls(host, address, opts);
    probes.set(key, probe);
  }
  return probe;
}

/** One MX host: STARTTLS at each of its addresses at once; its findings in address order. */
async function auditHost(resolver: Resolver, host: string, domain: string, opts: StartTlsAuditOptions): Promise<StartTlsAudit> {
  const addresses = await addressesOf(resolver, host);
  const { probed, leftOut, failures } = addresses;
  const dnsFailed = failures.length > 0;
  // No address and no DNS failure is already mx.host-no-address.
  if (!probed.length) return { results: [{ host, address: null, port: opts.port ?? 25, state: dnsFailed ? 'dns-error' : 'no-address' }], findings: failures, dnsFailed };
  const audited = await Promise.all(
    probed.map(async (address) => {
      const probe = await probeOnce(host, address, opts);
      const sts = opts.policy ? againstPolicy(probe, opts.policy) : undefined;
      const judged = sts ? { ...probe, mtaSts: sts } : probe;
      // Each finding's subject names the address and port (probeSubject).
      return { probe: judged, findings: [...findingsOf(judged, domain), ...daneFindings(judged, opts.tlsa?.get(host) ?? [])] };
    }),
  );
  const findings = [...failures, ...audited.flatMap((a) => a.findings), ...(leftOut.length ? [leftOutFinding(host, addresses)] : [])];
  return { results: audited.map((a) => a.probe), findings, dnsFailed };
}

/**
 * STARTTLS at every address of every MX host of the domain: one result each, in host order, then
 * A before AAAA.
 */
export async function auditStartTls(resolver: Resolver, domain: string, opts: StartTlsAuditOptions = {}): Promise<StartTlsAudit> {
  const mx = await resolver.lookup(domain, 'MX');
  if (isTemporary(mx.status)) return { results: [], findings: [temporaryFinding('tls', domain, `the MX records of ${domain}`, mx)], dnsFailed: true };
  const hosts = [...new Set(mx.records.map((m) => m.exchange).filter(Boolean))];
  const audits = await Promise.all(hosts.map((host) => auditHost(resolver, host, domain, opts)));
  return { results: audits.flatMap((h) => h.results), findings: audits.flatMap((h) => h.findings), dnsFailed: audits.some((h) => h.dnsFailed) };
}
