/** Findings about a published MTA-STS record and policy (RFC 8461), and a policy against a plan. */
import type { Finding, Severity } from '../findings.js';
import { stsPolicyUrl, type StsPolicyInput } from './compose.js';
import type { PolicyFetch } from './fetch.js';
import { isStsRecord, MAX_STS_MAX_AGE, mxMatchesPattern, parseStsRecord, whyNotStsRecord, type ParsedStsPolicy, type ParsedStsRecord } from './parse.js';

/** §3.2 asks for max_age "in the range of weeks or greater"; under a day leaves refreshes open to attack. */
const SHORT_MAX_AGE = 86_400;

interface StsRecordCheck {
  /** The single MTA-STS record, or null (none, or several). */
  record: string | null;
  parsed: ParsedStsRecord | null;
  findings: Finding[];
}

/** §3.1: the TXT values at `_mta-sts.<domain>`: exactly one must begin with v=STSv1 and be valid. */
export function checkStsRecords(values: readonly string[], name: string): StsRecordCheck {
  const sts = values.filter(isStsRecord);
  if (sts.length === 0) {
    // A near miss ("v=stsv1", a space before "=") is an attempt that senders ignore: say so.
    const near = values.flatMap((v) => {
      const why = whyNotStsRecord(v);
      return why ? [{ v, why }] : [];
    });
    return {
      record: null,
      parsed: null,
      findings: near.map(({ v, why }) => ({
        code: 'mta-sts.invalid-record',
        severity: 'error' as Severity,
        subject: name,
        message: `"${v.slice(0, 80)}" is not read as an MTA-STS record: ${why}`,
        fix: 'write the record as "v=STSv1; id=<id>" (case matters)',
        rfc: 'RFC 8461 §3.1',
      })),
    };
  }
  if (sts.length > 1) {
    return {
      record: null,
      parsed: null,
      findings: [
        {
          code: 'mta-sts.multiple-records',
          severity: 'error',
          subject: name,
          message: `${sts.length} MTA-STS records are published; senders then act as if the domain had no MTA-STS policy`,
          fix: 'keep one "v=STSv1; id=..." record and delete the others',
          rfc: 'RFC 8461 §3.1',
        },
      ],
    };
  }
  const parsed = parseStsRecord(sts[0]!);
  const findings: Finding[] = parsed.problems.length
    ? [
        {
          code: 'mta-sts.invalid-record',
          severity: 'error',
          subject: name,
          message: `the MTA-STS record is not valid (${parsed.problems.join('; ')}); senders act as if the domain had no policy`,
          fix: 'publish "v=STSv1; id=<1 to 32 letters and digits>" (`maildns records` composes it)',
          rfc: 'RFC 8461 §3.1',
        },
      ]
    : [];
  for (const warning of parsed.warnings) {
    findings.push({ code: 'mta-sts.whitespace', severity: 'warning', subject: name, message: `the MTA-STS record: ${warning}`, fix: 'publish it as `maildns records` composes it: "v=STSv1; id=<id>"', rfc: 'RFC 8461 §3.1' });
  }
  for (const miscased of parsed.miscased) {
    findings.push({ code: 'mta-sts.field-case', severity: 'warning', subject: name, message: `the MTA-STS record: ${miscased}`, fix: 'remove it: senders go by id= alone, so change that one whenever the policy changes', rfc: 'RFC 8461 §3.1' });
  }
  return { record: sts[0]!, parsed, findings };
}

