/**
 * The files an OpenDKIM + Postfix set-up needs, composed from the plan, for Debian 12 as packaged
 * (OpenDKIM 2.11, Postfix 3.7): KeyTable (a plain file: `refile:` there breaks opendkim-testkey),
 * SigningTable in `refile:` form with one `*@domain` line per signing selector (never a `*@*`
 * catch-all), TrustedHosts, a complete opendkim.conf, the Postfix main.cf milter lines, and the
 * commands that put them in place.
 *
 * Debian's defaults are the defaults here: Postfix's smtpd and cleanup run chrooted in
 * /var/spool/postfix, so a unix socket must lie below it (Postfix names it relative to that
 * directory); the postfix user joins the opendkim group, which UMask 007 leaves the socket to; keys
 * live in /etc/dkimkeys, owned by opendkim, mode 0600; the packaged opendkim.service reads
 * /etc/opendkim.conf.
 *
 * OpenDKIM 2.11 has one global SignatureAlgorithm, so a plan with both RSA and Ed25519 keys gets two
 * complete instances: RSA in /etc/opendkim.conf under the packaged unit, Ed25519 in a conf and a
 * systemd unit of its own, each with its socket and pid file.
 */
import path from 'node:path';
import { InputError } from '../errors.js';
import { domainNameProblem } from '../names.js';
import { spfNetworkProblem } from '../spf/ip.js';
import { isPresent, keyDirectoryProblem } from '../fsutil.js';
import { keyDirectories } from './keygen.js';
import { isSigning, keyPathFor } from '../plan/selectors.js';
import type { DkimAlgorithm, Plan } from '../plan/types.js';
import { postconfStep, renderMainCf, type PostfixSetting } from '../postfix/main-cf.js';
import type { SetupStep } from '../steps.js';
import { publicKeyFromKeyFile, type DkimKeyType } from './record.js';
import { DEBIAN, DEFAULT_SOCKET, defaultSocket, type MilterDefaultAction } from './opendkim-settings.js';

export { DEBIAN, DEFAULT_SOCKET, defaultSocket, type MilterDefaultAction };

export interface OpenDkimLayoutOptions {
  /** Milter socket in OpenDKIM's syntax (`local:PATH`, `inet:PORT@HOST`, `inet6:PORT@HOST`). */
  socket?: string;
  /** Socket of the Ed25519 instance when the plan mixes algorithms (default: next port, or `-ed25519` name). */
  socketEd25519?: string;
  /** Directory of the tables and the second instance's conf on the mail host (default /etc/opendkim). */
  configDir?: string;
  /** Where the first (or only) instance's conf goes: the packaged unit reads /etc/opendkim.conf. */
  mainConf?: string;
  /** Directory of the pid files (Debian's tmpfiles.d makes /run/opendkim for the opendkim user). */
  runDir?: string;
  /** Where the second instance's systemd unit goes. */
  unitDir?: string;
  /** Postfix's queue_directory: chrooted daemons see it as /, and every daemon resolves relative paths from it. */
  postfixQueueDir?: string;
  /** Whether smtpd and cleanup run chrooted (the 5th master.cf column; `y` in Debian's master.cf). */
  postfixChrooted?: boolean;
  /** What Postfix does when the milter cannot be reached (default tempfail: keep the mail, try later). */
  milterDefaultAction?: MilterDefaultAction;
}

export interface OpenDkimOptions extends OpenDkimLayoutOptions {
  /** Directory of the private keys on the mail host: SERVER_KEYS_DIR/DOMAIN/SELECTOR.private (default /etc/dkimkeys). */
  serverKeysDir?: string;
  /** Extra hosts or networks whose mail is signed (TrustedHosts). */
  trustedHosts?: string[];
  /** Name of the plan file, for the header comment. */
  planName?: string;
  /** The directory the files are written to; a file written where it is installed gets no install step. */
  filesDir?: string;
}

