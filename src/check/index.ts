/** Plan-less audits of many domains: SPF, DMARC, DKIM (given selectors) and MX. */
export { auditDomain, type DomainResult, type DomainStatus, type AuditOptions } from './audit.js';
export { auditDkim, auditDmarc, auditMx, auditSpf, type MechanismResult } from './mechanisms.js';
export { runChecks, type RunOptions, type RunSummary } from './run.js';
export { domainSource, type DomainSource } from './input.js';
export { parseShard, shardOf, selectNames, MAX_SHARDS, type Shard } from './shard.js';
export { NameSet } from './name-set.js';
