/**
 * Silent and slow zones cannot hold a command or a bulk run: SPF subtrees are asked at once (the
 * counts of RFC 7208 §4.6.4 unchanged), and --deadline bounds a command and each domain of check.
 * Concurrency is shown by counting queries the server holds at once, not by timing; the timings
 * asserted are generous bounds against what a one-after-another walk would take.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runChecks } from '../../../src/check/run.js';
import { DnsResolver } from '../../../src/dns/resolver.js';
import { checkHost } from '../../../src/spf/evaluate.js';
import { validateSpf } from '../../../src/spf/validate.js';
import { answer, rdata, startHostileDns, T, type HostileQuery, type HostileReply, type HostileServer } from '../../helpers/hostile-dns.js';
import { runCli } from '../../helpers/cli.js';

/** A TXT answer; a value over 255 octets is split into character-strings. */
const txt = (q: HostileQuery, value: string): Buffer => answer(q, { answers: [{ name: { pointer: 12 }, type: T.TXT, rdata: rdata.txt(...(value.match(/.{1,255}/g) ?? [''])) }] });
const includes = (names: string[]): string => `v=spf1 ${names.map((n) => `include:${n}`).join(' ')} -all`;
const WIDE = Array.from({ length: 20 }, (_, i) => `s${i + 1}.silent.test`);
const held = (prefix: string): string[] => Array.from({ length: 5 }, (_, i) => `${prefix}-b${i + 1}.held.test`);

/**
 * Answers to `<prefix>-bN.held.test` are held until all five have been asked, then sent last
 * first: a walker that asks one include after the other never gets an answer in time, and one that
 * puts the answers in arrival order puts them in the wrong order.
 */
function barrier(prefix: string, record: (n: number) => string) {
  const waiting: { n: number; q: HostileQuery; send: (r: HostileReply) => void }[] = [];
  const state = { heldAtOnce: 0 };
  return {
    state,
    take(q: HostileQuery, n: number): Promise<HostileReply> {
      return new Promise((send) => {
        waiting.push({ n, q, send });
        state.heldAtOnce = Math.max(state.heldAtOnce, waiting.length);
        if (new Set(waiting.map((w) => w.n)).size < 5) return;
        waiting.sort((a, b) => b.n - a.n);
        waiting.splice(0).forEach((w, i) => setTimeout(() => w.send(txt(w.q, record(w.n))), i * 20));
      });
    },
    prefix,
  };
}

const forValidate = barrier('v', (n) => (n === 3 || n === 5 ? 'v=spf1 +all' : `v=spf1 ip4:192.0.2.${n} -all`));
const forCheckHost = barrier('c', (n) => `v=spf1 ip4:192.0.2.${n} -all`);

let server: HostileServer;
let lentAsked = 0;
beforeAll(async () => {
  server = await startHostileDns((q) => {
    const name = q.name.toLowerCase();
    if (name === 'wide.test') return txt(q, includes(WIDE));
    if (name === 'validate.test') return txt(q, includes(held('v')));
    if (name === 'checkhost.test') return txt(q, includes(held('c')));
    const m = /^([vc])-b(\d)\.held\.test$/.exec(name);
    if (m && q.type === T.TXT) return (m[1] === 'v' ? forValidate : forCheckHost).take(q, Number(m[2]));
    // Answered late the first time it is asked, at once afterwards.
    if (name === 'lent.test' && q.type === T.TXT) return ++lentAsked === 1 ? new Promise<HostileReply>((resolve) => setTimeout(() => resolve(txt(q, 'v=spf1 -all')), 600)) : txt(q, 'v=spf1 -all');
    return null; // everything else is silent
  });
});
afterAll(async () => server?.close());

const asked = (name: string): number => server.queries.filter((q) => q.name.toLowerCase() === name).length;

describe('SPF subtrees are asked at once', () => {
  it('validation asks every include of a record together and still reports them in the record\'s order', async () => {
    const report = await validateSpf(new DnsResolver({ servers: [server], timeoutMs: 5000 }), 'validate.test', { probeOrphans: false });
    expect(forValidate.state.heldAtOnce).toBe(5);
    expect(report.tree!.children.map((c) => c.domain)).toEqual(held('v'));
    expect(report.lookups).toBe(5);
    expect(report.findings.filter((f) => f.code === 'spf.include-pass-all').map((f) => f.subject)).toEqual(['validate.test include:v-b3.held.test', 'validate.test include:v-b5.held.test']);
  });

  it('check_host asks ahead for the includes it may reach, and counts only the ones it evaluates', async () => {
    const verdict = await checkHost(new DnsResolver({ servers: [server], timeoutMs: 5000 }), { ip: '192.0.2.5', domain: 'checkhost.test' });
    expect(forCheckHost.state.heldAtOnce).toBe(5);
    expect(verdict).toMatchObject({ result: 'pass', lookups: 5, voidLookups: 0 });
    const early = await checkHost(new DnsResolver({ servers: [server], timeoutMs: 5000 }), { ip: '192.0.2.1', domain: 'checkhost.test' });
    expect(early).toMatchObject({ result: 'pass', lookups: 1 });
  });

  it('a record with 20 includes in a silent zone ends after one timeout per attempt, not twenty', async () => {
    const timeoutMs = 500;
    const started = performance.now();
    const report = await validateSpf(new DnsResolver({ servers: [server], timeoutMs, attempts: 2 }), 'wide.test', { probeOrphans: false });
    // One after another this takes 20 x 2 x 500 ms = 20 s; together, about 2 x 500 ms.
    expect(performance.now() - started).toBeLessThan(10 * timeoutMs);
    expect(report.findings.filter((f) => f.code === 'spf.temperror').map((f) => f.subject)).toEqual(WIDE);
    for (const name of WIDE) expect(asked(name)).toBeGreaterThanOrEqual(2);
  });
});

