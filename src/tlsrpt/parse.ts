/**
 * The SMTP TLS Reporting record (RFC 8460 §3) at `_smtp._tls.<domain>`:
 * `v=TLSRPTv1; rua=mailto:...,https://...` with optional extension fields.
 */
import { beginsWithVersion, readFieldList, trimWsp, versionMiss, type FieldListGrammar } from '../field-list.js';

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
  /** Fields named rua in another case beside rua itself, which senders ignore. */
  miscased: string[];
}

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

/**
 * RFC 8460 §3 writes the shared field list (src/field-list.ts) with
 *   tlsrpt-version = %s"v=TLSRPTv1"
 *   tlsrpt-rua     = %s"rua=" tlsrpt-uri *(*WSP "," *WSP tlsrpt-uri)
 * sys4's tlsrpt-reporter, the reporter Postfix uses, is the sender these judgements rest on.
 */
const TLSRPT_FIELDS: FieldListGrammar = {
  version: 'v=TLSRPTv1',
  rfc: 'RFC 8460 §3',
  // It compares the text before the first ";" with v=TLSRPTv1, whatever else is at the name.
  exactStartSenders: "sys4's tlsrpt-reporter",
  unread: 'send no reports',
  trailingSpace: { refused: false, senders: 'the senders looked at trim it' },
  fields: new Map([
    // sys4's tlsrpt-reporter keeps the space as part of the URI, which then has no scheme it knows.
    ['rua', { purpose: 'where reports go', spaceAfterEquals: 'the first URI follows "rua=" directly, and senders that keep the space read no address there' }],
  ]),
};

/** §3: records that do not begin with this are discarded. */
export function isTlsRptRecord(text: string): boolean {
  return beginsWithVersion(text, TLSRPT_FIELDS.version);
}

/** Why a TXT value that looks meant as the record (`v=tlsrptv1`, `V=TLSRPTv1`) is not one; null when it does not look so. */
export function whyNotTlsRptRecord(text: string): string | null {
  return versionMiss(text, TLSRPT_FIELDS.version);
}

export function parseTlsRpt(text: string): ParsedTlsRpt {
  const list = readFieldList(text, TLSRPT_FIELDS);
  const out: ParsedTlsRpt = { rua: [], extensions: list.extensions, problems: list.problems, warnings: list.warnings, miscased: list.miscased };
  for (const { value } of list.fields) {
    for (const part of value.split(',')) {
      const uri = trimWsp(part);
      // Allowed by the grammar; sys4's tlsrpt-reporter splits at "," without trimming, and a URI it cannot read drops every address of the record.
      if (uri !== part) out.warnings.push(`there is a space or tab next to "${uri}" by a ",", which the grammar allows but sys4's tlsrpt-reporter (Postfix's) reads as part of the URI, and then sends no report to any address: join the URIs by "," alone`);
      const problem = tlsRptUriProblem(uri);
      if (problem) out.problems.push(problem);
      else out.rua.push(uri);
    }
  }
  return out;
}
