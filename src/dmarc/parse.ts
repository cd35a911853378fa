/**
 * DMARC record parser (RFC 7489 §6.3-6.4 and RFC 9989 §4.7-4.8).
 *
 * Tag-value syntax: `v=DMARC1` first, then `tag=value` pairs separated by `;` with optional
 * spaces or tabs around `=` and `;`. Tag names and keyword values compare without regard to
 * case; `DMARC1` itself must be upper-case. Unknown tags are reported and ignored, never fatal.
 *
 * The mode picks whose semantics apply where the two RFCs differ:
 *   - `7489`: `p` is required; `pct`, `rf`, `ri` and `!size` are live tags and their values are
 *     checked; `t` and `psd` are unknown to such receivers (`np` comes from RFC 9091).
 *   - `9989`: a missing `p` means `none`; `pct`, `rf`, `ri` and `!size` were removed (reported,
 *     their values no longer matter); `np`, `psd` and `t` are part of the protocol.
 */
import type { Finding, Severity } from '../findings.js';
import { domainNameProblem, normalizeName } from '../names.js';
import type { DmarcPolicy } from '../plan/types.js';
import { RecentMap } from '../recent.js';

import type { DmarcMode } from './mode.js';
export { DMARC_MODES, type DmarcMode } from './mode.js';
export const DEFAULT_MODE: DmarcMode = '9989';

export interface ReportUri {
  /** The URI as written, without the `!size` suffix. */
  uri: string;
  scheme: string;
  /** For mailto: the address part (local@domain), else null. */
  address: string | null;
  /** For mailto: the address's domain, lower-case, else null. */
  domain: string | null;
  /** The `!size` suffix as written (e.g. `10m`), or null. */
  size: string | null;
  /** True when a report could be sent there (mailto with a well-formed address). */
  deliverable: boolean;
}

interface DmarcTag {
  name: string;
  value: string;
  /** 0-based index of the tag in the record (v is 0). */
  index: number;
}

/** The record's meaning, defaults filled in. Null fields: absent and without a default. */
interface DmarcRecord {
  /** `p` as published (null when missing or invalid). */
  p: DmarcPolicy | null;
  sp: DmarcPolicy | null;
  np: DmarcPolicy | null;
  /** Effective policies after defaults: sp falls back to p, np to sp then p (RFC 9989 §4.7). */
  effective: { p: DmarcPolicy | null; sp: DmarcPolicy | null; np: DmarcPolicy | null };
  adkim: 'r' | 's';
  aspf: 'r' | 's';
  psd: 'y' | 'n' | 'u';
  t: 'y' | 'n';
  /** RFC 7489 only; null when absent (100 applies) or when unreadable. */
  pct: number | null;
  rua: ReportUri[];
  ruf: ReportUri[];
  fo: string[];
  rf: string | null;
  ri: number | null;
  /**
   * Policy tags that make receivers fall back to p=none (when rua names a usable address) or to
   * no DMARC at all: a missing (RFC 7489) or invalid p, an invalid sp, and in RFC 9989 an invalid
   * np (RFC 7489 §6.6.3 step 6, RFC 9989 §4.10.1). Empty when the policy stands as published.
   */
  unusablePolicyTags: ('p' | 'sp' | 'np')[];
}

export interface ParsedDmarc {
  text: string;
  mode: DmarcMode;
  /** No error-severity finding. */
  valid: boolean;
  /** True when the text is a DMARC record at all (starts with a v=DMARC1 tag). */
  isDmarc: boolean;
  tags: DmarcTag[];
  /** Null when the text is not a DMARC record. */
  record: DmarcRecord | null;
  findings: Finding[];
}

interface ParseOptions {
  mode?: DmarcMode;
  /** What findings are about, e.g. `_dmarc.example.com`. */
  subject?: string;
}

/** Cite the rule for the active mode: `cite('7489 §6.3', '9989 §4.7')`. */
function cite(mode: DmarcMode, r7489: string, r9989: string): string {
  return mode === '7489' ? `RFC ${r7489}` : `RFC ${r9989}`;
}