interface SigningEntry {
  domain: string;
  selector: string;
  /** The key where maildns reads it (this machine). */
  keyPath: string;
  /** The key where OpenDKIM reads it on the mail host: the KeyTable names this one. */
  serverKeyPath: string;
  type: DkimKeyType;
  /** True when the selector signs (state active, or no state). */
  signs: boolean;
}

interface MissingKey {
  domain: string;
  selector: string;
  keyPath: string;
}

export interface OpenDkimInstance {
  type: DkimKeyType;
  signatureAlgorithm: 'rsa-sha256' | 'ed25519-sha256';
  socket: string;
  /** The same socket as Postfix names it in smtpd_milters. */
  milter: string;
  keyTable: string;
  signingTable: string;
  /** File name of the conf as written. */
  conf: string;
  /** Where the conf goes on the mail host. */
  confPath: string;
  pidFile: string;
  /** systemd unit that runs it: the packaged `opendkim`, or the second instance's own. */
  unit: string;
}

interface OpenDkimFile {
  name: string;
  content: string;
  /** Where it goes on the mail host; null for lines that are applied with a command instead. */
  installPath: string | null;
  mode: number;
}

export interface OpenDkimResult {
  files: OpenDkimFile[];
  instances: OpenDkimInstance[];
  entries: SigningEntry[];
  /** Selectors whose private key does not exist: nothing is composed until they do. */
  missingKeys: MissingKey[];
  /** The main.cf settings that hand mail to the milters. */
  postfixSettings: PostfixSetting[];
  /** What to run on the mail host, in the directory holding the files. */
  steps: SetupStep[];
  notes: string[];
}

function typeOfAlgorithm(a: DkimAlgorithm): DkimKeyType {
  return a === 'ed25519' ? 'ed25519' : 'rsa';
}

function isBelow(child: string, parent: string): boolean {
  const rel = path.posix.relative(parent, child);
  return rel !== '' && !rel.startsWith('..') && !path.posix.isAbsolute(rel);
}

/** A local socket's path, or null for inet sockets. */
function localSocketPath(socket: string): string | null {
  const local = /^(?:local|unix):(.+)$/.exec(socket);
  if (local) return local[1]!;
  return socket.startsWith('/') ? socket : null;
}

/**
 * The socket as Postfix names it. `inet:8891@localhost` -> `inet:localhost:8891`. A local socket
 * below the queue directory is named relative to it (`unix:opendkim/opendkim.sock`): Postfix
 * daemons work in that directory, chrooted or not. A local socket elsewhere is refused when Postfix
 * runs chrooted, because smtpd could not reach it and the mail would pass unsigned.
 */
export function postfixMilterAddress(socket: string, opts: Pick<OpenDkimLayoutOptions, 'postfixQueueDir' | 'postfixChrooted'> = {}): string {
  const inet = /^inet6?:(\d+)@(.+)$/.exec(socket);
  if (inet) {
    const port = Number(inet[1]);
    if (port < 1 || port > 65535) throw new InputError(`the OpenDKIM socket "${socket}" has no valid port; write inet:PORT@HOST with a port from 1 to 65535`);
    const host = inet[2]!;
    return `inet:${host.includes(':') && !host.startsWith('[') ? `[${host}]` : host}:${port}`;
  }
  const file = localSocketPath(socket);
  if (file === null) {
    throw new InputError(`"${socket}" is not an OpenDKIM socket; write local:/PATH (e.g. ${DEFAULT_SOCKET}) or inet:PORT@HOST (e.g. inet:8891@localhost)`);
  }
  if (!path.posix.isAbsolute(file)) throw new InputError(`the OpenDKIM socket "${socket}" needs an absolute path, e.g. ${DEFAULT_SOCKET}`);
  const queueDir = opts.postfixQueueDir ?? DEBIAN.postfixQueueDir;
  if (isBelow(file, queueDir)) return `unix:${path.posix.relative(queueDir, file)}`;
  if (opts.postfixChrooted ?? true) {
    throw new InputError(
      `the OpenDKIM socket ${file} lies outside Postfix's queue directory ${queueDir}, where smtpd and cleanup run chrooted ` +
        `(as in Debian's master.cf): Postfix could not reach it and mail would leave unsigned; use ${defaultSocket(queueDir)} or inet:8891@localhost`,
    );
  }
  return `unix:${file}`;
}

