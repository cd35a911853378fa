/**
 * `maildns dmarc <domain>`: read a domain's DMARC record, say what it means tag by tag, and
 * report findings. `maildns dmarc compose`: build a record from flags, without a plan.
 */
import type { Argv, CommandModule } from 'yargs';
import { COMMANDS } from '../registry.js';
import { hasFindingAtLeast, type Finding } from '../../findings.js';
import type { DmarcTagInput } from '../../dmarc/compose.js';
import type { DmarcCheck } from '../../dmarc/validate.js';
import { DMARC_MODES, type DmarcMode } from '../../dmarc/mode.js';
import { EXIT, UsageError } from '../exit.js';
import { printJson } from '../render/output.js';
import { takesWholeNumber } from '../flag-values.js';
import { domainArg, sendingDomainArg, withJsonOption, resolverFromArgs, withNameserverOption } from './common.js';

interface CheckArgs {
  domain: string;
  nameserver?: string;
  timeout: number;
  json: boolean;
  mode: string;
}

/** The tag values as flags (--p, --sp, …), checked by the composer. */
interface ComposeArgs extends DmarcTagInput {
  domain?: string;
  json: boolean;
  mode: string;
}

function modeOf(value: string): DmarcMode {
  const m = value.replace(/^rfc/i, '') as DmarcMode;
  if (!DMARC_MODES.includes(m)) throw new UsageError(`--mode ${value} is not known; use --mode 9989 or --mode 7489`);
  return m;
}

/** 3 when DNS failed, 1 for errors, else 0. */
function dmarcExitCode(check: DmarcCheck): number {
  return check.dnsFailed ? EXIT.dnsUnavailable : hasFindingAtLeast(check.findings, 'error') ? EXIT.problems : EXIT.ok;
}

const composeCommand: CommandModule<object, ComposeArgs> = {
  command: 'compose',
  describe: 'build a DMARC record from flags, without a plan',
  builder: (y) =>
    withJsonOption(takesWholeNumber(y, 'pct', 'ri'))
      .option('p', { type: 'string', describe: 'policy for the domain: none, quarantine or reject (required)' })
      .option('sp', { type: 'string', describe: 'policy for subdomains (default: as p)' })
      .option('np', { type: 'string', describe: 'policy for subdomains that do not exist (RFC 9989; default: as sp, else p)' })
      .option('adkim', { type: 'string', describe: 'DKIM alignment: r (relaxed, default) or s (strict)' })
      .option('aspf', { type: 'string', describe: 'SPF alignment: r (relaxed, default) or s (strict)' })
      .option('rua', { type: 'string', array: true, nargs: 1, describe: 'aggregate report address(es); a bare address gets mailto:' })
      .option('ruf', { type: 'string', array: true, nargs: 1, describe: 'failure report address(es)' })
      .option('fo', { type: 'string', describe: 'failure report options: 0, 1, d, s joined by ":"' })
      .option('pct', { type: 'number', describe: 'percentage of failing mail the policy applies to (RFC 7489; removed in RFC 9989)' })
      .option('t', { type: 'string', describe: 'testing mode: y or n (RFC 9989)' })
      .option('psd', { type: 'string', describe: 'public suffix domain: y, n or u (RFC 9989)' })
      .option('rf', { type: 'string', describe: 'failure report format: afrf (RFC 7489; removed in RFC 9989)' })
      .option('ri', { type: 'number', describe: 'aggregate report interval in seconds (RFC 7489; removed in RFC 9989)' })
      .option('domain', { type: 'string', describe: 'print the record as a zone-file line for _dmarc.DOMAIN' })
      .option('mode', { type: 'string', default: '9989', describe: 'rules to check the result against: 9989 or 7489' })
      .example('$0 dmarc compose --p reject --rua dmarc@example.com', 'v=DMARC1; p=reject; rua=mailto:dmarc@example.com')
      .example('$0 dmarc compose --p quarantine --np reject --t y --domain example.com', 'a zone-file line for _dmarc.example.com') as unknown as Argv<ComposeArgs>,
  handler: async (args) => {
    const mode = modeOf(args.mode);
    const [{ composeDmarc, dmarcPlanFromTags }, { parseDmarc }, { lintDmarc }, { zoneTxtLine }] = await Promise.all([
      import('../../dmarc/compose.js'),
      import('../../dmarc/parse.js'),
      import('../../dmarc/lint.js'),
      import('../../txt.js'),
    ]);
    const plan = dmarcPlanFromTags(args, mode);
    const domain = args.domain !== undefined ? sendingDomainArg(args.domain, '--domain') : null;
    const record = composeDmarc(plan);
    const parsed = parseDmarc(record, { mode, subject: domain ? `_dmarc.${domain}` : 'record' });
    const findings: Finding[] = [...parsed.findings, ...lintDmarc(parsed, { subject: parsed.findings[0]?.subject ?? (domain ? `_dmarc.${domain}` : 'record') })];
    if (args.json) {
      printJson({ name: domain ? `_dmarc.${domain}` : null, type: 'TXT', record, findings });
      return;
    }
    process.stdout.write(`${domain ? zoneTxtLine(`_dmarc.${domain}`, record) : record}\n`);
    for (const f of findings.filter((x) => x.severity !== 'info')) process.stderr.write(`note: ${f.message}${f.fix ? ` (${f.fix})` : ''}\n`);
  },
};

