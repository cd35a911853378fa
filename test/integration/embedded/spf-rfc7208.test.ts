/**
 * The openspf RFC 7208 test suite, every scenario through our check_host() against the embedded
 * DNS server serving the scenario's zone data (see test/fixtures/spf/README.md).
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { DnsResolver } from '../../../src/dns/resolver.js';
import { startServer, type RunningServer } from '../../../src/dns/server.js';
import { mxValue, type DnsRecord } from '../../../src/records.js';
import { checkSender } from '../../../src/spf/evaluate.js';

type ZoneEntry = 'TIMEOUT' | Record<string, unknown>;
interface SuiteTest {
  description?: string;
  helo: string;
  host: string;
  mailfrom: string;
  result: string | string[];
  explanation?: string;
}
interface Scenario {
  description: string;
  zonedata?: Record<string, ZoneEntry[]>;
  tests: Record<string, SuiteTest>;
}

const dir = new URL('../../fixtures/spf/', import.meta.url);
const scenarios = parseAllDocuments(readFileSync(new URL('pyspf-rfc7208-tests.yml', dir), 'utf8')).map((d) => d.toJS() as Scenario);
const knownFailures = new Set(
  [...readFileSync(new URL('KNOWN-FAILURES.md', dir), 'utf8').matchAll(/^- `([^`]+)`/gm)].map((m) => m[1]!),
);

/** The scenario's zone data as records and silent names (rules in test/fixtures/spf/README.md). */
export function zoneFromSuite(zonedata: Record<string, ZoneEntry[]>): { records: DnsRecord[]; silent: string[] } {
  const records: DnsRecord[] = [];
  const silent: string[] = [];
  for (const [name, entries] of Object.entries(zonedata)) {
    const maps = entries.filter((e): e is Record<string, unknown> => e !== 'TIMEOUT');
    const hasTxt = maps.some((m) => 'TXT' in m);
    const hasRealTxt = maps.some((m) => 'TXT' in m && m['TXT'] !== 'NONE');
    if (entries.includes('TIMEOUT') && !hasRealTxt) silent.push(name);
    const text = (type: 'TXT' | 'SPF', v: unknown): DnsRecord => {
      const strings = Array.isArray(v) ? v.map(String) : [String(v)];
      return { name, type, ttl: 300, value: strings.join(''), strings: strings.length ? strings : [''] };
    };
    for (const m of maps) {
      for (const [type, v] of Object.entries(m)) {
        switch (type) {
          case 'TXT':
            if (v !== 'NONE') records.push(text('TXT', v));
            break;
          case 'SPF':
            records.push(text('SPF', v));
            if (!hasTxt) records.push(text('TXT', v));
            break;
          case 'MX': {
            const [prio, host] = v as [number, string];
            records.push({ name, type: 'MX', ttl: 300, value: mxValue(prio, host) });
            break;
          }
          case 'A':
          case 'AAAA':
          case 'PTR':
          case 'CNAME':
            records.push({ name, type, ttl: 300, value: String(v) });
            break;
          default:
            throw new Error(`zone data type ${type} not handled`);
        }
      }
    }
  }
  return { records, silent };
}

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
      beforeAll(async () => {
        const zone = zoneFromSuite(scenario.zonedata ?? {});
        server = await startServer({ records: zone.records, zones: [''], silent: zone.silent });
      });
      afterAll(async () => {
        await server.close();
      });

      for (const [name, t] of Object.entries(scenario.tests)) {
        it(name, async () => {
          const resolver = new DnsResolver({ servers: [{ host: server.host, port: server.port }], timeoutMs: 300, attempts: 1 });
          const verdict = await checkSender(resolver, t.host, t.mailfrom, t.helo);
          const accepted = Array.isArray(t.result) ? t.result : [t.result];
          let passed = accepted.includes(verdict.result);
          let detail = `expected ${accepted.join(' or ')}, got ${verdict.result} (${verdict.reason})`;
          if (passed && t.explanation !== undefined && verdict.result === 'fail') {
            const want = t.explanation === 'DEFAULT' ? null : t.explanation;
            const ok = want === null ? verdict.explanationSource === 'default' : verdict.explanationSource === 'exp' && verdict.explanation?.toLowerCase() === want.toLowerCase();
            if (!ok) {
              passed = false;
              detail = `expected explanation ${JSON.stringify(t.explanation)}, got ${JSON.stringify(verdict.explanation)} (${verdict.explanationSource})`;
            }
          }
          outcomes.push({ name, passed, detail });
          if (knownFailures.has(name)) expect(passed, `${name} is listed in KNOWN-FAILURES.md but now passes: remove it from the list`).toBe(false);
          else expect(passed, detail).toBe(true);
        });
      }
    });
  }
});