function secondSocket(socket: string): string {
  const inet = /^(inet6?):(\d+)@(.+)$/.exec(socket);
  if (inet) return `${inet[1]}:${Number(inet[2]) + 1}@${inet[3]}`;
  const local = /^(local|unix):(.+?)(\.sock)?$/.exec(socket);
  if (local) return `${local[1]}:${local[2]}-ed25519${local[3] ?? ''}`;
  return `${socket}-ed25519`;
}

function header(what: string, planName: string): string {
  return `# ${what}\n# Written by maildns from ${planName}; run \`maildns opendkim\` again instead of editing by hand.\n`;
}

/** The key types the plan's selectors ask for, RSA first. */
function planKeyTypes(plan: Plan): DkimKeyType[] {
  const wanted = new Set(plan.domains.flatMap((d) => d.dkim.map((s) => typeOfAlgorithm(s.algorithm))));
  return (['rsa', 'ed25519'] as const).filter((t) => wanted.has(t));
}

/**
 * The OpenDKIM instances the plan needs, with their sockets as both sides name them. Read from the
 * plan's algorithms alone, so `maildns postfix` names the same milters without reading any key.
 */
export function openDkimInstances(plan: Plan, opts: OpenDkimLayoutOptions = {}): OpenDkimInstance[] {
  const types = planKeyTypes(plan);
  const mixed = types.length > 1;
  const queueDir = opts.postfixQueueDir ?? DEBIAN.postfixQueueDir;
  const socket = opts.socket ?? defaultSocket(queueDir);
  const configDir = opts.configDir ?? DEBIAN.configDir;
  const runDir = opts.runDir ?? DEBIAN.runDir;
  return types.map((type, i) => {
    const second = i > 0;
    const sock = second ? (opts.socketEd25519 ?? secondSocket(socket)) : socket;
    const suffix = mixed ? `.${type}` : '';
    const conf = second ? `opendkim-${type}.conf` : 'opendkim.conf';
    return {
      type,
      signatureAlgorithm: type === 'rsa' ? 'rsa-sha256' : 'ed25519-sha256',
      socket: sock,
      milter: postfixMilterAddress(sock, opts),
      keyTable: `KeyTable${suffix}`,
      signingTable: `SigningTable${suffix}`,
      conf,
      confPath: second ? path.posix.join(configDir, conf) : (opts.mainConf ?? DEBIAN.mainConf),
      pidFile: path.posix.join(runDir, second ? `opendkim-${type}.pid` : 'opendkim.pid'),
      unit: second ? `opendkim-${type}` : 'opendkim',
    };
  });
}

/** The main.cf lines that hand mail to the instances, each with its reason. */
export function milterSettings(instances: readonly OpenDkimInstance[], opts: OpenDkimLayoutOptions = {}): PostfixSetting[] {
  if (!instances.length) return [];
  const queueDir = opts.postfixQueueDir ?? DEBIAN.postfixQueueDir;
  const local = instances.filter((i) => i.milter.startsWith('unix:') && !i.milter.startsWith('unix:/'));
  const action = opts.milterDefaultAction ?? 'tempfail';
  return [
    {
      name: 'smtpd_milters',
      value: instances.map((i) => i.milter).join(', '),
      why:
        `Mail that arrives over SMTP goes through OpenDKIM${instances.length > 1 ? ` (one instance per key algorithm)` : ''}.` +
        (local.length ? `\nA relative unix: path is read from ${queueDir}, the chroot of smtpd and cleanup:\n${local[0]!.milter} is ${path.posix.join(queueDir, local[0]!.milter.slice('unix:'.length))}.` : ''),
    },
    {
      name: 'non_smtpd_milters',
      value: '$smtpd_milters',
      why: 'Mail from /usr/sbin/sendmail (cron, scripts, PHP) enters through pickup, not smtpd: sign it too.',
    },
    {
      name: 'milter_default_action',
      value: action,
      why:
        action === 'tempfail'
          ? 'When OpenDKIM cannot be reached, answer "try again later" (4xx) and keep the mail, rather than\n"accept", which sends it on unsigned with no error anywhere.'
          : 'When OpenDKIM cannot be reached, send the mail on unsigned (it may then fail DMARC); tempfail would keep it and try later.',
    },
  ];
}

