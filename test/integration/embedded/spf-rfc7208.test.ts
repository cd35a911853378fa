/**
 * The openspf RFC 7208 test suite, every scenario through our check_host() against the embedded
 * DNS server serving the scenario's zone data (see test/fixtures/spf/README.md).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../../../src/dns/server.js';
import { checkSender } from '../../../src/spf/evaluate.js';
import { LocalResolver } from '../../helpers/local-resolver.js';
import { judge, knownFailures, scenarios, zoneFromSuite } from '../../helpers/spf-suite.js';

const outcomes: { name: string; passed: boolean; detail: string }[] = [];

afterAll(() => {
  const total = outcomes.length;
  const passed = outcomes.filter((o) => o.passed).length;
  console.log(`RFC 7208 suite: ${passed}/${total} passed`);
  for (const o of outcomes.filter((x) => !x.passed)) console.log(`  failed: ${o.name}: ${o.detail}`);
});

describe('openspf RFC 7208 test suite', () => {
  it('has 203 tests in 16 scenarios', () => {
    expect(scenarios).toHaveLength(16);
    expect(scenarios.reduce((n, s) => n + Object.keys(s.tests).length, 0)).toBe(203);
  });

  for (const scenario of scenarios) {
    describe(scenario.description, () => {
      let server: RunningServer;
      const zone = zoneFromSuite(scenario.zonedata ?? {});
      beforeAll(async () => {
        server = await startServer({ records: zone.records, zones: [''], silent: zone.silent });
      });
      afterAll(async () => {
        await server.close();
      });

      for (const [name, t] of Object.entries(scenario.tests)) {
        it(name, async () => {
          // A fresh resolver (no answers cached from other tests); only the silent names get a short deadline.
          const resolver = new LocalResolver(server, { silent: zone.silent });
          const { passed, detail } = judge(t, await checkSender(resolver, t.host, t.mailfrom, t.helo));
          outcomes.push({ name, passed, detail });
          if (knownFailures.has(name)) expect(passed, `${name} is listed in KNOWN-FAILURES.md but now passes: remove it from the list`).toBe(false);
          else expect(passed, detail).toBe(true);
        });
      }
    });
  }
});
