/**
 * A Debian mail host inside a test: a root-owned directory laid out like / (etc/opendkim,
 * etc/dkimkeys, etc/postfix, var/spool/postfix, run/opendkim), the install steps maildns prints run
 * there exactly as printed, OpenDKIM started as its systemd units start it, and a private Postfix
 * instance (`postfix -c DIR`) on 127.0.0.1 made from Debian's own main.cf and master.cf, its chroot
 * synced by Debian's own configure-instance.sh. Needs root: Postfix starts only as root, and the
 * files belong to opendkim and postfix.
 */
import { execFile, spawn } from 'node:child_process';
import { chmodSync, closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { OpenDkimOptions } from '../../src/dkim/opendkim.js';
import type { SetupStep } from '../../src/steps.js';
import { shellLine } from '../../src/steps.js';

import { PROGRAMS } from './programs.js';

export const isRoot = process.getuid?.() === 0;

/** The packages of the mail host these tests build. */
const MAIL_HOST_PACKAGES = new Set(['postfix', 'dovecot-core', 'opendkim', 'openssl', 'python3-dkim']);

/** Throws at once, naming what is missing and the apt-get line that installs it (the preflight checks the same list first). */
export function requireMailHostPrograms(): void {
  const missing = PROGRAMS.filter((p) => MAIL_HOST_PACKAGES.has(p.package) && !existsSync(p.path));
  if (missing.length) {
    const pkgs = [...new Set(missing.map((m) => m.package))].join(' ');
    throw new Error(`missing ${missing.map((m) => m.path).join(', ')}: apt-get install -y --no-install-recommends ${pkgs}`);
  }
}

interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function run(cmd: string, args: readonly string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number } = {}): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = execFile(cmd, [...args], { cwd: opts.cwd, env: opts.env ?? process.env, timeout: opts.timeoutMs ?? 30_000, maxBuffer: 4 << 20 }, (err, stdout, stderr) => {
      const status = (err as { code?: unknown } | null)?.code;
      resolve({ code: err ? (typeof status === 'number' ? status : 1) : 0, stdout: String(stdout), stderr: String(stderr) });
    });
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}

async function must(cmd: string, args: readonly string[], opts: Parameters<typeof run>[2] = {}): Promise<RunResult> {
  const r = await run(cmd, args, opts);
  if (r.code !== 0) throw new Error(`${shellLine([cmd, ...args])} failed (${r.code}): ${r.stdout}${r.stderr}`);
  return r;
}

/**
 * Start a program that puts itself in the background: its output goes to a file, not a pipe, which
 * the daemon would keep open long after the launcher exited.
 */
async function launch(cmd: string, args: readonly string[], outFile: string): Promise<void> {
  const fd = openSync(outFile, 'a', 0o600);
  try {
    const code = await new Promise<number | null>((resolve, reject) => {
      const child = spawn(cmd, [...args], { stdio: ['ignore', fd, fd] });
      child.once('error', reject);
      child.once('exit', (c) => resolve(c));
    });
    if (code !== 0) throw new Error(`${shellLine([cmd, ...args])} failed (${code}): ${readFileSync(outFile, 'utf8')}`);
  } finally {
    closeSync(fd);
  }
}

/**
 * The host's root: below /run, not /tmp, because OpenDKIM refuses keys under a world-writable
 * directory (RequireSafeKeys), and the conf must be used as written.
 */
export function hostRoot(prefix: string): string {
  const dir = mkdtempSync(path.join('/run', prefix));
  chmodSync(dir, 0o755);
  // What every Debian system has before the packages' files arrive.
  mkdirSync(path.join(dir, 'etc/systemd/system'), { recursive: true, mode: 0o755 });
  return dir;
}

export function removeHostRoot(dir: string | undefined): void {
  if (dir && dir.startsWith('/run/')) rmSync(dir, { recursive: true, force: true });
}

/** The Debian paths, moved below `root`. */
export function debianLayout(root: string) {
  const at = (p: string): string => path.join(root, p);
  const opendkim: OpenDkimOptions = {
    configDir: at('etc/opendkim'),
    mainConf: at('etc/opendkim.conf'),
    serverKeysDir: at('etc/dkimkeys'),
    runDir: at('run/opendkim'),
    unitDir: at('etc/systemd/system'),
    postfixQueueDir: at('var/spool/postfix'),
  };
  return { opendkim, postfixConfigDir: at('etc/postfix'), queueDir: at('var/spool/postfix'), dataDir: at('var/lib/postfix'), logFile: at('var/log/mail.log') };
}

/**
 * Run the printed steps of the given kinds as printed, in `cwd`; Postfix commands get `-c DIR` so
 * they act on the test's instance, not the system's.
 */
