/**
 * Safe file writing shared by every command that writes files: the content goes to a temporary
 * file in the same directory, is flushed to disk, given its final mode (that of the regular file
 * it replaces, if any, but for a secret), and only then renamed
 * (or, when the target must not exist yet, hard-linked) into place. A reader never sees half a
 * file, and a crash leaves either the old file or the new one (and at worst a temporary file,
 * which removeStaleTempFiles clears on the next run).
 *
 * Every failure is raised as a file-system error about the file or directory the user named,
 * never about the temporary file: its `code` and `path` are what the CLI turns into one line with
 * the fix (src/cli/exit.ts).
 */
import {
  closeSync,
  constants,
  createReadStream,
  createWriteStream,
  existsSync,
  fchmodSync,
  fchownSync,
  fstatSync,
  fsyncSync,
  linkSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readlinkSync,
  readSync,
  realpathSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
  type Stats,
} from 'node:fs';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import tty, { isatty } from 'node:tty';
import { finished } from 'node:stream/promises';
import type { Readable, Writable } from 'node:stream';
import path from 'node:path';
import { InputError } from './errors.js';

interface WriteOptions {
  /**
   * Mode of a file this write creates (default 0o644), set with fchmod, so the umask cannot widen or
   * narrow it. A regular file that is replaced keeps its own permission bits instead, looser or
   * tighter, as an editor keeps them (see `secret`).
   */
  mode?: number;
  /**
   * A secret (a private key, a password map): always exactly `mode`, whatever the file it replaces
   * had, so it is never looser than the caller asks, nor takes bits a planted file was given.
   */
  secret?: boolean;
  /** Fail with EEXIST instead of replacing an existing file (default false). */
  exclusive?: boolean;
  /**
   * When `file` is a symbolic link, write the file it points to and keep the link, as `>` in a
   * shell does (a plan kept in a repository and linked from where maildns runs). Off for keys and
   * secrets, which are never written where a link planted beside them points.
   */
  throughLink?: boolean;
}

/** A file-system error about a file written through a symbolic link: `path` is the link, `linkTarget` the file it leads to. */
export interface FileError extends NodeJS.ErrnoException {
  linkTarget?: string;
}

/**
 * Rethrow a file-system error as one about `target`, so the message names what the user gave and
 * the CLI can add the fix (EISDIR: give a file name, EACCES: check the owner and mode, …). When the
 * file written is `leadsTo`, through the link `target`, that is kept as `linkTarget`: the read-only
 * file system or the directory that is missing is where the link leads, not where it is.
 */
