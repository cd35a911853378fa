/**
 * `maildns spf merge "<record>" "<record>" …` and `maildns spf merge --domain D`: several SPF records
 * (a domain that publishes two is a permerror for every receiver) combined into one, then checked as
 * if it were published, without publishing it: its includes are walked through DNS for the total
 * lookup count.
 */
import type { CommandModule } from 'yargs';
import { hasFindingAtLeast } from '../../findings.js';
import type { MergeAll, MergeResult } from '../../spf/merge.js';
import { parseAllTerm } from '../../spf/compose.js';
import type { SpfReport } from '../../spf/validate.js';
import { EXIT, UsageError } from '../exit.js';
import { printJson } from '../render/output.js';
import { renderMerge } from '../render/spf.js';
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

function allArg(value: string): MergeAll {
  const all = parseAllTerm(value);
  if (all === '+all') throw new UsageError('--all +all would let every address on the Internet pass SPF; use -all, ~all or ?all');
  if (all === null) throw new UsageError(`--all ${value} is not one of -all, ~all, ?all (write --all=-all, since a value starting with "-" reads as an option)`);
  return all;
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
    const [{ describeStatus, isTemporary }, { isSpfRecord }, { checkMergedRecord, mergeSpf, MergeInputError }] = await Promise.all([
      import('../../dns/resolver.js'),
      import('../../spf/parse.js'),
      import('../../spf/merge.js'),
    ]);
    const given = (args.records ?? []).map(String);
    const all = args.all !== undefined ? allArg(String(args.all)) : undefined;
    const resolver = await resolverFromArgs(args);
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
    const check: SpfReport | null = args.offline ? null : await checkMergedRecord(resolver, result, domain ? { domain, otherTxt } : null);
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
