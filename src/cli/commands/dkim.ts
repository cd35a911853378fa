/** `maildns dkim show | check-record | rotate`: inspect keys and records, and rotate keys. */
import type { CommandModule } from 'yargs';
import { COMMANDS, subcommandMissing } from '../registry.js';
import { hasFindingAtLeast, printable } from '../../findings.js';
import { DKIM_ALGORITHMS, type DkimAlgorithm } from '../../plan/types.js';
import { EXIT, UsageError } from '../exit.js';
import { printJson, renderFindings } from '../render/output.js';
import { readPlan, resolverFromArgs, withJsonOption, withNameserverOption, withPlanOption } from './common.js';

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
  handler: async (args) => {
    const { inspectSelectorKey } = await import('../../dkim/inspect.js');
    const { zoneTxtLine } = await import('../../txt.js');
    const info = inspectSelectorKey(await readPlan(args.plan, args.keysDir), args.domain, args.selector);
    const key = info.key;
    if (!key) {
      if (args.json) printJson({ domain: info.domain, selector: info.selector, name: info.name, keyPath: info.keyPath, key: null, state: info.state });
      else process.stdout.write(`${info.name}: no key yet at ${info.keyPath}; run \`maildns keygen\`\n`);
      process.exitCode = EXIT.problems;
      return;
    }
    if (args.json) printJson({ domain: info.domain, selector: info.selector, name: info.name, state: info.state, keyPath: info.keyPath, ...key });
    else {
      const lines = [
        `${info.name}`,
        `  state:      ${info.state}`,
        `  key file:   ${info.keyPath} (mode ${key.keyMode})`,
        `  algorithm:  ${key.keyType === 'rsa' ? `RSA, ${key.bits} bits` : 'Ed25519 (RFC 8463)'}${key.algorithm !== key.plannedAlgorithm ? `  (the plan says ${key.plannedAlgorithm})` : ''}`,
        `  record:     ${key.record}`,
        `  zone form:  ${zoneTxtLine(info.name, key.record)}`,
      ];
      if (key.findings.length) lines.push('', renderFindings(key.findings));
      process.stdout.write(`${lines.join('\n')}\n`);
    }
    if (hasFindingAtLeast(key.findings, 'error')) process.exitCode = EXIT.problems;
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
  handler: async (args) => {
    const [{ checkDkimRecordText }, { readPrivateKeyFile }] = await Promise.all([import('../../dkim/inspect.js'), import('../../dkim/keys.js')]);
    const subject = args.name ?? 'DKIM record';
    // Read as sign reads its key: a file, or a pipe to its end within the input deadline; never a hang on a FIFO, nor /dev/zero read for ever.
    const privateKey = args.key ? { pem: await readPrivateKeyFile(args.key), label: args.key } : undefined;
    const check = checkDkimRecordText(args.record, subject, privateKey);
    if (args.json) printJson(check);
    else {
      const head = check.keyType ? `${check.keyType === 'rsa' ? `RSA ${check.bits}-bit` : 'Ed25519'} key${check.form === 'pkcs1' ? ' (bare PKCS#1)' : ''}` : check.revoked ? 'revoked key (empty p=)' : 'no readable key';
      process.stdout.write(`${subject}: ${head}\n${renderFindings(check.findings)}\n`);
    }
    if (hasFindingAtLeast(check.findings, 'warning')) process.exitCode = EXIT.problems;
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
  force: boolean;
  keysDir?: string;
  nameserver?: string;
  timeout: number;
  authoritative?: string;
  json: boolean;
}

const rotateCommand: CommandModule<object, RotateArgs> = {
  command: 'rotate <domain>',
  describe: 'rotate a domain\'s DKIM key: add a new selector, then --activate it, then --retire the old one',
  builder: (y) =>
    withNameserverOption(withJsonOption(withPlanOption(y)))
      .positional('domain', { type: 'string', demandOption: true, describe: 'domain in the plan' })
      .option('selector', { type: 'string', describe: 'name of the new selector (default: s<YYYYMM>)' })
      .option('algorithm', { type: 'string', choices: DKIM_ALGORITHMS as string[], describe: 'algorithm of the new key (default: that of the active key)' })
      .option('activate', { type: 'boolean', describe: 'step 2: sign with the new selector; the old one becomes retiring' })
      .option('retire', { type: 'boolean', describe: 'step 3: drop the retiring selector and publish its key as revoked (empty p=)' })
      .option('force', { type: 'boolean', default: false, describe: 'skip the step\'s check: that every authoritative server serves the new record (--activate), or that the grace period has passed (--retire)' })
      .option('authoritative', { type: 'string', describe: 'for --activate: ask these servers (HOST[:PORT], comma-separated) instead of the NS records found in DNS' })
      .option('keys-dir', { type: 'string', describe: 'directory of DOMAIN/SELECTOR.private (default: the plan\'s)' })
      .example('$0 dkim rotate example.com', 'step 1: new selector and key, published next to the current one')
      .example('$0 dkim rotate example.com --activate', 'step 2, once `maildns verify` sees the new record')
      .example('$0 dkim rotate example.com --retire', 'step 3, after defaults.dkim_retire_after_days (7 by default)')
      .epilogue('Exit codes: 0 step done; 1 the step waits (the new record is not served everywhere yet, or the grace period has not passed); 2 bad input; 3 DNS could not be asked.') as never,
  handler: async (args) => {
    if (args.activate && args.retire) throw new UsageError('--activate and --retire are two separate steps; give one of them');
    if ((args.activate || args.retire) && (args.selector || args.algorithm)) throw new UsageError('--selector and --algorithm name the new selector; they go with the first step only');
    if (args.force && !args.activate && !args.retire) throw new UsageError('--force goes with --activate or --retire');
    const { rotateKeys } = await import('../../dkim/rotate.js');
    let authoritative: string[] | undefined;
    if (args.authoritative !== undefined) {
      const [{ parseServerList }, { formatServer }] = await Promise.all([import('../../dns/authoritative.js'), import('../../dns/resolver.js')]);
      try {
        authoritative = parseServerList(args.authoritative).map(formatServer);
      } catch (err) {
        throw new UsageError(`--authoritative: ${(err as Error).message}`);
      }
    }
    const outcome = await rotateKeys(
      args.plan,
      args.domain,
      args.activate ? { step: 'activate', force: args.force } : args.retire ? { step: 'retire', force: args.force } : { step: 'start', ...(args.selector ? { selector: args.selector } : {}), ...(args.algorithm ? { algorithm: args.algorithm as DkimAlgorithm } : {}) },
      {
        ...(args.keysDir ? { keysDir: args.keysDir } : {}),
        ...(args.activate && !args.force ? { resolver: await resolverFromArgs(args) } : {}),
        ...(authoritative ? { authoritative } : {}),
      },
    );
    if (outcome.action === 'waiting') process.exitCode = outcome.dnsUnavailable ? EXIT.dnsUnavailable : EXIT.problems;
    if (args.json) printJson(outcome);
    else {
      process.stdout.write(
        // A step may quote what DNS gave (the names of the servers not serving the record yet).
        `${outcome.steps.map(printable).join('\n')}\n\nSelectors of ${outcome.domain}: ${outcome.selectors.map((s) => `${s.selector} (${s.algorithm}, ${s.state})`).join(', ')}\n`,
      );
    }
  },
};

// ---- dkim -------------------------------------------------------------------------------

export const dkimCommand: CommandModule = {
  ...COMMANDS['dkim'],
  builder: (y) =>
    y
      .command(showCommand as CommandModule)
      .command(checkRecordCommand as CommandModule)
      .command(rotateCommand as CommandModule)
      .demandCommand(1, subcommandMissing('dkim')),
  handler: () => {},
};
