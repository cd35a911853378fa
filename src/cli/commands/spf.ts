/**
 * `maildns spf <domain>`: the include tree with lookup counts and findings.
 * `maildns spf <domain> --ip ADDR`: check_host() for one client address.
 * `maildns spf compose`: a record from flags. `maildns spf flatten <domain>`: includes resolved.
 */
import type { CommandModule } from 'yargs';
import { COMMANDS } from '../registry.js';
import { EXIT, UsageError } from '../exit.js';
import { hasFindingAtLeast, printable } from '../../findings.js';
import { normalizeName } from '../../names.js';
import { printJson } from '../render/output.js';
import { renderComparison, renderFlatten, renderSpfReport, renderVerdict } from '../render/spf.js';
import type { SpfAll } from '../../plan/types.js';
import { parseAllTerm, type SpfComposeInput } from '../../spf/compose.js';
import type { FlattenOptions, FlattenResult } from '../../spf/flatten.js';
import { SPF_LOOKUP_LIMIT } from '../../spf/parse.js';
import { domainArg, sendingDomainArg, withJsonOption, resolverFromArgs, withNameserverOption } from './common.js';
import { spfMergeCommand } from './spf-merge.js';
import { bareFlagMeansSomething, emptyValueMeansSomething, takesWholeNumber } from '../flag-values.js';


interface CheckArgs {
  domain: string;
  nameserver?: string;
  timeout: number;
  json: boolean;
  ip?: string;
  sender?: string;
  helo?: string;
}

const checkCommand: CommandModule<object, CheckArgs> = {
  command: '$0 <domain>',
  describe: 'check the SPF a domain publishes (tree, lookup counts, findings), or evaluate it for one address with --ip',
  builder: (y) =>
    emptyValueMeansSomething(withJsonOption(withNameserverOption(y)), 'sender')
      .positional('domain', { type: 'string', demandOption: true, describe: 'the domain to check' })
      .option('ip', { type: 'string', describe: 'evaluate check_host() for this client address instead (RFC 7208)' })
      .option('sender', { type: 'string', describe: 'MAIL FROM address for --ip (default postmaster@DOMAIN; \'\' for the null sender of a bounce)' })
      .option('helo', { type: 'string', describe: 'HELO/EHLO name for --ip (default DOMAIN)' })
      .example('$0 spf example.com', 'include tree with the lookup count of each branch, and findings')
      .example('$0 spf example.com --ip 192.0.2.10', 'prints pass, fail, softfail, neutral, none, permerror or temperror first')
      .example('$0 spf example.com --nameserver 127.0.0.1:5300 --json', 'ask one server, answer as JSON')
      .epilogue(
        'Exit codes: check: 0 no errors (warnings alone are 0), 1 errors found, 3 DNS could not be asked.\n' +
          '--ip: 0 pass, 1 any other result (fail, softfail, neutral, none, permerror), 3 temperror.',
      ) as never,
  handler: async (args) => {
    const resolver = await resolverFromArgs(args);
    if (args.ip !== undefined) {
      const [{ parseIp }, { checkHost }] = await Promise.all([import('../../spf/ip.js'), import('../../spf/evaluate.js')]);
      // check_host() takes the name as a mail server got it: one that is no FQDN is "none" (RFC 7208 §4.3), not bad input.
      const domain = normalizeName(args.domain);
      if (!parseIp(args.ip)) throw new UsageError(`--ip ${args.ip} is not an IPv4 or IPv6 address`);
      if (args.sender !== undefined && !args.sender.includes('@') && args.sender !== '') throw new UsageError(`--sender ${args.sender} is not an address (write local@domain)`);
      const verdict = await checkHost(resolver, { ip: args.ip, domain, sender: args.sender ?? `postmaster@${domain}`, helo: args.helo ?? domain });
      if (args.json) printJson(verdict);
      else process.stdout.write(`${renderVerdict(verdict)}\n`);
      process.exitCode = verdict.result === 'pass' ? EXIT.ok : verdict.result === 'temperror' ? EXIT.dnsUnavailable : EXIT.problems;
      return;
    }
    const { validateSpf } = await import('../../spf/validate.js');
    const domain = domainArg(args.domain);
    const report = await validateSpf(resolver, domain);
    if (args.json) printJson(report);
    else process.stdout.write(`${renderSpfReport(report)}\n`);
    process.exitCode = report.dnsUnavailable ? EXIT.dnsUnavailable : hasFindingAtLeast(report.findings, 'error') ? EXIT.problems : EXIT.ok;
  },
};

