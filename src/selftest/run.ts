/**
 * `maildns selftest`: a probe through the local MTA to a listener maildns runs, then the verdict a
 * receiver would reach (each DKIM signature, SPF for the host's public address when given, DMARC
 * alignment), and, when the probe did not leave signed and aligned, the likely reason.
 *
 * The probe goes to an address literal (selftest-TOKEN@[127.0.0.2]) that Postfix routes to the
 * listener through the transport_maps entry `maildns postfix` writes; without that route Postfix
 * would hand it to the relayhost, so selftest refuses to send. Everything has a deadline: the
 * submission and the arrival share one, every command and DNS answer has its own.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { isIP } from 'node:net';
import { InputError } from '../errors.js';
import type { Finding, Outcome } from '../findings.js';
import type { DmarcMode } from '../dmarc/mode.js';
import { openDkimInstances } from '../dkim/opendkim.js';
import type { Resolver } from '../dns/resolver.js';
import { parseMessage } from '../message/message.js';
import { verifyMessage, type MessageReport } from '../message/verify.js';
import { signingSelectors } from '../plan/selectors.js';
import type { Plan } from '../plan/types.js';
import { splitPostfixList, TLS_REQUIRED_LEVELS } from '../postfix/main-cf.js';
import { DEFAULT_SELFTEST_ROUTE, isLoopbackAddress, routeDomain, routeTransportMaps, SELFTEST_SERVICE } from '../postfix/selftest-route.js';
import { diagnose } from './diagnose.js';
import { startSmtpListener, type ReceivedMail, type SmtpListener } from './listener.js';
import { DEFAULT_POSTFIX_CONFIG_DIR, DEFAULT_SENDMAIL, DEFAULT_SMTP, DEFAULT_WAIT_MS } from './defaults.js';
import { LivePostfix, parseTransport, transportKeys } from './postfix-live.js';
import { submitSendmail, submitSmtp, type Submission, type SubmissionPath } from './submit.js';

export interface SelftestOptions {
  plan: Plan;
  /** Asked for the DKIM keys, SPF and DMARC records. */
  resolver: Resolver;
  via: SubmissionPath;
  /** Postfix's config directory (default /etc/postfix); another one is asked with `-c DIR`. */
  postfixConfigDir?: string;
  smtp?: { host: string; port: number };
  sendmail?: string;
  /** The From and MAIL FROM address (default postmaster@ the mail host's domain). */
  from?: string;
  /** The recipient (default selftest-TOKEN@[127.0.0.2]); Postfix must route it to a loopback address. */
  to?: string;
  /** The host's public address, to check SPF for. */
  ip?: string;
  /** The OpenDKIM confs to read for the reasons (default: the ones `maildns opendkim` installs for the plan). */
  opendkimConfs?: string[];
  /** How long the submission and the arrival may take together (default 30 s). */
  waitMs?: number;
  dmarcMode?: DmarcMode;
}

export type SelftestVerdict = 'signed' | 'refused' | 'not-arrived' | 'unsigned' | 'signature-fails' | 'not-aligned' | 'incomplete' | 'spf-fails' | 'dns-unavailable';

interface SelectorCheck {
  selector: string;
  algorithm: string;
  /** The signature's DKIM result, or `missing` when the message has none for this selector. */
  result: string;
}

export interface SelftestReport {
  ok: boolean;
  outcome: Outcome;
  verdict: SelftestVerdict;
  via: SubmissionPath;
  from: string;
  to: string;
  route: { transport: string; nexthop: string; listener: string; maps: string };
  submission: Submission;
  /** `message` is the probe as it arrived, read as UTF-8 (mail's 8-bit text, RFC 6532); `bytes` counts its octets. */
  received: { mailFrom: string; rcptTo: string[]; helo: string | null; bytes: number; afterMs: number; message: string } | null;
  verification: MessageReport | null;
  /** The plan's signing selectors for the From domain, and what became of each. */
  selectors: SelectorCheck[];
  /** What is wrong with the probe, as a receiver would see it. */
  findings: Finding[];
  /** The likely reasons, read from the live configuration, when the probe did not leave signed. */
  reasons: Finding[];
  /** The probe in Postfix's queue when it did not arrive, and whether selftest deleted it. */
  queue: { queueId: string; queueName: string; delayReason: string | null; removed: boolean }[];
  notes: string[];
  elapsedMs: number;
}