export function failedOn(err: unknown, target: string, action: string, leadsTo?: string): never {
  const e = err as NodeJS.ErrnoException | undefined;
  if (e instanceof InputError || typeof e?.code !== 'string') throw err;
  const out: FileError = new Error(`${e.code}: cannot ${action}`);
  out.code = e.code;
  out.path = target;
  // An input read through a link comes with where it leads already (readInputFile).
  const through = leadsTo ?? (e.path === target ? (e as FileError).linkTarget : undefined);
  if (through !== undefined && through !== target) out.linkTarget = through;
  if (e.syscall) out.syscall = e.syscall;
  throw out;
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

/** `.<name>.<pid>.<12 hex>.tmp`: the temporary file writeFileAtomic writes beside `<name>`. */
const TEMP_NAME = /^\.(.+)\.(\d+)\.([0-9a-f]{12})\.tmp$/;

function tempNameFor(file: string): string {
  return path.join(path.dirname(path.resolve(file)), `.${path.basename(file)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
}

/** How many symbolic links a path may go through, as Linux follows them (MAXSYMLINKS). */
const MAX_LINKS = 40;

/** Whether a path names a directory whatever is there: it ends in '/', or its last part is '.' or '..'. */
function namesDirectory(name: string): boolean {
  return directoryEnding(name) !== null;
}

/** The '/', '.' or '..' a path that names a directory ends in, or null. */
function directoryEnding(name: string): string | null {
  if (name.endsWith('/')) return '/';
  const last = name.slice(name.lastIndexOf('/') + 1);
  return last === '.' || last === '..' ? last : null;
}

/**
 * Refuse a name no file can be created by, before a temporary file is made: one with a trailing
 * slash (or '.', '..') names a directory (the kernel's open says EISDIR, its rename ENOTDIR, which
 * reads as if a part of the path were none), and an empty one names nothing (ENOENT).
 */
function refuseNonFileName(given: string): void {
  if (given === '') failedOn(Object.assign(new Error('empty name'), { code: 'ENOENT' }), given, 'write the file');
  const ending = directoryEnding(given);
  if (ending !== null) throw new InputError(`names a directory (it ends in '${ending}'), not a file; give a file name`, given);
}

/**
 * Refuse a directory where a file is to be written, before a temporary file is made beside it:
 * EISDIR about a name given, and through a link, a line that says where the link leads. `file` is
 * what `given` leads to; without throughLink it is `given`, and a link there is replaced, not
 * followed (lstat).
 */
function refuseDirectory(given: string, file: string): void {
  try {
    if (!lstatSync(file).isDirectory()) return;
  } catch {
    return;
  }
  if (file === given) failedOn(Object.assign(new Error('is a directory'), { code: 'EISDIR' }), given, 'write the file');
  throw new InputError(
    `is a symbolic link that leads to the directory ${file}, not a file; point the link at a file (ln -sfn ${path.join(file, path.basename(given))} ${given}), or give another file name`,
    given,
  );
}

/**
 * The file a symbolic link points to, or `file` when it is none. A link (or a chain of links) to
 * no file yet gives the name its last link holds, and a loop of links is ELOOP, as a shell's `>`
 * finds: no link on the way is replaced by the file. A dangling link whose name ends in '/'
 * (newdir/, newdir missing) is refused: it names a directory, and path.resolve would drop the slash
 * and make a file of it.
 */
function linkTarget(file: string): string {
  let at = file;
  for (let hops = 0; hops <= MAX_LINKS; hops++) {
    try {
      if (!lstatSync(at).isSymbolicLink()) return at;
    } catch {
      return at;
    }
    try {
      return realpathSync(at);
    } catch {
      // It points at no file (yet): the name it holds, read from the link's own directory.
      const text = readlinkSync(at);
      if (namesDirectory(text)) {
        const link = at === file ? `is a symbolic link to ${text}` : `leads to the symbolic link ${at}, a link to ${text}`;
        const pointAt = `${text.replace(/\/+$/, '')}/${path.basename(file)}`;
        throw new InputError(`${link}, which names a directory (the trailing slash) that does not exist, so no file can be written there: point it at a file (ln -sfn ${pointAt} ${at}), or remove it`, file);
      }
      at = path.resolve(realpathSync(path.dirname(at)), text);
    }
  }
  throw Object.assign(new Error('ELOOP: too many levels of symbolic links'), { code: 'ELOOP', path: file, syscall: 'open' });
}

/** Whether `file` exists and is neither a regular file nor a directory (a character device, a FIFO, a socket). */
function isDeviceOrPipe(file: string): boolean {
  try {
    const st = statSync(file);
    return !st.isFile() && !st.isDirectory();
  } catch {
    return false;
  }
}

/**
 * The descriptor a name of this process's own descriptors stands for (/dev/stdout, /dev/fd/N,
 * /proc/self/fd/N), or null: a socket behind one (a parent's pipe in Node, systemd's journal)
 * cannot be opened again through its name (ENXIO), and is written through the descriptor itself.
 */
function ownDescriptor(file: string): number | null {
  const m = /^\/(?:dev\/(?:(stdout)|(stderr)|fd\/(\d+))|proc\/self\/fd\/(\d+))$/.exec(file);
  if (!m) return null;
  return m[1] ? 1 : m[2] ? 2 : Number(m[3] ?? m[4]);
}

function writeStraight(file: string, buf: Uint8Array): void {
  const own = ownDescriptor(file);
  let fd: number | undefined;
  try {
    fd = own ?? openSync(file, 'w');
    for (let off = 0; off < buf.length; ) off += writeSync(fd, buf, off, buf.length - off);
  } catch (err) {
    failedOn(err, file, 'write the file');
  } finally {
    if (fd !== undefined && own === null) closeSync(fd);
  }
}

/**
 * The regular file a write replaces, whose mode, owner and group the new content keeps; null for a
 * new file, a secret, or a name that holds no regular file (a link replaced, not followed, lends
 * nothing: its target is not what is replaced).
 */
function replacedFile(file: string, secret: boolean): Stats | null {
  if (secret) return null;
  try {
    const st = lstatSync(file);
    return st.isFile() ? st : null;
  } catch {
    return null;
  }
}

/** Give `fd` this owner and group; false when this process may not (EPERM, or EINVAL for an id a user namespace does not map). */
function chownIfPermitted(fd: number, uid: number, gid: number): boolean {
  try {
    fchownSync(fd, uid, gid);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EPERM' || code === 'EINVAL') return false;
    throw err;
  }
}

/**
 * Give the temporary file `fd` what the file it replaces had, as an editor keeps it: its owner and
 * group where this process may give them (root may; a user may give a group of theirs), then its
 * permission bits (setuid, setgid and sticky bits are not carried over to new content). With
 * nothing replaced, `mode`. Owner first: chown clears setuid and setgid bits set before it.
 */
function takeOver(fd: number, replaced: Stats | null, mode: number): void {
  if (!replaced) return fchmodSync(fd, mode);
  let bits = replaced.mode & 0o777;
  const created = fstatSync(fd);
  if (created.uid !== replaced.uid || created.gid !== replaced.gid) {
    if (!chownIfPermitted(fd, replaced.uid, replaced.gid) && !chownIfPermitted(fd, -1, replaced.gid)) {
      // Not root, and not in the old group: what that group could do is not handed to the file's new group.
      bits &= ~0o070;
    }
  }
  fchmodSync(fd, bits);
}

/** Write `data` to `file` atomically: temp file + fsync + rename (or link when `exclusive`). */
export function writeFileAtomic(given: string, data: string | Uint8Array, opts: WriteOptions = {}): void {
  const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  refuseNonFileName(given);
  // A device or a pipe a document is sent to (sign -o /dev/stdout) is written straight, as openAtomicFile writes one. Asked of
  // the name given, which the kernel follows through /proc's links to a pipe, which have no path.
  if (opts.throughLink && isDeviceOrPipe(given)) return writeStraight(given, buf);
  const file = opts.throughLink ? linkTarget(given) : given;
  refuseDirectory(given, file);
  const mode = opts.mode ?? 0o644;
  // Looked at before the temporary file exists; an exclusive write replaces nothing.
  const replaced = opts.exclusive ? null : replacedFile(file, opts.secret === true);
  const dir = path.dirname(path.resolve(file));
  const tmp = tempNameFor(file);
  let fd: number;
  try {
    // Created with the final mode at once (0600 keys are never readable by others, not even briefly).
    fd = openSync(tmp, 'wx', mode & 0o700);
  } catch (err) {
    failedOn(err, given, 'write the file', file);
  }
  let moved = false;
  try {
    takeOver(fd, replaced, mode);
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
  } catch (err) {
    failedOn(err, given, 'write the file', file);
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

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process is there, it belongs to someone else.
    return (err as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}


/** A file written as a stream that appears under its name only when complete (see openAtomicFile). */
interface AtomicFile {
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
  refuseNonFileName(file);
  // A device or a pipe (/dev/stdout, /dev/null, a FIFO) is written straight: renaming a file over it would replace it.
  if (isDeviceOrPipe(file)) return directFile(file);
  // Through a symbolic link (to a file, or to none yet), the file it points to is written and the link kept.
  const target = linkTarget(file);
  refuseDirectory(file, target);
  return atomicFile(target, file, mode);
}

function directFile(file: string): AtomicFile {
  // Opened here, so that a device that cannot be opened is an error now, naming the file.
  const own = ownDescriptor(file);
  const stream = createWriteStream('', { fd: own ?? openSync(file, 'w'), autoClose: own === null });
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

/** Make `err` about the name the user gave, and through a link also the file it leads to (see failedOn). */
function nameForUser(err: FileError, shownAs: string, file: string): void {
  err.path = shownAs;
  if (file !== shownAs) err.linkTarget = file;
}

function atomicFile(file: string, shownAs: string, mode: number): AtomicFile {
  const tempPath = tempNameFor(file);
  const replaced = replacedFile(file, false);
  let fd: number | undefined;
  try {
    fd = openSync(tempPath, 'wx', mode & 0o700);
    takeOver(fd, replaced, mode);
  } catch (err) {
    if (fd !== undefined) {
      closeSync(fd);
      try {
        unlinkSync(tempPath);
      } catch {
        /* already gone */
      }
    }
    // Name the file asked for, not the temporary one, in the error the user sees (an fchown's or fchmod's names none).
    const e = err as FileError;
    if (typeof e.code === 'string') nameForUser(e, shownAs, file);
    throw err;
  }
  const opened: number = fd;
  const stream = createWriteStream('', { fd: opened, autoClose: false });
  // Kept for commit(): a write that failed (a full disk) must fail the commit, not crash the process.
  let failure: Error | undefined;
  stream.on('error', (err) => (failure ??= err));
  let state: 'open' | 'committed' | 'discarded' = 'open';
  let fdOpen = true;
  const closeFd = (): void => {
    // Once only: a second close could hit a descriptor reused by something else.
    if (!fdOpen) return;
    fdOpen = false;
    closeSync(opened);
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
        fsyncSync(opened);
        closeFd();
        renameSync(tempPath, file);
      } catch (err) {
        discard();
        const e = err as FileError;
        if (typeof e.path === 'string') nameForUser(e, shownAs, file);
        throw err;
      }
      state = 'committed';
      syncDirectory(path.dirname(path.resolve(file)));
    },
    discard,
  };
}

/**
 * Remove the temporary files that writers killed mid-way (kill -9, a crash) left in `dir`: those
 * of processes that are gone. They can hold a whole private key. Returns the names removed.
 */
export function removeStaleTempFiles(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    const m = TEMP_NAME.exec(name);
    if (!m) continue;
    const pid = Number(m[2]);
    if (pid === process.pid || alive(pid)) continue;
    const file = path.join(dir, name);
    try {
      if (!lstatSync(file).isFile()) continue;
      unlinkSync(file);
      removed.push(name);
    } catch {
      /* gone already, or not ours to remove */
    }
  }
  return removed;
}

/**
 * Create `dir` and its missing parents with `mode`, one directory at a time, and return those it
 * created, top first. (Node's recursive mkdir retries for ever where mkdir answers ENOENT under
 * a parent that exists, as in /proc.)
 */
export function makeDirectories(dir: string, mode = 0o755): string[] {
  const missing: string[] = [];
  // Up from `dir` to the first directory that exists: each name is looked at once.
  for (let d = path.resolve(dir); ; d = path.dirname(d)) {
    let isDirectory: boolean;
    try {
      isDirectory = statSync(d).isDirectory();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') failedOn(err, dir, 'create the directory');
      missing.unshift(d);
      if (path.dirname(d) === d) break;
      continue;
    }
    // A file where the directory should be is EEXIST, as mkdir says; a file above it, ENOTDIR.
    const code = d === path.resolve(dir) ? 'EEXIST' : 'ENOTDIR';
    if (!isDirectory) failedOn(Object.assign(new Error('not a directory'), { code }), dir, 'create the directory');
    break;
  }
  for (const d of missing) {
    try {
      mkdirSync(d, { mode });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new InputError('this file system does not let a directory be created here; write somewhere else', d);
      }
      failedOn(err, d, 'create the directory');
    }
  }
  return missing;
}

/** Give a directory this process has just created exactly `mode` (the umask may have narrowed it), without following a link put in its place. */
function setCreatedMode(dir: string, mode: number): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
    fchmodSync(fd, mode);
  } catch (err) {
    failedOn(err, dir, 'set the mode of the directory');
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/**
 * Why `dir` is no place for private keys, as OpenDKIM's RequireSafeKeys sees it, with the fix: a
 * symbolic link, or a directory other users can write to (they could swap a key). Null when it is
 * fine or does not exist.
 */
export function keyDirectoryProblem(dir: string): string | null {
  let st;
  try {
    st = lstatSync(dir);
  } catch {
    return null;
  }
  if (st.isSymbolicLink()) {
    let target = 'elsewhere';
    try {
      target = realpathSync(dir);
    } catch {
      /* a dangling link */
    }
    return `is a symbolic link (to ${target}); maildns keeps private keys only in a real directory and never changes one it did not create: name the real directory instead, or replace the link with a directory (mkdir -m 700)`;
  }
  if (!st.isDirectory()) return 'is not a directory; name a directory for the keys';
  const mode = st.mode & 0o7777;
  if (mode & 0o002) {
    return `can be written by every user (mode ${mode.toString(8).padStart(4, '0')}), so anyone could replace a key, and OpenDKIM refuses keys there: use a directory of your own (mkdir -m 700), or chmod o-w it if it is yours alone`;
  }
  return null;
}

interface KeyDirectory {
  /** Directories created (0700), top first. */
  created: string[];
  warnings: string[];
}

/**
 * Make sure `dir` can hold private keys: missing directories are created with exactly 0700; an
 * existing one is used as it is, never chmod-ed, and refused (InputError) when it is a symbolic
 * link or others can write to it.
 */
export function ensureKeyDirectory(dir: string): KeyDirectory {
  const problem = keyDirectoryProblem(dir);
  if (problem) throw new InputError(problem, dir);
  const created = makeDirectories(dir, 0o700);
  for (const d of created) setCreatedMode(d, 0o700);
  const warnings: string[] = [];
  const mode = statSync(dir).mode & 0o777;
  if (!created.includes(path.resolve(dir)) && mode & 0o020) {
    warnings.push(`${dir} can be written by its group (mode ${mode.toString(8)}); OpenDKIM refuses keys there when another user shares the group: chmod g-w ${dir}`);
  }
  return { created, warnings };
}

/** A timestamp for backup names: 20261123T161400Z. */
function backupStamp(now = new Date()): string {
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
  try {
    linkSync(file, candidate);
  } catch (err) {
    failedOn(err, file, 'keep a backup of the file');
  }
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

/**
 * Whether two names lead to the same file (through symbolic links, hard links and other spellings
 * of the path), by device and inode; false when either does not exist.
 */
export function sameFile(a: string, b: string): boolean {
  try {
    const x = statSync(a);
    const y = statSync(b);
    return x.dev === y.dev && x.ino === y.ino;
  } catch {
    return false;
  }
}

/** How long a pipe, socket or device named as an input file may take to deliver all of it. */
export const INPUT_DEADLINE_MS = 30_000;

/**
 * The same for a terminal: a person pasting a message or typing settings takes longer than a
 * writer at the other end of a pipe, and ends it with Ctrl-D; the bound is for a terminal nobody
 * types at (a job given a pseudo-terminal).
 */
export const TERMINAL_INPUT_DEADLINE_MS = 15 * 60_000;

interface InputLimits {
  /** Most octets taken; more is bad input. */
  maxBytes: number;
  /** What the file holds, for the messages ("a message", "a private key"). */
  what: string;
  /** The fix when there is too much. */
  fix: string;
  /** The caller's bound on the read: INPUT_DEADLINE_MS by default; a terminal has TERMINAL_INPUT_DEADLINE_MS, or this when it is shorter. */
  deadlineMs?: number;
  /** Called once, with the input's name, when the input is a terminal: the CLI says what to type and how to end it. */
  atTerminal?: (where: string) => void;
}

function sizeText(n: number): string {
  return n >= 1 << 20 ? `${+(n / (1 << 20)).toFixed(1)} MiB` : `${+(n / 1024).toFixed(1)} KiB`;
}

/** An input over its limit (`size`: "is 20 MiB", "delivers more than 16 MiB"), said of `where`. */
function tooMuchInput(size: string, limits: InputLimits, where: string): InputError {
  return new InputError(`${size}, more than the ${sizeText(limits.maxBytes)} maildns reads as ${limits.what}; ${limits.fix}`, where);
}

/** What a file that is neither a regular file nor a directory is, for the messages. */
function kindOf(st: Stats): string {
  if (st.isFIFO()) return 'a FIFO (named pipe)';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  return 'not a regular file';
}

/**
 * Where a name leads when it is a symbolic link, for the messages: the file it resolves to, or,
 * when there is none (a dangling link, a loop), the name its last link holds. Null when `file`
 * is no link. A private key or a plan is read through a link, as OpenDKIM reads one (Debian
 * links keys into /etc/dkimkeys); what is wrong is then said of the link and where it leads.
 */
function readLinkTarget(file: string): string | null {
  try {
    if (!lstatSync(file).isSymbolicLink()) return null;
  } catch {
    return null;
  }
  try {
    return linkTarget(file);
  } catch {
    try {
      return path.resolve(path.dirname(file), readlinkSync(file));
    } catch {
      return null;
    }
  }
}

/** What is wrong with `link`, a symbolic link that leads to no file, where `what` was to be read, and the fix. */
function danglingLinkProblem(link: string, what: string): string {
  return `the symbolic link leads to no file; point it at ${what} (ln -sfn FILE ${link}), or remove it`;
}

/**
 * Whether something is at `file`: a file, or a symbolic link even when it leads to no file. A
 * key path that is a dangling link is not a key yet to create (a new key would be written over
 * the link), but a key gone missing, which reading it names (`link -> target`).
 */
export function isPresent(file: string): boolean {
  try {
    lstatSync(file);
    return true;
  } catch {
    return false;
  }
}

/** `file`, or `link -> target` when it is a symbolic link: the location an error about reading it names. */
export function inputLocation(file: string, err?: unknown): string {
  const given = (err as FileError | undefined)?.linkTarget;
  const target = typeof given === 'string' ? given : readLinkTarget(file);
  return target === null ? file : `${file} -> ${target}`;
}

/** What readBounded is given for standard input: descriptor 0, named `<stdin>` in the messages (a file named "<stdin>" is still a file). */
const STANDARD_INPUT = Symbol('standard input');

/**
 * Read the regular file `file` whole, at most `limits.maxBytes`; the one rule every input file is
 * read by. Opened without blocking (O_NONBLOCK), so that a FIFO's open does not wait for a writer,
 * and looked at through the descriptor (fstat), so that what is read is what was looked at: a
 * directory is EISDIR, and a pipe, socket or device is refused (InputError) unless `stream` takes
 * it (returns its content), as readInputFile does. Errors from the file system are thrown with
 * `path` (and, through a link, `linkTarget`) for the caller to name.
 */
function readBounded(file: string | typeof STANDARD_INPUT, limits: InputLimits, stream?: (fd: number, own: boolean, where: string) => Promise<Buffer>): Buffer | Promise<Buffer> {
  const target = file === STANDARD_INPUT ? null : readLinkTarget(file);
  const where = file === STANDARD_INPUT ? '<stdin>' : target === null ? file : `${file} -> ${target}`;
  const tooMuch = (size: string): InputError => tooMuchInput(size, limits, where);
  const fsError = (err: unknown): never => {
    const e = err as FileError;
    if (typeof e?.code === 'string') {
      e.path = where === '<stdin>' ? where : (file as string);
      if (target !== null) e.linkTarget = target;
    }
    throw err;
  };
  const own = file === STANDARD_INPUT || file === '/dev/stdin' ? 0 : ownDescriptor(file);
  let fd: number;
  try {
    fd = own ?? openSync(file as string, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    // A link to no file (the key moved, the disk it was on not mounted): said of the link and where it leads, with the fix.
    if ((err as FileError).code === 'ENOENT' && target !== null) throw new InputError(danglingLinkProblem(file as string, limits.what), where);
    return fsError(err);
  }
  let handedOver = false;
  try {
    const st = fstatSync(fd);
    if (st.isDirectory()) return fsError(Object.assign(new Error('EISDIR: illegal operation on a directory, read'), { code: 'EISDIR', syscall: 'read' }));
    if (!st.isFile()) {
      if (stream) {
        handedOver = true;
        return stream(fd, own !== null, where);
      }
      throw new InputError(`is ${kindOf(st)}, not a regular file; maildns reads ${limits.what} here only from a file, whole (a pipe or a device may never end): give a regular file`, where);
    }
    if (st.size > limits.maxBytes) throw tooMuch(`is ${sizeText(st.size)}`);
    // Read from where the descriptor is (0 for a file opened here; /dev/stdin may have been read from), never past the limit.
    const chunks: Buffer[] = [];
    let size = 0;
    for (;;) {
      // As much as fstat says is left and one octet more (to see the end), or 64 KiB at a time where it says 0 (/proc).
      const chunk = Buffer.allocUnsafe(Math.min(limits.maxBytes + 1 - size, st.size > size ? st.size - size + 1 : 64 * 1024));
      let n: number;
      try {
        n = readSync(fd, chunk, 0, chunk.length, null);
      } catch (err) {
        return fsError(err);
      }
      if (n === 0) break;
      size += n;
      if (size > limits.maxBytes) throw tooMuch(`is more than ${sizeText(limits.maxBytes)}`);
      chunks.push(n === chunk.length ? chunk : chunk.subarray(0, n));
    }
    return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size);
  } finally {
    if (!handedOver && own === null) closeSync(fd);
  }
}

/**
 * The whole content of a regular input file, synchronously (a plan, the keys it names, a TLS
 * key: what synchronous engines read). At most `maxBytes`; a directory is EISDIR, and a pipe, a
 * socket or a device (a FIFO, /dev/zero) is refused at once, naming the file, where a blocking
 * read would wait for ever or never end. File-system errors are thrown for the caller to name
 * (their `path` is `file`, and through a link `linkTarget` is where it leads).
 */
export function readInputFileSync(file: string, limits: InputLimits): Buffer {
  return readBounded(file, limits) as Buffer;
}

/**
 * The whole content of an input file. A regular file larger than `maxBytes` is refused before it
 * is read; a pipe, socket or device (a FIFO, /dev/stdin, a shell's <(…), /dev/zero) is read as
 * it comes, until its writer closes it, and refused when it delivers more than `maxBytes` or has
 * not ended by the deadline. File-system errors are thrown as they come, for the caller to name.
 */
export async function readInputFile(file: string, limits: InputLimits): Promise<Buffer> {
  return readBounded(file, limits, (fd, own, where) => readStreamed(where, fd, own, limits));
}

/**
 * The whole of standard input, as readInputFile reads a file: a file redirected to it (< main.cf)
 * at most `maxBytes`, a pipe, socket or device (postconf -n |, a terminal, < /dev/zero) as it
 * comes, refused when it delivers more than `maxBytes` or has not ended by the deadline. The
 * messages name it `<stdin>`.
 */
export async function readStandardInput(limits: InputLimits): Promise<Buffer> {
  return readBounded(STANDARD_INPUT, limits, (fd, own, where) => readStreamed(where, fd, own, limits));
}

/** A pipe, socket or device opened (without blocking) as `fd`, read to its end within the limits. */
function readStreamed(file: string, fd: number, own: boolean, limits: InputLimits): Promise<Buffer> {
  const tooMuch = (size: string): InputError => tooMuchInput(size, limits, file);
  const kind = fstatSync(fd);
  const terminal = isatty(fd);
  // A person typing is given longer than a pipe's writer, but never longer than the caller allows.
  const deadlineMs = terminal ? Math.min(TERMINAL_INPUT_DEADLINE_MS, limits.deadlineMs ?? Infinity) : (limits.deadlineMs ?? INPUT_DEADLINE_MS);
  if (terminal) limits.atTerminal?.(file);
  // A pipe or a socket waits for its writer and ends when the writer closes it.
  const stream: Readable =
    kind.isFIFO() || kind.isSocket() ? new net.Socket({ fd, readable: true, writable: false }) : terminal ? new tty.ReadStream(fd) : createReadStream('', { fd, autoClose: !own });
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const stop = (err: Error): void => {
      clearTimeout(timer);
      stream.destroy();
      reject(err);
    };
    const timer = setTimeout(
      () => stop(new InputError(`had not ended after ${deadlineMs / 1000} s: a pipe, socket or device is read until its writer closes it; close it (Ctrl-D ends what is typed at a terminal), or give a file`, file)),
      deadlineMs,
    );
    stream.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limits.maxBytes) stop(tooMuch('delivers more'));
      else chunks.push(chunk);
    });
    stream.on('error', (err) => stop(err));
    stream.on('end', () => {
      clearTimeout(timer);
      stream.destroy();
      resolve(Buffer.concat(chunks));
    });
  });
}
