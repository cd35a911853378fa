/**
 * Public suffixes and registrable domains by the Public Suffix List (https://publicsuffix.org/list/),
 * with the list's own algorithm: of the rules that match a name, an exception rule prevails (the
 * suffix is the rule without its leftmost label), else the rule of the most labels, a wildcard
 * (`*.ck`) matching any one label; with no rule, the name's last label (the rule `*`).
 *
 * The rules are in src/psl-rules.ts, generated from tldts' copy of the list; tldts, the reference
 * the tests hold these answers to, is not loaded at run time (scripts/psl-rules.mjs says why).
 * Names are taken as given: lower-case, without a trailing dot (src/names.ts normalizeName).
 */
import { isIpAddress } from './ipv6.js';
import { PSL_RULES } from './psl-rules.js';

/** Both sections of the list, as DMARC's organizational domain reads it, or the ICANN section alone (registries' own suffixes). */
export type PslSections = 'icann+private' | 'icann';

interface TldRules {
  icann: ReadonlySet<string>;
  private: ReadonlySet<string>;
  hasExceptions: boolean;
}

/** A top-level label's rules as sets, made on first use: a check meets few top-level labels. */
const tldRules = new Map<string, TldRules | null>();

function rulesUnder(tld: string): TldRules | null {
  let rules = tldRules.get(tld);
  if (rules === undefined) {
    // A label of a crafted name may hold any octet: one holding the text's separators has no line.
    const at = /[\n:|]/.test(tld) ? -1 : PSL_RULES.indexOf(`\n${tld}:`);
    if (at < 0) {
      rules = null;
    } else {
      const line = PSL_RULES.slice(at + tld.length + 2, PSL_RULES.indexOf('\n', at + 1));
      const bar = line.indexOf('|');
      rules = { icann: words(line.slice(0, bar)), private: words(line.slice(bar + 1)), hasExceptions: line.includes('!') };
    }
    tldRules.set(tld, rules);
  }
  return rules;
}

const words = (text: string): ReadonlySet<string> => new Set(text === '' ? [] : text.split(' '));

/** The public suffix of `name`: `co.uk` for `mail.example.co.uk`, `example` for `d1.example` (no rule: the last label). */
export function publicSuffix(name: string, sections: PslSections = 'icann+private'): string {
  const tldStart = name.lastIndexOf('.') + 1;
  const rules = rulesUnder(name.slice(tldStart));
  if (rules) {
    const { icann } = rules;
    const priv = sections === 'icann' ? undefined : rules.private;
    const has = (rule: string): boolean => icann.has(rule) || (priv !== undefined && priv.has(rule));
    // Where each label starts, the leftmost first: suffixes from the longest.
    const starts = [0];
    for (let dot = name.indexOf('.'); dot >= 0; dot = name.indexOf('.', dot + 1)) starts.push(dot + 1);
    if (rules.hasExceptions) {
      for (let k = 0; k + 1 < starts.length; k++) if (has(`!${name.slice(starts[k])}`)) return name.slice(starts[k + 1]);
    }
    for (let k = 0; k < starts.length; k++) {
      const suffix = name.slice(starts[k]);
      if (has(suffix) || (k + 1 < starts.length && has(`*.${name.slice(starts[k + 1])}`))) return suffix;
    }
  }
  return name.slice(tldStart);
}

/**
 * The registry's suffix `name` is under by the list's ICANN section (`com`, `co.uk`), or null when
 * the list has no rule for its top-level label: a name under an unlisted one (`corp`, `test`,
 * `example`) may sit in a zone of that label, a lab's or a company's own.
 */
export function registrySuffix(name: string): string | null {
  return rulesUnder(name.slice(name.lastIndexOf('.') + 1)) ? publicSuffix(name, 'icann') : null;
}

/**
 * The registrable domain of `name`: its public suffix and one label more (`example.co.uk` for
 * `mail.example.co.uk`). Null for a public suffix itself, an address, and a name whose label
 * before the suffix is empty.
 */
export function registrableDomain(name: string, sections: PslSections = 'icann+private'): string | null {
  if (isIpAddress(name)) return null;
  const suffix = publicSuffix(name, sections);
  if (suffix.length >= name.length) return null;
  const head = name.slice(0, name.length - suffix.length - 1);
  const label = head.slice(head.lastIndexOf('.') + 1);
  return label === '' ? null : `${label}.${suffix}`;
}