/** The composer's input as flags; `--all` is checked before it becomes an SpfAll. */
interface ComposeArgs extends Omit<SpfComposeInput, 'all'> {
  all?: string;
  domain?: string;
  json: boolean;
}

const composeCommand: CommandModule<object, ComposeArgs> = {
  command: 'compose',
  describe: 'compose an SPF record from flags, without a plan',
  builder: (y) =>
    bareFlagMeansSomething(withJsonOption(y), 'a', 'mx')
      .option('ip4', { type: 'string', array: true, nargs: 1, describe: 'IPv4 address or network (repeatable)' })
      .option('ip6', { type: 'string', array: true, nargs: 1, describe: 'IPv6 address or network (repeatable)' })
      .option('a', { type: 'string', array: true, describe: 'a:HOST (repeatable); --a alone or --a @ for the domain itself' })
      .option('mx', { type: 'string', array: true, describe: 'mx:DOMAIN (repeatable); --mx alone or --mx @ for the domain\'s own MX' })
      .option('include', { type: 'string', array: true, nargs: 1, describe: 'include:DOMAIN (repeatable), e.g. a mail provider' })
      .option('exists', { type: 'string', array: true, nargs: 1, describe: 'exists:DOMAIN-SPEC (repeatable, macros allowed)' })
      .option('redirect', { type: 'string', describe: 'redirect=DOMAIN: use that domain\'s policy (no all is written)' })
      .option('exp', { type: 'string', describe: 'exp=DOMAIN: where receivers read the explanation of a fail' })
      .option('all', { type: 'string', nargs: 1, describe: 'the final all: -all (default), ~all, ?all, +all' })
      .option('domain', { type: 'string', describe: 'print the record as a zone-file line for this domain' })
      .example('$0 spf compose --mx --include _spf.google.com --all ~all', 'v=spf1 mx include:_spf.google.com ~all')
      .example('$0 spf compose --ip4 192.0.2.0/24 --ip6 2001:db8::/32 --domain example.com', 'a zone-file line') as never,
  handler: async (args) => {
    const [{ composeSpfFrom }, { formatSyntaxError, ownLookupCount, parseSpf }, { splitCharacterStrings, zoneTxtLine }, { spfNetworkProblem }] = await Promise.all([
      import('../../spf/compose.js'),
      import('../../spf/parse.js'),
      import('../../txt.js'),
      import('../../spf/ip.js'),
    ]);
    let all: SpfAll | undefined;
    if (args.all !== undefined) {
      const parsedAll = parseAllTerm(args.all);
      if (!parsedAll) throw new UsageError(`--all ${args.all} is not one of -all, ~all, ?all, +all`);
      all = parsedAll;
    }
    if (args.redirect && args.all !== undefined) throw new UsageError('--redirect and --all do not go together: receivers ignore redirect= when the record has all');
    for (const [family, list] of [[4, args.ip4], [6, args.ip6]] as const) {
      for (const net of (list ?? []).map(String)) {
        const problem = spfNetworkProblem(net, family);
        if (problem) throw new UsageError(`--ip${family} ${problem}`);
      }
    }
    const zoneName = args.domain ? sendingDomainArg(args.domain, '--domain') : undefined;
    const record = composeSpfFrom({
      ...(args.ip4 ? { ip4: args.ip4.map(String) } : {}),
      ...(args.ip6 ? { ip6: args.ip6.map(String) } : {}),
      ...(args.a ? { a: args.a.map(String) } : {}),
      ...(args.mx ? { mx: args.mx.map(String) } : {}),
      ...(args.include ? { include: args.include.map(String) } : {}),
      ...(args.exists ? { exists: args.exists.map(String) } : {}),
      ...(args.redirect ? { redirect: args.redirect } : {}),
      ...(args.exp ? { exp: args.exp } : {}),
      ...(all ? { all } : {}),
    });
    const parsed = parseSpf(record);
    if (parsed.errors.length) {
      const e = parsed.errors[0]!;
      throw new UsageError(`the composed record is not valid SPF, ${formatSyntaxError(e)}; correct that flag's value`);
    }
    const lookups = ownLookupCount(parsed);
    const strings = splitCharacterStrings(record);
    const notes: string[] = [];
    if (strings.length > 1) notes.push(`the record is ${Buffer.byteLength(record)} octets: it must be published as ${strings.length} character-strings (the zone line below does that)`);
    // More than the limit before any include is counted: every receiver returns permerror (RFC 7208 §4.6.4).
    const overLimit = lookups > SPF_LOOKUP_LIMIT ? `the record has ${lookups} DNS-querying terms before counting what the includes need; receivers stop at ${SPF_LOOKUP_LIMIT} and return permerror` : null;
    if (all === '+all') notes.push('+all lets every address on the Internet pass SPF for the domain');
    if (args.json) {
      printJson({ record, strings: strings.map((b) => b.toString('utf8')), lookups, notes, problems: overLimit ? [overLimit] : [] });
      if (overLimit) process.exitCode = EXIT.problems;
      return;
    }
    if (zoneName) process.stdout.write(`${zoneTxtLine(zoneName, record)}\n`);
    else process.stdout.write(`${record}\n`);
    for (const n of notes) process.stderr.write(`note: ${n}\n`);
    if (overLimit) {
      process.stderr.write(`error: ${overLimit}\n`);
      process.exitCode = EXIT.problems;
    }
  },
};

