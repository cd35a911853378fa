/**
 * A TLS error in one line. OpenSSL's messages carry its error queue ("write EPROTO 80FC…:error:0A00010B:
 * SSL routines:ssl3_get_record:wrong version number:../deps/openssl/…/ssl3_record.c:350:" and a
 * newline); what happened is its reason field, which node also gives as `reason` on some errors.
 */
export function tlsErrorText(err: Error & { reason?: unknown }): string {
  if (typeof err.reason === 'string' && err.reason) return err.reason;
  const openssl = /:error:[0-9A-Fa-f]+:[^:]*:[^:]*:([^:\n]+)/.exec(err.message);
  return openssl ? openssl[1]!.trim() : err.message.split('\n')[0]!.trim();
}
