/**
 * Key files for the plan's selectors: `DIR/<domain>/<selector>.private` (PEM, 0600, in a 0700
 * directory, never overwritten without `force`) and `<selector>.txt` beside it in the layout
 * opendkim-genkey writes. A directory that will hold keys must be safe as OpenDKIM's
 * RequireSafeKeys wants it (no symbolic link, not writable by others); maildns creates the ones
 * that are missing and never changes the mode of one it did not create.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { backupFile, ensureKeyDirectory, fileMode, isPresent, removeStaleTempFiles, writeFileAtomic } from '../fsutil.js';
import { keyPathFor } from '../plan/selectors.js';
import type { DkimAlgorithm, DkimSelectorPlan, DomainPlan, Plan } from '../plan/types.js';
import { splitCharacterStrings, quoteCharacterString } from '../txt.js';
import { algorithmOf, generateDkimKey } from './keys.js';
import { composeDkimRecord, publicKeyFromKeyFile, type DkimPublicKey, type DkimRecordOptions } from './record.js';

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
  /** The backup is a symbolic link that led to no file (the key was gone): no key was kept, only the link. */
  backupLedNowhere?: true;
  /**
   * A key was replaced under the same selector: its DNS record must change to the new key's, and
   * mail signed with the old one (in queues, not verified yet) fails DKIM once it does.
   */
  recordChanged?: true;
  record: string;
  warnings: string[];
  /** What was tidied up on the way, e.g. temporary files an interrupted run left behind. */
  notes: string[];
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

/** The directories that must be safe for a selector's key: its own, and the plan's keys directory when the key lies in it. */
export function keyDirectories(plan: Plan, domain: DomainPlan, keyPath: string): string[] {
  const dir = path.dirname(keyPath);
  return dir === path.join(plan.keysDir, domain.domain) ? [plan.keysDir, dir] : [dir];
}

/** The key's directories, made safe for private keys, cleared of temporary files of interrupted runs. */
function prepareDirectory(plan: Plan, domain: DomainPlan, keyPath: string, warnings: string[], notes: string[]): void {
  for (const d of keyDirectories(plan, domain, keyPath)) warnings.push(...ensureKeyDirectory(d).warnings);
  const dir = path.dirname(keyPath);
  for (const name of removeStaleTempFiles(dir)) {
    notes.push(`removed ${path.join(dir, name)}, a temporary file an interrupted run left behind (it may have held a private key)`);
  }
}

function readKey(keyPath: string): DkimPublicKey {
  return publicKeyFromKeyFile(keyPath, 'move it away, or replace it with `maildns keygen --force` (which keeps it as a backup)');
}

/** Make sure one selector has a key (and its .txt); never overwrites unless `opts.force`. */
export async function ensureSelectorKey(plan: Plan, domain: DomainPlan, sel: DkimSelectorPlan, opts: KeygenOptions = {}): Promise<KeygenResult> {
  const keyPath = keyPathFor(plan, domain, sel);
  const txtPath = path.join(path.dirname(keyPath), `${path.basename(keyPath).replace(/\.[^.]*$/, '')}.txt`);
  const warnings: string[] = [];
  const notes: string[] = [];
  prepareDirectory(plan, domain, keyPath, warnings, notes);
  if (sel.algorithm === 'rsa-1024') {
    warnings.push(`${domain.domain} selector ${sel.selector}: 1024-bit RSA is the smallest size verifiers accept and some receivers score it lower; use rsa-2048 unless your DNS host cannot store the longer record (records over 255 characters are split into several strings)`);
  }

  let status: KeygenResult['status'];
  let problem = false;
  let backup: string | undefined;
  let ledNowhere = false;
  let key: DkimPublicKey;
  const exists = isPresent(keyPath);
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
      // isPresent sees a link; existsSync follows it: a link to no file held no key.
      ledNowhere = !existsSync(keyPath);
      backup = backupFile(keyPath, opts.now);
      writeFileAtomic(keyPath, generated.privatePem, { mode: 0o600, secret: true });
      status = 'replaced';
      if (!ledNowhere) {
        const name = `${sel.selector}._domainkey.${domain.domain}`;
        warnings.push(`${domain.domain} selector ${sel.selector}: the old key, kept as ${backup}, may still be published at ${name} and have signed mail still in flight: publish the new record (\`maildns records\`) and install the new key (\`maildns opendkim\`) together; mail signed with the old key fails DKIM once the record changes (\`maildns dkim rotate ${domain.domain}\` replaces a key without that gap)`);
      }
    } else {
      writeFileAtomic(keyPath, generated.privatePem, { mode: 0o600, secret: true, exclusive: true });
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
    notes,
    problem,
  };
  if (backup) result.backup = backup;
  if (backup && ledNowhere) result.backupLedNowhere = true;
  if (backup && !ledNowhere) result.recordChanged = true;
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
