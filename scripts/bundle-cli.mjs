// Bundles the compiled CLI (dist/src/cli/main.js, which tsc has type-checked) into one script,
// dist/cli/maildns.cjs, and writes V8's code cache for it; dist/cli/main.js (src/cli/start.ts), the
// `maildns` command, runs the script from that cache.
//
// Why: Node loads an ES module graph file by file, and the CLI's had been about 150 files before a
// check's first DNS question (40-50 ms of every start), then still 53 chunks once bundled with
// esbuild's code splitting; and every start compiled what it ran from source, about 40% of the
// instructions a one-domain check added to Node's own start (callgrind). One script compiled from
// its cache does neither: V8 reads the bytecode of what a check runs and leaves the rest of the
// script unread until it is called. The commands' code stays lazy: esbuild turns the dynamic
// imports of src/cli/registry.ts into functions that evaluate a module when it is first imported.
// A one-domain check against Knot: 922 million instructions from the 53 chunks, 738 million from
// the script and its cache, where `node -e 0` takes 505 million (callgrind, all threads).
//
// The cache is made here by a warm-up check of the example plan's domains against the embedded DNS
// server, with MAILDNS_CODE_CACHE_OUT set (src/cli/code-cache.ts): as that run exits, src/cli/start.ts
// writes the bytecode of every function it compiled. A cache V8 refuses (another Node version,
// other V8 flags) only costs the compile.
//
// Left out of the bundle: the library entry (dist/src/index.js, unbundled for programs that import
// it), native better-sqlite3, mailauth (loaded only to sign and verify messages), yaml and dns2,
// which the script requires from node_modules when it first needs them.
import { build } from 'esbuild';
import { lazyAssert, lazyStringWidth, noFindUp } from './bundle-plugins.mjs';
import { execFile } from 'node:child_process';
import { chmod, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BUNDLE_FILE, CODE_CACHE_FILE, CODE_CACHE_OUT } from '../dist/src/cli/code-cache.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const outdir = path.join(root, 'dist/cli');
const bundleFile = path.join(outdir, BUNDLE_FILE);
const cacheFile = path.join(outdir, CODE_CACHE_FILE);

await rm(outdir, { recursive: true, force: true });
await build({
  absWorkingDir: root,
  entryPoints: ['dist/src/cli/main.js'],
  outfile: bundleFile,
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  external: ['better-sqlite3', 'mailauth', 'yaml', 'dns2'],
  // The modules are strict as ES modules; the script is made so as well. import.meta.url (the
  // version's package.json search, dns2's require) is the script's own URL.
  banner: { js: '"use strict";\nconst __maildnsScriptUrl = require("node:url").pathToFileURL(__filename).href;' },
  define: { 'import.meta.url': '__maildnsScriptUrl' },
  // vm.Script (src/cli/start.ts) cannot run import(): esbuild writes one of an external module as
  // a require() instead (test/integration/cli/cli.test.ts holds the script to having none).
  supported: { 'dynamic-import': false },
  plugins: [lazyStringWidth, lazyAssert, noFindUp],
  logLevel: 'warning',
});

await build({
  absWorkingDir: root,
  entryPoints: ['dist/src/cli/start.js'],
  outfile: path.join(outdir, 'main.js'),
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  logLevel: 'warning',
});
await chmod(path.join(outdir, 'main.js'), 0o755);

/** The warm-up: a check of the example plan's domains, served by the embedded DNS server. */
async function writeCodeCache() {
  const { loadPlan } = await import(path.join(root, 'dist/src/plan/load.js'));
  const { composePlan } = await import(path.join(root, 'dist/src/plan/records.js'));
  const { startServer } = await import(path.join(root, 'dist/src/dns/server.js'));
  const plan = loadPlan(path.join(root, 'examples/maildns.yaml'));
  // The plan includes its smarthost provider's SPF (_spf.relay.example.net): served too, so that the
  // warm-up walks an include and its domain checks out, as a user's usually does.
  const relay = { name: '_spf.relay.example.net', type: 'TXT', ttl: 3600, value: 'v=spf1 ip4:198.51.100.0/24 -all' };
  const records = [...composePlan(plan).flatMap((c) => c.records), relay];
  const server = await startServer({ records, zones: [...plan.domains.map((d) => d.domain), 'relay.example.net'] });
  const scratch = await mkdtemp(path.join(tmpdir(), 'maildns-build-'));
  try {
    const list = path.join(scratch, 'domains.txt');
    await writeFile(list, plan.domains.map((d) => `${d.domain}\n`).join(''));
    const args = [path.join(outdir, 'main.js'), 'check', '--domains-file', list, '--nameserver', `${server.host}:${server.port}`, '--format', 'json', '-o', path.join(scratch, 'report.json')];
    // V8 takes a cache only under the V8 flags it was made with, and users run maildns with none:
    // a build under NODE_OPTIONS=--max-old-space-size=… (common in CI) would otherwise ship a cache
    // that every start refuses. NODE_OPTIONS goes, V8 flag or not (the warm-up needs none of it).
    const { NODE_OPTIONS: _, ...env } = process.env;
    let pid;
    const code = await new Promise((resolve) => {
      pid = execFile(process.execPath, args, { env: { ...env, [CODE_CACHE_OUT]: cacheFile }, timeout: 120_000 }, (err) => resolve(err ? err.code ?? err.signal : 0)).pid;
    });
    // 0 or 1 (findings): a check that ran. Anything else is no run to learn a check's code from, and
    // a run stopped as it wrote the cache may leave its partial file (src/cli/start.ts names it).
    if (code !== 0 && code !== 1) {
      await Promise.all([rm(cacheFile, { force: true }), rm(`${cacheFile}.${pid}.partial`, { force: true })]);
      throw new Error(`the warm-up check exited ${code}`);
    }
    const { size } = await stat(cacheFile);
    process.stdout.write(`${path.relative(root, cacheFile)}: ${Math.round(size / 1024)} KB, from a check of ${plan.domains.length} domain${plan.domains.length === 1 ? "" : "s"}\n`);
  } finally {
    await rm(scratch, { recursive: true, force: true });
    await server.close();
  }
}

// Without a cache maildns only compiles from source, as any script is; say so, and go on.
await writeCodeCache().catch((err) => process.stderr.write(`bundle-cli: no code cache written (${err.message}); maildns will compile its script at every start\n`));
