/**
 * Where a command's report goes: standard output, or with `-o FILE` a file that is written
 * atomically (a temporary file beside it, renamed into place when the report is complete), so a
 * run that fails or is stopped leaves no half-written report and an older one stays whole.
 */
import type { Writable } from 'node:stream';
import { openAtomicFile } from '../fsutil.js';
import { onInterrupt } from './interrupt.js';

interface ReportOutput {
  stream: Writable;
  /** The file, when not standard output. */
  file?: string;
  /** Put the finished report in place (nothing to do for standard output). */
  commit(): Promise<void>;
  /** Drop an unfinished report: its temporary file is removed (synchronous). */
  discard(): void;
  /** Whether the stream is a terminal (colour, progress). */
  isTTY: boolean;
}

export function openReportOutput(file: string | undefined): ReportOutput {
  if (file === undefined || file === '-' || file === '/dev/stdout') {
    return { stream: process.stdout, commit: async () => {}, discard: () => {}, isTTY: Boolean(process.stdout.isTTY) };
  }
  const atomic = openAtomicFile(file);
  return { stream: atomic.stream, file, commit: () => atomic.commit(), discard: () => atomic.discard(), isTTY: false };
}

/** Write a finished report to standard output, or atomically to `file`; a signal meanwhile leaves no partial file. */
export async function writeReport(file: string | undefined, text: string): Promise<void> {
  let output: ReportOutput | undefined;
  // Installed before the temporary file exists, so a signal never finds one without its cleanup.
  const stopHandling = onInterrupt(() => {
    output?.discard();
    return file ? `nothing was written to ${file}` : 'the report was cut short';
  });
  try {
    output = openReportOutput(file);
    output.stream.write(text);
    await output.commit();
  } catch (err) {
    output?.discard();
    throw err;
  } finally {
    stopHandling();
  }
}
