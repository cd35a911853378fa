/**
 * The gates of a DKIM rotation, against a real authoritative server (the embedded one): the new
 * key is activated only once every authoritative server serves its record as planned, and the
 * old one is retired only after the plan's grace period; --force skips either gate.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { keygenPlan } from '../../../src/dkim/keygen.js';
import { rotateKeys } from '../../../src/dkim/rotate.js';
import { createResolver } from '../../../src/dns/resolver.js';
import { startServer, type RunningServer } from '../../../src/dns/server.js';
import { loadPlan } from '../../../src/plan/load.js';
import { composePlan } from '../../../src/plan/records.js';
import { runCli } from '../../helpers/cli.js';

let dir: string;
let planFile: string;
let server: RunningServer | null = null;

/** Serve what the plan asks for now (as if it had been published), replacing any earlier server. */
async function publish(): Promise<string> {
  await server?.close();
  const plan = loadPlan(planFile);
  server = await startServer({ records: composePlan(plan).flatMap((c) => c.records), zones: ['example.com'], host: '127.0.0.1', port: 0 });
  return `${server.host}:${server.port}`;
}

const gateOpts = (address: string) => ({ resolver: createResolver({ nameserver: address, timeoutMs: 1000 }), authoritative: [address] });

beforeEach(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'maildns-rotate-gates-'));
  planFile = path.join(dir, 'maildns.yaml');
  writeFileSync(planFile, 'domains:\n  - domain: example.com\n    dkim: [mail]\n');
  await keygenPlan(loadPlan(planFile));
});
afterEach(async () => {
  await server?.close();
  server = null;
  rmSync(dir, { recursive: true, force: true });
});

describe('dkim rotate gates', () => {
  it('activates only once the authoritative server serves the new record', async () => {
    const before = await publish(); // the old record only
    await rotateKeys(planFile, 'example.com', { step: 'start', selector: 'mail2' });
    const planText = readFileSync(planFile, 'utf8');

    const held = await rotateKeys(planFile, 'example.com', { step: 'activate' }, gateOpts(before));
    expect(held.action).toBe('waiting');
    expect(held.steps[0]).toMatch(/mail2\._domainkey\.example\.com: 127\.0\.0\.1:\d+ \(missing\)/);
    expect(readFileSync(planFile, 'utf8')).toBe(planText); // nothing changed

    const after = await publish(); // now with mail2's record
    const done = await rotateKeys(planFile, 'example.com', { step: 'activate' }, gateOpts(after));
    expect(done.action).toBe('activated');
    expect(done.selectors.map((s) => `${s.selector}:${s.state}`)).toEqual(['mail:retiring', 'mail2:active']);
    // The day each selector entered its state is kept in the plan, for the retire gate.
    expect(loadPlan(planFile).domains[0]!.dkim.map((s) => s.since)).toEqual([expect.stringMatching(/^\d{4}-\d{2}-\d{2}$/), expect.stringMatching(/^\d{4}-\d{2}-\d{2}$/)]);
  });

  it('says so in exit codes: 1 while a step waits, 3 when DNS cannot be asked, 0 with --force', async () => {
    const address = await publish();
    await rotateKeys(planFile, 'example.com', { step: 'start', selector: 'mail2' });
    const waiting = await runCli(['dkim', 'rotate', 'example.com', '--activate', '--plan', planFile, '--authoritative', address, '--nameserver', address, '--json']);
    expect(waiting.code).toBe(1);
    expect(JSON.parse(waiting.stdout)).toMatchObject({ action: 'waiting', next: 'activate' });

    await server!.close();
    server = null;
    const silent = await runCli(['dkim', 'rotate', 'example.com', '--activate', '--plan', planFile, '--authoritative', address, '--nameserver', address, '--timeout', '200', '--json']);
    expect(silent.code).toBe(3);
    expect(JSON.parse(silent.stdout)).toMatchObject({ action: 'waiting', dnsUnavailable: true });

    const forced = await runCli(['dkim', 'rotate', 'example.com', '--activate', '--force', '--plan', planFile]);
    expect(forced.code).toBe(0);
    const early = await runCli(['dkim', 'rotate', 'example.com', '--retire', '--plan', planFile]);
    expect(early.code).toBe(1);
    expect(early.stdout).toMatch(/Not retired: mail retiring since .* the plan keeps replaced keys 7 days/);
    const retired = await runCli(['dkim', 'rotate', 'example.com', '--retire', '--force', '--plan', planFile]);
    expect(retired.code).toBe(0);
    expect(loadPlan(planFile).domains[0]!.dkim.map((s) => s.selector)).toEqual(['mail2']);
  });
});
