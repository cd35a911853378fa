/**
 * Domain lists for `maildns check`: names on the command line and in files (one per line, `#`
 * comments and blank lines ignored, `-` for standard input). A file is read twice, once to
 * validate every line before any DNS question is asked (bad input exits 2 up front) and once to
 * stream the names, so a list of a million domains is never held in memory.
 */
import { createReadStream, readFileSync, statSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { InputError } from '../errors.js';
import { domainNameProblem, normalizeName } from '../names.js';

function cleanLine(line: string): string {
  return line.replace(/#.*$/, '').trim();
}

function checkName(name: string, where: string): string {
  const problem = domainNameProblem(name);
  if (problem) throw new InputError(`"${name}" is not a domain name: it ${problem}; write one domain per line, such as example.com`, where);
  return normalizeName(name);
}

async function* fileLines(file: string): AsyncGenerator<{ text: string; line: number }> {
  const rl = createInterface({ input: createReadStream(file, { encoding: 'utf8' }), crlfDelay: Infinity });
  let line = 0;
  for await (const raw of rl) {
    line++;
    const text = cleanLine(raw);
    if (text) yield { text, line };
  }
}

export interface DomainSource {
  /** How many names there are (known after validation). */
  count: number;
  names(): AsyncGenerator<string>;
}

/** Validate every name up front and return a source that streams them in order. */
export async function domainSource(args: readonly string[], files: readonly string[]): Promise<DomainSource> {
  const fromArgs = args.map((a) => checkName(a.trim(), 'command line'));
  let count = fromArgs.length;
  const stdin: string[] = [];
  for (const file of files) {
    if (file === '-') {
      readFileSync(0, 'utf8')
        .split(/\r?\n/)
        .forEach((raw, i) => {
          const text = cleanLine(raw);
          if (text) stdin.push(checkName(text, `<stdin>:${i + 1}`));
        });
      count += stdin.length;
      continue;
    }
    try {
      if (!statSync(file).isFile()) throw new InputError('is not a file; pass a text file with one domain per line', file);
    } catch (err) {
      if (err instanceof InputError) throw err;
      throw new InputError(`cannot read the domain list: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`, file);
    }
    for await (const { text, line } of fileLines(file)) {
      checkName(text, `${file}:${line}`);
      count++;
    }
  }
  return {
    count,
    async *names() {
      yield* fromArgs;
      for (const file of files) {
        if (file === '-') yield* stdin;
        else for await (const { text } of fileLines(file)) yield normalizeName(text);
      }
    },
  };
}
