/**
 * A flag that takes a value and is given none (last on the line, followed by another flag), an
 * empty one, a word where a number goes, or a fraction where a count goes, is refused: exit 2 and
 * one line naming the flag and what it wants. yargs-parser gave such a flag its default instead, so
 * `check example.com --timeout` ran with the default timeout, and `spf flatten --max-length 100.5`
 * was refused only after the DNS questions (src/cli/flag-values.ts). So is `--json` with another
 * `--format`, which had been taken as json.
 *
 * Every option of every command, found by running the commands' own builders in yargs, is put
 * through the check that src/cli/main.ts runs; then the built CLI, as a process, for options of
 * each command, and the values that must still pass (`--all -all`, `--domains-file -`, `-j4`).
 */
import { createSocket } from 'node:dgram';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import yargs, { type Argv, type CommandModule } from 'yargs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOADERS } from '../../../src/cli/registry.js';
import { flagValueProblem, jsonFormatProblem, type OptionTable } from '../../../src/cli/flag-values.js';
import { runCli } from '../../helpers/cli.js';

interface Built {
  /** The words that run the command: ['spf', 'compose'], ['dmarc'] for its default command. */
  path: string[];
  options: OptionTable;
  descriptions: Record<string, string>;
  /** Its positional arguments, which are no flags. */
  positionals: string[];
}

class Stop extends Error {}

type Inside = Argv & { getOptions(): OptionTable; getInternalMethods(): { getUsageInstance(): { getDescriptions(): Record<string, string> } } };

/**
 * The option table yargs builds for the command `words` run, by running the commands' own builders
 * (each subcommand registered on the way is noted in `subs`) and stopping once the last is built.
 */
async function build(top: CommandModule<any, any>, words: string[], target: CommandModule<any, any>, subs: CommandModule<any, any>[] = []): Promise<Built> {
  let built: Built | undefined;
  const wrap = (mod: CommandModule<any, any>): CommandModule<any, any> => ({
    ...mod,
    builder: (y: Argv) => {
      const inside = y as Inside;
      const register = y.command.bind(y);
      (y as { command: unknown }).command = (sub: CommandModule<any, any>) => {
        if (mod === target) subs.push(sub);
        return register(wrap(sub));
      };
      const out = (typeof mod.builder === 'function' ? mod.builder(y) : y) as Argv;
      (y as { command: unknown }).command = register;
      if (mod === target) {
        const command = String(mod.command);
        built = {
          path: words,
          options: inside.getOptions(),
          descriptions: { ...inside.getInternalMethods().getUsageInstance().getDescriptions() },
          positionals: [...command.matchAll(/[<[]([^\]>.]+)(?:\.\.)?[\]>]/g)].map((m) => m[1]!),
        };
        throw new Stop();
      }
      return out;
    },
  });
  const y = yargs(words).exitProcess(false).fail(false).strict().parserConfiguration({ 'nargs-eats-options': true }).command(wrap(top));
  try {
    await y.parseAsync();
  } catch (err) {
    if (!(err instanceof Stop)) throw err;
  }
  if (!built) throw new Error(`${words.join(' ')} did not build ${String(target.command)}`);
  return built;
}

/** Every command, subcommands and default subcommands too, with its option table. */
async function everyCommand(): Promise<Built[]> {
  const out: Built[] = [];
  const visit = async (top: CommandModule<any, any>, words: string[], mod: CommandModule<any, any>): Promise<void> => {
    const subs: CommandModule<any, any>[] = [];
    out.push(await build(top, words, mod, subs));
    for (const sub of subs) {
      const word = String(sub.command).split(' ')[0]!;
      await visit(top, word === '$0' ? words : [...words, word], sub);
    }
  };
  for (const [name, load] of Object.entries(LOADERS)) {
    const mod = await load();
    await visit(mod, [name], mod);
  }
  return out;
}

const names = (o: OptionTable, key: string): string[] => [key, ...(o.alias[key] ?? [])];
const has = (o: OptionTable, key: string, list: string[]): boolean => names(o, key).some((n) => list.includes(n));

/**
 * The number options where a fraction means something (queries per second, seconds to wait);
 * every other one counts milliseconds, octets, domains, a port, a percentage or the seconds of a
 * report interval, and takes whole numbers only.
 */
const FRACTIONAL = ['check --rate', 'selftest --wait'];

let commands: Built[];
beforeAll(async () => {
  commands = await everyCommand();
});