const POLICIES: readonly DmarcPolicy[] = ['none', 'quarantine', 'reject'];
const KNOWN_TAGS = ['v', 'p', 'sp', 'np', 'psd', 't', 'adkim', 'aspf', 'rua', 'ruf', 'fo', 'rf', 'ri', 'pct'] as const;

/**
 * A TXT value that is a DMARC record (after the rules receivers apply to pick one): the tag name
 * `v` in either case, the value exactly `DMARC1` (RFC 7489 §6.4 `%x44 %x4d %x41 %x52 %x43 %x31`,
 * RFC 9989 §4.8 `%s"DMARC1"`).
 */
const DMARC_VERSION_RE = /^[vV][ \t]*=[ \t]*DMARC1[ \t]*(?:;|$)/;
const DMARC_VERSION_ANY_CASE_RE = new RegExp(DMARC_VERSION_RE.source, 'i');

/** Receivers keep only TXT records that start with `v=DMARC1` (RFC 7489 §6.6.3, RFC 9989 §4.10). */
export function looksLikeDmarc(text: string): boolean {
  return DMARC_VERSION_RE.test(text);
}

/** A record meant as DMARC whose version is not written DMARC1 (`v=dmarc1`): receivers skip it. */
export function looksLikeDmarcButForCase(text: string): boolean {
  return !DMARC_VERSION_RE.test(text) && DMARC_VERSION_ANY_CASE_RE.test(text);
}

/** Same test after leading whitespace: a record that would count but for the whitespace. */
export function looksLikeDmarcAfterWhitespace(text: string): boolean {
  return text !== text.trimStart() && DMARC_VERSION_RE.test(text.trimStart());
}

const SCHEME_RE = /^[A-Za-z][A-Za-z0-9+.-]*:/;
const SIZE_RE = /^(\d+)([kmgt])?$/i;
/** RFC 5322 §3.4.1 dot-atom-text: atext runs joined by single dots. */
const DOT_ATOM_RE = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/;
/** RFC 5321 §4.1.2 Quoted-string: printable ASCII and space, `"` and `\` only escaped. */
const QUOTED_RE = /^"(?:[\x20\x21\x23-\x5b\x5d-\x7e]|\\[\x20-\x7e])*"$/;
const MALFORMED_ESCAPE_RE = /%(?![0-9A-Fa-f]{2})/;

