/**
 * Types for the parts of mailauth 4.13.3 that maildns uses below its documented API: the
 * canonicalization primitives, needed to lay out a DKIM-Signature header field in a chosen
 * tag order and to sign (sign.ts), and to verify each signature on its own (dkim.ts). Only what maildns
 * calls is declared (parseHeaders and getSigningHeaderLines only for the tests that hold
 * src/message/dkim.ts headerLines, signingLines and linesToSign to them).
 */
declare module 'mailauth/lib/tools.js' {
  export interface MailauthHeaderLine {
    /** Lower-case field name. */
    key: string | null;
    casedKey: string | undefined;
    /** The whole field, folded lines joined with CRLF, no final CRLF. */
    line: Buffer;
  }
  export interface MailauthParsedHeaders {
    parsed: MailauthHeaderLine[];
    original: Buffer;
  }
  export interface MailauthSigningLines {
    keys: string;
    headers: MailauthHeaderLine[];
  }
  export function parseHeaders(buf: Buffer): MailauthParsedHeaders;
  /**
   * `verify = true`: fields in the order listed, each taking the last unused instance (RFC 6376 §5.4.2);
   * false: every instance of the listed fields, bottom first (what dkimSign signs).
   */
  export function getSigningHeaderLines(parsed: MailauthHeaderLine[], fieldNames: string, verify: boolean): MailauthSigningLines;
  /** The DKIM-Signature field (no final CRLF) for these tag values, folded as dkimSign folds it. */
  export function formatSignatureHeaderLine(type: 'DKIM', values: Record<string, string | number | undefined>, folded: boolean): string;
}

declare module 'mailauth/lib/dkim/body/index.js' {
  export interface MailauthBodyHash {
    update(chunk: Buffer): void;
    digest(encoding: 'base64'): string;
    /** Canonicalized body octets hashed (at most l=), and the canonicalized body's whole length. */
    bodyHashedBytes: number;
    canonicalizedLength: number;
  }
  export function dkimBody(canonicalization: string, hashAlgo: string, maxBodyLength: number | false): MailauthBodyHash;
}

declare module 'mailauth/lib/dkim/header/index.js' {
  import type { MailauthSigningLines } from 'mailauth/lib/tools.js';
  /** With `signatureHeaderLine`, that field is hashed (without its b= value); without it, one is made from the other options, its tags returned as dkimHeaderOpts. */
  export function generateCanonicalizedHeader(
    type: 'DKIM',
    lines: MailauthSigningLines,
    options:
      | { signatureHeaderLine: string; canonicalization: string }
      | { algorithm: string; canonicalization: string; signingDomain: string; selector: string; bodyHash: string; signTime: Date; expires?: Date },
  ): { canonicalizedHeader: Buffer; signatureHeaderLine: string; dkimHeaderOpts: Record<string, string | number> };
}
