// Bundles the compiled CLI (dist/src/cli/main.js, which tsc has type-checked) into dist/cli/: the
// `maildns` command users run. Node loads an ES module graph file by file; the CLI's is about 70
// modules of ours and 80 of yargs and its helpers before the first DNS question, which cost
// 40-50 ms of every start. Bundled, it is one file, and each command's own code a chunk loaded when
// that command runs (the dynamic imports of src/cli/registry.ts), so laziness is kept.
// Left out: the library entry (dist/src/index.js, unbundled for programs that import it), native
// better-sqlite3, mailauth (loaded only to sign and verify messages), yaml (its build for Node is
// CommonJS, which requires Node's modules in a way an ES module bundle cannot), and dns2, which the
// code requires at run time (src/dns/packet.ts). A test holds the
// bundle to requiring nothing itself.
import { build } from 'esbuild';
import { chmod, rm } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * string-width (three copies: yargs', cliui's and wrap-ansi's) builds an Intl.Segmenter and
 * Unicode property regexps as it is imported, 15-20 ms of every start, though yargs measures text
 * only to lay out --help. Each import of it gets a stand-in that requires the real module, bundled
 * as it is, on the first call; esbuild evaluates a required module when it is first required.
 */
const lazyStringWidth = {
  name: 'lazy-string-width',
  setup(build) {
    build.onResolve({ filter: /^string-width$/ }, async (args) => {
      if (args.pluginData === 'real') return undefined; // the resolve below: esbuild's own
      const real = await build.resolve(args.path, { kind: args.kind, importer: args.importer, resolveDir: args.resolveDir, pluginData: 'real' });
      return real.errors.length ? { errors: real.errors } : { path: real.path, namespace: 'lazy-string-width' };
    });
    build.onLoad({ filter: /.*/, namespace: 'lazy-string-width' }, (args) => ({
      contents: `let real; export default function stringWidth(text, options) { return (real ??= require(${JSON.stringify(args.path)}).default)(text, options); }`,
      resolveDir: path.dirname(args.path),
    }));
  },
};

/**
 * yargs guesses a version as it is made, from the nearest package.json above the working directory
 * (its bundled copy cannot see where it is installed), reading every directory on the way up with
 * escalade: 5-8 ms in a full directory such as /tmp, on every start, for a guess that
 * `.version(packageVersion())` in src/cli/main.ts then replaces. Nothing else in yargs looks up
 * files (pkgConf, its other user, is not called), so its file finder finds nothing here; yargs
 * reads that as no package.json.
 */
const noFindUp = {
  name: 'no-find-up',
  setup(build) {
    build.onResolve({ filter: /^escalade\/sync$/ }, () => ({ path: 'escalade/sync', namespace: 'no-find-up' }));
    build.onLoad({ filter: /.*/, namespace: 'no-find-up' }, () => ({ contents: 'export default function findUp() { return undefined; }' }));
  },
};

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const outdir = path.join(root, 'dist/cli');

await rm(outdir, { recursive: true, force: true });
await build({
  absWorkingDir: root,
  entryPoints: { main: 'dist/src/cli/main.js' },
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external: ['better-sqlite3', 'mailauth', 'yaml', 'dns2'],
  plugins: [lazyStringWidth, noFindUp],
  logLevel: 'warning',
});
await chmod(path.join(outdir, 'main.js'), 0o755);
