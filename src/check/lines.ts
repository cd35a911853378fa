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

export function* textLines(file: string, chunkBytes = 64 * 1024): Generator<string> {
  const fd = openSync(file, 'r');
  try {
    const chunk = Buffer.allocUnsafe(chunkBytes);
    const decoder = new StringDecoder('utf8');
    // The line not ended yet, in the pieces it came in: a chunk with no break in it only adds a
    // piece (joining and splitting again at each chunk made a file of one long line quadratic).
    let pieces: string[] = [];
    for (;;) {
      const read = readSync(fd, chunk, 0, chunkBytes, null);
      const fresh = read > 0 ? decoder.write(chunk.subarray(0, read)) : decoder.end();
      if (read > 0 && !/[\r\n]/.test(fresh) && !pieces.at(-1)?.endsWith('\r')) {
        if (fresh) pieces.push(fresh);
        continue;
      }
      const text = pieces.join('') + fresh;
      // A final \r waits for the next chunk: a \n there makes the two one break.
      const held = read > 0 && text.endsWith('\r') ? 1 : 0;
      const lines = text.slice(0, text.length - held).split(LINE_END);
      const rest = lines.pop()! + text.slice(text.length - held);
      pieces = rest ? [rest] : [];
      yield* lines;
      if (read === 0) break;
    }
    if (pieces.length) yield pieces.join('');
  } finally {
    closeSync(fd);
  }
}
