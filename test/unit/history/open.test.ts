/** Opening the history file: a path that cannot be one is bad input naming it, never an internal error. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { describeFailure } from '../../../src/cli/exit.js';
import { openHistory } from '../../../src/history/db.js';

const dir = mkdtempSync(path.join(tmpdir(), 'maildns-history-open-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** What the CLI would print and exit with for the error openHistory raises. */
function failureOf(file: string, opts: Parameters<typeof openHistory>[1] = {}): { message: string; code: number } {
  try {
    openHistory(file, opts).close();
  } catch (err) {
    return describeFailure(err);
  }
  throw new Error(`${file} opened`);
}

describe('openHistory on a path that cannot hold the history', () => {
  it('a file in a directory that does not exist: exit 2 naming the file and the missing directory', () => {
    const file = path.join(dir, 'no-such-dir', 'checks.db');
    expect(failureOf(file)).toEqual({ code: 2, message: `${file}: cannot create the history database: the directory ${path.dirname(file)} does not exist; create it, or give another path` });
  });

  it('reading from a directory that does not exist: no such history database', () => {
    const file = path.join(dir, 'no-such-dir', 'checks.db');
    expect(failureOf(file, { mustExist: true })).toEqual({ code: 2, message: `${file}: no such history database; give the file that \`maildns check --history FILE\` writes` });
  });

  it('a directory: exit 2 saying to give a file name, for recording and for reading', () => {
    const message = `${dir}: is a directory; give the name of the history file (such as ${path.join(dir, 'checks.db')})`;
    expect(failureOf(dir)).toEqual({ code: 2, message });
    expect(failureOf(dir, { mustExist: true, readonly: true })).toEqual({ code: 2, message });
  });

  it('a path under a file: exit 2 saying that the file is no directory', () => {
    writeFileSync(path.join(dir, 'a-file'), 'x');
    const file = path.join(dir, 'a-file', 'checks.db');
    expect(failureOf(file)).toEqual({ code: 2, message: `${file}: ${path.join(dir, 'a-file')} is a file, not a directory; give a path in a directory` });
  });
});
