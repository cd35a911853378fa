/**
 * Domain lists for `maildns check`: names on the command line and in files (one per line, `#`
 * comments and blank lines ignored, `-` for standard input). A file is read twice, once to
 * validate every line before any DNS question is asked (bad input exits 2 up front) and once to
 * stream the names, so the list itself is never held in memory; only a packed set of the names
 * seen is kept (src/check/name-set.ts, about 25 bytes a name), so that a name given twice, in
 * whatever case (NEWCO.TEST and newco.test), is checked once.
 */
import { statSync } from 'node:fs';
import { InputError } from '../errors.js';
import { failedOn } from '../fsutil.js';
import { domainNameProblem, isAddress, normalizeName } from '../names.js';
import { LineTooLong, textLines } from './lines.js';
import { NameSet } from './name-set.js';

function cleanLine(line: string): string {
  return line.replace(/#.*$/, '').trim();
}

/** Longest part of a bad line the message quotes: a binary file or a dump on one line stays one line on the terminal. */
const QUOTED_MAX = 80;

/**
 * The longest line of a domain list on standard input: a domain name is at most 253 characters,
 * and a comment beside it leaves room to spare; standard input can be read only once, so a line is
 * held whole until it ends (a file's line is only scanned: it ends where the file does).
 */
const STDIN_LINE_MAX = 64 * 1024;

/** Where a name given as an argument comes from, in its error. */
const COMMAND_LINE = 'command line';

function checkName(name: string, where: string): string {
  // An address is no domain: its TXT, MX and _dmarc would be asked as names (192.0.2.1.) and say nothing of it.
  const problem = isAddress(name.trim()) ? 'is an address; give the domain mail is sent from (the From and MAIL FROM domain)' : domainNameProblem(name);
  const quoted = name.length > QUOTED_MAX ? `${name.slice(0, QUOTED_MAX)}…" (${name.length} characters)` : `${name}"`;
  const hint = where === COMMAND_LINE ? 'give a name such as example.com' : 'write one domain per line, such as example.com';
  if (problem) throw new InputError(`"${quoted} is not a domain name: it ${problem}; ${hint}`, where);
  return normalizeName(name);
}

function* fileLines(file: string): Generator<{ text: string; line: number }> {
  let line = 0;
  for (const raw of textLines(file)) {
    line++;
    const text = cleanLine(raw);
    if (text) yield { text, line };
  }
}

export interface DomainSource {
  /** How many different names there are (known after validation). */
  count: number;
  /** Names given more than once (after normalisation), each checked once. */
  duplicates: number;
  names(): AsyncGenerator<string>;
}

/** Validate every name up front and return a source that streams each different name once, in the order first given. */
export async function domainSource(args: readonly string[], files: readonly string[]): Promise<DomainSource> {
  const seen = new NameSet();
  let duplicates = 0;
  const note = (name: string): void => {
    if (!seen.add(name)) duplicates++;
  };
  const fromArgs = args.map((a) => checkName(a.trim(), COMMAND_LINE));
  fromArgs.forEach(note);
  const stdin: string[] = [];
  for (const file of files) {
    if (file === '-') {
      // Read as a file is (textLines, its line breaks), a chunk at a time: a long list streams in,
      // but a line longer than any line of a domain list (< /dev/zero, a binary piped in) is refused
      // at that line, before it grows without end.
      let i = 0;
      try {
        for (const raw of textLines(0, 64 * 1024, STDIN_LINE_MAX)) {
          i++;
          const text = cleanLine(raw);
          if (!text) continue;
          // Kept only the first time: `yes example.com |` holds one name, not one a line.
          const name = checkName(text, `<stdin>:${i}`);
          if (seen.add(name)) stdin.push(name);
          else duplicates++;
        }
      } catch (err) {
        if (err instanceof LineTooLong) {
          throw new InputError(`a line longer than ${STDIN_LINE_MAX} characters, where a domain name has at most 253; write one domain per line, such as example.com (is this a list of domains?)`, `<stdin>:${err.line}`);
        }
        if (err instanceof InputError) throw err;
        failedOn(err, '<stdin>', 'read the domain list');
      }
      continue;
    }
    try {
      if (!statSync(file).isFile()) throw new InputError('is not a file; pass a text file with one domain per line', file);
    } catch (err) {
      if (err instanceof InputError) throw err;
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new InputError('cannot read the domain list: no such file', file);
      failedOn(err, file, 'read the domain list');
    }
    for (const { text, line } of fileLines(file)) note(checkName(text, `${file}:${line}`));
  }
  return {
    count: seen.size,
    duplicates,
    async *names() {
      // A second set, filled as names are handed out: each name's later occurrences are skipped.
      const handedOut = new NameSet();
      const first = function* (names: Iterable<string>): Generator<string> {
        for (const n of names) if (handedOut.add(n)) yield n;
      };
      yield* first(fromArgs);
      for (const file of files) {
        if (file === '-') yield* first(stdin);
        // Checked again as it is read again: a list rewritten since it was validated (another job regenerating it) hands out no name unchecked.
        else for (const { text, line } of fileLines(file)) yield* first([checkName(text, `${file}:${line}`)]);
      }
    },
  };
}
