/**
 * An RFC 5322 message as the signer and verifier see it: header fields (unfolded for reading,
 * raw for signing), the body, and the RFC 5322.From domain that DMARC is about.
 */
import { domainToASCII } from 'node:url';
import { InputError } from '../errors.js';
import { failedOn, readInputFile } from '../fsutil.js';
import { domainNameProblem, normalizeName } from '../names.js';

interface HeaderField {
  /** Field name as written. */
  name: string;
  /** Value with folding undone (CRLF + WSP becomes the WSP), not trimmed inside. */
  value: string;
  /** 1-based line number where the field starts, for messages. */
  line: number;
}

/**
 * A header line that is neither the start of a field (its name and a colon) nor a folded line
 * (one that starts with SP or HTAB). RFC 5322 §2.2.3 lets only WSP begin a folded line, so a line
 * that starts with another octet (0x0B, 0x0C, the 0xA0 of a UTF-8 "à") continues no field; mailauth
 * took a regexp's \s for a fold, dkimpy rejects the message (MessageFormatError).
 */
export interface MalformedHeaderLine {
  /** 1-based line number. */
  line: number;
  /** The line as read (Latin-1, an octet a character). */
  text: string;
}

export interface ParsedMessage {
  raw: Buffer;
  fields: HeaderField[];
  /** True when every line ends in a bare LF (a file saved by a Unix tool, not wire format). */
  lfOnly: boolean;
  /** Offset of the body in `raw` (after the empty line), or raw.length when there is none. */
  bodyOffset: number;
  /** The header lines below the first field that are no field and no fold (none: an empty list). */
  malformed: MalformedHeaderLine[];
}

/**
 * The one rule for what a header line is (RFC 5322 §2.2, §2.2.3, §3.6.8; §4.5.8 for blanks before
 * the colon), which parseMessage and DKIM's and ARC's header split (dkim.ts headerLines) share:
 * a fold when it starts with SP or HTAB; else a field when it starts with a name of printable
 * ASCII but the colon, then only SP and HTAB, then the colon; else malformed.
 */
export function headerLineKind(line: string): { kind: 'fold' } | { kind: 'field'; name: string; colon: number } | { kind: 'malformed' } {
  if (line.charCodeAt(0) === 0x20 || line.charCodeAt(0) === 0x09) return { kind: 'fold' };
  const m = /^([\x21-\x39\x3b-\x7e]+)[ \t]*:/.exec(line);
  return m ? { kind: 'field', name: m[1]!, colon: m[0].length - 1 } : { kind: 'malformed' };
}

/** The first octet of a line as "0x0B" (the octet a malformed header line begins with). */
function firstOctet(text: string): string {
  return `0x${text.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`;
}

/** What is wrong with a malformed header line, and the RFC rule, in one sentence. */
export function malformedLineProblem(m: MalformedHeaderLine): string {
  const c = m.text.charCodeAt(0);
  const start = c >= 0x21 && c <= 0x7e ? `"${m.text.slice(0, 20).replace(/[^\x20-\x7e]/g, '?')}"` : m.text === '' ? 'nothing' : firstOctet(m.text);
  return `header line ${m.line} begins with ${start} and is no field ("name: value") and no folded line, which only a space or tab may begin (RFC 5322 §2.2.3)`;
}

export const MALFORMED_LINE_FIX = 'begin the line with a space or tab if it continues the field above, or remove it (a raw 0x0B, 0x0C or 8-bit octet at the start of a line is not folding white space)';

/** Split header from body and unfold the fields. Throws InputError when the text is not a message. */
export function parseMessage(raw: Buffer, label = 'message'): ParsedMessage {
  // Searched as octets, and only the header made text: a message of many megabytes is not copied into a string.
  // Old Mac OS line ends: the whole file would be one header line, its From domain running into the next field.
  const firstCr = raw.indexOf(0x0d);
  if (!raw.includes(0x0a) && firstCr >= 0 && firstCr < raw.length - 1) {
    throw new InputError('the lines end in a bare CR (a carriage return without a line feed), which no mail system sends; convert the line ends to CRLF or LF (tr "\\r" "\\n" < old.eml > new.eml)', label);
  }
  const end = emptyLine(raw);
  const headerText = end ? raw.toString('latin1', 0, end.start) : raw.toString('latin1').replace(/\r?\n$/, '');
  const bodyOffset = end ? end.bodyOffset : raw.length;
  const lines = headerText.split(/\r?\n/);
  const fields: HeaderField[] = [];
  const malformed: MalformedHeaderLine[] = [];
  let inMalformed = false;
  lines.forEach((line, i) => {
    const kind = headerLineKind(line);
    if (kind.kind === 'fold' && fields.length) {
      // A fold below a malformed line continues that line, which is no field: it belongs to none.
      if (!inMalformed) fields[fields.length - 1]!.value += line;
      return;
    }
    inMalformed = kind.kind !== 'field';
    // Anything before the name (a blank, 0x0B) makes the first line no field at all, as every DKIM
    // canonicalizer reads such a line differently; a file that does not start with a field is no message.
    if (kind.kind !== 'field') {
      if (fields.length === 0) throw new InputError(`line ${i + 1} is not a header field ("name: value"); is this an RFC 5322 message (.eml)?`, label);
      malformed.push({ line: i + 1, text: line });
      return;
    }
    fields.push({ name: kind.name, value: line.slice(kind.colon + 1), line: i + 1 });
  });
  if (fields.length === 0) throw new InputError('no header fields found; is this an RFC 5322 message (.eml)?', label);
  const lfOnly = !raw.includes('\r\n') && raw.includes(0x0a);
  return { raw, fields, lfOnly, bodyOffset, malformed };
}

