/**
 * Tag=value lists (RFC 6376 §3.2), the syntax of DKIM key records and signatures, and the
 * key record read from them (RFC 6376 §3.6.1).
 */

interface Tag {
  name: string;
  value: string;
  /** 0-based position in the list. */
  index: number;
}

interface TagListProblem {
  kind: 'syntax' | 'duplicate';
  /** The offending piece of text. */
  text: string;
  message: string;
}

export interface TagList {
  tags: Tag[];
  /** First occurrence of each tag name (names are case-sensitive, RFC 6376 §3.2). */
  byName: Map<string, Tag>;
  problems: TagListProblem[];
}

const TAG_NAME = /^[A-Za-z][A-Za-z0-9_]*$/;

/** Folding white space inside a value carries no meaning. */
function unfold(value: string): string {
  return value.replace(/[ \t\r\n]+/g, ' ').trim();
}

export function parseTagList(text: string): TagList {
  const tags: Tag[] = [];
  const byName = new Map<string, Tag>();
  const problems: TagListProblem[] = [];
  const parts = text.split(';');
  // A single trailing ";" is allowed (tag-list = tag-spec *( ";" tag-spec ) [ ";" ]).
  if (parts.length > 1 && parts[parts.length - 1]!.trim() === '') parts.pop();
  for (const raw of parts) {
    const spec = raw.trim();
    if (spec === '') {
      problems.push({ kind: 'syntax', text: raw, message: 'an empty tag (two ";" in a row)' });
      continue;
    }
    const eq = spec.indexOf('=');
    if (eq < 0) {
      problems.push({ kind: 'syntax', text: spec, message: `"${spec}" has no "=": every tag is written name=value` });
      continue;
    }
    const name = spec.slice(0, eq).trim();
    if (!TAG_NAME.test(name)) {
      problems.push({ kind: 'syntax', text: spec, message: `"${name}" is not a tag name (a letter, then letters, digits or "_")` });
      continue;
    }
    const tag: Tag = { name, value: unfold(spec.slice(eq + 1)), index: tags.length };
    if (byName.has(name)) {
      problems.push({ kind: 'duplicate', text: spec, message: `tag "${name}" appears more than once` });
    } else {
      byName.set(name, tag);
    }
    tags.push(tag);
  }
  return { tags, byName, problems };
}

/**
 * The tag `name` written in another case (`P` for `p`) when the list lacks `name` itself: tag
 * names are case-sensitive (RFC 6376 §3.2), so verifiers take it for an unknown tag and ignore it.
 */
export function miscasedTag(list: TagList, name: string): string | null {
  if (list.byName.has(name)) return null;
  return list.tags.find((t) => t.name !== name && t.name.toLowerCase() === name)?.name ?? null;
}

/** ` (it has P=: ...)` for the tags of `names` the list has only in another case; '' when none. */
export function miscasedNote(list: TagList, names: readonly string[]): string {
  const other = names.map((n) => miscasedTag(list, n)).filter((n) => n !== null);
  return other.length ? ` (it has ${other.map((n) => `${n}=`).join(', ')}: tag names are case-sensitive)` : '';
}

/** A DKIM key record as published at `selector._domainkey.domain`. */
export interface DkimKeyRecord {
  list: TagList;
  v?: string;
  /** `h=`, lower-cased; undefined when absent (all hashes allowed). */
  hashes?: string[];
  /** `k=`, lower-cased; `rsa` when absent. */
  keyType: string;
  keyTypeGiven: boolean;
  /** `n=`: notes for humans. */
  notes?: string;
  /** `p=` without white space; empty string = revoked; undefined = missing. */
  p?: string;
  /** `s=`, lower-cased; `['*']` when absent. */
  services: string[];
  /** `t=` flags, lower-cased. */
  flags: string[];
}

function colonList(value: string): string[] {
  return value
    .split(':')
    .map((s) => s.trim().toLowerCase())
    .filter(Boolean);
}

export function parseDkimKeyRecord(text: string): DkimKeyRecord {
  const list = parseTagList(text);
  const get = (n: string): string | undefined => list.byName.get(n)?.value;
  const rec: DkimKeyRecord = {
    list,
    keyType: (get('k') ?? 'rsa').toLowerCase(),
    keyTypeGiven: list.byName.has('k'),
    services: get('s') === undefined ? ['*'] : colonList(get('s')!),
    flags: get('t') === undefined ? [] : colonList(get('t')!),
  };
  const v = get('v');
  if (v !== undefined) rec.v = v;
  const h = get('h');
  if (h !== undefined) rec.hashes = colonList(h);
  const n = get('n');
  if (n !== undefined) rec.notes = n;
  const p = get('p');
  if (p !== undefined) rec.p = p.replace(/\s+/g, '');
  return rec;
}
