/**
 * The records and the file of an MTA-STS policy (RFC 8461): the policy text served over HTTPS,
 * the `_mta-sts` TXT record whose id names that text, and where the text must be served.
 */
import { createHash } from 'node:crypto';
import type { StsMode } from './parse.js';

/** §3.3: the policy's path on the policy host. */
export const STS_POLICY_PATH = '/.well-known/mta-sts.txt';

export interface StsPolicyInput {
  mode: StsMode;
  /** MX patterns: host names, or `*.` and a domain. */
  mx: readonly string[];
  /** Seconds. */
  maxAge: number;
}

/** §3.2: the policy file, CRLF-separated lines in the order of the RFC's examples. */
export function composeStsPolicy(p: StsPolicyInput): string {
  const lines = ['version: STSv1', `mode: ${p.mode}`, ...p.mx.map((m) => `mx: ${m.toLowerCase().replace(/\.$/, '')}`), `max_age: ${p.maxAge}`];
  return `${lines.join('\r\n')}\r\n`;
}

/**
 * §3.1: the id must change whenever the policy does. Derived from the policy text (SHA-256, the
 * first 32 hex digits), it changes exactly then and is the same on every run.
 */
export function stsPolicyId(policyText: string): string {
  return createHash('sha256').update(policyText, 'utf8').digest('hex').slice(0, 32);
}

/** §3.1: the `_mta-sts.<domain>` TXT record for a policy text. */
export function composeStsRecord(policyText: string): string {
  return `v=STSv1; id=${stsPolicyId(policyText)}`;
}

/** §3.1: the TXT record's owner name. */
export function stsRecordName(domain: string): string {
  return `_mta-sts.${domain}`;
}

/** §3.3: the host the policy is fetched from (its certificate must be valid for this name). */
export function stsPolicyHost(domain: string): string {
  return `mta-sts.${domain}`;
}

/** §3.3: the policy's full URL. */
export function stsPolicyUrl(domain: string): string {
  return `https://${stsPolicyHost(domain)}${STS_POLICY_PATH}`;
}
