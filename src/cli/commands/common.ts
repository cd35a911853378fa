/**
 * Options and helpers shared by several commands. Every command module is loaded for `--help`, so
 * this file and the command modules import only light modules statically; the engines are imported
 * when a command runs (test/unit/cli/boundary.test.ts holds them to that).
 */
import type { Argv } from 'yargs';
import type { Plan } from '../../plan/types.js';
import { DEFAULT_PLAN_FILE } from '../../plan/types.js';
import type { DnsResolver, ResolverChoice, ServerAddress } from '../../dns/resolver.js';
import type { PolicyFetchOptions } from '../../mtasts/fetch.js';
import type { StartTlsOptions } from '../../starttls/probe.js';
import { PROBES_KEPT, SESSIONS_AT_ONCE } from '../../starttls/defaults.js';
import { RecentMap } from '../../recent.js';
import { Slots } from '../../slots.js';
import { InputError } from '../../errors.js';
import { readInputFileSync } from '../../fsutil.js';
import { UsageError } from '../exit.js';
import { takesWholeNumber } from '../flag-values.js';
import { DEFAULT_DEADLINE_MS, DEFAULT_TIMEOUT_MS } from '../../dns/defaults.js';
import { domainNameProblem, normalizeName, sendingDomainProblem } from '../../names.js';

export function withPlanOption<T>(y: Argv<T>) {
  return y.option('plan', { type: 'string', default: DEFAULT_PLAN_FILE, describe: 'plan file (YAML or JSON)', normalize: true });
}

export function withJsonOption<T>(y: Argv<T>) {
  return y.option('json', { type: 'boolean', default: false, describe: 'print the result as JSON' });
}

/** `--nameserver`, `--timeout` and `--deadline`, for every command that asks DNS. */
export function withNameserverOption<T>(y: Argv<T>) {
  return takesWholeNumber(y, 'timeout', 'deadline')
    .option('nameserver', {
      type: 'string',
      describe: 'ask this DNS server (HOST[:PORT], comma-separated for several) instead of the system resolvers; also MAILDNS_NAMESERVER',
    })
    .option('timeout', { type: 'number', default: DEFAULT_TIMEOUT_MS, describe: 'milliseconds to wait for one DNS answer (two attempts per server)' })
    .option('deadline', { type: 'number', default: DEFAULT_DEADLINE_MS, describe: 'milliseconds for all the DNS questions of the command (check and verify: of each domain); what is still unanswered then is a timeout' });
}

/** The servers a command's `--nameserver` names (nameserversByAddress), after `--timeout` and `--deadline` are checked; undefined for the system's. */
export async function nameserversFromArgs(args: { nameserver?: string | undefined; timeout: number; deadline?: number }): Promise<ServerAddress[] | undefined> {
  if (!(args.timeout >= 50 && args.timeout <= 60_000)) throw new UsageError('--timeout must be from 50 to 60000 milliseconds');
  if (args.deadline !== undefined && !(args.deadline >= 50 && args.deadline <= 3_600_000)) throw new UsageError('--deadline must be from 50 to 3600000 milliseconds');
  return nameserversByAddress(args.nameserver, '--nameserver', args.timeout);
}

/**
 * The resolver a command's `--nameserver`, `--timeout` and `--deadline` ask for; a bad value is a
 * usage error (exit 2). `extra.servers`, when a command has looked them up already, are used as they are.
 */
export async function resolverFromArgs(args: { nameserver?: string | undefined; timeout: number; deadline?: number }, extra: Omit<ResolverChoice, 'nameserver' | 'timeoutMs' | 'deadlineMs'> = {}): Promise<DnsResolver> {
  const servers = extra.servers ?? (await nameserversFromArgs(args));
  const { createResolver } = await import('../../dns/resolver.js');
  try {
    return createResolver({ ...extra, servers, timeoutMs: args.timeout, ...(args.deadline !== undefined ? { deadlineMs: args.deadline } : {}) });
  } catch (err) {
    throw new UsageError(`--nameserver: ${(err as Error).message}`);
  }
}

/**
 * The servers of `value` (a flag's, else MAILDNS_NAMESERVER when the flag is --nameserver: see
 * nameserverSetting), each named by its address (serversByAddress); undefined for the system's
 * resolvers. A bad value or a name that does not exist is a usage error; a name that could not be
 * looked up, exit 3.
 */
export async function nameserversByAddress(value: string | undefined, flag: string, timeoutMs: number): Promise<ServerAddress[] | undefined> {
  const [{ nameserverSetting, parseServerList, serversByAddress }, { DnsTemporaryError }] = await Promise.all([import('../../dns/resolver.js'), import('../../errors.js')]);
  let setting: ReturnType<typeof nameserverSetting>;
  try {
    setting = flag === '--nameserver' ? nameserverSetting(value) : value ? { servers: parseServerList(value), from: 'value' } : undefined;
  } catch (err) {
    const where = value === undefined ? 'MAILDNS_NAMESERVER' : flag;
    throw new UsageError(`${where}: ${(err as Error).message}`);
  }
  if (!setting) return undefined;
  const where = setting.from === 'value' ? flag : 'MAILDNS_NAMESERVER';
  try {
    return await serversByAddress(setting.servers, timeoutMs);
  } catch (err) {
    if (err instanceof DnsTemporaryError) throw new DnsTemporaryError(`${where} ${err.message}`);
    throw new UsageError(`${where} ${(err as Error).message}`);
  }
}