describe('every option that takes a value, in every command', () => {
  it('finds the commands and their options', () => {
    const paths = commands.map((c) => c.path.join(' '));
    expect(paths).toEqual(expect.arrayContaining(['check', 'serve', 'spf compose', 'spf flatten', 'spf merge', 'spf', 'dmarc compose', 'dmarc', 'dkim rotate', 'report merge', 'postfix', 'postfix lint', 'selftest']));
    const check = commands.find((c) => c.path.join(' ') === 'check')!;
    expect(Object.keys(check.options.key)).toEqual(expect.arrayContaining(['timeout', 'deadline', 'concurrency', 'rate', 'tls-timeout', 'domains-file', 'selectors', 'format']));
  });

  it('is refused when its value is missing, empty, (for a number) not a number or (for a count) a fraction, and accepted with one', () => {
    let checked = 0;
    const failures: string[] = [];
    const fractionsTaken: string[] = [];
    for (const c of commands) {
      const o = c.options;
      for (const key of Object.keys(o.key)) {
        // The main name of an option: not one of another option's aliases, nor a positional, nor yargs' own flags.
        if (Object.values(o.alias).some((a) => a.includes(key)) || c.positionals.includes(key) || key === 'help' || key === 'version') continue;
        if (has(o, key, o.boolean) || has(o, key, o.count)) continue;
        const isNumber = has(o, key, o.number);
        const choices = names(o, key).map((n) => o.choices[n]).find((x) => x?.length);
        const good = choices ? String(choices[0]) : isNumber ? '5' : 'x';
        const spellings = [`--${key}`, ...(o.alias[key] ?? []).filter((a) => a.length === 1).map((a) => `-${a}`)];
        for (const flag of spellings) {
          const expectProblem = (words: string[], want: RegExp | null): void => {
            const problem = flagValueProblem([...c.path, ...words], o, c.descriptions);
            const ok = want === null ? problem === null : problem !== null && want.test(problem) && !problem.includes('\n');
            if (!ok) failures.push(`${c.path.join(' ')} ${words.join(' ')}: ${problem}`);
          };
          const named = new RegExp(`^${flag}( \\(--${key}\\))? needs (a number|a whole number|a value|one of [^:]+)`);
          const bareMeansSomething = c.path.join(' ') === 'spf compose' && (key === 'a' || key === 'mx');
          // Last on the line, and followed by another flag, of the command's own or not.
          expectProblem([flag], bareMeansSomething ? null : named);
          expectProblem([flag, '--help'], bareMeansSomething ? null : named);
          expectProblem([flag, '--no-such-flag'], bareMeansSomething ? null : named);
          const emptyMeansSomething = c.path.join(' ') === 'spf' && key === 'sender';
          // (yargs-parser reads `-o=` as -o without a value, `--output=` as an empty one.)
          expectProblem([`${flag}=`], emptyMeansSomething ? null : named);
          expectProblem([flag, ''], emptyMeansSomething ? null : /not an empty one/);
          expectProblem([flag, ' '], /not an empty one/);
          if (isNumber) {
            expectProblem([flag, 'abc'], /needs a (whole )?number, not "abc"/);
            expectProblem([`${flag}=12ms`], /needs a (whole )?number, not "12ms"/);
            const fractional = FRACTIONAL.includes(`${c.path.join(' ')} --${key}`);
            if (fractional) fractionsTaken.push(`${c.path.join(' ')} --${key}`);
            expectProblem([flag, '2.5'], fractional ? null : /needs a whole number, not "2\.5"/);
            expectProblem([`${flag}=1e999`], fractional ? null : /needs a whole number, not "1e999"/);
            // Whole, however written.
            expectProblem([flag, '2.0'], null);
            expectProblem([flag, '1e3'], null);
          }
          expectProblem([flag, good], null);
          expectProblem([`${flag}=${good}`], null);
          checked++;
        }
      }
    }
    expect(failures).toEqual([]);
    // The commands have about a hundred such flags; a count far below says the walk missed some.
    expect(checked).toBeGreaterThan(100);
    expect([...new Set(fractionsTaken)].sort()).toEqual([...FRACTIONAL].sort());
  });

  it('reads short flag groups and the words after a flag as yargs-parser does', () => {
    const check = commands.find((c) => c.path.join(' ') === 'check')!;
    const problem = (...words: string[]): string | null => flagValueProblem(['check', 'example.com', ...words], check.options, check.descriptions);
    expect(problem('-j')).toMatch(/^-j \(--concurrency\) needs a whole number: domains checked at once$/);
    // -jq is -j then -q: -j has no value.
    expect(problem('-jq')).toMatch(/^-j \(--concurrency\) needs a whole number/);
    expect(problem('-qj')).toMatch(/^-j \(--concurrency\) needs a whole number/);
    expect(problem('-qj', '4')).toBeNull();
    expect(problem('-j4', '-q')).toBeNull();
    expect(problem('-j=4')).toBeNull();
    expect(problem('-o/tmp/report.txt')).toBeNull();
    // -- ends the flags: what follows is a domain, whatever it looks like.
    expect(problem('--', '--timeout')).toBeNull();
    // A negative number is a value (the handler says it is out of range).
    expect(problem('--timeout', '-5')).toBeNull();
    // A flag with nargs (--domains-file) takes "-", standard input, but not the next flag.
    expect(problem('--domains-file', '-')).toBeNull();
    expect(problem('--domains-file', '--json')).toMatch(/^--domains-file needs a value: file with one domain per line/);
    expect(problem('--domains-file', '-q')).toMatch(/^--domains-file needs a value/);
    expect(problem('--domainsFile')).toMatch(/^--domainsFile \(--domains-file\) needs a value/);
    expect(problem('--no-timeout')).toMatch(/^--no-timeout is not a flag: --timeout needs a whole number/);
    expect(problem('--no-tls')).toBeNull();
    expect(problem('--unknown-flag')).toBeNull();
  });
});

