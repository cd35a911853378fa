/** Key rotation kept in the plan file: add, activate, retire, with comments preserved. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { keygenPlan } from '../../../src/dkim/keygen.js';
import { composeOpenDkim } from '../../../src/dkim/opendkim.js';
import { addPublishedSelector, dateSelector, rotateKeys, rotationStatus, type RotationOutcome } from '../../../src/dkim/rotate.js';
import { InputError } from '../../../src/errors.js';
import { loadPlan } from '../../../src/plan/load.js';
import { composePlan } from '../../../src/plan/records.js';

let dir: string;
let planFile: string;

beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'maildns-rotate-'));
  planFile = path.join(dir, 'maildns.yaml');
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** A rotation step; the DNS gate of --activate is exercised against a real server in test/integration/embedded/rotate-gates.test.ts. */
const rotate = (step: { activate?: true; retire?: true; selector?: string; domain?: string; now?: Date } = {}): Promise<RotationOutcome> =>
  rotateKeys(
    planFile,
    step.domain ?? 'example.com',
    step.activate ? { step: 'activate', force: true } : step.retire ? { step: 'retire' } : { step: 'start', ...(step.selector ? { selector: step.selector } : {}) },
    step.now ? { now: step.now } : {},
  );
const DAY = 86_400_000;

const PLAN = `# our mail domains
domains:
  - domain: example.com  # the main one
    dkim:
      # signing since 2025
      - mail
      - selector: ed
        algorithm: ed25519
`;

