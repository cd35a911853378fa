/**
 * Why a probe did not leave signed: the likely reasons, read from what is in effect on the host.
 * Postfix's side from the running instance (`postconf -x`, `-M`, `-P`: the milters of the path the
 * probe took, whether that daemon is chrooted, whether the socket is there and answers), OpenDKIM's
 * side from its confs (Mode, the SigningTable line for the sender, InternalHosts for the client).
 * Each reason is a Finding with the fix; what could not be checked is a note, never a guess.
 */
import { readFileSync, statSync } from 'node:fs';
import net, { BlockList, isIP } from 'node:net';
import path from 'node:path';
import { InputError } from '../errors.js';
import type { Finding } from '../findings.js';
import { readInputFileSync } from '../fsutil.js';
import type { LivePostfix, MasterLine } from './postfix-live.js';
import { milterAddress, splitPostfixList } from '../postfix/main-cf.js';
import type { SubmissionPath } from './submit.js';

const CONNECT_TIMEOUT_MS = 2000;
const DEFAULT_QUEUE_DIR = '/var/spool/postfix';

/**
 * An OpenDKIM conf or a table it names, read bounded (src/fsutil.ts): a FIFO or a device there is
 * refused at once, where a blocking read waited for ever on a FIFO nothing writes to.
 */
function readConfFile(file: string, what: string): string {
  return readInputFileSync(file, { maxBytes: 16 << 20, what, fix: 'name the file OpenDKIM reads' }).toString('utf8');
}

/** Why a file was not read, for a note: the errno code, or what the bounded reader said (without the file's name, which the note gives). */
function whyUnread(err: unknown): string {
  if (err instanceof InputError && err.location !== undefined) return err.message.slice(err.location.length + 2);
  return (err as NodeJS.ErrnoException).code ?? (err as Error).message;
}

interface Diagnosis {
  reasons: Finding[];
  notes: string[];
}

/** opendkim.conf: `Name value` lines, names case-insensitive, `#` comments. */
export function parseOpenDkimConf(text: string): Map<string, { value: string; line: number }> {
  const out = new Map<string, { value: string; line: number }>();
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.replace(/(^|\s)#.*$/, '').trim();
    const m = /^(\S+)\s+(.*)$/.exec(line);
    if (m) out.set(m[1]!.toLowerCase(), { value: m[2]!.trim(), line: i + 1 });
  });
  return out;
}

/** An OpenDKIM data set: `refile:PATH` (patterns), `file:PATH` or a bare path (keys), `csl:a,b` (a list), or a kind not read here. */
type Dataset = { kind: 'refile' | 'file'; path: string } | { kind: 'csl'; items: string[] } | { kind: 'other'; spec: string };

export function parseDataset(spec: string): Dataset {
  const m = /^([a-z]+):(.*)$/.exec(spec);
  if (!m) return spec.startsWith('/') ? { kind: 'file', path: spec } : { kind: 'csl', items: spec.split(',').map((x) => x.trim()).filter(Boolean) };
  if (m[1] === 'refile' || m[1] === 'file') return { kind: m[1], path: m[2]! };
  if (m[1] === 'csl') return { kind: 'csl', items: m[2]!.split(',').map((x) => x.trim()).filter(Boolean) };
  return { kind: 'other', spec };
}

