/**
 * The later tier-up of a short check (src/cli/tiering.ts), as the CLI sets it: a preload reports
 * every V8 flag the run sets at run time. Nothing listens at the name server, so each domain fails
 * at once (exit 3).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { SHORT_RUN_DOMAINS } from '../../../src/cli/tiering.js';
import { preloadEnv, runCli } from '../../helpers/cli.js';

// Reports every V8 flag the run sets, with how many of the built-ins dgram, net and crypto were loaded by then.
const probe = "import v8 from 'node:v8'; import { syncBuiltinESMExports } from 'node:module'; const set = v8.setFlagsFromString; v8.setFlagsFromString = (f) => { const loaded = process.moduleLoadList.filter((m) => /^NativeModule (dgram|net|crypto)$/.test(m)).length; process.stderr.write(`v8 flag: ${f} after ${loaded} of dgram, net and crypto\\n`); set(f); }; syncBuiltinESMExports();";
const env = preloadEnv(probe);
const BUDGET = /^v8 flag: --interrupt-budget=/m;
// Only Node 20's V8 (11.3) tiers up later; on another the flag is never set.
const v8Tiers = process.versions.v8.startsWith('11.3.');

describe('check: the V8 flags it sets as it runs', () => {
  it('bounds the old generation as the run begins, after the built-in modules a check loads', async () => {
    // A flag changed at run time makes Node compile the built-ins it loads afterwards without their code cache.
    const r = await runCli(['check', 'example.test', '--nameserver', '127.0.0.1:9', '--timeout', '300'], { env });
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('v8 flag: --heap-growing-percent=50 after 3 of dgram, net and crypto');
    // Other commands leave it (and every other V8 flag) alone.
    const spf = await runCli(['spf', 'example.test', '--nameserver', '127.0.0.1:9', '--timeout', '300'], { env });
    expect(spf.code).toBe(3);
    expect(spf.stderr).not.toContain('v8 flag:');
  });
});

describe('check: the later tier-up of a short run', () => {
  it('counts a shard\'s share of the list, not the whole list', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'maildns-tiering-'));
    const list = path.join(dir, 'domains.txt');
    const domains = SHORT_RUN_DOMAINS + 500;
    writeFileSync(list, Array.from({ length: domains }, (_, i) => `d${i}.example.test\n`).join(''));
    const args = ['check', '--domains-file', list, '--nameserver', '127.0.0.1:9', '--timeout', '300', '--format', 'ndjson', '-o', path.join(dir, 'out.ndjson')];
    // A worker of 8 checks about 250 of the 2,000: a short run (a run of the whole list is not; the unit test holds that).
    const eighth = await runCli([...args, '--shard', '3/8'], { env });
    expect(eighth.code).toBe(3);
    if (v8Tiers) expect(eighth.stderr).toMatch(BUDGET);
    else expect(eighth.stderr).not.toMatch(BUDGET);
  }, 30_000);
});
