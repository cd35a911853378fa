/** The BIMI Assertion Record: parsing, record checks and the composed record. */
import { describe, expect, it } from 'vitest';
import { composeBimi } from '../../../src/bimi/compose.js';
import { parseBimi } from '../../../src/bimi/parse.js';
import { checkBimiRecords } from '../../../src/bimi/validate.js';
import { parsePlan } from '../../../src/plan/load.js';
import { composeDomain } from '../../../src/plan/records.js';

describe('BIMI records', () => {
  it('reads l= and a=, ignores unknown tags, tells a declination', () => {
    expect(parseBimi('v=BIMI1; l=https://example.com/bimi/logo.svg; a=https://example.com/bimi/vmc.pem; avp=brand')).toEqual({
      logo: 'https://example.com/bimi/logo.svg',
      authority: 'https://example.com/bimi/vmc.pem',
      declined: false,
      problems: [],
    });
    expect(parseBimi('v=BIMI1; l=; a=;')).toMatchObject({ logo: '', authority: '', declined: true, problems: [] });
    expect(parseBimi('v = BIMI1;l=https://example.com/l.svg')).toMatchObject({ authority: '', problems: [] });
  });

  it('finds what makes a record unusable', () => {
    expect(parseBimi('v=BIMI1; a=https://example.com/vmc.pem').problems).toEqual(['it has no l= tag (the logo location, or empty to decline)']);
    expect(parseBimi('v=BIMI1; l=http://example.com/logo.svg').problems[0]).toMatch(/not an https: URL/);
    expect(parseBimi('v=BIMI1; l=https://example.com/logo.png').problems[0]).toMatch(/not an SVG file/);
    expect(parseBimi('v=BIMI1; l=https://192.0.2.1/logo.svg').problems[0]).toMatch(/fully qualified host/);
    expect(parseBimi('v=BIMI1; l=https://a.example/1.svg,https://a.example/2.svg').problems[0]).toMatch(/a single URL/);
    expect(parseBimi('l=https://example.com/logo.svg; v=BIMI1').problems).toEqual(['it does not begin with "v=BIMI1"']);
  });

  it('one record counts; two count as none; a near miss is named', () => {
    const name = 'default._bimi.example.com';
    expect(checkBimiRecords(['v=BIMI1; l=https://e.example/l.svg; a=https://e.example/v.pem'], name).findings).toEqual([]);
    expect(checkBimiRecords(['v=BIMI1; l=https://e.example/l.svg'], name).findings.map((f) => [f.code, f.severity])).toEqual([['bimi.no-authority', 'info']]);
    expect(checkBimiRecords(['v=BIMI1; l=; a=', 'v=BIMI1; l=https://e.example/l.svg'], name).findings.map((f) => f.code)).toEqual(['bimi.multiple-records']);
    expect(checkBimiRecords(['v=bimi1; l=https://e.example/l.svg'], name).findings.map((f) => f.code)).toEqual(['bimi.invalid-record']);
    expect(checkBimiRecords(['v=BIMI1; l=; a='], name).findings.map((f) => f.code)).toEqual(['bimi.declined']);
  });

  it('composes the record from the plan, and notes a DMARC policy that would hide the logo', () => {
    expect(composeBimi({ logo: 'https://e.example/l.svg', authority: '' })).toBe('v=BIMI1; l=https://e.example/l.svg; a=');
    const plan = parsePlan(
      ['domains:', '  - domain: example.com', '    dmarc: { p: none }', '    bimi: { logo: "https://example.com/bimi/logo.svg", authority: "https://example.com/bimi/vmc.pem" }'].join('\n'),
      'p.yaml',
    );
    const composed = composeDomain(plan, plan.domains[0]!);
    expect(composed.records.filter((r) => r.purpose === 'bimi').map((r) => [r.name, r.value])).toEqual([
      ['default._bimi.example.com', 'v=BIMI1; l=https://example.com/bimi/logo.svg; a=https://example.com/bimi/vmc.pem'],
    ]);
    expect(composed.notes).toEqual([expect.stringContaining('dmarc p is none')]);
    expect(() => parsePlan(['domains:', '  - domain: example.com', '    bimi: { logo: "https://example.com/logo.png" }'].join('\n'), 'p.yaml')).toThrow(/p\.yaml:3: domains\[0\]\.bimi\.logo must be the URL of an SVG file/);
    expect(() => parsePlan(['domains:', '  - domain: example.com', '    bimi: { authority: "https://example.com/v.pem" }'].join('\n'), 'p.yaml')).toThrow(/bimi needs "logo"/);
  });
});
