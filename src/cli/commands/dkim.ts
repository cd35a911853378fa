/** `maildns dkim show | check-record | rotate`: inspect keys and records, and rotate keys. */
import { existsSync, readFileSync } from 'node:fs';
import type { CommandModule } from 'yargs';
import { ensureSelectorKey, recordOptions } from '../../dkim/keygen.js';
import { compareWithPrivateKey } from '../../dkim/keys.js';
import { composeDkimRecord, publicKeyFromPem } from '../../dkim/record.js';
import { activateSelectors, addPublishedSelector, dateSelector, keyFamily, retireSelectors, rotationStatus, stateOf } from '../../dkim/rotate.js';
import { validateDkimRecord } from '../../dkim/validate.js';
import { EXIT, UsageError } from '../exit.js';
import { hasFindingAtLeast, type Finding } from '../../findings.js';
import { fileMode, writeFileAtomic } from '../../fsutil.js';
import { printJson, renderFindings } from '../render/output.js';
import { keyPathFor, parsePlan } from '../../plan/load.js';
import { DKIM_ALGORITHMS, type DkimAlgorithm, type DomainPlan, type Plan } from '../../plan/types.js';
import { quoteCharacterString, splitCharacterStrings } from '../../txt.js';
import { readPlan, withJsonOption, withPlanOption } from './common.js';
import { planWithKeysDir } from './keygen.js';
import { normalizeName } from '../../names.js';

function findDomain(plan: Plan, name: string, planFile: string): DomainPlan {
  const domain = normalizeName(name);
  const d = plan.domains.find((x) => x.domain === domain);
  if (!d) throw new UsageError(`domain "${domain}" is not in the plan (planned: ${plan.domains.map((x) => x.domain).join(', ')})`, planFile);
  return d;
}

/**
 * Accept a record as typed, or pasted from a zone file or dig: quoted strings are unquoted and
 * joined (`"v=DKIM1; k=rsa; " "p=MIIB..."`), parentheses and a leading owner/class/type dropped.
 */
export function unpasteRecord(text: string): string {
  const quoted = [...text.matchAll(/"((?:[^"\\]|\\.)*)"/g)];
  if (quoted.length === 0) return text.trim();
  return quoted
    .map((m) => m[1]!.replace(/\\(\d{3}|.)/g, (_, e: string) => (/^\d{3}$/.test(e) ? String.fromCharCode(Number(e)) : e)))
    .join('');
}

// ---- dkim show ----------------------------------------------------------------------------

interface ShowArgs {
  plan: string;
  domain: string;
  selector: string;
  keysDir?: string;
  json: boolean;
}

