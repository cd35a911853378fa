/** SPF (RFC 7208): parse, compose, merge, validate a published domain, evaluate check_host(), flatten and watch a flattening. */
export { parseSpf, isSpfRecord, formatSyntaxError, type ParsedSpf, type SpfTerm, type SpfMechanism, type SpfModifier, type SpfSyntaxError, type Qualifier } from './parse.js';
export { composeSpf, composeSpfFrom, type SpfComposeInput } from './compose.js';
export { validateSpf, txtAnswerSize, type SpfReport, type SpfTreeNode } from './validate.js';
export { checkHost, checkSender, SPF_RESULTS, type SpfResult, type SpfVerdict, type CheckHostInput } from './evaluate.js';
export { flattenSpf, FlattenError, type FlattenResult, type FlatRecord } from './flatten.js';
export { mergeSpf, MergeInputError, type MergeResult, type MergeOptions } from './merge.js';
export { makeSnapshot, compareSnapshot, readSnapshot, writeSnapshot, type SpfSnapshot, type SnapshotComparison } from './snapshot.js';
export { expandMacroString, tokenizeMacroString, type MacroContext } from './macro.js';