interface FlattenArgs {
  domain: string;
  nameserver?: string;
  timeout: number;
  json: boolean;
  keep?: string[];
  maxLength?: number;
  prefix?: string;
  snapshot?: string;
  compare?: string;
  update: boolean;
}

/** --compare FILE: flatten the snapshot's source record again, with its options, and compare. */
async function compareFlatten(args: FlattenArgs, domain: string, file: string): Promise<void> {
  if (args.keep !== undefined || args.maxLength !== undefined || args.prefix !== undefined) {
    throw new UsageError(`--compare reuses the --keep, --max-length and --prefix saved in ${file}; drop them, or make a new snapshot with them (--snapshot)`);
  }
  const [{ flattenSpf, FlattenError }, { compareSnapshot, makeSnapshot, readSnapshot, writeSnapshot }] = await Promise.all([import('../../spf/flatten.js'), import('../../spf/snapshot.js')]);
  const old = readSnapshot(file);
  if (normalizeName(old.domain) !== domain) throw new UsageError(`${file} holds the snapshot of ${old.domain}, not ${domain}; give ${old.domain}, or the file made for ${domain}`);
  const opts: FlattenOptions = { record: old.original, keep: old.options.keep, maxLength: old.options.maxLength, chainPrefix: old.options.prefix };
  let result: FlattenResult;
  try {
    result = await flattenSpf(await resolverFromArgs(args), domain, opts);
  } catch (err) {
    if (!(err instanceof FlattenError)) throw err;
    const message = err.temporary
      ? `${err.message}; nothing was compared and ${file} is unchanged`
      : `flattening the record saved in ${file} fails now: ${err.message}`;
    if (args.json) printJson({ domain, snapshot: file, error: message, temporary: err.temporary });
    else process.stderr.write(`maildns: ${printable(message)}\n`);
    process.exitCode = err.temporary ? EXIT.dnsUnavailable : EXIT.problems;
    return;
  }
  const current = makeSnapshot(result, opts);
  const cmp = compareSnapshot(old, current);
  const updated = args.update && (cmp.verdict === 'changed' || cmp.dependencies.length > 0);
  if (updated) writeSnapshot(file, current);
  if (args.json) printJson({ ...cmp, snapshot: file, updated });
  else process.stdout.write(`${renderComparison(cmp, file, result, updated)}\n`);
  process.exitCode = cmp.verdict === 'changed' ? EXIT.problems : EXIT.ok;
}