/** ASCII `text` with every character but the unreserved ones (RFC 3986 §2.3) %-encoded, for a fix to quote. */
function percentEncoded(text: string): string {
  return text.replace(/[^A-Za-z0-9._~-]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`);
}

/**
 * The mail address a mailto: URI names (the text after "mailto:"), or why there is none.
 * The raw text is split first: a raw "?" starts the query (RFC 6068 §2); "," ";" and "!" never
 * reach here raw, as they end the URI, the tag or start the size (RFC 7489 §6.2). Only then is
 * the address %-decoded and judged as one: a local part that is dot-atom-text or a quoted string
 * (RFC 6068 §2 takes RFC 5322's addr-spec; SMTP, RFC 5321 §4.1.2, the same), in ASCII (a report
 * address is a conventional one, RFC 8616 §6), and a host name.
 */
function mailtoAddress(rest: string): { address: string; domain: string } | { problem: string; fix?: string } {
  // RFC 3986 §2: white space is in no URI; written between two, it is a missing ",".
  if (/\s/.test(rest)) return { problem: 'a URI holds no white space', fix: 'separate report URIs with "," (mailto:a@example.com,mailto:b@example.com); a space inside an address is written %20' };
  const raw = rest.split('?')[0]!;
  const bad = MALFORMED_ESCAPE_RE.exec(raw);
  if (bad) return { problem: `"${raw.slice(bad.index, bad.index + 3)}" is not a %-escape (a "%" is followed by two hex digits, RFC 3986 §2.1)` };
  let decoded: string;
  try {
    decoded = decodeURIComponent(raw);
  } catch {
    return { problem: 'its %-escapes do not spell UTF-8' };
  }
  const at = decoded.lastIndexOf('@');
  if (at <= 0) return { problem: 'expected mailto:user@domain' };
  const local = decoded.slice(0, at);
  const host = normalizeName(decoded.slice(at + 1));
  if (/[^\x00-\x7f]/.test(local)) return { problem: `the local part "${local}" is not ASCII, and a report address must be a conventional one (RFC 8616 §6)`, fix: 'give an ASCII mailbox' };
  if (!DOT_ATOM_RE.test(local) && !QUOTED_RE.test(local)) {
    const quoted = /^[\x20-\x7e]+$/.test(local) && !local.startsWith('"') ? `"${local.replace(/["\\]/g, '\\$&')}"` : null;
    // "a@example.com,b@example.com" given as one value is two addresses, not a local part to quote.
    const parts = `${local}@${host}`.split(',').map((x) => x.trim().replace(/^mailto:/i, ''));
    if (parts.length > 1 && parts.every((x) => /^[^@\s]+@[^@\s]+$/.test(x))) {
      return {
        problem: `"${parts.join(',')}" is ${parts.length} addresses in one URI`,
        fix: `give each its own URI (${parts.map((x) => `mailto:${x}`).join(', ')}): one entry each in the plan's list, or one --rua/--ruf each`,
      };
    }
    return {
      problem: `the local part "${local}" is not one a mail address can have: outside quotes it holds only letters, digits, single dots between them and !#$%&'*+-/=?^_\`{|}~ (RFC 5322 §3.4.1)`,
      ...(quoted ? { fix: `write mailto:${percentEncoded(quoted)}@${host} (the local part in quotes), or use another mailbox` } : {}),
    };
  }
  const hostProblem = domainNameProblem(host);
  if (hostProblem) return { problem: `the domain ${hostProblem}` };
  if (!host.includes('.')) return { problem: 'the domain has a single label' };
  return { address: `${local}@${host}`, domain: host };
}

/** Parse one report URI (RFC 7489 §6.2 / RFC 9989 §4.7 `rua`, `ruf`). Returns it and its problems. */
export function parseReportUri(
  raw: string,
  tag: 'rua' | 'ruf',
  mode: DmarcMode,
  subject: string,
): { uri: ReportUri | null; findings: Finding[] } {
  const findings: Finding[] = [];
  const add = (code: string, severity: Severity, message: string, fix: string, rfc: string): void => {
    findings.push({ code, severity, subject, message, fix, rfc });
  };
  let text = raw;
  let size: string | null = null;
  // `!` is not allowed unencoded in a URI, so the last `!` starts the size limit (RFC 7489 §6.4).
  const bang = text.lastIndexOf('!');
  if (bang >= 0) {
    size = text.slice(bang + 1);
    text = text.slice(0, bang);
    if (!SIZE_RE.test(size)) {
      add(
        'dmarc.report-size-invalid',
        mode === '7489' ? 'error' : 'warning',
        `${tag} URI "${raw}" has a size limit "!${size}" that is not a number with an optional k, m, g or t unit`,
        `write it as mailto:user@example.com!10m, or drop the "!" part`,
        'RFC 7489 §6.4',
      );
    }
    if (mode === '9989') {
      add(
        'dmarc.report-size-obsolete',
        'warning',
        `${tag} URI "${raw}" carries a size limit (!${size}): RFC 9989 removed it and reporters ignore it, while older ones may cut reports short`,
        `drop "!${size}" from the URI`,
        'RFC 9989 §4.8',
      );
    }
  }
  if (!SCHEME_RE.test(text)) {
    add(
      'dmarc.report-uri-invalid',
      'error',
      `${tag} entry "${raw}" is not a URI (it has no scheme such as mailto:)`,
      text.includes('@') ? `write it as mailto:${text}` : 'give each report address as mailto:user@example.com',
      cite(mode, '7489 §6.3', '9989 §4.7'),
    );
    return { uri: null, findings };
  }
  const scheme = text.slice(0, text.indexOf(':')).toLowerCase();
  const rest = text.slice(scheme.length + 1);
  let address: string | null = null;
  let domain: string | null = null;
  let deliverable = false;
  if (scheme === 'mailto') {
    const m = mailtoAddress(rest);
    if ('address' in m) {
      address = m.address;
      domain = m.domain;
      deliverable = true;
    } else {
      add('dmarc.report-address-invalid', 'warning', `${tag} URI "${raw}" has no usable mail address (${m.problem}); no report can be sent there`, m.fix ?? 'write it as mailto:user@example.com', 'RFC 6068 §2');
    }
  } else {
    add(
      'dmarc.report-uri-scheme',
      'warning',
      `${tag} URI "${raw}" uses the ${scheme}: scheme; reporters deliver reports by mail only, so nothing will arrive there`,
      'use a mailto: address',
      cite(mode, '7489 §6.3', '9989 §4.7'),
    );
  }
  return { uri: { uri: text, scheme, address, domain, size, deliverable }, findings };
}