export const showCommand: CommandModule<object, ShowArgs> = {
  command: 'show <domain> <selector>',
  describe: 'print a selector\'s key algorithm, size, file and DKIM record',
  builder: (y) =>
    withJsonOption(withPlanOption(y))
      .positional('domain', { type: 'string', demandOption: true, describe: 'domain in the plan' })
      .positional('selector', { type: 'string', demandOption: true, describe: 'DKIM selector' })
      .option('keys-dir', { type: 'string', describe: 'directory of DOMAIN/SELECTOR.private (default: the plan\'s)' })
      .example('$0 dkim show example.com mail', 'the key and record of selector "mail"') as never,
  handler: (args) => {
    const plan = planWithKeysDir(readPlan(args.plan), args.keysDir);
    const d = findDomain(plan, args.domain, args.plan);
    const sel = d.dkim.find((s) => s.selector === args.selector.toLowerCase());
    if (!sel) throw new UsageError(`selector "${args.selector}" is not planned for ${d.domain} (planned: ${d.dkim.map((s) => s.selector).join(', ') || 'none'})`, args.plan);
    const keyPath = keyPathFor(plan, d, sel);
    const name = `${sel.selector}._domainkey.${d.domain}`;
    if (!existsSync(keyPath)) {
      if (args.json) printJson({ domain: d.domain, selector: sel.selector, name, keyPath, key: null, state: stateOf(sel) });
      else process.stdout.write(`${name}: no key yet at ${keyPath}; run \`maildns keygen\`\n`);
      process.exitCode = EXIT.problems;
      return;
    }
    let key;
    try {
      key = publicKeyFromPem(readFileSync(keyPath, 'utf8'));
    } catch (err) {
      throw new UsageError(`not a readable DKIM private key: ${(err as Error).message.split('\n')[0]}`, keyPath);
    }
    const record = composeDkimRecord(key, recordOptions(sel));
    const strings = splitCharacterStrings(record).map(quoteCharacterString);
    const findings = validateDkimRecord(record, name).findings;
    const mode = fileMode(keyPath) ?? 0;
    if (mode & 0o077) {
      findings.push({ code: 'dkim.key-file-mode', severity: 'warning', subject: keyPath, message: `the private key can be read by others (mode ${mode.toString(8).padStart(4, '0')})`, fix: `chmod 600 ${keyPath}` });
    }
    const info = {
      domain: d.domain,
      selector: sel.selector,
      name,
      state: stateOf(sel),
      keyPath,
      keyMode: mode.toString(8).padStart(4, '0'),
      algorithm: key.type === 'rsa' ? `rsa-${key.bits}` : 'ed25519',
      keyType: key.type,
      bits: key.bits,
      plannedAlgorithm: sel.algorithm,
      record,
      strings: strings.length,
      findings,
    };
    if (args.json) printJson(info);
    else {
      const lines = [
        `${name}`,
        `  state:      ${info.state}`,
        `  key file:   ${keyPath} (mode ${info.keyMode})`,
        `  algorithm:  ${key.type === 'rsa' ? `RSA, ${key.bits} bits` : 'Ed25519 (RFC 8463)'}${info.algorithm !== sel.algorithm ? `  (the plan says ${sel.algorithm})` : ''}`,
        `  record:     ${record}`,
        `  zone form:  ${name}. IN TXT ${strings.join(' ')}`,
      ];
      if (findings.length) lines.push('', renderFindings(findings));
      process.stdout.write(`${lines.join('\n')}\n`);
    }
    if (hasFindingAtLeast(findings, 'error')) process.exitCode = EXIT.problems;
  },
};

// ---- dkim check-record ------------------------------------------------------------------

interface CheckArgs {
  record: string;
  key?: string;
  name?: string;
  json: boolean;
}

export const checkRecordCommand: CommandModule<object, CheckArgs> = {
  command: 'check-record <record>',
  describe: 'lint a DKIM key record\'s text (pasted as one string or as quoted zone-file strings)',
  builder: (y) =>
    withJsonOption(y)
      .positional('record', { type: 'string', demandOption: true, describe: 'the TXT record text, e.g. "v=DKIM1; k=rsa; p=MIIB..."' })
      .option('key', { type: 'string', describe: 'private key file (PEM): also check that the record publishes its public half' })
      .option('name', { type: 'string', describe: 'record name for the messages, e.g. mail._domainkey.example.com' })
      .example('$0 dkim check-record "v=DKIM1; k=rsa; p=MIIBIjANBg..."', 'lint one record')
      .example('$0 dkim check-record "$(dig +short TXT mail._domainkey.example.com)" --key keys/example.com/mail.private', 'does DNS hold this key?') as never,
  handler: (args) => {
    const text = unpasteRecord(args.record);
    const subject = args.name ?? 'DKIM record';
    const check = validateDkimRecord(text, subject);
    const findings: Finding[] = [...check.findings];
    let keyMatches: boolean | undefined;
    if (args.key) {
      let pem: string;
      try {
        pem = readFileSync(args.key, 'utf8');
      } catch (err) {
        throw new UsageError(`cannot read the key: ${(err as Error).message}`, args.key);
      }
      const m = compareWithPrivateKey(text, pem);
      keyMatches = m.matches;
      findings.push(
        m.matches
          ? { code: 'dkim.key-matches', severity: 'info', subject, message: `the record publishes the public half of ${args.key}` }
          : { code: 'dkim.key-mismatch', severity: 'error', subject, message: `the record does not match ${args.key}: ${m.reason}`, fix: 'publish the record `maildns records` prints for this key (or `maildns dkim show`)', rfc: 'RFC 6376 §3.6.1' },
      );
    }
    if (args.json) {
      printJson({
        record: text,
        keyType: check.key?.type ?? null,
        bits: check.key?.bits ?? null,
        form: check.form ?? null,
        revoked: check.revoked,
        ...(keyMatches === undefined ? {} : { keyMatches }),
        findings,
      });
    } else {
      const head = check.key ? `${check.key.type === 'rsa' ? `RSA ${check.key.bits}-bit` : 'Ed25519'} key${check.form === 'pkcs1' ? ' (bare PKCS#1)' : ''}` : check.revoked ? 'revoked key (empty p=)' : 'no readable key';
      process.stdout.write(`${subject}: ${head}\n${renderFindings(findings)}\n`);
    }
    if (hasFindingAtLeast(findings, 'warning')) process.exitCode = EXIT.problems;
  },
};

