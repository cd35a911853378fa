/**
 * maildns as a library: `import { … } from 'maildns'`. One name per concept; every function that
 * asks DNS takes a Resolver (createResolver, or your own object with `lookup`), so checks run
 * against any server, the embedded one included. Errors thrown on purpose are InputError,
 * PlanError and DnsTemporaryError; findings share one type, Finding.
 */

// Findings, errors and records shared by every engine.
export { hasFindingAtLeast, formatFinding, type Finding, type Severity, type Outcome } from './findings.js';
export { InputError, PlanError, DnsTemporaryError } from './errors.js';
export type { DnsRecord, RecordType } from './records.js';

// DNS: the resolver every check takes, and the embedded authoritative server.
export {
  createResolver,
  serversByAddress,
  DnsResolver,
  describeStatus,
  isNoRecord,
  isTemporary,
  txtValues,
  type Resolver,
  type ResolverChoice,
  type DnsAnswer,
  type DnsStatus,
  type RRType,
} from './dns/resolver.js';
export { startServer, type ServeOptions, type RunningServer } from './dns/server.js';

// The plan: load, compose its records, choose the signing key.
export { loadPlan, parsePlan, readPlanFile } from './plan/load.js';
export { composePlan, composeDomain, composeMtaStsPolicy, type ComposedDomain, type ComposeOptions, type MtaStsPolicyFile } from './plan/records.js';
export { starterPlan, type StarterOptions } from './plan/init.js';
export { keyPathFor, signingChoices, signingSelectors, stateOf, withKeysDir, type SigningChoice, type SelectorState } from './plan/selectors.js';
export {
  DEFAULT_PLAN_FILE,
  type Plan,
  type DomainPlan,
  type SpfPlan,
  type DmarcPlan,
  type DkimSelectorPlan,
  type DkimAlgorithm,
  type MtaStsPlan,
  type TlsRptPlan,
  type BimiPlan,
  type SendingHostPlan,
} from './plan/types.js';

// Output providers: zone file, MyDNS form rows, JSON.
export { renderWith, providerNames, getProvider } from '../providers/index.js';
export type { OutputProvider, Rendered, RenderOptions } from '../providers/types.js';

// SPF (RFC 7208).
export { parseSpf, isSpfRecord, ownLookupCount, SPF_LOOKUP_LIMIT, SPF_VOID_LOOKUP_LIMIT, type ParsedSpf } from './spf/parse.js';
export { composeSpf, composeSpfFrom, parseAllTerm, type SpfComposeInput } from './spf/compose.js';
export { validateSpf, type SpfReport, type SpfTreeNode, type ValidateOptions as SpfValidateOptions } from './spf/validate.js';
export { checkHost, type SpfResult, type SpfVerdict, type CheckHostInput } from './spf/evaluate.js';
export { flattenSpf, FlattenError, type FlattenResult, type FlattenOptions } from './spf/flatten.js';
export { mergeSpf, checkMergedRecord, MergeInputError, type MergeResult, type MergeOptions } from './spf/merge.js';

// DKIM (RFC 6376, RFC 8463): records, keys, OpenDKIM files, rotation.
export { composeDkimRecord, publicKeyFromPem, type DkimPublicKey } from './dkim/record.js';
export { validateDkimRecord, type DkimRecordCheck } from './dkim/validate.js';
export { generateDkimKey, compareWithPrivateKey, type KeyMatch } from './dkim/keys.js';
export { keygenPlan, type KeygenResult, type KeygenOptions } from './dkim/keygen.js';
export { composeOpenDkim, type OpenDkimResult, type OpenDkimOptions } from './dkim/opendkim.js';
export { rotateKeys, rotationStatus, type RotationRequest, type RotationOutcome } from './dkim/rotate.js';
export { inspectSelectorKey, checkDkimRecordText, type SelectorKeyInfo, type RecordTextCheck } from './dkim/inspect.js';

