/** BIMI (draft-brand-indicators-for-message-identification): the Assertion Record and its DMARC prerequisite. */
export { isBimiRecord, parseBimi, bimiUriProblem, type ParsedBimi } from './parse.js';
export { composeBimi, bimiRecordName } from './compose.js';
export { checkBimiRecords, checkBimiDmarc, type BimiCheck } from './validate.js';
export { auditBimi, type BimiAudit } from './evaluate.js';
