/**
 * The version of check's JSON and NDJSON reports. Fields are only added within a version. A module
 * of its own: the reporters that write it need nothing else of format.ts, which reads reports back.
 */
export const CHECK_JSON_VERSION = 1;
