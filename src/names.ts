/** Domain-name helpers. Names inside maildns are absolute, lower-case and without the trailing dot. */
import { domainToASCII } from 'node:url';
import { isIpAddress } from './ipv6.js';

/** The characters trim() removes (JavaScript's white space and line terminators). */
function isTrimmed(code: number): boolean {
  return code <= 0x20 ? code === 0x20 || (code >= 0x09 && code <= 0x0d) : code >= 0xa0 && (code === 0xa0 || code === 0x1680 || (code >= 0x2000 && code <= 0x200a) || code === 0x2028 || code === 0x2029 || code === 0x202f || code === 0x205f || code === 0x3000 || code === 0xfeff);
}

/** Whether normalizeName would change `name`: ASCII upper case, a trailing dot, white space at either end. */
function isNormal(name: string): boolean {
  const n = name.length;
  if (n === 0) return true;
  const last = name.charCodeAt(n - 1);
  if (last === 0x2e || isTrimmed(last) || isTrimmed(name.charCodeAt(0))) return false;
  // A loop over the codes: the regular expression it replaced took 3% of a bulk check's CPU (every name passed on is tested).
  for (let i = 0; i < n; i++) {
    const c = name.charCodeAt(i);
    if (c >= 0x41 && c <= 0x5a) return false;
  }
  return true;
}

/**
 * Absolute, lower-case, no trailing dot. Only A-Z is folded: DNS compares names case-insensitively
 * for ASCII alone (RFC 4343), so "bÜcher.de" and "bücher.de" are different names.
 */
export function normalizeName(name: string): string {
  // Most names are already normal (every answer and every check passes them on): no copy then.
  if (isNormal(name)) return name;
  return name
    .trim()
    .replace(/\.$/, '')
    .replace(/[A-Z]+/g, (s) => s.toLowerCase());
}

/** True when `name` equals `zone` or lies below it. */
export function isAtOrBelow(name: string, zone: string): boolean {
  const n = normalizeName(name);
  const z = normalizeName(zone);
  if (z === '' || n === z) return true;
  // The "." before the zone and the zone itself, without building ".zone" (a bulk run asks this per lookup).
  return n.length > z.length && n.charCodeAt(n.length - z.length - 1) === 0x2e && n.endsWith(z);
}

/** The part of `name` left of `origin`, or `@` for the origin itself; null when outside it. */
export function relativeName(name: string, origin: string): string | null {
  const n = normalizeName(name);
  const o = normalizeName(origin);
  if (n === o) return '@';
  if (o === '') return n;
  if (n.endsWith(`.${o}`)) return n.slice(0, -(o.length + 1));
  return null;
}

/**
 * RFC 1035 §2.3.4 limits: labels of 1-63 octets, whole name at most 253 characters in text form.
 * A name in Unicode is asked for by its A-label, which is given as the fix (RFC 5890 §2.3.2.1).
 */
export function domainNameProblem(name: string): string | null {
  const n = name.replace(/\.$/, '');
  if (n.length === 0) return 'is empty';
  if (/[^\x00-\x7f]/.test(n)) {
    const aLabel = domainToASCII(n);
    return aLabel ? `is an internationalized name; write it in its ASCII (A-label) form: ${aLabel}` : 'is not a valid internationalized domain name';
  }
  if (n.length > 253) return `is ${n.length} characters long (at most 253)`;
  for (const label of n.split('.')) {
    if (label.length === 0) return 'has an empty label (two dots in a row?)';
    if (label.length > 63) return `has a label of ${label.length} characters (at most 63): "${label}"`;
    if (!/^[A-Za-z0-9_](?:[A-Za-z0-9_-]*[A-Za-z0-9_])?$/.test(label)) {
      return `has a label with characters a host name cannot carry: "${label}"`;
    }
  }
  return null;
}

/**
 * Why `name` cannot own a record the plan adds to `domain`'s zone, with the fix; null when it can.
 * It is written as in a zone file under $ORIGIN domain: relative ("_verify", "@" for the domain
 * itself) or full with its trailing dot; a leading "*" label is a wildcard (RFC 4592).
 */
