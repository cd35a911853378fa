/** `maildns check`: plan-less audit of SPF, DMARC, DKIM and MX for any number of domains (cron, CI). */
import { DEFAULT_STEP_TIMEOUT_MS } from '../../starttls/defaults.js';
import type { CommandModule } from 'yargs';
import { COMMANDS } from '../registry.js';
import type { Outcome, Severity } from '../../findings.js';
import type { DomainSource } from '../../check/input.js';
import { BULK_TRANSPORTS, DEFAULT_BULK_TRANSPORT, DEFAULT_CONCURRENCY, bulkResolverSettings, type BulkTransport } from '../../check/settings.js';
import { CHECK_FORMATS, type CheckFormat } from '../render/formats.js';
import { exitCodeOf, UsageError } from '../exit.js';
import { boundOldGenerationGrowth, capYoungGeneration } from '../memory.js';
import { tierUpLaterForShortRun } from '../tiering.js';
import { useColor } from '../render/output.js';
import { nameserversByAddress, nameserversFromArgs, policyFetchFromArgs, resolverFromArgs, sayWhenReadingTerminal, startTlsFromArgs, withCaFileOption, withNameserverOption } from './common.js';
import { isatty } from 'node:tty';
import { dkimSelectorProblem } from '../../names.js';
import { takesWholeNumber } from '../flag-values.js';
import type { PolicyFetchOptions } from '../../mtasts/fetch.js';
import type { StartTlsOptions } from '../../starttls/probe.js';
import type { DnssecResolvers } from '../../dnssec/evaluate.js';
import type { ServerAddress } from '../../dns/wire.js';

type DnssecCheckResolvers = DnssecResolvers & { queriesSent(): number };

/**
 * The share of --rate a resolver gets: with --dnssec its two resolvers ask too, most often the same
 * servers, so the other checks get half and each of them a quarter, and together they keep to it.
 */
function rateShare(args: Args, resolver: 'checks' | 'dnssec'): { maxQueriesPerSecond?: number } {
  if (args.rate === undefined) return {};
  const share = resolver === 'dnssec' ? 0.25 : args.dnssec ? 0.5 : 1;
  return { maxQueriesPerSecond: Math.max(1, args.rate * share) };
}

/**
 * The resolvers of --dnssec: the validating resolver --validating-resolver names, else the ones the
 * other checks ask (--nameserver, MAILDNS_NAMESERVER, the system's), with the same timeout, deadline
 * and bulk settings.
 */
async function dnssecResolversFromArgs(args: Args, nameservers: ServerAddress[] | undefined): Promise<DnssecCheckResolvers> {
  const { createDnssecResolvers } = await import('../../dnssec/evaluate.js');
  const servers = args.validatingResolver !== undefined ? await nameserversByAddress(args.validatingResolver, '--validating-resolver', args.timeout) : nameservers;
  try {
    return createDnssecResolvers({
      servers,
      timeoutMs: args.timeout,
      ...(args.deadline !== undefined ? { deadlineMs: args.deadline } : {}),
      ...bulkResolverSettings(args.concurrency, args.transport),
      ...rateShare(args, 'dnssec'),
    });
  } catch (err) {
    throw new UsageError(`${args.validatingResolver !== undefined ? '--validating-resolver' : '--nameserver'}: ${(err as Error).message}`);
  }
}

interface Args {
  domains: string[];
  /** One value, or several when the flag repeats. */
  domainsFile: string | string[];
  selectors: string[];
  format: CheckFormat;
  json: boolean;
  concurrency: number;
  failOn: Severity;
  nameserver?: string;
  timeout: number;
  deadline?: number;
  rate?: number;
  transport: BulkTransport;
  quiet: boolean;
  deep: boolean;
  mtaStsPolicy: boolean;
  caFile?: string;
  rdns: boolean;
  tls: boolean;
  tlsTimeout?: number;
  dnssec: boolean;
  validatingResolver?: string;
  profile?: string;
  shard?: string;
  output?: string;
  history?: string;
  changes: boolean;
  historyWait: number;
}

