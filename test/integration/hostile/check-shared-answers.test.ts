/**
 * One `check` run over a domain and its subdomain: the subdomain, which has no DMARC record, falls
 * back to the organizational domain's `_dmarc` record, which is the organizational domain's own
 * name (kept in that domain's scope, out of the run's shared cache). While the organizational
 * domain is being checked, or once the subdomain has asked, that answer is reused: each question
 * is asked once, and every domain's result is the one a run of that domain alone gives.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { answer, rdata, startHostileDns, T, type HostileServer } from '../../helpers/hostile-dns.js';
import { runCli } from '../../helpers/cli.js';

const ORG = 'example.test';
const SUB = 'sub.example.test';

let server: HostileServer;
beforeAll(async () => {
  const soa = { name: ORG, type: T.SOA, rdata: rdata.soa(`ns.${ORG}`, `hostmaster.${ORG}`, 1) };
  const txt = (value: string) => [{ name: { pointer: 12 } as const, type: T.TXT, rdata: rdata.txt(value) }];
  server = await startHostileDns(async (q) => {
    const name = q.name.toLowerCase();
    // A question of the organizational domain alone, answered late: its check is still going on when
    // the subdomain's falls back to its record (rather than that being left to the machine's speed).
    if (name === `_mta-sts.${ORG}`) await new Promise((resolve) => setTimeout(resolve, 150));
    if (q.type === T.TXT && name === `_dmarc.${ORG}`) return answer(q, { answers: txt(`v=DMARC1; p=reject; rua=mailto:dmarc@${ORG}`) });
    // The subdomain's SPF includes the organizational domain's record, its MX is the organizational domain's host.
    if (q.type === T.TXT && name === ORG) return answer(q, { answers: txt('v=spf1 mx -all') });
    if (q.type === T.TXT && name === SUB) return answer(q, { answers: txt(`v=spf1 include:${ORG} -all`) });
    if (q.type === T.MX && (name === ORG || name === SUB)) return answer(q, { answers: [{ name: { pointer: 12 }, type: T.MX, rdata: rdata.mx(10, `mail.${ORG}`) }] });
    if (q.type === T.A && name === `mail.${ORG}`) return answer(q, { answers: [{ name: { pointer: 12 }, type: T.A, rdata: rdata.a('192.0.2.25') }] });
    const exists = [ORG, SUB, `_dmarc.${ORG}`, `mail.${ORG}`].includes(name);
    return answer(q, { rcode: exists ? 0 : 3, authorities: [soa] });
  });
});
afterAll(async () => server?.close());

interface Report {
  domains: { domain: string; ms?: number }[];
  summary: { queries: number };
}

/** A check run of `domains`: its report, and how often the server was asked each question. */
async function check(domains: string[], ...flags: string[]): Promise<{ report: Report; asked: Map<string, number> }> {
  const before = server.queries.length;
  const r = await runCli(['check', ...domains, '--nameserver', server.address, '--json', ...flags]);
  const asked = new Map<string, number>();
  for (const q of server.queries.slice(before)) {
    const key = `${q.name.toLowerCase()} ${q.type}`;
    asked.set(key, (asked.get(key) ?? 0) + 1);
  }
  return { report: JSON.parse(r.stdout) as Report, asked };
}

const repeated = (asked: Map<string, number>): string[] => [...asked].filter(([, n]) => n > 1).map(([k]) => k);

describe('check over a domain and its subdomain', () => {
  it.each([
    ['the organizational domain first, both at once', [ORG, SUB], []],
    ['the subdomain first, both at once', [SUB, ORG], []],
    ['the subdomain first, one after the other', [SUB, ORG], ['--concurrency', '1']],
  ])('%s: each question is asked once, and each result is that of its domain alone', async (_, domains, flags) => {
    // One run after another: the server's log of questions is the run's own.
    const both = await check(domains, ...flags);
    const alone = [];
    for (const d of domains) alone.push(await check([d]));
    expect(repeated(both.asked)).toEqual([]);
    expect(both.report.summary.queries).toBe([...both.asked.values()].reduce((a, b) => a + b, 0));
    // The same result, but for the time it took.
    const result = ({ ms: _, ...rest }: Report['domains'][number]) => rest;
    expect(both.report.domains.map(result)).toEqual(alone.map((a) => result(a.report.domains[0]!)));
  });
});