/** Read each selector's key to learn its type; missing keys are collected, not skipped. */
function signingEntries(plan: Plan, serverKeysDir: string): { entries: SigningEntry[]; missing: MissingKey[] } {
  const entries: SigningEntry[] = [];
  const missing: MissingKey[] = [];
  for (const d of plan.domains) {
    for (const sel of d.dkim) {
      const keyPath = keyPathFor(plan, d, sel);
      if (!isPresent(keyPath)) {
        missing.push({ domain: d.domain, selector: sel.selector, keyPath });
        continue;
      }
      // OpenDKIM's RequireSafeKeys (on by default) would refuse to sign with it.
      for (const dir of keyDirectories(plan, d, keyPath)) {
        const problem = keyDirectoryProblem(dir);
        if (problem) throw new InputError(problem, dir);
      }
      const type = publicKeyFromKeyFile(keyPath).type;
      if (type !== typeOfAlgorithm(sel.algorithm)) {
        throw new InputError(
          `this is an ${type === 'rsa' ? 'RSA' : 'Ed25519'} key, but the plan gives ${d.domain} selector ${sel.selector} the algorithm ${sel.algorithm}; set "algorithm: ${type === 'rsa' ? 'rsa-2048' : 'ed25519'}" for it or point "key" at the right file`,
          keyPath,
        );
      }
      const serverKeyPath = path.posix.join(serverKeysDir, d.domain, `${sel.selector}.private`);
      entries.push({ domain: d.domain, selector: sel.selector, keyPath, serverKeyPath, type, signs: isSigning(sel) });
    }
  }
  return { entries, missing };
}

function composeKeyTable(entries: readonly SigningEntry[], planName = 'the plan'): string {
  const lines = entries.map((e) => `${e.selector}._domainkey.${e.domain} ${e.domain}:${e.selector}:${e.serverKeyPath}`);
  return `${header('OpenDKIM KeyTable: key name, then domain:selector:private key file.', planName)}${lines.join('\n')}\n`;
}

export function composeSigningTable(entries: readonly SigningEntry[], planName = 'the plan'): string {
  const lines: string[] = [];
  for (const e of entries.filter((x) => x.signs)) {
    const pattern = `*@${e.domain}`;
    // A catch-all would sign every domain's mail with one domain's key (receivers then reject it).
    if (pattern === '*@*' || !/^\*@[a-z0-9_.-]+$/.test(pattern)) throw new InputError(`refusing SigningTable pattern "${pattern}": each domain needs its own line`);
    lines.push(`${pattern} ${e.selector}._domainkey.${e.domain}`);
  }
  return `${header('OpenDKIM SigningTable (refile: form): sender pattern, then the KeyTable key name.', planName)}${lines.join('\n')}\n`;
}

/**
 * Why `entry` cannot be a line of TrustedHosts (an OpenDKIM peer list: an address, a network in
 * CIDR form, or a host name, "*." allowed in front; "!" negates), or null. OpenDKIM reads any line
 * without complaint, so a typo there would only leave that host's mail unsigned.
 */
