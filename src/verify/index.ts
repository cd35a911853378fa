/** `maildns verify`: compare what every authoritative server publishes with the plan (JSON shape: README.md). */
export { verifyPlan, VERIFY_JSON_VERSION, type VerifyOptions, type VerifyReport, type DomainVerification, type RecordReport, type ServerInfo } from './run.js';
export { compareAtServer, describeDifference, txtKind, type ServerView, type RecordState, type ExtraRecord } from './compare.js';
export { validatePublished, ZoneRoutedResolver } from './validators.js';
export { verifyDelegation, notApexFinding, canonicalAddress, type DelegationInput, type DelegationResult, type DelegationServer } from './delegation.js';
