/**
 * Every verdict that is not a pass comes with a fix: each reason code a DKIM signature can get,
 * each DMARC and SPF result but pass, and each finding of a message's signatures but info ones.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { DKIM_FIXES } from '../../../src/message/dkim.js';

const SOURCE = readFileSync(path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../src/message/dkim.ts'), 'utf8');

describe('a fix for every verdict', () => {
  it('every reason code src/message/dkim.ts gives a signature has its fix', () => {
    // Finding codes are written `code: 'dkim.…'`; reason codes are passed as arguments.
    const reasons = new Set([...SOURCE.matchAll(/(?<!code: )'(dkim\.[a-z0-9-]+)'/g)].map((m) => m[1]!));
    expect(reasons.size).toBeGreaterThan(20);
    expect([...reasons].filter((c) => !(c in DKIM_FIXES))).toEqual([]);
  });

  it('a key under 1024 bits: the rotation named asks for 2048 bits, which rotate would not choose on its own', () => {
    const fix = DKIM_FIXES['dkim.key-too-short']!({ domain: 'example.com', selector: 'old' } as Parameters<(typeof DKIM_FIXES)[string]>[0]);
    expect(fix).toContain('maildns dkim rotate example.com --algorithm rsa-2048');
  });

  it('every finding of a signature that is not info has a fix', () => {
    const findings = [...SOURCE.matchAll(/\{\s*code: '(dkim\.[a-z0-9-]+)',\s*severity: '(\w+)'[\s\S]*?\}\)?;/g)];
    expect(findings.length).toBeGreaterThan(2);
    for (const [text, code, severity] of findings) if (severity !== 'info') expect(text, code).toMatch(/\bfix: /);
  });
});