describe('--json with a --format other than json, in every command that has both', () => {
  it('is refused however --format is written, and taken when --format is json or not written', () => {
    const both = commands.filter((c) => 'json' in c.options.key && 'format' in c.options.key);
    expect(both.map((c) => c.path.join(' ')).sort()).toEqual(['check', 'records', 'report merge']);
    const failures: string[] = [];
    for (const c of both) {
      const others = c.options.choices['format']!.map(String).filter((f) => f !== 'json');
      expect(others.length).toBeGreaterThan(0);
      // `argv` as yargs parses `words`: --json on, --format the last one given (else its default).
      const expectProblem = (words: string[], argv: Record<string, unknown>, refused: boolean): void => {
        const problem = jsonFormatProblem([...c.path, ...words], c.options, argv);
        const want = `--json and --format ${String([argv['format']].flat().at(-1))} do not go together; give one of them`;
        if (problem !== (refused ? want : null)) failures.push(`${c.path.join(' ')} ${words.join(' ')}: ${problem}`);
      };
      for (const f of others) {
        for (const written of [['--format', f], ['-f', f], [`--format=${f}`], [`-f=${f}`]]) {
          expectProblem(['--json', ...written], { json: true, format: f }, true);
          expectProblem([...written, '--json'], { json: true, format: f }, true);
          expectProblem([...written, '--no-json'], { json: false, format: f }, false);
        }
        // Its default (text, zone) gives way to --json, as before.
        expectProblem(['--json'], { json: true, format: f }, false);
        // The last --format counts, as yargs reads it.
        expectProblem(['--format', f, '--format', 'json', '--json'], { json: true, format: [f, 'json'] }, false);
        expectProblem(['--format', 'json', '--format', f, '--json'], { json: true, format: ['json', f] }, true);
        // After "--" a word is no flag.
        expectProblem(['--json', '--', '--format', f], { json: true, format: f }, false);
      }
      expectProblem(['--json', '--format', 'json'], { json: true, format: 'json' }, false);
    }
    expect(failures).toEqual([]);
  });
});

