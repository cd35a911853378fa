/**
 * DKIM key rotation kept in the plan file. Each selector carries a state:
 *   published  its record is (to be) in DNS, nothing signs with it yet
 *   active     OpenDKIM signs with it (a selector with no state is active)
 *   retiring   replaced; still published so mail in transit verifies
 * `rotate` adds a published selector, `--activate` makes it active and the old one retiring,
 * `--retire` removes the retiring selector and publishes an empty p= in its place (revoked).
 * The plan file is edited through the yaml Document API, so comments and layout stay.
 */
import { isMap, isScalar, isSeq, parseDocument, type Document, type YAMLMap, type YAMLSeq } from 'yaml';
import { InputError } from '../errors.js';
import { normalizeName } from '../names.js';
import type { DkimAlgorithm, DkimSelectorPlan, DomainPlan } from '../plan/types.js';

export type SelectorState = NonNullable<DkimSelectorPlan['state']>;

export function stateOf(sel: DkimSelectorPlan): SelectorState {
  return sel.state ?? 'active';
}

export interface RotationStatus {
  active: DkimSelectorPlan[];
  published: DkimSelectorPlan[];
  retiring: DkimSelectorPlan[];
  /** What to do next, as a `maildns` command. */
  next: 'rotate' | 'activate' | 'retire';
}

export function rotationStatus(d: DomainPlan): RotationStatus {
  const by = (s: SelectorState): DkimSelectorPlan[] => d.dkim.filter((x) => stateOf(x) === s);
  const status = { active: by('active'), published: by('published'), retiring: by('retiring') };
  const next = status.published.length ? 'activate' : status.retiring.length ? 'retire' : 'rotate';
  return { ...status, next };
}

/** A selector name from the date (`s202611`, `ed202611` for Ed25519), made unique among `taken`. */
export function dateSelector(taken: readonly string[], now = new Date(), prefix = 's'): string {
  const ym = now.toISOString().slice(0, 7).replace('-', '');
  const ymd = now.toISOString().slice(0, 10).replace(/-/g, '');
  for (const candidate of [`${prefix}${ym}`, `${prefix}${ymd}`]) if (!taken.includes(candidate)) return candidate;
  for (let n = 2; ; n++) if (!taken.includes(`${prefix}${ymd}-${n}`)) return `${prefix}${ymd}-${n}`;
}

function today(now: Date): string {
  return now.toISOString().slice(0, 10);
}

const OUR_NOTE = /maildns dkim rotate/;

/** Set maildns's note above a node, keeping the operator's own comment lines. */
function setNote(node: YAMLMap, note: string): void {
  const kept = (node.commentBefore ?? '').split('\n').filter((l) => l.trim() !== '' && !OUR_NOTE.test(l));
  node.commentBefore = [...kept, ` ${note}`].join('\n');
}

/** `rsa` for every RSA size, `ed25519` otherwise: a new key replaces the active keys of its family. */
export function keyFamily(alg: DkimAlgorithm): 'rsa' | 'ed25519' {
  return alg === 'ed25519' ? 'ed25519' : 'rsa';
}

/** The plan file as an editable document, with the domain's `dkim:` list made a sequence of maps. */
class PlanEditor {
  readonly doc: Document;

  constructor(
    text: string,
    private readonly file: string,
  ) {
    this.doc = parseDocument(text);
    if (this.doc.errors.length) throw new InputError(`not valid YAML: ${this.doc.errors[0]!.message.split('\n')[0]}`, file);
  }

  domain(name: string): YAMLMap {
    const domains = this.doc.get('domains', true);
    if (isSeq(domains)) {
      for (const item of domains.items) {
        if (isMap(item) && normalizeName(String(item.get('domain') ?? '')) === normalizeName(name)) return item as YAMLMap;
      }
    }
    throw new InputError(`domain "${name}" is not in the plan; add it under "domains:" first`, this.file);
  }

