/** The BIMI Assertion Record at `<selector>._bimi.<domain>`. */

export function bimiRecordName(selector: string, domain: string): string {
  return `${selector}._bimi.${domain}`;
}

/** `v=BIMI1; l=…; a=…`; both empty is a declination record. */
export function composeBimi(b: { logo: string; authority: string }): string {
  return `v=BIMI1; l=${b.logo}; a=${b.authority}`;
}
