/** Domain lists for `maildns check`: each different name once, in the order first given, whatever its case. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { domainSource } from '../../../src/check/input.js';

const dir = mkdtempSync(path.join(tmpdir(), 'maildns-check-input-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function all(source: Awaited<ReturnType<typeof domainSource>>): Promise<string[]> {
  const out: string[] = [];
  for await (const n of source.names()) out.push(n);
  return out;
}

describe('domainSource', () => {
  it('checks NEWCO.TEST and newco.test once, across arguments and files, and counts the repeats', async () => {
    const a = path.join(dir, 'a.txt');
    const b = path.join(dir, 'b.txt');
    writeFileSync(a, 'NEWCO.TEST\nother.test\n# newco.test in a comment\nnewco.test.\n');
    writeFileSync(b, 'Other.Test\nthird.test\n');
    const source = await domainSource(['newco.test', 'first.test'], [a, b]);
    expect(source.count).toBe(4);
    expect(source.duplicates).toBe(3);
    expect(await all(source)).toEqual(['newco.test', 'first.test', 'other.test', 'third.test']);
  });

  it('checks each name again as it streams it: a list rewritten since it was validated hands out no name unchecked', async () => {
    const list = path.join(dir, 'rewritten.txt');
    writeFileSync(list, 'first.test\nsecond.test\n');
    const source = await domainSource([], [list]);
    // Rewritten between the check of every line and the run (another job regenerating it).
    writeFileSync(list, 'first.test\nexa..mple.test\n');
    const names = source.names();
    expect((await names.next()).value).toBe('first.test');
    await expect(names.next()).rejects.toThrow(/rewritten\.txt:2: "exa\.\.mple\.test" is not a domain name: it has an empty label/);
  });

  it('refuses an address, on the command line and in a list, before any DNS question', async () => {
    for (const ip of ['192.0.2.1', '[192.0.2.1]', '2001:db8::1']) {
      await expect(domainSource([ip], [])).rejects.toThrow(new RegExp(`^command line: "${ip.replace(/[.[\]]/g, '\\$&')}" is not a domain name: it is an address; give the domain mail is sent from`));
    }
    const list = path.join(dir, 'addresses.txt');
    writeFileSync(list, 'example.test\n203.0.113.7\n');
    await expect(domainSource([], [list])).rejects.toThrow(/addresses\.txt:2: "203\.0\.113\.7" is not a domain name: it is an address/);
  });
});
