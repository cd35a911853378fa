/** DMARC: parse, compose, validate, discover policy, alignment. */
export * from './align.js';
export { composeDmarc, reportAuthorizationName } from './compose.js';
export * from './parse.js';
export { lintDmarc, type LintOptions } from './lint.js';
export * from './discover.js';
export * from './validate.js';
export { explainDmarc, explainTag, type TagMeaning } from './explain.js';
