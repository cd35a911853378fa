/** The TLS-RPT audit of one domain: one DNS question; a domain without the record gets no finding (TLS-RPT is optional). */
import { isTemporary, txtValues, type Resolver } from '../dns/resolver.js';
import type { Finding } from '../findings.js';
import { temporaryFinding } from '../dns/failure.js';
import { tlsRptRecordName } from './compose.js';
import { isTlsRptRecord } from './parse.js';
import { checkTlsRptRecords } from './validate.js';

export interface TlsRptAudit {
  findings: Finding[];
  dnsFailed: boolean;
  /** The record(s) beginning with v=TLSRPTv1; null when there is none. */
  published: string | string[] | null;
}

export async function auditTlsRpt(resolver: Resolver, domain: string): Promise<TlsRptAudit> {
  const name = tlsRptRecordName(domain);
  const answer = await resolver.lookup(name, 'TXT');
  if (isTemporary(answer.status)) {
    return {
      findings: [temporaryFinding('tls-rpt', name, `the TLS-RPT record at ${name}`, answer)],
      dnsFailed: true,
      published: null,
    };
  }
  const values = txtValues(answer);
  const check = checkTlsRptRecords(values, name);
  const records = values.filter(isTlsRptRecord);
  return { findings: check.findings, dnsFailed: false, published: records.length === 0 ? null : records.length === 1 ? records[0]! : records };
}