/**
 * The first empty line of `raw` (/\r?\n\r?\n/, either line end): where the line end before it
 * starts, and where the body after it starts; null when there is none.
 */
function emptyLine(raw: Buffer): { start: number; bodyOffset: number } | null {
  for (let lf = raw.indexOf(0x0a); lf >= 0; lf = raw.indexOf(0x0a, lf + 1)) {
    const next = raw[lf + 1] === 0x0d ? lf + 2 : lf + 1;
    if (raw[next] !== 0x0a) continue;
    return { start: lf > 0 && raw[lf - 1] === 0x0d ? lf - 1 : lf, bodyOffset: next + 1 };
  }
  return null;
}

/** The largest message read: above the largest any mail system takes (Exchange Online's highest limit is 150 MB). */
export const MAX_MESSAGE_BYTES = 150 * 1024 * 1024;

/**
 * Read and parse a message file: a regular file, or a pipe or device read to its end, within
 * MAX_MESSAGE_BYTES and (for a pipe) the input deadline (`deadlineMs`, default INPUT_DEADLINE_MS;
 * `atTerminal` as readInputFile takes it).
 */
export async function readMessageFile(file: string, opts: { deadlineMs?: number; atTerminal?: (where: string) => void } = {}): Promise<ParsedMessage> {
  let raw: Buffer;
  try {
    raw = await readInputFile(file, { maxBytes: MAX_MESSAGE_BYTES, what: 'a message', fix: 'no mail system takes a larger one: is this the message file?', ...opts });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new InputError('message file not found', file);
    failedOn(err, file, 'read the message');
  }
  if (raw.length === 0) throw new InputError('the message file is empty', file);
  return parseMessage(raw, file);
}

export function fieldsNamed(msg: ParsedMessage, name: string): HeaderField[] {
  const lower = name.toLowerCase();
  return msg.fields.filter((f) => f.name.toLowerCase() === lower);
}

/** Remove RFC 5322 comments and quoted strings, which may contain "@" and "<" that are not addresses. */
function stripCommentsAndQuotes(value: string): string {
  let out = '';
  let depth = 0;
  let quoted = false;
  for (let i = 0; i < value.length; i++) {
    const c = value[i]!;
    if (c === '\\' && (quoted || depth > 0)) {
      i++;
      continue;
    }
    if (quoted) {
      if (c === '"') quoted = false;
      continue;
    }
    if (c === '(') depth++;
    else if (c === ')' && depth > 0) depth--;
    else if (depth === 0 && c === '"') quoted = true;
    else if (depth === 0) out += c;
  }
  return out;
}

/** The addresses of an address-list field value (`Name <a@b>, c@d`). Group syntax is flattened. */
export function addressesOf(value: string): string[] {
  const clean = stripCommentsAndQuotes(value).replace(/^[^:<@,]*:(?=[^:]*;?\s*$)/, '').replace(/;\s*$/, '');
  const out: string[] = [];
  for (const part of clean.split(',')) {
    const angle = /<([^>]*)>/.exec(part);
    const addr = (angle ? angle[1]! : part).trim();
    if (addr) out.push(addr);
  }
  return out;
}

/**
 * The domain of an address (`local@domain`), lower-case; null when it is none: no "@", an "@"
 * in the local part outside quotes (already removed), or a control character (a NUL, say: a
 * reader that stops there shows the address before it, while the domain after the last "@" is
 * another one).
 */
export function domainOf(address: string): string | null {
  const at = address.lastIndexOf('@');
  if (at < 0 || address.indexOf('@') !== at || /[\x00-\x08\x0a-\x1f\x7f]/.test(address)) return null;
  const domain = normalizeName(address.slice(at + 1).replace(/[>\s]/g, ''));
  return domain === '' ? null : domain;
}

interface FromIdentity {
  /** The single RFC 5322.From domain, or null when DMARC cannot pick one. */
  domain: string | null;
  addresses: string[];
  /** Why there is no single domain (no From, several From fields, several domains). */
  problem?: string;
  /** What to do about the problem. */
  fix?: string;
}

/** Header text as read (Latin-1, an octet a character) as the characters its octets spell in UTF-8 (RFC 6532); null when they spell none. */
export function utf8Text(text: string): string | null {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(Buffer.from(text, 'latin1'));
  } catch {
    return null;
  }
}

