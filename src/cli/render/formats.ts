/** The report formats of `check` and `report merge`: a light module, so the flag's choices are known without loading a renderer. */
export const CHECK_FORMATS = ['text', 'json', 'ndjson', 'junit', 'html'] as const;
export type CheckFormat = (typeof CHECK_FORMATS)[number];
