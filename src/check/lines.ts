/**
 * The lines of a text file, read a chunk at a time so that a long file is never held whole, and
 * split as node:readline splits them: at \n, \r\n or a lone \r, a \r\n split over two chunks being
 * one break; UTF-8 is decoded across chunk boundaries. Synchronous: readline's asynchronous
 * events cost more per line than the checks of a domain list's line, before the first query.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';

/** Where a line ends: \n, \r\n or a lone \r (node:readline's breaks); standard input is split at the same ones. */
export const LINE_END = /\r?\n|\r(?!\n)/;

/** A line longer than textLines was told to take: `line` is its number (from 1). */
export class LineTooLong extends Error {
  constructor(
    readonly line: number,
    readonly maxChars: number,
  ) {
    super(`line ${line} is longer than ${maxChars} characters`);
    this.name = 'LineTooLong';
  }
}

/** Block this thread for `ms` (a descriptor that said EAGAIN: a non-blocking standard input). */
function pause(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * The lines of `file`, or of the descriptor `file` (standard input: 0), which is read from where
 * it is and left open. With `maxLineChars`, a line longer than that (ended or not) throws
 * LineTooLong before more of it is read: input without a line break (< /dev/zero) never ends, and
 * what is taken of it stays bounded while a long list keeps streaming.
 */
export function* textLines(file: string | number, chunkBytes = 64 * 1024, maxLineChars = Infinity): Generator<string> {
  const own = typeof file === 'number';
  const fd = own ? file : openSync(file, 'r');
  try {
    const chunk = Buffer.allocUnsafe(chunkBytes);
    const decoder = new StringDecoder('utf8');
    // The line not ended yet, in the pieces it came in: a chunk with no break in it only adds a
    // piece (joining and splitting again at each chunk made a file of one long line quadratic).
    let pieces: string[] = [];
    let pending = 0;
    let lineNo = 0;
    for (;;) {
      let read: number;
      try {
        read = readSync(fd, chunk, 0, chunkBytes, null);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err;
        pause(10);
        continue;
      }
      const fresh = read > 0 ? decoder.write(chunk.subarray(0, read)) : decoder.end();
      if (read > 0 && !/[\r\n]/.test(fresh) && !pieces.at(-1)?.endsWith('\r')) {
        if (fresh) pieces.push(fresh);
        pending += fresh.length;
        if (pending > maxLineChars) throw new LineTooLong(lineNo + 1, maxLineChars);
        continue;
      }
      const text = pieces.join('') + fresh;
      // A final \r waits for the next chunk: a \n there makes the two one break.
      const held = read > 0 && text.endsWith('\r') ? 1 : 0;
      const lines = text.slice(0, text.length - held).split(LINE_END);
      const rest = lines.pop()! + text.slice(text.length - held);
      pieces = rest ? [rest] : [];
      pending = rest.length;
      for (const line of lines) {
        lineNo++;
        if (line.length > maxLineChars) throw new LineTooLong(lineNo, maxLineChars);
        yield line;
      }
      if (pending > maxLineChars) throw new LineTooLong(lineNo + 1, maxLineChars);
      if (read === 0) break;
    }
    if (pieces.length) yield pieces.join('');
  } finally {
    if (!own) closeSync(fd);
  }
}