describe('dkim rotate', () => {
  it('names new selectors by date and keeps them unique', () => {
    const now = new Date('2026-11-23T10:00:00Z');
    expect(dateSelector([], now)).toBe('s202611');
    expect(dateSelector(['s202611'], now)).toBe('s20261123');
    expect(dateSelector(['s202611', 's20261123'], now)).toBe('s20261123-2');
    expect(dateSelector([], now, 'ed')).toBe('ed202611');
  });

  it('walks publish -> activate -> retire, recording each state in the plan and keeping comments', async () => {
    writeFileSync(planFile, PLAN);
    await keygenPlan(loadPlan(planFile));

    const added = await rotate({ selector: 'mail2' });
    expect(added.action).toBe('added');
    expect(added.selectors).toEqual([
      { selector: 'mail', algorithm: 'rsa-2048', state: 'active' },
      { selector: 'ed', algorithm: 'ed25519', state: 'active' },
      { selector: 'mail2', algorithm: 'rsa-2048', state: 'published' },
    ]);
    expect(added.next).toBe('activate');
    let text = readFileSync(planFile, 'utf8');
    expect(text).toContain('# our mail domains');
    expect(text).toContain('# the main one');
    expect(text).toContain('# signing since 2025');
    const keyPath = path.join(dir, 'keys', 'example.com', 'mail2.private');
    expect(existsSync(keyPath)).toBe(true);
    // The new record is published next to the old one; signing stays on the old key.
    let plan = loadPlan(planFile);
    expect(composePlan(plan)[0]!.records.filter((r) => r.purpose?.startsWith('dkim:')).map((r) => r.purpose)).toEqual(['dkim:mail', 'dkim:ed', 'dkim:mail2']);
    expect(composeOpenDkim(plan, { configDir: '/c' }).files.find((f) => f.name === 'SigningTable.rsa')!.content).not.toContain('mail2');

    // A second run knows a rotation is under way and adds nothing.
    const again = await rotate();
    expect(again.action).toBe('pending');
    expect(loadPlan(planFile).domains[0]!.dkim).toHaveLength(3);

    const activated = await rotate({ activate: true });
    expect(activated.action).toBe('activated');
    // Only the key of the same family retires: the Ed25519 key keeps signing.
    expect(activated.selectors.map((s) => `${s.selector}:${s.state}`)).toEqual(['mail:retiring', 'ed:active', 'mail2:active']);
    plan = loadPlan(planFile);
    expect(composeOpenDkim(plan, { configDir: '/c' }).files.find((f) => f.name === 'SigningTable.rsa')!.content).toMatch(/\*@example\.com mail2\._domainkey\.example\.com\n$/);
    expect(activated.next).toBe('retire');

    // The replaced key stays published for the plan's grace period (7 days by default).
    const early = await rotate({ retire: true, now: new Date(Date.now() + 6 * DAY) });
    expect(early.action).toBe('waiting');
    expect(early.steps[0]).toMatch(/mail retiring since \d{4}-\d{2}-\d{2}, not before \d{4}-\d{2}-\d{2}/);
    expect(loadPlan(planFile).domains[0]!.dkim.map((s) => s.selector)).toEqual(['mail', 'ed', 'mail2']);
    const retired = await rotate({ retire: true, now: new Date(Date.now() + 8 * DAY) });
    expect(retired.action).toBe('retired');
    expect(retired.selectors.map((s) => s.selector)).toEqual(['ed', 'mail2']);
    text = readFileSync(planFile, 'utf8');
    expect(text).not.toContain('# signing since 2025'); // the comment left with its selector
    expect(text).toContain('# our mail domains');
    plan = loadPlan(planFile);
    const revoked = composePlan(plan)[0]!.records.find((r) => r.name === 'mail._domainkey.example.com')!;
    expect(revoked.value).toBe('v=DKIM1; p=');
    expect(rotationStatus(plan.domains[0]!).next).toBe('rotate');
  });

  it('numbers what it prints by the three steps of --help (rotate, --activate, --retire), and no other way', async () => {
    writeFileSync(planFile, PLAN);
    await keygenPlan(loadPlan(planFile));
    const added = await rotate({ selector: 'mail2' });
    const pending = await rotate();
    const activated = await rotate({ activate: true });
    const retired = await rotate({ retire: true, now: new Date(Date.now() + 8 * DAY) });
    const printed = [added, pending, activated, retired].flatMap((o) => o.steps);
    // The numbers a list would have (1. 2. 3. 4.) are not the steps' numbers.
    expect(printed.filter((l) => /^\d+\./.test(l))).toEqual([]);
    expect(added.steps[0]).toMatch(/^Step 1 of 3 done: added selector mail2 .*; at step 2 the new key replaces mail\.$/);
    expect(added.steps.slice(1).map((l) => l.split(':')[0])).toEqual(['Before step 2', 'Step 2', 'Step 3, a few days later']);
    expect(added.steps[2]).toContain('`maildns dkim rotate example.com --activate`');
    expect(added.steps[3]).toContain('`maildns dkim rotate example.com --retire`');
    expect(pending.steps.map((l) => l.split(':')[0])).toEqual(['A rotation is under way', 'Before step 2', 'Step 2']);
    expect(activated.steps[0]).toMatch(/^Step 2 of 3 done: now signing with mail2; mail stays published as retiring\.$/);
    expect(activated.steps[2]).toMatch(/^Step 3, after a few days .*--retire`\.$/);
    expect(retired.steps[0]).toMatch(/^Step 3 of 3 done: removed mail from the plan/);
  });

  it('refuses steps out of order as bad input naming the plan', async () => {
    writeFileSync(planFile, PLAN);
    await expect(rotate({ activate: true })).rejects.toThrow(InputError);
    await expect(rotate({ activate: true })).rejects.toThrow(/no published selector/);
    await expect(rotate({ retire: true })).rejects.toThrow(/no retiring selector/);
    await expect(rotate({ selector: 'mail' })).rejects.toThrow(/already exists/);
    await expect(rotate({ domain: 'example.org' })).rejects.toThrow(/not in the plan/);
  });

  it('edits the file a symbolic link to the plan points to, and keeps the link', async () => {
    const real = path.join(dir, 'conf', 'plan.yaml');
    mkdirSync(path.dirname(real));
    writeFileSync(real, PLAN);
    symlinkSync(path.join('conf', 'plan.yaml'), planFile);
    await keygenPlan(loadPlan(planFile));
    const added = await rotate({ selector: 'mail2' });
    expect(added.action).toBe('added');
    expect(lstatSync(planFile).isSymbolicLink()).toBe(true);
    expect(readFileSync(real, 'utf8')).toContain('- selector: mail2');
    expect(loadPlan(planFile).domains[0]!.dkim.map((s) => s.selector)).toEqual(['mail', 'ed', 'mail2']);
  });

  it('edits a plan whose dkim entry is a single value', () => {
    const text = addPublishedSelector('domains:\n  - domain: example.com\n    dkim: mail\n', 'p.yaml', 'example.com', 'new', 'ed25519', new Date('2026-11-23T00:00:00Z'));
    expect(text).toContain('- selector: mail\n        state: active');
    expect(text).toContain('# added on 2026-11-23 (maildns dkim rotate)');
    expect(text).toContain('state: published');
  });
});
