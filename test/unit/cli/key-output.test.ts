/** What the key commands print: never private key material, in text or JSON (run in-process). */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { checkRecordCommand, showCommand } from '../../../src/cli/commands/dkim.js';
import { keygenCommand } from '../../../src/cli/commands/keygen.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'maildns-key-output-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('keygen and dkim commands', () => {
  it('never print private key material, in text or JSON', async () => {
    const file = path.join(dir, 'maildns.yaml');
    writeFileSync(file, 'domains:\n  - domain: example.com\n    dkim: [mail, {selector: ed, algorithm: ed25519}]\n');
    let out = '';
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((c: string | Uint8Array) => ((out += String(c)), true));
    try {
      for (const json of [false, true]) {
        await keygenCommand.handler!({ plan: file, force: false, json, _: [], $0: 'maildns' } as never);
        await showCommand.handler!({ plan: file, domain: 'example.com', selector: 'ed', json, _: [], $0: 'maildns' } as never);
      }
      const result = JSON.parse(out.slice(out.lastIndexOf('{\n  "domain"'))) as { algorithm: string; bits: number; record: string };
      expect(result.algorithm).toBe('ed25519');
      expect(result.record).toMatch(/^v=DKIM1; k=ed25519; p=[A-Za-z0-9+/]{43}=$/);
      process.exitCode = undefined;
      await checkRecordCommand.handler!({ record: `"v=DKIM1; h=sha1; " "${result.record.slice(9)}"`, json: false, _: [], $0: 'maildns' } as never);
      expect(out).toMatch(/dkim\.sha1-only/);
      expect(process.exitCode).toBe(1);
      process.exitCode = undefined;
    } finally {
      spy.mockRestore();
    }
    expect(out).not.toMatch(/PRIVATE KEY|BEGIN/);
    for (const f of ['mail', 'ed']) expect(out).not.toContain(readFileSync(path.join(dir, 'keys', 'example.com', `${f}.private`), 'utf8').split('\n')[1]);
  });
});
