/**
 * Which DKIM selector signs, and where its key lives: the one definition every engine uses
 * (signing, OpenDKIM's SigningTable, rotation, verification).
 */
import path from 'node:path';
import { InputError } from '../errors.js';
import type { DkimSelectorPlan, DomainPlan, Plan } from './types.js';

export type SelectorState = NonNullable<DkimSelectorPlan['state']>;

/** A selector without a rotation state is active: a plan that never rotated signs with what it lists. */
export function stateOf(sel: DkimSelectorPlan): SelectorState {
  return sel.state ?? 'active';
}

export function isSigning(sel: DkimSelectorPlan): boolean {
  return stateOf(sel) === 'active';
}

/** The selectors that sign now, those marked active by a rotation first. */
export function signingSelectors(d: DomainPlan): DkimSelectorPlan[] {
  const marked = d.dkim.filter((s) => s.state === 'active');
  return [...marked, ...d.dkim.filter((s) => s.state === undefined)];
}

/** Where a selector's private key lives. */
export function keyPathFor(plan: Plan, domain: DomainPlan, sel: DkimSelectorPlan): string {
  if (sel.key) return path.resolve(plan.file ? path.dirname(plan.file) : '.', sel.key);
  return path.join(plan.keysDir, domain.domain, `${sel.selector}.private`);
}

/** Where an MX host's `tlsa` certificate or key file is: relative to the plan file. */
export function tlsaSourcePath(plan: Plan, file: string): string {
  return path.resolve(plan.file ? path.dirname(plan.file) : '.', file);
}

/** The plan with its keys directory replaced (keys of selectors without an explicit `key:` go there). */
export function withKeysDir(plan: Plan, keysDir: string | undefined): Plan {
  return keysDir ? { ...plan, keysDir: path.resolve(keysDir) } : plan;
}

/** A planned domain by name, or an error that lists the planned ones. */
export function planDomain(plan: Plan, domain: string): DomainPlan {
  const d = plan.domains.find((x) => x.domain === domain);
  if (!d) throw new InputError(`domain "${domain}" is not in the plan (planned: ${plan.domains.map((x) => x.domain).join(', ')})`, plan.file ?? undefined);
  return d;
}

export interface SigningChoice {
  domain: string;
  selector: string;
  keyFile: string;
  algorithm: 'rsa-sha256' | 'ed25519-sha256';
}

/**
 * Domain, selectors and keys that sign mail from `fromDomain`, as the plan has them: every active
 * selector, so a domain with an RSA and an Ed25519 key signs with both (RFC 8463 §4 suggests it,
 * since receivers that do not know Ed25519 ignore that signature and verify the RSA one).
 */
export function signingChoices(plan: Plan, fromDomain: string | null, messageLabel: string): SigningChoice[] {
  if (!fromDomain) throw new InputError('the message has no single From domain, so the plan cannot say which domain signs; name the domain, selector and key instead', messageLabel);
  const d = plan.domains.find((x) => x.domain === fromDomain);
  if (!d) {
    throw new InputError(`the From domain ${fromDomain} is not in the plan (planned: ${plan.domains.map((x) => x.domain).join(', ')}); name the domain, selector and key instead`, plan.file ?? undefined);
  }
  const selectors = signingSelectors(d);
  if (!selectors.length) throw new InputError(`${d.domain} has no active DKIM selector in the plan; add one under "dkim"`, plan.file ?? undefined);
  return selectors.map((sel) => ({ domain: d.domain, selector: sel.selector, keyFile: keyPathFor(plan, d, sel), algorithm: sel.algorithm === 'ed25519' ? 'ed25519-sha256' : 'rsa-sha256' }));
}