describe('the built CLI refuses a flag without its value: exit 2, one line', () => {
  let dir: string;
  let message: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'maildns-flags-'));
    message = path.join(dir, 'm.eml');
    writeFileSync(message, 'From: a@example.com\r\nTo: b@example.org\r\nSubject: hi\r\n\r\nhello\r\n');
  });
  // A DNS command gets a dead local server first: should the check miss, nothing leaves the machine.
  const dead = ['--nameserver', '127.0.0.1:9'];
  const cases: [string[], RegExp][] = [
    [['check', 'example.com', ...dead, '--timeout'], /^--timeout needs a whole number: milliseconds to wait for one DNS answer/],
    [['check', 'example.com', ...dead, '--timeout', '--json'], /^--timeout needs a whole number: milliseconds to wait/],
    [['check', 'example.com', ...dead, '--timeout', 'abc'], /^--timeout needs a whole number, not "abc": milliseconds/],
    [['check', 'example.com', ...dead, '--deadline'], /^--deadline needs a whole number/],
    [['check', 'example.com', ...dead, '--concurrency', '-q'], /^--concurrency needs a whole number: domains checked at once/],
    [['check', 'example.com', ...dead, '-j'], /^-j \(--concurrency\) needs a whole number/],
    [['check', 'example.com', ...dead, '--rate'], /^--rate needs a number: most DNS queries per second/],
    [['check', 'example.com', ...dead, '--tls', '--tls-timeout'], /^--tls-timeout needs a whole number: with --tls: milliseconds for each step of the STARTTLS check/],
    [['check', 'example.com', ...dead, '--history-wait', '--history', 'h.db'], /^--history-wait needs a whole number/],
    [['check', 'example.com', ...dead, '--format'], /^--format needs one of text, json, ndjson, junit, html: report format$/],
    [['check', 'example.com', ...dead, '--format', ''], /^--format needs one of text, json, ndjson, junit, html, not an empty one/],
    [['check', 'example.com', ...dead, '--selectors'], /^--selectors needs a value: DKIM selectors to check/],
    [['check', 'example.com', ...dead, '-s', ''], /^-s \(--selectors\) needs a value, not an empty one/],
    [['check', ...dead, '--domains-file'], /^--domains-file needs a value: file with one domain per line/],
    [['check', ...dead, '--domains-file', '--json'], /^--domains-file needs a value/],
    [['check', 'example.com', '--nameserver'], /^--nameserver needs a value: ask this DNS server/],
    [['serve', '--port'], /^--port needs a whole number: port for UDP and TCP/],
    [['serve', '--port', ''], /^--port needs a whole number, not an empty one/],
    [['verify', ...dead, '--authoritative'], /^--authoritative needs a value/],
    [['spf', 'example.com', ...dead, '--timeout'], /^--timeout needs a whole number/],
    [['spf', 'flatten', 'example.com', ...dead, '--max-length'], /^--max-length needs a whole number: longest record text in octets/],
    [['spf', 'compose', '--mx', '--all'], /^--all needs a value: the final all: -all \(default\), ~all, \?all, \+all$/],
    [['spf', 'compose', '--include', '--mx'], /^--include needs a value/],
    [['spf', 'merge', 'v=spf1 mx -all', 'v=spf1 a -all', '--offline', '--all'], /^--all needs a value/],
    [['dmarc', 'compose', '--p', 'reject', '--pct'], /^--pct needs a whole number: percentage of failing mail/],
    [['dmarc', 'compose', '--p', 'reject', '--ri', 'daily'], /^--ri needs a whole number, not "daily"/],
    [['dmarc', 'example.com', ...dead, '--mode'], /^--mode needs a value/],
    [['dkim', 'rotate', 'example.com', ...dead, '--selector'], /^--selector needs a value/],
    [['report', 'merge', 'a.json', '--format'], /^--format needs one of/],
    [['history', '--since'], /^--since needs a value/],
    [['records', '-f'], /^-f \(--format\) needs one of zone, mydns, json: output format$/],
    [['records', '--plan'], /^--plan needs a value: plan file/],
    [['init', 'example.com', '--ip4'], /^--ip4 needs a value/],
    [['keygen', '--keys-dir'], /^--keys-dir needs a value/],
    [['opendkim', '--socket'], /^--socket needs a value/],
    [['postfix', '--milter-default-action'], /^--milter-default-action needs one of tempfail, accept/],
    [['postfix', 'lint', '--domain'], /^--domain needs a value/],
    [['mta-sts', '--out'], /^--out needs a value/],
    [['quickstart', 'qs', '--domain'], /^--domain needs a value/],
    [['selftest', '--wait'], /^--wait needs a number: seconds the submission and the arrival may take together$/],
    [['sign', 'm.eml', '-d', 'example.com', '-s', 'x', '-k'], /^-k \(--key\) needs a value/],
    [['verify-message', 'm.eml', ...dead, '--ip'], /^--ip needs a value/],
  ];
  it.each(cases)('%j', async (args, want) => {
    const r = await runCli(args, { cwd: dir, killAfterMs: 15_000 });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.endsWith(' (see `maildns --help`)\n')).toBe(true);
    const lines = r.stderr.split('\n').filter(Boolean);
    expect(lines).toHaveLength(1);
    expect(lines[0]!.replace(/^maildns: /, '').replace(/ \(see `maildns --help`\)$/, '')).toMatch(want);
  });

  it('takes the values that look like flags where a flag takes them, and a bare --mx or --a in spf compose', async () => {
    const [compose, merge, stdin, nullSender] = await Promise.all([
      runCli(['spf', 'compose', '--mx', '--a', '--all', '-all']),
      runCli(['spf', 'merge', 'v=spf1 mx ~all', 'v=spf1 a ?all', '--all', '-all', '--offline']),
      runCli(['check', '--domains-file', '-', ...dead, '-j1', '--timeout=50', '--deadline', '50', '--json'], { input: '', cwd: dir }),
      runCli(['spf', 'example.com', '--ip', '192.0.2.1', '--sender', '', ...dead, '--timeout', '50', '--json'], { cwd: dir }),
    ]);
    expect(compose.stdout).toBe('v=spf1 a mx -all\n');
    expect(merge.code).toBe(0);
    expect(merge.stdout).toMatch(/-all/);
    // The flags were all taken; it is the empty list that is refused.
    expect(stdin.stderr).toBe('maildns: <stdin>: names no domain (only blank lines and # comments); write one domain per line, such as example.com\n');
    // An empty --sender is the null sender of a bounce (RFC 7208 §4.3): DNS is asked, and fails here.
    expect(nullSender.stderr).not.toMatch(/needs/);
    expect(nullSender.code).toBe(3);
  });
});