// DMARC (RFC 7489 and RFC 9989).
export { parseDmarc, DMARC_MODES, type DmarcMode } from './dmarc/parse.js';
export { composeDmarc, dmarcPlanFromTags, type DmarcTagInput } from './dmarc/compose.js';
export { checkDmarcDomain, type DmarcCheck } from './dmarc/validate.js';
export { discoverPolicy, type PolicyDiscovery } from './dmarc/discover.js';
export { explainDmarc } from './dmarc/explain.js';

// MTA-STS (RFC 8461), TLS-RPT (RFC 8460), BIMI and the reverse DNS of sending hosts.
export { parseStsRecord, parseStsPolicy, mxMatchesPattern, type ParsedStsPolicy } from './mtasts/parse.js';
export { composeStsPolicy, composeStsRecord, stsPolicyId } from './mtasts/compose.js';
export { fetchStsPolicy, type PolicyFetch, type PolicyFetchOptions, type UnreachedAddress } from './mtasts/fetch.js';
export { auditMtaSts, type MtaStsAudit } from './mtasts/evaluate.js';
export { parseTlsRpt, type ParsedTlsRpt } from './tlsrpt/parse.js';
export { composeTlsRpt } from './tlsrpt/compose.js';
export { auditTlsRpt, type TlsRptAudit } from './tlsrpt/evaluate.js';
export { parseBimi, type ParsedBimi } from './bimi/parse.js';
export { composeBimi } from './bimi/compose.js';
export { auditBimi, type BimiAudit } from './bimi/evaluate.js';
export { reverseLookupName, composePtrRecords } from './rdns/compose.js';
export { checkReverseDns, auditReverseDns, sendingAddressesFromPlan, type SendingAddress, type ReverseDnsReport } from './rdns/evaluate.js';
export { auditStartTls, probeStartTls, type StartTlsAudit, type StartTlsOptions, type StartTlsProbe } from './starttls/probe.js';
// DNSSEC (RFC 4033-4035) of a domain's zone, and DANE TLSA for its MX hosts (RFC 7672).
export { keyTag, dsDigest, dsMatchesKey, composeDs } from './dnssec/keys.js';
export { tlsaName, matchingTlsa, composeTlsa311 } from './dnssec/tlsa.js';
export { auditDnssec, createDnssecResolvers, type DnssecResolvers, type DnssecAudit, type DnssecValidation, type TlsaHostResult } from './dnssec/evaluate.js';

// Test messages: sign, and verify as a receiver would.
export { parseMessage, readMessageFile, type ParsedMessage } from './message/message.js';
export { signMessage, loadPrivateKey, type SignOptions } from './message/sign.js';
export { verifyMessage, type MessageReport, type VerifyMessageOptions } from './message/verify.js';

// The mail host: a probe through the local Postfix, received and verified (maildns selftest).
export { runSelftest, type SelftestOptions, type SelftestReport, type SelftestVerdict } from './selftest/run.js';
export { startSmtpListener, type SmtpListener, type ListenerOptions, type ListenerLimits, type ReceivedMail } from './selftest/listener.js';
// Provider rules: Google, Yahoo and Microsoft's bulk-sender requirements as DNS and a message show them.
export { bulkSenderDomainProfile, bulkSenderMessageProfile, type ProfileReport, type ProfileRule, type RuleVerdict } from './profiles/bulk-senders.js';

// Scheduled checks of many domains, and verification of a plan against what is published.
export { auditDomain, type DomainResult, type AuditOptions } from './check/audit.js';
export { runChecks, outcomeOf, type RunOptions, type RunSummary } from './check/run.js';
export { parseShard, shardOf, selectNames, type Shard } from './check/shard.js';
export { domainSource, type DomainSource } from './check/input.js';
// Reading check's JSON/NDJSON reports back, and merging shards (the run history is in 'maildns/history').
export { openReport, reportResults, type ReportFile, type ReportContext } from './report/format.js';
export { CHECK_JSON_VERSION } from './report/json-version.js';
export { prepareMerge, type PreparedMerge, type MergedSummary } from './report/merge.js';
export { compareResults, anyWorse, type DomainChange } from './history/changes.js';
export { DEFAULT_CONCURRENCY, bulkResolverSettings } from './check/settings.js';
export { verifyPlan, type VerifyReport, type VerifyOptions } from './verify/run.js';