export const checkCommand: CommandModule<object, Args> = {
  ...COMMANDS['check'],
  builder: (y) =>
    withCaFileOption(withNameserverOption(
      // --rate is not among them: 2.5 queries per second is a rate.
      takesWholeNumber(y, 'history-wait', 'concurrency', 'tls-timeout')
        .positional('domains', { type: 'string', array: true, default: [], describe: 'domains to check' })
        // One value per flag (nargs 1): an array option would drop the "-" that means standard input.
        .option('domains-file', { type: 'string', nargs: 1, default: [] as string[], describe: 'file with one domain per line (# comments allowed; - for stdin); may repeat' })
        .option('selectors', { alias: 's', type: 'string', array: true, nargs: 1, default: [], describe: 'DKIM selectors to check, comma-separated (e.g. mail,google)' })
        .option('format', { alias: 'f', type: 'string', choices: CHECK_FORMATS, default: 'text' as const, describe: 'report format: ndjson is one line per domain as it is done, html one self-contained page' })
        .option('output', { alias: 'o', type: 'string', describe: 'write the report to FILE, atomically (it appears only when complete), instead of standard output' })
        .option('shard', { type: 'string', describe: 'check only part I of N of the list (0 <= I < N; a stable hash of each name picks its part), for N workers over one list' })
        .option('history', { type: 'string', describe: 'record the run in this SQLite file (created when missing); shards may share one' })
        .option('changes', { type: 'boolean', default: false, describe: 'with --history: print only what changed since each domain\'s last recorded run; exit 1 when anything got worse' })
        .option('history-wait', { type: 'number', default: 10_000, describe: 'milliseconds to wait for another run\'s write to the history file before giving up' })
        .option('json', { type: 'boolean', default: false, describe: 'same as --format json' })
        .option('concurrency', { alias: 'j', type: 'number', default: DEFAULT_CONCURRENCY, describe: 'domains checked at once' })
        .option('fail-on', { type: 'string', choices: ['error', 'warning'] as const, default: 'error' as const, describe: 'lowest severity that makes a domain fail (exit 1)' })
        .option('rate', { type: 'number', describe: 'most DNS queries per second (public resolvers throttle heavy clients: try --rate 500 with 8.8.8.8 or 1.1.1.1), --dnssec\'s included; unlimited by default' })
        .option('transport', { type: 'string', choices: BULK_TRANSPORTS, default: DEFAULT_BULK_TRANSPORT, describe: 'how the queries travel: auto asks over UDP until more than a few are in flight at once, then pipelines them over one TCP connection per server (RFC 7766; far less CPU); tcp pipelines from the first (for a path that carries no UDP); udp sends a datagram each over shared sockets. A server that takes no TCP is asked over UDP' })
        .option('deep', { type: 'boolean', default: false, describe: 'also look for SPF records published where nothing points to them (_spf.DOMAIN and the like; 11 more queries per domain)' })
        .option('mta-sts-policy', { type: 'boolean', default: false, describe: 'also fetch the MTA-STS policy (HTTPS, mta-sts.DOMAIN) of each domain that publishes an _mta-sts record, and check it against the MX hosts' })
        .option('rdns', { type: 'boolean', default: false, describe: 'also check the reverse DNS of the sending addresses (SPF ip4/ip6 single hosts, MX hosts): a PTR record that resolves back to the address' })
        .option('tls', { type: 'boolean', default: false, describe: 'also try STARTTLS at every address of each MX host (port 25): greeting, EHLO, STARTTLS, the handshake; the TLS version, and whether the certificate is trusted, names the host and meets the MTA-STS policy (with --mta-sts-policy)' })
        .option('tls-timeout', { type: 'number', describe: `with --tls: milliseconds for each step of the STARTTLS check (connect, greeting, EHLO, STARTTLS, handshake; default ${DEFAULT_STEP_TIMEOUT_MS}); a host that refuses TLS 1.2 and 1.3 gets a second session, with five more steps, so a host can take ten times this` })
        .option('dnssec', { type: 'boolean', default: false, describe: 'also check DNSSEC (DNSKEY at the zone apex, a matching DS at the parent, AD from a validating resolver) and DANE (the TLSA records of each MX host at _25._tcp.HOST; with --tls, whether the certificates match them)' })
        .option('validating-resolver', { type: 'string', describe: 'with --dnssec: the validating resolver asked for AD (HOST[:PORT], comma-separated for several); by default the servers of --nameserver, else MAILDNS_NAMESERVER, else the system resolvers' })
        .option('profile', { type: 'string', choices: ['bulk-senders'] as const, describe: 'report as the rules of a sender profile instead: bulk-senders (Google, Yahoo, Microsoft) with each rule met, not met, unknown (DNS failed) or not checkable here; turns on --rdns' })
        .option('quiet', { alias: 'q', type: 'boolean', default: false, describe: 'text format: list only domains that fail or could not be checked' }),
    ))
      .example('$0 check example.com example.org -s mail', 'audit two domains, DKIM selector "mail"')
      .example('$0 check --domains-file domains.txt --format junit > report.xml', 'nightly CI run: one JUnit test case per domain')
      .example('$0 check --domains-file domains.txt --json --fail-on warning', 'machine-readable; warnings fail too')
      .example('$0 check --domains-file domains.txt --nameserver 1.1.1.1 --rate 500', 'through a public resolver, gently')
      .example('$0 check example.com -s mail --profile bulk-senders', 'the Google, Yahoo and Microsoft bulk-sender rules that DNS can show')
      .example('$0 check example.com --tls --mta-sts-policy', 'also STARTTLS at every address of each MX host, judged against the MTA-STS policy')
      .example('$0 check example.com --mta-sts-policy --rdns', 'also the MTA-STS policy over HTTPS and the PTR records of the sending hosts')
      .example('$0 check example.com --dnssec --tls --validating-resolver 127.0.0.1', 'also DNSSEC as a local validating resolver sees it, and DANE: TLSA records matched against each MX host\'s certificate')
      .example('$0 check --domains-file domains.txt --shard 2/8 --format ndjson -o shard-2.ndjson', 'worker 2 of 8; then `maildns report merge shard-*.ndjson`')
      .example('$0 check --domains-file domains.txt --history checks.db --changes', 'nightly: print what changed since the last run; exit 1 if anything got worse')
      .example('$0 check --domains-file domains.txt --history checks.db --format html -o report.html', 'a page to look at, with the changes since the last run')
      .epilogue(
        'Exit codes: 0 every domain passed; 1 a domain has a finding at or above --fail-on, or could not be fully ' +
          'checked because DNS failed for it (a timeout is never reported as a missing record); 2 bad input; ' +
          '3 DNS failed for every domain (nothing could be checked: look at the network or --nameserver). ' +
          'With --profile: 0 every rule that can be checked is met, 1 a rule is not met, 3 none failed but DNS left a rule unknown. With --changes: ' +
          '0 nothing got worse, 1 something did, 3 as before. Stopped by SIGINT or SIGTERM: 130 or 143, and no report or run is left half-written.',
      ) as never,
  handler: async (args) => {
    // Given twice (a wrapper's default, then the caller's): the last one counts.
    const format: CheckFormat = args.json ? 'json' : ([args.format].flat().at(-1) as CheckFormat);
    const selectors = [...new Set(args.selectors.flatMap((s) => String(s).split(',')).map((s) => s.trim().toLowerCase()).filter(Boolean))];
    // `-s ,` would check no selector at all, as if the flag were not there.
    if (args.selectors.length > 0 && selectors.length === 0) throw new UsageError(`--selectors ${JSON.stringify(args.selectors.join(' '))} names no DKIM selector; give names such as mail,google`);
    for (const s of selectors) {
      const problem = dkimSelectorProblem(s);
      if (problem) throw new UsageError(`--selectors: "${s}" ${problem}`);
    }
    if (!(args.concurrency >= 1 && args.concurrency <= 1024)) throw new UsageError('--concurrency must be a whole number from 1 to 1024');
    if (args.changes && args.history === undefined) throw new UsageError('--changes needs --history FILE: the changes are those since the last run recorded there');
    if (args.changes && format !== 'text' && format !== 'json') throw new UsageError('--changes prints text or json; leave out --format, or use --format json');
    if (!(args.historyWait >= 0 && args.historyWait <= 3_600_000)) throw new UsageError('--history-wait must be from 0 to 3600000 milliseconds');
    const [{ domainSource }, { runChecks }, { progress }, { selectNames, parseShard }] = await Promise.all([
      import('../../check/input.js'),
      import('../../check/run.js'),
      import('../render/progress.js'),
      import('../../check/shard.js'),
    ]);
    let shard: ReturnType<typeof parseShard> | undefined;
    try {
      shard = args.shard === undefined ? undefined : parseShard(args.shard);
    } catch (err) {
      throw new UsageError(`--shard: ${(err as Error).message}`);
    }
    const files = ([] as string[]).concat(args.domainsFile).map(String);
    if (files.includes('-') && isatty(0)) sayWhenReadingTerminal('the domains to check, one a line,')('<stdin>');
    const source = await domainSource(args.domains.map(String), files);
    if (source.count === 0 && files.length === 0) throw new UsageError('name at least one domain, or pass --domains-file FILE');
    // The list was given, and read: what is wrong is in it.
    if (source.count === 0) throw new UsageError(`${files.length === 1 ? 'names' : 'name'} no domain (only blank lines and # comments); write one domain per line, such as example.com`, files.map((f) => (f === '-' ? '<stdin>' : f)).join(', '));
    if (source.duplicates) process.stderr.write(`note: ${source.duplicates} name${source.duplicates === 1 ? ' was' : 's were'} given more than once; each domain is checked once\n`);
    if (args.rate !== undefined && !(args.rate >= 1 && args.rate <= 1_000_000)) throw new UsageError('--rate must be from 1 to 1000000 queries per second');
    if (args.caFile !== undefined && !args.mtaStsPolicy && !args.tls) throw new UsageError('--ca-file goes with --mta-sts-policy or --tls (it is used only to fetch the policy and to judge STARTTLS certificates)');
    if (args.tlsTimeout !== undefined && !args.tls) throw new UsageError('--tls-timeout goes with --tls (it bounds each step of the STARTTLS check)');
    if (args.validatingResolver !== undefined && !args.dnssec) throw new UsageError('--validating-resolver goes with --dnssec (it is the resolver the DNSSEC check asks for AD)');
    if (args.profile !== undefined && format === 'junit') throw new UsageError('--profile reports in text or json, not junit');
    const policyFetch = args.mtaStsPolicy ? policyFetchFromArgs(args) : false;
    const starttls = args.tls ? startTlsFromArgs(args) : false;
    // Looked up once (a --nameserver given by name), for the checks and the DNSSEC resolvers alike.
    const servers = await nameserversFromArgs(args);
    const dnssec = args.dnssec ? await dnssecResolversFromArgs(args, servers) : false;
    capYoungGeneration();
    if (args.profile !== undefined) return runProfile(args, format, source, selectors, { policyFetch, starttls, dnssec, servers });
    const resolver = await resolverFromArgs(args, { servers, ...bulkResolverSettings(args.concurrency, args.transport), ...rateShare(args, 'checks') });
    const { runCheckReport } = await import('../check-report.js');
    const bar = progress(shard ? null : source.count);
    // A shard checks its share of the list (the hash spreads the names evenly), not the whole list.
    tierUpLaterForShortRun(shard ? Math.ceil(source.count / shard.count) : source.count);
    const result = await runCheckReport({
      format,
      outputFile: args.output,
      failOn: args.failOn,
      selectors,
      quiet: args.quiet,
      ...(shard ? { shard } : {}),
      ...(args.history !== undefined ? { history: { file: args.history, changesOnly: args.changes, busyTimeoutMs: args.historyWait } } : {}),
      run: (onResult) =>
        runChecks(selectNames(source.names(), shard), {
          resolver,
          selectors,
          failOn: args.failOn,
          deep: args.deep,
          mtaStsPolicy: policyFetch,
          rdns: args.rdns,
          tls: starttls,
          dnssec,
          concurrency: args.concurrency,
          onResult: async (r) => {
            bar.tick(r.status !== 'pass');
            await onResult(r);
          },
        }),
      queries: () => resolver.queriesSent + (dnssec ? dnssec.queriesSent() : 0),
      done: () => bar.done(),
    });
    process.exitCode = result.exitCode;
  },
};