describe('--deadline', () => {
  it('ends every question of a command still open at the deadline as a timeout, and asks nothing after it', async () => {
    const r = new DnsResolver({ servers: [server], timeoutMs: 5000, attempts: 2, deadlineMs: 300 });
    const started = performance.now();
    const report = await validateSpf(r, 'wide.test', { probeOrphans: false });
    expect(performance.now() - started).toBeLessThan(5000); // a single attempt would take that long
    const late = report.findings.filter((f) => f.code === 'spf.temperror');
    expect(late).toHaveLength(20);
    expect(late[0]!.message).toMatch(/the deadline of 300 ms passed before an answer came/);
    const sent = r.queriesSent;
    expect(await r.lookup('late.silent.test', 'TXT')).toMatchObject({ status: 'timeout', detail: expect.stringMatching(/deadline/) });
    expect(r.queriesSent).toBe(sent);
  });

  it('ends a question still waiting for a place in the gate at its deadline, while another domain holds the place', async () => {
    const resolver = new DnsResolver({ servers: [server], timeoutMs: 5000, attempts: 1, deadlineMs: 2000, maxInFlight: 1 });
    const waiter = resolver.scope();
    await new Promise((r) => setTimeout(r, 1500));
    const holder = resolver.scope();
    const held = holder.lookup('held.quiet.test', 'TXT'); // silent: holds the one place for its whole 2 s
    const started = performance.now();
    const answer = await waiter.lookup('waits.quiet.test', 'TXT');
    // The waiter's deadline comes about 0.5 s in; the place frees only 2 s in.
    expect(performance.now() - started).toBeLessThan(1500);
    expect(answer).toMatchObject({ status: 'timeout', detail: expect.stringMatching(/deadline of 2000 ms/) });
    expect(asked('waits.quiet.test')).toBe(0);
    await held;
    waiter.end();
    holder.end();
  });

  it("a domain's own answer its deadline cut short is not handed to another domain with time left, which asks for itself", async () => {
    const resolver = new DnsResolver({ servers: [server], timeoutMs: 5000, attempts: 1, deadlineMs: 300 });
    const lender = resolver.scope('lent.test');
    const own = lender.lookup('lent.test', 'TXT');
    await new Promise((r) => setTimeout(r, 150));
    // For this domain lent.test is another's name (an include, say): it takes what the live scope of lent.test holds...
    const borrower = resolver.scope('other.test');
    const borrowed = borrower.lookup('lent.test', 'TXT');
    expect(await own).toMatchObject({ status: 'timeout', detail: expect.stringMatching(/deadline of 300 ms/) });
    // ...but not a timeout that was the lender's deadline and not its own: it asks, and has the answer in time.
    expect(await borrowed).toMatchObject({ status: 'ok', records: [['v=spf1 -all']] });
    expect(asked('lent.test')).toBe(2);
    lender.end();
    borrower.end();
  });

  it('does not wait for a turn under --rate that comes after the deadline', async () => {
    const resolver = new DnsResolver({ servers: [server], timeoutMs: 100, attempts: 1, deadlineMs: 500, maxQueriesPerSecond: 1 });
    const scope = resolver.scope();
    // At one a second, a burst of one second's worth goes at once; the third query's turn is a second later.
    await scope.lookup('first.quiet.test', 'TXT');
    await scope.lookup('second.quiet.test', 'TXT');
    const started = performance.now();
    expect(await scope.lookup('third.quiet.test', 'TXT')).toMatchObject({ status: 'timeout', detail: expect.stringMatching(/deadline/) });
    expect(performance.now() - started).toBeLessThan(600);
    expect(asked('third.quiet.test')).toBe(0);
    scope.end();
  });

  it('gives each domain of a bulk run a deadline of its own, so one silent domain does not use up the next one\'s', async () => {
    const resolver = new DnsResolver({ servers: [server], timeoutMs: 5000, attempts: 2, deadlineMs: 300, sharedTransport: 'udp' });
    const domains = ['d1.quiet.test', 'd2.quiet.test', 'd3.quiet.test'];
    const statuses: string[] = [];
    const started = performance.now();
    const summary = await runChecks(domains, { resolver, selectors: [], failOn: 'error', concurrency: 1, onResult: (r) => void statuses.push(r.status) });
    expect(performance.now() - started).toBeLessThan(3 * 5000);
    expect(statuses).toEqual(['dns-error', 'dns-error', 'dns-error']);
    expect(summary.outcome).toBe('dns-unavailable');
    for (const d of domains) expect(asked(d)).toBeGreaterThanOrEqual(1);
  });
});

describe('the CLI', () => {
  // The record itself is read, so this is a record with problems (exit 1), not DNS unavailable (3).
  it('maildns spf on 20 silent includes ends within a few --timeout, and --deadline cuts it shorter', async () => {
    let started = performance.now();
    const plain = await runCli(['spf', 'wide.test', '--nameserver', server.address, '--timeout', '500']);
    expect(plain.code).toBe(1);
    expect(plain.stdout).toMatch(/spf\.temperror/);
    // One include after the other: 20 x 2 x 500 ms = 20 s; the bound leaves room for starting node.
    expect(performance.now() - started).toBeLessThan(16 * 500);
    started = performance.now();
    const cut = await runCli(['spf', 'wide.test', '--nameserver', server.address, '--timeout', '10000', '--deadline', '300']);
    expect(cut.code).toBe(1);
    expect(performance.now() - started).toBeLessThan(8000); // without the deadline: 2 x 10 s
    expect(cut.stdout).toMatch(/deadline of 300 ms/);
    expect((await runCli(['spf', 'wide.test', '--nameserver', server.address, '--deadline', '10'])).code).toBe(2);
  });
});
