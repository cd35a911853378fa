/**
 * Every flag that takes a value is given one. yargs-parser fills a flag written without its value
 * (last on the line, followed by another flag, or not last in a group such as `-jq`) with what it
 * would have had if absent: the option's default, '' for a string, undefined for a number, [] for
 * an array. So `maildns check example.com --timeout` ran with the default timeout, `--max-length`
 * alone flattened to 255 octets, `--plan` alone read maildns.yaml, and `--port ''` became 0 (any
 * free port). `nargs-eats-options` does not change that for the options without `nargs`, and for
 * those with it (`--all -all`, `--domains-file -`) it takes even the next flag as the value.
 *
 * So the command line's words are read here as yargs-parser reads them, against the options of the
 * command being run (yargs' own table of them), and the first flag whose value is missing, empty,
 * or not a number where a number is wanted (a whole one where a fraction means nothing) is named
 * with what it wants. This runs for every command from src/cli/main.ts, before yargs' checks and
 * the command's handler; a flag whose bare form means something (`spf compose --mx`) says so with
 * {@link bareFlagMeansSomething}, one whose empty value does (`spf --sender ''`) with
 * {@link emptyValueMeansSomething}, a number option that takes whole numbers only with
 * {@link takesWholeNumber}.
 */
import type { Argv } from 'yargs';

/** The part of yargs' option table (`getOptions()`) that says which flags take a value. */
export interface OptionTable {
  key: Record<string, unknown>;
  alias: Record<string, string[]>;
  boolean: string[];
  count: string[];
  number: string[];
  array: string[];
  narg: Record<string, number>;
  choices: Record<string, readonly unknown[]>;
}

/** yargs-parser's idea of a negative number, which is a value and never a flag. */
const NEGATIVE = /^-([0-9]+(\.[0-9]+)?|\.[0-9]+)$/;
/** A number as a person writes one: no hex, no "Infinity", no inner spaces. */
const DECIMAL = /^[-+]?(\d+(\.\d*)?|\.\d+)(e[-+]?\d+)?$/i;

/** Options whose bare flag, or empty value, means something, and those that take whole numbers only, by option table (yargs makes one for each command it runs). */
interface Marks {
  bare: Set<string>;
  empty: Set<string>;
  whole: Set<string>;
}
const marksByTable = new WeakMap<object, Marks>();
const noMarks = (): Marks => ({ bare: new Set(), empty: new Set(), whole: new Set() });

/** yargs' option table and the descriptions in its usage instance, which @types/yargs does not show. */
interface YargsInside {
  getOptions(): OptionTable;
  getInternalMethods?: () => { getUsageInstance?: () => { getDescriptions?: () => Record<string, unknown> } };
}

function mark<T>(y: Argv<T>, kind: keyof Marks, keys: readonly string[]): Argv<T> {
  const table = (y as unknown as YargsInside).getOptions();
  let m = marksByTable.get(table);
  if (!m) marksByTable.set(table, (m = noMarks()));
  for (const k of keys) m[kind].add(k);
  return y;
}

/**
 * Options of the command being built whose flag alone is meaningful (`spf compose --mx` alone: the
 * domain's own MX), so a missing value is not refused.
 */
export function bareFlagMeansSomething<T>(y: Argv<T>, ...keys: string[]): Argv<T> {
  return mark(y, 'bare', keys);
}

/** Options of the command being built whose empty value is meaningful (`spf --sender ''`: the null sender of a bounce). */
export function emptyValueMeansSomething<T>(y: Argv<T>, ...keys: string[]): Argv<T> {
  return mark(y, 'empty', keys);
}

/**
 * Number options of the command being built that count something (milliseconds, octets, a port,
 * domains at once), so `--max-length 100.5` is refused here rather than after the DNS questions.
 */
export function takesWholeNumber<T>(y: Argv<T>, ...keys: string[]): Argv<T> {
  return mark(y, 'whole', keys);
}

const camel = (s: string): string => s.replace(/-+([^-])/g, (_, c: string) => c.toUpperCase());

/** What an option's description says it is, up to its first clause: "milliseconds to wait for one DNS answer (…)". */
function firstClause(describe: string, cutAtColon: boolean): string {
  let depth = 0;
  for (let i = 0; i < describe.length; i++) {
    const c = describe[i];
    if (c === '(') depth++;
    else if (c === ')') depth = Math.max(0, depth - 1);
    else if (depth === 0 && (c === ';' || (cutAtColon && c === ':' && describe[i + 1] === ' '))) return describe.slice(0, i).trim();
  }
  return describe.trim();
}

class Reader {
  /** Each name a flag can be written with (aliases, camelCase), to its option's main name. */
  private readonly canonical = new Map<string, string>();
  /** Each option's names: its main one first. */
  private readonly group = new Map<string, string[]>();

