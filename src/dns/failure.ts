/** The one finding every check makes when an answer it needs could not be had. */
import type { Finding } from '../findings.js';
import { describeAnswer, dnsFailureCode, type DnsAnswer } from './resolver.js';

/** What to do about an answer that could not be had. */
export const TEMPORARY_FAILURE_FIX = 'run again later, or ask another server with --nameserver';

/** `area`: spf, dkim, mx, mta-sts, …; the code is `<area>.dns-temporary`, or `<area>.dns-malformed` for a broken answer. */
export function temporaryFinding(area: string, subject: string, what: string, answer: Pick<DnsAnswer<unknown>, 'status' | 'detail'>): Finding {
  return {
    code: dnsFailureCode(area, answer.status),
    severity: 'error',
    subject,
    message: `could not read ${what}: ${describeAnswer(answer)}; this is a temporary failure, not a missing record`,
    fix: TEMPORARY_FAILURE_FIX,
  };
}
