/** A DMARC record in plain words, tag by tag, for `maildns dmarc`. */
import type { DmarcPolicy } from '../plan/types.js';
import type { ParsedDmarc } from './parse.js';

interface TagMeaning {
  tag: string;
  value: string;
  meaning: string;
}

const POLICY_WORDS: Record<DmarcPolicy, string> = {
  none: 'deliver it as usual and only report (monitoring)',
  quarantine: 'treat it as suspicious (e.g. the spam folder)',
  reject: 'refuse it',
};

function policyWords(v: string): string {
  const p = v.toLowerCase() as DmarcPolicy;
  return POLICY_WORDS[p] ?? 'not a valid policy';
}

function uriList(v: string): string {
  return v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .join(', ');
}

function explainTag(name: string, value: string, parsed: ParsedDmarc): string {
  const removed = parsed.mode === '9989' ? ' (removed in RFC 9989: receivers following it ignore this)' : '';
  switch (name) {
    case 'v':
      return 'this is a DMARC record (version 1)';
    case 'p':
      return `mail from this domain that fails DMARC: ${policyWords(value)}`;
    case 'sp':
      return `mail from subdomains that fails DMARC: ${policyWords(value)}`;
    case 'np':
      return `mail from subdomains that do not exist: ${policyWords(value)}`;
    case 'adkim':
      return value.toLowerCase() === 's'
        ? 'DKIM alignment strict: the signing domain (d=) must be exactly the From domain'
        : 'DKIM alignment relaxed: the signing domain may be any name in the same organizational domain';
    case 'aspf':
      return value.toLowerCase() === 's'
        ? 'SPF alignment strict: the envelope sender (MAIL FROM) domain must be exactly the From domain'
        : 'SPF alignment relaxed: the envelope sender domain may be any name in the same organizational domain';
    case 'rua':
      return `send daily aggregate reports to ${uriList(value)}`;
    case 'ruf':
      return `send failure reports about single messages to ${uriList(value)} (few receivers send them)`;
    case 'fo': {
      const words: Record<string, string> = {
        '0': 'both SPF and DKIM failed to align',
        '1': 'either SPF or DKIM failed to align',
        d: 'a DKIM signature failed',
        s: 'SPF failed',
      };
      return `send failure reports when ${value
        .split(':')
        .map((o) => words[o.trim().toLowerCase()] ?? `"${o}" (unknown)`)
        .join('; or ')}`;
    }
    case 'pct':
      return `apply the policy to ${value}% of failing mail${removed}`;
    case 'rf':
      return `failure report format ${value}${removed}`;
    case 'ri':
      return `aggregate reports every ${value} seconds${/^\d+$/.test(value) ? ` (${(Number(value) / 3600).toFixed(1).replace(/\.0$/, '')} h)` : ''}${removed}`;
    case 't':
      return value.toLowerCase() === 'y' ? 'testing: apply the policy one step more leniently' : 'not testing: apply the policy as written';
    case 'psd':
      return value.toLowerCase() === 'y'
        ? 'this domain is a public suffix domain (its registrants are separate organizations)'
        : value.toLowerCase() === 'n'
          ? 'this domain is an organizational domain (the top of one organization)'
          : 'no statement about being a public suffix domain';
    default:
      return 'unknown tag: receivers ignore it';
  }
}

export function explainDmarc(parsed: ParsedDmarc): TagMeaning[] {
  const out = parsed.tags.map((t) => ({ tag: t.name, value: t.value, meaning: explainTag(t.name, t.value, parsed) }));
  const rec = parsed.record;
  if (!rec) return out;
  const has = (n: string): boolean => parsed.tags.some((t) => t.name === n);
  // Defaults that matter, spelled out.
  if (!has('sp') && rec.effective.sp) out.push({ tag: 'sp', value: `(${rec.effective.sp})`, meaning: `not set: subdomains follow p (${POLICY_WORDS[rec.effective.sp]})` });
  if (!has('np') && rec.effective.np) out.push({ tag: 'np', value: `(${rec.effective.np})`, meaning: `not set: subdomains that do not exist follow ${rec.sp ? 'sp' : 'p'}` });
  if (!has('adkim')) out.push({ tag: 'adkim', value: '(r)', meaning: 'not set: DKIM alignment relaxed' });
  if (!has('aspf')) out.push({ tag: 'aspf', value: '(r)', meaning: 'not set: SPF alignment relaxed' });
  return out;
}