/** `check --profile`: the same audit, each domain reported as the profile's rules. */
async function runProfile(args: Args, format: CheckFormat, source: DomainSource, selectors: string[], extra: { policyFetch: PolicyFetchOptions | false; starttls: StartTlsOptions | false; dnssec: DnssecCheckResolvers | false; servers: ServerAddress[] | undefined }): Promise<void> {
  const [{ runChecks }, { bulkSenderDomainProfile, combinedOutcome }, { profileJsonReporter, profileTextReporter }, { progress }] = await Promise.all([
    import('../../check/run.js'),
    import('../../profiles/bulk-senders.js'),
    import('../render/profile.js'),
    import('../render/progress.js'),
  ]);
  const resolver = await resolverFromArgs(args, { servers: extra.servers, ...bulkResolverSettings(args.concurrency, args.transport), ...rateShare(args, 'checks') });
  const out = process.stdout;
  const reporter = format === 'json' ? profileJsonReporter(out, args.profile!) : profileTextReporter(out, { color: useColor(out) });
  const bar = progress(source.count);
  tierUpLaterForShortRun(source.count);
  const outcomes: Outcome[] = [];
  boundOldGenerationGrowth(); // as runCheckReport does
  await reporter.begin();
  const summary = await runChecks(source.names(), {
    resolver,
    selectors,
    failOn: args.failOn,
    deep: args.deep,
    mtaStsPolicy: extra.policyFetch,
    tls: extra.starttls,
    dnssec: extra.dnssec,
    // The profile's reverse DNS rule needs the PTR records of the sending addresses.
    rdns: true,
    concurrency: args.concurrency,
    onResult: async (r) => {
      const p = bulkSenderDomainProfile(r);
      outcomes.push(p.outcome);
      bar.tick(p.outcome !== 'ok');
      await reporter.result(p);
    },
  });
  bar.done();
  const outcome = combinedOutcome(outcomes);
  const exitCode = exitCodeOf(outcome);
  const tally = (o: Outcome): number => outcomes.filter((x) => x === o).length;
  await reporter.end({ domains: outcomes.length, ok: tally('ok'), problems: tally('problems'), unknown: tally('dns-unavailable'), ms: summary.ms, outcome, exitCode });
  process.exitCode = exitCode;
}