/** The data lines of a table file: comments and blank lines dropped, with their line numbers. */
function tableLines(text: string): { text: string; line: number }[] {
  return text
    .split(/\r?\n/)
    .map((l, i) => ({ text: l.replace(/#.*$/, '').trim(), line: i + 1 }))
    .filter((l) => l.text);
}

function globRegExp(pattern: string): RegExp {
  return new RegExp(`^${pattern.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`, 'i');
}

/**
 * The SigningTable line that applies to `address`, or null: `refile:` lines are patterns (`*@example.com`);
 * a plain table is looked up by the address, the domain, its parents (`.example.com`) and `*`.
 */
export function signingTableMatch(kind: 'refile' | 'file', text: string, address: string): { line: number; text: string } | null {
  const lines = tableLines(text);
  if (kind === 'refile') return lines.find((l) => globRegExp(l.text.split(/\s+/)[0]!).test(address)) ?? null;
  const domain = address.slice(address.lastIndexOf('@') + 1).toLowerCase();
  const labels = domain.split('.');
  const keys = [address.toLowerCase(), domain, ...labels.slice(1).map((_, i) => `.${labels.slice(i + 1).join('.')}`), '*'];
  for (const key of keys) {
    const hit = lines.find((l) => l.text.split(/\s+/)[0]!.toLowerCase() === key);
    if (hit) return hit;
  }
  return null;
}

/**
 * Whether a host list (InternalHosts, TrustedHosts) covers `client`: addresses and networks are
 * compared, `localhost` stands for the loopback addresses, a `!` entry excludes. `unknown` when
 * only host names other than localhost could cover it (OpenDKIM matches those against the name
 * Postfix reports, which is not known here).
 */
export function hostListCovers(entries: readonly string[], client: string): 'yes' | 'no' | 'unknown' {
  const family = isIP(client) === 6 ? 'ipv6' : 'ipv4';
  const loopback = client === '::1' || client.startsWith('127.');
  let covered = false;
  let named = false;
  for (const raw of entries) {
    const negated = raw.startsWith('!');
    const entry = raw.replace(/^!/, '').replace(/^\[|\]$/g, '');
    let hit: boolean | null = null;
    const cidr = /^(.+)\/(\d+)$/.exec(entry);
    if (cidr && isIP(cidr[1]!)) {
      const list = new BlockList();
      const fam = isIP(cidr[1]!) === 6 ? 'ipv6' : 'ipv4';
      list.addSubnet(cidr[1]!, Number(cidr[2]), fam);
      hit = fam === family && list.check(client, family);
    } else if (isIP(entry)) {
      hit = entry.toLowerCase() === client.toLowerCase();
    } else if (entry.toLowerCase() === 'localhost') {
      hit = loopback;
    } else {
      named = true;
    }
    if (hit && negated) return 'no';
    if (hit) covered = true;
  }
  return covered ? 'yes' : named ? 'unknown' : 'no';
}

/** OpenDKIM's `local:/path` or `inet:port@host` as the same name Postfix's milter list uses: `unix:/path`, `inet:host:port`. */
function conformSocket(socket: string): string {
  const local = /^(?:local|unix):(.+)$/.exec(socket);
  if (local) return `unix:${local[1]}`;
  const inet = /^inet6?:(\d+)@(.+)$/.exec(socket);
  if (inet) return `inet:${inet[2]!.replace(/^\[|\]$/g, '')}:${inet[1]}`;
  return socket;
}

/** The milter's address with a relative unix path made absolute from the queue directory. */
function absoluteMilter(milter: string, queueDir: string): string {
  const unix = /^unix:(.+)$/.exec(milter);
  if (unix && !unix[1]!.startsWith('/')) return `unix:${path.posix.join(queueDir, unix[1]!)}`;
  return milter.replace(/^inet:\[?([^\]]+?)\]?:(\d+)$/, 'inet:$1:$2');
}

function canConnect(target: { path: string } | { host: string; port: number }): Promise<string | null> {
  return new Promise((resolve) => {
    const socket = 'path' in target ? net.connect({ path: target.path }) : net.connect({ host: target.host, port: target.port });
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(`no answer within ${CONNECT_TIMEOUT_MS} ms`);
    }, CONNECT_TIMEOUT_MS);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(null);
    });
    socket.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve(err.code ?? err.message);
    });
  });
}

/** The user's uid and every gid it has (/etc/passwd, /etc/group), or null when it does not exist. */
function userIds(user: string): { uid: number; gids: Set<number> } | null {
  try {
    const pw = readFileSync('/etc/passwd', 'utf8').split('\n').map((l) => l.split(':')).find((f) => f[0] === user);
    if (!pw) return null;
    const gids = new Set([Number(pw[3])]);
    for (const g of readFileSync('/etc/group', 'utf8').split('\n').map((l) => l.split(':'))) {
      if ((g[3] ?? '').split(',').includes(user)) gids.add(Number(g[2]));
    }
    return { uid: Number(pw[2]), gids };
  } catch {
    return null;
  }
}

/** Whether `user` may connect to the socket: write on it, search on its directory. */
function permissionProblem(file: string, user: string): string | null {
  const ids = userIds(user);
  if (!ids || ids.uid === 0) return null;
  const may = (p: string, bit: number): boolean => {
    const st = statSync(p);
    if (st.uid === ids.uid) return ((st.mode >> 6) & bit) !== 0;
    if (ids.gids.has(st.gid)) return ((st.mode >> 3) & bit) !== 0;
    return (st.mode & bit) !== 0;
  };
  try {
    const dir = path.dirname(file);
    if (!may(dir, 1)) return `${user} may not enter ${dir} (mode ${(statSync(dir).mode & 0o777).toString(8)}, group ${statSync(dir).gid})`;
    if (!may(file, 2)) return `${user} may not write to the socket (mode ${(statSync(file).mode & 0o777).toString(8)}, group ${statSync(file).gid})`;
  } catch {
    return null;
  }
  return null;
}

