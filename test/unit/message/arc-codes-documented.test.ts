/**
 * Every code ARC gives (the chain's reason codes and its findings, in src/message/arc.ts and
 * src/message/verify.ts) is in the ARC section of src/check/README.md, where the codes are documented.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const read = (file: string): string => readFileSync(path.join(ROOT, file), 'utf8');

describe('ARC codes are documented', () => {
  it('every arc.* finding or reason code of verify-message is in the ARC section of src/check/README.md', () => {
    const readme = read('src/check/README.md');
    const section = /### ARC \(RFC 8617\)[\s\S]*?(?=\n## )/.exec(readme)?.[0] ?? '';
    expect(section).not.toBe('');
    // A code is written `code: 'arc.…'` (maybe behind a condition), `code = …` or passed to fail('arc.…').
    const codes = new Set<string>();
    for (const file of ['src/message/arc.ts', 'src/message/verify.ts']) {
      for (const [, expression] of read(file).matchAll(/\b(?:code(?::| =(?!=))|fail\()\s*([^\n,;]*)/g)) {
        for (const [, code] of expression!.matchAll(/'(arc\.[a-z0-9-]+)'/g)) codes.add(code!);
      }
    }
    expect(codes).toContain('arc.dns-temporary');
    expect(codes.size).toBeGreaterThan(8);
    expect([...codes].filter((code) => !section.includes(`\`${code}\``))).toEqual([]);
  });
});
