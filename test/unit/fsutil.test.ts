/** writeFileAtomic and symbolic links: documents are written through them, keys never. */
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { writeFileAtomic } from '../../src/fsutil.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'maildns-fsutil-'));
  mkdirSync(path.join(dir, 'repo'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('writeFileAtomic through a symbolic link', () => {
  it('writes the file the link points to and keeps the link (throughLink)', () => {
    writeFileSync(path.join(dir, 'repo', 'plan.yaml'), 'old\n');
    symlinkSync(path.join('repo', 'plan.yaml'), path.join(dir, 'maildns.yaml'));
    writeFileAtomic(path.join(dir, 'maildns.yaml'), 'new\n', { throughLink: true });
    expect(lstatSync(path.join(dir, 'maildns.yaml')).isSymbolicLink()).toBe(true);
    expect(readFileSync(path.join(dir, 'repo', 'plan.yaml'), 'utf8')).toBe('new\n');
    // No temporary file left beside either.
    expect(readdirSync(dir).sort()).toEqual(['maildns.yaml', 'repo']);
    expect(readdirSync(path.join(dir, 'repo'))).toEqual(['plan.yaml']);
  });

  it('creates the file a link that points nowhere yet names, as a shell redirection does', () => {
    symlinkSync(path.join('repo', 'signed.eml'), path.join(dir, 'out.eml'));
    writeFileAtomic(path.join(dir, 'out.eml'), 'message\n', { throughLink: true });
    expect(readlinkSync(path.join(dir, 'out.eml'))).toBe(path.join('repo', 'signed.eml'));
    expect(readFileSync(path.join(dir, 'repo', 'signed.eml'), 'utf8')).toBe('message\n');
  });

  it('follows a chain of links to the file the last one names, replacing no link on the way', () => {
    // out.eml -> repo/next.eml -> signed.eml (not there yet): the shell's > creates repo/signed.eml.
    symlinkSync(path.join('repo', 'next.eml'), path.join(dir, 'out.eml'));
    symlinkSync('signed.eml', path.join(dir, 'repo', 'next.eml'));
    writeFileAtomic(path.join(dir, 'out.eml'), 'message\n', { throughLink: true });
    expect(lstatSync(path.join(dir, 'repo', 'next.eml')).isSymbolicLink()).toBe(true);
    expect(readFileSync(path.join(dir, 'repo', 'signed.eml'), 'utf8')).toBe('message\n');
  });

  it('refuses a loop of links (ELOOP, naming the file given) and leaves both links as they were', () => {
    symlinkSync('b.yaml', path.join(dir, 'a.yaml'));
    symlinkSync('a.yaml', path.join(dir, 'b.yaml'));
    expect(() => writeFileAtomic(path.join(dir, 'a.yaml'), 'new\n', { throughLink: true })).toThrow(expect.objectContaining({ code: 'ELOOP', path: path.join(dir, 'a.yaml') }));
    expect(readlinkSync(path.join(dir, 'a.yaml'))).toBe('b.yaml');
    expect(readlinkSync(path.join(dir, 'b.yaml'))).toBe('a.yaml');
    expect(readdirSync(dir).sort()).toEqual(['a.yaml', 'b.yaml', 'repo']);
  });

  it('replaces the link itself without throughLink (a key is never written where a planted link points)', () => {
    writeFileSync(path.join(dir, 'repo', 'elsewhere'), 'untouched\n');
    symlinkSync(path.join(dir, 'repo', 'elsewhere'), path.join(dir, 'mail.private'));
    writeFileAtomic(path.join(dir, 'mail.private'), 'key\n', { mode: 0o600 });
    expect(lstatSync(path.join(dir, 'mail.private')).isSymbolicLink()).toBe(false);
    expect(readFileSync(path.join(dir, 'mail.private'), 'utf8')).toBe('key\n');
    expect(readFileSync(path.join(dir, 'repo', 'elsewhere'), 'utf8')).toBe('untouched\n');
  });
});

describe('openAtomicFile through a symbolic link', () => {
  it('streams into the file a link points to, or to the name it holds when there is none yet, and keeps the link', async () => {
    const { openAtomicFile } = await import('../../src/fsutil.js');
    writeFileSync(path.join(dir, 'repo', 'report.json'), 'old\n');
    symlinkSync(path.join('repo', 'report.json'), path.join(dir, 'to-file.json'));
    symlinkSync(path.join('repo', 'next.json'), path.join(dir, 'to-none.json'));
    for (const name of ['to-file.json', 'to-none.json']) {
      const out = openAtomicFile(path.join(dir, name));
      out.stream.write('new\n');
      await out.commit();
      expect(lstatSync(path.join(dir, name)).isSymbolicLink()).toBe(true);
    }
    expect(readFileSync(path.join(dir, 'repo', 'report.json'), 'utf8')).toBe('new\n');
    expect(readFileSync(path.join(dir, 'repo', 'next.json'), 'utf8')).toBe('new\n');
  });
});

describe('writeFileAtomic through a link to a pipe', () => {
  it('writes into the pipe (as sign -o /dev/stdout would), and leaves it a pipe', async () => {
    const { execFileSync, spawn } = await import('node:child_process');
    const fifo = path.join(dir, 'repo', 'pipe');
    execFileSync('mkfifo', [fifo]);
    symlinkSync(fifo, path.join(dir, 'out.eml'));
    const reader = spawn('cat', [fifo]);
    let read = '';
    reader.stdout.on('data', (c: Buffer) => (read += c.toString()));
    const ended = new Promise((resolve) => reader.on('close', resolve));
    // A pipe replaced by a file would leave the reader waiting for ever: it is stopped then, and the text is missing.
    setTimeout(() => reader.kill(), 4000).unref();
    writeFileAtomic(path.join(dir, 'out.eml'), 'message\n', { throughLink: true });
    await ended;
    expect(read).toBe('message\n');
    expect(lstatSync(fifo).isFIFO()).toBe(true);
    expect(readdirSync(path.join(dir, 'repo'))).toEqual(['pipe']);
  });
});

describe('a file replaced keeps its permission bits', () => {
  const modeOf = (p: string): number => lstatSync(p).mode & 0o7777;

  it('a document replaced directly or through a link keeps 0600 or 0640; a new one gets the default', async () => {
    const { chmodSync } = await import('node:fs');
    writeFileSync(path.join(dir, 'plan.yaml'), 'old\n');
    chmodSync(path.join(dir, 'plan.yaml'), 0o600);
    writeFileAtomic(path.join(dir, 'plan.yaml'), 'new\n', { mode: 0o644 });
    expect(modeOf(path.join(dir, 'plan.yaml'))).toBe(0o600);
    writeFileSync(path.join(dir, 'repo', 'signed.eml'), 'old\n');
    chmodSync(path.join(dir, 'repo', 'signed.eml'), 0o640);
    symlinkSync(path.join('repo', 'signed.eml'), path.join(dir, 'out.eml'));
    writeFileAtomic(path.join(dir, 'out.eml'), 'new\n', { throughLink: true });
    expect(modeOf(path.join(dir, 'repo', 'signed.eml'))).toBe(0o640);
    expect(readFileSync(path.join(dir, 'repo', 'signed.eml'), 'utf8')).toBe('new\n');
    writeFileAtomic(path.join(dir, 'fresh.yaml'), 'new\n');
    expect(modeOf(path.join(dir, 'fresh.yaml'))).toBe(0o644);
  });

  it('a looser mode is kept too (the caller\'s mode is only that of a new file), but never the setuid, setgid or sticky bits', async () => {
    const { chmodSync } = await import('node:fs');
    writeFileSync(path.join(dir, 'shared.yaml'), 'old\n');
    chmodSync(path.join(dir, 'shared.yaml'), 0o6664);
    writeFileAtomic(path.join(dir, 'shared.yaml'), 'new\n', { mode: 0o644 });
    expect(modeOf(path.join(dir, 'shared.yaml'))).toBe(0o664);
  });

  it('a secret is given exactly its mode: a 0644 key replaced becomes 0600, and a planted link\'s target lends it nothing', async () => {
    const { chmodSync } = await import('node:fs');
    writeFileSync(path.join(dir, 'mail.private'), 'old key\n');
    chmodSync(path.join(dir, 'mail.private'), 0o644);
    writeFileAtomic(path.join(dir, 'mail.private'), 'key\n', { mode: 0o600, secret: true });
    expect(modeOf(path.join(dir, 'mail.private'))).toBe(0o600);
    // Without throughLink the link is replaced, not followed: its target's mode is not the replaced file's.
    writeFileSync(path.join(dir, 'repo', 'elsewhere'), 'x\n');
    chmodSync(path.join(dir, 'repo', 'elsewhere'), 0o666);
    symlinkSync(path.join(dir, 'repo', 'elsewhere'), path.join(dir, 'linked.txt'));
    writeFileAtomic(path.join(dir, 'linked.txt'), 'record\n', { mode: 0o600 });
    expect(modeOf(path.join(dir, 'linked.txt'))).toBe(0o600);
    expect(modeOf(path.join(dir, 'repo', 'elsewhere'))).toBe(0o666);
  });

  it('a report streamed with openAtomicFile keeps the mode of the one it replaces', async () => {
    const { chmodSync } = await import('node:fs');
    const { openAtomicFile } = await import('../../src/fsutil.js');
    writeFileSync(path.join(dir, 'report.json'), 'old\n');
    chmodSync(path.join(dir, 'report.json'), 0o600);
    const out = openAtomicFile(path.join(dir, 'report.json'));
    out.stream.write('new\n');
    await out.commit();
    expect(modeOf(path.join(dir, 'report.json'))).toBe(0o600);
    expect(readFileSync(path.join(dir, 'report.json'), 'utf8')).toBe('new\n');
  });
});

describe.runIf(process.getuid?.() === 0)('a file replaced by root keeps its owner and group', () => {
  it('a document keeps them, directly and through a link; a secret is the writer\'s', async () => {
    const { chmodSync, chownSync } = await import('node:fs');
    const { openAtomicFile } = await import('../../src/fsutil.js');
    for (const name of ['plan.yaml', path.join('repo', 'signed.eml'), 'report.json', 'mail.private']) {
      writeFileSync(path.join(dir, name), 'old\n');
      chownSync(path.join(dir, name), 12345, 23456);
      chmodSync(path.join(dir, name), 0o640);
    }
    symlinkSync(path.join('repo', 'signed.eml'), path.join(dir, 'out.eml'));
    writeFileAtomic(path.join(dir, 'plan.yaml'), 'new\n', { mode: 0o644 });
    writeFileAtomic(path.join(dir, 'out.eml'), 'new\n', { throughLink: true });
    const out = openAtomicFile(path.join(dir, 'report.json'));
    out.stream.write('new\n');
    await out.commit();
    writeFileAtomic(path.join(dir, 'mail.private'), 'key\n', { mode: 0o600, secret: true });
    const owner = (name: string): string => {
      const st = lstatSync(path.join(dir, name));
      return `${st.uid}:${st.gid} ${(st.mode & 0o7777).toString(8)}`;
    };
    expect(owner('plan.yaml')).toBe('12345:23456 640');
    expect(owner(path.join('repo', 'signed.eml'))).toBe('12345:23456 640');
    expect(owner('report.json')).toBe('12345:23456 640');
    expect(owner('mail.private')).toBe('0:0 600');
  });
});

describe('a name that ends in a slash names a directory, never a file to create', () => {
  it('a dangling link to newdir/ is refused, naming the link, its target and the fix, and creates nothing', async () => {
    const { openAtomicFile } = await import('../../src/fsutil.js');
    symlinkSync('newdir/', path.join(dir, 'plan.yaml'));
    const refusal = `${path.join(dir, 'plan.yaml')}: is a symbolic link to newdir/, which names a directory (the trailing slash) that does not exist, so no file can be written there: point it at a file (ln -sfn newdir/plan.yaml ${path.join(dir, 'plan.yaml')}), or remove it`;
    expect(() => writeFileAtomic(path.join(dir, 'plan.yaml'), 'new\n', { throughLink: true })).toThrow(refusal);
    expect(() => openAtomicFile(path.join(dir, 'plan.yaml'))).toThrow(refusal);
    expect(readdirSync(dir).sort()).toEqual(['plan.yaml', 'repo']);
    expect(readlinkSync(path.join(dir, 'plan.yaml'))).toBe('newdir/');
  });

  it('so is a link further down a chain, and one to missing/. or missing/..', () => {
    symlinkSync(path.join('repo', 'next'), path.join(dir, 'out.eml'));
    symlinkSync('../newdir/', path.join(dir, 'repo', 'next'));
    expect(() => writeFileAtomic(path.join(dir, 'out.eml'), 'x\n', { throughLink: true })).toThrow(
      `${path.join(dir, 'out.eml')}: leads to the symbolic link ${path.join(dir, 'repo', 'next')}, a link to ../newdir/, which names a directory (the trailing slash) that does not exist, so no file can be written there: point it at a file (ln -sfn ../newdir/out.eml ${path.join(dir, 'repo', 'next')}), or remove it`,
    );
    for (const text of ['missing/.', 'missing/..']) {
      symlinkSync(text, path.join(dir, 'dot.yaml'));
      expect(() => writeFileAtomic(path.join(dir, 'dot.yaml'), 'x\n', { throughLink: true })).toThrow(/names a directory/);
      rmSync(path.join(dir, 'dot.yaml'));
    }
    expect(readdirSync(dir).sort()).toEqual(['out.eml', 'repo']);
    expect(readdirSync(path.join(dir, 'repo'))).toEqual(['next']);
  });

  it('a file name given with a trailing slash is refused as naming a directory, not a part of the path that is none', async () => {
    const { openAtomicFile } = await import('../../src/fsutil.js');
    const given = path.join(dir, 'newdir') + '/';
    const refusal = `${given}: names a directory (it ends in '/'), not a file; give a file name`;
    expect(() => writeFileAtomic(given, 'x\n', { throughLink: true })).toThrow(refusal);
    expect(() => writeFileAtomic(given, 'x\n')).toThrow(refusal);
    expect(() => openAtomicFile(given)).toThrow(refusal);
    expect(() => writeFileAtomic(`${dir}/repo/..`, 'x\n')).toThrow(`${dir}/repo/..: names a directory (it ends in '..'), not a file; give a file name`);
    expect(readdirSync(dir).sort()).toEqual(['repo']);
  });

  it('an empty name is ENOENT, as the kernel answers for it, and no temporary file is made in the working directory', async () => {
    const { openAtomicFile } = await import('../../src/fsutil.js');
    const before = readdirSync('.');
    expect(() => writeFileAtomic('', 'x\n')).toThrow(expect.objectContaining({ code: 'ENOENT', path: '' }));
    expect(() => openAtomicFile('')).toThrow(expect.objectContaining({ code: 'ENOENT', path: '' }));
    expect(readdirSync('.')).toEqual(before);
  });
});

describe('what is wrong through a link is said of the link and where it leads', () => {
  it('a link to a directory is refused before a temporary file is made beside that directory', async () => {
    const { openAtomicFile } = await import('../../src/fsutil.js');
    symlinkSync('repo', path.join(dir, 'plan.yaml'));
    const refusal = `${path.join(dir, 'plan.yaml')}: is a symbolic link that leads to the directory ${path.join(dir, 'repo')}, not a file; point the link at a file (ln -sfn ${path.join(dir, 'repo', 'plan.yaml')} ${path.join(dir, 'plan.yaml')}), or give another file name`;
    expect(() => writeFileAtomic(path.join(dir, 'plan.yaml'), 'x\n', { throughLink: true })).toThrow(refusal);
    expect(() => openAtomicFile(path.join(dir, 'plan.yaml'))).toThrow(refusal);
    // A directory named itself stays EISDIR about that name; without throughLink the link is replaced, as before.
    expect(() => writeFileAtomic(path.join(dir, 'repo'), 'x\n', { throughLink: true })).toThrow(expect.objectContaining({ code: 'EISDIR', path: path.join(dir, 'repo') }));
    expect(readdirSync(dir).sort()).toEqual(['plan.yaml', 'repo']);
    expect(readdirSync(path.join(dir, 'repo'))).toEqual([]);
  });

  it('a link into a directory that does not exist: ENOENT about the link, with the file it leads to', async () => {
    const { openAtomicFile } = await import('../../src/fsutil.js');
    symlinkSync(path.join('missing', 'plan.yaml'), path.join(dir, 'plan.yaml'));
    const named = expect.objectContaining({ code: 'ENOENT', path: path.join(dir, 'plan.yaml'), linkTarget: path.join(dir, 'missing', 'plan.yaml') });
    expect(() => writeFileAtomic(path.join(dir, 'plan.yaml'), 'x\n', { throughLink: true })).toThrow(named);
    expect(() => openAtomicFile(path.join(dir, 'plan.yaml'))).toThrow(named);
    // Not through a link: no linkTarget.
    let plain: unknown;
    try {
      writeFileAtomic(path.join(dir, 'missing', 'x'), 'x\n');
    } catch (err) {
      plain = err;
    }
    expect(plain).toMatchObject({ code: 'ENOENT', path: path.join(dir, 'missing', 'x') });
    expect(plain).not.toHaveProperty('linkTarget');
  });
});

describe('readInputFileSync: a regular file, whole and bounded', () => {
  const limits = { maxBytes: 16, what: 'a test input', fix: 'is this the file?' };

  it('reads a file up to the limit, and refuses one larger, before or while reading', async () => {
    const { readInputFileSync } = await import('../../src/fsutil.js');
    writeFileSync(path.join(dir, 'ok'), 'sixteen octets!\n');
    expect(readInputFileSync(path.join(dir, 'ok'), limits).toString()).toBe('sixteen octets!\n');
    writeFileSync(path.join(dir, 'big'), 'seventeen octets\n');
    expect(() => readInputFileSync(path.join(dir, 'big'), limits)).toThrow(`${path.join(dir, 'big')}: is 0 KiB, more than the 0 KiB maildns reads as a test input; is this the file?`);
    writeFileSync(path.join(dir, 'empty'), '');
    expect(readInputFileSync(path.join(dir, 'empty'), limits)).toHaveLength(0);
  });

  it('a file whose size fstat does not give (/proc) is read to its end, within the limit', async () => {
    const { readInputFileSync } = await import('../../src/fsutil.js');
    if (!lstatSync('/proc/self/status', { throwIfNoEntry: false })) return;
    expect(readInputFileSync('/proc/self/status', { ...limits, maxBytes: 1 << 20 }).toString()).toMatch(/^Name:/);
    expect(() => readInputFileSync('/proc/self/status', limits)).toThrow(/\/proc\/self\/status: is more than 0 KiB, more than the 0 KiB maildns reads as a test input/);
  });

  it('a FIFO is refused at once (no writer waited for), a directory is EISDIR, a missing file ENOENT about its name', async () => {
    const { execFileSync } = await import('node:child_process');
    const { readInputFileSync } = await import('../../src/fsutil.js');
    const fifo = path.join(dir, 'pipe');
    execFileSync('mkfifo', [fifo]);
    expect(() => readInputFileSync(fifo, limits)).toThrow(`${fifo}: is a FIFO (named pipe), not a regular file; maildns reads a test input here only from a file, whole (a pipe or a device may never end): give a regular file`);
    expect(() => readInputFileSync(path.join(dir, 'repo'), limits)).toThrow(expect.objectContaining({ code: 'EISDIR', path: path.join(dir, 'repo') }));
    expect(() => readInputFileSync(path.join(dir, 'none'), limits)).toThrow(expect.objectContaining({ code: 'ENOENT', path: path.join(dir, 'none') }));
  });

  it('through a link: read as the file it leads to; a link to a FIFO or to nothing is said of `link -> target`', async () => {
    const { execFileSync } = await import('node:child_process');
    const { readInputFileSync } = await import('../../src/fsutil.js');
    writeFileSync(path.join(dir, 'repo', 'key'), 'key\n');
    symlinkSync(path.join('repo', 'key'), path.join(dir, 'to-key'));
    expect(readInputFileSync(path.join(dir, 'to-key'), limits).toString()).toBe('key\n');
    execFileSync('mkfifo', [path.join(dir, 'repo', 'pipe')]);
    symlinkSync(path.join(dir, 'repo', 'pipe'), path.join(dir, 'to-pipe'));
    expect(() => readInputFileSync(path.join(dir, 'to-pipe'), limits)).toThrow(`${path.join(dir, 'to-pipe')} -> ${path.join(dir, 'repo', 'pipe')}: is a FIFO (named pipe)`);
    symlinkSync(path.join(dir, 'gone', 'key'), path.join(dir, 'to-none'));
    expect(() => readInputFileSync(path.join(dir, 'to-none'), limits)).toThrow(
      `${path.join(dir, 'to-none')} -> ${path.join(dir, 'gone', 'key')}: the symbolic link leads to no file; point it at a test input (ln -sfn FILE ${path.join(dir, 'to-none')}), or remove it`,
    );
  });
});
