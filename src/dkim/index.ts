/** DKIM: key records, keys, OpenDKIM files and rotation. */
export { composeDkimRecord, publicKeyFromPem, publicKeyOf, type DkimPublicKey, type DkimKeyType, type DkimRecordOptions } from './record.js';
export { parseTagList, parseDkimKeyRecord, type DkimKeyRecord, type TagList } from './parse.js';
export { validateDkimRecord, type DkimRecordCheck } from './validate.js';
export { generateDkimKey, decodePublishedKey, compareWithPrivateKey, publishedKeyMatches, algorithmOf, type KeyMatch } from './keys.js';
export { keygenPlan, ensureSelectorKey, genkeyTxt, recordOptions, type KeygenResult, type KeygenOptions } from './keygen.js';
export { composeOpenDkim, postfixMilterAddress, signingTableCatchAlls, type OpenDkimResult, type OpenDkimOptions } from './opendkim.js';
export { rotationStatus, rotateKeys, dateSelector, addPublishedSelector, activateSelectors, retireSelectors, type RotationRequest, type RotationOutcome } from './rotate.js';
export { inspectSelectorKey, checkDkimRecordText, type SelectorKeyInfo, type RecordTextCheck } from './inspect.js';
