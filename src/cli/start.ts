#!/usr/bin/env node
/**
 * The `maildns` command (package.json's bin): runs the CLI bundle, dist/cli/maildns.cjs, compiled
 * from the code cache beside it when V8 takes it. Compiling the CLI from source was about 40% of
 * the instructions a one-domain check adds to Node's own start (scripts/bundle-cli.mjs has the
 * figures); from the cache V8 reads the bytecode of the functions a check runs instead. A cache V8 refuses (another Node, other V8 flags), one
 * made for another bundle, or one damaged since it was written is left unused: the bundle is then
 * compiled as any script is. The cache leads with two CRC-32s, the bundle's and its own V8 data's:
 * a release V8 checks only the length of a cache's data, not its bytes (--verify-snapshot-checksum
 * is off), and deserializing damaged bytecode crashes the process (SIGSEGV) on every start.
 */
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Script } from 'node:vm';
import * as zlib from 'node:zlib';
import { stopQuietlyWhenStdoutCloses } from './closed-pipe.js';
import { BUNDLE_FILE, CODE_CACHE_FILE, CODE_CACHE_OUT } from './code-cache.js';
import { asksVersionOnly, packageVersion } from './version.js';

const dir = path.dirname(fileURLToPath(import.meta.url));

/** The cache's V8 data when it was made for the script whose CRC-32 is `sourceCrc`, else undefined. */
function cacheFor(sourceCrc: number | undefined): Buffer | undefined {
  if (sourceCrc === undefined || process.env[CODE_CACHE_OUT] !== undefined) return undefined;
  let file: Buffer;
  try {
    file = readFileSync(path.join(dir, CODE_CACHE_FILE));
  } catch {
    return undefined;
  }
  if (file.length <= 8 || file.readUInt32BE(0) !== sourceCrc) return undefined;
  const data = file.subarray(8);
  return file.readUInt32BE(4) === zlib.crc32(data) ? data : undefined;
}

/** Runs the CLI's script (from its cache when V8 takes it), and writes the cache when asked to. */
function runScript(): void {
  const bundle = path.join(dir, BUNDLE_FILE);
  const bytes = readFileSync(bundle);
  const source = bytes.toString('utf8');
  // zlib.crc32 came with Node 20.15; an older Node runs without the cache.
  const sourceCrc = typeof zlib.crc32 === 'function' ? zlib.crc32(bytes) : undefined;
  // Node's own wrapper of a CommonJS module: the bundle is one (esbuild's cjs format).
  const script = new Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, { filename: bundle, cachedData: cacheFor(sourceCrc) });

  const out = process.env[CODE_CACHE_OUT];
  if (out !== undefined && sourceCrc !== undefined) {
    // At exit, with every function the run compiled; written whole or not at all.
    process.on('exit', () => {
      const data = script.createCachedData();
      const head = Buffer.alloc(8);
      head.writeUInt32BE(sourceCrc, 0);
      head.writeUInt32BE(zlib.crc32(data), 4);
      const partial = `${out}.${process.pid}.partial`;
      try {
        writeFileSync(partial, Buffer.concat([head, data]), { mode: 0o644 });
        renameSync(partial, out);
      } catch (err) {
        rmSync(partial, { force: true });
        process.stderr.write(`maildns: the code cache was not written to ${out}: ${(err as Error).message}\n`);
      }
    });
  }

  const module = { exports: {} };
  (script.runInThisContext() as (...args: unknown[]) => void).call(module.exports, module.exports, createRequire(bundle), module, bundle, dir);
}

// The version alone needs neither the script nor its cache (reading those is most of a start's work).
if (asksVersionOnly(process.argv.slice(2))) {
  stopQuietlyWhenStdoutCloses();
  process.stdout.write(`${packageVersion()}\n`);
} else runScript();
