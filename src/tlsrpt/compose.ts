/** The `_smtp._tls` TXT record of SMTP TLS Reporting (RFC 8460 §3). */

export function tlsRptRecordName(domain: string): string {
  return `_smtp._tls.${domain}`;
}

export function composeTlsRpt(rua: readonly string[]): string {
  return `v=TLSRPTv1; rua=${rua.join(',')}`;
}
