/**
 * The layering the code keeps: the engines never import the command line, and the command line's
 * start-up path (main.ts and every command module, all loaded for `--help`) imports no engine
 * package statically; the engines are imported when a command runs. The default `check` loads only
 * what every run needs: the TLS, HTTPS, DNSSEC, reverse DNS, history and HTML parts load with their options.
 */
import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '../../..');

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) return tsFiles(p);
    return p.endsWith('.ts') && !p.endsWith('.d.ts') ? [p] : [];
  });
}

/** Specifiers a module imports when it loads: `import … from`, `export … from` and bare `import '…'`, not `import type` nor `import()`. */
function staticImports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const out: string[] = [];
  const re = /^\s*(import|export)\s+(type\s+)?(?:[^'";]*?\s+from\s+)?'([^']+)'/gm;
  for (const m of text.matchAll(re)) {
    if (m[2]) continue; // type-only: erased
    out.push(m[3]!);
  }
  return out;
}

function resolveTs(from: string, spec: string): string | null {
  if (!spec.startsWith('.')) return null;
  return path.resolve(path.dirname(from), spec).replace(/\.js$/, '.ts');
}

describe('layering', () => {
  it('the scanner sees static imports and skips type-only and dynamic ones', () => {
    const file = path.join(ROOT, 'src/cli/commands/spf.ts');
    const specs = staticImports(file);
    expect(specs).toContain('./common.js');
    expect(specs).not.toContain('../../spf/validate.js'); // imported when the command runs
    expect(readFileSync(file, 'utf8')).toContain("import('../../spf/validate.js')");
  });

  it('the history database is opened in one module only, and the browser driver only by tests', () => {
    const users = (pkg: string): string[] =>
      ['src', 'providers', 'bench'].flatMap((dir) => tsFiles(path.join(ROOT, dir))).filter((f) => staticImports(f).includes(pkg)).map((f) => path.relative(ROOT, f));
    expect(users('better-sqlite3')).toEqual(['src/history/db.ts']);
    expect(users('playwright-core')).toEqual([]);
  });

  it('nothing outside src/cli imports from src/cli', () => {
    const cli = path.join(ROOT, 'src/cli') + path.sep;
    const offenders: string[] = [];
    for (const dir of ['src', 'providers', 'bench']) {
      for (const file of tsFiles(path.join(ROOT, dir))) {
        if (file.startsWith(cli)) continue;
        const text = readFileSync(file, 'utf8');
        for (const m of text.matchAll(/(?:from\s+|import\s*\(?\s*)'([^']+)'/g)) {
          const target = resolveTs(file, m[1]!);
          if (target?.startsWith(cli)) offenders.push(`${path.relative(ROOT, file)} -> ${m[1]}`);
        }
      }
    }
    expect(offenders).toEqual([]);
  });

  it('starting the CLI loads no engine package: mailauth, dns2, yaml, tldts and better-sqlite3 load only when a command needs them', () => {
    const heavy = new Set(['mailauth', 'dns2', 'yaml', 'tldts', 'better-sqlite3']);
    // Files that load one of them with require (by path, or to skip Node's ESM scan of a CJS package).
    const requiring = new Set(['src/dns/packet.ts', 'src/dmarc/align.ts']);
    const seen = new Set<string>();
    const chains: string[] = [];
    const visit = (file: string, chain: string[]): void => {
      if (seen.has(file)) return;
      seen.add(file);
      if (requiring.has(path.relative(ROOT, file))) chains.push([...chain, path.relative(ROOT, file)].join(' -> '));
      for (const spec of staticImports(file)) {
        const pkg = spec.startsWith('.') ? null : spec.split('/')[0]!;
        if (pkg && heavy.has(pkg)) chains.push([...chain, path.relative(ROOT, file), spec].join(' -> '));
        const next = resolveTs(file, spec);
        if (next) visit(next, [...chain, path.relative(ROOT, file)]);
      }
    };
    const main = path.join(ROOT, 'src/cli/main.ts');
    visit(main, []);
    for (const file of tsFiles(path.join(ROOT, 'src/cli/commands'))) visit(file, []);
    expect(chains).toEqual([]);
    // The walk did reach the command modules and their light helpers.
    expect([...seen].map((f) => path.relative(ROOT, f))).toEqual(expect.arrayContaining(['src/cli/commands/common.ts', 'src/plan/types.ts', 'src/cli/commands/history.ts', 'src/cli/commands/report.ts']));
  });

  it('the default check (no --tls, --mta-sts-policy, --rdns, --dnssec, --history, --profile, html) loads no TLS or HTTPS client, STARTTLS, DNSSEC, reverse DNS, history, the HTML reporter nor the report reader (and readline), nor tldts (a development dependency: src/psl.ts reads the list)', () => {
    // What check's handler imports on that path; the assertion below keeps this list honest.
    const entries = ['src/cli/main.ts', 'src/cli/commands/check.ts', 'src/check/input.ts', 'src/check/run.ts', 'src/cli/render/progress.ts', 'src/check/shard.ts', 'src/dns/resolver.ts', 'src/cli/check-report.ts'];
    const handler = readFileSync(path.join(ROOT, 'src/cli/commands/check.ts'), 'utf8') + readFileSync(path.join(ROOT, 'src/cli/commands/common.ts'), 'utf8');
    for (const e of entries.slice(2)) expect(handler).toContain(`import('${path.relative(path.join(ROOT, 'src/cli/commands'), path.join(ROOT, e)).replace(/\.ts$/, '.js')}')`);
    // src/starttls/defaults.ts imports nothing: --help shows the STARTTLS default from it.
    const lazy = [/^node:(tls|https|http2|http)$/, /^tldts$/, /^src\/starttls\/(?!defaults\.ts$)/, /^src\/dnssec\//, /^src\/rdns\/evaluate\.ts$/, /^src\/mtasts\/fetch\.ts$/, /^src\/history\//, /^src\/cli\/render\/(html|changes)\.ts$/, /^src\/report\/format\.ts$/, /^node:readline$/];
    const seen = new Set<string>();
    const chains: string[] = [];
    const visit = (file: string, chain: string[]): void => {
      const rel = path.relative(ROOT, file);
      if (seen.has(rel)) return;
      seen.add(rel);
      const here = [...chain, rel];
      if (lazy.some((re) => re.test(rel))) chains.push(here.join(' -> '));
      for (const spec of staticImports(file)) {
        const next = resolveTs(file, spec);
        if (next) visit(next, here);
        else if (lazy.some((re) => re.test(spec))) chains.push([...here, spec].join(' -> '));
      }
    };
    for (const e of entries) visit(path.join(ROOT, e), []);
    expect(chains).toEqual([]);
    // The walk reached the audit and the reporters it does need.
    expect([...seen]).toEqual(expect.arrayContaining(['src/check/audit.ts', 'src/check/mechanisms.ts', 'src/mtasts/evaluate.ts', 'src/dmarc/align.ts', 'src/psl.ts', 'src/cli/render/check.ts']));
  });
});
