/**
 * The stand-ins scripts/bundle-plugins.mjs gives yargs in the CLI's bundle, as yargs gets them:
 * its platform shim (which imports node:assert, string-width and escalade) bundled with the plugins
 * by esbuild, as scripts/bundle-cli.mjs bundles the CLI, and run. Each answers as the module it
 * stands for would, and the real string-width is evaluated only for text beyond printable ASCII.
 */
import { build } from 'esbuild';
import { strict as realAssert } from 'node:assert';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import stringWidth from 'string-width';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lazyAssert, lazyStringWidth, noFindUp } from '../../scripts/bundle-plugins.mjs';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SHIM = 'node_modules/yargs/lib/platform-shims/esm.mjs';

interface Shim {
  assert: { notStrictEqual(a: unknown, b: unknown, m?: string): void; strictEqual(a: unknown, b: unknown, m?: string): void };
  stringWidth(text: string): number;
  findUp(dir: string, test: unknown): string | undefined;
}

let shim: Shim;
let segmenters = 0;
const RealSegmenter = Intl.Segmenter;

beforeAll(async () => {
  // Counts the segmenters made from here on: the real string-width makes one as it is evaluated.
  (Intl as { Segmenter: unknown }).Segmenter = function (...args: ConstructorParameters<typeof Intl.Segmenter>) {
    segmenters++;
    return new RealSegmenter(...args);
  };
  const out = await build({
    absWorkingDir: ROOT,
    entryPoints: [SHIM],
    bundle: true,
    format: 'cjs',
    platform: 'node',
    target: 'node20',
    write: false,
    define: { 'import.meta.url': '__scriptUrl' },
    plugins: [lazyStringWidth, lazyAssert, noFindUp],
    logLevel: 'silent',
  });
  const file = path.join(ROOT, SHIM);
  const module = { exports: {} as { default: Shim } };
  new Function('require', 'module', 'exports', '__filename', '__dirname', '__scriptUrl', out.outputFiles[0]!.text)(createRequire(file), module, module.exports, file, path.dirname(file), pathToFileURL(file).href);
  shim = module.exports.default;
});
afterAll(() => {
  (Intl as { Segmenter: unknown }).Segmenter = RealSegmenter;
});

describe('the stand-ins yargs gets in the bundle', () => {
  it('string-width: printable ASCII is its length, answered without the real module', () => {
    for (const text of ['', 'a', '  -h, --help   Show help   [boolean]', '~!@#$%^&*()_+{}|:"<>?`-=[]\\;\',./']) expect(shim.stringWidth(text), text).toBe(text.length);
    expect(segmenters).toBe(0);
  });

  it('string-width: anything else is the real module\'s answer (wide, combining, escapes, controls, DEL)', () => {
    const texts = ['日本語', 'e\u0301', '\u001b[31mred\u001b[39m', '👍 ok', 'tab\there', 'del\u007f', 'naïve'];
    expect(texts.map((t) => shim.stringWidth(t))).toEqual(texts.map((t) => stringWidth(t)));
    expect(segmenters).toBeGreaterThan(0);
  });

  it('assert: the same verdicts as node:assert, by Object.is, and an error of its name and code', () => {
    const pairs: [unknown, unknown][] = [[undefined, undefined], [1, 2], [NaN, NaN], [0, -0], ['a', 'a'], [{}, {}], [null, undefined]];
    const verdict = (f: () => void): string => {
      try {
        f();
        return 'passes';
      } catch (err) {
        return `${(err as Error).name} ${(err as { code?: string }).code}`;
      }
    };
    for (const [a, b] of pairs) {
      expect(verdict(() => shim.assert.strictEqual(a, b)), `strictEqual ${String(a)} ${String(b)}`).toBe(verdict(() => realAssert.strictEqual(a, b)));
      expect(verdict(() => shim.assert.notStrictEqual(a, b)), `notStrictEqual ${String(a)} ${String(b)}`).toBe(verdict(() => realAssert.notStrictEqual(a, b)));
    }
    expect(() => shim.assert.strictEqual('string', 'number', 'typeof')).toThrow('typeof');
  });

  it('escalade: finds no package.json, so yargs looks up no directory', () => {
    expect(shim.findUp(ROOT, () => 'package.json')).toBeUndefined();
  });
});
