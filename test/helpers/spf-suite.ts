/**
 * The openspf RFC 7208 test suite (test/fixtures/spf/): its scenarios, the tests maildns is known
 * to fail, each scenario's zone data as records and silent names (rules in the fixture's README),
 * and how one test's verdict is judged. Shared by the suite run over the wire
 * (test/integration/embedded/spf-rfc7208.test.ts) and in memory (test/unit/spf/rfc7208.test.ts).
 */
import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import { mxValue, type DnsRecord } from '../../src/records.js';
import type { SpfVerdict } from '../../src/spf/evaluate.js';

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

const dir = new URL('../fixtures/spf/', import.meta.url);
export const scenarios = parseAllDocuments(readFileSync(new URL('pyspf-rfc7208-tests.yml', dir), 'utf8')).map((d) => d.toJS() as Scenario);
export const knownFailures = new Set([...readFileSync(new URL('KNOWN-FAILURES.md', dir), 'utf8').matchAll(/^- `([^`]+)`/gm)].map((m) => m[1]!));

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

/** Whether `verdict` is what the suite expects of `t`, and if not, what differs. */
export function judge(t: SuiteTest, verdict: SpfVerdict): { passed: boolean; detail: string } {
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
  return { passed, detail };
}
