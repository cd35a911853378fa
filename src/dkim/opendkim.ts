/**
 * The files an OpenDKIM + Postfix set-up needs, composed from the plan: KeyTable (a plain file:
 * `refile:` there breaks opendkim-testkey), SigningTable in `refile:` form with one `*@domain` line
 * per signing selector (never a `*@*` catch-all), TrustedHosts, an opendkim.conf fragment that uses
 * them, and the Postfix main.cf milter lines.
 *
 * OpenDKIM 2.11 has one global SignatureAlgorithm, so a plan with both RSA and Ed25519 keys gets one
 * set of tables and one opendkim.conf per algorithm, to run as two instances on two sockets.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { InputError } from '../errors.js';
import { keyDirectoryProblem } from '../fsutil.js';
import { keyDirectories } from './keygen.js';
import { isSigning, keyPathFor } from '../plan/selectors.js';
import type { Plan } from '../plan/types.js';
import { publicKeyFromPem, type DkimKeyType } from './record.js';

import { DEFAULT_SOCKET } from './opendkim-settings.js';
export { DEFAULT_SOCKET };

export interface OpenDkimOptions {
  /** Milter socket in OpenDKIM's syntax (`inet:PORT@HOST`, `inet6:PORT@HOST`, `local:PATH`). */
  socket?: string;
  /** Socket of the Ed25519 instance when the plan mixes algorithms (default: next port, or `-ed25519` path). */
  socketEd25519?: string;
  /** Directory the files will live in on the mail server; the conf names the tables there. */
  configDir: string;
  /** Extra hosts or networks whose mail is signed (TrustedHosts). */
  trustedHosts?: string[];
  /** Name of the plan file, for the header comment. */
  planName?: string;
}

export interface SigningEntry {
  domain: string;
  selector: string;
  keyPath: string;
  type: DkimKeyType;
  /** True when the selector signs (state active, or no state). */
  signs: boolean;
}

export interface OpenDkimInstance {
  type: DkimKeyType;
  signatureAlgorithm: 'rsa-sha256' | 'ed25519-sha256';
  socket: string;
  keyTable: string;
  signingTable: string;
  conf: string;
}

export interface OpenDkimFile {
  name: string;
  content: string;
}

export interface OpenDkimResult {
  files: OpenDkimFile[];
  instances: OpenDkimInstance[];
  entries: SigningEntry[];
  /** The command that gives the keys to the opendkim user on the mail server. */
  chown: string;
  notes: string[];
}

