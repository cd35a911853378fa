/**
 * DMARC identifier alignment (RFC 7489 §3.1, RFC 9989 §4.4).
 *
 * The RFC 5322.From domain is "aligned" with an authenticated identifier (the SPF-checked
 * MAIL FROM / HELO domain, or a DKIM signature's d= domain) when:
 *   - strict (`s`): the two names are the same, compared without regard to case;
 *   - relaxed (`r`): the two names share one organizational domain.
 *
 * The organizational domain here comes from the Public Suffix List (the RFC 7489 method),
 * ICANN and private sections both (src/psl.ts). The RFC 9989 DNS tree walk lives in
 * `discover.ts` (`orgDomainByTreeWalk`) because it needs a Resolver.
 */
import { normalizeName } from '../names.js';
import { registrableDomain } from '../psl.js';
import { RecentMap } from '../recent.js';

type AlignmentMode = 'r' | 's';

/** Lower-case, without stray leading or trailing dots (`.mac.com.` is `mac.com`, as OpenDMARC reads it). */
function clean(domain: string): string {
  const t = domain.trim();
  return normalizeName(t.startsWith('.') || t.endsWith('.') ? t.replace(/^\.+|\.+$/g, '') : t);
}

/**
 * The organizational domain of `domain` by the Public Suffix List: the public suffix plus one
 * label. A name that is itself a public suffix (or that the list cannot split) is its own
 * organizational domain. The result is lower-case without a trailing dot.
 */
export function orgDomain(domain: string): string {
  const name = clean(domain);
  if (name === '') return '';
  let org = recentOrgDomains.get(name);
  if (org === undefined) {
    org = registrableDomain(name) ?? name;
    recentOrgDomains.set(name, org);
  }
  return org;
}

/** A check asks this several times per domain (its own name, each report address). */
const recentOrgDomains = new RecentMap<string, string>(4096);

/**
 * Whether `authDomain` (SPF-authenticated domain or DKIM d=) is aligned with `fromDomain`
 * (the RFC 5322.From domain) under `mode`. Empty names are never aligned.
 */
export function isAligned(fromDomain: string, authDomain: string, mode: AlignmentMode): boolean {
  return alignment(fromDomain, authDomain, mode).aligned;
}

export interface AlignmentResult {
  aligned: boolean;
  mode: AlignmentMode;
  fromDomain: string;
  authDomain: string;
  /** Organizational domains compared in relaxed mode (also filled in strict mode, for messages). */
  fromOrg: string;
  authOrg: string;
  /** Plain-words reason, e.g. "strict: mail.example.com is not example.com". */
  reason: string;
}

/** Alignment with the reason spelled out, for reports. `orgOf` lets callers use another org-domain method. */
export function alignment(
  fromDomain: string,
  authDomain: string,
  mode: AlignmentMode,
  orgOf: (d: string) => string = orgDomain,
): AlignmentResult {
  const from = clean(fromDomain);
  const auth = clean(authDomain);
  const fromOrg = from ? orgOf(from) : '';
  const authOrg = auth ? orgOf(auth) : '';
  const base = { mode, fromDomain: from, authDomain: auth, fromOrg, authOrg };
  if (from === '' || auth === '') {
    return { ...base, aligned: false, reason: 'no domain to compare' };
  }
  if (mode === 's') {
    const aligned = from === auth;
    return {
      ...base,
      aligned,
      reason: aligned ? `strict: ${auth} is exactly ${from}` : `strict: ${auth} is not exactly ${from}`,
    };
  }
  const aligned = fromOrg !== '' && fromOrg === authOrg;
  return {
    ...base,
    aligned,
    reason: aligned
      ? `relaxed: ${auth} and ${from} share the organizational domain ${fromOrg}`
      : `relaxed: ${auth} (organizational domain ${authOrg}) and ${from} (organizational domain ${fromOrg}) differ`,
  };
}
