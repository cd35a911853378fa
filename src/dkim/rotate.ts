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
import { isPresent, readInputFileSync, writeFileAtomic } from '../fsutil.js';
import { normalizeName } from '../names.js';
import { loadPlan, parsePlan, PLAN_INPUT } from '../plan/load.js';
import { keyPathFor, planDomain, stateOf, withKeysDir, type SelectorState } from '../plan/selectors.js';
import { DEFAULT_RETIRE_AFTER_DAYS, type DkimAlgorithm, type DkimSelectorPlan, type DomainPlan, type Plan } from '../plan/types.js';
import type { Resolver } from '../dns/resolver.js';
import { ensureSelectorKey } from './keygen.js';

interface RotationStatus {
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
function keyFamily(alg: DkimAlgorithm): 'rsa' | 'ed25519' {
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
  if (ed.find(seq, selector)) throw new InputError(`selector "${selector}" already exists for ${domain}; pick another name`, file);
  for (const item of seq.items) if (isMap(item) && !item.has('state')) item.set('state', 'active');
  const node = ed.doc.createNode({ selector, algorithm, state: 'published', since: today(now) }) as YAMLMap;
  setNote(node, `added on ${today(now)} (maildns dkim rotate)`);
  seq.items.push(node);
  return ed.toString();
}

/** Published -> active, active -> retiring. */
function activateSelectors(text: string, file: string, domain: string, toActivate: readonly string[], toRetire: readonly string[], now = new Date()): string {
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
      node.set('since', today(now));
      setNote(node, `${state === 'active' ? 'active since' : 'retiring since'} ${today(now)} (maildns dkim rotate)`);
    }
  }
  return ed.toString();
}