  selectors(domain: YAMLMap): YAMLSeq {
    const seq = this.sequence(domain, 'dkim');
    seq.items = seq.items.map((item) => {
      if (!isScalar(item)) return item;
      const map = this.doc.createNode({ selector: String(item.value) }) as YAMLMap;
      if (item.comment) map.commentBefore = item.comment;
      return map;
    });
    // A comment above the first entry is kept on the list itself; move it to the entry it describes,
    // so it goes with that entry when the entry is removed (it prints at the same place).
    const first = seq.items[0] as YAMLMap | undefined;
    if (seq.commentBefore && first) {
      first.commentBefore = first.commentBefore ? `${seq.commentBefore}\n${first.commentBefore}` : seq.commentBefore;
      seq.commentBefore = null;
    }
    return seq;
  }

  /** `key:` of `map` as a sequence: a single value becomes a one-item list, a missing key an empty one. */
  sequence(map: YAMLMap, key: string): YAMLSeq {
    const node: unknown = map.get(key, true);
    if (isSeq(node)) return node as YAMLSeq;
    const seq = this.doc.createNode([]) as YAMLSeq;
    if (node !== undefined && node !== null && !(isScalar(node) && node.value === null)) seq.items.push(node);
    map.set(key, seq);
    return seq;
  }

  find(seq: YAMLSeq, selector: string): YAMLMap | undefined {
    return seq.items.find((i) => isMap(i) && String(i.get('selector')).toLowerCase() === selector) as YAMLMap | undefined;
  }

  toString(): string {
    return this.doc.toString();
  }
}

/** Add `selector` in state `published`; selectors without a state are written as `active`. */
export function addPublishedSelector(text: string, file: string, domain: string, selector: string, algorithm: DkimAlgorithm, now = new Date()): string {
  const ed = new PlanEditor(text, file);
  const seq = ed.selectors(ed.domain(domain));
  if (ed.find(seq, selector)) throw new InputError(`selector "${selector}" already exists for ${domain}; name another with --selector`, file);
  for (const item of seq.items) if (isMap(item) && !item.has('state')) item.set('state', 'active');
  const node = ed.doc.createNode({ selector, algorithm, state: 'published' }) as YAMLMap;
  setNote(node, `added on ${today(now)} (maildns dkim rotate)`);
  seq.items.push(node);
  return ed.toString();
}

/** Published -> active, active -> retiring. */
export function activateSelectors(text: string, file: string, domain: string, toActivate: readonly string[], toRetire: readonly string[], now = new Date()): string {
  const ed = new PlanEditor(text, file);
  const seq = ed.selectors(ed.domain(domain));
  for (const [names, state] of [
    [toActivate, 'active'],
    [toRetire, 'retiring'],
  ] as const) {
    for (const name of names) {
      const node = ed.find(seq, name);
      if (!node) throw new InputError(`selector "${name}" is not in the plan for ${domain}`, file);
      node.set('state', state);
      setNote(node, `${state === 'active' ? 'active since' : 'retiring since'} ${today(now)} (maildns dkim rotate)`);
    }
  }
  return ed.toString();
}

/** Remove retired selectors and publish an empty p= at their names (the key is revoked). */
export function retireSelectors(text: string, file: string, domain: string, selectors: readonly string[], now = new Date()): string {
  const ed = new PlanEditor(text, file);
  const dom = ed.domain(domain);
  const seq = ed.selectors(dom);
  const txt = ed.sequence(dom, 'txt');
  for (const name of selectors) {
    const node = ed.find(seq, name);
    if (!node) throw new InputError(`selector "${name}" is not in the plan for ${domain}`, file);
    seq.items.splice(seq.items.indexOf(node), 1);
    const revoke = ed.doc.createNode({ name: `${name}._domainkey`, value: 'v=DKIM1; p=' }) as YAMLMap;
    revoke.commentBefore = ` DKIM selector ${name} revoked on ${today(now)} (maildns dkim rotate --retire); remove this entry in a few weeks`;
    txt.items.push(revoke);
  }
  return ed.toString();
}