export function recordNameProblem(name: string, domain: string): string | null {
  if (name === '@') return null;
  const zone = normalizeName(domain);
  const fix = `write it relative to ${zone}, such as _verify, or in full with its trailing dot, such as _verify.${zone}.`;
  if (!name.endsWith('.') && isAtOrBelow(name, zone)) {
    // A zone file reads it relative to the origin: _verify.example.com would become _verify.example.com.example.com.
    const relative = relativeName(name, zone)!;
    return `is the full name without its trailing dot, so it would be read as ${normalizeName(name)}.${zone}; write "${normalizeName(name)}." or "${relative}"`;
  }
  const full = name.endsWith('.') ? name : `${name}.${zone}`;
  if (name.endsWith('.') && !isAtOrBelow(full, zone)) return `is outside ${zone}, so it is no name of this domain's zone; ${fix}, or plan that name under its own domain`;
  // The name as written first, so that an internationalized name's fix is its own A-label; then the full name's length.
  // The wildcard label checked as a one-letter label: the same length, and "*" is allowed there alone.
  const unstarred = (n: string): string => n.replace(/^\*(?=\.|$)/, 'w');
  const asWritten = domainNameProblem(unstarred(name));
  const fullProblem = asWritten ? null : domainNameProblem(unstarred(full));
  const problem = asWritten ?? (fullProblem && (name.endsWith('.') ? fullProblem : `with ${zone} added ${fullProblem}`));
  if (!problem) return null;
  return /[^\x00-\x7f]/.test(name) ? problem : `${problem}; ${fix}`;
}

/** True for an IPv4 or IPv6 address, bare or in brackets, with or without a trailing dot. */
export function isAddress(name: string): boolean {
  const n = normalizeName(name);
  return isIpAddress(n) || /^\[.*\]$/.test(n);
}

/** A host-name label (RFC 5321 §4.1.2 Ldh-str): letters, digits and inner hyphens. */
const HOST_LABEL = /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/;

/**
 * Why `name` cannot be a sending domain (the domain of From and MAIL FROM, which SPF, DKIM and
 * DMARC records are published for), with the fix; null when it can. It must be a host name of
 * two labels or more (RFC 5321 §4.1.2), written in ASCII (domainNameProblem gives an
 * internationalized name its A-label as the fix). The one rule for the plan, `init`, the composers and `records`.
 */
export function sendingDomainProblem(name: string): string | null {
  const n = normalizeName(name);
  if (isAddress(n)) return 'is an address, not a domain name; give the domain mail is sent from, such as example.com';
  const basic = domainNameProblem(n);
  if (basic) return basic;
  const labels = n.split('.');
  if (labels.length < 2) return 'is a single label, not a full domain name; give a name such as example.com';
  const bad = labels.find((l) => !HOST_LABEL.test(l));
  if (bad !== undefined) {
    const why = bad.includes('_') ? ' ("_" belongs in record names such as _dmarc, never in the domain itself)' : '';
    return `has the label "${bad}": the labels of a mail domain are letters, digits and inner hyphens (RFC 5321 §4.1.2)${why}`;
  }
  if (/^\d+$/.test(labels.at(-1)!)) return `ends in the all-digit label "${labels.at(-1)}", which no top-level domain is`;
  if (labels.some((l) => l.startsWith('xn--')) && domainToASCII(n) === '') return 'has an A-label (xn--) that is not valid punycode';
  return null;
}

/**
 * Why `selector` cannot be a DKIM selector (RFC 6376 §3.1: dot-separated labels of letters,
 * digits, "-" and "_"), or null; compared in lower case, as selectors are. The one rule for the
 * plan, `init` and `check --selectors`.
 */
export function dkimSelectorProblem(selector: string, domain?: string): string | null {
  const s = selector.toLowerCase();
  if (!/^[a-z0-9_](?:[a-z0-9_.-]*[a-z0-9_])?$/.test(s)) return 'is not a valid selector (letters, digits, "-", "_" and "." only)';
  // Each label of SELECTOR._domainkey.DOMAIN is a DNS label: a zone with a longer one does not load.
  for (const label of s.split('.')) {
    if (label.length === 0) return 'is not a valid selector: it has an empty label (two dots in a row?)';
    if (label.length > 63) return `is not a valid selector: its label "${label}" has ${label.length} characters, and a DNS label at most 63`;
    if (/^-|-$/.test(label)) return `is not a valid selector: its label "${label}" begins or ends with "-"`;
  }
  if (domain !== undefined) {
    const name = `${s}._domainkey.${normalizeName(domain)}`;
    if (name.length > 253) return `is not a valid selector here: ${name} would be ${name.length} characters long, and a DNS name at most 253`;
  }
  return null;
}