function rfc5322Date(d: Date): string {
  const days = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${days[d.getUTCDay()]}, ${p(d.getUTCDate())} ${months[d.getUTCMonth()]} ${d.getUTCFullYear()} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000`;
}

function probeMessage(o: { from: string; to: string; token: string; hostname: string; listener: string; now: Date }): string {
  const domain = o.from.slice(o.from.lastIndexOf('@') + 1);
  return [
    `From: maildns selftest <${o.from}>`,
    `To: <${o.to}>`,
    `Subject: maildns selftest ${o.token}`,
    `Date: ${rfc5322Date(o.now)}`,
    `Message-ID: <selftest.${o.token}@${domain}>`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=us-ascii',
    '',
    `A test message from \`maildns selftest\` on ${o.hostname}: it checks that mail from this host`,
    `leaves signed with DKIM. It goes to selftest's listener on ${o.listener}, never off this host.`,
    '',
  ].join('\r\n');
}

const ADDRESS = /^[^\s@<>()[\]\\,;:"]+@(?:\[\d{1,3}(?:\.\d{1,3}){3}\]|[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+)$/;

function routeFix(pf: LivePostfix): string {
  const r = DEFAULT_SELFTEST_ROUTE;
  return (
    `run the postconf steps of \`maildns postfix\` (they add the route), or by hand: ${pf.commandLine('postconf', '-e', `transport_maps = ${routeTransportMaps(r)}`)}; ` +
    `${pf.commandLine('postconf', '-M', `${SELFTEST_SERVICE}/unix=${SELFTEST_SERVICE} unix - - y - - smtp`)}; ` +
    `${pf.commandLine('postconf', '-P', `${SELFTEST_SERVICE}/unix/smtp_tls_security_level=none`, `${SELFTEST_SERVICE}/unix/smtp_sasl_auth_enable=no`)}; then ${pf.reloadLine}`
  );
}

export async function runSelftest(opts: SelftestOptions): Promise<SelftestReport> {
  const started = Date.now();
  const deadline = started + (opts.waitMs ?? DEFAULT_WAIT_MS);
  const pf = new LivePostfix(opts.postfixConfigDir ?? DEFAULT_POSTFIX_CONFIG_DIR);
  const plan = opts.plan;
  const domain = plan.mailHost?.domain ?? plan.domains[0]?.domain;
  const from = opts.from ?? (domain ? `postmaster@${domain}` : undefined);
  if (!from) throw new InputError('the plan has no domain to send from; give the From address', plan.file ?? undefined);
  if (!ADDRESS.test(from) || from.includes('[')) throw new InputError(`the From address "${from}" is not local@domain`);
  if (opts.ip !== undefined && !isIP(opts.ip)) throw new InputError(`the host's address "${opts.ip}" is not an IPv4 or IPv6 address`);
  const token = randomBytes(6).toString('hex');
  const to = opts.to ?? `selftest-${token}@${routeDomain(DEFAULT_SELFTEST_ROUTE)}`;
  if (!ADDRESS.test(to)) throw new InputError(`the recipient "${to}" is not local@domain or local@[address]`);
  const sendmail = opts.sendmail ?? DEFAULT_SENDMAIL;
  if (opts.via === 'sendmail' && !existsSync(sendmail)) throw new InputError(`${sendmail} does not exist: give the path of Postfix's sendmail`);
  if (!existsSync(pf.configDir)) throw new InputError(`${pf.configDir} does not exist: give Postfix's config directory`);

  // Where Postfix will deliver the probe: it must be a loopback address, or the probe would leave the host.
  const settings = await pf.settings(['transport_maps', 'relayhost', 'smtp_tls_security_level', 'smtp_tls_wrappermode', 'myhostname']);
  const maps = splitPostfixList(settings.get('transport_maps') ?? '');
  const recipientDomain = to.slice(to.lastIndexOf('@') + 1).toLowerCase();
  let routed: string | null = null;
  for (const key of transportKeys(to)) {
    routed = await pf.lookup(key, maps);
    if (routed !== null) break;
  }
  if (routed === null) {
    const relay = settings.get('relayhost');
    throw new InputError(
      `Postfix has no transport for ${recipientDomain}, so it would hand the probe to ${relay ? `the relayhost ${relay}` : `the address ${recipientDomain} port 25`}, not to selftest (nothing was sent): ${routeFix(pf)}`,
      pf.configDir,
    );
  }
  const route = parseTransport(routed, recipientDomain);
  if (!route.host || !isLoopbackAddress(route.host)) {
    throw new InputError(`Postfix routes ${recipientDomain} to ${routed}, which is not an address in 127.0.0.0/8; selftest listens only on the loopback (nothing was sent)`, pf.configDir);
  }
  const [master, params] = await Promise.all([pf.masterServices(), pf.serviceParameters()]);
  const service = master.find((m) => m.service === route.transport && m.type === 'unix');
  if (!service || !/^smtp\b/.test(service.command)) {
    throw new InputError(`the transport ${route.transport} that ${recipientDomain} is routed to is ${service ? `"${service.command}", not Postfix's smtp client` : 'not in master.cf'}; ${routeFix(pf)}`, pf.configDir);
  }
  const param = (name: string): string => params.get(`${service.service}/unix/${name}`) ?? settings.get(name) ?? '';
  if (TLS_REQUIRED_LEVELS.has(param('smtp_tls_security_level').toLowerCase()) || /^yes$/i.test(param('smtp_tls_wrappermode'))) {
    throw new InputError(
      `the ${route.transport} service would insist on TLS (smtp_tls_security_level = ${param('smtp_tls_security_level')}${/^yes$/i.test(param('smtp_tls_wrappermode')) ? ', smtp_tls_wrappermode = yes' : ''}) and selftest's listener speaks plain SMTP: ${pf.commandLine('postconf', '-P', `${service.service}/unix/smtp_tls_security_level=none`, `${service.service}/unix/smtp_tls_wrappermode=no`)}, then ${pf.reloadLine}`,
      pf.configDir,
    );
  }

  let listener: SmtpListener;
  try {
    listener = await startSmtpListener({ host: route.host, port: route.port, accepts: (r) => r.toLowerCase() === to.toLowerCase() });
  } catch (err) {
    throw new InputError(`cannot listen on ${route.host}:${route.port}, where Postfix delivers the probe (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}): is another selftest running, or another program there?`);
  }
  const hostname = settings.get('myhostname') || 'this host';
  const message = probeMessage({ from, to, token, hostname, listener: `${route.host}:${route.port}`, now: new Date() });
  const smtp = opts.smtp ?? DEFAULT_SMTP;
  let submission: Submission;
  let received: ReceivedMail | null = null;
  try {
    submission =
      opts.via === 'smtp'
        ? await submitSmtp({ host: smtp.host, port: smtp.port, from, to, message, deadline })
        : await submitSendmail({ sendmail, ...(pf.sendmailConfigArgs.length ? { configDir: pf.configDir } : {}), from, to, message, deadline });
    if (submission.accepted) {
      const marker = Buffer.from(`selftest.${token}@`);
      received = await listener.waitFor((m) => m.data.includes(marker), deadline);
    }
  } finally {
    await listener.close();
  }

  const findings: Finding[] = [];
  const notes: string[] = [];
  const queue: SelftestReport['queue'] = [];
  let verification: MessageReport | null = null;
  let verdict: SelftestVerdict;
  const selectors: SelectorCheck[] = [];
  const fromDomain = from.slice(from.lastIndexOf('@') + 1).toLowerCase();
  const planned = plan.domains.find((d) => d.domain === fromDomain);

  if (!submission.accepted) {
    verdict = 'refused';
    findings.push({
      code: 'selftest.refused',
      severity: 'error',
      subject: opts.via === 'smtp' ? `${smtp.host}:${smtp.port}` : sendmail,
      message: `the MTA did not take the probe (${submission.failedAt}): ${submission.reply ?? 'no reply'}`,
      fix: /^4/.test(submission.reply ?? '') ? 'a 4xx answer means "try later": with milter_default_action = tempfail, that is what an unreachable milter looks like (see the reasons)' : 'see the reasons below',
    });
  } else if (!received) {
    verdict = 'not-arrived';
    findings.push({
      code: 'selftest.not-arrived',
      severity: 'error',
      subject: to,
      message: `the MTA took the probe${submission.queueId ? ` (queue id ${submission.queueId})` : ''} but it did not reach the listener on ${route.host}:${route.port} within ${Math.round((deadline - started) / 1000)} s`,
      fix: 'see the reasons, and the mail log for the probe\'s queue id',
    });
  } else {
    const msg = parseMessage(received.data, 'the probe');
    verification = await verifyMessage(msg, opts.resolver, {
      mailFrom: received.mailFrom,
      ...(received.helo ? { helo: received.helo.replace(/^\[|\]$/g, '') } : {}),
      ...(opts.ip ? { ip: opts.ip } : {}),
      ...(opts.dmarcMode ? { dmarcMode: opts.dmarcMode } : {}),
    });
    for (const sel of planned ? signingSelectors(planned) : []) {
      const sig = verification.dkim.find((d) => d.domain.toLowerCase() === fromDomain && d.selector === sel.selector);
      selectors.push({ selector: sel.selector, algorithm: sel.algorithm, result: sig ? sig.result : 'missing' });
    }
    const aligned = verification.dmarc.identifiers.some((i) => i.method === 'dkim' && i.counts);
    const passing = verification.dkim.filter((d) => d.result === 'pass');
    if (verification.dkim.length === 0) {
      verdict = 'unsigned';
      findings.push({ code: 'selftest.unsigned', severity: 'error', subject: to, message: 'the probe arrived without a DKIM-Signature: mail from this host leaves unsigned', fix: 'see the reasons' });
    } else if (verification.dnsFailed && !aligned) {
      // Without the keys or the DMARC record nothing can be said about the signatures.
      verdict = 'dns-unavailable';
      findings.push({ code: 'selftest.dns-unavailable', severity: 'error', subject: fromDomain, message: `the probe arrived signed, but DNS could not be asked for the keys or the DMARC record (${verification.dmarc.reason})`, fix: 'check the resolver (--nameserver) and run selftest again' });
    } else if (!passing.length) {
      verdict = 'signature-fails';
      findings.push({
        code: 'selftest.signature-fails',
        severity: 'error',
        subject: to,
        message: `the probe arrived signed, but no signature verifies: ${verification.dkim.map((d) => `d=${d.domain} s=${d.selector}: ${d.result}${d.reason ? ` (${d.reason})` : ''}`).join('; ')}`,
        fix: 'publish the keys OpenDKIM signs with (`maildns records`, then `maildns verify`), or give OpenDKIM the keys the records are for',
      });
    } else if (!aligned) {
      verdict = 'not-aligned';
      findings.push({
        code: 'selftest.not-aligned',
        severity: 'error',
        subject: to,
        message: `the probe is signed for ${passing.map((d) => d.domain).join(', ')}, which is not aligned with the From domain ${fromDomain}: DMARC does not count it`,
        fix: `sign ${fromDomain}'s mail with d=${fromDomain} (a SigningTable line *@${fromDomain} with ${fromDomain}'s key)`,
      });
    } else {
      verdict = 'signed';
    }
    const missing = selectors.filter((s) => s.result !== 'pass');
    if (verdict === 'signed' && missing.length) {
      verdict = 'incomplete';
      findings.push({
        code: 'selftest.selector-not-signed',
        severity: 'error',
        subject: fromDomain,
        message: `the plan signs ${fromDomain} with ${selectors.map((s) => s.selector).join(' and ')}, but ${missing.map((s) => `${s.selector} (${s.algorithm}) ${s.result === 'missing' ? 'did not sign' : `gave ${s.result}`}`).join(', ')}`,
        fix: 'see the reasons: each OpenDKIM instance needs the domain in its SigningTable and must be reachable',
      });
    }
    if (opts.ip && verification.spf && verification.spf.result !== 'pass' && verdict === 'signed') {
      verdict = 'spf-fails';
      findings.push({
        code: 'selftest.spf',
        severity: 'error',
        subject: verification.spf.domain,
        message: `SPF for ${opts.ip} (the host's public address) and MAIL FROM ${received.mailFrom || '<>'} is ${verification.spf.result}${verification.spf.reason ? `: ${verification.spf.reason}` : ''}`,
        fix: `add ip4:${opts.ip} (or the relay provider's include) to ${verification.spf.domain}'s SPF in the plan, then publish it`,
      });
    }
  }

  let reasons: Finding[] = [];
  if (verdict === 'refused' || verdict === 'not-arrived' || verdict === 'unsigned' || verdict === 'incomplete') {
    const running = await pf.running();
    if (!running) {
      reasons.push({ code: 'selftest.postfix-not-running', severity: 'error', subject: pf.configDir, message: 'Postfix is not running (postfix status)', fix: pf.configDir === DEFAULT_POSTFIX_CONFIG_DIR ? 'systemctl start postfix' : pf.commandLine('postfix', 'start') });
    }
    const d = await diagnose({
      via: opts.via,
      sender: from,
      client: submission.clientAddress,
      smtpPort: opts.via === 'smtp' ? smtp.port : null,
      postfix: pf,
      opendkimConfs: opts.opendkimConfs ?? openDkimInstances(plan).map((i) => i.confPath),
    });
    reasons = [...reasons, ...d.reasons];
    notes.push(...d.notes);
    if (!reasons.length) {
      notes.push('no likely reason found in main.cf, master.cf and the OpenDKIM confs; the mail log has Postfix\'s and OpenDKIM\'s own words (journalctl -u postfix -u opendkim, or /var/log/mail.log)');
    }
  }

  if (verdict === 'not-arrived') {
    // A probe left in the queue would be delivered or bounced later, when no listener waits for it.
    const entries = (await pf.queue()) ?? [];
    for (const e of entries.filter((x) => x.recipients.some((r) => r.address.toLowerCase() === to.toLowerCase()))) {
      // Only a probe of this run is deleted unasked: a recipient the user named may have other mail.
      const removed = opts.to ? false : await pf.remove(e);
      queue.push({ queueId: e.queueId, queueName: e.queueName, delayReason: e.recipients[0]?.delayReason ?? null, removed });
      if (!removed) notes.push(`the probe ${e.queueId} is still in the ${e.queueName} queue, and would leave once Postfix can deliver it: ${pf.removeLine(e)}`);
    }
  }

  const ok = verdict === 'signed';
  return {
    ok,
    outcome: ok ? 'ok' : verdict === 'dns-unavailable' ? 'dns-unavailable' : 'problems',
    verdict,
    via: opts.via,
    from,
    to,
    route: { transport: route.transport, nexthop: route.nexthop, listener: `${route.host}:${route.port}`, maps: settings.get('transport_maps') ?? '' },
    submission,
    received: received
      ? { mailFrom: received.mailFrom, rcptTo: received.rcptTo, helo: received.helo, bytes: received.data.length, afterMs: received.receivedAt.getTime() - started, message: received.data.toString('utf8') }
      : null,
    verification,
    selectors,
    findings: [...findings, ...(verification?.findings ?? [])],
    reasons,
    queue,
    notes,
    elapsedMs: Date.now() - started,
  };
}
