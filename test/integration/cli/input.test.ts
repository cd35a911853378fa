/**
 * Values given on the command line and in plans, through the built CLI: one verdict per value in
 * init, spf compose, dmarc compose and records; `spf --ip` answers for names that are no FQDN as
 * check_host() does (RFC 7208 §4.3), over real DNS; `check` reads standard input and checks a
 * name once whatever its case.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../../../src/dns/server.js';
import { runCli } from '../../helpers/cli.js';
import { scenarios, zoneFromSuite } from '../../helpers/spf-suite.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'maildns-input-'));
});

/** The exit code and first stderr line of each command that takes a sending domain, for one value. */
async function verdicts(domain: string): Promise<{ code: number | null; line: string }[]> {
  const plan = path.join(dir, `plan-${Buffer.from(domain).toString('hex')}.yaml`);
  writeFileSync(plan, `version: 1\ndomains:\n  - domain: ${JSON.stringify(domain)}\n    spf: {ip4: [192.0.2.1]}\n`);
  const runs = await Promise.all([
    runCli(['init', domain, '-o', path.join(dir, 'init.yaml'), '--force']),
    runCli(['spf', 'compose', '--ip4', '192.0.2.1', '--domain', domain]),
    runCli(['dmarc', 'compose', '--p', 'none', '--domain', domain]),
    runCli(['records', '--plan', plan]),
  ]);
  return runs.map((r) => ({ code: r.code, line: r.stderr.split('\n')[0]! }));
}

describe('a sending domain: the same verdict in init, spf compose, dmarc compose and records', () => {
  it.each([
    ['bücher.de', /xn--bcher-kva\.de/],
    ['my_domain.test', /"my_domain"/],
    ['localhost', /single label/],
    ['192.0.2.1', /is an address/],
  ])('%s is refused everywhere, exit 2, with the same reason', async (domain, why) => {
    for (const v of await verdicts(domain)) {
      expect(v.code).toBe(2);
      expect(v.line).toMatch(why);
    }
  });

  it('example.com is accepted everywhere', async () => {
    for (const v of await verdicts('example.com')) expect(v.code).toBe(0);
  });

  it('an IPv6 address with a zone index is refused by init and spf compose alike', async () => {
    const init = await runCli(['init', 'example.com', '--ip6', 'fe80::1%eth0', '-o', path.join(dir, 'z.yaml')]);
    const compose = await runCli(['spf', 'compose', '--ip6', 'fe80::1%eth0']);
    for (const r of [init, compose]) {
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/"fe80::1%eth0" carries a zone index \(%eth0\)/);
    }
  });

  it('records and spf compose give an SPF record with more than 10 DNS-querying terms the same verdict: printed, an error, exit 1', async () => {
    const plan = path.join(dir, 'eleven.yaml');
    const includes = Array.from({ length: 11 }, (_, i) => `_spf${i}.example.net`);
    writeFileSync(plan, `version: 1\ndomains:\n  - domain: example.com\n    spf:\n      include: ${JSON.stringify(includes)}\n`);
    const [r, compose] = await Promise.all([runCli(['records', '--plan', plan]), runCli(['spf', 'compose', ...includes.flatMap((i) => ['--include', i])])]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('include:_spf10.example.net');
    expect(r.stderr).toMatch(/error: the SPF record of example\.com has 11 DNS-querying terms/);
    expect(compose.code).toBe(1);
    expect(compose.stderr).toMatch(/error: the record has 11 DNS-querying terms before counting what the includes need; receivers stop at 10/);
  });
});

describe('spf --ip answers RFC 7208 §4.3 (initial processing) as check_host() does, through the CLI', () => {
  const scenario = scenarios.find((s) => s.description === 'Initial processing')!;
  const cases = Object.entries(scenario.tests).filter(([, t]) => /^4\.3/.test(String((t as { spec?: string }).spec)));
  let server: RunningServer;
  beforeAll(async () => {
    const zone = zoneFromSuite(scenario.zonedata ?? {});
    server = await startServer({ records: zone.records, zones: [''], silent: zone.silent });
  });
  afterAll(async () => {
    await server.close();
  });

  it('covers the names a mail server passes as they come: long and empty labels, literals, a HELO that is no FQDN', () => {
    expect(cases.map(([n]) => n)).toEqual(expect.arrayContaining(['toolonglabel', 'emptylabel', 'helo-not-fqdn', 'helo-domain-literal', 'domain-literal']));
  });

  it.each(cases)('%s', async (_name, t) => {
    const at = t.mailfrom.lastIndexOf('@');
    const domain = t.mailfrom && at >= 0 ? t.mailfrom.slice(at + 1) : t.helo;
    const r = await runCli(['spf', domain, '--ip', t.host, '--sender', t.mailfrom, '--helo', t.helo, '--nameserver', `${server.host}:${server.port}`, '--json']);
    expect(r.stderr).toBe('');
    const verdict = JSON.parse(r.stdout) as { result: string; explanation?: string };
    expect([t.result].flat()).toContain(verdict.result);
    if (t.explanation && t.explanation !== 'DEFAULT') expect(verdict.explanation).toBe(t.explanation);
    expect(r.code).toBe(verdict.result === 'pass' ? 0 : 1);
  });
});

