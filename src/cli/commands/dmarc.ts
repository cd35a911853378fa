/**
 * `maildns dmarc <domain>`: read a domain's DMARC record, say what it means tag by tag, and
 * report findings. `maildns dmarc compose`: build a record from flags, without a plan.
 */
import type { Argv, CommandModule } from 'yargs';
import { EXIT, UsageError } from '../exit.js';
import { hasFindingAtLeast, type Finding } from '../../findings.js';
import { type Resolver } from '../../dns/resolver.js';
import { printJson } from '../render/output.js';
import { DMARC_POLICIES, type DmarcPlan, type DmarcPolicy } from '../../plan/types.js';
import { composeDmarc } from '../../dmarc/compose.js';
import { explainDmarc } from '../../dmarc/explain.js';
import { renderDmarcCheck } from '../render/dmarc.js';
import { lintDmarc } from '../../dmarc/lint.js';
import { DMARC_MODES, parseDmarc, parseReportUri, type DmarcMode } from '../../dmarc/parse.js';
import { checkDmarcDomain, type DmarcCheck } from '../../dmarc/validate.js';
import { domainArg, sendingDomainArg, withJsonOption, resolverFromArgs, withNameserverOption } from './common.js';

interface CheckArgs {
  domain: string;
  nameserver?: string;
  timeout: number;
  json: boolean;
  mode: string;
}

interface ComposeArgs {
  p?: string;
  sp?: string;
  np?: string;
  adkim?: string;
  aspf?: string;
  rua?: string[];
  ruf?: string[];
  fo?: string;
  pct?: number;
  t?: string;
  psd?: string;
  rf?: string;
  ri?: number;
  domain?: string;
  json: boolean;
  mode: string;
}

function modeOf(value: string): DmarcMode {
  const m = value.replace(/^rfc/i, '') as DmarcMode;
  if (!DMARC_MODES.includes(m)) throw new UsageError(`--mode ${value} is not known; use --mode 9989 or --mode 7489`);
  return m;
}


export async function runDmarcCheck(resolver: Resolver, domain: string, mode: DmarcMode): Promise<{ check: DmarcCheck; exitCode: number }> {
  const check = await checkDmarcDomain(resolver, domain, { mode });
  const exitCode = check.dnsFailed ? EXIT.dnsUnavailable : hasFindingAtLeast(check.findings, 'error') ? EXIT.problems : EXIT.ok;
  return { check, exitCode };
}

function policyFlag(name: string, value: string | undefined): DmarcPolicy | undefined {
  if (value === undefined) return undefined;
  const v = value.toLowerCase();
  if (!(DMARC_POLICIES as readonly string[]).includes(v)) throw new UsageError(`--${name} ${value} is not a policy; use none, quarantine or reject`);
  return v as DmarcPolicy;
}

function oneOf<T extends string>(name: string, value: string | undefined, allowed: readonly T[]): T | undefined {
  if (value === undefined) return undefined;
  const v = value.toLowerCase();
  if (!(allowed as readonly string[]).includes(v)) throw new UsageError(`--${name} ${value} is not valid; use ${allowed.join(' or ')}`);
  return v as T;
}

