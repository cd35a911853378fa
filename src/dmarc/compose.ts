/** Compose a DMARC record (RFC 7489 / RFC 9989) from the plan's DMARC section, or from tag values. */
import { InputError } from '../errors.js';
import { DMARC_POLICIES, type DmarcPlan, type DmarcPolicy } from '../plan/types.js';
import { parseReportUri, type DmarcMode } from './parse.js';

export function composeDmarc(d: DmarcPlan): string {
  // v first and p second: RFC 9989 allows any order after v, older receivers expect p second.
  const tags: [string, string | number | undefined][] = [
    ['p', d.p],
    ['sp', d.sp],
    ['np', d.np],
    ['adkim', d.adkim],
    ['aspf', d.aspf],
    ['pct', d.pct],
    ['t', d.t],
    ['psd', d.psd],
    ['rua', d.rua.length ? d.rua.join(',') : undefined],
    ['ruf', d.ruf.length ? d.ruf.join(',') : undefined],
    ['fo', d.fo],
    ['rf', d.rf],
    ['ri', d.ri],
  ];
  return ['v=DMARC1', ...tags.filter(([, v]) => v !== undefined).map(([k, v]) => `${k}=${v}`)].join('; ');
}

/** The record a report receiver publishes to accept reports about `source` (RFC 7489 §7.1). */
export function reportAuthorizationName(source: string, destination: string): string {
  return `${source}._report._dmarc.${destination}`;
}

/** Tag values as a person gives them (any letter case; report addresses with or without mailto:). */
export interface DmarcTagInput {
  p?: string;
  sp?: string;
  np?: string;
  adkim?: string;
  aspf?: string;
  rua?: string[];
  ruf?: string[];
  fo?: string;
  pct?: number;
  t?: string;
  psd?: string;
  rf?: string;
  ri?: number;
}

function policyTag(tag: string, value: string | undefined): DmarcPolicy | undefined {
  if (value === undefined) return undefined;
  const v = value.toLowerCase();
  if (!(DMARC_POLICIES as readonly string[]).includes(v)) throw new InputError(`${tag}=${value} is not a policy; use none, quarantine or reject`);
  return v as DmarcPolicy;
}

function oneOf<T extends string>(tag: string, value: string | undefined, allowed: readonly T[]): T | undefined {
  if (value === undefined) return undefined;
  const v = value.toLowerCase();
  if (!(allowed as readonly string[]).includes(v)) throw new InputError(`${tag}=${value} is not valid; use ${allowed.join(' or ')}`);
  return v as T;
}

/**
 * A report address as it goes into a record (rua, ruf): the URI, a bare address taken as mailto:,
 * the one scheme reporters use; or why it cannot go in, with the fix. It must be one the DMARC
 * parser reads as a deliverable mailto: address (the parser judges the %-decoded address), and
 * its text as written must be a URI's (RFC 3986 §2) with no "," or ";" and no "!" but the one of
 * a size limit, so that nothing in it ends the URI, the tag or the record (RFC 7489 §6.2: such
 * characters inside a URI are %-encoded). The one rule for the plan, `init` and `dmarc compose`.
 */
export function reportUriFor(raw: string, tag: 'rua' | 'ruf', mode: DmarcMode = '9989'): { uri: string } | { problem: string } {
  const uri = !/^[A-Za-z][A-Za-z0-9+.-]*:/.test(raw) && raw.includes('@') ? `mailto:${raw}` : raw;
  const bad = parseReportUri(uri, tag, mode, tag).findings.find((f) => f.severity === 'error' || f.code === 'dmarc.report-address-invalid' || f.code === 'dmarc.report-uri-scheme' || f.code === 'dmarc.report-size-invalid');
  if (bad) return { problem: `${tag}=${raw}: ${bad.message}; ${bad.fix ?? ''}`.trim() };
  // The raw text: URI characters less "," and ";", which in the record would end the URI or the
  // tag (the parser reads a mailto: query, ?subject=..., whole, and a %-encoded one as data).
  if (!/^[A-Za-z0-9\-._~:/?#[\]@!$&'()*+=%]+$/.test(uri) || uri.indexOf('!') !== uri.lastIndexOf('!')) {
    return { problem: `${tag}=${raw}: a report address in a record is a URI of ASCII letters, digits and -._~:/?#[]@!$&'()*+=, any other character (a "," or ";", a quote, a space) %-encoded, and with at most one "!" (a size limit); write it as mailto:dmarc-reports@example.com` };
  }
  return { uri };
}

/** A DMARC section from tag values, each checked; a bad value is an InputError naming the tag and the fix. */
export function dmarcPlanFromTags(a: DmarcTagInput, mode: DmarcMode): DmarcPlan {
  const p = policyTag('p', a.p);
  if (!p) throw new InputError('a policy is required: p=none (monitor), p=quarantine or p=reject');
  const uris = (tag: 'rua' | 'ruf', list: string[] | undefined): string[] => {
    const out: string[] = [];
    const given = (list ?? []).flatMap((s) => String(s).split(',')).map((s) => s.trim());
    // `rua ,` would publish no report address, as if the tag were not asked for.
    if (given.length > 0 && given.every((s) => s === '')) throw new InputError(`${tag}="${(list ?? []).join(',')}" names no report address; give one such as dmarc-reports@example.com`);
    for (const raw of given.filter(Boolean)) {
      const r = reportUriFor(raw, tag, mode);
      if ('problem' in r) throw new InputError(r.problem);
      out.push(r.uri);
    }
    return out;
  };
  const plan: DmarcPlan = { p, rua: uris('rua', a.rua), ruf: uris('ruf', a.ruf) };
  const sp = policyTag('sp', a.sp);
  const np = policyTag('np', a.np);
  const adkim = oneOf('adkim', a.adkim, ['r', 's'] as const);
  const aspf = oneOf('aspf', a.aspf, ['r', 's'] as const);
  const t = oneOf('t', a.t, ['y', 'n'] as const);
  const psd = oneOf('psd', a.psd, ['y', 'n', 'u'] as const);
  if (sp) plan.sp = sp;
  if (np) plan.np = np;
  if (adkim) plan.adkim = adkim;
  if (aspf) plan.aspf = aspf;
  if (t) plan.t = t;
  if (psd) plan.psd = psd;
  if (a.fo !== undefined) {
    const opts = a.fo.split(':').map((s) => s.trim().toLowerCase());
    const bad = opts.find((o) => !['0', '1', 'd', 's'].includes(o));
    if (bad !== undefined) throw new InputError(`fo=${a.fo}: "${bad}" is not an option; use 0, 1, d and s separated by ":" (e.g. fo=1)`);
    plan.fo = opts.join(':');
  }
  if (a.pct !== undefined) {
    if (!Number.isInteger(a.pct) || a.pct < 0 || a.pct > 100) throw new InputError(`pct=${a.pct} must be a whole number from 0 to 100`);
    plan.pct = a.pct;
  }
  if (a.ri !== undefined) {
    if (!Number.isInteger(a.ri) || a.ri <= 0 || a.ri > 0xffffffff) throw new InputError(`ri=${a.ri} must be a whole number of seconds, e.g. 86400`);
    plan.ri = a.ri;
  }
  if (a.rf !== undefined) {
    if (a.rf.toLowerCase() !== 'afrf') throw new InputError(`rf=${a.rf} is not a report format; the only one is afrf`);
    plan.rf = 'afrf';
  }
  return plan;
}