describe('the built CLI refuses a fraction for a count, and --json with another --format, before asking DNS', () => {
  // A name server that answers nothing and counts the questions it was sent.
  const server = createSocket('udp4');
  let questions = 0;
  let nameserver: string;
  beforeAll(async () => {
    server.on('message', () => questions++);
    await new Promise<void>((resolve) => server.bind(0, '127.0.0.1', resolve));
    nameserver = `127.0.0.1:${server.address().port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const fast = ['--timeout', '50', '--deadline', '50'];
  // NS: the silent server (and short waits), for a command that asks DNS.
  const asking = (args: string[]): string[] => args.flatMap((a) => (a === 'NS' ? ['--nameserver', nameserver, ...fast] : [a]));

  const refused: [string[], string][] = [
    [['spf', 'flatten', 'example.com', '--max-length', '100.5', 'NS'], '--max-length needs a whole number, not "100.5": longest record text in octets (default 255 = one character-string)'],
    [['check', 'example.com', '-j2.5', 'NS'], '-j (--concurrency) needs a whole number, not "2.5": domains checked at once'],
    [['check', 'example.com', '--timeout=100.5', 'NS'], '--timeout needs a whole number, not "100.5": milliseconds to wait for one DNS answer (two attempts per server)'],
    [['check', 'example.com', '--tls', '--tls-timeout', '1500.5', 'NS'], '--tls-timeout needs a whole number, not "1500.5": with --tls: milliseconds for each step of the STARTTLS check (connect, greeting, EHLO, STARTTLS, handshake; default 10000)'],
    [['dmarc', 'example.com', '--deadline', '1e999', 'NS'], '--deadline needs a whole number, not "1e999": milliseconds for all the DNS questions of the command (check and verify: of each domain)'],
    [['check', 'example.com', '--json', '--format', 'text', 'NS'], '--json and --format text do not go together; give one of them'],
    [['check', 'example.com', '-f', 'ndjson', '--json', 'NS'], '--json and --format ndjson do not go together; give one of them'],
    [['check', 'example.com', '--json', '--format=junit', 'NS'], '--json and --format junit do not go together; give one of them'],
    [['report', 'merge', 'shard-0.ndjson', '--json', '--format', 'html'], '--json and --format html do not go together; give one of them'],
  ];
  it.each(refused)('%j', async (args, want) => {
    const r = await runCli(asking(args), { killAfterMs: 15_000 });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(`maildns: ${want} (see \`maildns --help\`)\n`);
    expect(questions).toBe(0);
  });

  // A flag that only means something beside another is refused without it, not silently ignored.
  const alone: [string[], string][] = [
    [['check', 'example.com', '--tls-timeout', '500', 'NS'], '--tls-timeout goes with --tls (it bounds each step of the STARTTLS check)'],
    [['check', 'example.com', '--changes', 'NS'], '--changes needs --history FILE: the changes are those since the last run recorded there'],
    [['check', 'example.com', '--ca-file', '/etc/hosts', 'NS'], '--ca-file goes with --mta-sts-policy or --tls (it is used only to fetch the policy and to judge STARTTLS certificates)'],
    [['check', 'example.com', '--validating-resolver', '127.0.0.1', 'NS'], '--validating-resolver goes with --dnssec (it is the resolver the DNSSEC check asks for AD)'],
  ];
  it.each(alone)('%j', async (args, want) => {
    const r = await runCli(asking(args), { killAfterMs: 15_000 });
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`maildns: ${want}\n`);
    expect(questions).toBe(0);
  });

  it('takes whole numbers however written, a fractional --rate, and --json with --format json', async () => {
    const [flatten, rate, json] = await Promise.all([
      runCli(['spf', 'flatten', 'example.com', '--max-length', '100.0', '--nameserver', nameserver, ...fast]),
      runCli(['check', 'example.com', '--rate', '2.5', '-j', '1e1', '--nameserver', nameserver, ...fast, '-q']),
      runCli(['check', 'example.com', '--json', '--format', 'json', '--nameserver', nameserver, ...fast]),
    ]);
    // Each asked the silent server, and said that DNS failed.
    for (const r of [flatten, rate, json]) expect(r.code).toBe(3);
    expect(JSON.parse(json.stdout)).toMatchObject({ domains: [{ domain: 'example.com', status: 'dns-error' }] });
    expect(questions).toBeGreaterThan(0);
  });
});