/** Build a plan section from compose flags, refusing bad input with a one-line UsageError. */
export function planFromFlags(a: ComposeArgs, mode: DmarcMode): DmarcPlan {
  const p = policyFlag('p', a.p);
  if (!p) throw new UsageError('--p is required: --p none (monitor), --p quarantine or --p reject');
  const uris = (tag: 'rua' | 'ruf', list: string[] | undefined): string[] => {
    const out: string[] = [];
    for (const raw of (list ?? []).flatMap((s) => String(s).split(',')).map((s) => s.trim()).filter(Boolean)) {
      // A bare address is taken as mailto:, the one scheme reporters use.
      const uri = !/^[A-Za-z][A-Za-z0-9+.-]*:/.test(raw) && raw.includes('@') ? `mailto:${raw}` : raw;
      const r = parseReportUri(uri, tag, mode, `--${tag}`);
      const bad = r.findings.find((f) => f.severity === 'error' || f.code === 'dmarc.report-address-invalid' || f.code === 'dmarc.report-uri-scheme');
      if (bad) throw new UsageError(`--${tag} ${raw}: ${bad.message}; ${bad.fix ?? ''}`.trim());
      out.push(uri);
    }
    return out;
  };
  const plan: DmarcPlan = { p, rua: uris('rua', a.rua), ruf: uris('ruf', a.ruf) };
  const sp = policyFlag('sp', a.sp);
  const np = policyFlag('np', a.np);
  const adkim = oneOf('adkim', a.adkim, ['r', 's'] as const);
  const aspf = oneOf('aspf', a.aspf, ['r', 's'] as const);
  const t = oneOf('t', a.t, ['y', 'n'] as const);
  const psd = oneOf('psd', a.psd, ['y', 'n', 'u'] as const);
  if (sp) plan.sp = sp;
  if (np) plan.np = np;
  if (adkim) plan.adkim = adkim;
  if (aspf) plan.aspf = aspf;
  if (t) plan.t = t;
  if (psd) plan.psd = psd;
  if (a.fo !== undefined) {
    const opts = a.fo.split(':').map((s) => s.trim().toLowerCase());
    const bad = opts.find((o) => !['0', '1', 'd', 's'].includes(o));
    if (bad !== undefined) throw new UsageError(`--fo ${a.fo}: "${bad}" is not an option; use 0, 1, d and s separated by ":" (e.g. --fo 1)`);
    plan.fo = opts.join(':');
  }
  if (a.pct !== undefined) {
    if (!Number.isInteger(a.pct) || a.pct < 0 || a.pct > 100) throw new UsageError(`--pct ${a.pct} must be a whole number from 0 to 100`);
    plan.pct = a.pct;
  }
  if (a.ri !== undefined) {
    if (!Number.isInteger(a.ri) || a.ri <= 0 || a.ri > 0xffffffff) throw new UsageError(`--ri ${a.ri} must be a whole number of seconds, e.g. 86400`);
    plan.ri = a.ri;
  }
  if (a.rf !== undefined) {
    if (a.rf.toLowerCase() !== 'afrf') throw new UsageError(`--rf ${a.rf} is not a report format; the only one is afrf`);
    plan.rf = 'afrf';
  }
  return plan;
}

const composeCommand: CommandModule<object, ComposeArgs> = {
  command: 'compose',
  describe: 'build a DMARC record from flags, without a plan',
  builder: (y) =>
    withJsonOption(y)
      .option('p', { type: 'string', describe: 'policy for the domain: none, quarantine or reject (required)' })
      .option('sp', { type: 'string', describe: 'policy for subdomains (default: as p)' })
      .option('np', { type: 'string', describe: 'policy for subdomains that do not exist (RFC 9989; default: as sp, else p)' })
      .option('adkim', { type: 'string', describe: 'DKIM alignment: r (relaxed, default) or s (strict)' })
      .option('aspf', { type: 'string', describe: 'SPF alignment: r (relaxed, default) or s (strict)' })
      .option('rua', { type: 'string', array: true, describe: 'aggregate report address(es); a bare address gets mailto:' })
      .option('ruf', { type: 'string', array: true, describe: 'failure report address(es)' })
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
  handler: (args) => {
    const mode = modeOf(args.mode);
    const plan = planFromFlags(args, mode);
    const domain = args.domain !== undefined ? sendingDomainArg(args.domain, '--domain') : null;
    const record = composeDmarc(plan);
    const parsed = parseDmarc(record, { mode, subject: domain ? `_dmarc.${domain}` : 'record' });
    const findings: Finding[] = [...parsed.findings, ...lintDmarc(parsed, { subject: parsed.findings[0]?.subject ?? (domain ? `_dmarc.${domain}` : 'record') })];
    if (args.json) {
      printJson({ name: domain ? `_dmarc.${domain}` : null, type: 'TXT', record, findings });
      return;
    }
    process.stdout.write(domain ? `_dmarc.${domain}. IN TXT "${record}"\n` : `${record}\n`);
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
    const resolver = resolverFromArgs(args);
    const { check, exitCode } = await runDmarcCheck(resolver, domain, mode);
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
  command: 'dmarc',
  describe: 'check a domain\'s DMARC record (maildns dmarc DOMAIN) or compose one (maildns dmarc compose)',
  builder: (y) =>
    y
      .command(composeCommand as unknown as CommandModule<object, object>)
      .command(checkCommand as unknown as CommandModule<object, object>),
  handler: () => undefined,
};
