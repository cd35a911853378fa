/**
 * Key files for the plan's selectors: `DIR/<domain>/<selector>.private` (PEM, 0600, in a 0700
 * directory, never overwritten without `force`) and `<selector>.txt` beside it in the layout
 * opendkim-genkey writes.
 */
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { InputError } from '../errors.js';
import { backupFile, ensurePrivateDir, fileMode, writeFileAtomic } from '../fsutil.js';
import { keyPathFor } from '../plan/selectors.js';
import type { DkimAlgorithm, DkimSelectorPlan, DomainPlan, Plan } from '../plan/types.js';
import { splitCharacterStrings, quoteCharacterString } from '../txt.js';
import { algorithmOf, generateDkimKey } from './keys.js';
import { composeDkimRecord, publicKeyFromPem, type DkimPublicKey, type DkimRecordOptions } from './record.js';

export interface KeygenOptions {
  /** Replace existing keys (the old file is kept as `<key>.<stamp>.bak`). */
  force?: boolean;
  now?: Date;
}

export interface KeygenResult {
  domain: string;
  selector: string;
  algorithm: DkimAlgorithm | string;
  bits: number;
  keyPath: string;
  txtPath: string;
  status: 'created' | 'kept' | 'replaced';
  backup?: string;
  record: string;
  warnings: string[];
  /** True when an existing key needs attention (wrong algorithm for the plan, readable by others). */
  problem: boolean;
}

export function recordOptions(sel: DkimSelectorPlan): DkimRecordOptions {
  return { testing: sel.testing, ...(sel.hash ? { hash: sel.hash } : {}), ...(sel.service ? { service: sel.service } : {}) };
}

/** The `.txt` file opendkim-genkey writes: the record as quoted strings of at most 255 octets. */
export function genkeyTxt(domain: string, selector: string, record: string): string {
  const at = record.lastIndexOf('p=');
  const head = at > 0 ? record.slice(0, at) : '';
  const keyPart = at >= 0 ? record.slice(at) : record;
  const strings = [
    ...(head ? splitCharacterStrings(head) : []),
    ...splitCharacterStrings(keyPart),
  ].map(quoteCharacterString);
  return `${selector}._domainkey\tIN\tTXT\t( ${strings.join('\n\t  ')} )  ; ----- DKIM key ${selector} for ${domain}\n`;
}

function describeAlgorithm(key: DkimPublicKey): string {
  return algorithmOf(key) ?? `${key.type}-${key.bits}`;
}

function prepareDirectory(plan: Plan, domain: DomainPlan, keyPath: string, warnings: string[]): void {
  const dir = path.dirname(keyPath);
  const defaultDir = path.join(plan.keysDir, domain.domain);
  if (dir === defaultDir) {
    ensurePrivateDir(plan.keysDir);
    ensurePrivateDir(dir);
    return;
  }
  if (!existsSync(dir)) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    ensurePrivateDir(dir);
    return;
  }
  const mode = statSync(dir).mode & 0o777;
  if (mode & 0o022) warnings.push(`${dir} is writable by others (mode ${mode.toString(8)}); OpenDKIM refuses keys there: chmod 700 ${dir}`);
}

function readKey(keyPath: string): DkimPublicKey {
  try {
    return publicKeyFromPem(readFileSync(keyPath, 'utf8'));
  } catch (err) {
    throw new InputError(`not a readable RSA or Ed25519 private key (${(err as Error).message.split('\n')[0]}); move it away or use --force to replace it`, keyPath);
  }
}

/** Make sure one selector has a key (and its .txt); never overwrites unless `opts.force`. */
export async function ensureSelectorKey(plan: Plan, domain: DomainPlan, sel: DkimSelectorPlan, opts: KeygenOptions = {}): Promise<KeygenResult> {
  const keyPath = keyPathFor(plan, domain, sel);
  const txtPath = path.join(path.dirname(keyPath), `${path.basename(keyPath).replace(/\.[^.]*$/, '')}.txt`);
  const warnings: string[] = [];
  prepareDirectory(plan, domain, keyPath, warnings);
  if (sel.algorithm === 'rsa-1024') {
    warnings.push(`${domain.domain} selector ${sel.selector}: 1024-bit RSA is the smallest size verifiers accept and some receivers score it lower; use rsa-2048 unless your DNS host cannot store the longer record (records over 255 characters are split into several strings)`);
  }

  let status: KeygenResult['status'];
  let problem = false;
  let backup: string | undefined;
  let key: DkimPublicKey;
  const exists = existsSync(keyPath);
  if (exists && !opts.force) {
    key = readKey(keyPath);
    status = 'kept';
    const mode = fileMode(keyPath) ?? 0;
    if (mode & 0o077) problem = true;
    if (mode & 0o077) warnings.push(`${keyPath} can be read by others (mode ${mode.toString(8).padStart(4, '0')}): chmod 600 ${keyPath}`);
    const have = describeAlgorithm(key);
    if (have !== sel.algorithm) {
      problem = true;
      warnings.push(`${domain.domain} selector ${sel.selector}: the plan asks for ${sel.algorithm} but the existing key is ${have}; kept as it is (--force replaces it, or rotate to a new selector with \`maildns dkim rotate ${domain.domain}\`)`);
    }
  } else {
    const generated = await generateDkimKey(sel.algorithm);
    if (exists) {
      backup = backupFile(keyPath, opts.now);
      writeFileAtomic(keyPath, generated.privatePem, { mode: 0o600 });
      status = 'replaced';
    } else {
      writeFileAtomic(keyPath, generated.privatePem, { mode: 0o600, exclusive: true });
      status = 'created';
    }
    key = generated.publicKey;
  }
  const record = composeDkimRecord(key, recordOptions(sel));
  writeFileAtomic(txtPath, genkeyTxt(domain.domain, sel.selector, record), { mode: 0o600 });
  const result: KeygenResult = {
    domain: domain.domain,
    selector: sel.selector,
    algorithm: describeAlgorithm(key),
    bits: key.bits,
    keyPath,
    txtPath,
    status,
    record,
    warnings,
    problem,
  };
  if (backup) result.backup = backup;
  return result;
}

/** Keys for every selector of every domain in the plan (or of `onlyDomain`). */
export async function keygenPlan(plan: Plan, opts: KeygenOptions & { onlyDomain?: string } = {}): Promise<KeygenResult[]> {
  const results: KeygenResult[] = [];
  for (const d of plan.domains) {
    if (opts.onlyDomain && d.domain !== opts.onlyDomain) continue;
    for (const sel of d.dkim) results.push(await ensureSelectorKey(plan, d, sel, opts));
  }
  return results;
}