function policyValue(v: string): DmarcPolicy | null {
  const l = v.toLowerCase();
  return (POLICIES as readonly string[]).includes(l) ? (l as DmarcPolicy) : null;
}

/** Strip spaces and tabs (and CR/LF when `lineBreaks`) from both ends; a loop, as this runs for every tag of every record. */
function trimBlanks(s: string, lineBreaks: boolean): string {
  const blank = (c: number): boolean => c === 32 || c === 9 || (lineBreaks && (c === 10 || c === 13));
  let start = 0;
  let end = s.length;
  while (start < end && blank(s.charCodeAt(start))) start++;
  while (end > start && blank(s.charCodeAt(end - 1))) end--;
  return start === 0 && end === s.length ? s : s.slice(start, end);
}

/**
 * The latest parse of each recent text, by mode: one check reads the same record at several steps
 * (validation, policy discovery, the organizational-domain walk), and a bulk run meets the same
 * texts at many domains. The subject only labels the findings, so a parse made for another subject
 * is reused with its findings relabelled (most records have none).
 */
const recentParses: Record<DmarcMode, RecentMap<string, ParsedDmarc>> = { '7489': new RecentMap(512), '9989': new RecentMap(512) };

/** Parse a DMARC record. Never throws; every problem is a finding. The result may be shared with other callers: do not modify it. */
export function parseDmarc(text: string, opts: ParseOptions = {}): ParsedDmarc {
  const mode = opts.mode ?? DEFAULT_MODE;
  const subject = opts.subject ?? 'DMARC record';
  const recent = recentParses[mode].get(text);
  if (recent) {
    if (!recent.findings.length || recent.findings[0]!.subject === subject) return recent;
    return { ...recent, findings: recent.findings.map((f) => ({ ...f, subject })) };
  }
  const parsed = parseUncached(text, mode, subject);
  recentParses[mode].set(text, parsed);
  return parsed;
}

