/**
 * TXT character-strings (RFC 1035 §3.3.14): each at most 255 octets. Splitting counts bytes,
 * never characters, and never cuts a UTF-8 sequence in two.
 */
export const MAX_CHARACTER_STRING = 255;

export function splitCharacterStrings(text: string, max = MAX_CHARACTER_STRING): Buffer[] {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length === 0) return [Buffer.alloc(0)];
  const out: Buffer[] = [];
  let start = 0;
  while (start < bytes.length) {
    let end = Math.min(start + max, bytes.length);
    // Step back over UTF-8 continuation bytes (10xxxxxx) so a sequence stays whole.
    while (end < bytes.length && end > start && (bytes[end]! & 0xc0) === 0x80) end--;
    out.push(bytes.subarray(start, end));
    start = end;
  }
  return out;
}

/** Quote one character-string for a master file: `"` and `\` escaped, non-printable bytes as \DDD. */
export function quoteCharacterString(bytes: Buffer): string {
  let out = '"';
  for (const b of bytes) {
    if (b === 0x22) out += '\\"';
    else if (b === 0x5c) out += '\\\\';
    else if (b >= 0x20 && b < 0x7f) out += String.fromCharCode(b);
    else out += `\\${b.toString().padStart(3, '0')}`;
  }
  return `${out}"`;
}

/** A TXT value as quoted character-strings of at most 255 octets, as a master file writes them. */
export function quotedCharacterStrings(value: string): string[] {
  return splitCharacterStrings(value).map(quoteCharacterString);
}

/** A TXT record as one master-file line: `name. TTL IN TXT "..." "..."` (RFC 1035 §5.1). */
export function zoneTxtLine(name: string, value: string, ttl = 3600): string {
  return `${name.replace(/\.$/, '')}. ${ttl} IN TXT ${quotedCharacterStrings(value).join(' ')}`;
}

/**
 * A record as typed, or pasted from a zone file or dig: quoted strings are unquoted (\DDD and
 * \X escapes read) and joined (`"v=DKIM1; k=rsa; " "p=MIIB..."`); parentheses and a leading
 * owner/class/type are dropped with everything else outside the quotes.
 */
export function unquoteCharacterStrings(text: string): string {
  const quoted = [...text.matchAll(/"((?:[^"\\]|\\.)*)"/g)];
  if (quoted.length === 0) return text.trim();
  return quoted
    .map((m) => m[1]!.replace(/\\(\d{3}|.)/g, (_, e: string) => (/^\d{3}$/.test(e) ? String.fromCharCode(Number(e)) : e)))
    .join('');
}