const FETCH_FAILURE: Record<Exclude<NonNullable<PolicyFetch['failure']>, 'dns-temporary'>, { code: string; what: string; fix: string; rfc: string }> = {
  'no-address': { code: 'mta-sts.policy-host-missing', what: 'the policy host has no address', fix: 'publish an A/AAAA (or CNAME) record for the policy host pointing at the web server that serves the policy', rfc: 'RFC 8461 §3.3' },
  connect: { code: 'mta-sts.policy-unreachable', what: 'the policy host could not be reached', fix: 'check that a web server listens for HTTPS on each address of the policy host and that no firewall drops the connection', rfc: 'RFC 8461 §3.3' },
  tls: { code: 'mta-sts.policy-unreachable', what: 'no TLS session could be set up with the policy host', fix: 'check the web server\'s TLS set-up on the policy host', rfc: 'RFC 8461 §3.3' },
  timeout: { code: 'mta-sts.policy-timeout', what: 'the policy host did not answer in time', fix: 'make the web server answer the policy request promptly', rfc: 'RFC 8461 §3.3' },
  certificate: { code: 'mta-sts.policy-certificate', what: 'the policy host\'s certificate is not valid for its name or not trusted', fix: 'serve a certificate for the policy host from a public CA (the name must be in its subjectAltName)', rfc: 'RFC 8461 §3.3' },
  redirect: { code: 'mta-sts.policy-redirect', what: 'the policy URL answers with a redirect, which senders must not follow', fix: 'serve the policy file itself at the policy URL, without a redirect', rfc: 'RFC 8461 §3.3' },
  'http-status': { code: 'mta-sts.policy-http-status', what: 'the policy URL does not answer 200 OK', fix: 'publish the policy file at the policy URL (`maildns mta-sts --out DIR` writes it)', rfc: 'RFC 8461 §3.3' },
  'content-type': { code: 'mta-sts.policy-content-type', what: 'the policy is not served as text/plain', fix: 'have the web server send "Content-Type: text/plain" for mta-sts.txt', rfc: 'RFC 8461 §3.2' },
  'too-large': { code: 'mta-sts.policy-too-large', what: 'the policy is larger than senders read', fix: 'serve the short policy file itself (a few lines)', rfc: 'RFC 8461 §3.3' },
  'content-encoding': { code: 'mta-sts.policy-content-encoding', what: 'the policy cannot be decoded', fix: 'serve mta-sts.txt without a Content-Encoding (turn compression off for it)', rfc: 'RFC 8461 §3.3' },
  'not-utf8': { code: 'mta-sts.policy-invalid', what: 'the policy is not text', fix: 'serve the policy file `maildns mta-sts` writes', rfc: 'RFC 8461 §3.2' },
};

/** A failed fetch as a finding (a temporary DNS failure is the caller's to report). */
export function fetchFailureFinding(fetch: PolicyFetch, domain: string): Finding | null {
  if (fetch.ok || !fetch.failure || fetch.failure === 'dns-temporary') return null;
  const f = FETCH_FAILURE[fetch.failure];
  return {
    code: f.code,
    severity: 'error',
    subject: stsPolicyUrl(domain),
    message: `${f.what}: ${fetch.detail ?? fetch.failure}; senders then treat ${domain} as having no MTA-STS policy`,
    fix: f.fix,
    rfc: f.rfc,
  };
}

/**
 * A policy fetched after addresses of the policy host were given up (§3.3): each sender that tries one
 * of them first waits on it at every refresh, and one that waits less or tries a single address takes
 * the domain for one without a policy. A failed fetch names them in its own finding instead.
 */
export function unreachedAddressFinding(fetch: PolicyFetch, domain: string): Finding | null {
  if (!fetch.ok || !fetch.unreached?.length) return null;
  const dead = fetch.unreached.map((u) => u.address);
  const several = dead.length > 1;
  return {
    code: 'mta-sts.policy-address-unreachable',
    severity: 'warning',
    subject: stsPolicyUrl(domain),
    message: `not every address of ${fetch.host} took the connection (${fetch.unreached.map((u) => u.detail).join('; ')}); the policy was served by ${fetch.address}, so senders that try ${several ? 'those addresses' : 'that address'} first lose time on each policy refresh, and one that waits less or tries a single address may treat ${domain} as having no MTA-STS policy`,
    fix: `make every address of ${fetch.host} serve the policy, or remove the dead address${several ? 'es' : ''} ${dead.join(', ')} from DNS`,
    rfc: 'RFC 8461 §3.3',
  };
}