function parseUncached(text: string, mode: DmarcMode, subject: string): ParsedDmarc {
  const findings: Finding[] = [];
  const add = (code: string, severity: Severity, message: string, fix: string | undefined, rfc: string): void => {
    findings.push({ code, severity, subject, message, ...(fix ? { fix } : {}), rfc });
  };
  const done = (isDmarc: boolean, tags: DmarcTag[], record: DmarcRecord | null): ParsedDmarc => ({
    text,
    mode,
    valid: !findings.some((f) => f.severity === 'error'),
    isDmarc,
    tags,
    record,
    findings,
  });

  if (text.trim() === '') {
    add('dmarc.empty', 'error', 'the record is empty', 'publish a record such as "v=DMARC1; p=none; rua=mailto:dmarc@example.com"', cite(mode, '7489 §6.3', '9989 §4.7'));
    return done(false, [], null);
  }
  if (/^v[ \t]*=[ \t]*spf1(?:\s|$)/i.test(text.trim())) {
    add(
      'dmarc.spf-record',
      'error',
      'an SPF record (v=spf1) sits where the DMARC record should be; often a wildcard TXT or a record pasted at the wrong name',
      'move the SPF record to the domain itself and publish "v=DMARC1; p=..." at _dmarc',
      cite(mode, '7489 §6.1', '9989 §4.5'),
    );
    return done(false, [], null);
  }
  if (text !== text.trimStart()) {
    add(
      'dmarc.leading-whitespace',
      'error',
      'the record starts with whitespace; receivers only take records that begin with "v=DMARC1", so they ignore it',
      'remove the whitespace before v=DMARC1',
      cite(mode, '7489 §6.6.3', '9989 §4.10'),
    );
  }
  const body = text.trimStart();
  if (/[\r\n\v\f]/.test(body)) {
    add('dmarc.syntax', 'error', 'the record contains a line break; only spaces and tabs may separate its parts', 'write the record on one line', cite(mode, '7489 §6.4', '9989 §4.8'));
  }

  // Split into segments on `;`. A trailing `;` is allowed; empty segments in between are not.
  // Pushed rather than `.map()`ed, for one elements kind (see txtValues): `.at()` below deoptimized.
  const segments: string[] = [];
  for (const s of body.split(';')) segments.push(trimBlanks(s, true));
  if (segments.length > 1 && segments.at(-1) === '') segments.pop();

  const tags: DmarcTag[] = [];
  const seen = new Map<string, DmarcTag>();
  segments.forEach((seg, index) => {
    if (seg === '') {
      add('dmarc.empty-tag', 'warning', `tag ${index + 1} is empty (two semicolons in a row)`, 'remove the extra ";"', cite(mode, '7489 §6.4', '9989 §4.8'));
      return;
    }
    const m = /^([A-Za-z][A-Za-z0-9_]*)[ \t]*=[ \t]*(.*)$/s.exec(seg);
    if (!m) {
      add(
        'dmarc.syntax',
        'error',
        `"${seg}" is not a tag=value pair`,
        /^[A-Za-z]+$/.test(seg) ? `give "${seg}" a value, e.g. "${seg}=..." or remove it` : 'write every part as name=value, separated by ";"',
        cite(mode, '7489 §6.4', '9989 §4.8'),
      );
      return;
    }
    const tag: DmarcTag = { name: m[1]!.toLowerCase(), value: m[2]!, index };
    if (seen.has(tag.name)) {
      add(
        'dmarc.duplicate-tag',
        'error',
        `the ${tag.name} tag appears more than once ("${seen.get(tag.name)!.value}" and "${tag.value}"); receivers may reject the whole record`,
        `keep one ${tag.name}=`,
        'RFC 6376 §3.2',
      );
      return;
    }
    seen.set(tag.name, tag);
    tags.push(tag);
  });

  const first = tags[0];
  if (!first || first.index !== 0 || first.name !== 'v') {
    add(
      'dmarc.no-version',
      'error',
      'the record does not begin with v=DMARC1, so receivers do not treat it as DMARC',
      'put v=DMARC1 first: "v=DMARC1; p=..."',
      cite(mode, '7489 §6.3', '9989 §4.7'),
    );
    return done(false, tags, null);
  }
  if (first.value !== 'DMARC1') {
    add(
      'dmarc.bad-version',
      'error',
      `the version is "${first.value}"; it must be exactly DMARC1 (upper-case), otherwise receivers ignore the record`,
      'write v=DMARC1',
      cite(mode, '7489 §6.3', '9989 §4.7'),
    );
    return done(false, tags, null);
  }

  const record: DmarcRecord = {
    p: null,
    sp: null,
    np: null,
    effective: { p: null, sp: null, np: null },
    adkim: 'r',
    aspf: 'r',
    psd: 'u',
    t: 'n',
    pct: null,
    rua: [],
    ruf: [],
    fo: ['0'],
    rf: null,
    ri: null,
    unusablePolicyTags: [],
  };

  const bad = (tag: DmarcTag, allowed: string, fix: string, rfc: string, severity: Severity = 'error'): void => {
    add(`dmarc.invalid-${tag.name}`, severity, `${tag.name}=${tag.value} is not valid: ${allowed}`, fix, rfc);
  };
  const tagRfc = cite(mode, '7489 §6.3', '9989 §4.7');

  for (const tag of tags.slice(1)) {
    const v = tag.value;
    switch (tag.name) {
      case 'v':
        break;
      case 'p':
      case 'sp':
      case 'np': {
        const pol = policyValue(v);
        if (!pol) {
          bad(tag, 'the value must be none, quarantine or reject', `write ${tag.name}=none, ${tag.name}=quarantine or ${tag.name}=reject`, tag.name === 'np' ? cite(mode, '9091 §3.2', '9989 §4.7') : tagRfc);
        } else record[tag.name] = pol;
        break;
      }
      case 'adkim':
      case 'aspf': {
        const l = v.toLowerCase();
        if (l !== 'r' && l !== 's') bad(tag, 'the value must be r (relaxed) or s (strict)', `write ${tag.name}=r or ${tag.name}=s, or leave it out for relaxed`, tagRfc);
        else record[tag.name] = l;
        break;
      }
      case 'psd': {
        const l = v.toLowerCase();
        if (l !== 'y' && l !== 'n' && l !== 'u') bad(tag, 'the value must be y, n or u', 'write psd=n (this domain is an organizational domain) or leave it out', 'RFC 9989 §4.7');
        else record.psd = l;
        break;
      }
      case 't': {
        const l = v.toLowerCase();
        if (l !== 'y' && l !== 'n') bad(tag, 'the value must be y or n', 'write t=y while testing, or leave it out', 'RFC 9989 §4.7');
        else record.t = l;
        break;
      }
      case 'rua':
      case 'ruf': {
        // Pushed rather than `.map()`ed, as the segments above.
        const parts: string[] = [];
        for (const s of v.split(',')) parts.push(trimBlanks(s, false));
        if (parts.every((s) => s === '')) {
          bad(tag, 'it lists no URI', `give at least one address (${tag.name}=mailto:dmarc@example.com) or remove the tag`, tagRfc);
          break;
        }
        for (const part of parts) {
          if (part === '') {
            add('dmarc.report-uri-invalid', 'error', `${tag.name} has an empty entry (two commas in a row or a trailing comma)`, 'remove the extra ","', tagRfc);
            continue;
          }
          const r = parseReportUri(part, tag.name, mode, subject);
          findings.push(...r.findings);
          if (r.uri) record[tag.name].push(r.uri);
        }
        break;
      }
      case 'fo': {
        // Pushed rather than `.map()`ed, as the segments above.
        const opts: string[] = [];
        for (const s of v.split(':')) opts.push(s.trim().toLowerCase());
        const badOpts = opts.filter((o) => !['0', '1', 'd', 's'].includes(o));
        if (badOpts.length) {
          bad(tag, `${badOpts.map((o) => `"${o}"`).join(', ')} ${badOpts.length > 1 ? 'are not options' : 'is not an option'}; options are 0, 1, d and s, separated by ":"`, 'write e.g. fo=1 or fo=d:s', 'RFC 7489 §6.3');
        } else {
          record.fo = opts;
          if (opts.includes('0') && opts.includes('1')) {
            add('dmarc.fo-redundant', 'info', 'fo lists both 0 and 1; 1 (report when any mechanism fails) already covers 0', 'write fo=1', 'RFC 7489 §6.3');
          }
        }
        break;
      }
      case 'rf': {
        if (mode === '7489') {
          // RFC 7489 §6.3: a receiver that sees a format it does not know SHOULD ignore it.
          const formats = v.split(':').map((s) => s.trim().toLowerCase());
          const unknown = formats.filter((f) => f !== 'afrf');
          if (unknown.length) {
            bad(tag, `the only registered report format is afrf, so receivers ignore ${unknown.map((f) => `"${f}"`).join(', ')} (some may ignore the whole record)`, 'write rf=afrf or leave it out (afrf is the default)', 'RFC 7489 §6.3', 'warning');
          }
          record.rf = formats.includes('afrf') ? 'afrf' : null;
        } else record.rf = v;
        break;
      }
      case 'ri': {
        if (/^\d{1,10}$/.test(v) && Number(v) <= 0xffffffff) record.ri = Number(v);
        else if (mode === '7489') bad(tag, 'the interval must be a whole number of seconds', 'write ri=86400 (one day) or leave it out', 'RFC 7489 §6.3');
        break;
      }
      case 'pct': {
        if (/^\d{1,3}$/.test(v) && Number(v) <= 100) record.pct = Number(v);
        else if (mode === '7489') bad(tag, 'it must be a whole number from 0 to 100', 'write pct=100 or leave it out', 'RFC 7489 §6.3');
        break;
      }
      default:
        add(
          'dmarc.unknown-tag',
          'warning',
          `unknown tag "${tag.name}" (value "${v}"); receivers ignore it`,
          `check the spelling; known tags are ${KNOWN_TAGS.join(', ')}`,
          cite(mode, '7489 §6.3', '9989 §4.7'),
        );
    }
  }

  // Removed tags (RFC 9989) and tags older receivers do not know (RFC 7489).
  if (mode === '9989') {
    for (const name of ['pct', 'rf', 'ri'] as const) {
      const tag = seen.get(name);
      if (!tag) continue;
      const why =
        name === 'pct'
          ? 'RFC 9989 removed pct; receivers following it ignore the value (use t=y for a trial run instead)'
          : `RFC 9989 removed ${name}; receivers following it ignore the value`;
      add('dmarc.removed-tag', name === 'pct' ? 'warning' : 'info', `${name}=${tag.value}: ${why}`, name === 'pct' ? 'drop pct; publish t=y while testing and remove t=y when ready' : `drop ${name}`, 'RFC 9989 §4.7');
    }
  } else {
    for (const name of ['t', 'psd'] as const) {
      const tag = seen.get(name);
      if (tag) add('dmarc.tag-not-in-7489', 'info', `${name}=${tag.value} is defined by RFC 9989; receivers that follow RFC 7489 ignore it`, undefined, 'RFC 9989 §4.7');
    }
  }

  // p: required in RFC 7489. RFC 9989 §4.7 treats a record without p "as if it included p=none",
  // whatever rua says; its §4.10.1 fallback (p=none only with a usable rua) is for a p that is
  // there but not valid. Some receivers read §4.10.1 as covering a missing p too.
  const pTag = seen.get('p');
  if (!pTag) {
    if (mode === '7489') {
      add('dmarc.missing-p', 'error', 'the record has no p tag, which RFC 7489 requires', 'add p=none (monitor), p=quarantine or p=reject right after v=DMARC1', 'RFC 7489 §6.3');
    } else {
      const noRua = !record.rua.some((u) => u.deliverable);
      add(
        'dmarc.missing-p',
        'warning',
        `the record has no p tag: RFC 9989 reads that as p=none, but receivers following RFC 7489 discard the record${noRua ? ', and as it names no usable rua either, some RFC 9989 receivers apply no DMARC at all (they read §4.10.1 as covering a missing p)' : ''}`,
        'add p=none (monitor), p=quarantine or p=reject right after v=DMARC1',
        'RFC 9989 §4.7',
      );
      record.p = 'none';
    }
  } else if (pTag.index !== 1) {
    add('dmarc.p-not-second', 'info', 'p is not the tag right after v; RFC 9989 allows any order, but some older receivers expect p second', 'move p= right after v=DMARC1', 'RFC 7489 §6.4');
  }

  record.effective.p = record.p;
  record.effective.sp = record.sp ?? record.p;
  record.effective.np = record.np ?? record.sp ?? record.p;
  const policyTags = mode === '7489' ? (['p', 'sp'] as const) : (['p', 'sp', 'np'] as const);
  // A tag that is there but whose value was refused (or, in RFC 7489, a p that is not there).
  record.unusablePolicyTags = policyTags.filter((n) => record[n] === null && (seen.has(n) || n === 'p'));
  return done(true, tags, record);
}