/** `inet:8891@localhost` -> `inet:localhost:8891`; `local:/run/x.sock` -> `unix:/run/x.sock`. */
export function postfixMilterAddress(socket: string): string {
  const inet = /^inet6?:(\d+)@(.+)$/.exec(socket);
  if (inet) {
    const host = inet[2]!;
    return `inet:${host.includes(':') && !host.startsWith('[') ? `[${host}]` : host}:${inet[1]}`;
  }
  const local = /^(?:local|unix):(.+)$/.exec(socket);
  if (local) return `unix:${local[1]}`;
  if (socket.startsWith('/')) return `unix:${socket}`;
  throw new InputError(`the milter socket "${socket}" is not an OpenDKIM socket; write inet:PORT@HOST (e.g. ${DEFAULT_SOCKET}) or local:/PATH`);
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

/** Read each selector's key to learn its type; selectors without a key are left out with a note. */
export function signingEntries(plan: Plan, notes: string[]): SigningEntry[] {
  const entries: SigningEntry[] = [];
  for (const d of plan.domains) {
    for (const sel of d.dkim) {
      const keyPath = keyPathFor(plan, d, sel);
      if (!existsSync(keyPath)) {
        notes.push(`${d.domain} selector ${sel.selector} has no key yet (${keyPath}); run \`maildns keygen\` first: it is left out`);
        continue;
      }
      // OpenDKIM's RequireSafeKeys (on by default) would refuse to sign with it.
      for (const dir of keyDirectories(plan, d, keyPath)) {
        const problem = keyDirectoryProblem(dir);
        if (problem) throw new InputError(problem, dir);
      }
      let type: DkimKeyType;
      try {
        type = publicKeyFromPem(readFileSync(keyPath, 'utf8')).type;
      } catch (err) {
        throw new InputError(`not a readable DKIM private key: ${(err as Error).message.split('\n')[0]}`, keyPath);
      }
      entries.push({ domain: d.domain, selector: sel.selector, keyPath, type, signs: isSigning(sel) });
    }
  }
  return entries;
}

export function composeKeyTable(entries: readonly SigningEntry[], planName = 'the plan'): string {
  const lines = entries.map((e) => `${e.selector}._domainkey.${e.domain} ${e.domain}:${e.selector}:${e.keyPath}`);
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

export function composeTrustedHosts(extra: readonly string[] = [], planName = 'the plan'): string {
  const hosts = [...new Set(['127.0.0.1', '::1', 'localhost', ...extra])];
  return `${header('OpenDKIM TrustedHosts: mail from these hosts is signed, not verified.', planName)}${hosts.join('\n')}\n`;
}

/** Lint an existing SigningTable's text: `*@*` lines sign every domain with one key. */
export function signingTableCatchAlls(text: string): string[] {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#') && /^\*@\*(\s|$)/.test(l));
}

export function composeOpenDkim(plan: Plan, opts: OpenDkimOptions): OpenDkimResult {
  const notes: string[] = [];
  const planName = opts.planName ?? (plan.file ? path.basename(plan.file) : 'the plan');
  const entries = signingEntries(plan, notes);
  const types = (['rsa', 'ed25519'] as const).filter((t) => entries.some((e) => e.type === t));
  const mixed = types.length > 1;
  const socket = opts.socket ?? DEFAULT_SOCKET;
  const files: OpenDkimFile[] = [];
  const instances: OpenDkimInstance[] = [];
  const trusted = composeTrustedHosts(opts.trustedHosts, planName);
  files.push({ name: 'TrustedHosts', content: trusted });

  for (const d of plan.domains) {
    const own = entries.filter((e) => e.domain === d.domain);
    if (own.length && !own.some((e) => e.signs)) {
      notes.push(`${d.domain} has no active selector: its mail will not be signed until \`maildns dkim rotate ${d.domain} --activate\``);
    }
  }

  for (const type of types) {
    const suffix = mixed ? `.${type}` : '';
    const mine = entries.filter((e) => e.type === type);
    const keyTable = `KeyTable${suffix}`;
    const signingTable = `SigningTable${suffix}`;
    const confName = mixed ? `opendkim-${type}.conf` : 'opendkim.conf';
    const sock = type === 'ed25519' && mixed ? (opts.socketEd25519 ?? secondSocket(socket)) : socket;
    postfixMilterAddress(sock); // rejects a malformed socket early
    const signatureAlgorithm = type === 'rsa' ? 'rsa-sha256' : 'ed25519-sha256';
    const perDomain = new Map<string, number>();
    for (const e of mine.filter((x) => x.signs)) perDomain.set(e.domain, (perDomain.get(e.domain) ?? 0) + 1);
    const multiple = [...perDomain.values()].some((n) => n > 1);
    const at = (name: string): string => path.join(opts.configDir, name);
    const what = mixed
      ? `opendkim.conf settings for the ${type === 'rsa' ? 'RSA' : 'Ed25519'} keys. OpenDKIM 2.11 has one SignatureAlgorithm per\n# running instance, so this plan's RSA and Ed25519 keys need two instances on two sockets.`
      : `opendkim.conf settings: put them in /etc/opendkim.conf in place of lines with the same names.`;
    const conf = [
      header(what, planName).trimEnd(),
      `Socket                  ${sock}`,
      // Verifying in both instances would add two Authentication-Results headers: the second one only signs.
      `Mode                    ${mixed && type === 'ed25519' ? 's' : 'sv'}`,
      'Canonicalization        relaxed/relaxed',
      `SignatureAlgorithm      ${signatureAlgorithm}`,
      `KeyTable                ${at(keyTable)}`,
      `SigningTable            refile:${at(signingTable)}`,
      `ExternalIgnoreList      refile:${at('TrustedHosts')}`,
      `InternalHosts           refile:${at('TrustedHosts')}`,
      'OversignHeaders         From',
      ...(multiple ? ['MultipleSignatures      yes'] : []),
      '',
    ].join('\n');
    files.push({ name: keyTable, content: composeKeyTable(mine, planName) });
    files.push({ name: signingTable, content: composeSigningTable(mine, planName) });
    files.push({ name: confName, content: conf });
    instances.push({ type, signatureAlgorithm, socket: sock, keyTable, signingTable, conf: confName });
  }

  if (instances.length) {
    const milters = instances.map((i) => postfixMilterAddress(i.socket)).join(', ');
    const chrootNote = instances.some((i) => postfixMilterAddress(i.socket).startsWith('unix:'))
      ? '# A unix socket path is seen from inside the Postfix chroot (/var/spool/postfix) when smtpd runs chrooted.\n'
      : '';
    files.push({
      name: 'postfix-main.cf',
      content:
        header('Postfix main.cf lines: hand mail to the OpenDKIM milter (add them with `postconf -e`, or paste).', planName) +
        chrootNote +
        `smtpd_milters = ${milters}\nnon_smtpd_milters = $smtpd_milters\nmilter_default_action = accept\nmilter_protocol = 6\n`,
    });
  } else {
    notes.push('no selector has a key yet: nothing to sign with; run `maildns keygen` first');
  }
  if (mixed) notes.push(`the plan has RSA and Ed25519 keys: OpenDKIM 2.11 signs with one algorithm per instance, so run two (opendkim-rsa.conf on ${instances[0]!.socket}, opendkim-ed25519.conf on ${instances[1]!.socket})`);

  const keyDirs = [...new Set(entries.map((e) => path.dirname(e.keyPath)))];
  const underKeysDir = keyDirs.every((d) => d === plan.keysDir || d.startsWith(plan.keysDir + path.sep));
  const chown = underKeysDir ? `chown -R opendkim:opendkim ${plan.keysDir}` : `chown opendkim:opendkim ${[...keyDirs, ...entries.map((e) => e.keyPath)].join(' ')}`;
  return { files, instances, entries, chown, notes };
}
