/** `maildns sign`: add a DKIM-Signature to a test message (mailauth does the signing). */
import { readFileSync } from 'node:fs';
import type { CommandModule } from 'yargs';
import { UsageError } from '../exit.js';
import { failedOn, writeFileAtomic } from '../../fsutil.js';
import { keyPathFor, loadPlan } from '../../plan/load.js';
import type { DkimSelectorPlan, DomainPlan, Plan } from '../../plan/types.js';
import { printJson } from '../render/output.js';
import { CANONICALIZATIONS, SIGN_ALGORITHMS, loadPrivateKey, signMessage, type Canonicalization, type SignAlgorithm } from '../../message/sign.js';
import { fromIdentity, readMessageFile } from '../../message/message.js';

interface Args {
  message: string;
  plan?: string;
  domain?: string;
  selector?: string;
  key?: string;
  algorithm?: string;
  headers?: string;
  canonicalization: string;
  output?: string;
  json: boolean;
}

/** The selector that signs now: the one marked active, else the first without a rotation state. */
export function activeSelector(d: DomainPlan): DkimSelectorPlan | null {
  return d.dkim.find((s) => s.state === 'active') ?? d.dkim.find((s) => s.state === undefined) ?? null;
}

export interface SigningChoice {
  domain: string;
  selector: string;
  keyFile: string;
  algorithm?: SignAlgorithm;
}

/** Domain, selector and key from the plan, for the message's From domain. */
export function choiceFromPlan(plan: Plan, fromDomain: string | null, label: string): SigningChoice {
  if (!fromDomain) throw new UsageError('the message has no single From domain, so the plan cannot say which domain signs; use --domain', label);
  const d = plan.domains.find((x) => x.domain === fromDomain);
  if (!d) {
    throw new UsageError(`the From domain ${fromDomain} is not in the plan (planned: ${plan.domains.map((x) => x.domain).join(', ')}); use --domain/--selector/--key`, plan.file ?? undefined);
  }
  const sel = activeSelector(d);
  if (!sel) throw new UsageError(`${d.domain} has no active DKIM selector in the plan; add one under "dkim"`, plan.file ?? undefined);
  return { domain: d.domain, selector: sel.selector, keyFile: keyPathFor(plan, d, sel), algorithm: sel.algorithm === 'ed25519' ? 'ed25519-sha256' : 'rsa-sha256' };
}

function readKeyFile(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new UsageError('private key not found; create it with `maildns keygen`', file);
    failedOn(err, file, 'read the private key');
  }
}

export const signCommand: CommandModule<object, Args> = {
  command: 'sign <message>',
  describe: 'add a DKIM-Signature to a message (.eml) with a domain key',
  builder: (y) =>
    y
      .positional('message', { type: 'string', demandOption: true, describe: 'the message to sign (RFC 5322, .eml)' })
      .option('plan', { type: 'string', normalize: true, describe: 'take domain (From), selector and key from this plan' })
      .option('domain', { alias: 'd', type: 'string', describe: 'signing domain (d=)' })
      .option('selector', { alias: 's', type: 'string', describe: 'selector (s=)' })
      .option('key', { alias: 'k', type: 'string', normalize: true, describe: 'private key file (PEM, or a base64 Ed25519 seed)' })
      .option('algorithm', { alias: 'a', type: 'string', choices: SIGN_ALGORITHMS, describe: 'signing algorithm (default: from the key)' })
      .option('headers', { type: 'string', describe: 'header fields to sign, colon-separated (default: From, To, Subject, Date, Message-ID and the other usual ones present)' })
      .option('canonicalization', { alias: 'c', type: 'string', default: 'relaxed/relaxed', choices: CANONICALIZATIONS, describe: 'header/body canonicalization' })
      .option('output', { alias: 'o', type: 'string', normalize: true, describe: 'write the signed message here (atomically) instead of stdout' })
      .option('json', { type: 'boolean', default: false, describe: 'print the DKIM-Signature and the choices made as JSON (with the signed message unless -o is given)' })
      .example('$0 sign test.eml --plan maildns.yaml -o signed.eml', 'sign with the active selector of the From domain')
      .example('$0 sign test.eml -d example.com -s mail -k keys/example.com/mail.private', 'sign with an explicit key')
      .example('$0 sign test.eml -d example.com -s ed -k ed.private --headers From:To:Subject:Date', 'sign only the named fields') as never,
  handler: async (args) => {
    const msg = readMessageFile(args.message);
    const explicit = [args.domain, args.selector, args.key].filter((v) => v !== undefined).length;
    let choice: SigningChoice;
    if (args.plan !== undefined) {
      if (explicit) throw new UsageError('use either --plan or --domain/--selector/--key, not both');
      choice = choiceFromPlan(loadPlan(args.plan), fromIdentity(msg).domain, args.message);
    } else if (explicit === 3) {
      choice = { domain: args.domain!, selector: args.selector!, keyFile: args.key! };
    } else {
      throw new UsageError('say which key signs: --plan FILE, or all of --domain, --selector and --key');
    }
    const keyLabel = choice.keyFile;
    const key = loadPrivateKey(readKeyFile(choice.keyFile), keyLabel);
    const headers = args.headers?.split(':').map((h) => h.trim()).filter(Boolean);
    const algorithm = (args.algorithm as SignAlgorithm | undefined) ?? (args.plan !== undefined ? choice.algorithm : undefined);
    const result = await signMessage(
      msg.raw,
      {
        domain: choice.domain,
        selector: choice.selector,
        key,
        canonicalization: args.canonicalization as Canonicalization,
        ...(algorithm ? { algorithm } : {}),
        ...(headers?.length ? { headers } : {}),
      },
      args.message,
    );
    if (args.output) writeFileAtomic(args.output, result.message);
    if (args.json) {
      printJson({ domain: choice.domain, selector: choice.selector, algorithm: result.algorithm, output: args.output ?? null, header: result.header.replace(/\r?\n$/, ''), ...(args.output ? {} : { message: result.message.toString('latin1') }) });
    } else if (!args.output) {
      process.stdout.write(result.message);
    } else {
      process.stderr.write(`signed with d=${choice.domain} s=${choice.selector} a=${result.algorithm}; wrote ${args.output}\n`);
    }
  },
};