export function trustedHostProblem(entry: string): string | null {
  const e = entry.replace(/^!/, '');
  if (e.includes('/') || /^[\d.]+$/.test(e) || e.includes(':')) {
    const problem = spfNetworkProblem(e, e.includes(':') ? 6 : 4);
    return problem ? problem.replace(/^"[^"]*"/, `"${entry}"`) : null;
  }
  const name = e.replace(/^\*\./, '');
  const problem = domainNameProblem(name);
  return problem ? `"${entry}" is not an address, a network such as 192.0.2.0/24 or a host name: it ${problem}` : null;
}

function composeTrustedHosts(extra: readonly string[] = [], planName = 'the plan'): string {
  for (const entry of extra) {
    const problem = trustedHostProblem(entry);
    if (problem) throw new InputError(`trusted host ${problem}`);
  }
  const hosts = [...new Set(['127.0.0.1', '::1', 'localhost', ...extra])];
  return `${header('OpenDKIM TrustedHosts: mail from these hosts is signed, not verified.', planName)}${hosts.join('\n')}\n`;
}

function composeConf(inst: OpenDkimInstance, opts: { mixed: boolean; multiple: boolean; configDir: string; planName: string }): string {
  const at = (name: string): string => path.posix.join(opts.configDir, name);
  const what = opts.mixed
    ? `opendkim.conf of the ${inst.type === 'rsa' ? 'RSA' : 'Ed25519'} instance (${inst.confPath}, run by ${inst.unit}.service). OpenDKIM 2.11 has one\n# SignatureAlgorithm per running instance, so this plan's RSA and Ed25519 keys need two instances.`
    : `opendkim.conf, complete: install it as ${inst.confPath}, which Debian's opendkim.service reads.`;
  const row = (name: string, value: string): string => `${name.padEnd(24)}${value}`;
  return [
    header(what, opts.planName).trimEnd(),
    '# Logging and the process, as Debian ships them; UMask 007 lets the opendkim group (postfix) use the socket.',
    row('Syslog', 'yes'),
    row('SyslogSuccess', 'yes'),
    row('UserID', DEBIAN.user),
    row('UMask', '007'),
    row('PidFile', inst.pidFile),
    row('Socket', inst.socket),
    '# Signing.',
    // Verifying in both instances would add two Authentication-Results headers: the second one only signs.
    row('Mode', opts.mixed && inst.type === 'ed25519' ? 's' : 'sv'),
    row('Canonicalization', 'relaxed/relaxed'),
    row('SignatureAlgorithm', inst.signatureAlgorithm),
    row('KeyTable', at(inst.keyTable)),
    row('SigningTable', `refile:${at(inst.signingTable)}`),
    row('ExternalIgnoreList', `refile:${at('TrustedHosts')}`),
    row('InternalHosts', `refile:${at('TrustedHosts')}`),
    row('OversignHeaders', 'From'),
    ...(opts.multiple ? [row('MultipleSignatures', 'yes')] : []),
    row('TrustAnchorFile', DEBIAN.trustAnchorFile),
    '',
  ].join('\n');
}

function composeUnit(inst: OpenDkimInstance, planName: string): string {
  return [
    `# systemd unit of the second OpenDKIM instance (${inst.type === 'rsa' ? 'RSA' : 'Ed25519'} keys), beside Debian's opendkim.service.`,
    `# Written by maildns from ${planName}; install it as /etc/systemd/system/${inst.unit}.service.`,
    '[Unit]',
    `Description=OpenDKIM Milter (${inst.type === 'rsa' ? 'RSA' : 'Ed25519'} signing instance)`,
    'Documentation=man:opendkim(8) man:opendkim.conf(5)',
    'After=network-online.target nss-lookup.target',
    'Wants=network-online.target',
    '',
    '[Service]',
    'Type=forking',
    `PIDFile=${inst.pidFile}`,
    `ExecStart=/usr/sbin/opendkim -x ${inst.confPath}`,
    'ExecReload=/bin/kill -USR1 $MAINPID',
    'Restart=on-failure',
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ].join('\n');
}

