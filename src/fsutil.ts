/**
 * Safe file writing shared by every command that writes files: the content goes to a temporary
 * file in the same directory, is flushed to disk, given its final mode, and only then renamed
 * (or, when the target must not exist yet, hard-linked) into place. A reader never sees half a
 * file, and a crash leaves either the old file or the new one.
 */
import {
  closeSync,
  fchmodSync,
  fsyncSync,
  linkSync,
  mkdirSync,
  openSync,
  renameSync,
  statSync,
  chmodSync,
  unlinkSync,
  writeSync,
  existsSync,
} from 'node:fs';
import { randomBytes } from 'node:crypto';
import { createWriteStream, realpathSync } from 'node:fs';
import { finished } from 'node:stream/promises';
import type { Writable } from 'node:stream';
import path from 'node:path';

export interface WriteOptions {
  /** File mode (default 0o644). Set with fchmod, so the umask cannot widen or narrow it. */
  mode?: number;
  /** Fail with EEXIST instead of replacing an existing file (default false). */
  exclusive?: boolean;
}

function syncDirectory(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    // Some file systems refuse fsync on a directory; the rename itself is still atomic.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Write `data` to `file` atomically: temp file + fsync + rename (or link when `exclusive`). */
export function writeFileAtomic(file: string, data: string | Uint8Array, opts: WriteOptions = {}): void {
  const mode = opts.mode ?? 0o644;
  const dir = path.dirname(path.resolve(file));
  const tmp = tempNameFor(file);
  // The temporary file is created with the final mode at once (0600 keys are never readable by others).
  const fd = openSync(tmp, 'wx', mode & 0o700);
  let moved = false;
  try {
    fchmodSync(fd, mode);
    const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    let off = 0;
    while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
    fsyncSync(fd);
    closeSync(fd);
    if (opts.exclusive) {
      linkSync(tmp, file); // throws EEXIST when the target is there: never overwritten
      unlinkSync(tmp);
    } else {
      renameSync(tmp, file);
    }
    moved = true;
    syncDirectory(dir);
  } finally {
    if (!moved) {
      try {
        closeSync(fd);
      } catch {
        /* already closed */
      }
      try {
        unlinkSync(tmp);
      } catch {
        /* already gone */
      }
    }
  }
}

function tempNameFor(file: string): string {
  return path.join(path.dirname(path.resolve(file)), `.${path.basename(file)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
}

/** A file written as a stream that appears under its name only when complete (see openAtomicFile). */
export interface AtomicFile {
  readonly path: string;
  /** Where the content goes until commit(). */
  readonly tempPath: string;
  readonly stream: Writable;
  /** Flush, fsync and rename into place. */
  commit(): Promise<void>;
  /** Drop what was written: the temporary file is removed at once (synchronous, so a signal handler can call it). */
  discard(): void;
}

/**
 * Open `file` for streaming, atomically: the content goes to a temporary file beside it, renamed
 * into place by commit(). Until then an existing `file` is untouched, and discard() (or a crash)
 * leaves no half-written one under its name. A device or pipe is written straight; a symbolic
 * link keeps pointing where it did, at the new file.
 */
export function openAtomicFile(file: string, opts: Pick<WriteOptions, 'mode'> = {}): AtomicFile {
  const mode = opts.mode ?? 0o644;
  let target = file;
  try {
    const st = statSync(file);
    if (st.isDirectory()) throw Object.assign(new Error(`EISDIR: ${file}`), { code: 'EISDIR', path: file });
    // A device or a pipe (/dev/stdout, /dev/null, a FIFO) is written straight: renaming a file over it would replace it.
    if (!st.isFile()) return directFile(file);
    // Through a symbolic link, the file it points to is replaced and the link kept.
    target = realpathSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  return atomicFile(target, file, mode);
}

function directFile(file: string): AtomicFile {
  // Opened here, so that a device that cannot be opened is an error now, naming the file.
  const stream = createWriteStream('', { fd: openSync(file, 'w') });
  let failure: Error | undefined;
  stream.on('error', (err) => (failure ??= err));
  return {
    path: file,
    tempPath: file,
    stream,
    async commit() {
      stream.end();
      await finished(stream).catch(() => {});
      if (failure) throw failure;
    },
    discard() {
      stream.destroy();
    },
  };
}

function atomicFile(file: string, shownAs: string, mode: number): AtomicFile {
  const tempPath = tempNameFor(file);
  let fd: number;
  try {
    fd = openSync(tempPath, 'wx', mode & 0o700);
    fchmodSync(fd, mode);
  } catch (err) {
    // Name the file asked for, not the temporary one, in the error the user sees.
    const e = err as NodeJS.ErrnoException;
    if (typeof e.path === 'string') e.path = shownAs;
    throw err;
  }
  const stream = createWriteStream('', { fd, autoClose: false });
  // Kept for commit(): a write that failed (a full disk) must fail the commit, not crash the process.
  let failure: Error | undefined;
  stream.on('error', (err) => (failure ??= err));
  let state: 'open' | 'committed' | 'discarded' = 'open';
  let fdOpen = true;
  const closeFd = (): void => {
    // Once only: a second close could hit a descriptor reused by something else.
    if (!fdOpen) return;
    fdOpen = false;
    closeSync(fd);
  };
  const discard = (): void => {
    if (state !== 'open') return;
    state = 'discarded';
    stream.destroy();
    try {
      closeFd();
    } catch {
      /* nothing more to release */
    }
    try {
      unlinkSync(tempPath);
    } catch {
      /* already gone */
    }
  };
  return {
    path: shownAs,
    tempPath,
    stream,
    async commit() {
      if (state !== 'open') throw new Error(`${file}: already ${state}`);
      try {
        stream.end();
        await finished(stream).catch(() => {});
        if (failure) throw Object.assign(failure, { path: tempPath });
        fsyncSync(fd);
        closeFd();
        renameSync(tempPath, file);
      } catch (err) {
        discard();
        const e = err as NodeJS.ErrnoException;
        if (typeof e.path === 'string') e.path = shownAs;
        throw err;
      }
      state = 'committed';
      syncDirectory(path.dirname(path.resolve(file)));
    },
    discard,
  };
}

/**
 * Make sure `dir` exists with exactly `mode` (default 0700). Directories created on the way get the
 * same mode; an existing `dir` is tightened to it.
 */
export function ensurePrivateDir(dir: string, mode = 0o700): void {
  mkdirSync(dir, { recursive: true, mode });
  if ((statSync(dir).mode & 0o777) !== mode) chmodSync(dir, mode);
}

/** A timestamp for backup names: 20261123T161400Z. */
export function backupStamp(now = new Date()): string {
  return now.toISOString().replace(/\.\d+Z$/, 'Z').replace(/[-:]/g, '');
}

/**
 * Keep the current `file` as `file.<stamp>.bak` (a hard link, so the old content stays whole while
 * the new file is written over the original name). Returns the backup path.
 */
export function backupFile(file: string, now = new Date()): string {
  const base = `${file}.${backupStamp(now)}`;
  let candidate = `${base}.bak`;
  for (let n = 2; existsSync(candidate); n++) candidate = `${base}-${n}.bak`;
  linkSync(file, candidate);
  return candidate;
}

/** Permission bits of a file, or null when it does not exist. */
export function fileMode(file: string): number | null {
  try {
    return statSync(file).mode & 0o777;
  } catch {
    return null;
  }
}
