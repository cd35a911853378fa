// The esbuild plugins of the CLI's bundle (scripts/bundle-cli.mjs): stand-ins for what yargs
// loads at every start and uses rarely or never. Their own module, so that test/unit/bundle-plugins.test.ts
// can bundle with them.
import path from 'node:path';

/**
 * string-width (three copies: yargs', cliui's and wrap-ansi's) builds an Intl.Segmenter and
 * Unicode property regexps as it is imported, 15-20 ms of every start, though yargs measures text
 * only to lay out --help. Each import of it gets a stand-in that requires the real module, bundled
 * as it is, on the first call; esbuild evaluates a required module when it is first required.
 * Printable ASCII is one column a character in every copy, and it is all maildns' help is made of:
 * the stand-in answers that itself (wrap-ansi measures a help word by word and letter by letter,
 * half of `check --help`'s time), and hands anything else (escapes, wide or combining characters)
 * to the real one.
 */
export const lazyStringWidth = {
  name: 'lazy-string-width',
  setup(build) {
    build.onResolve({ filter: /^string-width$/ }, async (args) => {
      if (args.pluginData === 'real') return undefined; // the resolve below: esbuild's own
      const real = await build.resolve(args.path, { kind: args.kind, importer: args.importer, resolveDir: args.resolveDir, pluginData: 'real' });
      return real.errors.length ? { errors: real.errors } : { path: real.path, namespace: 'lazy-string-width' };
    });
    build.onLoad({ filter: /.*/, namespace: 'lazy-string-width' }, (args) => ({
      contents: `let real; const PRINTABLE_ASCII = /^[\\x20-\\x7e]*$/; export default function stringWidth(text, options) { return typeof text === 'string' && PRINTABLE_ASCII.test(text) ? text.length : (real ??= require(${JSON.stringify(args.path)}).default)(text, options); }`,
      resolveDir: path.dirname(args.path),
    }));
  },
};

/**
 * yargs' platform shim imports node:assert for checks of its own, and node:assert loads a dozen of
 * Node's modules (about 14 million instructions, 3-4 ms of each start that parses a command line).
 * One of those checks fails on every run, by design: with no package.json found (noFindUp below)
 * yargs throws and catches an assertion error. The stand-in makes the same comparisons and throws
 * an error shaped as node:assert's (name AssertionError, code ERR_ASSERTION) without loading it.
 */
export const lazyAssert = {
  name: 'lazy-assert',
  setup(build) {
    build.onResolve({ filter: /^assert$/ }, (args) => (/[\\/]node_modules[\\/]yargs[\\/]/.test(args.importer) ? { path: 'assert', namespace: 'lazy-assert' } : undefined));
    build.onLoad({ filter: /.*/, namespace: 'lazy-assert' }, () => ({
      contents: [
        'function failed(message, actual, expected, operator) {',
        '  const err = new Error(message ?? `Expected ${String(actual)} ${operator} ${String(expected)}`);',
        "  return Object.assign(err, { name: 'AssertionError', code: 'ERR_ASSERTION', actual, expected, operator });",
        '}',
        "export function notStrictEqual(actual, expected, message) { if (Object.is(actual, expected)) throw failed(message, actual, expected, 'notStrictEqual'); }",
        "export function strictEqual(actual, expected, message) { if (!Object.is(actual, expected)) throw failed(message, actual, expected, 'strictEqual'); }",
      ].join('\n'),
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
export const noFindUp = {
  name: 'no-find-up',
  setup(build) {
    build.onResolve({ filter: /^escalade\/sync$/ }, () => ({ path: 'escalade/sync', namespace: 'no-find-up' }));
    build.onLoad({ filter: /.*/, namespace: 'no-find-up' }, () => ({ contents: 'export default function findUp() { return undefined; }' }));
  },
};
