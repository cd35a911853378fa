/** `maildns verify-message`: DKIM, SPF and DMARC for a message, as a receiver would judge it. */
import type { CommandModule } from 'yargs';
import { EXIT, UsageError } from '../errors.js';
import { DMARC_MODES, type DmarcMode } from '../dmarc/parse.js';
import { paint, printJson, renderFindings, useColor } from '../output.js';
import { fieldsNamed, readMessageFile } from '../message/message.js';
import { verifyMessage, type MessageReport } from '../message/verify.js';
import { resolverFromArgs, withNameserverOption } from './common.js';

interface Args {
  message: string;
  ip?: string;
  helo?: string;
  mailFrom?: string;
  nameserver?: string;
  timeout: number;
  json: boolean;
  dmarcMode: string;
}

export function exitCodeFor(report: MessageReport): number {
  if (report.dmarc.result === 'pass') return EXIT.ok;
  return report.dnsFailed ? EXIT.dnsUnavailable : EXIT.problems;
}

function tint(result: string): 'green' | 'red' | 'yellow' {
  return result === 'pass' ? 'green' : result === 'fail' || result === 'permerror' ? 'red' : 'yellow';
}

export function renderMessageReport(r: MessageReport, color = useColor()): string {
  const out: string[] = [];
  out.push(paint('DKIM', 'bold', color));
  if (r.dkim.length === 0) out.push('  no DKIM-Signature in the message');
  for (const d of r.dkim) {
    const key = d.key?.bits ? `${d.key.bits}-bit ${d.key.type}` : 'no usable key';
    out.push(`  #${d.index + 1} ${paint(d.result.toUpperCase(), tint(d.result), color)}  d=${d.domain} s=${d.selector} a=${d.algorithm} c=${d.canonicalization}  (${key})`);
    if (d.reason) out.push(`     ${d.reason}`);
    if (d.bodyHash && d.reasonCode === 'dkim.body-hash-mismatch') {
      out.push(`     expected bh=${d.bodyHash.expected}`);
      out.push(`     computed bh=${d.bodyHash.computed}`);
    }
    if (d.key) {
      const flags = [
        d.key.flags.length ? `t=${d.key.flags.join(':')}` : '',
        d.key.hashes ? `h=${d.key.hashes.join(':')}` : '',
        d.key.services.join(':') !== '*' ? `s=${d.key.services.join(':')}` : '',
      ].filter(Boolean);
      out.push(`     key ${d.key.name}${d.key.recordCount > 1 ? ` (${d.key.recordCount} TXT records there)` : ''}${flags.length ? `  flags ${flags.join(' ')}` : ''}`);
    }
    if (d.unsignedBodyBytes) out.push(`     l= leaves ${d.unsignedBodyBytes} body bytes unsigned`);
  }
  out.push(paint('SPF', 'bold', color));
  if (!r.spf) out.push('  not checked (give --ip, and --mail-from or --helo)');
  else {
    out.push(`  ${paint(r.spf.result.toUpperCase(), tint(r.spf.result), color)}  ${r.spf.identity === 'mailfrom' ? 'MAIL FROM' : 'HELO'} ${r.spf.domain || '(none)'} for client ${r.spf.ip}`);
    if (r.spf.reason) out.push(`     ${r.spf.reason}`);
  }
  const m = r.dmarc;
  out.push(paint('DMARC', 'bold', color) + paint(`  (RFC ${m.mode} rules)`, 'dim', color));
  out.push(`  ${paint(m.result.toUpperCase(), tint(m.result), color)}  From domain ${m.fromDomain ?? '(none)'}`);
  if (m.record) out.push(`     record ${m.recordName}: "${m.record}"`);
  for (const id of m.identifiers) {
    const mode = id.alignment.mode === 's' ? 'strict' : 'relaxed';
    out.push(`     ${id.method} ${id.domain}: ${id.result}; ${id.alignment.aligned ? 'aligned' : 'not aligned'} (${mode}${id.method === 'dkim' ? ', adkim' : ', aspf'}=${id.alignment.mode})`);
  }
  out.push(`     ${m.reason}`);
  if (m.policy) {
    const pct = m.pct !== undefined ? `, pct=${m.pct}: applies to ${m.pct}% of failing mail` : '';
    out.push(`     policy ${m.rule}=${m.policy}${pct}; a receiver would ${m.result === 'pass' ? 'deliver it (pass)' : `apply ${m.disposition ?? 'none'}`}`);
  }
  if (r.findings.length) {
    out.push('');
    out.push(renderFindings(r.findings, color));
  }
  out.push('');
  out.push(r.authenticationResults.replace(/\r\n/g, '\n'));
  return `${out.join('\n')}\n`;
}

export const verifyMessageCommand: CommandModule<object, Args> = {
  command: 'verify-message <message>',
  describe: 'check a message\'s DKIM signatures, SPF and DMARC as a receiver would',
  builder: (y) =>
    withNameserverOption(
      y
        .positional('message', { type: 'string', demandOption: true, describe: 'the message (RFC 5322, .eml)' })
        .option('ip', { type: 'string', describe: 'SMTP client address, to check SPF' })
        .option('helo', { type: 'string', describe: 'HELO/EHLO name of the client' })
        .option('mail-from', { type: 'string', describe: 'MAIL FROM address (default: the Return-Path field; "<>" for none)' })
        .option('json', { type: 'boolean', default: false, describe: 'print the result as JSON' })
        .option('dmarc-mode', { type: 'string', default: '9989', choices: DMARC_MODES, describe: 'DMARC rules: 9989 (DMARCbis, DNS tree walk) or 7489 (Public Suffix List)' }),
    )
      .example('$0 verify-message signed.eml --nameserver 127.0.0.1:5300', 'check against a local test server')
      .example('$0 verify-message mail.eml --ip 192.0.2.10 --mail-from bounce@example.com --helo mx.example.com', 'DKIM, SPF and DMARC as the receiving server saw it')
      .epilogue('Exit codes: 0 DMARC passes, 1 it does not, 2 bad input, 3 DNS could not be asked.') as never,
  handler: async (args) => {
    const msg = readMessageFile(args.message);
    if (fieldsNamed(msg, 'From').length === 0) {
      throw new UsageError('no From header field, which every message has (RFC 5322 §3.6.2); is this an .eml file?', args.message);
    }
    const mode = args.dmarcMode as DmarcMode;
    if (args.helo !== undefined && !/^[A-Za-z0-9_.:[\]-]+$/.test(args.helo)) throw new UsageError(`--helo "${args.helo}" is not a host name`);
    const resolver = resolverFromArgs(args);
    const report = await verifyMessage(msg, resolver, {
      dmarcMode: mode,
      ...(args.ip !== undefined ? { ip: args.ip } : {}),
      ...(args.helo !== undefined ? { helo: args.helo } : {}),
      ...(args.mailFrom !== undefined ? { mailFrom: args.mailFrom } : {}),
    });
    if (args.json) printJson({ ...report, exitCode: exitCodeFor(report) });
    else process.stdout.write(renderMessageReport(report));
    process.exitCode = exitCodeFor(report);
  },
};