  constructor(
    private readonly options: OptionTable,
    private readonly descriptions: Readonly<Record<string, string>>,
    private readonly marks: Marks,
  ) {
    const groupOf = new Map<string, Set<string>>();
    const join = (names: string[]): void => {
      const merged = new Set<string>(names);
      for (const n of names) {
        const g = groupOf.get(n);
        if (g) for (const x of g) merged.add(x);
      }
      for (const n of merged) groupOf.set(n, merged);
    };
    for (const key of Object.keys(options.key)) join([key, ...(options.alias[key] ?? [])]);
    for (const [key, aliases] of Object.entries(options.alias)) join([key, ...aliases]);
    for (const g of new Set(groupOf.values())) {
      const names = [...g];
      // The main name: the first long one, as the help shows it.
      const main = names.find((n) => n.length > 1 && !n.includes('.')) ?? names[0]!;
      this.group.set(main, [main, ...names.filter((n) => n !== main)]);
      for (const n of names) {
        this.canonical.set(n, main);
        this.canonical.set(camel(n), main);
      }
    }
  }

  /** The option a flag's name (as written, without dashes) stands for, when the command has it. */
  keyOf(name: string): string | undefined {
    return this.canonical.get(name);
  }

  private names(key: string): string[] {
    return this.group.get(key) ?? [key];
  }

  private is(key: string, list: readonly string[]): boolean {
    return this.names(key).some((n) => list.includes(n));
  }

  takesValue(key: string): boolean {
    return !this.is(key, this.options.boolean) && !this.is(key, this.options.count);
  }

  isArray(key: string): boolean {
    return this.is(key, this.options.array);
  }

  /** `nargs` set: yargs (with nargs-eats-options) takes the next word, whatever it is. */
  eatsNext(key: string): boolean {
    return this.names(key).some((n) => this.options.narg[n] !== undefined);
  }

  /** A word after a flag with `nargs` that still reads as a flag: any `--name`, or `-x…` whose letters are all this command's short flags. */
  looksLikeFlag(word: string): boolean {
    if (/^--./.test(word)) return true;
    const letters = /^-([A-Za-z]+)/.exec(word)?.[1];
    return letters !== undefined && [...letters].every((l) => this.canonical.has(l));
  }

  private choices(key: string): readonly unknown[] | undefined {
    for (const n of this.names(key)) if (this.options.choices[n]?.length) return this.options.choices[n];
    return undefined;
  }

  private isWhole(key: string): boolean {
    return this.names(key).some((n) => this.marks.whole.has(n));
  }

  /** What the option wants, as "a whole number" and "milliseconds to wait for one DNS answer (two attempts per server)". */
  private wants(key: string): { kind: string; what: string } {
    const choices = this.choices(key);
    const number = this.isWhole(key) ? 'a whole number' : 'a number';
    const kind = choices ? `one of ${choices.join(', ')}` : this.is(key, this.options.number) ? number : 'a value';
    const describe = this.names(key).map((n) => this.descriptions[n]).find((d) => typeof d === 'string' && d !== '');
    return { kind, what: describe ? firstClause(describe, choices !== undefined) : '' };
  }

  /** "--timeout needs a whole number, not "abc": milliseconds to wait for one DNS answer (two attempts per server)" */
  private needs(written: string, key: string, got?: string): string {
    // A one-letter option (`dmarc compose --p`) has no longer name to add.
    const flag = key.length === 1 || written === `--${key}` ? written : `${written} (--${key})`;
    const { kind, what } = this.wants(key);
    return `${flag} needs ${kind}${got ? `, not ${got}` : ''}${what ? `: ${what}` : ''}`;
  }

  missing(written: string, key: string): string | null {
    if (!this.takesValue(key) || this.marks.bare.has(key)) return null;
    return this.needs(written, key);
  }

  given(written: string, key: string, value: string): string | null {
    if (!this.takesValue(key)) return null;
    if (value.trim() === '' && !(value === '' && this.marks.empty.has(key))) return this.needs(written, key, 'an empty one');
    if (!this.is(key, this.options.number)) return null;
    // 1e3 and 2.0 are whole; 1e999 is Infinity, which is not.
    if (!DECIMAL.test(value.trim()) || (this.isWhole(key) && !Number.isInteger(Number(value)))) return this.needs(written, key, JSON.stringify(value));
    return null;
  }

  negated(written: string, key: string): string | null {
    if (!this.takesValue(key)) return null;
    return `${written} is not a flag: ${this.needs(`--${key}`, key)}`;
  }
}

/** A flag of the command line, as written, and the value yargs-parser gives it: the word taken, or none. */
interface Written {
  written: string;
  key: string;
  value: string | undefined;
  /** `--no-NAME`. */
  negated?: true;
}

