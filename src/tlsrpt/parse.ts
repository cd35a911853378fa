/**
 * The SMTP TLS Reporting record (RFC 8460 §3) at `_smtp._tls.<domain>`:
 * `v=TLSRPTv1; rua=mailto:...,https://...` with optional extension fields.
 */

/** §3: records that do not begin with this are discarded. */
const TLSRPT_START = /^v=TLSRPTv1[ \t]*(;|$)/;

export function isTlsRptRecord(text: string): boolean {
  return TLSRPT_START.test(text);
}

export interface ParsedTlsRpt {
  /** The rua URIs, in order. */
  rua: string[];
  extensions: { name: string; value: string }[];
  /** What makes the record invalid (§3 ABNF); empty when it is valid. */
  problems: string[];
}

const EXT_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$/;
const EXT_VALUE = /^[\x21-\x3a\x3c\x3e-\x7e]+$/;

/** §3: a rua URI senders can use: mailto: with an address, or an https: URL. */
function tlsRptUriProblem(uri: string): string | null {
  if (/^mailto:/i.test(uri)) return /^mailto:[^@\s]+@[^@\s]+\.[^@\s]+$/i.test(uri) ? null : `"${uri}" is not a mailto: address`;
  if (/^https:/i.test(uri)) {
    try {
      const u = new URL(uri);
      return u.hostname ? null : `"${uri}" has no host`;
    } catch {
      return `"${uri}" is not a URL`;
    }
  }
  return `"${uri}" is neither mailto: nor https: (the only schemes senders report to)`;
}

export function parseTlsRpt(text: string): ParsedTlsRpt {
  const out: ParsedTlsRpt = { rua: [], extensions: [], problems: [] };
  if (!isTlsRptRecord(text)) {
    out.problems.push('it does not begin with "v=TLSRPTv1"');
    return out;
  }
  const fields = text.split(';').map((f) => f.replace(/^[ \t]+|[ \t]+$/g, ''));
  if (fields.length > 1 && fields.at(-1) === '') fields.pop();
  let ruas = 0;
  for (const field of fields.slice(1)) {
    const eq = field.indexOf('=');
    if (eq <= 0) {
      out.problems.push(`"${field}" is not a name=value field`);
      continue;
    }
    const name = field.slice(0, eq);
    const value = field.slice(eq + 1);
    if (name === 'rua') {
      ruas++;
      for (const uri of value.split(',').map((u) => u.trim())) {
        const problem = tlsRptUriProblem(uri);
        if (problem) out.problems.push(problem);
        else out.rua.push(uri);
      }
      continue;
    }
    if (!EXT_NAME.test(name) || !EXT_VALUE.test(value)) out.problems.push(`"${field}" is not a valid extension field`);
    else out.extensions.push({ name, value });
  }
  if (ruas === 0) out.problems.push('it has no rua field (where reports go)');
  if (ruas > 1) out.problems.push('it has more than one rua field');
  return out;
}
