/**
 * The BIMI audit of one domain: the Assertion Record at `<selector>._bimi.<domain>` (one DNS
 * question) and, when a logo is published, whether the DMARC policy allows it to be shown. A domain
 * without the record gets no finding: BIMI is optional. The SVG itself is not fetched.
 */
import { isTemporary, txtValues, type Resolver } from '../dns/resolver.js';
import { discoverPolicy } from '../dmarc/discover.js';
import type { Finding } from '../findings.js';
import { temporaryFinding } from '../dns/failure.js';
import { bimiRecordName } from './compose.js';
import { isBimiRecord } from './parse.js';
import { checkBimiDmarc, checkBimiRecords } from './validate.js';

export interface BimiAudit {
  findings: Finding[];
  dnsFailed: boolean;
  /** The record(s) beginning with v=BIMI1; null when there is none. */
  published: string | string[] | null;
}


export async function auditBimi(resolver: Resolver, domain: string, selector = 'default'): Promise<BimiAudit> {
  const name = bimiRecordName(selector, domain);
  const answer = await resolver.lookup(name, 'TXT');
  if (isTemporary(answer.status)) return { findings: [temporaryFinding('bimi', name, `the BIMI record at ${name}`, answer)], dnsFailed: true, published: null };
  const values = txtValues(answer);
  const check = checkBimiRecords(values, name);
  const records = values.filter(isBimiRecord);
  const result: BimiAudit = { findings: check.findings, dnsFailed: false, published: records.length === 0 ? null : records.length === 1 ? records[0]! : records };
  if (!check.parsed || check.parsed.problems.length || check.parsed.declined) return result;
  // The DMARC answers are shared with the DMARC audit (the resolver's cache): no new question in a check.
  const discovery = await discoverPolicy(resolver, domain, '9989', { checkExistence: false });
  if (discovery.status === 'temperror') {
    result.dnsFailed = true;
    result.findings.push(temporaryFinding('bimi', name, 'the DMARC policy BIMI depends on', { status: 'error', detail: discovery.reason }));
  }
  result.findings.push(...checkBimiDmarc(discovery, name));
  return result;
}
