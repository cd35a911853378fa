/** Writing a report to a stream with back-pressure, failing (never hanging) once the stream has failed. */
import { once } from 'node:events';
import type { Writable } from 'node:stream';

export async function write(out: Writable, text: string): Promise<void> {
  if (out.write(text)) return;
  // A stream that already failed (a full disk, a closed pipe) never drains.
  if (out.errored) throw out.errored;
  await once(out, 'drain');
}
