/** DNSSEC of a domain's zone (signed, DS at the parent, validated) and DANE TLSA for its MX hosts. */
export { keyTag, dsDigest, dsMatchesKey, composeDs, canonicalName, algorithmName } from './keys.js';
export { tlsaName, tlsaText, unusableForSmtp, associationData, matchingTlsa, composeTlsa311, daneFindings } from './tlsa.js';
export {
  auditDnssec,
  createDnssecResolvers,
  usableTlsa,
  type DnssecResolvers,
  type DnssecAudit,
  type DnssecCheck,
  type DnssecValidation,
  type DnskeyInfo,
  type DsInfo,
  type TlsaHostResult,
  type TlsaState,
} from './evaluate.js';
