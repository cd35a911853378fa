/** Findings about the TLS-RPT records at `_smtp._tls.<domain>` (RFC 8460 §3). */
import type { Finding } from '../findings.js';
import { isTlsRptRecord, parseTlsRpt, whyNotTlsRptRecord, type ParsedTlsRpt } from './parse.js';

interface TlsRptCheck {
  record: string | null;
  parsed: ParsedTlsRpt | null;
  findings: Finding[];
}

export function checkTlsRptRecords(values: readonly string[], name: string): TlsRptCheck {
  const records = values.filter(isTlsRptRecord);
  if (records.length === 0) {
    const near = values.flatMap((v) => {
      const why = whyNotTlsRptRecord(v);
      return why ? [{ v, why }] : [];
    });
    return {
      record: null,
      parsed: null,
      findings: near.map(({ v, why }) => ({
        code: 'tls-rpt.invalid-record',
        severity: 'error' as const,
        subject: name,
        message: `"${v.slice(0, 80)}" is not read as a TLS-RPT record: ${why}`,
        fix: 'write the record as "v=TLSRPTv1; rua=mailto:tls-reports@example.com"',
        rfc: 'RFC 8460 §3',
      })),
    };
  }
  if (records.length > 1) {
    return {
      record: null,
      parsed: null,
      findings: [
        {
          code: 'tls-rpt.multiple-records',
          severity: 'error',
          subject: name,
          message: `${records.length} TLS-RPT records are published; senders then send no TLS reports at all`,
          fix: 'keep one "v=TLSRPTv1; rua=..." record (one rua= may list several addresses, comma-separated)',
          rfc: 'RFC 8460 §3',
        },
      ],
    };
  }
  const parsed = parseTlsRpt(records[0]!);
  const findings: Finding[] = parsed.problems.length
    ? [
        {
          code: 'tls-rpt.invalid-record',
          severity: 'error',
          subject: name,
          message: `the TLS-RPT record is not valid (${parsed.problems.join('; ')})${parsed.rua.length ? '' : '; senders send no reports'}`,
          fix: 'publish "v=TLSRPTv1; rua=mailto:ADDRESS" (https: URLs are allowed too; `maildns records` composes it)',
          rfc: 'RFC 8460 §3',
        },
      ]
    : [];
  for (const warning of parsed.warnings) {
    findings.push({ code: 'tls-rpt.whitespace', severity: 'warning', subject: name, message: `the TLS-RPT record: ${warning}`, fix: 'publish it as `maildns records` composes it: "v=TLSRPTv1; rua=URI,URI"', rfc: 'RFC 8460 §3' });
  }
  for (const miscased of parsed.miscased) {
    findings.push({ code: 'tls-rpt.field-case', severity: 'warning', subject: name, message: `the TLS-RPT record: ${miscased}`, fix: 'put its URIs in the rua field (comma-separated), or remove it', rfc: 'RFC 8460 §3' });
  }
  return { record: records[0]!, parsed, findings };
}