/**
 * A domain name from a header field (read as Latin-1) as DNS is asked for it: an internationalized
 * name, UTF-8 in the field (RFC 6532), as its A-labels (RFC 8616 §3: U-labels are turned into
 * A-labels before the lookup), with the Unicode form it was written in; or, when it is no name a
 * query can be made for, why (after the name, quoted as its octets spell it). The one rule for
 * the From domain DMARC looks up and the key name of a DKIM signature.
 */
export function headerDomainName(text: string): { name: string; unicode: string | null } | { problem: string } {
  if (!/[^\x00-\x7f]/.test(text)) {
    const problem = domainNameProblem(text);
    return problem ? { problem: `"${text}" ${problem}` } : { name: text, unicode: null };
  }
  const unicode = utf8Text(text);
  const aLabel = unicode === null ? '' : domainToASCII(unicode);
  if (!aLabel || domainNameProblem(aLabel)) return { problem: `"${unicode ?? text}" is not a valid internationalized domain name` };
  return { name: aLabel, unicode };
}

/** The From domain as DMARC looks it up (RFC 8616 §6: its U-labels as A-labels); null with the reason when it is no domain name a query can be made for. */
function dmarcDomain(domain: string): { domain: string } | { problem: string } {
  const checked = headerDomainName(domain);
  return 'problem' in checked ? { problem: `the From domain ${checked.problem}` } : { domain: checked.name };
}

const FROM_FIX = {
  none: 'add a From field with the author\'s address (From: Name <local@domain>)',
  several: 'keep one From field; several authors go in that one field, all in one domain',
  address: 'write From as Name <local@domain>: an address with its domain',
  domains: 'put addresses of one domain only in From (the others in Reply-To or Cc)',
  domain: 'write the From address with a domain that exists as a host name (an internationalized one in UTF-8 or as its A-label)',
};

/** RFC 7489 §6.6.1: exactly one From field; several addresses are acceptable only when they share the domain. */
export function fromIdentity(msg: ParsedMessage): FromIdentity {
  const froms = fieldsNamed(msg, 'From');
  if (froms.length === 0) return { domain: null, addresses: [], problem: 'the message has no From header field', fix: FROM_FIX.none };
  if (froms.length > 1) return { domain: null, addresses: [], problem: `the message has ${froms.length} From header fields (RFC 5322 allows one)`, fix: FROM_FIX.several };
  const addresses = addressesOf(froms[0]!.value);
  const domains = [...new Set(addresses.map(domainOf))];
  if (addresses.length === 0 || domains.includes(null)) {
    return { domain: null, addresses, problem: `the From field has no usable address ("${froms[0]!.value.trim()}")`, fix: FROM_FIX.address };
  }
  if (domains.length > 1) return { domain: null, addresses, problem: `the From field names several domains (${domains.join(', ')})`, fix: FROM_FIX.domains };
  const checked = dmarcDomain(domains[0]!);
  if ('problem' in checked) return { domain: null, addresses, problem: checked.problem, fix: FROM_FIX.domain };
  return { domain: checked.domain, addresses };
}

/**
 * The message with LF line ends turned into CRLF, the form DKIM works on (RFC 6376 §5.3); a lone
 * CR stays as it is. Octet by octet, in one copy (none when every LF has its CR already).
 */
export function toCrlf(raw: Buffer): Buffer {
  let bare = 0;
  for (let lf = raw.indexOf(0x0a); lf >= 0; lf = raw.indexOf(0x0a, lf + 1)) if (lf === 0 || raw[lf - 1] !== 0x0d) bare++;
  if (bare === 0) return raw;
  const out = Buffer.allocUnsafe(raw.length + bare);
  let from = 0;
  let to = 0;
  for (let lf = raw.indexOf(0x0a); lf >= 0; lf = raw.indexOf(0x0a, lf + 1)) {
    if (lf > 0 && raw[lf - 1] === 0x0d) continue;
    to += raw.copy(out, to, from, lf);
    out[to++] = 0x0d;
    from = lf;
  }
  raw.copy(out, to, from);
  return out;
}

/** wireParts of each message, made once for DKIM, ARC and signing alike. */
const wirePartsMade = new WeakMap<ParsedMessage, { header: Buffer; body: Buffer }>();

/**
 * The message in wire form split for DKIM: the header (its last field's CRLF included, the empty
 * line not) and the body after the empty line. A message without an empty line has an empty body.
 */
export function wireParts(msg: ParsedMessage): { header: Buffer; body: Buffer } {
  let parts = wirePartsMade.get(msg);
  if (!parts) {
    const crlf = toCrlf(msg.raw);
    const end = crlf.indexOf('\r\n\r\n');
    parts = end < 0 ? { header: crlf, body: Buffer.alloc(0) } : { header: crlf.subarray(0, end + 2), body: crlf.subarray(end + 4) };
    wirePartsMade.set(msg, parts);
  }
  return parts;
}
