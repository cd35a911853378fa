/**
 * What the running Postfix says about itself, asked through its own tools (postconf, postmap,
 * postqueue, postsuper, postfix status) with `-c DIR` for an instance other than /etc/postfix.
 * Every command has a deadline; none changes the configuration.
 */
import { execFile } from 'node:child_process';
import { InputError } from '../errors.js';
import { parseMainCf } from '../postfix/main-cf.js';
import { shellLine } from '../steps.js';
import { DEFAULT_POSTFIX_CONFIG_DIR } from './defaults.js';

const SBIN = '/usr/sbin';
const COMMAND_TIMEOUT_MS = 15_000;

interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

function runCommand(file: string, args: readonly string[], timeoutMs = COMMAND_TIMEOUT_MS): Promise<CommandResult> {
  return new Promise((resolve) => {
    execFile(file, [...args], { timeout: timeoutMs, maxBuffer: 4 << 20 }, (err, stdout, stderr) => {
      const status = (err as { code?: unknown } | null)?.code;
      const code = err ? (typeof status === 'number' ? status : typeof status === 'string' && status === 'ENOENT' ? 127 : 1) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr || (err && !stdout ? (err as Error).message : '')) });
    });
  });
}

/** A master.cf service as `postconf -M` prints it. */
export interface MasterLine {
  service: string;
  type: string;
  private: string;
  unprivileged: string;
  chroot: string;
  wakeup: string;
  maxproc: string;
  command: string;
}

export class LivePostfix {
  readonly configDir: string;
  private readonly configArgs: string[];

  constructor(configDir = DEFAULT_POSTFIX_CONFIG_DIR) {
    this.configDir = configDir;
    // The default instance is asked as a user would ask it: without -c.
    this.configArgs = configDir === DEFAULT_POSTFIX_CONFIG_DIR ? [] : ['-c', configDir];
  }

  /** `-c DIR` for the instance, or nothing for /etc/postfix; sendmail spells it -C. */
  get sendmailConfigArgs(): string[] {
    return this.configArgs.length ? ['-C', this.configDir] : [];
  }

  /** A command for the user to run on this instance, as a shell line. */
  commandLine(tool: string, ...args: string[]): string {
    return shellLine([tool, ...this.configArgs, ...args]);
  }

  /** How the user makes this instance read its configuration again. */
  get reloadLine(): string {
    return this.configArgs.length ? this.commandLine('postfix', 'reload') : 'systemctl reload postfix';
  }

  private async tool(name: string, args: readonly string[]): Promise<CommandResult> {
    return runCommand(`${SBIN}/${name}`, [...this.configArgs, ...args]);
  }

  private async postconf(args: readonly string[]): Promise<string> {
    const r = await this.tool('postconf', args);
    if (r.code === 127) throw new InputError(`${SBIN}/postconf is missing: selftest asks the installed Postfix how it is set up (apt-get install postfix)`);
    if (r.code !== 0) throw new InputError(`postconf ${[...this.configArgs, ...args].join(' ')} failed: ${(r.stderr || r.stdout).trim().split('\n')[0]}`, this.configDir);
    return r.stdout;
  }

  /** The parameters' values in effect, $names expanded (`postconf -x`), defaults included. */
  async settings(names: readonly string[]): Promise<Map<string, string>> {
    const text = await this.postconf(['-x', ...names]);
    return new Map([...parseMainCf(text)].map(([k, v]) => [k, v.value]));
  }

  /** What main.cf sets (`postconf -n`), for lint. */
  async explicitSettings(): Promise<string> {
    return this.postconf(['-n']);
  }

  async masterServices(): Promise<MasterLine[]> {
    const text = await this.postconf(['-M']);
    return text
      .split('\n')
      .map((l) => l.trim().split(/\s+/))
      .filter((c) => c.length >= 8)
      .map(([service, type, priv, unpriv, chroot, wakeup, maxproc, ...command]) => ({
        service: service!,
        type: type!,
        private: priv!,
        unprivileged: unpriv!,
        chroot: chroot!,
        wakeup: wakeup!,
        maxproc: maxproc!,
        command: command.join(' '),
      }));
  }

