/** What counts as a change between two results of a domain, and which changes are for the worse. */
import { describe, expect, it } from 'vitest';
import { anyWorse, compareResults, type DatedResult } from '../../../src/history/changes.js';
import type { Finding } from '../../../src/findings.js';

const base = (over: Partial<DatedResult> = {}): DatedResult => ({
  domain: 'example.com',
  status: 'pass',
  spf: { published: 'v=spf1 include:_spf.example.net -all', dnsFailed: false, lookups: 3 },
  dmarc: { published: ['v=DMARC1; p=reject'], dnsFailed: false, governing: null },
  mx: { published: ['10 mx.example.com'], dnsFailed: false },
  dkim: [{ selector: 'mail', published: 'v=DKIM1; k=rsa; p=AAAAold', dnsFailed: false }],
  findings: [],
  at: '2026-12-01T03:30:00.000Z',
  ...over,
});
const f = (code: string, severity: Finding['severity'], subject = 'example.com'): Finding => ({ code, severity, subject, message: `${code} message`, fix: 'do this' });
const kinds = (prev: DatedResult | null, cur: DatedResult): string[] => compareResults(prev, cur).map((c) => `${c.kind}:${c.direction}:${c.subject}`);

describe('compareResults', () => {
  it('nothing changed: no change', () => {
    expect(compareResults(base(), base())).toEqual([]);
  });

  it('a first result is news only when it does not pass', () => {
    expect(kinds(null, base())).toEqual(['first-seen:neutral:domain']);
    const failing = base({ status: 'fail', findings: [f('spf.too-many-lookups', 'error')] });
    expect(kinds(null, failing)).toEqual(['first-seen:worse:domain']);
    expect(compareResults(null, failing)[0]!.message).toBe('first recorded: fail (1 error: spf.too-many-lookups)');
  });

  it('a record whose text changed, and a DKIM key that was replaced', () => {
    const cur = base({ spf: { published: 'v=spf1 include:_spf.example.net ~all', dnsFailed: false, lookups: 3 }, dkim: [{ selector: 'mail', published: 'v=DKIM1; k=rsa; p=BBBBnew', dnsFailed: false }] });
    expect(kinds(base(), cur)).toEqual(['record:neutral:SPF', 'dkim-key:neutral:DKIM mail']);
    const [spf, key] = compareResults(base(), cur);
    expect(spf!.before).toBe('v=spf1 include:_spf.example.net -all');
    expect(spf!.after).toBe('v=spf1 include:_spf.example.net ~all');
    expect(key!.message).toMatch(/the key was replaced \(p=AAAAold -> p=BBBBnew\)/);
  });

  it('an SPF lookup count that rose is worse, one that fell better', () => {
    const more = base({ spf: { published: 'v=spf1 include:_spf.example.net include:x.example -all', dnsFailed: false, lookups: 8 } });
    expect(kinds(base(), more)).toEqual(['record:neutral:SPF', 'spf-lookups:worse:SPF']);
    expect(kinds(more, base())).toEqual(['record:neutral:SPF', 'spf-lookups:better:SPF']);
  });

  it('a finding that appeared is worse (info is not), one that cleared better, a severity that rose worse', () => {
    const prev = base({ findings: [f('dmarc.policy-none', 'warning', '_dmarc.example.com'), f('dmarc.suggest-np', 'info')] });
    const cur = base({ status: 'fail', findings: [f('mx.none', 'error'), f('dmarc.suggest-np', 'warning')] });
    expect(kinds(prev, cur).sort()).toEqual(['finding-appeared:worse:mx.none', 'finding-cleared:better:dmarc.policy-none', 'finding-severity:worse:dmarc.suggest-np', 'status:worse:domain'].sort());
    expect(anyWorse(compareResults(cur, base()))).toBe(false); // everything cleared
    expect(anyWorse(compareResults(prev, cur))).toBe(true);
    expect(kinds(base(), base({ findings: [f('dmarc.suggest-np', 'info')] }))).toEqual(['finding-appeared:neutral:dmarc.suggest-np']);
  });

  it('a part whose DNS failed is not compared: unknown is never "removed"; failing twice in a row is worse', () => {
    const failed = base({
      status: 'dns-error',
      dmarc: { published: null, dnsFailed: true, governing: null },
      findings: [{ code: 'dmarc.dns-temporary', severity: 'error', subject: '_dmarc.example.com', message: 'timeout' }],
    });
    const withWarning = base({ findings: [f('dmarc.policy-none', 'warning', '_dmarc.example.com')] });
    expect(kinds(withWarning, failed)).toEqual(['dns-failure:neutral:DMARC']);
    expect(kinds(failed, failed)).toEqual(['dns-failure-persists:worse:DMARC']);
    expect(compareResults(failed, failed)[0]!.message).toContain('since 2026-12-01T03:30:00.000Z');
    expect(kinds(failed, withWarning)).toEqual(['dns-recovered:better:DMARC']);
  });

  it('a part a later check adds to the result (MTA-STS, say) is compared the same way, with its findings', () => {
    type WithMtaSts = DatedResult & { mtaSts: { published: string | null; dnsFailed: boolean } };
    const withPart = (published: string | null, dnsFailed: boolean, findings: Finding[] = []): WithMtaSts => ({ ...base({ findings }), mtaSts: { published, dnsFailed } });
    expect(kinds(withPart('v=STSv1; id=1', false), withPart('v=STSv1; id=2', false))).toEqual(['record:neutral:mtaSts']);
    // Its DNS failed: its own findings are not compared (mta-sts.* is the part mtaSts), the others are.
    const failing = withPart(null, true, [f('dmarc.policy-none', 'warning', '_dmarc.example.com')]);
    expect(kinds(withPart('v=STSv1; id=1', false, [f('mta-sts.no-policy', 'error')]), failing).sort()).toEqual(['dns-failure:neutral:mtaSts', 'finding-appeared:worse:dmarc.policy-none']);
  });

  it('a selector checked for the first time is not a change', () => {
    const two = base({ dkim: [...base().dkim!, { selector: 'ed', published: null, dnsFailed: false }] });
    expect(compareResults(base(), two)).toEqual([]);
  });
});
