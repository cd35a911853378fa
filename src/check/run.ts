/**
 * Run the audit over a stream of domains with a bound on domains in progress, and hand each
 * result on in input order as soon as it and every earlier one are done. Only a small window of
 * results is held at a time, so memory does not grow with the number of domains.
 */
import { withinDeadline, type Resolver } from '../dns/resolver.js';
import type { Outcome, Severity } from '../findings.js';
import { auditDomain, type AuditOptions, type DomainResult } from './audit.js';

export interface RunOptions {
  resolver: Resolver;
  selectors: readonly string[];
  failOn: Severity;
  /** See AuditOptions.deep. */
  deep?: boolean;
  /** See AuditOptions.mtaStsPolicy. */
  mtaStsPolicy?: AuditOptions['mtaStsPolicy'];
  /** See AuditOptions.rdns. */
  rdns?: boolean;
  /** See AuditOptions.tls. */
  tls?: AuditOptions['tls'];
  /** See AuditOptions.dnssec. */
  dnssec?: AuditOptions['dnssec'];
  /** Domains audited at once. */
  concurrency: number;
  /** Called once per domain, in input order. */
  onResult: (result: DomainResult, index: number) => void | Promise<void>;
}

export interface RunSummary {
  domains: number;
  pass: number;
  fail: number;
  dnsError: number;
  errors: number;
  warnings: number;
  infos: number;
  ms: number;
  /** `problems` when a domain failed or could not be fully checked; `dns-unavailable` when no domain could be (all DNS failed). */
  outcome: Outcome;
}

export async function runChecks(names: AsyncIterable<string> | Iterable<string>, opts: RunOptions): Promise<RunSummary> {
  const started = Date.now();
  const summary = emptySummary();
  const iterator = (Symbol.asyncIterator in names ? (names as AsyncIterable<string>)[Symbol.asyncIterator]() : (names as Iterable<string>)[Symbol.iterator]()) as
    | AsyncIterator<string>
    | Iterator<string>;
  const concurrency = Math.max(1, opts.concurrency);
  // At most this many results may wait for an earlier, slower domain.
  const window = concurrency * 4;
  const done = new Map<number, DomainResult>();
  let nextIndex = 0;
  let nextToEmit = 0;
  let exhausted = false;
  let emitting: Promise<void> = Promise.resolve();
  const waiters: (() => void)[] = [];

  const flush = (): void => {
    emitting = emitting.then(async () => {
      while (done.has(nextToEmit)) {
        const r = done.get(nextToEmit)!;
        done.delete(nextToEmit);
        countResult(summary, r);
        await opts.onResult(r, nextToEmit);
        nextToEmit++;
        waiters.splice(0).forEach((w) => w());
      }
    });
  };

  // Taking the next name is serialised so the iterator is never advanced twice at once.
  let taking: Promise<unknown> = Promise.resolve();
  const take = (): Promise<{ name: string; index: number } | null> => {
    const p = taking.then(async () => {
      if (exhausted) return null;
      const n = await iterator.next();
      if (n.done) {
        exhausted = true;
        return null;
      }
      return { name: n.value, index: nextIndex++ };
    });
    taking = p;
    return p;
  };

  const worker = async (): Promise<void> => {
    for (;;) {
      while (nextIndex - nextToEmit >= window && !exhausted) await new Promise<void>((r) => waiters.push(r));
      const job = await take();
      if (!job) return;
      // Each domain has the resolver's deadline to itself: a silent zone cannot hold the run.
      const result = await withinDeadline(opts.resolver, (resolver) => auditDomain(resolver, job.name, { selectors: opts.selectors, failOn: opts.failOn, deep: opts.deep ?? false, mtaStsPolicy: opts.mtaStsPolicy ?? false, rdns: opts.rdns ?? false, tls: opts.tls ?? false, dnssec: opts.dnssec ?? false }), job.name);
      done.set(job.index, result);
      flush();
    }
  };

  await Promise.all(Array.from({ length: concurrency }, worker));
  flush();
  await emitting;
  summary.ms = Date.now() - started;
  summary.outcome = outcomeOf(summary);
  return summary;
}

export function emptySummary(): RunSummary {
  return { domains: 0, pass: 0, fail: 0, dnsError: 0, errors: 0, warnings: 0, infos: 0, ms: 0, outcome: 'ok' };
}

/** Count one domain's result into a summary (its outcome is set at the end, by outcomeOf). */
export function countResult(summary: RunSummary, r: DomainResult): void {
  summary.domains++;
  if (r.status === 'pass') summary.pass++;
  else if (r.status === 'fail') summary.fail++;
  else summary.dnsError++;
  for (const f of r.findings) {
    if (f.severity === 'error') summary.errors++;
    else if (f.severity === 'warning') summary.warnings++;
    else summary.infos++;
  }
}

/** A run's outcome from its counts (a merge of several runs' results uses the same rule). */
export function outcomeOf(counts: Pick<RunSummary, 'domains' | 'fail' | 'dnsError'>): Outcome {
  return counts.domains > 0 && counts.dnsError === counts.domains ? 'dns-unavailable' : counts.fail + counts.dnsError > 0 ? 'problems' : 'ok';
}
