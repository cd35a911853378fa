/**
 * maildns used as a library the way a user installs it: a project of its own with maildns in
 * node_modules, importing from 'maildns' (package.json "exports" and "types"). It runs the
 * README's example, examples/library/check-domain.mjs, which checks SPF and DMARC against the
 * embedded server, and type-checks a TypeScript consumer against the published declarations.
 */
import { describe, expect, it, beforeAll, afterAll } from 'vitest';
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, '../../..');
let project: string;

beforeAll(() => {
  project = mkdtempSync(path.join(tmpdir(), 'maildns-consumer-'));
  writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  mkdirSync(path.join(project, 'node_modules'));
  // What `npm install maildns` leaves: the package under node_modules (here a link to this checkout, built by npm test).
  symlinkSync(ROOT, path.join(project, 'node_modules', 'maildns'), 'dir');
  copyFileSync(path.join(ROOT, 'examples/library/check-domain.mjs'), path.join(project, 'check-domain.mjs'));
});
afterAll(() => rmSync(project, { recursive: true, force: true }));

describe("import … from 'maildns'", () => {
  it('runs the README example: SPF and DMARC checked against the embedded server', async () => {
    const { stdout } = await run(process.execPath, ['check-domain.mjs'], { cwd: project, timeout: 20_000 });
    expect(JSON.parse(stdout)).toEqual({
      spf: { record: 'v=spf1 ip4:192.0.2.25 include:_spf.example.net -all', lookups: 1 },
      dmarc: { policy: 'reject' },
      ok: true,
    });
  });

  it("the run history has an entry of its own, 'maildns/history', which 'maildns' never loads", async () => {
    writeFileSync(
      path.join(project, 'history.mjs'),
      [
        "import { mkdtempSync } from 'node:fs';",
        "import { tmpdir } from 'node:os';",
        "import path from 'node:path';",
        "import { shardOf } from 'maildns';",
        "const { default: Module } = await import('node:module');",
        "const sqliteLoaded = () => Object.keys(Module._cache).some((k) => k.includes('better-sqlite3'));",
        'const loadedBefore = sqliteLoaded();',
        "const { startRun, readHistory } = await import('maildns/history');",
        'const loadedAfter = sqliteLoaded();',
        "const file = path.join(mkdtempSync(path.join(tmpdir(), 'maildns-lib-')), 'h.db');",
        "const run = startRun(file, { failOn: 'error', selectors: [] });",
        "const r = { domain: 'example.com', status: 'pass', spf: { published: null, dnsFailed: false }, dmarc: { published: null, dnsFailed: false }, mx: { published: null, dnsFailed: false }, dkim: [], findings: [], ms: 1 };",
        'run.record(r);',
        "run.finish({ domains: 1, pass: 1, fail: 0, dnsError: 0, errors: 0, warnings: 0, infos: 0, ms: 1, outcome: 'ok' });",
        'const h = readHistory(file);',
        "console.log(JSON.stringify({ loadedBefore, loadedAfter, runs: h.runs.length, shard: shardOf('example.com', 7) }));",
      ].join('\n'),
    );
    const { stdout } = await run(process.execPath, ['history.mjs'], { cwd: project, timeout: 20_000 });
    expect(JSON.parse(stdout)).toEqual({ loadedBefore: false, loadedAfter: true, runs: 1, shard: 6 });
  });

  it('exports only what package.json names: deep imports are closed', async () => {
    writeFileSync(path.join(project, 'deep.mjs'), "await import('maildns/dist/src/spf/parse.js');\n");
    await expect(run(process.execPath, ['deep.mjs'], { cwd: project })).rejects.toMatchObject({ stderr: expect.stringMatching(/ERR_PACKAGE_PATH_NOT_EXPORTED/) });
  });

  it('type-checks a TypeScript consumer against the declarations', async () => {
    writeFileSync(
      path.join(project, 'consumer.ts'),
      [
        "import { createResolver, validateSpf, checkDmarcDomain, InputError, type Finding, type SpfReport } from 'maildns';",
        'const resolver = createResolver({ nameserver: "127.0.0.1:53" });',
        "const report: Promise<SpfReport> = validateSpf(resolver, 'example.com');",
        "const codes = async (): Promise<string[]> => (await checkDmarcDomain(resolver, 'example.com')).findings.map((f: Finding) => f.code);",
        "const wrong: number = (await report).domain; // the declarations are real: a string is not a number",
        'export { codes, InputError, wrong };',
      ].join('\n'),
    );
    const tsc = path.join(ROOT, 'node_modules/typescript/bin/tsc');
    const args = ['--noEmit', '--strict', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022', '--skipLibCheck', '--types', 'node', '--typeRoots', path.join(ROOT, 'node_modules/@types'), 'consumer.ts'];
    const failure = await run(process.execPath, [tsc, ...args], { cwd: project }).then(() => null, (e: { stdout: string }) => e.stdout);
    // Exactly the one planted mistake is reported: everything else resolved and type-checked.
    expect(failure).toMatch(/consumer\.ts\(5,7\): error TS2322: Type 'string' is not assignable to type 'number'/);
    expect(failure!.trim().split('\n')).toHaveLength(1);
  });
});
