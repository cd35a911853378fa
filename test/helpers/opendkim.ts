/**
 * Real OpenDKIM tools for integration tests: a zone rendered from composed records (for Knot), the
 * resolver file that aims OpenDKIM's resolver at 127.0.0.1, opendkim-testkey, the opendkim milter
 * driven by miltertest, and python3-dkim as an independent verifier. Only loopback addresses.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { freePort } from '../../bench/knot.js';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { DnsRecord } from '../../src/records.js';
import { quoteCharacterString, splitCharacterStrings } from '../../src/txt.js';
import { MILTERTEST, notRunnable, OPENDKIM_TESTKEY, SYSTEM_PYTHON } from './programs.js';

interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Run a program to its end. Rejects when it cannot be started at all (not installed, not
 * executable), naming it and its package; otherwise resolves with its exit status and output.
 */
export function run(cmd: string, args: string[], opts: { input?: string | Buffer; timeoutMs?: number } = {}): Promise<RunResult> {
  const timeout = opts.timeoutMs ?? 20_000;
  return new Promise((resolve, reject) => {
    const child = execFile(cmd, args, { timeout, maxBuffer: 4 << 20 }, (err, stdout, stderr) => {
      const failure = err as { code?: unknown; killed?: boolean } | null;
      if (typeof failure?.code === 'string') return reject(notRunnable(cmd, failure.code));
      const code = failure ? (typeof failure.code === 'number' ? failure.code : 1) : 0;
      const killed = failure?.killed ? `\n${cmd} was stopped after ${timeout} ms` : '';
      resolve({ code, stdout: String(stdout), stderr: String(stderr) + killed });
    });
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}

export { freePort };

/** A private 0700 working directory (opendkim refuses keys below world-writable directories). */
export function privateDir(prefix: string): string {
  return mkdtempSync(path.join(tmpdir(), prefix));
}

/** A master file for `apex` holding SOA, NS and the given records; TXT split into <=255-octet strings. */
export function zoneText(apex: string, records: readonly DnsRecord[]): string {
  const lines = [
    `$ORIGIN ${apex}.`,
    '$TTL 300',
    `@ IN SOA ns1.${apex}. hostmaster.${apex}. 1 3600 900 1209600 300`,
    `@ IN NS ns1.${apex}.`,
    `ns1 IN A 127.0.0.1`,
  ];
  for (const r of records) {
    const value = r.type === 'TXT' ? splitCharacterStrings(r.value).map(quoteCharacterString).join(' ') : r.value;
    lines.push(`${r.name}. ${r.ttl} IN ${r.type} ${value}`);
  }
  return `${lines.join('\n')}\n`;
}

/** An unbound-style resolver file for OpenDKIM's ResolverConfiguration: every query to 127.0.0.1@port. */
export function writeResolverConf(dir: string, port: number): string {
  const file = path.join(dir, 'unbound.conf');
  writeFileSync(
    file,
    `server:\n  do-not-query-localhost: no\n  local-zone: "test." nodefault\n` +
      `forward-zone:\n  name: "."\n  forward-addr: 127.0.0.1@${port}\n`,
  );
  return file;
}

/** opendkim-testkey for one selector; read `output`, not only the exit status. */
export async function testKey(opts: { domain: string; selector: string; keyPath: string; resolverConf: string; dir: string }): Promise<RunResult & { output: string }> {
  const conf = path.join(opts.dir, `testkey-${opts.selector}.conf`);
  writeFileSync(conf, `ResolverConfiguration ${opts.resolverConf}\n`);
  const r = await run(OPENDKIM_TESTKEY, ['-x', conf, '-d', opts.domain, '-s', opts.selector, '-k', opts.keyPath, '-vvv']);
  return { ...r, output: r.stdout + r.stderr };
}

interface TestMessage {
  from: string;
  to: string;
  subject: string;
  body: string;
}

const lua = (s: string): string => JSON.stringify(s); // a JSON string is a valid Lua string literal for ASCII

/**
 * Drive the milter through one message from 127.0.0.1. Returns the DKIM-Signature value it added
 * (null when it signed nothing), the message as a receiver gets it (signature on top, CRLF), and
 * miltertest's output.
 */
export async function signWithMilter(dir: string, port: number, msg: TestMessage): Promise<{ signature: string | null; message: string; output: string }> {
  const headers: [string, string][] = [
    ['From', msg.from],
    ['To', msg.to],
    ['Subject', msg.subject],
    ['Date', 'Mon, 23 Nov 2026 10:00:00 +0000'],
    ['Message-ID', `<test-${port}@${msg.from.split('@')[1]}>`],
  ];
  const script = [
    `local conn = mt.connect("inet:${port}@127.0.0.1", 10, 0.1)`,
    'if conn == nil then error("mt.connect failed") end',
    'if mt.conninfo(conn, "localhost", "127.0.0.1") ~= nil then error("conninfo failed") end',
    'if mt.getreply(conn) ~= SMFIR_CONTINUE then error("conninfo reply") end',
    'mt.macro(conn, SMFIC_MAIL, "i", "maildns-test")',
    `if mt.mailfrom(conn, ${lua(`<${msg.from}>`)}) ~= nil then error("mailfrom failed") end`,
    'if mt.getreply(conn) ~= SMFIR_CONTINUE then error("mailfrom reply") end',
    `if mt.rcptto(conn, ${lua(`<${msg.to}>`)}) ~= nil then error("rcptto failed") end`,
    'if mt.getreply(conn) ~= SMFIR_CONTINUE then error("rcptto reply") end',
    ...headers.map(([n, v]) => `if mt.header(conn, ${lua(n)}, ${lua(v)}) ~= nil then error("header failed") end`),
    'if mt.eoh(conn) ~= nil then error("eoh failed") end',
    `if mt.bodystring(conn, ${lua(msg.body)}) ~= nil then error("body failed") end`,
    'if mt.eom(conn) ~= nil then error("eom failed") end',
    'local sig = mt.getheader(conn, "DKIM-Signature", 0)',
    'if sig == nil then print("NO-SIGNATURE") else print("SIGNATURE:" .. sig) end',
    'mt.disconnect(conn)',
  ].join('\n');
  const file = path.join(dir, `sign-${port}.lua`);
  writeFileSync(file, script);
  const r = await run(MILTERTEST, ['-s', file]);
  // The script prints one of the two markers when it got through the message; anything else is
  // miltertest or the milter failing, which must not pass for "opendkim signed nothing".
  if (r.code !== 0 || !/^(SIGNATURE:|NO-SIGNATURE)/m.test(r.stdout)) {
    throw new Error(`${MILTERTEST} did not get through the message (exit ${r.code}): ${(r.stdout + r.stderr).trim() || 'no output'}`);
  }
  const m = /SIGNATURE:([\s\S]*)$/.exec(r.stdout.trimEnd());
  const signature = m ? m[1]!.replace(/\r?\n/g, '\r\n') : null;
  const lines = [...headers.map(([n, v]) => `${n}: ${v}`), '', msg.body.replace(/\r?\n/g, '\r\n')];
  if (signature) lines.unshift(`DKIM-Signature: ${signature}`);
  return { signature, message: lines.join('\r\n'), output: r.stdout + r.stderr };
}

/** The start of a dkimpy script: its resolver aimed at 127.0.0.1:port, a debug log, the message from standard input as `msg`. */
function dkimpyPrelude(dnsPort: number): string[] {
  return [
    'import sys, logging, io, dkim, dns.resolver',
    'r = dns.resolver.Resolver(configure=False)',
    "r.nameservers = ['127.0.0.1']",
    `r.port = ${dnsPort}`,
    'dns.resolver.default_resolver = r',
    'log = io.StringIO()',
    'logger = logging.getLogger("dkimpy"); logger.addHandler(logging.StreamHandler(log)); logger.setLevel(logging.DEBUG)',
    'msg = sys.stdin.buffer.read()',
  ];
}

/**
 * Verify a message with python3-dkim (dkimpy) from Debian's python, resolving through 127.0.0.1:port.
 * Returns dkimpy's verdict and its log.
 */
export async function dkimpyVerify(message: string | Buffer, dnsPort: number): Promise<{ ok: boolean; output: string }> {
  const py = [
    ...dkimpyPrelude(dnsPort),
    'ok = dkim.verify(msg, logger=logger)',
    'print("VERIFY:" + ("pass" if ok else "fail"))',
    'print(log.getvalue())',
  ].join('\n');
  const r = await run(SYSTEM_PYTHON, ['-c', py], { input: message });
  return { ok: /VERIFY:pass/.test(r.stdout), output: r.stdout + r.stderr };
}

/** dkimpy's verdict on each DKIM-Signature of a message (dkim.verify looks at the first only). */
export async function dkimpyVerifyEach(message: string, dnsPort: number): Promise<{ results: boolean[]; output: string }> {
  const py = [
    ...dkimpyPrelude(dnsPort),
    'd = dkim.DKIM(msg, logger=logger)',
    'n = sum(1 for h in d.headers if h[0].lower() == b"dkim-signature")',
    'print("RESULTS:" + ",".join("pass" if d.verify(idx=i) else "fail" for i in range(n)))',
    'print(log.getvalue())',
  ].join('\n');
  const r = await run(SYSTEM_PYTHON, ['-c', py], { input: message });
  const m = /RESULTS:(.*)/.exec(r.stdout);
  return { results: m && m[1] ? m[1].split(',').map((x) => x === 'pass') : [], output: r.stdout + r.stderr };
}