export function composeOpenDkim(plan: Plan, opts: OpenDkimOptions = {}): OpenDkimResult {
  const notes: string[] = [];
  const planName = opts.planName ?? (plan.file ? path.basename(plan.file) : 'the plan');
  const configDir = opts.configDir ?? DEBIAN.configDir;
  const serverKeysDir = opts.serverKeysDir ?? DEBIAN.keysDir;
  const unitDir = opts.unitDir ?? DEBIAN.unitDir;
  const instances = openDkimInstances(plan, opts); // rejects a malformed or unreachable socket first
  const { entries, missing } = signingEntries(plan, serverKeysDir);
  const postfixSettings = milterSettings(instances, opts);
  const empty: OpenDkimResult = { files: [], instances, entries, missingKeys: missing, postfixSettings, steps: [], notes };
  if (missing.length) return empty; // half a KeyTable would leave a domain unsigned without a word
  if (!instances.length) {
    notes.push('the plan has no DKIM selector: nothing to sign with; add one under "dkim:" for a domain');
    return empty;
  }
  const mixed = instances.length > 1;

  for (const d of plan.domains) {
    const own = entries.filter((e) => e.domain === d.domain);
    if (own.length && !own.some((e) => e.signs)) {
      notes.push(`${d.domain} has no active selector: its mail will not be signed until \`maildns dkim rotate ${d.domain} --activate\``);
    }
  }

  const files: OpenDkimFile[] = [];
  const inConfigDir = (name: string, content: string): void => {
    files.push({ name, content, installPath: path.posix.join(configDir, name), mode: 0o644 });
  };
  inConfigDir('TrustedHosts', composeTrustedHosts(opts.trustedHosts, planName));
  for (const inst of instances) {
    const mine = entries.filter((e) => e.type === inst.type);
    const perDomain = new Map<string, number>();
    for (const e of mine.filter((x) => x.signs)) perDomain.set(e.domain, (perDomain.get(e.domain) ?? 0) + 1);
    const multiple = [...perDomain.values()].some((n) => n > 1);
    inConfigDir(inst.keyTable, composeKeyTable(mine, planName));
    inConfigDir(inst.signingTable, composeSigningTable(mine, planName));
    files.push({ name: inst.conf, content: composeConf(inst, { mixed, multiple, configDir, planName }), installPath: inst.confPath, mode: 0o644 });
    if (inst.unit !== 'opendkim') {
      files.push({ name: `${inst.unit}.service`, content: composeUnit(inst, planName), installPath: path.posix.join(unitDir, `${inst.unit}.service`), mode: 0o644 });
    }
  }
  files.push({
    name: 'postfix-main.cf',
    content: renderMainCf(postfixSettings, header('Postfix main.cf lines that hand mail to OpenDKIM (`maildns postfix` writes them too).', planName)),
    installPath: null,
    mode: 0o644,
  });

  const filesDir = opts.filesDir;
  // install refuses to copy a file onto itself ("are the same file"): files written in place are left out.
  const toInstall = filesDir === undefined ? files : files.filter((f) => f.installPath === null || path.resolve(filesDir, f.name) !== path.resolve(f.installPath));
  const steps = installSteps(instances, entries, toInstall, { configDir, serverKeysDir, postfixSettings });
  if (mixed) {
    notes.push(
      `the plan has RSA and Ed25519 keys: OpenDKIM 2.11 signs with one algorithm per instance, so two run: ${instances.map((i) => `${i.unit}.service (${i.confPath}, ${i.socket})`).join(' and ')}`,
    );
  }
  notes.push(
    'if /etc/systemd/system/opendkim.service.d/override.conf exists (made from /etc/default/opendkim by opendkim.service.generate), its -p socket wins over opendkim.conf: remove it, then systemctl daemon-reload',
  );
  return { files, instances, entries, missingKeys: [], postfixSettings, steps, notes };
}