describe('check: standard input, and each name once', () => {
  let server: RunningServer;
  let ns: string;
  beforeAll(async () => {
    server = await startServer({
      zones: ['test'],
      records: [
        { name: 'newco.test', type: 'TXT', ttl: 300, value: 'v=spf1 -all' },
        { name: '_dmarc.newco.test', type: 'TXT', ttl: 300, value: 'v=DMARC1; p=reject' },
      ],
    });
    ns = `${server.host}:${server.port}`;
  });
  afterAll(async () => {
    await server.close();
  });

  it('--domains-file - reads the list from standard input; NEWCO.TEST and newco.test are one domain', async () => {
    const r = await runCli(['check', '--domains-file', '-', 'NewCo.Test', '--nameserver', ns, '--json'], { input: 'NEWCO.TEST\n# a comment\nnewco.test\n' });
    expect(r.code).not.toBe(2);
    const out = JSON.parse(r.stdout) as { domains: { domain: string }[] };
    expect(out.domains.map((d) => d.domain)).toEqual(['newco.test']);
    expect(r.stderr).toContain('note: 2 names were given more than once; each domain is checked once');
  });

  it('--domains-file - splits lines where a file does: at a lone carriage return too (a list saved with old Mac line ends)', async () => {
    const list = path.join(dir, 'cr.txt');
    const text = 'NEWCO.TEST\r# a comment\rnewco.test\r';
    writeFileSync(list, text);
    const fromFile = await runCli(['check', '--domains-file', list, '--nameserver', ns, '--json']);
    const fromStdin = await runCli(['check', '--domains-file', '-', '--nameserver', ns, '--json'], { input: text });
    for (const r of [fromFile, fromStdin]) {
      expect(r.code).not.toBe(2);
      expect((JSON.parse(r.stdout) as { domains: { domain: string }[] }).domains.map((d) => d.domain)).toEqual(['newco.test']);
    }
  });

  it('an internationalized name in a list or on the command line is refused with its A-label as the fix (as a plan refuses it)', async () => {
    const list = path.join(dir, 'idn.txt');
    writeFileSync(list, 'newco.test\nbücher.de\n');
    const runs = await Promise.all([runCli(['check', '--domains-file', list, '--nameserver', ns]), runCli(['check', 'bücher.de', '--nameserver', ns])]);
    for (const r of runs) {
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/"bücher\.de" is not a domain name: it is an internationalized name; write it in its ASCII \(A-label\) form: xn--bcher-kva\.de/);
    }
    expect(runs[0]!.stderr).toMatch(/idn\.txt:2: .*; write one domain per line/);
    expect(runs[1]!.stderr).toMatch(/command line: .*; give a name such as example\.com$/m);
  });

  it('--domains-file may repeat, a file and standard input together', async () => {
    const list = path.join(dir, 'list.txt');
    writeFileSync(list, 'newco.test\n');
    const r = await runCli(['check', '--domains-file', list, '--domains-file', '-', '--nameserver', ns, '--json'], { input: 'NEWCO.test\n' });
    expect((JSON.parse(r.stdout) as { domains: unknown[] }).domains).toHaveLength(1);
  });

  it('a --domains-file with no domain in it (empty, or only comments) is exit 2 naming the file, not a request to pass one', async () => {
    const empty = path.join(dir, 'empty.txt');
    writeFileSync(empty, '# to be filled in\n\n');
    const r = await runCli(['check', '--domains-file', empty, '--nameserver', ns]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`maildns: ${empty}: names no domain (only blank lines and # comments); write one domain per line, such as example.com\n`);
    const none = await runCli(['check', '--nameserver', ns]);
    expect(none.code).toBe(2);
    expect(none.stderr).toBe('maildns: name at least one domain, or pass --domains-file FILE\n');
  });
});
