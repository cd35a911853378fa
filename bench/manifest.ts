/**
 * Score `maildns check` results against the manifest.json of bench/vendor/mkbulk.py: every
 * broken domain must be found with the finding its breakage calls for, and no other domain may
 * fail (no error finding: a false alarm). Warnings on healthy domains (advice, such as an SPF record
 * at 9 of its 10 lookups) are counted by code and shown, not treated as alarms.
 */
import { readFileSync } from 'node:fs';
import type { DomainResult } from '../src/check/audit.js';

export interface ManifestEntry {
  domain: string;
  broken: 'spf_multiple' | 'spf_too_many' | 'dmarc_p_none' | 'dmarc_missing' | null;
}

/** The finding code each kind of breakage must produce. */
const EXPECTED_CODE: Record<NonNullable<ManifestEntry['broken']>, string> = {
  spf_multiple: 'spf.multiple-records',
  spf_too_many: 'spf.too-many-lookups',
  dmarc_p_none: 'dmarc.policy-none',
  dmarc_missing: 'dmarc.no-record',
};

export function readManifest(file: string): Map<string, ManifestEntry> {
  const entries = JSON.parse(readFileSync(file, 'utf8')) as ManifestEntry[];
  return new Map(entries.map((e) => [e.domain, { domain: e.domain, broken: e.broken }]));
}

export interface Score {
  checked: number;
  broken: number;
  found: number;
  /** Broken domains whose expected finding is missing. */
  missed: string[];
  /** Healthy domains that fail (an error finding): "domain: code, code". */
  falseAlarms: string[];
  /** Warnings on healthy domains, by code (advice such as "9 of 10 SPF lookups used", not failures). */
  healthyWarnings: Record<string, number>;
  /** Domains whose DNS failed (none expected on a local server). */
  dnsErrors: string[];
  /** Domains the manifest does not know. */
  unknown: string[];
}

export function newScore(): Score {
  return { checked: 0, broken: 0, found: 0, missed: [], falseAlarms: [], healthyWarnings: {}, dnsErrors: [], unknown: [] };
}

/** Add one result to the score (results stream in; only the mismatches are kept). */
export function scoreResult(score: Score, manifest: ReadonlyMap<string, ManifestEntry>, r: DomainResult): void {
  score.checked++;
  const entry = manifest.get(r.domain);
  if (!entry) {
    score.unknown.push(r.domain);
    return;
  }
  if (r.status === 'dns-error') score.dnsErrors.push(r.domain);
  const alarms = r.findings.filter((f) => f.severity !== 'info');
  if (entry.broken) {
    score.broken++;
    const code = EXPECTED_CODE[entry.broken];
    if (r.findings.some((f) => f.code === code)) score.found++;
    else score.missed.push(`${r.domain} (${entry.broken}: expected ${code}; got ${alarms.map((f) => f.code).join(', ') || 'nothing'})`);
    return;
  }
  const errors = r.findings.filter((f) => f.severity === 'error');
  if (errors.length || r.status === 'fail') score.falseAlarms.push(`${r.domain}: ${errors.map((f) => f.code).join(', ')}`);
  for (const f of r.findings.filter((x) => x.severity === 'warning')) score.healthyWarnings[f.code] = (score.healthyWarnings[f.code] ?? 0) + 1;
}

export function scoreIsPerfect(s: Score): boolean {
  return s.missed.length === 0 && s.falseAlarms.length === 0 && s.dnsErrors.length === 0 && s.unknown.length === 0 && s.found === s.broken;
}