/** Remove retired selectors and publish an empty p= at their names (the key is revoked). */
function retireSelectors(text: string, file: string, domain: string, selectors: readonly string[], now = new Date()): string {
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

/**
 * One step of a rotation, as the operator asks for it. `force` skips the step's gate: for
 * activate, that DNS serves the new record on every authoritative server; for retire, that the
 * plan's grace period has passed since the old key stopped signing.
 */
export type RotationRequest =
  | { step: 'start'; selector?: string; algorithm?: DkimAlgorithm }
  | { step: 'activate'; force?: boolean }
  | { step: 'retire'; force?: boolean };

export interface RotationOutcome {
  domain: string;
  /**
   * What this run did: a selector added, activated or retired, a rotation found under way, or a
   * step held back by its gate (`waiting`: the plan is unchanged; `dnsUnavailable` says when DNS
   * could not even be asked).
   */
  action: 'added' | 'activated' | 'retired' | 'pending' | 'waiting';
  dnsUnavailable?: boolean;
  selector: string;
  selectors: { selector: string; algorithm: DkimAlgorithm; state: SelectorState }[];
  next: RotationStatus['next'];
  /** What was done and what to do next, as sentences for the operator. */
  steps: string[];
}

interface RotationOptions {
  /** Keys directory in place of the plan's. */
  keysDir?: string;
  now?: Date;
  /** Asks DNS for the activate gate; without one the gate cannot pass (use `force`). */
  resolver?: Resolver;
  /** Authoritative servers (HOST[:PORT]) to ask instead of the ones DNS names. */
  authoritative?: readonly string[];
}

const DAY_MS = 86_400_000;

/**
 * The gate before activation: the new selectors' records are served, exactly as planned, by every
 * authoritative server of the domain. Null when they are; else why not.
 */
async function notYetPublished(plan: Plan, d: DomainPlan, selectors: readonly DkimSelectorPlan[], opts: RotationOptions): Promise<{ reason: string; dnsUnavailable: boolean } | null> {
  if (!opts.resolver) return { reason: 'no resolver was given to check that DNS serves the new record', dnsUnavailable: false };
  const { verifyPlan } = await import('../verify/run.js');
  const report = await verifyPlan(plan, { resolver: opts.resolver, authoritative: opts.authoritative, domains: [d.domain] });
  const result = report.domains[0]!;
  if (result.status === 'dns-unavailable') return { reason: `no authoritative server of ${d.domain} answered`, dnsUnavailable: true };
  const waiting: string[] = [];
  for (const s of selectors) {
    const rec = result.records.find((r) => r.purpose === `dkim:${s.selector}`);
    const behind = rec ? rec.servers.filter((v) => v.state !== 'match').map((v) => `${v.server} (${v.state})`) : ['the record is not planned yet'];
    if (behind.length) waiting.push(`${s.selector}._domainkey.${d.domain}: ${behind.join(', ')}`);
  }
  return waiting.length ? { reason: `not served as planned everywhere yet: ${waiting.join('; ')}`, dnsUnavailable: false } : null;
}

/** Write the edited plan text, but never one the loader would refuse. */
function writePlanText(file: string, text: string, keysDir: string | undefined): Plan {
  const plan = parsePlan(text, file);
  // Through a symbolic link the plan it points to is edited: a rename onto the link would replace the link and leave that plan as it was.
  // The plan keeps its mode (writeFileAtomic keeps that of a file it replaces).
  writeFileAtomic(file, text, { throughLink: true });
  return withKeysDir(plan, keysDir);
}

/**
 * Walk a domain's DKIM keys one step through publish, activate, retire. The plan file keeps the
 * state (edited in place, comments kept); new keys are created with it, never overwritten.
 */
export async function rotateKeys(file: string, domainName: string, request: RotationRequest, opts: RotationOptions = {}): Promise<RotationOutcome> {
  const now = opts.now ?? new Date();
  const plan = withKeysDir(loadPlan(file), opts.keysDir);
  const d = planDomain(plan, normalizeName(domainName));
  const status = rotationStatus(d);
  // As loadPlan read it: a regular file, bounded (the plan is written back in place).
  const text = readInputFileSync(file, PLAN_INPUT).toString('utf8');
  const steps: string[] = [];
  let action: RotationOutcome['action'];
  let selector: string;
  let after: Plan = plan;

  const states = (p: Plan): RotationOutcome['selectors'] => planDomain(p, d.domain).dkim.map((s) => ({ selector: s.selector, algorithm: s.algorithm, state: stateOf(s) }));
  const waiting = (why: string, next: string, dnsUnavailable = false): RotationOutcome => ({
    domain: d.domain,
    action: 'waiting',
    ...(dnsUnavailable ? { dnsUnavailable } : {}),
    selector: '',
    selectors: states(plan),
    next: status.next,
    steps: [why, next],
  });

  if (request.step === 'activate') {
    if (!status.published.length) throw new InputError(`${d.domain} has no published selector waiting; start a rotation first (\`maildns dkim rotate ${d.domain}\`)`, file);
    const fresh = status.published.map((s) => s.selector);
    for (const s of status.published) {
      const keyPath = keyPathFor(plan, d, s);
      if (!isPresent(keyPath)) throw new InputError(`selector ${s.selector} has no key yet (${keyPath}); create it (\`maildns keygen\`) and publish its record first`, file);
    }
    if (!request.force) {
      // Signing with a key receivers cannot find yet fails DKIM for every message until DNS catches up.
      const gate = await notYetPublished(plan, d, status.published, opts);
      if (gate) {
        return waiting(
          `Not activated: ${fresh.join(', ')} ${gate.reason}. Mail signed with a key receivers cannot find fails DKIM.`,
          `Publish the record (\`maildns records\`), wait for every server to serve it (\`maildns verify\`), then run this again; --force activates anyway.`,
          gate.dnsUnavailable,
        );
      }
    }
    // The new key replaces the active keys of its own family: an Ed25519 key signing next to an
    // RSA key (dual signing) stays when the RSA key is rotated, and the other way round.
    const families = new Set(status.published.map((s) => keyFamily(s.algorithm)));
    const old = status.active.filter((s) => families.has(keyFamily(s.algorithm))).map((s) => s.selector);
    after = writePlanText(file, activateSelectors(text, file, d.domain, fresh, old, now), opts.keysDir);
    action = 'activated';
    selector = fresh.join(', ');
    steps.push(
      `Step 2 of 3 done: now signing with ${selector}${old.length ? `; ${old.join(', ')} stays published as retiring` : ''}.`,
      'Write the OpenDKIM files again (`maildns opendkim`) and run the steps it prints on the mail server: they install the new key and tables and restart every OpenDKIM instance (two when RSA and Ed25519 are mixed).',
      `Step 3, after a few days (longer than mail may wait in queues): retire the old key: \`maildns dkim rotate ${d.domain} --retire\`.`,
    );
  } else if (request.step === 'retire') {
    if (!status.retiring.length) throw new InputError(`${d.domain} has no retiring selector; a selector is retired after the new one is activated`, file);
    if (!status.active.length) throw new InputError(`${d.domain} would be left with no active selector; activate the new one first`, file);
    if (!request.force) {
      // Mail signed with the old key may still sit in queues or wait to be verified: keep it published a while.
      const days = plan.dkimRetireAfterDays ?? DEFAULT_RETIRE_AFTER_DAYS;
      const early = status.retiring.filter((s) => !s.since || now.getTime() < Date.parse(`${s.since}T00:00:00Z`) + days * DAY_MS);
      if (early.length) {
        const until = early.map((s) => (s.since ? `${s.selector} retiring since ${s.since}, not before ${today(new Date(Date.parse(`${s.since}T00:00:00Z`) + days * DAY_MS))}` : `${s.selector} (the plan does not say since when it is retiring)`));
        return waiting(
          `Not retired: ${until.join('; ')}. Mail signed with a key that is already gone fails DKIM; the plan keeps replaced keys ${days} days (defaults.dkim_retire_after_days).`,
          'Run this again after that day; --force retires now.',
        );
      }
    }
    const old = status.retiring.map((s) => s.selector);
    const oldKeys = status.retiring.map((s) => keyPathFor(plan, d, s));
    after = writePlanText(file, retireSelectors(text, file, d.domain, old, now), opts.keysDir);
    action = 'retired';
    selector = old.join(', ');
    steps.push(
      `Step 3 of 3 done: removed ${selector} from the plan; the plan now publishes "v=DKIM1; p=" (an empty, revoked key) at ${old.map((s) => `${s}._domainkey.${d.domain}`).join(', ')}.`,
      'Publish that revocation first (`maildns records`), and keep it a few weeks before you delete the record and its txt entry in the plan.',
      `Write the OpenDKIM files again (\`maildns opendkim\`), then delete the old key file${oldKeys.length > 1 ? 's' : ''}: ${oldKeys.join(' ')}`,
    );
  } else if (status.published.length) {
    if (request.selector !== undefined || request.algorithm !== undefined) {
      throw new InputError(`a rotation of ${d.domain} is under way (${status.published.map((s) => s.selector).join(', ')} published); a new selector is named only when none is waiting`, file);
    }
    action = 'pending';
    selector = status.published.map((s) => s.selector).join(', ');
    for (const s of status.published) await ensureSelectorKey(plan, d, s);
    steps.push(
      `A rotation is under way: step 1 of 3 is done, ${selector} is published but not signing yet.`,
      'Before step 2: publish its record (`maildns records`) and check that DNS serves it (`maildns verify`).',
      `Step 2: switch signing to it: \`maildns dkim rotate ${d.domain} --activate\`.`,
    );
  } else {
    const taken = d.dkim.map((s) => s.selector);
    const algorithm = request.algorithm ?? status.active[0]?.algorithm ?? 'rsa-2048';
    const replaced = status.active.filter((s) => keyFamily(s.algorithm) === keyFamily(algorithm)).map((s) => s.selector);
    selector = request.selector?.toLowerCase() ?? dateSelector(taken, now, algorithm === 'ed25519' ? 'ed' : 's');
    if (taken.includes(selector)) throw new InputError(`selector "${selector}" already exists for ${d.domain}; pick another name`, file);
    after = writePlanText(file, addPublishedSelector(text, file, d.domain, selector, algorithm, now), opts.keysDir);
    const nd = planDomain(after, d.domain);
    const newSel = nd.dkim.find((s) => s.selector === selector)!;
    const key = await ensureSelectorKey(after, nd, newSel);
    action = 'added';
    steps.push(
      `Step 1 of 3 done: added selector ${selector} (${key.algorithm}, state published) with its key ${key.keyPath}; ${status.active.map((s) => s.selector).join(', ') || 'no other selector'} keeps signing${replaced.length ? `; at step 2 the new key replaces ${replaced.join(', ')}` : ''}.`,
      `Before step 2: publish the new record (\`maildns records\`, name ${selector}._domainkey.${d.domain}) and wait until every authoritative server serves it (\`maildns verify\`).`,
      `Step 2: switch signing to it: \`maildns dkim rotate ${d.domain} --activate\` (then \`maildns opendkim\` and reload OpenDKIM).`,
      `Step 3, a few days later: retire the old selector: \`maildns dkim rotate ${d.domain} --retire\` (publishes an empty p= first).`,
    );
  }
  return {
    domain: d.domain,
    action,
    selector,
    selectors: states(after),
    next: rotationStatus(planDomain(after, d.domain)).next,
    steps,
  };
}
