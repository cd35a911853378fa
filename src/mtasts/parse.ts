/**
 * MTA-STS (RFC 8461) text formats: the `_mta-sts` TXT record (§3.1) and the policy file served at
 * https://mta-sts.<domain>/.well-known/mta-sts.txt (§3.2). Parsers only: they say what the text
 * means and what is wrong with it; the findings are made in validate.ts.
 */
import { beginsWithVersion, readFieldList, versionMiss, type FieldListGrammar } from '../field-list.js';

export type StsMode = 'enforce' | 'testing' | 'none';
const STS_MODES: readonly StsMode[] = ['enforce', 'testing', 'none'];

/** §3.2: max_age is at most 31557600 seconds (a year). */
export const MAX_STS_MAX_AGE = 31_557_600;

/**
 * RFC 8461 §3.1 writes the shared field list (src/field-list.ts) with
 *   sts-version = %s"v=STSv1"
 *   sts-id      = %s"id=" 1*32(ALPHA / DIGIT)
 * and senders that find the record syntactically invalid MUST act as if the domain had no policy.
 * Where senders part from the grammar: mox parses it as written, so it refuses white space at the
 * end and around "=" (and reads "v=STSv1 ;"); maddy splits at ";", trims each field and refuses
 * white space around "="; Postfix's postfix-mta-sts-resolver trims each field and refuses nothing
 * (in "id =abc" it finds no id); Halon's MTA-STS script takes only records whose first 8
 * characters are "v=STSv1;". All of them compare names as written.
 */
const STS_FIELDS: FieldListGrammar = {
  version: 'v=STSv1',
  rfc: 'RFC 8461 §3.1',
  exactStartSenders: "Halon's MTA-STS script",
  unread: 'apply no policy',
  trailingSpace: { refused: true, senders: 'the mox mail server refuses the record for it, and then applies no policy; the other senders looked at trim it' },
  fields: new Map([['id', { spaceAfterEquals: 'the id follows "id=" directly, and senders that check it (the mox and maddy mail servers) refuse the record' }]]),
};

/** §3.1: a TXT record at `_mta-sts` counts as an MTA-STS record when it begins with this. */
export function isStsRecord(text: string): boolean {
  return beginsWithVersion(text, STS_FIELDS.version);
}

/** Why a TXT value that looks meant as the record (`v=stsv1`, `V=STSv1`) is not one; null when it does not look so. */
export function whyNotStsRecord(text: string): string | null {
  return versionMiss(text, STS_FIELDS.version);
}

export interface ParsedStsRecord {
  /** The id, or null when it is missing or malformed. */
  id: string | null;
  /** Fields other than v and id (extensions, ignored by senders). */
  extensions: { name: string; value: string }[];
  /** What makes the record syntactically invalid (§3.1 ABNF); empty when it is valid. */
  problems: string[];
  /** White space that senders mishandle, in a record that is valid: see STS_FIELDS. */
  warnings: string[];
  /** Fields named id in another case beside id itself, which senders ignore. */
  miscased: string[];
}

/** §3.1: `v=STSv1; id=<1-32 letters and digits>` with optional extension fields. */
export function parseStsRecord(text: string): ParsedStsRecord {
  const list = readFieldList(text, STS_FIELDS);
  const out: ParsedStsRecord = { id: null, extensions: list.extensions, problems: list.problems, warnings: list.warnings, miscased: list.miscased };
  for (const { value } of list.fields) {
    if (!/^[A-Za-z0-9]{1,32}$/.test(value)) out.problems.push(`id "${value}" must be 1 to 32 letters and digits`);
    else if (out.id === null) out.id = value;
  }
  return out;
}

export interface ParsedStsPolicy {
  version: string | null;
  mode: StsMode | null;
  /** Seconds, or null when missing or not a number. */
  maxAge: number | null;
  /** The mx patterns, in order. */
  mx: string[];
  /** Fields this maildns does not know (ignored by senders, §3.2). */
  unknown: string[];
  /** What makes the policy unusable (§3.2): a sender ignores such a policy. */
  problems: string[];
}

/** §3.2 sts-policy-mx-value: a host name, or `*.` and a host name (the wildcard is the whole leftmost label). */
const MX_PATTERN = /^(\*\.)?(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.?$/;

export function isMxPattern(value: string): boolean {
  return MX_PATTERN.test(value) && value.length <= 255;
}

/**
 * §3.2: `key: value` lines separated by LF or CRLF. version, mode and max_age must appear (the
 * first occurrence counts); mx may repeat and must appear unless the mode is none.
 */
export function parseStsPolicy(text: string): ParsedStsPolicy {
  const out: ParsedStsPolicy = { version: null, mode: null, maxAge: null, mx: [], unknown: [], problems: [] };
  const lines = text.split(/\r?\n/);
  if (lines.at(-1) === '') lines.pop();
  const seen = new Set<string>();
  lines.forEach((line, i) => {
    const where = `line ${i + 1}`;
    const m = /^([A-Za-z0-9][A-Za-z0-9_.-]{0,31}):[ \t]*(.*?)[ \t]*$/.exec(line);
    if (!m) {
      if (i === 0 && line.startsWith('\ufeff')) out.problems.push(`${where} begins with a byte order mark (U+FEFF), which is no part of a policy`);
      else out.problems.push(`${where} is not a "key: value" line: ${JSON.stringify(line.slice(0, 60))}`);
      return;
    }
    const [, key, value] = m as unknown as [string, string, string];
    if (key === 'mx') {
      if (isMxPattern(value)) out.mx.push(value.replace(/\.$/, '').toLowerCase());
      else out.problems.push(`${where}: "${value}" is not a host name or a "*." pattern`);
      return;
    }
    if (key !== 'version' && key !== 'mode' && key !== 'max_age') {
      out.unknown.push(key);
      return;
    }
    if (seen.has(key)) return;
    seen.add(key);
    if (key === 'version') {
      out.version = value;
      if (value !== 'STSv1') out.problems.push(`${where}: version must be STSv1 (got "${value}")`);
    } else if (key === 'mode') {
      if ((STS_MODES as readonly string[]).includes(value)) out.mode = value as StsMode;
      else out.problems.push(`${where}: mode must be enforce, testing or none (got "${value}")`);
    } else {
      if (/^\d{1,10}$/.test(value)) out.maxAge = Number(value);
      else out.problems.push(`${where}: max_age must be a number of seconds (got "${value}")`);
    }
  });
  if (!seen.has('version')) out.problems.push('there is no "version: STSv1" line');
  if (!seen.has('mode')) out.problems.push('there is no "mode:" line');
  if (!seen.has('max_age')) out.problems.push('there is no "max_age:" line');
  if (out.mode !== null && out.mode !== 'none' && out.mx.length === 0) out.problems.push(`mode ${out.mode} needs at least one "mx:" line`);
  return out;
}

/**
 * §4.1: does the MX host `host` match the policy pattern? A literal matches itself; `*.example.com`
 * matches exactly one label in place of the `*` (mail.example.com, not example.com nor
 * a.b.example.com). Names compare without case and without a trailing dot.
 */
export function mxMatchesPattern(host: string, pattern: string): boolean {
  const h = host.toLowerCase().replace(/\.$/, '');
  const p = pattern.toLowerCase().replace(/\.$/, '');
  if (!p.startsWith('*.')) return h === p;
  const dot = h.indexOf('.');
  return dot > 0 && h.slice(dot + 1) === p.slice(2);
}
