/** SMTP TLS Reporting (RFC 8460): the `_smtp._tls` record, composed and checked. */
export { isTlsRptRecord, parseTlsRpt, tlsRptUriProblem, type ParsedTlsRpt } from './parse.js';
export { composeTlsRpt, tlsRptRecordName } from './compose.js';
export { checkTlsRptRecords, type TlsRptCheck } from './validate.js';
export { auditTlsRpt, type TlsRptAudit } from './evaluate.js';
