// Bundles the compiled CLI (dist/src/cli/main.js, which tsc has type-checked) into dist/cli/: the
// `maildns` command users run. Node loads an ES module graph file by file; the CLI's is about 70
// modules of ours and 80 of yargs and its helpers before the first DNS question, which cost
// 40-50 ms of every start. Bundled, it is one file, and each command's own code a chunk loaded when
// that command runs (the dynamic imports of src/cli/registry.ts), so laziness is kept.
// Left out: the library entry (dist/src/index.js, unbundled for programs that import it), native
// better-sqlite3, mailauth (loaded only to sign and verify messages), yaml (its build for Node is
// CommonJS, which requires Node's modules in a way an ES module bundle cannot), and dns2 and tldts,
// which the code requires at run time (src/dns/packet.ts, src/dmarc/align.ts). A test holds the
// bundle to requiring nothing itself.
import { build } from 'esbuild';
import { chmod, rm } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

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
  external: ['better-sqlite3', 'mailauth', 'yaml', 'dns2', 'tldts'],
  logLevel: 'warning',
});
await chmod(path.join(outdir, 'main.js'), 0o755);