const flattenCommand: CommandModule<object, FlattenArgs> = {
  command: 'flatten <domain>',
  describe: 'resolve includes into ip4/ip6 terms, within 10 lookups and 255-octet strings (a chain of records when needed)',
  builder: (y) =>
    withJsonOption(withNameserverOption(takesWholeNumber(y, 'max-length')))
      .positional('domain', { type: 'string', demandOption: true, describe: 'the domain whose record is flattened' })
      .option('keep', { type: 'string', array: true, nargs: 1, describe: 'include targets to leave as includes (repeatable)' })
      .option('max-length', { type: 'number', describe: 'longest record text in octets (default 255 = one character-string)' })
      .option('prefix', { type: 'string', describe: 'chain records are named PREFIX1.DOMAIN, PREFIX2.DOMAIN, … (default _spf)' })
      .option('snapshot', { type: 'string', describe: 'also save the flattening (source record, result, each provider\'s ranges) to this JSON file, atomically' })
      .option('compare', { type: 'string', describe: 'flatten the source record saved in this snapshot again and report what each provider added or removed' })
      .option('update', { type: 'boolean', default: false, describe: 'with --compare: save the new state to the snapshot when anything differs' })
      .example('$0 spf flatten example.com', 'zone-file lines to publish, and what a provider change would break')
      .example('$0 spf flatten example.com --keep _spf.google.com', 'flatten everything except Google\'s include')
      .example('$0 spf flatten example.com --snapshot /var/lib/maildns/example.com.json', 'publish the output, and keep the snapshot for cron')
      .example('$0 spf flatten example.com --compare /var/lib/maildns/example.com.json', 'nightly: exit 0 when nothing moved; exit 1 with the diff and the records to publish')
      .epilogue(
        'Exit codes: 0 done (with --compare: nothing moved upstream), 1 limits still exceeded or the flattening fails ' +
          '(with --compare: a provider\'s ranges changed: publish the records shown), 2 bad input (a missing, foreign or ' +
          'damaged snapshot file), 3 DNS could not be asked (never reported as removed ranges).\n' +
          '--compare re-flattens the record saved in the snapshot, so it keeps working after you publish the flattened one.',
      ) as never,
  handler: async (args) => {
    const domain = domainArg(args.domain);
    for (const [flag, v] of [['--snapshot', args.snapshot], ['--compare', args.compare]] as const) {
      if (v !== undefined && v.trim() === '') throw new UsageError(`${flag} needs a file name, e.g. ${flag} /var/lib/maildns/${domain}.json`);
    }
    if (args.snapshot !== undefined && args.compare !== undefined) throw new UsageError('--snapshot and --compare do not go together; --compare FILE --update saves the new state');
    if (args.update && args.compare === undefined) throw new UsageError('--update works with --compare FILE only');
    if (args.compare !== undefined) return compareFlatten(args, domain, args.compare);
    const maxLength = args.maxLength ?? 255;
    if (!(maxLength >= 64 && maxLength <= 4000)) throw new UsageError(`--max-length ${maxLength} is out of range; use 64 to 4000 (255 fits every provider)`);
    const [{ flattenSpf, FlattenError }, { checkSnapshotTarget, makeSnapshot, writeSnapshot }] = await Promise.all([import('../../spf/flatten.js'), import('../../spf/snapshot.js')]);
    if (args.snapshot !== undefined) checkSnapshotTarget(args.snapshot, domain);
    const resolver = await resolverFromArgs(args);
    const opts: FlattenOptions = { maxLength, chainPrefix: args.prefix ?? '_spf', ...(args.keep ? { keep: args.keep.map(String) } : {}) };
    let result: FlattenResult;
    try {
      result = await flattenSpf(resolver, domain, opts);
    } catch (err) {
      if (!(err instanceof FlattenError)) throw err;
      if (args.json) printJson({ domain, error: err.message, temporary: err.temporary });
      // A flattening error quotes the records it met.
      else process.stderr.write(`maildns: ${printable(err.message)}\n`);
      process.exitCode = err.temporary ? EXIT.dnsUnavailable : EXIT.problems;
      return;
    }
    if (args.snapshot !== undefined) {
      writeSnapshot(args.snapshot, makeSnapshot(result, opts));
      process.stderr.write(`maildns: snapshot saved to ${args.snapshot}; check it from cron with --compare ${args.snapshot}\n`);
      if (result.dependencies.length === 0) {
        process.stderr.write(`note: nothing was copied from a provider, so the snapshot has nothing to watch; if ${domain} already publishes the flattened record, keep the snapshot made from the original one\n`);
      }
    }
    if (args.json) printJson(result);
    else process.stdout.write(`${renderFlatten(result)}\n`);
    const tooBig = result.lookups > SPF_LOOKUP_LIMIT || result.records.some((r) => Buffer.byteLength(r.value) > maxLength);
    process.exitCode = tooBig ? EXIT.problems : EXIT.ok;
  },
};

export const spfCommand: CommandModule<object, object> = {
  ...COMMANDS['spf'],
  builder: (y) =>
    y
      .command(composeCommand as unknown as CommandModule<object, object>)
      .command(flattenCommand as unknown as CommandModule<object, object>)
      .command(spfMergeCommand as unknown as CommandModule<object, object>)
      .command(checkCommand as unknown as CommandModule<object, object>),
  handler: () => undefined,
};

