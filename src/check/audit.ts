/**
 * The plan-less audit of one domain, asked concurrently: SPF, DMARC, DKIM (given selectors), MX,
 * and the MTA-STS, TLS-RPT and BIMI records (one TXT question each; no finding when they are absent).
 * On request: the MTA-STS policy over HTTPS, the reverse DNS of the sending addresses, STARTTLS on the MX hosts,
 * and DNSSEC with DANE (through resolvers of its own, so the other checks ask exactly what they did).
 */
import { withinDeadline, type Resolver } from '../dns/resolver.js';
import { hasFindingAtLeast, type Finding, type Severity } from '../findings.js';
import { auditBimi, auditDkim, auditDmarc, auditMtaSts, auditMx, auditReverseDns, auditSpf, auditTlsRpt, type GoverningDmarc, type MechanismResult } from './mechanisms.js';
import { SPF_DNS_FAILURES } from '../spf/validate.js';
import type { MtaStsAudit } from '../mtasts/evaluate.js';
import type { PolicyFetchOptions } from '../mtasts/fetch.js';
import type { ReverseDnsResult } from '../rdns/evaluate.js';
// Loaded only with --tls and --dnssec (node:tls, X.509, the DNSSEC engine), by the two mechanisms below.
import type { auditStartTls, StartTlsOptions, StartTlsProbe } from '../starttls/probe.js';
import type { DnssecAudit, DnssecCheck, DnssecResolvers } from '../dnssec/evaluate.js';

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
  /** `governing`: the record that applies to the domain (its own or a parent's) and its policy; null when none does. */
  dmarc: { published: string | string[] | null; dnsFailed: boolean; governing: GoverningDmarc | null };
  dkim: { selector: string; published: string | string[] | null; dnsFailed: boolean }[];
  mx: { published: string | string[] | null; dnsFailed: boolean };
  /** The `_mta-sts` record; `policy` only when the policy was fetched (--mta-sts-policy). */
  mtaSts: { published: string | string[] | null; dnsFailed: boolean; policy?: MtaStsAudit['policy'] };
  tlsRpt: { published: string | string[] | null; dnsFailed: boolean };
  /** The BIMI record at default._bimi. */
  bimi: { published: string | string[] | null; dnsFailed: boolean };
  /** Only with the STARTTLS check (--tls): one entry per address of each MX host (one with a null address for a host with none). */
  tls?: { results: StartTlsProbe[]; dnsFailed: boolean };
  /** Only with the reverse DNS check (--rdns): one entry per sending address. */
  rdns?: { results: ReverseDnsResult[]; dnsFailed: boolean };
  /** Only with the DNSSEC check (--dnssec): the zone, its keys and DS, the validation, the TLSA records of each MX host. */
  dnssec?: Omit<DnssecAudit, 'findings'>;
  findings: Finding[];
  /** Milliseconds the audit took. */
  ms: number;
}

export interface AuditOptions {
  selectors: readonly string[];
  failOn: Severity;
  /** Also send the SPF validator's probes for stray SPF records (11 more queries per domain). */
  deep?: boolean;
  /** Fetch and check the MTA-STS policy (HTTPS) of domains that publish an `_mta-sts` record. */
  mtaStsPolicy?: PolicyFetchOptions | false;
  /** Check the reverse DNS (PTR, forward-confirmed) of the SPF single hosts and the MX hosts. */
  rdns?: boolean;
  /** Try STARTTLS at every address of each MX host (port 25), after the MTA-STS policy when that is fetched too. */
  tls?: StartTlsOptions | false;
  /** Check DNSSEC and DANE through these resolvers (a validating one, asked with DO, and with CD too); with tls, the certificates are matched against the TLSA records. */
  dnssec?: DnssecResolvers | false;
}

/** Findings that say DNS gave no usable answer (a temporary failure), not that something is wrong. */
export function isTemporaryFinding(f: Finding): boolean {
  return f.code.endsWith('.dns-temporary') || f.code.endsWith('.dns-malformed') || SPF_DNS_FAILURES.has(f.code);
}

function part(r: MechanismResult): { published: string | string[] | null; dnsFailed: boolean } {
  return { published: r.published, dnsFailed: r.dnsFailed };
}

/**
 * Never throws: an unexpected failure inside one audit becomes a finding of that domain. Written
 * with a promise callback, not as an async function: eight a domain, and each async frame cost
 * allocations of its own.
 */
function guarded<T extends MechanismResult>(what: string, domain: string, run: () => Promise<T>): Promise<T> {
  const failed = (err: unknown): T =>
    ({
      findings: [{ code: 'check.internal-error', severity: 'error', subject: domain, message: `the ${what} audit failed unexpectedly: ${err instanceof Error ? err.message : String(err)}`, fix: 'please report this with the domain name' }],
      dnsFailed: false,
      published: null,
      // Every field a mechanism adds to MechanismResult is optional, so this stands for any of them.
    }) as T;
  try {
    return run().then(undefined, failed);
  } catch (err) {
    return Promise.resolve(failed(err));
  }
}

/** STARTTLS on the MX hosts, judged against the DNSSEC audit's TLSA records when there is one. */
async function auditStartTlsMechanism(resolver: Resolver, domain: string, opts: Parameters<typeof auditStartTls>[2], dnssec: DnssecCheck | undefined): Promise<MechanismResult & { results?: StartTlsProbe[] }> {
  const [{ auditStartTls }, tlsa] = await Promise.all([import('../starttls/probe.js'), dnssec ? import('../dnssec/evaluate.js').then((m) => m.usableTlsa(dnssec)) : undefined]);
  const r = await auditStartTls(resolver, domain, tlsa ? { ...opts, tlsa } : opts);
  return { findings: r.findings, dnsFailed: r.dnsFailed, published: r.results.map((p) => `${p.host}${p.address ? ` ${p.address}` : ''} ${p.state}${p.tlsVersion ? ` ${p.tlsVersion}` : ''}`), results: r.results };
}