/** The plan file, read and checked; `keysDir` replaces its keys directory when given. */
export async function readPlan(file: string, keysDir?: string): Promise<Plan> {
  const [{ readPlanFile }, { withKeysDir }] = await Promise.all([import('../../plan/load.js'), import('../../plan/selectors.js')]);
  return withKeysDir(await readPlanFile(file), keysDir);
}

/** A domain name given on the command line, normalised; bad input names the flag (when there is one) and the fix. */
export function domainArg(value: string, flag?: string): string {
  const d = normalizeName(value);
  const problem = domainNameProblem(d);
  if (problem) throw new UsageError(`${flag ? `${flag} ${value}` : `the domain "${value}"`} ${problem}; give a name such as example.com`);
  if (!d.includes('.')) throw new UsageError(`${flag ? `${flag} ${value}` : `"${value}"`} is not a full domain name; give a name such as example.com`);
  return d;
}

/** A sending domain given on the command line (the rule the plan and `init` apply), normalised. */
export function sendingDomainArg(value: string, flag: string): string {
  const problem = sendingDomainProblem(value);
  if (problem) throw new UsageError(`${flag} "${value}" ${problem}`);
  return normalizeName(value);
}

/** `--ca-file`, for the commands that fetch over HTTPS (the MTA-STS policy) or try STARTTLS. */
export function withCaFileOption<T>(y: Argv<T>) {
  return y.option('ca-file', { type: 'string', normalize: true, describe: 'trust the CA certificates in this PEM file instead of the built-in roots when fetching the MTA-STS policy or judging an MX host\'s STARTTLS certificate (a private CA)' });
}

function readCaFile(file: string): string {
  let pem: string;
  try {
    // A file, bounded (a CA bundle is a few hundred kilobytes): a FIFO or /dev/zero is refused at once, naming it.
    pem = readInputFileSync(file, { maxBytes: 16 << 20, what: 'a CA file', fix: 'give a PEM file of CA certificates' }).toString('utf8');
  } catch (err) {
    if (err instanceof InputError) throw new UsageError(`--ca-file ${err.message}`);
    throw new UsageError(`--ca-file ${file}: ${(err as Error).message}`);
  }
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) throw new UsageError(`--ca-file ${file} holds no PEM certificate ("-----BEGIN CERTIFICATE-----")`);
  return pem;
}

function portFromEnv(name: string): number | undefined {
  const port = process.env[name];
  if (port === undefined || port === '') return undefined;
  const n = Number(port);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new UsageError(`${name} must be a port number (got "${port}")`);
  return n;
}

/**
 * How STARTTLS is tried: the CAs of --ca-file, the per-step deadline of --tls-timeout, and the MX
 * hosts' port, 25 unless MAILDNS_SMTP_PORT says otherwise. That variable exists for tests, whose
 * servers cannot all listen on 25; nothing else should set it.
 */
export function startTlsFromArgs(args: { caFile?: string | undefined; tlsTimeout?: number | undefined }): StartTlsOptions {
  const step = args.tlsTimeout;
  if (step !== undefined && !(step >= 100 && step <= 600_000)) throw new UsageError('--tls-timeout must be from 100 to 600000 milliseconds');
  const port = portFromEnv('MAILDNS_SMTP_PORT');
  // A run's probes, shared by its domains (StartTlsOptions.probes): one connection per MX host and
  // address; and its bound on the sessions open at once.
  return { ...(step !== undefined ? { stepTimeoutMs: step } : {}), ...(args.caFile !== undefined ? { ca: readCaFile(args.caFile) } : {}), ...(port !== undefined ? { port } : {}), probes: new RecentMap(PROBES_KEPT), sessions: new Slots(SESSIONS_AT_ONCE) };
}

/**
 * How the MTA-STS policy is fetched: the CAs of --ca-file and the policy host's port, 443 unless
 * MAILDNS_MTA_STS_PORT says otherwise. That variable exists for tests, whose HTTPS server cannot
 * listen on 443; nothing else should set it.
 */
export function policyFetchFromArgs(args: { caFile?: string | undefined }): PolicyFetchOptions {
  const out: PolicyFetchOptions = {};
  if (args.caFile !== undefined) out.ca = readCaFile(args.caFile);
  const port = portFromEnv('MAILDNS_MTA_STS_PORT');
  if (port !== undefined) out.port = port;
  return out;
}

/** What the CLI says when an input it reads is a terminal: what to type there, and how to end it. */
export function sayWhenReadingTerminal(what: string): (where: string) => void {
  return (where) => process.stderr.write(`reading ${what} from the terminal (${where}): type or paste it, then press Ctrl-D on a line of its own\n`);
}