describe('a value that says nothing is refused, not taken for the flag\'s absence', () => {
  it('check -s "," names no selector', async () => {
    const r = await runCli(['check', 'example.com', '--nameserver', '127.0.0.1:9', '-s', ',']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('maildns: --selectors "," names no DKIM selector; give names such as mail,google\n');
  });

  it('--nameserver with a host name that cannot be one is a typo, exit 2, not a DNS failure (exit 3)', async () => {
    for (const value of ['bad..host', '127.0.0.1,bad..host:5353']) {
      const r = await runCli(['spf', 'example.com', '--nameserver', value, '--timeout', '500']);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/^maildns: --nameserver: not a server address: "bad\.\.host(:5353)?": the host name has an empty label \(two dots in a row\?\)/);
    }
    // A host name is still taken (asked for its address like any other).
    expect((await runCli(['spf', 'example.com', '--nameserver', 'localhost:9', '--timeout', '500'])).code).toBe(3);
  });

  it('dmarc compose --rua "," names no report address', async () => {
    const r = await runCli(['dmarc', 'compose', '--p', 'reject', '--rua', ',']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('maildns: rua="," names no report address; give one such as dmarc-reports@example.com\n');
  });

  it('sign --headers ":" names no header field', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'maildns-flags-'));
    writeFileSync(path.join(dir, 'm.eml'), 'From: a@example.com\r\nTo: b@example.org\r\nSubject: hi\r\n\r\nhello\r\n');
    const { generateKeyPairSync } = await import('node:crypto');
    const { privateKey } = generateKeyPairSync('ed25519');
    writeFileSync(path.join(dir, 'k.pem'), privateKey.export({ type: 'pkcs8', format: 'pem' }));
    const r = await runCli(['sign', 'm.eml', '-d', 'example.com', '-s', 'ed', '-k', 'k.pem', '--headers', ':'], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('maildns: --headers ":" names no header field; give names such as from:to:subject:date\n');
  });
});

describe('a repeatable flag takes one value each time, so the words after it stay positional', () => {
  it('check -s mail -s google,x example.com other.example checks both domains with the three selectors', async () => {
    const r = await runCli(['check', '-s', 'mail', '-s', 'google,x', 'example.com', 'other.example', '--nameserver', '127.0.0.1:9', '--timeout', '50', '--json']);
    expect(r.code).toBe(3);
    const doc = JSON.parse(r.stdout) as { domains: { domain: string; dkim: { selector: string }[] }[] };
    expect(doc.domains.map((d) => [d.domain, d.dkim.map((k) => k.selector)])).toEqual([
      ['example.com', ['mail', 'google', 'x']],
      ['other.example', ['mail', 'google', 'x']],
    ]);
  });

  it('spf compose --include a.example --include b.example --all -all composes both includes', async () => {
    const r = await runCli(['spf', 'compose', '--include', 'a.example', '--include', 'b.example', '--all', '-all', '--json']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('include:a.example include:b.example -all');
  });
});
