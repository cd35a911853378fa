/** MTA-STS (RFC 8461): the `_mta-sts` record, the policy file, fetching it over HTTPS and checking both. */
export { isStsRecord, parseStsRecord, parseStsPolicy, mxMatchesPattern, isMxPattern, STS_MODES, MAX_STS_MAX_AGE, type StsMode, type ParsedStsRecord, type ParsedStsPolicy } from './parse.js';
export { composeStsPolicy, composeStsRecord, stsPolicyId, stsRecordName, stsPolicyHost, stsPolicyUrl, STS_POLICY_PATH, type StsPolicyInput } from './compose.js';
export { fetchStsPolicy, DEFAULT_POLICY_MAX_BYTES, DEFAULT_POLICY_TIMEOUT_MS, type PolicyFetch, type PolicyFetchOptions, type PolicyFetchFailure, type UnreachedAddress } from './fetch.js';
export { checkStsRecords, checkStsPolicy, fetchFailureFinding, unreachedAddressFinding, policyDifferences, type StsRecordCheck } from './validate.js';
export { auditMtaSts, auditStsPolicy, type MtaStsAudit, type MtaStsAuditOptions, type StsPolicyAudit } from './evaluate.js';
