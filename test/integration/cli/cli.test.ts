import { describe, expect, it } from 'vitest';
import { execFile, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { CLI, LAUNCHER, preloadEnv, preloadOption, runCli, type CliResult } from '../../helpers/cli.js';
import { DIG } from '../../helpers/programs.js';
import { subcommandsOf } from '../../../src/cli/registry.js';

const run = promisify(execFile);
const fresh = (): string => mkdtempSync(path.join(tmpdir(), 'maildns-cli-'));

describe('maildns CLI basics', () => {
  it('stops quietly with 141 when standard output is closed, for --version alone as for --help and a command\'s help', async () => {
    // Every write to standard output fails as one to a closed pipe does (EPIPE, emitted afterwards).
    const closed = preloadEnv("process.stdout.write = () => { process.nextTick(() => process.stdout.emit('error', Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }))); return true; };");
    const asks = [['--version'], ['--help'], ['check', '--help'], ['help', 'dkim', 'rotate']];
    const results = await Promise.all(asks.map((args) => runCli(args, { env: closed })));
    expect(results.map((r) => [r.code, r.stderr])).toEqual(asks.map(() => [141, '']));
  });

  it('prints its version and lists commands in --help', async () => {
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
    const [version, help] = await Promise.all([runCli(['--version']), runCli(['--help'])]);
    expect(version.stdout.trim()).toBe(pkg.version);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/maildns init <domain>/);
    expect(help.stdout).toMatch(/maildns records/);
    expect(help.stdout).toMatch(/maildns serve/);
    expect(help.stdout).toMatch(/Exit codes: 0 ok, 1 problems found, 2 bad input or usage, 3 DNS could not be asked/);
  });

  it('is a loader beside one script and its code cache, and nothing else, run by the launcher package.json names as its bin', () => {
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { bin: { maildns: string } };
    const root = fileURLToPath(new URL('../../../', import.meta.url));
    expect(path.resolve(root, pkg.bin.maildns)).toBe(LAUNCHER);
    expect(readFileSync(LAUNCHER, 'utf8')).toMatch(/^exec node "\$\{self%\/\*\}\/\.\.\/dist\/cli\/main\.js" "\$@"$/m);
    // No partial cache or other leftover of the build's warm-up.
    expect(readdirSync(path.dirname(CLI)).sort()).toEqual(['maildns.cjs', 'maildns.cjs.cache', 'main.js']);
    const script = readFileSync(path.join(path.dirname(CLI), 'maildns.cjs'), 'utf8');
    // vm.Script, which runs it, cannot load an ES module: no import() may be left in it.
    expect(script.replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '')).not.toMatch(/\bimport\(/);
    // esbuild writes this shim for a require() it could not bundle; it throws when called.
    expect(script).not.toContain('Dynamic require of');
  });

  it('runs its script from the code cache the build wrote; a cache V8 refuses, one made for another script, or a damaged one is left unused', async () => {
    // This preload reports whether the loader gave V8 a cache and whether V8 took it.
    const probe = [
      "import vm from 'node:vm'; import { syncBuiltinESMExports } from 'node:module';",
      'const Real = vm.Script; vm.Script = class extends Real { constructor(source, options) { super(source, options);',
      "const said = options?.cachedData ? (this.cachedDataRejected ? 'refused' : 'taken') : 'none'; process.on('exit', () => process.stderr.write(`code cache: ${said}\\n`)); } };",
      'syncBuiltinESMExports();',
    ].join(' ');
    const args = ['check', 'example.test', '--nameserver', '127.0.0.1:9', '--timeout', '300'];
    // The probe alone in NODE_OPTIONS: a V8 flag the test runner was given there would make V8 refuse the cache.
    const probeEnv = { NODE_OPTIONS: preloadOption(probe) };
    const taken = await runCli(args, { env: probeEnv });
    expect(taken.code).toBe(3); // nothing listens at port 9
    expect(taken.stderr).toContain('code cache: taken');
    // `maildns --version` alone is answered before the script is read (no script is compiled).
    const version = await runCli(['--version'], { env: probeEnv });
    expect([version.code, version.stderr]).toEqual([0, '']);
    expect(version.stdout).toMatch(/^\d+\.\d+\.\d+/);
    // Another V8 flag at start: V8 refuses the cache, and the command runs as well without it.
    const refused = await runCli(args, { env: { NODE_OPTIONS: `${probeEnv.NODE_OPTIONS} --max-semi-space-size=4` } });
    expect([refused.code, refused.stderr.replace('code cache: refused', 'code cache: taken')]).toEqual([taken.code, taken.stderr]);
    // A script changed after the build: its cache is for another script and is not given to V8.
    const copy = mkdtempSync(path.join(path.dirname(path.dirname(CLI)), 'cli-changed-'));
    try {
      for (const f of readdirSync(path.dirname(CLI))) writeFileSync(path.join(copy, f), readFileSync(path.join(path.dirname(CLI), f)));
      writeFileSync(path.join(copy, 'maildns.cjs'), `${readFileSync(path.join(copy, 'maildns.cjs'), 'utf8')}// changed\n`);
      const changed = await run(process.execPath, [path.join(copy, 'main.js'), ...args], { env: { ...process.env, ...probeEnv } }).then(() => ({ code: 0, stderr: '' }), (e: { code: number; stderr: string }) => e);
      expect([changed.code, changed.stderr.replace('code cache: none', 'code cache: taken')]).toEqual([taken.code, taken.stderr]);
      // A cache damaged in place (its length kept): a release V8 would take its bytes unchecked and
      // crash deserializing them (SIGSEGV), so the loader checks the cache's own CRC-32 and leaves it unused.
      writeFileSync(path.join(copy, 'maildns.cjs'), readFileSync(path.join(path.dirname(CLI), 'maildns.cjs')));
      const cache = readFileSync(path.join(copy, 'maildns.cjs.cache'));
      for (let at = 64; at < cache.length; at += 4096) cache[at] ^= 0xff;
      writeFileSync(path.join(copy, 'maildns.cjs.cache'), cache);
      const damaged = await run(process.execPath, [path.join(copy, 'main.js'), ...args], { env: { ...process.env, ...probeEnv } }).then(() => ({ code: 0, signal: null, stderr: '' }), (e: { code: number; signal: string | null; stderr: string }) => e);
      expect([damaged.code, damaged.signal, damaged.stderr.replace('code cache: none', 'code cache: taken')]).toEqual([taken.code, null, taken.stderr]);
    } finally {
      rmSync(copy, { recursive: true, force: true });
    }
  });

  it('exits 70, not 0, when a command stops short: the event loop empty while it waits on a promise nothing settles', async () => {
    // Standard output that never drains: the report's writer waits for a 'drain' event that never comes.
    const stalled = await runCli(['check', 'example.test', '--nameserver', '127.0.0.1:9', '--timeout', '300'], { env: preloadEnv('process.stdout.write = () => false;'), killAfterMs: 20_000 });
    expect([stalled.code, stalled.stderr]).toEqual([70, expect.stringContaining('maildns: internal error: the command stopped before it finished')]);
  });

  it('builds no string-width Intl.Segmenter to start a command, nor to lay out a help of printable ASCII', async () => {
    // This preload counts the segmenters made in the process (string-width makes one per copy as it loads).
    const probe = "let made = 0; const S = Intl.Segmenter; Intl.Segmenter = function (...a) { made++; return new S(...a); }; process.on('exit', () => process.stderr.write(`segmenters: ${made}\\n`));";
    const env = preloadEnv(probe);
    const [check, help] = await Promise.all([runCli(['check', 'example.test', '--nameserver', '127.0.0.1:9', '--timeout', '300'], { env }), runCli(['check', '--help'], { env })]);
    expect(check.code).toBe(3); // nothing listens at port 9: DNS could not be asked
    expect(check.stderr).toContain('segmenters: 0');
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^maildns check/);
    expect(help.stdout).toMatch(/^[\x20-\x7e\n]*$/);
    expect(help.stderr).toContain('segmenters: 0');
  });

  it('loads no node:assert for yargs, whose failed check of a missing package.json still reads as an assertion error', async () => {
    const probe = "process.on('exit', () => process.stderr.write(`assert loaded: ${process.moduleLoadList.includes('NativeModule assert')}\\n`));";
    const env = preloadEnv(probe);
    const runs = await Promise.all([runCli(['check', 'example.test', '--nameserver', '127.0.0.1:9', '--timeout', '300'], { env }), runCli(['check', '--help'], { env }), runCli(['nosuch'], { env })]);
    expect(runs.map((r) => [r.code, r.stderr.match(/assert loaded: \w+/)?.[0]])).toEqual([
      [3, 'assert loaded: false'],
      [0, 'assert loaded: false'],
      [2, 'assert loaded: false'],
    ]);
    // What the stand-in answers: test/unit/bundle-plugins.test.ts.
  });

  it('reads no directory to start a command: yargs\' package.json search up from the working directory is cut out', async () => {
    // This preload counts directory reads (synced, the wrapper is what ES module imports of node:fs see as well).
    const probe = [
      "import fs from 'node:fs'; import { syncBuiltinESMExports } from 'node:module';",
      'let reads = 0; const real = fs.readdirSync; fs.readdirSync = (...a) => { reads++; return real(...a); }; syncBuiltinESMExports();',
      "process.on('exit', () => process.stderr.write(`directory reads: ${reads}\\n`));",
    ].join(' ');
    // A working directory with no package.json above it, full of files, as /tmp or a home directory can be.
    const cwd = fresh();
    for (let i = 0; i < 50; i++) writeFileSync(path.join(cwd, `f${i}`), '');
    const [check, version] = await Promise.all([
      runCli(['check', 'example.test', '--nameserver', '127.0.0.1:9', '--timeout', '300'], { env: preloadEnv(probe), cwd }),
      runCli(['check', '--version'], { cwd }),
    ]);
    expect(check.code).toBe(3); // nothing listens at port 9
    expect(check.stderr).toContain('directory reads: 0');
    // The version is still maildns' own, not yargs' "unknown".
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
    expect(version.stdout.trim()).toBe(pkg.version);
  });

  it('speaks English whatever the locale: yargs\' words as well as its own', async () => {
    const asked = [['check', '--help'], ['check', '--frobnicate'], ['dkim', 'rotate', '--help']];
    const runs = (env: Record<string, string>): Promise<CliResult[]> => Promise.all(asked.map((a) => runCli(a, { env })));
    const [plain, german, japanese] = await Promise.all([runs({ LC_ALL: 'C' }), runs({ LC_ALL: 'de_DE.UTF-8', LANG: 'de_DE.UTF-8' }), runs({ LC_ALL: 'ja_JP.UTF-8', LANG: 'ja_JP.UTF-8' })]);
    expect(plain[0]!.stdout).toContain('Options:');
    expect(plain[1]!.stderr).toContain('Unknown argument: frobnicate');
    for (const other of [german, japanese]) expect(other.map((r) => [r.code, r.stdout, r.stderr])).toEqual(plain.map((r) => [r.code, r.stdout, r.stderr]));
    // The compiled CLI, where yargs finds its locale files beside its modules (the bundle has none).
    const compiled = fileURLToPath(new URL('../../../dist/src/cli/main.js', import.meta.url));
    const german2 = await run(process.execPath, [compiled, 'check', '--frobnicate'], { env: { ...process.env, LC_ALL: 'de_DE.UTF-8', LANG: 'de_DE.UTF-8' } }).catch((e: { stderr: string }) => e);
    expect(german2.stderr).toContain('Unknown argument: frobnicate');
  });

  it('takes the word help after a command as --help, and prints the same help, wrapped alike', async () => {
    // yargs shows help when the last positional is "help"; the text had been left unwrapped then.
    const commands = [[], ['check'], ['check', 'example.com'], ['spf', 'flatten'], ['dmarc', 'compose'], ['report', 'merge']];
    const runs = await Promise.all(commands.map((c) => Promise.all([runCli([...c, 'help']), runCli([...c, '--help'])])));
    for (const [word, flag] of runs) {
      expect(word.code).toBe(0);
      expect(word.stderr).toBe('');
      expect(word.stdout).toBe(flag.stdout);
      // Wrapped at 100 columns, as without a terminal.
      expect(word.stdout.split('\n').filter((line) => line.length > 100)).toEqual([]);
    }
  });

  it('answers a command\'s help or version beside a flag given without its value with the help or version alone (exit 0), as before yargs stopped exiting on them', async () => {
    // yargs runs the middleware that checks flags' values after a command's help or version is
    // written; it had exited by then.
    const asks: [string[], RegExp][] = [
      [['check', 'example.com', '--help', '--format'], /^maildns check /],
      [['check', 'example.com', '--format', '-h'], /^maildns check /],
      [['check', 'example.com', '--version', '--tls-timeout'], /^\d+\.\d+\.\d+\n$/],
      [['spf', 'example.com', '--help', '--nameserver'], /^maildns spf\n/],
      // The word help, which yargs takes for --help (argv.help is not set then).
      [['check', 'example.com', '--format=', 'help'], /^maildns check /],
      [['dkim', 'rotate', '--help', '--selector'], /^maildns dkim rotate /],
    ];
    const results = await Promise.all(asks.map(([args]) => runCli(args)));
    expect(results.map((r) => [r.code, r.stderr])).toEqual(asks.map(() => [0, '']));
    results.forEach((r, i) => expect(r.stdout).toMatch(asks[i]![1]));
    // Without the help, the flag is still refused.
    const bare = await runCli(['check', 'example.com', '--format']);
    expect([bare.code, bare.stdout, bare.stderr]).toEqual([2, '', 'maildns: --format needs one of text, json, ndjson, junit, html: report format (see `maildns --help`)\n']);
  });

  it('takes -h for --help after any command, and `maildns help COMMAND` for `maildns COMMAND --help`; refuses help for a command that does not exist', async () => {
    const commands = [['check'], ['spf', 'flatten'], ['report', 'merge']];
    const runs = await Promise.all(commands.map((c) => Promise.all([runCli([...c, '-h']), runCli(['help', ...c]), runCli([...c, '--help'])])));
    for (const [short, word, flag] of runs) {
      expect([short.code, word.code, flag.code]).toEqual([0, 0, 0]);
      expect(flag.stdout).toMatch(/^maildns /);
      expect(short.stdout).toBe(flag.stdout);
      expect(word.stdout).toBe(flag.stdout);
      expect(short.stderr + word.stderr).toBe('');
    }
    const [top, ...flagsAfterHelp] = await Promise.all([runCli(['--help']), runCli(['help', '--help']), runCli(['help', '-h']), runCli(['help', '--json'])]);
    for (const r of flagsAfterHelp) expect([r.code, r.stdout]).toEqual([0, top.stdout]);
    const unknown = await Promise.all([runCli(['help', 'nosuch']), runCli(['nosuch', '--help']), runCli(['chek', '--json', '-h']), runCli(['nosuch', 'help']), runCli(['--json', 'nosuch', '--help'])]);
    expect(unknown.map((r) => [r.code, r.stdout, r.stderr])).toEqual([
      [2, '', 'maildns: there is no command "nosuch"; `maildns --help` lists them\n'],
      [2, '', 'maildns: there is no command "nosuch"; `maildns --help` lists them\n'],
      [2, '', 'maildns: there is no command "chek"; `maildns --help` lists them\n'],
      // The word help, which yargs takes for --help, and a flag before the misspelt command.
      [2, '', 'maildns: there is no command "nosuch"; `maildns --help` lists them\n'],
      [2, '', 'maildns: there is no command "nosuch"; `maildns --help` lists them\n'],
    ]);
  });

  it('says a first word that names no command is an unknown command, pointing at the help (and at the command meant, when yargs sees one)', async () => {
    const runs = await Promise.all([runCli(['nosuch']), runCli(['nosuch', 'example.com', '--json']), runCli(['chek', 'example.com'])]);
    expect(runs.map((r) => [r.code, r.stdout, r.stderr])).toEqual([
      [2, '', 'maildns: there is no command "nosuch"; `maildns --help` lists them\n'],
      [2, '', 'maildns: there is no command "nosuch"; `maildns --help` lists them\n'],
      [2, '', 'maildns: there is no command "chek" (did you mean check?); `maildns --help` lists them\n'],
    ]);
  });

  it('asks for a command when none is named, pointing at the help once', async () => {
    const r = await runCli([]);
    expect([r.code, r.stdout, r.stderr]).toEqual([2, '', 'maildns: name a command; `maildns --help` lists them\n']);
  });

  it('asks for a subcommand of dkim and report by name when none is given', async () => {
    const runs = await Promise.all([runCli(['dkim']), runCli(['dkim', '--json']), runCli(['report'])]);
    expect(runs.map((r) => [r.code, r.stdout, r.stderr])).toEqual([
      [2, '', 'maildns: name a dkim command: show, check-record or rotate\n'],
      [2, '', 'maildns: name a dkim command: show, check-record or rotate\n'],
      [2, '', 'maildns: name a report command: merge\n'],
    ]);
    // --version is answered there as after any command word (check --version, dkim show --version).
    const versions = await Promise.all([runCli(['dkim', '--version']), runCli(['report', '--version'])]);
    expect(versions.map((r) => [r.code, r.stderr, /^\d+\.\d+\.\d+\n$/.test(r.stdout)])).toEqual([
      [0, '', true],
      [0, '', true],
    ]);
  });

  it('refuses help for a subcommand that does not exist, and its list of subcommands is the one help shows', async () => {
    const unknown = await Promise.all([runCli(['dkim', 'nosuch', '--help']), runCli(['report', 'nosuch', 'help'])]);
    expect(unknown.map((r) => [r.code, r.stdout, r.stderr])).toEqual([
      [2, '', 'maildns: there is no command "dkim nosuch"; `maildns dkim --help` lists them\n'],
      [2, '', 'maildns: there is no command "report nosuch"; `maildns report --help` lists them\n'],
    ]);
    for (const name of ['dkim', 'report'] as const) {
      const help = await runCli([name, '--help']);
      const listed = [...help.stdout.matchAll(new RegExp(`^  maildns ${name} (\\S+)`, 'gm'))].map((m) => m[1]);
      expect(listed).toEqual(subcommandsOf(name));
    }
  });

  it('rejects an unknown option with one line and exit 2', async () => {
    const r = await runCli(['records', '--formt', 'zone']);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^maildns: Unknown argument: formt/);
  });

  it('rejects a value outside an option\'s choices with one line naming them, and exit 2', async () => {
    const r = await runCli(['check', 'example.com', '--transport', 'quic']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('maildns: Invalid values: Argument: transport, Given: "quic", Choices: "auto", "tcp", "udp" (see `maildns --help`)\n');
  });

  it('renders no help text when a command runs (yargs would cache it after the handler), only for --help', async () => {
    // Rendering help measures its text with string-width, whose stand-in in the bundle first tests
    // it for printable ASCII (scripts/bundle-plugins.mjs); this preload counts those tests.
    const probe = [
      "const test = RegExp.prototype.test; let n = 0; const ASCII = '^[\\\\x20-\\\\x7e]*$';",
      'RegExp.prototype.test = function (s) { if (this.source === ASCII) n++; return test.call(this, s); };',
      "process.on('exit', () => process.stderr.write(`text measured: ${n}\\n`));",
    ].join('\n');
    const env = preloadEnv(probe);
    const [run, help] = await Promise.all([runCli(['spf', 'compose', '--mx'], { env }), runCli(['spf', 'compose', '--help'], { env })]);
    expect(run.stdout).toBe('v=spf1 mx -all\n');
    expect(run.stderr).toBe('text measured: 0\n');
    expect(help.stdout).toMatch(/^maildns spf compose/);
    expect(help.stderr).not.toBe('text measured: 0\n');
  });
});

