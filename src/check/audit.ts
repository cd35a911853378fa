/** The plan-less audit of one domain: SPF, DMARC, DKIM (given selectors) and MX, asked concurrently. */
import type { Resolver } from '../dns/resolver.js';
import { hasFindingAtLeast, type Finding, type Severity } from '../findings.js';
import { auditDkim, auditDmarc, auditMx, auditSpf, type MechanismResult } from './mechanisms.js';

/**
 * pass: nothing at or above the --fail-on severity; fail: at least one such finding;
 * dns-error: no such finding, but some question got no usable answer (a temporary failure:
 * the domain could not be fully checked, which is not the same as a missing record).
 */
export type DomainStatus = 'pass' | 'fail' | 'dns-error';

export interface DomainResult {
  domain: string;
  status: DomainStatus;
  /** `lookups`: the SPF lookup count, when one record is published and could be read. */
  spf: { published: string | string[] | null; dnsFailed: boolean; lookups?: number };
  dmarc: { published: string | string[] | null; dnsFailed: boolean };
  dkim: { selector: string; published: string | string[] | null; dnsFailed: boolean }[];
  mx: { published: string | string[] | null; dnsFailed: boolean };
  findings: Finding[];
  /** Milliseconds the audit took. */
  ms: number;
}

export interface AuditOptions {
  selectors: readonly string[];
  failOn: Severity;
  /** Also send the SPF validator's probes for stray SPF records (11 more queries per domain). */
  deep?: boolean;
}

/** Findings that say DNS gave no usable answer (a temporary failure), not that something is wrong. */
export function isTemporaryFinding(f: Finding): boolean {
  return f.code.endsWith('.dns-temporary') || f.code === 'spf.temperror';
}

function part(r: MechanismResult): { published: string | string[] | null; dnsFailed: boolean } {
  return { published: r.published, dnsFailed: r.dnsFailed };
}

/** Never throws: an unexpected failure inside one audit becomes a finding of that domain. */
async function guarded(what: string, domain: string, run: () => Promise<MechanismResult>): Promise<MechanismResult> {
  try {
    return await run();
  } catch (err) {
    return {
      findings: [{ code: 'check.internal-error', severity: 'error', subject: domain, message: `the ${what} audit failed unexpectedly: ${err instanceof Error ? err.message : String(err)}`, fix: 'please report this with the domain name' }],
      dnsFailed: false,
      published: null,
    };
  }
}

export async function auditDomain(resolver: Resolver, domain: string, opts: AuditOptions): Promise<DomainResult> {
  const started = Date.now();
  const [spf, dmarc, mx, ...dkim] = await Promise.all([
    guarded('SPF', domain, () => auditSpf(resolver, domain, { deep: opts.deep ?? false })),
    guarded('DMARC', domain, () => auditDmarc(resolver, domain)),
    guarded('MX', domain, () => auditMx(resolver, domain)),
    ...opts.selectors.map((s) => guarded('DKIM', domain, () => auditDkim(resolver, domain, s))),
  ]);
  const findings = [spf!, dmarc!, mx!, ...dkim].flatMap((r) => r.findings);
  const dnsFailed = [spf!, dmarc!, mx!, ...dkim].some((r) => r.dnsFailed);
  const definite = findings.filter((f) => !isTemporaryFinding(f));
  const status: DomainStatus = hasFindingAtLeast(definite, opts.failOn) ? 'fail' : dnsFailed ? 'dns-error' : 'pass';
  return {
    domain,
    status,
    spf: spf!.lookups === undefined ? part(spf!) : { ...part(spf!), lookups: spf!.lookups },
    dmarc: part(dmarc!),
    dkim: dkim.map((r, i) => ({ selector: opts.selectors[i]!, ...part(r) })),
    mx: part(mx!),
    findings,
    ms: Date.now() - started,
  };
}