  /** master.cf `-o` overrides (`postconf -P`): "service/type/name" to value. */
  async serviceParameters(): Promise<Map<string, string>> {
    const text = await this.postconf(['-P']);
    const out = new Map<string, string>();
    for (const line of text.split('\n')) {
      const m = /^(\S+\/\S+\/\S+) = (.*)$/.exec(line);
      if (m) out.set(m[1]!, m[2]!.trim());
    }
    return out;
  }

  /** The first value any of `maps` holds for `key` (`postmap -q`), or null. */
  async lookup(key: string, maps: readonly string[]): Promise<string | null> {
    if (!maps.length) return null;
    const r = await this.tool('postmap', ['-q', key, ...maps]);
    if (r.code === 0) return r.stdout.trim();
    if (r.code === 1) return null; // not found
    throw new InputError(`postmap -q ${key} ${maps.join(' ')} failed: ${(r.stderr || r.stdout).trim().split('\n')[0]}`, this.configDir);
  }

  /** `postfix status`: true when the master daemon runs. */
  async running(): Promise<boolean> {
    return (await this.tool('postfix', ['status'])).code === 0;
  }

  /** The queue as `postqueue -j` lists it; null when it cannot be read. */
  async queue(): Promise<QueueEntry[] | null> {
    const r = await this.tool('postqueue', ['-j']);
    if (r.code !== 0) return null;
    const out: QueueEntry[] = [];
    for (const line of r.stdout.split('\n')) {
      if (!line.trim()) continue;
      try {
        const j = JSON.parse(line) as { queue_name?: string; queue_id?: string; recipients?: { address?: string; delay_reason?: string }[] };
        if (!j.queue_id || !j.queue_name) continue;
        out.push({
          queueName: j.queue_name,
          queueId: j.queue_id,
          recipients: (j.recipients ?? []).map((x) => ({ address: x.address ?? '', delayReason: x.delay_reason ?? null })),
        });
      } catch {
        return null;
      }
    }
    return out;
  }

  /** `postsuper -d ID QUEUE` (maildrop included); true when it says it removed the message. */
  async remove(entry: Pick<QueueEntry, 'queueId' | 'queueName'>): Promise<boolean> {
    if (!/^[0-9A-Za-z]+$/.test(entry.queueId)) return false;
    const r = await this.tool('postsuper', ['-d', entry.queueId, entry.queueName]);
    // Its own log line may fail afterwards (a stopped postlogd): "ID: removed" is what counts.
    return new RegExp(`\\b${entry.queueId}: removed\\b`).test(r.stderr + r.stdout);
  }

  /** The command that deletes the message, for the user. */
  removeLine(entry: Pick<QueueEntry, 'queueId' | 'queueName'>): string {
    return this.commandLine('postsuper', '-d', entry.queueId, entry.queueName);
  }
}

interface QueueEntry {
  queueName: string;
  queueId: string;
  recipients: { address: string; delayReason: string | null }[];
}

/** The keys transport(5) tries for a recipient, in order. */
export function transportKeys(recipient: string): string[] {
  const at = recipient.lastIndexOf('@');
  const domain = recipient.slice(at + 1).toLowerCase();
  const keys = [recipient, domain];
  if (!domain.startsWith('[')) {
    const labels = domain.split('.');
    for (let i = 1; i < labels.length; i++) keys.push(`.${labels.slice(i).join('.')}`);
  }
  keys.push('*');
  return keys;
}

/** `smtp:[127.0.0.2]:11025` -> its parts; the port defaults to 25, an empty transport to smtp. */
export function parseTransport(value: string, recipientDomain: string): { transport: string; nexthop: string; host: string | null; port: number } {
  const colon = value.indexOf(':');
  const transport = (colon < 0 ? value : value.slice(0, colon)) || 'smtp';
  const nexthop = (colon < 0 ? '' : value.slice(colon + 1)) || recipientDomain;
  const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(nexthop);
  if (!m) return { transport, nexthop, host: null, port: 25 };
  return { transport, nexthop, host: m[1]!, port: m[2] ? Number(m[2]) : 25 };
}
