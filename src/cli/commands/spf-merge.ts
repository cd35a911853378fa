/**
 * `maildns spf merge "<record>" "<record>" …` and `maildns spf merge --domain D`: several SPF records
 * (a domain that publishes two is a permerror for every receiver) combined into one, then checked as
 * if it were published, without publishing it: its includes are walked through DNS for the total
 * lookup count.
 */
import type { CommandModule } from 'yargs';
import { EXIT, UsageError } from '../exit.js';
import { hasFindingAtLeast, type Finding } from '../../findings.js';
import { normalizeName } from '../../names.js';
import { describeStatus, isTemporary, type DnsAnswer, type RDataMap, type Resolver, type RRType } from '../../dns/resolver.js';
import { printJson } from '../render/output.js';
import { renderMerge } from '../render/spf.js';
import { isSpfRecord } from '../../spf/parse.js';
import { mergeSpf, MergeInputError, MERGE_ALL_VALUES, type MergeAll, type MergeResult } from '../../spf/merge.js';
import { validateSpf, type SpfReport } from '../../spf/validate.js';
import { domainArg, withJsonOption, resolverFromArgs, withNameserverOption } from './common.js';

interface MergeArgs {
  records?: string[];
  domain?: string;
  all?: string;
  offline: boolean;
  nameserver?: string;
  timeout: number;
  json: boolean;
}

/** The name the merged record is checked at when no --domain is given (RFC 6761: .invalid never exists). */
export const MERGE_PLACEHOLDER = 'merged-spf.invalid';


function allArg(value: string): MergeAll {
  const v = value.trim().toLowerCase();
  const named: Record<string, MergeAll> = { fail: '-all', softfail: '~all', neutral: '?all', '-': '-all', '~': '~all', '?': '?all' };
  const all: string = named[v] ?? (v === 'all' ? '+all' : v);
  if (all === '+all' || all === '+') throw new UsageError('--all +all would let every address on the Internet pass SPF; use -all, ~all or ?all');
  if (!MERGE_ALL_VALUES.includes(all as MergeAll)) throw new UsageError(`--all ${value} is not one of ${MERGE_ALL_VALUES.join(', ')} (write --all=-all, since a value starting with "-" reads as an option)`);
  return all as MergeAll;
}

/**
 * A resolver that answers the TXT query at `domain` with the merged record (next to the name's other
 * TXT records, so the answer-size check stays true) and passes every other question on. With the
 * placeholder name, its other types do not exist.
 */
export function withMergedRecord(real: Resolver, domain: string, strings: string[], otherTxt: string[][]): Resolver {
  return {
    lookup<T extends RRType>(name: string, type: T): Promise<DnsAnswer<RDataMap[T]>> {
      if (normalizeName(name) !== domain) return real.lookup(name, type);
      const base = { name: domain, type, ttl: null, authoritative: true, server: 'merged record (not published)', cnameChain: [] };
      if (type === 'TXT') return Promise.resolve({ ...base, status: 'ok', records: [...otherTxt, strings] as RDataMap[T][] });
      if (domain === MERGE_PLACEHOLDER) return Promise.resolve({ ...base, status: 'nxdomain', records: [] });
      return real.lookup(name, type);
    },
  };
}

/** Bare a / mx / ptr at the placeholder name say nothing: the real domain is not known. */
function aboutPlaceholderTerm(f: Finding): boolean {
  return f.subject.startsWith(`${MERGE_PLACEHOLDER} `) && ['spf.void-lookup', 'spf.mx-host-no-address', 'spf.too-many-void-lookups'].includes(f.code);
}

