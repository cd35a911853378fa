/**
 * Every top-level command: its yargs command string and description, and where its module is.
 * `maildns --help` lists them from here without loading any command module; a command's module
 * is loaded when it runs (src/cli/main.ts).
 */
import type { CommandModule } from 'yargs';

export const COMMANDS = {
  'quickstart': { command: 'quickstart [dir]', describe: 'set up an example domain end to end, offline: plan, keys, OpenDKIM files, records, embedded DNS, verification, a signed test message' },
  'init': { command: 'init <domain>', describe: 'write a commented starter plan (maildns.yaml) for a sending domain' },
  'keygen': { command: 'keygen', describe: 'create a DKIM key pair for every selector in the plan that has none (existing keys are kept)' },
  'opendkim': { command: 'opendkim', describe: 'write the OpenDKIM tables and confs for Debian 12 (socket in Postfix\'s chroot, keys in /etc/dkimkeys), the Postfix milter lines, and the steps to install them' },
  'postfix': { command: 'postfix', describe: 'write the mail host\'s Postfix lines from the plan\'s mail_host (relayhost with SMTP AUTH over TLS, submission with SASL, relay restrictions, the OpenDKIM milters) and the steps to apply them' },
  'records': { command: 'records', describe: 'print the DNS records the plan asks for (zone file, MyDNS rows or JSON)' },
  'mta-sts': { command: 'mta-sts', describe: 'print or write the MTA-STS policy file of each planned domain, for the web server of mta-sts.DOMAIN' },
  'serve': { command: 'serve', describe: 'serve the plan\'s records on a local authoritative DNS server (UDP and TCP) until stopped' },
  'verify': { command: 'verify', describe: 'compare what every authoritative server publishes with the plan (after a DNS change, or nightly)' },
  'check': { command: 'check [domains..]', describe: 'audit SPF, DMARC, DKIM, MX, MTA-STS, TLS-RPT and BIMI of any domains (STARTTLS, reverse DNS, DNSSEC and DANE when asked), without a plan (for cron and CI)' },
  'report': { command: 'report <command>', describe: 'merge the outputs of several check runs (the shards of one list) into one report: text, JSON, JUnit or HTML' },
  'history': { command: 'history [domain]', describe: 'what changed between the check runs recorded with --history: records, findings, DKIM keys, SPF lookups, DNS failures' },
  'spf': { command: 'spf', describe: 'check a domain\'s SPF (maildns spf DOMAIN), evaluate it for an address (--ip), compose, merge or flatten a record, watch a flattening' },
  'dkim': { command: 'dkim <command>', describe: 'inspect DKIM keys and records, and rotate keys' },
  'dmarc': { command: 'dmarc', describe: 'check a domain\'s DMARC record (maildns dmarc DOMAIN) or compose one (maildns dmarc compose)' },
  'sign': { command: 'sign <message>', describe: 'add a DKIM-Signature to a message (.eml) with a domain key' },
  'verify-message': { command: 'verify-message <message>', describe: 'check a message\'s DKIM signatures, SPF, DMARC and ARC chain as a receiver would' },
  'selftest': { command: 'selftest', describe: 'send a probe through the local Postfix (SMTP or sendmail) to a listener maildns runs, check it left signed and aligned, and name the likely reason when not' },
} as const;

export type CommandName = keyof typeof COMMANDS;

/** The subcommands of the commands that demand one (their `<command>`). */
const SUBCOMMANDS: Partial<Record<CommandName, readonly string[]>> = {
  'report': ['merge'],
  'dkim': ['show', 'check-record', 'rotate'],
};

/** The words a command that demands a subcommand takes after it; empty for the others. */
export function subcommandsOf(name: CommandName): readonly string[] {
  return SUBCOMMANDS[name] ?? [];
}

/** What a command that demands a subcommand says when none is named. */
export function subcommandMissing(name: CommandName): string {
  return `name a ${name} command: ${subcommandList(name)}`;
}

/** "a, b or c", for messages that list a command's subcommands. */
export function subcommandList(name: CommandName): string {
  const words = subcommandsOf(name);
  return words.length > 1 ? `${words.slice(0, -1).join(', ')} or ${words.at(-1)}` : words.join('');
}

/** The module of each command, imported only when it is named. */
export const LOADERS: Record<CommandName, () => Promise<CommandModule<any, any>>> = {
  'quickstart': async () => (await import('./commands/quickstart.js')).quickstartCommand as CommandModule<any, any>,
  'init': async () => (await import('./commands/init.js')).initCommand as CommandModule<any, any>,
  'keygen': async () => (await import('./commands/keygen.js')).keygenCommand as CommandModule<any, any>,
  'opendkim': async () => (await import('./commands/opendkim.js')).opendkimCommand as CommandModule<any, any>,
  'postfix': async () => (await import('./commands/postfix.js')).postfixCommand as CommandModule<any, any>,
  'records': async () => (await import('./commands/records.js')).recordsCommand as CommandModule<any, any>,
  'mta-sts': async () => (await import('./commands/mta-sts.js')).mtaStsCommand as CommandModule<any, any>,
  'serve': async () => (await import('./commands/serve.js')).serveCommand as CommandModule<any, any>,
  'verify': async () => (await import('./commands/verify.js')).verifyCommand as CommandModule<any, any>,
  'check': async () => (await import('./commands/check.js')).checkCommand as CommandModule<any, any>,
  'report': async () => (await import('./commands/report.js')).reportCommand as CommandModule<any, any>,
  'history': async () => (await import('./commands/history.js')).historyCommand as CommandModule<any, any>,
  'spf': async () => (await import('./commands/spf.js')).spfCommand as CommandModule<any, any>,
  'dkim': async () => (await import('./commands/dkim.js')).dkimCommand as CommandModule<any, any>,
  'dmarc': async () => (await import('./commands/dmarc.js')).dmarcCommand as CommandModule<any, any>,
  'sign': async () => (await import('./commands/sign.js')).signCommand as CommandModule<any, any>,
  'verify-message': async () => (await import('./commands/verify-message.js')).verifyMessageCommand as CommandModule<any, any>,
  'selftest': async () => (await import('./commands/selftest.js')).selftestCommand as CommandModule<any, any>,
};
