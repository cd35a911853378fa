/** The plan's mta_sts, tls_rpt, bimi and sending_hosts sections: read with file:line errors, composed into records. */
import { describe, expect, it } from 'vitest';
import { parsePlan } from '../../../src/plan/load.js';
import { composeDomain, composeMtaStsPolicy } from '../../../src/plan/records.js';
import { composeStsRecord } from '../../../src/mtasts/compose.js';

const planText = (extra: string[]): string =>
  ['domains:', '  - domain: example.com', '    mx: [mail.example.com, { host: backup.example.net, priority: 20 }]', ...extra.map((l) => `    ${l}`)].join('\n');

describe('plan: MTA-STS, TLS-RPT and sending hosts', () => {
  it('reads mta_sts with defaults: the MX hosts as patterns, a week of max_age', () => {
    const plan = parsePlan(planText(['mta_sts: { mode: testing }']), 'p.yaml');
    expect(plan.domains[0]!.mtaSts).toEqual({ mode: 'testing', mx: ['mail.example.com', 'backup.example.net'], maxAge: 604800 });
  });

  it('composes the _mta-sts record from the policy text, and the policy file with its host', () => {
    const plan = parsePlan(planText(['mta_sts: { mode: enforce, mx: ["*.example.com", backup.example.net], max_age: 1209600 }', 'tls_rpt: { rua: [tls@example.com, "https://r.example.net/tls"] }']), 'p.yaml');
    const d = plan.domains[0]!;
    const file = composeMtaStsPolicy(d)!;
    expect(file).toEqual({
      domain: 'example.com',
      host: 'mta-sts.example.com',
      path: '/.well-known/mta-sts.txt',
      text: 'version: STSv1\r\nmode: enforce\r\nmx: *.example.com\r\nmx: backup.example.net\r\nmax_age: 1209600\r\n',
    });
    const records = composeDomain(plan, d).records.filter((r) => r.purpose === 'mta-sts' || r.purpose === 'tls-rpt');
    expect(records.map((r) => [r.name, r.type, r.value])).toEqual([
      ['_mta-sts.example.com', 'TXT', composeStsRecord(file.text)],
      ['_smtp._tls.example.com', 'TXT', 'v=TLSRPTv1; rua=mailto:tls@example.com,https://r.example.net/tls'],
    ]);
    // The same plan gives the same id on every run.
    expect(composeDomain(parsePlan(planText(['mta_sts: { mode: enforce, mx: ["*.example.com", backup.example.net], max_age: 1209600 }']), 'p.yaml'), d).records.find((r) => r.purpose === 'mta-sts')!.value).toBe(records[0]!.value);
  });

  it('notes an MX host the planned policy does not cover', () => {
    const plan = parsePlan(planText(['mta_sts: { mode: enforce, mx: [mail.example.com] }']), 'p.yaml');
    expect(composeDomain(plan, plan.domains[0]!).notes).toEqual([expect.stringContaining('backup.example.net matches no mx pattern')]);
  });

  it('names the file, line and key of a mistake', () => {
    expect(() => parsePlan(planText(['mta_sts: { mode: strict }']), 'p.yaml')).toThrow(/^p\.yaml:4: domains\[0\]\.mta_sts\.mode must be one of enforce, testing, none/);
    expect(() => parsePlan(planText(['mta_sts: { max_age: 60 }']), 'p.yaml')).toThrow(/p\.yaml:4: domains\[0\]\.mta_sts needs a mode/);
    expect(() => parsePlan(planText(['mta_sts:', '  mode: enforce', '  mx: [mx*.example.com]']), 'p.yaml')).toThrow(/p\.yaml:6: domains\[0\]\.mta_sts\.mx\[0\] must be a host name or "\*\." and a domain/);
    expect(() => parsePlan(planText(['mta_sts: { mode: enforce, max_age: 99999999 }']), 'p.yaml')).toThrow(/max_age must be a whole number from 0 to 31557600/);
    expect(() => parsePlan(['domains:', '  - domain: example.com', '    mta_sts: { mode: enforce }'].join('\n'), 'p.yaml')).toThrow(/mode enforce needs the MX hosts the policy allows/);
    expect(() => parsePlan(planText(['tls_rpt: { rua: ["http://r.example.net/tls"] }']), 'p.yaml')).toThrow(/p\.yaml:4: domains\[0\]\.tls_rpt\.rua\[0\] must be a mailto: address or an https: URL/);
    expect(() => parsePlan(planText(['tls_rpt: {}']), 'p.yaml')).toThrow(/tls_rpt needs "rua"/);
    expect(() => parsePlan(planText(['sending_hosts: [{ address: mail.example.com }]']), 'p.yaml')).toThrow(/sending_hosts\[0\]\.address must be an IPv4 or IPv6 address/);
  });

  it('reads sending hosts, bare addresses too', () => {
    const plan = parsePlan(planText(['sending_hosts: [203.0.113.25, { address: "2001:db8::25", helo: Mail.Example.com }]']), 'p.yaml');
    expect(plan.domains[0]!.sendingHosts).toEqual([{ address: '203.0.113.25' }, { address: '2001:db8::25', helo: 'mail.example.com' }]);
  });
});
