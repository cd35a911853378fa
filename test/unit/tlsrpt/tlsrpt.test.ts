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
    });
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
    expect(checkTlsRptRecords([], name).findings).toEqual([]);
  });

  it('composes a record that parses back', () => {
    const record = composeTlsRpt(['mailto:tls@example.com', 'https://r.example.net/t']);
    expect(record).toBe('v=TLSRPTv1; rua=mailto:tls@example.com,https://r.example.net/t');
    expect(parseTlsRpt(record)).toMatchObject({ rua: ['mailto:tls@example.com', 'https://r.example.net/t'], problems: [] });
  });
});
