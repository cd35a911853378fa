/**
 * SPF macros (RFC 7208 §7): syntax check of a macro-string and its expansion.
 *
 * A macro-string is literal text with `%{letter digits r delimiters}` expands and the escapes
 * `%%`, `%_` and `%-`. The letters c, r and t are only allowed in explanation text.
 */

interface MacroToken {
  kind: 'literal' | 'macro' | 'escape';
  /** Offset of the token inside the macro-string. */
  start: number;
  text: string;
  /** For macros: the letter as written (upper case asks for URL escaping). */
  letter?: string;
  digits?: number;
  reverse?: boolean;
  delimiters?: string;
}

interface MacroSyntaxError {
  /** Offset inside the macro-string. */
  offset: number;
  reason: string;
}

const DOMAIN_LETTERS = 'slodiphv';
const EXP_LETTERS = 'slodiphvcrt';
const DELIMITERS = '.-+,/_=';

/** Tokenise a macro-string; `exp` allows c, r and t (explanation text). */
export function tokenizeMacroString(text: string, exp = false): { tokens: MacroToken[]; error: MacroSyntaxError | null } {
  const tokens: MacroToken[] = [];
  let literal = '';
  let literalStart = 0;
  const flush = (at: number): void => {
    if (literal) tokens.push({ kind: 'literal', start: literalStart, text: literal });
    literal = '';
    literalStart = at;
  };
  for (let i = 0; i < text.length; ) {
    const ch = text[i]!;
    if (ch !== '%') {
      const code = ch.charCodeAt(0);
      // macro-literal = %x21-24 / %x26-7E; explanation text also allows spaces.
      const ok = (code >= 0x21 && code <= 0x7e) || (exp && code === 0x20);
      if (!ok) return { tokens, error: { offset: i, reason: `character ${describeChar(ch)} is not allowed here` } };
      if (!literal) literalStart = i;
      literal += ch;
      i++;
      continue;
    }
    flush(i);
    const next = text[i + 1];
    if (next === '%' || next === '_' || next === '-') {
      tokens.push({ kind: 'escape', start: i, text: `%${next}` });
      i += 2;
      literalStart = i;
      continue;
    }
    if (next !== '{') {
      const what = next === undefined ? 'the text ends after "%"' : `"%${next}" is not a macro`;
      return { tokens, error: { offset: i, reason: `${what}: write "%%" for a literal percent sign, or "%{letter}"` } };
    }
    const close = text.indexOf('}', i + 2);
    if (close < 0) return { tokens, error: { offset: i, reason: 'macro "%{" is never closed with "}"' } };
    const body = text.slice(i + 2, close);
    const m = /^([A-Za-z])(\d*)(r?)(.*)$/i.exec(body);
    if (!m) return { tokens, error: { offset: i, reason: `macro "%{${body}}" has no letter` } };
    const [, letter = '', digits = '', rev = '', delims = ''] = m;
    const allowed = exp ? EXP_LETTERS : DOMAIN_LETTERS;
    if (!allowed.includes(letter.toLowerCase())) {
      const why = EXP_LETTERS.includes(letter.toLowerCase())
        ? `macro letter "${letter}" is allowed only in explanation text`
        : `"${letter}" is not a macro letter (use one of ${allowed.split('').join(', ')})`;
      return { tokens, error: { offset: i + 2, reason: why } };
    }
    if (digits !== '' && (digits.startsWith('0') || Number(digits) === 0)) {
      return { tokens, error: { offset: i + 3, reason: `macro "%{${body}}": the number of parts to keep must be 1 or more, without leading zeros` } };
    }
    for (const d of delims) {
      if (!DELIMITERS.includes(d)) {
        return { tokens, error: { offset: i + 2, reason: `macro "%{${body}}": "${d}" is not a delimiter (use ${DELIMITERS.split('').join(' ')})` } };
      }
    }
    tokens.push({
      kind: 'macro',
      start: i,
      text: text.slice(i, close + 1),
      letter,
      digits: digits ? Number(digits) : 0,
      reverse: rev.toLowerCase() === 'r',
      delimiters: delims || '.',
    });
    i = close + 1;
    literalStart = i;
  }
  flush(text.length);
  return { tokens, error: null };
}