describe('maildns init', () => {
  it('writes a valid starter plan and refuses to overwrite it without --force', async () => {
    const dir = fresh();
    const first = await runCli(['init', 'example.com', '--ip4', '203.0.113.25', '--include', '_spf.relay.example.net', '--rua', 'dmarc@example.com'], { cwd: dir });
    expect(first.code).toBe(0);
    const written = readFileSync(path.join(dir, 'maildns.yaml'), 'utf8');
    expect(written).toMatch(/domain: example\.com/);
    writeFileSync(path.join(dir, 'maildns.yaml'), '# my edits\n' + written);
    const second = await runCli(['init', 'example.com'], { cwd: dir });
    expect(second.code).toBe(2);
    expect(second.stderr).toBe('maildns: maildns.yaml already exists; pass --force to replace it, or -o to write elsewhere\n');
    expect(readFileSync(path.join(dir, 'maildns.yaml'), 'utf8')).toMatch(/^# my edits/);
    expect((await runCli(['init', 'example.com', '--force'], { cwd: dir })).code).toBe(0);
    expect(readFileSync(path.join(dir, 'maildns.yaml'), 'utf8')).not.toMatch(/my edits/);
  });

  it('without --mx plans no placeholder MX host, so the fresh plan verifies without an error of its own making', async () => {
    const dir = fresh();
    expect((await runCli(['init', 'example.com'], { cwd: dir })).code).toBe(0);
    const written = readFileSync(path.join(dir, 'maildns.yaml'), 'utf8');
    expect(written).toMatch(/^ {4}# None yet \(`maildns init --mx HOST`\): list the domain's mail hosts before publishing, e\.g\.\n {4}# mx:\n {4}# {3}- host: mail\.example\.com$/m);
    // The mx mechanism with no MX hosts would match nothing.
    expect(written).toMatch(/^ {6}mx: false /m);
    expect((await runCli(['keygen'], { cwd: dir })).code).toBe(0);
    const child = spawn(process.execPath, [CLI, 'serve', '--port', '0', '--json'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      const { host, port } = await new Promise<{ host: string; port: number }>((resolve, reject) => {
        let out = '';
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          if (out.trim().endsWith('}')) resolve((JSON.parse(out) as { listening: { host: string; port: number } }).listening);
        });
        child.on('exit', (code) => reject(new Error(`serve exited early with ${code}`)));
      });
      const verify = await runCli(['verify', '--authoritative', `${host}:${port}`, '--nameserver', `${host}:${port}`, '--json'], { cwd: dir });
      const findings = (JSON.parse(verify.stdout) as { domains: { findings: { id: string; severity: string }[] }[] }).domains[0]!.findings;
      expect(findings.filter((f) => f.severity === 'error')).toEqual([]);
      expect(findings.map((f) => f.id)).not.toContain('spf.void-lookup');
      expect(verify.code).toBe(0);
    } finally {
      child.kill('SIGTERM');
    }
  });

  it('with --json, answers an error with a JSON object on stdout and the same exit code', async () => {
    const dir = fresh();
    expect((await runCli(['init', 'example.com'], { cwd: dir })).code).toBe(0);
    mkdirSync(path.join(dir, 'a-dir'));
    const runs = await Promise.all([
      runCli(['init', 'example.com', '--json'], { cwd: dir }),
      runCli(['init', 'exa mple.com', '-o', 'other.yaml', '--json'], { cwd: dir }),
      runCli(['init', 'example.com', '-o', 'a-dir', '--force', '--json'], { cwd: dir }),
    ]);
    expect(runs.map((r) => [r.code, r.stderr, JSON.parse(r.stdout)])).toEqual([
      [2, '', { domain: 'example.com', error: 'maildns.yaml already exists; pass --force to replace it, or -o to write elsewhere' }],
      [2, '', { domain: 'exa mple.com', error: expect.stringMatching(/^the sending domain "exa mple\.com" has a label with characters/) }],
      [2, '', { domain: 'example.com', error: 'a-dir: is a directory; give a file name' }],
    ]);
    // Without --json, the same error is one line on stderr.
    const plain = await runCli(['init', 'example.com'], { cwd: dir });
    expect([plain.code, plain.stdout, plain.stderr]).toEqual([2, '', 'maildns: maildns.yaml already exists; pass --force to replace it, or -o to write elsewhere\n']);
  });

  it('rejects a bad domain or address without writing anything', async () => {
    const dir = fresh();
    const [r, r2] = await Promise.all([runCli(['init', 'exa mple.com'], { cwd: dir }), runCli(['init', 'example.com', '--ip4', '2001:db8::1'], { cwd: dir })]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^maildns: the sending domain "exa mple.com" has a label with characters/);
    expect(r2.stderr).toMatch(/ip4: "2001:db8::1" is not an IPv4 address or network such as 192\.0\.2\.0\/24 \(it is IPv6\)/);
    expect(() => readFileSync(path.join(dir, 'maildns.yaml'))).toThrow();
  });
});

describe('maildns records', () => {
  it('prints zone, mydns and json output for a plan', async () => {
    const dir = fresh();
    await runCli(['init', 'example.com', '--ip4', '203.0.113.25', '--dmarc-policy', 'reject'], { cwd: dir });
    const [zone, mydns, jsonRun] = await Promise.all([
      runCli(['records'], { cwd: dir }),
      runCli(['records', '--format', 'mydns', '--tsv'], { cwd: dir }),
      runCli(['records', '-f', 'json'], { cwd: dir }),
    ]);
    expect(zone.code).toBe(0);
    expect(zone.stdout).toMatch(/_dmarc\s+IN TXT\s+"v=DMARC1; p=reject; np=reject"/);
    expect(zone.stderr).toMatch(/note: DKIM selector "mail" has no key yet/);
    expect(mydns.stdout).toContain('_dmarc\tTXT\t\tv=DMARC1; p=reject; np=reject\n');
    const json = JSON.parse(jsonRun.stdout) as { domains: { records: { type: string }[] }[] };
    expect(json.domains[0]!.records.map((r) => r.type)).toEqual(['TXT', 'TXT']);
  });

  it('takes --json like every command, and refuses flags the format has no use for', async () => {
    const dir = fresh();
    const init = await runCli(['init', 'example.com', '--ip4', '203.0.113.25', '--json'], { cwd: dir });
    expect(init.code).toBe(0);
    expect(JSON.parse(init.stdout)).toMatchObject({ wrote: 'maildns.yaml', domain: 'example.com' });
    const [json, jsonTwice, zoneAndJson] = await Promise.all([
      runCli(['records', '--json'], { cwd: dir }),
      runCli(['records', '--json', '--format', 'json'], { cwd: dir }),
      runCli(['records', '--json', '--format', 'zone'], { cwd: dir }),
    ]);
    expect(json.code).toBe(0);
    expect(json.stdout).toBe((await runCli(['records', '--format', 'json'], { cwd: dir })).stdout);
    expect(jsonTwice.stdout).toBe(json.stdout);
    // zone is the default, but written out it contradicts --json (it had been dropped for json).
    expect(zoneAndJson.code).toBe(2);
    expect(zoneAndJson.stdout).toBe('');
    expect(zoneAndJson.stderr).toBe('maildns: --json and --format zone do not go together; give one of them (see `maildns --help`)\n');
    const tsv = await runCli(['records', '--tsv'], { cwd: dir });
    expect(tsv.code).toBe(2);
    expect(tsv.stderr).toBe('maildns: --tsv goes with --format mydns (the zone and JSON formats have no tab-separated form)\n');
    const full = await runCli(['records', '--format', 'mydns', '--full-zone'], { cwd: dir });
    expect(full.code).toBe(2);
    expect(full.stderr).toMatch(/--full-zone goes with --format zone/);
  });

  it('names the file and line of a plan error and exits 2', async () => {
    const dir = fresh();
    writeFileSync(path.join(dir, 'maildns.yaml'), 'domains:\n  - domain: example.com\n    dmarc:\n      p: quarantin\n');
    const r = await runCli(['records'], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('maildns: maildns.yaml:4: domains[0].dmarc.p must be one of none, quarantine, reject (got "quarantin")\n');
    expect(r.stdout).toBe('');
  });
});

describe('maildns serve', () => {
  it('serves the plan until SIGTERM, answering dig over UDP and TCP', async () => {
    const dir = fresh();
    await runCli(['init', 'example.com', '--ip4', '203.0.113.25', '--rua', 'dmarc@example.com'], { cwd: dir });
    const child = spawn(process.execPath, [CLI, 'serve', '--port', '0', '--json'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    const started = await new Promise<{ listening: { host: string; port: number } }>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.trim().endsWith('}')) resolve(JSON.parse(out));
      });
      child.on('exit', (code) => reject(new Error(`serve exited early with ${code}`)));
    });
    const { host, port } = started.listening;
    const udp = await run(DIG, [`@${host}`, '-p', String(port), '+short', 'TXT', '_dmarc.example.com']);
    expect(udp.stdout).toBe('"v=DMARC1; p=none; np=reject; rua=mailto:dmarc@example.com"\n');
    const tcp = await run(DIG, [`@${host}`, '-p', String(port), '+tcp', '+short', 'TXT', 'example.com']);
    expect(tcp.stdout).toBe('"v=spf1 ip4:203.0.113.25 -all"\n');
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });

  it('explains a port that is taken', async () => {
    const dir = fresh();
    await runCli(['init', 'example.com'], { cwd: dir });
    const blocker = spawn(process.execPath, [CLI, 'serve', '--port', '0', '--json'], { cwd: dir, stdio: ['ignore', 'pipe', 'ignore'] });
    const port = await new Promise<number>((resolve) => {
      let out = '';
      blocker.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.trim().endsWith('}')) resolve((JSON.parse(out) as { listening: { port: number } }).listening.port);
      });
    });
    const r = await runCli(['serve', '--port', String(port)], { cwd: dir });
    blocker.kill('SIGTERM');
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`maildns: cannot listen on 127.0.0.1:${port}: the port is already in use; pick another with --port\n`);
  });
});