const checkCommand: CommandModule<object, CheckArgs> = {
  command: '$0 <domain>',
  describe: 'read DOMAIN\'s DMARC record, explain it and report problems',
  builder: (y) =>
    withNameserverOption(withJsonOption(y))
      .positional('domain', { type: 'string', describe: 'the domain mail is sent from (the From: domain)' })
      .option('mode', { type: 'string', default: '9989', describe: 'rules to apply: 9989 (DMARCbis: tree walk, np/psd/t) or 7489 (classic: Public Suffix List, pct/rf/ri)' })
      .example('$0 dmarc example.com', 'record, meaning and findings')
      .example('$0 dmarc mail.example.com --mode 7489', 'which record governs a subdomain under RFC 7489 rules')
      .example('$0 dmarc example.com --nameserver 127.0.0.1:5353 --json', 'ask one server, print JSON') as unknown as Argv<CheckArgs>,
  handler: async (args) => {
    const mode = modeOf(args.mode);
    const domain = domainArg(args.domain);
    const [{ checkDmarcDomain }, { explainDmarc }, { renderDmarcCheck }] = await Promise.all([
      import('../../dmarc/validate.js'),
      import('../../dmarc/explain.js'),
      import('../render/dmarc.js'),
    ]);
    const check = await checkDmarcDomain(await resolverFromArgs(args), domain, { mode });
    const exitCode = dmarcExitCode(check);
    if (args.json) {
      printJson({
        domain: check.domain,
        mode: check.mode,
        name: check.name,
        record: check.parsed?.text ?? null,
        records: check.lookup.dmarc,
        status: check.lookup.status,
        meaning: check.parsed ? explainDmarc(check.parsed) : [],
        tags: check.parsed?.record ?? null,
        policy: {
          status: check.discovery.status,
          foundAt: check.discovery.foundAt,
          recordName: check.discovery.recordName,
          rule: check.discovery.rule,
          policy: check.discovery.policy,
          appliedPolicy: check.discovery.appliedPolicy,
          orgDomain: check.discovery.orgDomain,
          reason: check.discovery.reason,
          steps: check.discovery.steps,
        },
        destinations: check.destinations,
        findings: check.findings,
        exitCode,
      });
    } else process.stdout.write(renderDmarcCheck(check));
    process.exitCode = exitCode;
  },
};

export const dmarcCommand: CommandModule<object, object> = {
  ...COMMANDS['dmarc'],
  builder: (y) =>
    y
      .command(composeCommand as unknown as CommandModule<object, object>)
      .command(checkCommand as unknown as CommandModule<object, object>),
  handler: () => undefined,
};
