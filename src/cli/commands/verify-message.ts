/** `maildns verify-message`: DKIM, SPF, DMARC and ARC for a message, as a receiver would judge it. */
import type { CommandModule } from 'yargs';
import { COMMANDS } from '../registry.js';
import { EXIT, exitCodeOf, UsageError } from '../exit.js';
import { DMARC_MODES, type DmarcMode } from '../../dmarc/mode.js';
import { printJson, useColor } from '../render/output.js';
import type { MessageReport } from '../../message/verify.js';
import { resolverFromArgs, sayWhenReadingTerminal, withNameserverOption } from './common.js';

interface Args {
  message: string;
  ip?: string;
  helo?: string;
  mailFrom?: string;
  nameserver?: string;
  timeout: number;
  json: boolean;
  dmarcMode: string;
  profile?: string;
}

function exitCodeFor(report: MessageReport): number {
  if (report.dmarc.result === 'pass') return EXIT.ok;
  return report.dnsFailed ? EXIT.dnsUnavailable : EXIT.problems;
}

export const verifyMessageCommand: CommandModule<object, Args> = {
  ...COMMANDS['verify-message'],
  builder: (y) =>
    withNameserverOption(
      y
        .positional('message', { type: 'string', demandOption: true, describe: 'the message (RFC 5322, .eml): a file, or a pipe read to its end' })
        .option('ip', { type: 'string', describe: 'SMTP client address, to check SPF' })
        .option('helo', { type: 'string', describe: 'HELO/EHLO name of the client' })
        .option('mail-from', { type: 'string', describe: 'MAIL FROM address (default: the Return-Path field; "<>" for none)' })
        .option('json', { type: 'boolean', default: false, describe: 'print the result as JSON' })
        .option('profile', { type: 'string', choices: ['bulk-senders'] as const, describe: 'also judge the rules of a sender profile: bulk-senders (Google, Yahoo, Microsoft), the DNS rules of the From domain and the message-level ones (aligned DKIM, DMARC pass, one-click unsubscribe, Message-ID and Date)' })
        .option('dmarc-mode', { type: 'string', default: '9989', choices: DMARC_MODES, describe: 'DMARC rules: 9989 (DMARCbis, DNS tree walk) or 7489 (Public Suffix List)' }),
    )
      .example('$0 verify-message signed.eml --nameserver 127.0.0.1:5300', 'check against a local test server')
      .example('$0 verify-message mail.eml --ip 192.0.2.10 --mail-from bounce@example.com --helo mx.example.com', 'DKIM, SPF and DMARC as the receiving server saw it')
      .example('$0 verify-message news.eml --ip 192.0.2.10 --profile bulk-senders', 'the bulk-sender rules of Google, Yahoo and Microsoft for this message')
      .epilogue('Each result but pass comes with its fix; the first 20 DKIM signatures from the top are checked (a message with more is told so). The ARC chain (RFC 8617) is judged as a receiver would (at most 50 sets); its result is none, pass or fail, and a chain a key of which could not be fetched is fail with the finding arc.dns-temporary. Exit codes: 0 DMARC passes, 1 it does not, 2 bad input, 3 it does not and DNS could not be asked (for a DKIM key, SPF or DMARC, or an ARC key whose chain could have let a receiver override the DMARC fail). With --profile: 0 every rule that can be checked is met, 1 a rule is not met, 3 none failed but DNS left a rule unknown.') as never,
  handler: async (args) => {
    const [{ fieldsNamed, readMessageFile }, { verifyMessage }, { renderMessageReport }] = await Promise.all([
      import('../../message/message.js'),
      import('../../message/verify.js'),
      import('../render/message.js'),
    ]);
    const msg = await readMessageFile(args.message, { atTerminal: sayWhenReadingTerminal('the message') });
    if (fieldsNamed(msg, 'From').length === 0) {
      throw new UsageError('no From header field, which every message has (RFC 5322 §3.6.2); is this an .eml file?', args.message);
    }
    const mode = args.dmarcMode as DmarcMode;
    if (args.helo !== undefined && !/^[A-Za-z0-9_.:[\]-]+$/.test(args.helo)) throw new UsageError(`--helo "${args.helo}" is not a host name`);
    const resolver = await resolverFromArgs(args);
    const verifyOptions = {
      dmarcMode: mode,
      ...(args.ip !== undefined ? { ip: args.ip } : {}),
      ...(args.helo !== undefined ? { helo: args.helo } : {}),
      ...(args.mailFrom !== undefined ? { mailFrom: args.mailFrom } : {}),
    };
    if (args.profile !== undefined) {
      const [{ bulkSenderMessageProfile }, { renderProfileReport }] = await Promise.all([import('../../profiles/bulk-senders.js'), import('../render/profile.js')]);
      const { message, profile } = await bulkSenderMessageProfile(msg, resolver, verifyOptions);
      const exitCode = exitCodeOf(profile.outcome);
      if (args.json) printJson({ message, profile, exitCode });
      else process.stdout.write(`${renderMessageReport(message)}\n${renderProfileReport(profile, useColor())}`);
      process.exitCode = exitCode;
      return;
    }
    const report = await verifyMessage(msg, resolver, verifyOptions);
    if (args.json) printJson({ ...report, exitCode: exitCodeFor(report) });
    else process.stdout.write(renderMessageReport(report));
    process.exitCode = exitCodeFor(report);
  },
};