export function hasMacro(text: string): boolean {
  return text.includes('%');
}

export function describeChar(ch: string): string {
  const code = ch.codePointAt(0) ?? 0;
  const hex = `U+${code.toString(16).toUpperCase().padStart(4, '0')}`;
  if (code < 0x20 || code === 0x7f) return `${hex} (a control character)`;
  if (code > 0x7e) return `${hex} (not ASCII)`;
  return `"${ch}"`;
}

/** Values the macro letters stand for during one check_host() call. */
export interface MacroContext {
  sender: string;
  localPart: string;
  senderDomain: string;
  /** The domain whose record is being evaluated now. */
  domain: string;
  /** %{i}: dotted decimal for IPv4, dotted nibbles for IPv6. */
  ipDotted: string;
  /** %{c}: the readable client address. */
  ipReadable: string;
  /** %{v}: `in-addr` or `ip6`. */
  ipVersion: string;
  helo: string;
  /** %{r}: the receiving host, `unknown` when not known. */
  receiver: string;
  /** %{t}: seconds since the epoch. */
  timestamp: number;
  /** %{p}: resolved lazily, only when a macro needs it. */
  validatedName: () => Promise<string>;
}

/** RFC 3986 unreserved characters stay; everything else becomes %XX (upper-case macro letters). */
function urlEscape(text: string): string {
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) {
    const ch = String.fromCharCode(byte);
    out += /[A-Za-z0-9\-._~]/.test(ch) ? ch : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

async function letterValue(letter: string, ctx: MacroContext): Promise<string> {
  switch (letter.toLowerCase()) {
    case 's':
      return ctx.sender;
    case 'l':
      return ctx.localPart;
    case 'o':
      return ctx.senderDomain;
    case 'd':
      return ctx.domain;
    case 'i':
      return ctx.ipDotted;
    case 'p':
      return ctx.validatedName();
    case 'v':
      return ctx.ipVersion;
    case 'h':
      return ctx.helo;
    case 'c':
      return ctx.ipReadable;
    case 'r':
      return ctx.receiver;
    case 't':
      return String(ctx.timestamp);
    default:
      throw new Error(`unknown macro letter ${letter}`);
  }
}

function transform(value: string, tok: MacroToken): string {
  const delims = tok.delimiters ?? '.';
  const parts = value.split(new RegExp(`[${delims.replace(/[\\\]^-]/g, '\\$&')}]`));
  if (tok.reverse) parts.reverse();
  const kept = tok.digits ? parts.slice(Math.max(0, parts.length - tok.digits)) : parts;
  return kept.join('.');
}

/** Expand a macro-string already known to be valid (tokenise it first). */
export async function expandTokens(tokens: readonly MacroToken[], ctx: MacroContext): Promise<string> {
  let out = '';
  for (const tok of tokens) {
    if (tok.kind === 'literal') out += tok.text;
    else if (tok.kind === 'escape') out += tok.text === '%%' ? '%' : tok.text === '%_' ? ' ' : '%20';
    else {
      const letter = tok.letter!;
      const value = transform(await letterValue(letter, ctx), tok);
      out += letter === letter.toUpperCase() ? urlEscape(value) : value;
    }
  }
  return out;
}

/** Expand a macro-string; throws MacroSyntaxError-shaped errors as `MacroError`. */
export async function expandMacroString(text: string, ctx: MacroContext, exp = false): Promise<string> {
  const { tokens, error } = tokenizeMacroString(text, exp);
  if (error) throw new MacroError(error);
  return expandTokens(tokens, ctx);
}

class MacroError extends Error {
  constructor(readonly detail: MacroSyntaxError) {
    super(`${detail.reason} (at offset ${detail.offset})`);
    this.name = 'MacroError';
  }
}

/**
 * RFC 7208 §7.3: an expanded domain name longer than 253 characters loses labels on the left
 * until it fits. A trailing dot is dropped.
 */
export function truncateDomain(name: string): string {
  let n = name.replace(/\.$/, '');
  while (n.length > 253 && n.includes('.')) n = n.slice(n.indexOf('.') + 1);
  return n;
}
