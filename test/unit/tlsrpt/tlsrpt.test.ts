/** The TLS-RPT record (RFC 8460 §3): parsing, the checks and the composed record. */
import { describe, expect, it } from 'vitest';
import { composeTlsRpt } from '../../../src/tlsrpt/compose.js';
import { parseTlsRpt } from '../../../src/tlsrpt/parse.js';
import { checkTlsRptRecords } from '../../../src/tlsrpt/validate.js';

describe('TLS-RPT records', () => {
  it('reads mailto: and https: report URIs and extensions', () => {
    expect(parseTlsRpt('v=TLSRPTv1; rua=mailto:tls@example.com, https://reports.example.net/tlsrpt; x-note=1;')).toEqual({
      rua: ['mailto:tls@example.com', 'https://reports.example.net/tlsrpt'],
      extensions: [{ name: 'x-note', value: '1' }],
      problems: [],
      // Valid by the grammar; sys4's tlsrpt-reporter takes " https://..." for an unknown scheme.
      warnings: [expect.stringMatching(/space or tab next to "https:\/\/reports.example.net\/tlsrpt" by a ","/)],
      miscased: [],
    });
  });

  // RFC 8460 §3: tlsrpt-rua = %s"rua=" tlsrpt-uri *(*WSP "," *WSP tlsrpt-uri); field-delim = *WSP ";" *WSP.
  it('judges each place of the grammar where white space may stand, or may not', () => {
    // After "rua=": no production allows it (a URI cannot begin with a space, an extension value holds none).
    expect(parseTlsRpt('v=TLSRPTv1; rua= mailto:reports@example.com')).toMatchObject({ rua: [], problems: [expect.stringMatching(/space or tab after "rua="/), 'it has no rua field (where reports go)'] });
    expect(parseTlsRpt('v=TLSRPTv1; rua=\tmailto:reports@example.com').problems[0]).toMatch(/after "rua="/);
    // Before "=": no more allowed.
    expect(parseTlsRpt('v=TLSRPTv1; rua =mailto:reports@example.com').problems[0]).toMatch(/space or tab before "=" in "rua =mailto:reports@example.com"/);
    // Around ";": allowed, but before the first one a record no longer begins with "v=TLSRPTv1;".
    expect(parseTlsRpt('v=TLSRPTv1 ;\trua=mailto:reports@example.com ; ')).toMatchObject({ rua: ['mailto:reports@example.com'], problems: [], warnings: [expect.stringMatching(/begins "v=TLSRPTv1 ;"/)] });
    expect(parseTlsRpt('v=TLSRPTv1;\trua=mailto:reports@example.com\t;')).toMatchObject({ problems: [], warnings: [] });
    // At the very end without a ";": outside the grammar, though the senders looked at trim it.
    expect(parseTlsRpt('v=TLSRPTv1; rua=mailto:reports@example.com ')).toMatchObject({ rua: ['mailto:reports@example.com'], problems: [], warnings: [expect.stringMatching(/ends in a space or tab/)] });
  });

  it('field names are case-sensitive (%s"rua="): RUA= is an extension, and the record has no rua', () => {
    expect(parseTlsRpt('v=TLSRPTv1; RUA=mailto:reports@example.com').problems).toEqual([
      '"RUA" is not rua: field names are case-sensitive, so senders ignore it as an unknown field',
      'it has no rua field (where reports go)',
    ]);
  });

  it('a miscased field beside the real one is a warning: senders read the record, and ignore that field', () => {
    expect(parseTlsRpt('v=TLSRPTv1; rua=mailto:a@example.com; RUA=mailto:b@example.com')).toEqual({
      rua: ['mailto:a@example.com'],
      extensions: [],
      problems: [],
      warnings: [],
      miscased: ['"RUA" is not rua: field names are case-sensitive, so senders ignore it as an unknown field'],
    });
    const findings = checkTlsRptRecords(['v=TLSRPTv1; rua=mailto:a@example.com; RUA=mailto:b@example.com'], '_smtp._tls.example.com').findings;
    expect(findings.map((f) => [f.code, f.severity])).toEqual([['tls-rpt.field-case', 'warning']]);
  });

  it('white space the grammar allows but a sender mishandles is a warning finding; what it refuses, an error', () => {
    const name = '_smtp._tls.example.com';
    const found = (record: string) => checkTlsRptRecords([record], name).findings.map((f) => [f.code, f.severity]);
    expect(found('v=TLSRPTv1; rua= mailto:reports@example.com')).toEqual([['tls-rpt.invalid-record', 'error']]);
    expect(found('v=TLSRPTv1 ; rua=mailto:reports@example.com')).toEqual([['tls-rpt.whitespace', 'warning']]);
    expect(found('v=TLSRPTv1; rua=mailto:a@example.com, mailto:b@example.com')).toEqual([['tls-rpt.whitespace', 'warning']]);
    expect(found('v=TLSRPTv1; rua=mailto:a@example.com,mailto:b@example.com')).toEqual([]);
  });

  it('finds what makes a record invalid', () => {
    expect(parseTlsRpt('v=TLSRPTv1').problems).toEqual(['it has no rua field (where reports go)']);
    expect(parseTlsRpt('v=TLSRPTv1; rua=http://example.com/r').problems[0]).toMatch(/neither mailto: nor https:/);
    expect(parseTlsRpt('v=TLSRPTv1; rua=mailto:nobody').problems[0]).toMatch(/not a mailto: address/);
    expect(parseTlsRpt('v=TLSRPTv1; rua=mailto:a@b.example; rua=mailto:c@d.example').problems).toEqual(['it has more than one rua field']);
    expect(parseTlsRpt('rua=mailto:a@b.example; v=TLSRPTv1').problems).toEqual(['it does not begin with "v=TLSRPTv1"']);
  });

  it('counts only records that begin with v=TLSRPTv1: one is fine, two is none', () => {
    const name = '_smtp._tls.example.com';
    expect(checkTlsRptRecords(['v=TLSRPTv1; rua=mailto:a@example.com', 'unrelated'], name)).toMatchObject({ record: 'v=TLSRPTv1; rua=mailto:a@example.com', findings: [] });
    expect(checkTlsRptRecords(['v=TLSRPTv1; rua=mailto:a@example.com', 'v=TLSRPTv1; rua=mailto:b@example.com'], name).findings.map((f) => [f.code, f.rfc])).toEqual([['tls-rpt.multiple-records', 'RFC 8460 §3']]);
    expect(checkTlsRptRecords(['v=tlsrptv1; rua=mailto:a@example.com'], name).findings.map((f) => f.code)).toEqual(['tls-rpt.invalid-record']);
    expect(checkTlsRptRecords(['V=TLSRPTv1; rua=mailto:a@example.com'], name).findings.map((f) => f.message)).toEqual(['"V=TLSRPTv1; rua=mailto:a@example.com" is not read as a TLS-RPT record: it must begin with exactly "v=TLSRPTv1" (V= is not v=: field names are case-sensitive)']);
    expect(checkTlsRptRecords([], name).findings).toEqual([]);
  });

  it('composes a record that parses back', () => {
    const record = composeTlsRpt(['mailto:tls@example.com', 'https://r.example.net/t']);
    expect(record).toBe('v=TLSRPTv1; rua=mailto:tls@example.com,https://r.example.net/t');
    expect(parseTlsRpt(record)).toMatchObject({ rua: ['mailto:tls@example.com', 'https://r.example.net/t'], problems: [], warnings: [] });
  });
});