function installSteps(
  instances: readonly OpenDkimInstance[],
  entries: readonly SigningEntry[],
  files: readonly OpenDkimFile[],
  o: { configDir: string; serverKeysDir: string; postfixSettings: PostfixSetting[] },
): SetupStep[] {
  const owner = ['-o', DEBIAN.user, '-g', DEBIAN.group];
  const steps: SetupStep[] = [];
  const socketDirs = [...new Set(instances.map((i) => localSocketPath(i.socket)).filter((p): p is string => p !== null).map((p) => path.posix.dirname(p)))];
  if (socketDirs.length) {
    steps.push({ kind: 'group', argv: ['adduser', 'postfix', DEBIAN.group], why: 'Postfix connects to the socket, which UMask 007 leaves to the opendkim group' });
    for (const dir of socketDirs) steps.push({ kind: 'install', argv: ['install', '-d', ...owner, '-m', '0750', dir], why: 'the socket directory, inside Postfix\'s chroot' });
  }
  steps.push({ kind: 'install', argv: ['install', '-d', ...owner, '-m', '0700', o.serverKeysDir], why: 'the key directory (Debian ships it so)' });
  for (const domain of [...new Set(entries.map((e) => e.domain))]) {
    steps.push({ kind: 'install', argv: ['install', '-d', ...owner, '-m', '0700', path.posix.join(o.serverKeysDir, domain)], why: `${domain}'s keys` });
  }
  for (const e of entries) {
    const why = `the private key of ${e.selector}._domainkey.${e.domain}, readable by opendkim only`;
    if (path.resolve(e.keyPath) === path.posix.resolve(e.serverKeyPath)) {
      // Keys made where OpenDKIM reads them (keys_dir /etc/dkimkeys on the mail host): install
      // refuses to copy a file onto itself ("are the same file"), so only owner and mode change.
      steps.push({ kind: 'install', argv: ['chown', `${DEBIAN.user}:${DEBIAN.group}`, e.serverKeyPath], why: `${why} (keygen wrote it in place)` });
      steps.push({ kind: 'install', argv: ['chmod', '0600', e.serverKeyPath], why: 'mode 0600' });
      continue;
    }
    steps.push({ kind: 'install', argv: ['install', ...owner, '-m', '0600', e.keyPath, e.serverKeyPath], why });
  }
  const placed = files.filter((f): f is OpenDkimFile & { installPath: string } => f.installPath !== null);
  const tables = placed.filter((f) => f.installPath === path.posix.join(o.configDir, f.name)).map((f) => f.name);
  if (tables.length) {
    steps.push({ kind: 'install', argv: ['install', '-d', '-m', '0755', o.configDir], why: 'the tables\' directory' });
    steps.push({ kind: 'install', argv: ['install', '-m', '0644', ...tables, `${o.configDir}/`], why: 'the tables and confs OpenDKIM reads' });
  }
  for (const f of placed.filter((x) => !tables.includes(x.name))) {
    const why = f.name.endsWith('.service') ? 'the second instance\'s systemd unit' : 'the conf Debian\'s opendkim.service reads';
    steps.push({ kind: 'install', argv: ['install', '-m', '0644', f.name, f.installPath], why });
  }
  for (const inst of instances) steps.push({ kind: 'check', argv: ['opendkim', '-n', '-x', inst.confPath], why: `${inst.unit}: the conf parses` });
  steps.push(postconfStep(o.postfixSettings, 'hand mail to OpenDKIM'));
  const own = instances.filter((i) => i.unit !== 'opendkim');
  if (own.length) {
    steps.push({ kind: 'service', argv: ['systemctl', 'daemon-reload'], why: 'systemd reads the new unit' });
    steps.push({ kind: 'service', argv: ['systemctl', 'enable', ...own.map((i) => i.unit)], why: 'the second instance starts at boot too' });
  }
  steps.push({ kind: 'service', argv: ['systemctl', 'restart', ...instances.map((i) => i.unit)], why: 'OpenDKIM reads its new conf' });
  steps.push({ kind: 'service', argv: ['systemctl', 'reload', 'postfix'], why: 'Postfix reads main.cf and joins the opendkim group' });
  return steps;
}
