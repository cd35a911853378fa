/**
 * The `;`-separated field list that the MTA-STS record (RFC 8461 §3.1) and the TLS-RPT record
 * (RFC 8460 §3) share:
 *
 *   record      = version 1*(field-delim field) [field-delim]
 *   field-delim = *WSP ";" *WSP
 *   version     = %s"v=STSv1" / %s"v=TLSRPTv1"
 *   field       = a field of the record's own (%s"id=" ..., %s"rua=" ...) / extension
 *   extension   = ext-name "=" ext-value
 *   ext-name    = (ALPHA / DIGIT) *31(ALPHA / DIGIT / "_" / "-" / ".")
 *   ext-value   = 1*(%x21-3A / %x3C / %x3E-7E)
 *
 * So white space may stand around ";" only: not around "=", and not at the end unless a ";" comes
 * before it. Names are %s strings: case-sensitive. This reads the list and judges what the grammar
 * says of it; each record's parser says what its own fields' values mean. (DKIM and DMARC tag
 * lists, RFC 6376 §3.2, are another grammar: it allows white space around "=".)
 */

/** What one record adds to the shared grammar, and what its senders do where they part from it. */
export interface FieldListGrammar {
  /** The version field, exact and first: `v=TLSRPTv1`. */
  version: string;
  /** The section by which senders, when other TXT records stand at the name, discard a record not beginning with exactly `<version>;`. */
  rfc: string;
  /** Senders that always take only records beginning with exactly `<version>;`. */
  exactStartSenders: string;
  /** What senders do of a record they do not take: `send no reports`. */
  unread: string;
  /** White space at the end with no ";" before it, which the grammar refuses: whether senders refuse it too (a problem) or trim it (a warning), and which. */
  trailingSpace: { refused: boolean; senders: string };
  /** The record's own fields, each to appear once, by name. */
  fields: ReadonlyMap<string, OwnField>;
}

interface OwnField {
  /** Said of a record without the field: `where reports go`. */
  purpose?: string;
  /** After `there is a space or tab after "<name>="; `: what follows "=" there, and what senders that keep the space read. */
  spaceAfterEquals: string;
}

interface Field {
  name: string;
  value: string;
}

export interface FieldList {
  /** The record's own fields, in order (a field with white space around "=" is not one). */
  fields: Field[];
  /** The other valid fields, extensions, which senders ignore (a miscased own field is not one). */
  extensions: Field[];
  /** Where the text leaves the grammar in a way senders refuse; empty when it is valid. */
  problems: string[];
  /** White space senders mishandle (see FieldListGrammar). */
  warnings: string[];
  /** Fields named as one of the record's own in another case, beside that field (RUA= beside rua=), which senders ignore; without it they are problems. */
  miscased: string[];
}

const EXT_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$/;
const EXT_VALUE = /^[\x21-\x3a\x3c\x3e-\x7e]+$/;

/** Without the spaces and tabs (WSP) at either end. */
export function trimWsp(text: string): string {
  return text.replace(/^[ \t]+|[ \t]+$/g, '');
}

/** Does the text begin with the version field, as the first field of the list? */
export function beginsWithVersion(text: string, version: string): boolean {
  return text.startsWith(version) && /^[ \t]*(;|$)/.test(text.slice(version.length));
}

/**
 * Why a text that looks meant as the record (`v=stsv1`, `V=STSv1`, ` v = STSv1`) is not one: it
 * does not begin with the version field exactly; null when it does not look meant so.
 */
export function versionMiss(text: string, version: string): string | null {
  const [name, value] = version.split('=') as [string, string];
  const m = new RegExp(`^\\s*(${name})\\s*=\\s*${value}`, 'i').exec(text);
  if (!m || beginsWithVersion(text, version)) return null;
  const miscased = m[1] !== name ? ` (${m[1]}= is not ${name}=: field names are case-sensitive)` : '';
  return `it must begin with exactly "${version}"${miscased}`;
}

export function readFieldList(text: string, grammar: FieldListGrammar): FieldList {
  const out: FieldList = { fields: [], extensions: [], problems: [], warnings: [], miscased: [] };
  const { version } = grammar;
  if (!beginsWithVersion(text, version)) {
    out.problems.push(`it does not begin with "${version}"`);
    return out;
  }
  const spacedStart = /^[ \t]+;/.exec(text.slice(version.length));
  if (spacedStart) {
    out.warnings.push(`it begins "${version}${spacedStart[0]}", which the grammar allows, but senders that take only records beginning with exactly "${version};" (${grammar.rfc} where other TXT records stand at the name; ${grammar.exactStartSenders} always) ${grammar.unread}: write "${version};"`);
  }
  if (/[ \t]$/.test(text) && !/;[ \t]*$/.test(text)) {
    const message = `it ends in a space or tab after its last field, which the grammar allows only after a final ";" (${grammar.trailingSpace.senders}): remove it`;
    (grammar.trailingSpace.refused ? out.problems : out.warnings).push(message);
  }
  const parts = text.split(';').map(trimWsp);
  // A final ";" leaves one empty part at the end, which the grammar allows.
  if (parts.length > 1 && parts.at(-1) === '') parts.pop();
  const counts = new Map<string, number>();
  const miscased: { name: string; meant: string }[] = [];
  for (const part of parts.slice(1)) {
    const eq = part.indexOf('=');
    if (eq <= 0) {
      out.problems.push(`"${part}" is not a name=value field`);
      continue;
    }
    const name = part.slice(0, eq);
    const value = part.slice(eq + 1);
    if (/[ \t]$/.test(name)) {
      out.problems.push(`there is a space or tab before "=" in "${part}"; no white space may stand around "="`);
      continue;
    }
    const own = grammar.fields.get(name);
    if (own) {
      if (/^[ \t]/.test(value)) {
        out.problems.push(`there is a space or tab after "${name}="; ${own.spaceAfterEquals}`);
        continue;
      }
      counts.set(name, (counts.get(name) ?? 0) + 1);
      out.fields.push({ name, value });
      continue;
    }
    const meant = [...grammar.fields.keys()].find((n) => n.toLowerCase() === name.toLowerCase());
    if (meant) miscased.push({ name, meant });
    if (!EXT_NAME.test(name) || !EXT_VALUE.test(value)) out.problems.push(`"${part}" is not a valid extension field`);
    else if (!meant) out.extensions.push({ name, value });
  }
  for (const { name, meant } of miscased) {
    // Without the real field the record lacks it, and this is why.
    (counts.has(meant) ? out.miscased : out.problems).push(`"${name}" is not ${meant}: field names are case-sensitive, so senders ignore it as an unknown field`);
  }
  for (const [name, own] of grammar.fields) {
    const count = counts.get(name) ?? 0;
    if (count === 0) out.problems.push(`it has no ${name} field${own.purpose ? ` (${own.purpose})` : ''}`);
    if (count > 1) out.problems.push(`it has more than one ${name} field`);
  }
  return out;
}
