/**
 * Types for the parts of mailauth 4.13.3 that maildns uses below its documented API: the
 * canonicalization primitives, needed to lay out a DKIM-Signature header field in a chosen
 * tag order (sign.ts) and to verify each signature on its own (dkim.ts). Only what maildns
 * calls is declared (getSigningHeaderLines only for the test that holds src/message/dkim.ts signingLines to it).
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
  /** `verify = true`: fields in the order listed, each taking the last unused instance (RFC 6376 §5.4.2). */
  export function getSigningHeaderLines(parsed: MailauthHeaderLine[], fieldNames: string, verify: boolean): MailauthSigningLines;
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
  export function generateCanonicalizedHeader(
    type: 'DKIM',
    lines: MailauthSigningLines,
    options: { signatureHeaderLine: string; canonicalization: string },
  ): { canonicalizedHeader: Buffer };
}