// ---- dkim rotate ------------------------------------------------------------------------

interface RotateArgs {
  plan: string;
  domain: string;
  selector?: string;
  algorithm?: string;
  activate?: boolean;
  retire?: boolean;
  keysDir?: string;
  json: boolean;
}

function writePlanText(file: string, text: string): Plan {
  const plan = parsePlan(text, file); // never write a plan the loader would refuse
  writeFileAtomic(file, text, { mode: fileMode(file) ?? 0o644 });
  return plan;
}

export const rotateCommand: CommandModule<object, RotateArgs> = {
  command: 'rotate <domain>',
  describe: 'rotate a domain\'s DKIM key: add a new selector, then --activate it, then --retire the old one',
  builder: (y) =>
    withJsonOption(withPlanOption(y))
      .positional('domain', { type: 'string', demandOption: true, describe: 'domain in the plan' })
      .option('selector', { type: 'string', describe: 'name of the new selector (default: s<YYYYMM>)' })
      .option('algorithm', { type: 'string', choices: DKIM_ALGORITHMS as string[], describe: 'algorithm of the new key (default: that of the active key)' })
      .option('activate', { type: 'boolean', describe: 'step 2: sign with the new selector; the old one becomes retiring' })
      .option('retire', { type: 'boolean', describe: 'step 3: drop the retiring selector and publish its key as revoked (empty p=)' })
      .option('keys-dir', { type: 'string', describe: 'directory of DOMAIN/SELECTOR.private (default: the plan\'s)' })
      .example('$0 dkim rotate example.com', 'step 1: new selector and key, published next to the current one')
      .example('$0 dkim rotate example.com --activate', 'step 2, once `maildns verify` sees the new record')
      .example('$0 dkim rotate example.com --retire', 'step 3, a few days later') as never,
  handler: async (args) => {
    const file = args.plan;
    if (args.activate && args.retire) throw new UsageError('--activate and --retire are two separate steps; give one of them');
    if ((args.activate || args.retire) && (args.selector || args.algorithm)) throw new UsageError('--selector and --algorithm name the new selector; they go with the first step only');
    const plan = planWithKeysDir(readPlan(file), args.keysDir);
    const d = findDomain(plan, args.domain, file);
    const status = rotationStatus(d);
    const text = readFileSync(file, 'utf8');
    const steps: string[] = [];
    let action: string;
    let selector: string | undefined;
    let after: Plan = plan;

    if (args.activate) {
      if (!status.published.length) throw new UsageError(`${d.domain} has no published selector waiting; start with \`maildns dkim rotate ${d.domain}\``, file);
      const fresh = status.published.map((s) => s.selector);
      for (const s of status.published) {
        const keyPath = keyPathFor(plan, d, s);
        if (!existsSync(keyPath)) throw new UsageError(`selector ${s.selector} has no key yet (${keyPath}); run \`maildns keygen\` and publish its record first`, file);
      }
      // The new key replaces the active keys of its own family: an Ed25519 key signing next to an
      // RSA key (dual signing) stays when the RSA key is rotated, and the other way round.
      const families = new Set(status.published.map((s) => keyFamily(s.algorithm)));
      const old = status.active.filter((s) => families.has(keyFamily(s.algorithm))).map((s) => s.selector);
      after = planWithKeysDir(writePlanText(file, activateSelectors(text, file, d.domain, fresh, old)), args.keysDir);
      action = 'activated';
      selector = fresh.join(', ');
      steps.push(
        `Now signing with ${selector}${old.length ? `; ${old.join(', ')} stays published as retiring` : ''}.`,
        'Write the OpenDKIM files again and reload OpenDKIM: `maildns opendkim`, then copy the SigningTable and `systemctl reload opendkim`.',
        `After a few days (longer than mail may wait in queues), retire the old key: \`maildns dkim rotate ${d.domain} --retire\`.`,
      );
    } else if (args.retire) {
      if (!status.retiring.length) throw new UsageError(`${d.domain} has no retiring selector; --retire comes after --activate`, file);
      if (!status.active.length) throw new UsageError(`${d.domain} would be left with no active selector; activate the new one first (--activate)`, file);
      const old = status.retiring.map((s) => s.selector);
      const oldKeys = status.retiring.map((s) => keyPathFor(plan, d, s));
      after = planWithKeysDir(writePlanText(file, retireSelectors(text, file, d.domain, old)), args.keysDir);
      action = 'retired';
      selector = old.join(', ');
      steps.push(
        `Removed ${selector} from the plan; the plan now publishes "v=DKIM1; p=" (an empty, revoked key) at ${old.map((s) => `${s}._domainkey.${d.domain}`).join(', ')}.`,
        'Publish that revocation first (`maildns records`), and keep it a few weeks before you delete the record and its txt entry in the plan.',
        `Write the OpenDKIM files again (\`maildns opendkim\`), then delete the old key file${oldKeys.length > 1 ? 's' : ''}: ${oldKeys.join(' ')}`,
      );
    } else if (status.published.length) {
      action = 'pending';
      selector = status.published.map((s) => s.selector).join(', ');
      for (const s of status.published) await ensureSelectorKey(plan, d, s);
      steps.push(
        `A rotation is under way: ${selector} is published but not signing yet.`,
        'Publish its record (`maildns records`) and check that DNS serves it (`maildns verify`).',
        `Then switch signing to it: \`maildns dkim rotate ${d.domain} --activate\`.`,
      );
    } else {
      const taken = d.dkim.map((s) => s.selector);
      const algorithm = (args.algorithm as DkimAlgorithm | undefined) ?? status.active[0]?.algorithm ?? 'rsa-2048';
      const replaced = status.active.filter((s) => keyFamily(s.algorithm) === keyFamily(algorithm)).map((s) => s.selector);
      selector = args.selector?.toLowerCase() ?? dateSelector(taken, new Date(), algorithm === 'ed25519' ? 'ed' : 's');
      if (taken.includes(selector)) throw new UsageError(`selector "${selector}" already exists for ${d.domain}; pick another with --selector`, file);
      after = planWithKeysDir(writePlanText(file, addPublishedSelector(text, file, d.domain, selector, algorithm)), args.keysDir);
      const nd = findDomain(after, d.domain, file);
      const newSel = nd.dkim.find((s) => s.selector === selector)!;
      const key = await ensureSelectorKey(after, nd, newSel);
      action = 'added';
      steps.push(
        `Added selector ${selector} (${key.algorithm}, state published) with its key ${key.keyPath}; ${status.active.map((s) => s.selector).join(', ') || 'no other selector'} keeps signing${replaced.length ? `; at step 3 the new key replaces ${replaced.join(', ')}` : ''}.`,
        `1. Publish the new record: \`maildns records\` (name ${selector}._domainkey.${d.domain}).`,
        '2. Wait for it to be visible on every authoritative server and check it: `maildns verify`.',
        `3. Switch signing to it: \`maildns dkim rotate ${d.domain} --activate\` (then \`maildns opendkim\` and reload OpenDKIM).`,
        `4. A few days later retire the old selector: \`maildns dkim rotate ${d.domain} --retire\` (publishes an empty p= first).`,
      );
    }
    const ad = findDomain(after, d.domain, file);
    const states = ad.dkim.map((s) => ({ selector: s.selector, algorithm: s.algorithm, state: stateOf(s) }));
    if (args.json) printJson({ domain: d.domain, action, selector, selectors: states, next: rotationStatus(ad).next, steps });
    else {
      process.stdout.write(
        `${steps.join('\n')}\n\nSelectors of ${d.domain}: ${states.map((s) => `${s.selector} (${s.algorithm}, ${s.state})`).join(', ')}\n`,
      );
    }
  },
};

// ---- dkim -------------------------------------------------------------------------------

export const dkimCommand: CommandModule = {
  command: 'dkim <command>',
  describe: 'inspect DKIM keys and records, and rotate keys',
  builder: (y) =>
    y
      .command(showCommand as CommandModule)
      .command(checkRecordCommand as CommandModule)
      .command(rotateCommand as CommandModule)
      .demandCommand(1, 'name a dkim command: show, check-record or rotate'),
  handler: () => {},
};
