/**
 * The openspf RFC 7208 test suite through check_host() with the scenarios' zone data in memory: the
 * same verdicts as over the wire (test/integration/embedded/spf-rfc7208.test.ts), and a TIMEOUT is
 * a timeout at once, so no test waits for a deadline or races one.
 */
import { describe, expect, it } from 'vitest';
import { checkSender } from '../../../src/spf/evaluate.js';
import { MemoryResolver } from '../../helpers/memory-resolver.js';
import { judge, knownFailures, scenarios, zoneFromSuite } from '../../helpers/spf-suite.js';

describe('openspf RFC 7208 test suite, zone data in memory', () => {
  for (const scenario of scenarios) {
    describe(scenario.description, () => {
      const zone = zoneFromSuite(scenario.zonedata ?? {});
      for (const [name, t] of Object.entries(scenario.tests)) {
        it(name, async () => {
          const resolver = new MemoryResolver({ records: zone.records, zones: [''], silent: zone.silent });
          const { passed, detail } = judge(t, await checkSender(resolver, t.host, t.mailfrom, t.helo));
          if (knownFailures.has(name)) expect(passed, `${name} is listed in KNOWN-FAILURES.md but now passes: remove it from the list`).toBe(false);
          else expect(passed, detail).toBe(true);
        });
      }
    });
  }

  it('reaches the silent names: the suite\'s timeout cases come out temperror in memory too', async () => {
    // Unless check_host asks a silent name somewhere, the in-memory timeouts would prove nothing.
    const results: string[] = [];
    for (const scenario of scenarios) {
      const zone = zoneFromSuite(scenario.zonedata ?? {});
      const silent = new Set(zone.silent.map((s) => s.toLowerCase()));
      for (const t of Object.values(scenario.tests)) {
        const resolver = new MemoryResolver({ records: zone.records, zones: [''], silent: zone.silent });
        const verdict = await checkSender(resolver, t.host, t.mailfrom, t.helo);
        if (resolver.asked.some((q) => silent.has(q.split(' ')[0]!.toLowerCase()))) results.push(verdict.result);
      }
    }
    expect(results.length).toBeGreaterThan(1);
    expect(results).toContain('temperror');
  });
});