export async function runSteps(steps: readonly SetupStep[], opts: { cwd: string; kinds: readonly SetupStep['kind'][]; postfixConfigDir?: string }): Promise<string[]> {
  const ran: string[] = [];
  for (const s of steps.filter((x) => opts.kinds.includes(x.kind))) {
    const [cmd, ...args] = s.argv as [string, ...string[]];
    const postfixTool = ['postconf', 'postmap', 'postfix'].includes(cmd);
    const argv = postfixTool && opts.postfixConfigDir ? ['-c', opts.postfixConfigDir, ...args] : args;
    await must(cmd, argv, { cwd: opts.cwd });
    ran.push(shellLine([cmd, ...argv]));
  }
  return ran;
}

export interface Daemon {
  pid: number;
  stop(): Promise<void>;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitFor(what: string, test: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!test()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Run the unit's ExecStart line (Type=forking) and wait for its pid file and socket. */
export async function startForking(execStart: string, pidFile: string, socketFile: string | null): Promise<Daemon> {
  const [cmd, ...args] = execStart.trim().split(/\s+/) as [string, ...string[]];
  await launch(cmd, args, `${pidFile}.out`);
  await waitFor(`${pidFile}`, () => existsSync(pidFile) && readFileSync(pidFile, 'utf8').trim() !== '');
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  if (socketFile) await waitFor(socketFile, () => existsSync(socketFile));
  return {
    pid,
    async stop() {
      if (!alive(pid)) return;
      process.kill(pid, 'SIGTERM');
      // libmilter waits seconds for its threads after SIGTERM; a test has nothing to flush.
      const deadline = Date.now() + 1000;
      while (alive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
      if (alive(pid)) process.kill(pid, 'SIGKILL');
    },
  };
}

/** `ExecStart=` of a unit file's text. */
export function execStartOf(unit: string): string {
  const m = /^ExecStart=(.+)$/m.exec(unit);
  if (!m) throw new Error(`no ExecStart in unit:\n${unit}`);
  return m[1]!;
}

export interface PostfixInstance {
  configDir: string;
  log(): string;
  postconf(...args: string[]): Promise<RunResult>;
  start(): Promise<void>;
  reload(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * A private Postfix from Debian's files: main.cf.debian (what the package's set-up starts from) and
 * master.cf.dist (smtpd, cleanup and smtp chrooted, as shipped), moved to the test's directories,
 * on 127.0.0.1 only; the `smtp` service listens on `smtpPort` instead of 25.
 */
export async function createPostfix(layout: ReturnType<typeof debianLayout>, smtpPort: number): Promise<PostfixInstance> {
  const { postfixConfigDir: dir, queueDir, dataDir, logFile } = layout;
  await must('install', ['-d', '-m', '0755', dir, queueDir, path.dirname(logFile)]);
  await must('install', ['-d', '-o', 'postfix', '-m', '0700', dataDir]);
  await must('install', ['-m', '0644', '/usr/share/postfix/main.cf.debian', path.join(dir, 'main.cf')]);
  await must('install', ['-m', '0644', '/usr/share/postfix/master.cf.dist', path.join(dir, 'master.cf')]);
  const postconf = (...args: string[]): Promise<RunResult> => must('postconf', ['-c', dir, ...args]);
  await postconf(
    '-e',
    `queue_directory = ${queueDir}`,
    `data_directory = ${dataDir}`,
    'inet_interfaces = 127.0.0.1',
    'inet_protocols = ipv4',
    `maillog_file = ${logFile}`,
    `maillog_file_prefixes = ${path.dirname(logFile)}`,
    // Loopback only: no DNS for next hops (the relayhost is an address), no local delivery of bounces.
    'smtp_dns_support_level = disabled',
    'alias_maps =',
    'alias_database =',
    'mydestination =',
    // Timing only: refused clients are not made to wait a second per error.
    'smtpd_error_sleep_time = 0',
  );
  await postconf('-MX', 'smtp/inet');
  await postconf('-M', `${smtpPort}/inet=${smtpPort} inet n - y - - smtpd`);
  const instance: PostfixInstance = {
    configDir: dir,
    log: () => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : ''),
    postconf,
    async start() {
      // Debian's start-up copies /etc files, devices and NSS libraries into the chroot: run its script.
      await must('/usr/lib/postfix/configure-instance.sh', ['-'], { env: { ...process.env, MAIL_CONFIG: dir } });
      await must('postfix', ['-c', dir, 'check']);
      await must('postfix', ['-c', dir, 'start']);
    },
    async reload() {
      await must('postfix', ['-c', dir, 'reload']);
    },
    async stop() {
      await run('postfix', ['-c', dir, 'stop']);
    },
  };
  return instance;
}

interface SmtpOutcome {
  /** True when the server took the message (250 after DATA). */
  sent: boolean;
  /** The SMTP code and text of the refusal, e.g. "554 5.7.1 ... Relay access denied". */
  refused: string | null;
  /** Whether the server offered AUTH before STARTTLS. */
  authBeforeTls: boolean;
  output: string;
}

/** Send one message over SMTP with Debian's python (smtplib): optionally STARTTLS, then AUTH. */
export async function smtpSend(opts: { port: number; from: string; to: string; message: string; starttls?: boolean; login?: { user: string; password: string }; sourceAddress?: string }): Promise<SmtpOutcome> {
  const py = [
    'import smtplib, ssl, sys, json',
    'o = json.loads(sys.argv[1])',
    'res = {"sent": False, "refused": None, "authBeforeTls": False}',
    'try:',
    "    s = smtplib.SMTP('127.0.0.1', o['port'], timeout=20, source_address=(o.get('sourceAddress') or '127.0.0.1', 0))",
    '    s.ehlo("client.example.com")',
    '    res["authBeforeTls"] = s.has_extn("auth")',
    "    if o.get('starttls') or o.get('login'):",
    '        ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE',
    '        s.starttls(context=ctx); s.ehlo("client.example.com")',
    "    if o.get('login'):",
    "        s.login(o['login']['user'], o['login']['password'])",
    "    s.sendmail(o['from'], [o['to']], sys.stdin.buffer.read())",
    '    s.quit()',
    '    res["sent"] = True',
    'except smtplib.SMTPRecipientsRefused as e:',
    '    code, text = list(e.recipients.values())[0]; res["refused"] = f"{code} {text.decode()}"',
    'except smtplib.SMTPResponseException as e:',
    '    res["refused"] = f"{e.smtp_code} {e.smtp_error.decode() if isinstance(e.smtp_error, bytes) else e.smtp_error}"',
    'print("RESULT:" + json.dumps(res))',
  ].join('\n');
  const r = await run('/usr/bin/python3', ['-c', py, JSON.stringify(opts)], { input: opts.message });
  const m = /RESULT:(.*)/.exec(r.stdout);
  if (!m) throw new Error(`smtp client failed: ${r.stdout}${r.stderr}`);
  return { ...(JSON.parse(m[1]!) as Omit<SmtpOutcome, 'output'>), output: r.stdout + r.stderr };
}

export interface DovecotInstance {
  log(): string;
  stop(): Promise<void>;
}

/**
 * A private Dovecot that only checks passwords (protocols = none), with `users` in a passwd-file,
 * and maildns's snippet for Postfix's auth socket included as written.
 */
export async function startDovecot(root: string, snippet: string, users: Record<string, string>): Promise<DovecotInstance> {
  const at = (p: string): string => path.join(root, p);
  await must('install', ['-d', '-m', '0755', at('run/dovecot'), at('var/lib/dovecot'), at('etc/dovecot')]);
  const usersFile = at('etc/dovecot/users');
  await must('install', ['-m', '0644', '/dev/null', usersFile]);
  writeFileSync(usersFile, Object.entries(users).map(([u, p]) => `${u}:{PLAIN}${p}\n`).join(''));
  const conf = at('etc/dovecot/dovecot.conf');
  const logFile = at('var/log/dovecot.log');
  writeFileSync(
    conf,
    [
      `base_dir = ${at('run/dovecot')}`,
      `state_dir = ${at('var/lib/dovecot')}`,
      `log_path = ${logFile}`,
      'protocols = none',
      'ssl = no',
      'auth_failure_delay = 0', // timing only: a wrong password is refused at once
      `passdb {\n  driver = passwd-file\n  args = scheme=PLAIN username_format=%u ${usersFile}\n}`,
      'userdb {\n  driver = static\n  args = uid=dovenull gid=dovenull home=/nonexistent\n}',
      `!include ${snippet}`,
      '',
    ].join('\n'),
  );
  await launch('/usr/sbin/dovecot', ['-c', conf], at('var/log/dovecot.start'));
  const pidFile = at('run/dovecot/master.pid');
  await waitFor(pidFile, () => existsSync(pidFile) && readFileSync(pidFile, 'utf8').trim() !== '');
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  return {
    log: () => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : ''),
    async stop() {
      if (!alive(pid)) return;
      process.kill(pid, 'SIGTERM');
      const deadline = Date.now() + 3000;
      while (alive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
    },
  };
}

/** Wait until `test` holds, polling; returns what it returned. */
export async function eventually<T>(what: string, test: () => T | undefined | null | false, ms = 15_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = test();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
