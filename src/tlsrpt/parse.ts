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
  /**
   * White space that senders mishandle: where the grammar allows it but sys4's tlsrpt-reporter
   * (the reporter Postfix uses) reads no address or no record, or where the grammar does not
   * allow it but the senders looked at trim it.
   */
  warnings: string[];
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

const WSP_AT_ENDS = /^[ \t]+|[ \t]+$/g;

/**
 * RFC 8460 §3:
 *   tlsrpt-record = tlsrpt-version 1*(field-delim tlsrpt-field) [field-delim]
 *   field-delim   = *WSP ";" *WSP
 *   tlsrpt-rua    = %s"rua=" tlsrpt-uri *(*WSP "," *WSP tlsrpt-uri)
 *   tlsrpt-extension = tlsrpt-ext-name "=" tlsrpt-ext-value   (no SP in the value)
 * So white space may stand around ";" and ",", nowhere around "=", and not at the end unless a
 * ";" comes before it. Names are %s strings: case-sensitive.
 */
export function parseTlsRpt(text: string): ParsedTlsRpt {
  const out: ParsedTlsRpt = { rua: [], extensions: [], problems: [], warnings: [] };
  if (!isTlsRptRecord(text)) {
    out.problems.push('it does not begin with "v=TLSRPTv1"');
    return out;
  }
  // §3: with other TXT records at the name, one not beginning "v=TLSRPTv1;" is discarded; sys4's
  // tlsrpt-reporter compares the text before the first ";" with v=TLSRPTv1 whatever else is there.
  if (/^v=TLSRPTv1[ \t]+;/.test(text)) {
    out.warnings.push(`it begins "${/^v=TLSRPTv1[ \t]+;/.exec(text)![0]}", which the grammar allows, but senders that take only records beginning with exactly "v=TLSRPTv1;" (RFC 8460 §3 where other TXT records stand at the name; sys4's tlsrpt-reporter always) send no reports: write "v=TLSRPTv1;"`);
  }
  if (/[ \t]$/.test(text) && !/;[ \t]*$/.test(text)) {
    out.warnings.push('it ends in a space or tab after its last field, which the grammar allows only after a final ";" (the senders looked at trim it): remove it');
  }
  const fields = text.split(';').map((f) => f.replace(WSP_AT_ENDS, ''));
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
    if (/[ \t]$/.test(name)) {
      out.problems.push(`there is a space or tab before "=" in "${field}"; no white space may stand around "="`);
      continue;
    }
    if (name === 'rua') {
      if (/^[ \t]/.test(value)) {
        // sys4's tlsrpt-reporter keeps the space as part of the URI, which then has no scheme it knows.
        out.problems.push(`there is a space or tab after "rua="; the first URI follows "rua=" directly, and senders that keep the space read no address there`);
        continue;
      }
      ruas++;
      for (const part of value.split(',')) {
        const uri = part.replace(WSP_AT_ENDS, '');
        // Allowed by the grammar; sys4's tlsrpt-reporter splits at "," without trimming, and a URI it cannot read drops every address of the record.
        if (uri !== part) out.warnings.push(`there is a space or tab next to "${uri}" by a ",", which the grammar allows but sys4's tlsrpt-reporter (Postfix's) reads as part of the URI, and then sends no report to any address: join the URIs by "," alone`);
        const problem = tlsRptUriProblem(uri);
        if (problem) out.problems.push(problem);
        else out.rua.push(uri);
      }
      continue;
    }
    if (name.toLowerCase() === 'rua') out.problems.push(`"${name}" is not rua: field names are case-sensitive, so senders ignore it as an unknown field`);
    else if (!EXT_NAME.test(name) || !EXT_VALUE.test(value)) out.problems.push(`"${field}" is not a valid extension field`);
    else out.extensions.push({ name, value });
  }
  if (ruas === 0) out.problems.push('it has no rua field (where reports go)');
  if (ruas > 1) out.problems.push('it has more than one rua field');
  return out;
}
