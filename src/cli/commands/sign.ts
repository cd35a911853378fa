/** `maildns sign`: add a DKIM-Signature to a test message (src/message/sign.ts signs, with mailauth's canonicalization). */
import type { KeyObject } from 'node:crypto';
import type { CommandModule } from 'yargs';
import { COMMANDS } from '../registry.js';
import { UsageError } from '../exit.js';
import type { SigningChoice } from '../../plan/selectors.js';
import { printJson } from '../render/output.js';
import { CANONICALIZATIONS, SIGN_ALGORITHMS, type Canonicalization, type SignAlgorithm } from '../../message/options.js';
import { sayWhenReadingTerminal } from './common.js';

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

/** The signed message for --json: `message` when its bytes are UTF-8, else `messageBase64`. */
function messageForJson(bytes: Buffer): { message: string } | { messageBase64: string } {
  try {
    return { message: new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes) };
  } catch {
    return { messageBase64: bytes.toString('base64') };
  }
}

export const signCommand: CommandModule<object, Args> = {
  ...COMMANDS['sign'],
  builder: (y) =>
    y
      .positional('message', { type: 'string', demandOption: true, describe: 'the message to sign (RFC 5322, .eml): a file, or a pipe read to its end' })
      .option('plan', { type: 'string', normalize: true, describe: 'sign with every active selector of the From domain in this plan (RSA and Ed25519 together when both are active)' })
      .option('domain', { alias: 'd', type: 'string', describe: 'signing domain (d=)' })
      .option('selector', { alias: 's', type: 'string', describe: 'selector (s=)' })
      .option('key', { alias: 'k', type: 'string', normalize: true, describe: 'private key file (PEM, or a base64 Ed25519 seed)' })
      .option('algorithm', { alias: 'a', type: 'string', choices: SIGN_ALGORITHMS, describe: 'signing algorithm (default: from the key); with --plan, sign only with the active keys of this kind' })
      .option('headers', { type: 'string', describe: 'header fields to sign, colon-separated (default: From, To, Subject, Date, Message-ID and the other usual ones present)' })
      .option('canonicalization', { alias: 'c', type: 'string', default: 'relaxed/relaxed', choices: CANONICALIZATIONS, describe: 'header/body canonicalization' })
      .option('output', { alias: 'o', type: 'string', normalize: true, describe: 'write the signed message here (atomically) instead of stdout; it may be the message itself, never the key or the plan' })
      .option('json', { type: 'boolean', default: false, describe: 'print the DKIM-Signature and the choices made as JSON (with the signed message unless -o is given: `message`, or `messageBase64` when it is not UTF-8)' })
      .example('$0 sign test.eml --plan maildns.yaml -o signed.eml', 'sign with the active selector of the From domain')
      .example('$0 sign test.eml -d example.com -s mail -k keys/example.com/mail.private', 'sign with an explicit key')
      .example('$0 sign test.eml -d example.com -s ed -k ed.private --headers From:To:Subject:Date', 'sign only the named fields')
      .epilogue('Exit codes: 0 signed; 2 bad input: the message (no RFC 5322 message, a header line that is neither a field nor a fold, no From, over 150 MiB), the key (missing, a public key, encrypted) or a flag. The key is only read: nothing of it is printed, and -o cannot name it.') as never,
  handler: async (args) => {
    const [{ readMessageFile, fromIdentity }, { loadPrivateKey, signWithEach }, { readPrivateKeyFile }, { sameFile, writeFileAtomic }] = await Promise.all([
      import('../../message/message.js'),
      import('../../message/sign.js'),
      import('../../dkim/keys.js'),
      import('../../fsutil.js'),
    ]);
    const msg = await readMessageFile(args.message, { atTerminal: sayWhenReadingTerminal('the message to sign') });
    const explicit = [args.domain, args.selector, args.key].filter((v) => v !== undefined).length;
    const wanted = args.algorithm as SignAlgorithm | undefined;
    let choices: (Omit<SigningChoice, 'algorithm'> & { algorithm?: SignAlgorithm })[];
    if (args.plan !== undefined) {
      if (explicit) throw new UsageError('use either --plan or --domain/--selector/--key, not both');
      const [{ readPlanFile }, { signingChoices }] = await Promise.all([import('../../plan/load.js'), import('../../plan/selectors.js')]);
      // Every active selector signs; --algorithm keeps only the keys of that kind.
      const all = signingChoices(await readPlanFile(args.plan), fromIdentity(msg).domain, args.message);
      choices = wanted ? all.filter((c) => c.algorithm === wanted) : all;
      if (!choices.length) throw new UsageError(`--algorithm ${wanted}: no active selector of ${all[0]!.domain} has such a key (active: ${all.map((c) => `${c.selector} ${c.algorithm}`).join(', ')})`);
    } else if (explicit === 3) {
      choices = [{ domain: args.domain!, selector: args.selector!, keyFile: args.key!, ...(wanted ? { algorithm: wanted } : {}) }];
    } else {
      throw new UsageError('say which key signs: --plan FILE, or all of --domain, --selector and --key');
    }
    // The signed message replaces what -o names: never a key it is signed with, nor the plan that names them.
    const kept = [...choices.map((c) => ({ file: c.keyFile, what: 'the private key' })), ...(args.plan !== undefined ? [{ file: args.plan, what: 'the plan' }] : [])];
    const clash = args.output !== undefined ? kept.find((k) => sameFile(args.output!, k.file)) : undefined;
    if (clash) throw new UsageError(`-o ${args.output} is ${clash.what} (${clash.file}); the signed message would replace it: write it to another file`);
    const headers = args.headers?.split(':').map((h) => h.trim()).filter(Boolean);
    // `--headers :` would sign the usual fields, as if the flag were not there.
    if (headers !== undefined && headers.length === 0) throw new UsageError(`--headers "${args.headers}" names no header field; give names such as from:to:subject:date`);
    const keys: KeyObject[] = [];
    for (const c of choices) keys.push(loadPrivateKey(await readPrivateKeyFile(c.keyFile), c.keyFile));
    const result = await signWithEach(
      msg.raw,
      choices.map((c, i) => ({
        domain: c.domain,
        selector: c.selector,
        key: keys[i]!,
        canonicalization: args.canonicalization as Canonicalization,
        ...(c.algorithm ? { algorithm: c.algorithm } : {}),
        ...(headers?.length ? { headers } : {}),
      })),
      args.message,
    );
    if (args.output) writeFileAtomic(args.output, result.message, { throughLink: true });
    const domain = choices[0]!.domain;
    const first = result.signatures[0]!;
    if (args.json) {
      printJson({
        domain,
        // The first signature's fields, as before several could be made; `signatures` lists them all.
        selector: first.selector,
        algorithm: first.algorithm,
        output: args.output ?? null,
        header: first.header.replace(/\r?\n$/, ''),
        signatures: result.signatures.map((s) => ({ selector: s.selector, algorithm: s.algorithm, header: s.header.replace(/\r?\n$/, '') })),
        // JSON text is Unicode: a message in UTF-8 (or 7-bit) is given as its text; one in another
        // 8-bit form (raw Latin-1) cannot be, and is given as base64, never as characters its bytes are not.
        ...(args.output ? {} : messageForJson(result.message)),
      });
    } else if (!args.output) {
      process.stdout.write(result.message);
    } else {
      process.stderr.write(`signed with ${result.signatures.map((s) => `d=${domain} s=${s.selector} a=${s.algorithm}`).join(' and ')}; wrote ${args.output}\n`);
    }
  },
};