function hasBareDomainTerm(r: MergeResult): boolean {
  return r.sources.some((s) => /^[-~?]?(a|mx|ptr)(\/|$)/.test(s.term) || /%\{[dD]/.test(s.term));
}

export const spfMergeCommand: CommandModule<object, MergeArgs> = {
  command: 'merge [records..]',
  describe: 'merge several SPF records into one (a domain with two v=spf1 records fails every SPF check)',
  builder: (y) =>
    withJsonOption(withNameserverOption(y))
      .positional('records', { type: 'string', array: true, describe: 'SPF records to merge, each quoted as one argument' })
      .option('domain', { type: 'string', describe: 'merge every v=spf1 TXT record published at this domain (plus any records given)' })
      .option('all', { type: 'string', nargs: 1, describe: 'end the merged record with this: -all, ~all or ?all (default: the strictest the inputs had)' })
      .option('offline', { type: 'boolean', default: false, describe: 'merge only: do not walk the includes through DNS' })
      .example('$0 spf merge "v=spf1 include:_spf.google.com ~all" "v=spf1 include:sendgrid.net -all"', 'v=spf1 include:_spf.google.com include:sendgrid.net -all, and its total lookup count')
      .example('$0 spf merge --domain example.com', 'merge the records example.com publishes now')
      .example('$0 spf merge --domain example.com "v=spf1 include:mailgun.org ~all"', 'what to publish after adding a new service to the existing record')
      .example('$0 spf merge --all ~all "v=spf1 mx -all" "v=spf1 ip4:192.0.2.1 ?all"', 'choose the ending')
      .epilogue(
        'Duplicates are removed, the strictest all is kept (never +all), a redirect= becomes an include:, and the result is checked through DNS as if it were published (nothing is published).\n\n' +
          'Exit codes: 0 merged, no errors; 1 merged, with errors to fix first (too many lookups, an input with +all, …); 2 bad input (fewer than two records, a syntax error); 3 DNS could not be asked.',
      ) as never,
  handler: async (args) => {
    const given = (args.records ?? []).map(String);
    const all = args.all !== undefined ? allArg(String(args.all)) : undefined;
    const resolver = resolverFromArgs(args);
    let domain: string | null = null;
    let published: string[][] = [];
    let otherTxt: string[][] = [];
    if (args.domain !== undefined) {
      domain = domainArg(args.domain, '--domain');
      const answer = await resolver.lookup(domain, 'TXT');
      if (isTemporary(answer.status)) {
        const message = `could not read the TXT records of ${domain}: ${describeStatus(answer.status)}`;
        if (args.json) printJson({ domain, error: message, temporary: true });
        else process.stderr.write(`maildns: ${message}\n`);
        process.exitCode = EXIT.dnsUnavailable;
        return;
      }
      published = answer.records.filter((s) => isSpfRecord(s.join('')));
      otherTxt = answer.records.filter((s) => !isSpfRecord(s.join('')));
      if (published.length === 0 && given.length === 0) throw new UsageError(`${domain} publishes no SPF record (${answer.status === 'ok' ? 'no v=spf1 TXT' : describeStatus(answer.status)}): nothing to merge`);
    }
    const inputs = [...published.map((s) => s.join('')), ...given];
    if (inputs.length === 0) throw new UsageError('no SPF record to merge: give two or more records in quotes, or --domain D to merge what D publishes');
    if (inputs.length === 1) {
      const where = domain && given.length === 0 ? `${domain} publishes only one SPF record` : 'only one SPF record was given';
      throw new UsageError(`${where}: there is nothing to merge${domain && given.length === 0 ? ` (check it with \`maildns spf ${domain}\`)` : '; give two or more'}`);
    }
    let result: MergeResult;
    try {
      result = mergeSpf(inputs, all ? { all } : {});
    } catch (err) {
      if (!(err instanceof MergeInputError)) throw err;
      const fromDns = domain !== null && err.input >= 1 && err.input <= published.length;
      throw new UsageError(fromDns ? err.message.replace(/^input (\d+) /, `input $1 of the records published at ${domain} `) : err.message);
    }

    let check: SpfReport | null = null;
    if (!args.offline) {
      const at = domain ?? MERGE_PLACEHOLDER;
      check = await validateSpf(withMergedRecord(resolver, at, result.strings, otherTxt), at, { probeOrphans: false });
      if (at === MERGE_PLACEHOLDER) {
        check.findings = check.findings.filter((f) => !aboutPlaceholderTerm(f));
        // Nor do their void lookups count: the placeholder has no records by design.
        const placeholderVoids = check.tree?.costs.filter((c) => /^[-~?]?(a|mx)(\/|$)/.test(c.term) && c.note?.startsWith('void')).length ?? 0;
        check.voidLookups -= placeholderVoids;
        if (check.tree) check.tree.voidLookups -= placeholderVoids;
        if (hasBareDomainTerm(result)) {
          check.findings.push({ code: 'spf.merge-domain-unknown', severity: 'info', subject: 'merged record', message: 'bare a, mx or ptr (or a %{d} macro) refer to the domain the record is published at, which is not known here, so they were not checked', fix: 'add --domain D to check them against D' });
        }
      }
    }
    const findings = [...result.findings, ...(check?.findings ?? [])];
    if (args.json) {
      printJson({
        domain,
        inputs,
        record: result.record,
        strings: result.strings,
        length: result.length,
        lookups: result.lookups,
        totalLookups: check ? check.lookups : null,
        voidLookups: check ? check.voidLookups : null,
        warnings: result.warnings,
        sources: result.sources,
        findings: result.findings,
        check: check ? { lookups: check.lookups, voidLookups: check.voidLookups, effectiveAll: check.effectiveAll, findings: check.findings, tree: check.tree } : null,
      });
    } else {
      process.stdout.write(`${renderMerge(inputs, result, check, domain)}\n`);
    }
    process.exitCode = hasFindingAtLeast(findings, 'error') ? EXIT.problems : EXIT.ok;
  },
};