/** The policy's own rules (§3.2) and whether it allows every MX host of the domain (§4.1). */
export function checkStsPolicy(policy: ParsedStsPolicy, mxHosts: readonly string[] | null, domain: string): Finding[] {
  const subject = stsPolicyUrl(domain);
  const out: Finding[] = [];
  if (policy.problems.length) {
    out.push({
      code: 'mta-sts.policy-invalid',
      severity: 'error',
      subject,
      message: `the policy is not valid (${policy.problems.join('; ')}); senders ignore it`,
      fix: 'serve the policy file `maildns mta-sts` writes from the plan',
      rfc: 'RFC 8461 §3.2',
    });
  }
  if (policy.maxAge !== null && policy.maxAge > MAX_STS_MAX_AGE) {
    out.push({ code: 'mta-sts.max-age-too-large', severity: 'error', subject, message: `max_age ${policy.maxAge} is above the largest allowed, ${MAX_STS_MAX_AGE} seconds (a year)`, fix: 'use 604800 (a week) to 31557600', rfc: 'RFC 8461 §3.2' });
  } else if (policy.maxAge !== null && policy.mode !== 'none' && policy.maxAge < SHORT_MAX_AGE) {
    out.push({ code: 'mta-sts.max-age-short', severity: 'warning', subject, message: `max_age ${policy.maxAge} is under a day: senders forget the policy quickly, which leaves each refresh open to a downgrade`, fix: 'use weeks: 604800 (a week) or more', rfc: 'RFC 8461 §3.2' });
  }
  if (policy.mode === 'testing') {
    out.push({ code: 'mta-sts.mode-testing', severity: 'info', subject, message: 'mode testing: senders report TLS failures (TLS-RPT) but still deliver over plain or unverified connections', fix: 'switch to mode enforce once the TLS reports show no failures', rfc: 'RFC 8461 §5' });
  } else if (policy.mode === 'none') {
    out.push({ code: 'mta-sts.mode-none', severity: 'info', subject, message: 'mode none: senders treat the domain as having no active policy (the way to withdraw one)', rfc: 'RFC 8461 §5' });
  }
  if (mxHosts && policy.mode && policy.mode !== 'none' && policy.mx.length) {
    const uncovered = mxHosts.filter((h) => !policy.mx.some((p) => mxMatchesPattern(h, p)));
    for (const host of uncovered) {
      out.push({
        code: 'mta-sts.mx-not-covered',
        severity: policy.mode === 'enforce' ? 'error' : 'warning',
        subject,
        message: `the MX host ${host} matches no "mx:" line of the policy (${policy.mx.join(', ')})${policy.mode === 'enforce' ? '; senders that enforce the policy will not deliver to it' : '; in enforce mode senders would not deliver to it'}`,
        fix: `add "mx: ${host}" (or a "*." pattern for its parent domain) to the policy, and change the id of the _mta-sts record`,
        rfc: 'RFC 8461 §4.1',
      });
    }
  }
  return out;
}

/** How a published policy differs from the planned one: one phrase per difference, empty when they agree. */
export function policyDifferences(planned: StsPolicyInput, published: ParsedStsPolicy): string[] {
  const out: string[] = [];
  if (published.mode !== planned.mode) out.push(`mode is ${published.mode ?? 'missing'}, the plan says ${planned.mode}`);
  if (published.maxAge !== planned.maxAge) out.push(`max_age is ${published.maxAge ?? 'missing'}, the plan says ${planned.maxAge}`);
  const want = new Set(planned.mx.map((m) => m.toLowerCase().replace(/\.$/, '')));
  const have = new Set(published.mx);
  const missing = [...want].filter((m) => !have.has(m));
  const extra = [...have].filter((m) => !want.has(m));
  if (missing.length) out.push(`mx ${missing.join(', ')} ${missing.length === 1 ? 'is' : 'are'} missing`);
  if (extra.length) out.push(`mx ${extra.join(', ')} ${extra.length === 1 ? 'is' : 'are'} not in the plan`);
  return out;
}