/** The smtpd service a client reached on `port`: `smtp` for 25, `submission` for 587, else by number or host:port. */
function smtpdService(master: readonly MasterLine[], port: number | null): MasterLine | undefined {
  const named: Record<string, number> = { smtp: 25, submission: 587, submissions: 465, smtps: 465 };
  const smtpd = master.filter((m) => m.type === 'inet' && /^smtpd\b/.test(m.command));
  return smtpd.find((m) => {
    const p = m.service.includes(':') ? m.service.slice(m.service.lastIndexOf(':') + 1) : m.service;
    return port !== null && (Number(p) === port || named[p] === port);
  });
}

interface DiagnoseInput {
  via: SubmissionPath;
  /** The From address: OpenDKIM picks the signing line by it. */
  sender: string;
  /** The SMTP client address the MTA saw (SMTP only). */
  client: string | null;
  /** The port the probe was submitted to (SMTP only). */
  smtpPort: number | null;
  postfix: LivePostfix;
  opendkimConfs: readonly string[];
}

export async function diagnose(input: DiagnoseInput): Promise<Diagnosis> {
  const reasons: Finding[] = [];
  const notes: string[] = [];
  const add = (code: string, subject: string, message: string, fix: string): void => {
    reasons.push({ code, severity: 'error', subject, message, fix });
  };
  const pf = input.postfix;
  const [settings, master, params] = await Promise.all([
    pf.settings(['queue_directory', 'smtpd_milters', 'non_smtpd_milters', 'mail_owner']),
    pf.masterServices(),
    pf.serviceParameters(),
  ]);
  const queueDir = settings.get('queue_directory') || DEFAULT_QUEUE_DIR;
  const owner = settings.get('mail_owner') || 'postfix';
  const reload = pf.reloadLine;

  // 1. The milters of the path the probe took, as the daemon that runs them sees them.
  const smtp = input.via === 'smtp';
  const daemon = smtp ? smtpdService(master, input.smtpPort) : master.find((m) => m.service === 'cleanup' && m.type === 'unix');
  const daemonName = smtp ? `smtpd (master.cf service ${daemon?.service ?? `for port ${input.smtpPort}`})` : 'cleanup (which pickup hands sendmail\'s mail to)';
  const parameter = smtp ? 'smtpd_milters' : 'non_smtpd_milters';
  const override = daemon ? params.get(`${daemon.service}/${daemon.type}/${parameter}`) : undefined;
  const milters = splitPostfixList(override ?? settings.get(parameter) ?? '').map(milterAddress);
  const chrooted = daemon ? daemon.chroot === 'y' : true;
  if (!daemon) notes.push(`no master.cf service found for ${smtp ? `port ${input.smtpPort}` : 'cleanup'}: assumed chrooted, as Debian ships it`);

  if (!milters.length && smtp) {
    add('selftest.no-smtpd-milters', 'smtpd_milters', 'smtpd_milters is empty: mail that arrives over SMTP is never handed to OpenDKIM', `${pf.commandLine('postconf', '-e', 'smtpd_milters = unix:opendkim/opendkim.sock')} (the lines \`maildns opendkim\` writes), then ${reload}`);
  }
  if (!milters.length && !smtp) {
    const viaSmtpd = settings.get('smtpd_milters');
    add(
      'selftest.non-smtpd-milters-missing',
      'non_smtpd_milters',
      `non_smtpd_milters is empty: mail handed to sendmail goes through pickup and cleanup, not smtpd, so ${viaSmtpd ? `smtpd_milters (${viaSmtpd}) never sees it` : 'no milter sees it'} and it leaves unsigned`,
      `${pf.commandLine('postconf', '-e', 'non_smtpd_milters = $smtpd_milters')}, then ${reload}`,
    );
  }

  const confs = input.opendkimConfs.map((file) => {
    try {
      return { file, settings: parseOpenDkimConf(readConfFile(file, 'an OpenDKIM conf')) };
    } catch (err) {
      notes.push(`${file}: not read (${whyUnread(err)}); name the OpenDKIM confs with --opendkim-conf`);
      return null;
    }
  }).filter((c): c is NonNullable<typeof c> => c !== null);
  const listeners = confs.map((c) => ({ file: c.file, socket: c.settings.get('socket')?.value ?? '' })).filter((l) => l.socket);

  for (const milter of milters) {
    const target = absoluteMilter(milter, queueDir);
    const served = listeners.filter((l) => conformSocket(l.socket) === target);
    const listening = served.length ? ` (${served.map((l) => path.basename(l.file)).join(', ')}: Socket ${served[0]!.socket})` : listeners.length ? `; the OpenDKIM confs listen on ${listeners.map((l) => l.socket).join(', ')}` : '';
    const unix = /^unix:(.+)$/.exec(milter);
    if (unix) {
      const named = unix[1]!;
      const outside = named.startsWith('/') && !(named === queueDir || named.startsWith(`${queueDir.replace(/\/+$/, '')}/`));
      // A chrooted daemon reads every path inside queue_directory; a relative path is relative to it either way.
      const seen = !named.startsWith('/') ? path.posix.join(queueDir, named) : chrooted ? path.posix.join(queueDir, named) : named;
      let problem: string | null = null;
      let isSocket = false;
      try {
        isSocket = statSync(seen).isSocket();
        if (!isSocket) problem = `${seen} is not a socket`;
      } catch {
        problem = `there is no socket at ${seen}`;
      }
      // Inside the chroot an absolute path is read below the queue directory: a socket there (the
      // seeds' Socket local:/var/spool/postfix/var/run/opendkim/opendkim.sock for
      // unix:/var/run/opendkim/opendkim.sock) is reached, and is checked as any other below.
      if (outside && chrooted && problem) {
        add(
          'selftest.milter-unreachable',
          `${parameter} ${milter}`,
          `the milter socket ${named} lies outside ${queueDir}, the chroot ${daemonName} runs in (master.cf chroot column y): from inside, the path means ${seen}, where there is no socket, so OpenDKIM is never reached${listening}`,
          `put the socket below the queue directory: Socket local:${path.posix.join(queueDir, 'opendkim/opendkim.sock')} in opendkim.conf and ${parameter} = unix:opendkim/opendkim.sock (what \`maildns opendkim\` writes), then restart opendkim and ${reload}`,
        );
        continue;
      }
      if (named.startsWith('/') && !outside && chrooted && problem) {
        const relative = path.posix.relative(queueDir, named) || 'opendkim/opendkim.sock';
        add(
          'selftest.milter-unreachable',
          `${parameter} ${milter}`,
          `${daemonName} runs chrooted in ${queueDir} (master.cf chroot column y) and reads the absolute path ${named} inside it, as ${seen}, where there is no socket, so OpenDKIM is never reached${listening}`,
          `name the socket relative to the queue directory: ${pf.commandLine('postconf', '-e', `${parameter} = unix:${relative}`)}, then ${reload}`,
        );
        continue;
      }
      if (!problem) {
        const refused = await canConnect({ path: seen });
        if (refused) problem = `nothing accepts connections on ${seen} (${refused})`;
        else problem = permissionProblem(seen, owner);
      }
      if (problem) {
        add(
          'selftest.milter-unreachable',
          `${parameter} ${milter}`,
          `${daemonName} cannot reach the milter ${milter}: ${problem}${listening}`,
          /may not/.test(problem) ? `adduser ${owner} opendkim (OpenDKIM's UMask 007 leaves the socket to its group), then restart postfix` : 'start OpenDKIM (systemctl restart opendkim), and make its Socket line and this milter name the same socket',
        );
      }
      continue;
    }
    const inet = /^inet:(.+):(\d+)$/.exec(target);
    if (inet) {
      const refused = await canConnect({ host: inet[1]!, port: Number(inet[2]) });
      if (refused) add('selftest.milter-unreachable', `${parameter} ${milter}`, `${daemonName} cannot reach the milter ${milter}: ${refused}${listening}`, 'start OpenDKIM (systemctl restart opendkim), and make its Socket line and this milter name the same address');
      continue;
    }
    notes.push(`${parameter} ${milter}: a milter address selftest does not check`);
  }

  // 2. OpenDKIM: does it sign at all, sign this sender, and count this client as internal?
  const client = input.client ?? '127.0.0.1'; // Postfix reports mail from sendmail as coming from localhost [127.0.0.1]
  for (const conf of confs) {
    const name = path.basename(conf.file);
    const at = (key: string): string => `${conf.file}:${conf.settings.get(key)?.line ?? '?'}`;
    const mode = conf.settings.get('mode')?.value ?? 'sv';
    if (!mode.includes('s')) {
      add('selftest.opendkim-verify-only', `${at('mode')} Mode`, `${name} has Mode ${mode}: this OpenDKIM verifies mail and signs none`, 'Mode sv (what `maildns opendkim` writes), then restart opendkim');
    }
    const table = conf.settings.get('signingtable')?.value;
    const domainList = conf.settings.get('domain')?.value;
    if (table) {
      const ds = parseDataset(table);
      if (ds.kind === 'refile' || ds.kind === 'file') {
        let text: string | null = null;
        try {
          text = readConfFile(ds.path, 'an OpenDKIM table');
        } catch (err) {
          add('selftest.signing-table', `${at('signingtable')} SigningTable`, `${name}'s SigningTable ${ds.path} cannot be read (${whyUnread(err)}): OpenDKIM signs nothing`, 'write it (`maildns opendkim` does) and restart opendkim');
        }
        if (text !== null && !signingTableMatch(ds.kind, text, input.sender)) {
          const domain = input.sender.slice(input.sender.lastIndexOf('@') + 1);
          add(
            'selftest.signing-table',
            `${ds.path} (SigningTable of ${name})`,
            `no line of the SigningTable matches the sender ${input.sender}, so OpenDKIM passes the message on unsigned`,
            `add "${ds.kind === 'refile' ? `*@${domain}` : domain} SELECTOR._domainkey.${domain}" with a KeyTable entry for that key (\`maildns opendkim\` writes both for every planned domain), then restart opendkim`,
          );
        }
      } else {
        notes.push(`${at('signingtable')}: SigningTable ${table} is a kind of table selftest does not read`);
      }
    } else if (domainList) {
      const ds = parseDataset(domainList);
      const domain = input.sender.slice(input.sender.lastIndexOf('@') + 1).toLowerCase();
      if (ds.kind === 'csl' && !ds.items.map((x) => x.toLowerCase()).includes(domain)) {
        add('selftest.signing-table', `${at('domain')} Domain`, `${name} signs for ${ds.items.join(', ')} (Domain), not for ${domain}`, `add ${domain} to Domain, or use a SigningTable (\`maildns opendkim\` writes one), then restart opendkim`);
      }
    } else {
      add('selftest.signing-table', `${conf.file} SigningTable`, `${name} has neither a SigningTable nor a Domain: OpenDKIM has nothing to sign with`, 'SigningTable refile:/etc/opendkim/SigningTable and KeyTable (what `maildns opendkim` writes), then restart opendkim');
    }

    const internal = conf.settings.get('internalhosts')?.value;
    let entries: string[] | null = ['127.0.0.1']; // OpenDKIM's default
    let source = 'the default (127.0.0.1 only)';
    if (internal) {
      const ds = parseDataset(internal);
      source = ds.kind === 'refile' || ds.kind === 'file' ? ds.path : internal;
      if (ds.kind === 'csl') entries = ds.items;
      else if (ds.kind === 'other') entries = null;
      else {
        try {
          entries = tableLines(readConfFile(ds.path, 'an OpenDKIM table')).map((l) => l.text.split(/\s+/)[0]!);
        } catch (err) {
          entries = [];
          notes.push(`${name}'s InternalHosts ${ds.path} cannot be read (${whyUnread(err)}): OpenDKIM treats no client as internal`);
        }
      }
    }
    if (entries === null) {
      notes.push(`${at('internalhosts')}: InternalHosts ${internal} is a kind of table selftest does not read`);
      continue;
    }
    const covered = hostListCovers(entries, client);
    if (covered === 'no') {
      add(
        'selftest.client-not-internal',
        internal ? `${source} (InternalHosts of ${name})` : `${conf.file} InternalHosts`,
        `the client ${client} is not in InternalHosts (${source}): OpenDKIM verifies its mail instead of signing it`,
        `add ${client} (or its network) to ${internal ? source : 'an InternalHosts table'}, then restart opendkim; clients elsewhere should log in on submission instead`,
      );
    } else if (covered === 'unknown') {
      notes.push(`${name}'s InternalHosts names hosts by name only; selftest compares addresses and could not tell whether ${client} is internal`);
    }
  }
  return { reasons, notes };
}