/** The DNSSEC audit with each of its resolvers scoped to the domain (each has the per-domain deadline). */
async function auditDnssecMechanism(resolvers: DnssecResolvers, domain: string): Promise<MechanismResult & { check?: DnssecCheck }> {
  const { auditDnssec } = await import('../dnssec/evaluate.js');
  const check = await withinDeadline(resolvers.validating, (validating) => withinDeadline(resolvers.unchecked, (unchecked) => auditDnssec({ validating, unchecked }, domain), domain), domain);
  return { findings: check.findings, dnsFailed: check.dnsFailed, published: check.zone ? `${check.zone} ${check.validation}` : null, check };
}

/**
 * In three functions of their own (it was one of the costliest things V8 compiled in a bulk run,
 * 53 ms): the mechanisms set going, then the result put together from what they found.
 */
export async function auditDomain(resolver: Resolver, domain: string, opts: AuditOptions): Promise<DomainResult> {
  const started = Date.now();
  return domainResult(domain, opts, await mechanismAudits(resolver, domain, opts), started);
}

/** Every mechanism of the audit at once (STARTTLS after the MTA-STS policy and the DNSSEC audit). */
function mechanismAudits(resolver: Resolver, domain: string, opts: AuditOptions) {
  const mtaStsAudit = guarded('MTA-STS', domain, () => auditMtaSts(resolver, domain, { fetchPolicy: opts.mtaStsPolicy ?? false }));
  const dnssecResolvers = opts.dnssec;
  const dnssecAudit = dnssecResolvers ? guarded('DNSSEC', domain, () => auditDnssecMechanism(dnssecResolvers, domain)) : null;
  const tlsOptions = opts.tls;
  return Promise.all([
    Promise.all([
      guarded('SPF', domain, () => auditSpf(resolver, domain, { deep: opts.deep ?? false })),
      guarded('DMARC', domain, () => auditDmarc(resolver, domain)),
      guarded('MX', domain, () => auditMx(resolver, domain)),
    ]),
    // A list of its own: spread into the list above, the `.map()` result's changing elements kind
    // deoptimized this function (see txtValues in src/dns/resolver.ts).
    Promise.all(opts.selectors.map((s) => guarded('DKIM', domain, () => auditDkim(resolver, domain, s)))),
    mtaStsAudit,
    guarded('TLS-RPT', domain, () => auditTlsRpt(resolver, domain)),
    guarded('BIMI', domain, () => auditBimi(resolver, domain)),
    opts.rdns ? guarded('reverse DNS', domain, () => auditReverseDns(resolver, domain)) : null,
    // STARTTLS waits for the policy, whose mx patterns and certificate rule it is judged against, and for the TLSA records its certificates must match.
    tlsOptions
      ? Promise.all([mtaStsAudit, dnssecAudit]).then(([sts, sec]) =>
          guarded('STARTTLS', domain, () => auditStartTlsMechanism(resolver, domain, { ...tlsOptions, policy: sts.policy?.parsed ?? null }, sec?.check)),
        )
      : null,
    dnssecAudit,
  ]);
}

function domainResult(domain: string, opts: AuditOptions, settled: Awaited<ReturnType<typeof mechanismAudits>>, started: number): DomainResult {
  const [[spf, dmarc, mx], dkim, mtaSts, tlsRpt, bimi, rdns, starttls, dnssec] = settled;
  const all: MechanismResult[] = [spf, dmarc, mx, ...dkim, mtaSts, tlsRpt, bimi, ...(rdns ? [rdns] : []), ...(starttls ? [starttls] : []), ...(dnssec ? [dnssec] : [])];
  // Gathered into one literal rather than `.flatMap()`ed, for one elements kind (see txtValues).
  const findings: Finding[] = [];
  for (const r of all) findings.push(...r.findings);
  const dnsFailed = all.some((r) => r.dnsFailed);
  const definite = findings.filter((f) => !isTemporaryFinding(f));
  const status: DomainStatus = hasFindingAtLeast(definite, opts.failOn) ? 'fail' : dnsFailed ? 'dns-error' : 'pass';
  return {
    domain,
    status,
    spf: spf.lookups === undefined ? part(spf) : { ...part(spf), lookups: spf.lookups },
    dmarc: { ...part(dmarc), governing: dmarc.governing ?? null },
    dkim: dkim.map((r, i) => ({ selector: opts.selectors[i]!, ...part(r) })),
    mx: part(mx),
    mtaSts: { ...part(mtaSts), ...(mtaSts.policy ? { policy: mtaSts.policy } : {}) },
    tlsRpt: part(tlsRpt),
    bimi: part(bimi),
    ...(rdns ? { rdns: { results: rdns.results ?? [], dnsFailed: rdns.dnsFailed } } : {}),
    ...(starttls ? { tls: { results: starttls.results ?? [], dnsFailed: starttls.dnsFailed } } : {}),
    ...(dnssec ? { dnssec: dnssecPart(dnssec.check, dnssec.dnsFailed) } : {}),
    findings,
    ms: Date.now() - started,
  };
}

/** The DNSSEC part of a result: the audit without its findings (they are the domain's) and without the TLSA values STARTTLS used. */
function dnssecPart(check: DnssecCheck | undefined, dnsFailed: boolean): Omit<DnssecAudit, 'findings'> {
  if (!check) return { zone: null, signed: null, validation: 'indeterminate', resolver: null, dnskeys: [], ds: [], tlsa: [], dnsFailed };
  const { findings: _findings, tlsaValues: _values, ...part } = check;
  return part;
}
