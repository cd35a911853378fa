/** The two rule sets DMARC records are read under: RFC 7489 (Public Suffix List) and RFC 9989 (DNS tree walk). */
export type DmarcMode = '7489' | '9989';
export const DMARC_MODES: readonly DmarcMode[] = ['7489', '9989'];
