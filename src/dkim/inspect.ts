/** What `dkim show` and `dkim check-record` report: a selector's key and record, a record's lint. */
import { InputError } from '../errors.js';
import type { Finding } from '../findings.js';
import { fileMode, isPresent } from '../fsutil.js';
import { keyPathFor, planDomain, stateOf, type SelectorState } from '../plan/selectors.js';
import type { DkimAlgorithm, Plan } from '../plan/types.js';
import { normalizeName } from '../names.js';
import { recordOptions } from './keygen.js';
import { compareWithPrivateKey } from './keys.js';
import { composeDkimRecord, publicKeyFromKeyFile, type DkimKeyType } from './record.js';
import { validateDkimRecord } from './validate.js';
import type { PublishedKeyForm } from './keys.js';
import { splitCharacterStrings, unquoteCharacterStrings } from '../txt.js';

export interface SelectorKeyInfo {
  domain: string;
  selector: string;
  name: string;
  state: SelectorState;
  keyPath: string;
  /** Null when the key file does not exist yet. */
  key: {
    keyMode: string;
    algorithm: string;
    keyType: DkimKeyType;
    bits: number;
    plannedAlgorithm: DkimAlgorithm;
    record: string;
    strings: number;
    findings: Finding[];
  } | null;
}

/** A planned selector's key file, the record it gives, and what is wrong with either. */
export function inspectSelectorKey(plan: Plan, domainName: string, selectorName: string): SelectorKeyInfo {
  const d = planDomain(plan, normalizeName(domainName));
  const sel = d.dkim.find((s) => s.selector === selectorName.toLowerCase());
  if (!sel) throw new InputError(`selector "${selectorName}" is not planned for ${d.domain} (planned: ${d.dkim.map((s) => s.selector).join(', ') || 'none'})`, plan.file ?? undefined);
  const keyPath = keyPathFor(plan, d, sel);
  const name = `${sel.selector}._domainkey.${d.domain}`;
  const base = { domain: d.domain, selector: sel.selector, name, state: stateOf(sel), keyPath };
  if (!isPresent(keyPath)) return { ...base, key: null };
  const key = publicKeyFromKeyFile(keyPath);
  const record = composeDkimRecord(key, recordOptions(sel));
  const findings = validateDkimRecord(record, name).findings;
  const mode = fileMode(keyPath) ?? 0;
  const modeText = mode.toString(8).padStart(4, '0');
  if (mode & 0o077) {
    findings.push({ code: 'dkim.key-file-mode', severity: 'warning', subject: keyPath, message: `the private key can be read by others (mode ${modeText})`, fix: `chmod 600 ${keyPath}` });
  }
  return {
    ...base,
    key: {
      keyMode: modeText,
      algorithm: key.type === 'rsa' ? `rsa-${key.bits}` : 'ed25519',
      keyType: key.type,
      bits: key.bits,
      plannedAlgorithm: sel.algorithm,
      record,
      strings: splitCharacterStrings(record).length,
      findings,
    },
  };
}

export interface RecordTextCheck {
  record: string;
  keyType: DkimKeyType | null;
  bits: number | null;
  form: PublishedKeyForm | null;
  revoked: boolean;
  /** Whether the record publishes the public half of the private key given; absent when none was. */
  keyMatches?: boolean;
  findings: Finding[];
}

/**
 * Lint a key record as typed or pasted (quoted strings are joined), and when a private key is
 * given, whether the record publishes its public half.
 */
export function checkDkimRecordText(pasted: string, subject: string, privateKey?: { pem: string; label: string }): RecordTextCheck {
  const text = unquoteCharacterStrings(pasted);
  const check = validateDkimRecord(text, subject);
  const findings: Finding[] = [...check.findings];
  let keyMatches: boolean | undefined;
  if (privateKey) {
    const m = compareWithPrivateKey(text, privateKey.pem);
    keyMatches = m.matches;
    findings.push(
      m.matches
        ? { code: 'dkim.key-matches', severity: 'info', subject, message: `the record publishes the public half of ${privateKey.label}` }
        : { code: 'dkim.key-mismatch', severity: 'error', subject, message: `the record does not match ${privateKey.label}: ${m.reason}`, fix: 'publish the record `maildns records` prints for this key (or `maildns dkim show`)', rfc: 'RFC 6376 §3.6.1' },
    );
  }
  return {
    record: text,
    keyType: check.key?.type ?? null,
    bits: check.key?.bits ?? null,
    form: check.form ?? null,
    revoked: check.revoked,
    ...(keyMatches === undefined ? {} : { keyMatches }),
    findings,
  };
}
