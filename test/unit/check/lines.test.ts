/** A file's lines as node:readline gives them, whatever the chunk size the file is read in. */
import { createReadStream, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, describe, expect, it } from 'vitest';
import { textLines } from '../../../src/check/lines.js';

const dir = mkdtempSync(path.join(tmpdir(), 'maildns-lines-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function readlineLines(file: string): Promise<string[]> {
  const out: string[] = [];
  for await (const line of createInterface({ input: createReadStream(file, { encoding: 'utf8' }), crlfDelay: Infinity })) out.push(line);
  return out;
}

describe('textLines', () => {
  const contents = [
    '',
    'one.test',
    'one.test\ntwo.test\n',
    'crlf.test\r\nnext.test\r\n',
    'lone\rcr.test\r',
    '\r\n\r\n\n\r\r\nblank.lines\n\n',
    'bücher.de\r\nüber.test\n# ç comment\r',
    'no.final.break\r\nlast',
    '\u{1F600}.emoji\r\n\u{1F600}',
    'invalid \xff utf-8 \xc3',
  ];

  it.each(contents.map((c, i) => [i, c]))('content %i: the same lines as readline, in chunks of 1 to 9 bytes and the default', async (i, content) => {
    const file = path.join(dir, `c${i}.txt`);
    writeFileSync(file, content.startsWith('invalid') ? Buffer.from(content, 'latin1') : content);
    const expected = await readlineLines(file);
    for (let size = 1; size <= 9; size++) expect([...textLines(file, size)], `chunks of ${size}`).toEqual(expected);
    expect([...textLines(file)]).toEqual(expected);
  });
});

describe('a domain list that is one long line (a binary file, a dump)', () => {
  it('is read in one pass and refused in one short line naming the file and line', async () => {
    const { domainSource } = await import('../../../src/check/input.js');
    const dir = mkdtempSync(path.join(tmpdir(), 'maildns-lines-'));
    const file = path.join(dir, 'one-line.txt');
    writeFileSync(file, 'x'.repeat(8 * 1024 * 1024));
    const err = await domainSource([], [file]).then(
      () => null,
      (e: Error) => e,
    );
    expect(err?.message.startsWith(`${file}:1: "${'x'.repeat(80)}…" (8388608 characters) is not a domain name`)).toBe(true);
    expect(err!.message.length).toBeLessThan(400);
    rmSync(dir, { recursive: true, force: true });
  });
});