/** The flags of `words` that the command has, in order, each with its value as yargs-parser reads it. */
function* flagsOf(words: readonly string[], r: Reader): Generator<Written> {
  // The word after a flag written as `--name` (or the last of a group `-abc`), when it is the flag's value.
  const valueAfter = (i: number, key: string, shortForm: boolean): string | undefined => {
    if (!r.takesValue(key)) return undefined;
    const next = words[i + 1];
    let taken: boolean;
    if (next === undefined) taken = false;
    else if (r.eatsNext(key)) taken = !r.looksLikeFlag(next);
    else if (r.isArray(key)) taken = !/^-/.test(next) || NEGATIVE.test(next);
    // yargs-parser's own tests: a long flag never takes a word starting with "-", a short one takes a lone "-".
    else if (shortForm) taken = !/^(-|--)[^-]/.test(next) || NEGATIVE.test(next);
    else taken = !/^-/.test(next) || NEGATIVE.test(next);
    return taken ? next : undefined;
  };

  for (let i = 0; i < words.length; i++) {
    const word = words[i]!;
    if (word === '--') return;
    let m: RegExpExecArray | null;
    if ((m = /^--([^=]+)=([\s\S]*)$/.exec(word))) {
      const key = r.keyOf(m[1]!);
      if (key !== undefined) yield { written: `--${m[1]}`, key, value: m[2]! };
    } else if ((m = /^--no-(.+)$/.exec(word))) {
      const key = r.keyOf(m[1]!);
      if (key !== undefined) yield { written: word, key, value: undefined, negated: true };
    } else if ((m = /^--(.+)$/.exec(word))) {
      const key = r.keyOf(m[1]!);
      if (key === undefined) continue;
      const value = valueAfter(i, key, false);
      yield { written: word, key, value };
      if (value !== undefined) i++;
    } else if (/^-[^-]/.test(word) && !NEGATIVE.test(word)) {
      // A group of short flags, read letter by letter as yargs-parser does.
      const letters = word.slice(1, -1).split('');
      let done = false;
      for (let j = 0; j < letters.length && !done; j++) {
        const letter = letters[j]!;
        const rest = word.slice(j + 2);
        let value: string | undefined;
        if (letters[j + 1] === '=') {
          value = word.slice(j + 3);
          done = true;
        } else if (rest === '-') {
          value = rest;
        } else if (/[A-Za-z]/.test(letter) && /^-?\d+(\.\d*)?(e-?\d+)?$/.test(rest)) {
          value = rest;
          done = true;
        } else if (letters[j + 1] !== undefined && /\W/.test(letters[j + 1]!)) {
          value = rest;
          done = true;
        }
        const key = r.keyOf(letter);
        if (key !== undefined) yield { written: `-${letter}`, key, value };
      }
      const last = word.slice(-1);
      if (done || last === '-') continue;
      const key = r.keyOf(last);
      if (key === undefined) continue;
      const value = valueAfter(i, key, true);
      yield { written: `-${last}`, key, value };
      if (value !== undefined) i++;
    }
  }
}

/**
 * The first flag of `words` (the command line after the program's name) that takes a value and was
 * not given a good one, as one line ("--timeout needs a whole number: milliseconds to wait …");
 * null when every such flag has its value. Flags the command does not have are left to yargs'
 * strict mode.
 */
export function flagValueProblem(
  words: readonly string[],
  options: OptionTable,
  descriptions: Readonly<Record<string, string>> = {},
  marks: Marks = marksByTable.get(options) ?? noMarks(),
): string | null {
  const r = new Reader(options, descriptions, marks);
  for (const f of flagsOf(words, r)) {
    const problem = f.negated ? r.negated(f.written, f.key) : f.value === undefined ? r.missing(f.written, f.key) : r.given(f.written, f.key, f.value);
    if (problem) return problem;
  }
  return null;
}

/**
 * `--json` is `--format json` in the commands that have both (check, report merge, records), and
 * used to win silently over any other --format: the two are refused together, as one line naming
 * both. --format json agrees, and a --format not written (its default) gives way. `argv` is what
 * yargs parsed, whose --format is the last one given.
 */
export function jsonFormatProblem(words: readonly string[], options: OptionTable, argv: Readonly<Record<string, unknown>>): string | null {
  const format: unknown = [argv['format']].flat().at(-1);
  if (argv['json'] !== true || format === undefined || format === 'json') return null;
  for (const f of flagsOf(words, new Reader(options, {}, noMarks()))) {
    if (f.key === 'format' && f.value !== undefined) return `--json and --format ${String(format)} do not go together; give one of them`;
  }
  return null;
}

/** yargs' option table of the command it is running. */
export function commandOptions(y: Argv<any>): OptionTable {
  return (y as unknown as YargsInside).getOptions();
}

/** {@link flagValueProblem} for the command yargs is running: its option table and descriptions. */
export function commandFlagValueProblem(words: readonly string[], y: Argv<any>): string | null {
  const inside = y as unknown as YargsInside;
  // Without the descriptions (were yargs' insides to change) the message names the kind of value only.
  const raw = inside.getInternalMethods?.().getUsageInstance?.().getDescriptions?.() ?? {};
  const descriptions = Object.fromEntries(Object.entries(raw).filter((e): e is [string, string] => typeof e[1] === 'string'));
  return flagValueProblem(words, commandOptions(y), descriptions);
}
