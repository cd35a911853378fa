/**
 * `maildns postfix lint`: read a main.cf (or `postconf -n` output) and find what lets mail be abused
 * or leave unsigned: an open relay (networks wider than the host, no reject_unauth_destination), a
 * password that can cross in clear (SASL without TLS, either side), a relayhost without brackets,
 * a relay provider the domain's SPF does not include, a milter socket the chroot cannot reach,
 * non_smtpd_milters missing, and names that disagree with the sending domain.
 *
 * Only main.cf is read: where a rule depends on master.cf (chroot, per-service -o overrides), the
 * finding says what it assumed (Debian's master.cf).
 */
import { BlockList, isIP } from 'node:net';
import type { Finding, Severity } from '../findings.js';
import { isAtOrBelow, normalizeName } from '../names.js';
import type { Plan } from '../plan/types.js';
import { registrableDomain } from '../psl.js';
import { composeSpf } from '../spf/compose.js';
import { DEBIAN } from '../dkim/opendkim-settings.js';
import { milterAddress, parseMainCf, splitPostfixList, TLS_REQUIRED_LEVELS } from './main-cf.js';

interface PostfixLintOptions {
  /** Name of the file read, for the findings' subjects (`main.cf:12`). */
  file?: string;
  /** The plan: the sending domain (mail_host.domain), its SPF and the planned relay. */
  plan?: Plan;
  /** The sending domain when there is no plan (or to override it). */
  domain?: string;
}

type Settings = Map<string, { value: string; line: number }>;

/** Networks that are this host or a private network: relaying for them is a choice, not an open door. */
const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');
LOOPBACK.addSubnet('::ffff:127.0.0.0', 104, 'ipv6');
const PRIVATE = new BlockList();
for (const [net, len] of [['10.0.0.0', 8], ['172.16.0.0', 12], ['192.168.0.0', 16], ['169.254.0.0', 16], ['100.64.0.0', 10]] as const) PRIVATE.addSubnet(net, len, 'ipv4');
for (const [net, len] of [['fc00::', 7], ['fe80::', 10]] as const) PRIVATE.addSubnet(net, len, 'ipv6');

const UNAUTH_DESTINATION = new Set(['reject_unauth_destination', 'defer_unauth_destination']);

/** `$name` and `${name}` expanded from the file's own settings (one level deep is what lint needs). */
function expand(value: string, settings: Settings, defaults: Record<string, string>, depth = 0): string {
  if (depth > 5) return value;
  return value.replace(/\$\{?([A-Za-z0-9_]+)\}?/g, (whole, name: string) => {
    const v = settings.get(name)?.value ?? defaults[name];
    return v === undefined ? whole : expand(v, settings, defaults, depth + 1);
  });
}

interface Network {
  text: string;
  address: string;
  family: 'ipv4' | 'ipv6';
  length: number;
}

function parseNetwork(text: string): Network | null {
  const m = /^\[?([^\]/]+)\]?(?:\/(\d+))?$/.exec(text);
  if (!m) return null;
  const fam = isIP(m[1]!);
  if (fam === 0) return null;
  const max = fam === 4 ? 32 : 128;
  const length = m[2] === undefined ? max : Number(m[2]);
  if (length > max) return null;
  return { text, address: m[1]!, family: fam === 4 ? 'ipv4' : 'ipv6', length };
}

function within(list: BlockList, n: Network, minLength: (fam: 'ipv4' | 'ipv6') => number): boolean {
  return list.check(n.address, n.family) && n.length >= minLength(n.family);
}

export function lintPostfixMainCf(text: string, opts: PostfixLintOptions = {}): Finding[] {
  const settings = parseMainCf(text);
  const file = opts.file ?? 'main.cf';
  const findings: Finding[] = [];
  const at = (name: string): string => {
    const s = settings.get(name);
    return s ? `${file}:${s.line} ${name}` : `${file} ${name}`;
  };
  const add = (code: string, severity: Severity, name: string, message: string, fix: string, rfc?: string): void => {
    findings.push({ code, severity, subject: at(name), message, fix, ...(rfc ? { rfc } : {}) });
  };
  const raw = (name: string): string | undefined => settings.get(name)?.value;
  const compat = Number.parseFloat(raw('compatibility_level') ?? '0') || 0;

  // The sending domain: the option, else the plan's mail host, else a plan of one domain.
  const plan = opts.plan;
  const domain = opts.domain ? normalizeName(opts.domain) : (plan?.mailHost?.domain ?? (plan?.domains.length === 1 ? plan.domains[0]!.domain : undefined));
  const myhostname = raw('myhostname');
  const defaults: Record<string, string> = {};
  if (myhostname) defaults['mydomain'] = myhostname.includes('.') ? myhostname.slice(myhostname.indexOf('.') + 1) : myhostname;
  defaults['myorigin'] = '$myhostname';
  defaults['queue_directory'] = DEBIAN.postfixQueueDir;
  const value = (name: string): string | undefined => {
    const v = raw(name) ?? defaults[name];
    return v === undefined ? undefined : expand(v, settings, defaults);
  };

  // 1. Who may relay.
  const mynetworks = raw('mynetworks');
  if (mynetworks !== undefined) {
    for (const entry of splitPostfixList(expand(mynetworks, settings, defaults))) {
      const n = parseNetwork(entry);
      if (!n) continue; // a table (hash:…) or a file: not read here
      const hostLength = n.family === 'ipv4' ? 32 : 128;
      if (within(LOOPBACK, n, (f) => (f === 'ipv4' ? 8 : 104))) continue;
      if (n.length === 0) {
        add('postfix.open-relay', 'error', 'mynetworks', `${entry} lets every client on the internet relay through this host without logging in: an open relay`, `list only this host and networks you run: mynetworks = 127.0.0.0/8 [::1]/128`);
      } else if (n.length < hostLength && !within(PRIVATE, n, (f) => (f === 'ipv4' ? 8 : 7))) {
        add('postfix.mynetworks-public', 'error', 'mynetworks', `${entry} is a public network: every machine in it may relay through this host without logging in`, `list single addresses (${n.address}/${hostLength}) of the machines that send through this host, and let others log in on submission`);
      } else if (n.length < hostLength) {
        add('postfix.mynetworks-wide', 'warning', 'mynetworks', `every machine in ${entry} may relay through this host without logging in; one infected machine there can send spam in your name`, `list only the machines that send through this host, or let them log in on submission (permit_sasl_authenticated)`);
      }
    }
  } else {
    const style = raw('mynetworks_style') ?? (compat < 2 ? 'subnet' : 'host');
    if (style !== 'host') {
      add('postfix.mynetworks-wide', 'warning', 'mynetworks_style', `mynetworks is not set, so Postfix trusts every client in this host's ${style === 'class' ? 'whole address class' : 'IP subnets'} (mynetworks_style = ${style}${raw('mynetworks_style') ? '' : `, the default below compatibility_level 2`})`, 'set mynetworks = 127.0.0.0/8 [::1]/128 (and the machines that send through this host)');
    }
  }

  const relayRestrictions = raw('smtpd_relay_restrictions');
  const effectiveRelay = relayRestrictions !== undefined ? splitPostfixList(relayRestrictions) : compat >= 1 ? ['permit_mynetworks', 'permit_sasl_authenticated', 'defer_unauth_destination'] : [];
  const recipient = splitPostfixList(raw('smtpd_recipient_restrictions') ?? '');
  for (const [name, list] of [['smtpd_relay_restrictions', effectiveRelay], ['smtpd_recipient_restrictions', recipient]] as const) {
    const permit = list.indexOf('permit');
    const guard = list.findIndex((r) => UNAUTH_DESTINATION.has(r) || r === 'reject' || r === 'defer');
    if (permit >= 0 && (guard < 0 || permit < guard)) {
      add('postfix.open-relay', 'error', name, `"permit" comes before any reject_unauth_destination: every client may relay through this host to any domain`, `${name} = permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination`);
    }
  }
  if (![...effectiveRelay, ...recipient].some((r) => UNAUTH_DESTINATION.has(r))) {
    add('postfix.no-reject-unauth-destination', 'error', 'smtpd_relay_restrictions', `neither smtpd_relay_restrictions nor smtpd_recipient_restrictions has reject_unauth_destination: nothing stops clients outside mynetworks from relaying`, 'smtpd_relay_restrictions = permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination');
  }

  // 2. Passwords in clear.
  const yes = (name: string): boolean => /^(yes|true|1)$/i.test(value(name) ?? '');
  if (yes('smtpd_sasl_auth_enable') && !yes('smtpd_tls_auth_only')) {
    add('postfix.sasl-without-tls', 'error', 'smtpd_sasl_auth_enable', 'SMTP AUTH is offered without TLS first: mail clients can send their password in clear (PLAIN and LOGIN are base64, not encryption)', 'smtpd_tls_auth_only = yes (and smtpd_tls_cert_file / smtpd_tls_key_file)');
  }
  const relayhost = value('relayhost') ?? '';
  if (yes('smtp_sasl_auth_enable')) {
    const level = (value('smtp_tls_security_level') ?? '').toLowerCase() || (yes('smtp_enforce_tls') ? 'encrypt' : yes('smtp_use_tls') ? 'may' : 'none');
    if (!TLS_REQUIRED_LEVELS.has(level) && !yes('smtp_tls_wrappermode')) {
      add(
        'postfix.sasl-without-tls',
        'error',
        settings.has('smtp_tls_security_level') ? 'smtp_tls_security_level' : 'smtp_sasl_auth_enable',
        `the relay password is sent even when the smarthost offers no TLS (smtp_tls_security_level = ${level}): anyone on the path can read it`,
        'smtp_tls_security_level = encrypt',
      );
    }
  }

  // 3. The relayhost.
  if (relayhost) {
    const first = splitPostfixList(relayhost)[0]!;
    if (!first.startsWith('[')) {
      const [host, port] = first.split(':');
      add('postfix.relayhost-no-brackets', 'warning', 'relayhost', `relayhost ${first} has no brackets: Postfix looks up the MX records of ${host} and delivers there, not to ${host} itself (and the password map key must match this exact form)`, `relayhost = [${host}]${port ? `:${port}` : ':587'} (and the same key in the password map)`);
    }
    const relayName = first.replace(/^\[/, '').replace(/\](:\d+)?$/, '').replace(/:\d+$/, '').replace(/^ipv6:/i, '');
    const planned = plan?.mailHost?.relay;
    if (planned && normalizeName(planned.host) !== normalizeName(relayName)) {
      add('postfix.relayhost-not-planned', 'warning', 'relayhost', `relayhost is ${relayName}, the plan's mail_host.relay is ${planned.host}`, `relayhost = [${planned.host}]:${planned.port}, or change the plan`);
    }
    // 4. The provider in the domain's SPF.
    const d = domain ? plan?.domains.find((x) => x.domain === domain) : undefined;
    if (d?.spf && isIP(relayName) === 0) {
      const record = d.spf.record ?? composeSpf(d.spf);
      const includes = [...record.matchAll(/(?:^|\s)[+?~-]?(?:include:|redirect=)(\S+)/gi)].map((m) => normalizeName(m[1]!));
      const wanted = planned?.spfInclude && normalizeName(planned.host) === normalizeName(relayName) ? planned.spfInclude : null;
      // The provider is the relay's registrable domain by the list's ICANN section: its private
      // section would make email-smtp.us-east-1.amazonaws.com a provider of its own.
      const provider = registrableDomain(normalizeName(relayName), 'icann');
      const covered = wanted ? includes.includes(wanted) : includes.some((i) => provider !== null && (registrableDomain(i, 'icann') === provider || isAtOrBelow(i, provider)));
      if (!covered) {
        add(
          'postfix.relay-not-in-spf',
          'error',
          'relayhost',
          `mail leaves through ${relayName}, but ${domain}'s SPF record does not include ${wanted ?? `anything of ${provider ?? relayName}`}: receivers see the provider's servers fail SPF`,
          `add ${wanted ? `"${wanted}"` : `the provider's SPF name (e.g. _spf.${provider ?? relayName})`} to spf.include for ${domain} in the plan, then publish the record`,
          'RFC 7208 §5.2',
        );
      }
    }
  }

  // 5. Milters.
  const queueDir = value('queue_directory') ?? DEBIAN.postfixQueueDir;
  const smtpdMilters = splitPostfixList(value('smtpd_milters') ?? '').map(milterAddress);
  const nonSmtpd = splitPostfixList(value('non_smtpd_milters') ?? '').map(milterAddress);
  for (const [name, list] of [['smtpd_milters', smtpdMilters], ['non_smtpd_milters', nonSmtpd]] as const) {
    for (const m of new Set(list)) {
      // Chrooted (Debian's master.cf), smtpd and cleanup read an absolute path inside the chroot,
      // the queue directory: unix:/var/run/x.sock is /var/spool/postfix/var/run/x.sock on the host.
      const path = /^unix:(\/.*)$/.exec(m)?.[1];
      if (!path) continue;
      const q = queueDir.replace(/\/+$/, '');
      const seen = `${q}${path}`;
      const chrooted = `smtpd and cleanup run chrooted in ${q} (as Debian's master.cf has them) and read an absolute socket path inside the chroot`;
      if (isAtOrBelowPath(path, queueDir)) {
        const relative = path.slice(q.length).replace(/^\/+/, '');
        add('postfix.milter-outside-chroot', 'error', name, `${chrooted}: unix:${path} means ${seen} to them, where no socket is, so mail waits (milter_default_action = tempfail) or passes unsigned`, `name the socket relative to the queue directory: ${name} = unix:${relative || 'opendkim/opendkim.sock'}`);
      } else {
        add('postfix.milter-outside-chroot', 'warning', name, `${chrooted}: unix:${path} means ${seen} to them, not ${path}; OpenDKIM must listen there (Socket local:${seen}), or mail waits (milter_default_action = tempfail) or passes unsigned`, `make OpenDKIM's Socket local:${seen}, or use what \`maildns opendkim\` writes: Socket local:${q}/opendkim/opendkim.sock and ${name} = unix:opendkim/opendkim.sock (or inet:localhost:8891)`);
      }
    }
  }
  if (smtpdMilters.length && !nonSmtpd.length) {
    add('postfix.non-smtpd-milters-missing', 'warning', 'smtpd_milters', 'smtpd_milters is set but non_smtpd_milters is not: mail from sendmail (cron, scripts, web applications) enters through pickup and leaves unsigned', 'non_smtpd_milters = $smtpd_milters');
  }
  if ((smtpdMilters.length || nonSmtpd.length) && (value('milter_default_action') ?? 'tempfail') === 'accept') {
    add('postfix.milter-default-accept', 'warning', 'milter_default_action', 'when the milter cannot be reached, mail is sent on unsigned and nothing reports it', 'milter_default_action = tempfail (the mail waits and is signed once the milter is back)');
  }

  // 6. Names against the sending domain.
  if (domain) {
    const origin = value('myorigin');
    const mydomain = value('mydomain');
    if (myhostname && !isAtOrBelow(normalizeName(myhostname), domain)) {
      add('postfix.identity-mismatch', 'warning', 'myhostname', `myhostname ${myhostname} is not a name in ${domain}: HELO and Received headers name another domain than the one the mail is from`, `myhostname = mail.${domain} (with A and PTR records that match)`);
    } else if (!myhostname) {
      add('postfix.identity-mismatch', 'warning', 'myhostname', `myhostname is not set: Postfix uses the machine's own name, which receivers check against its A and PTR records`, `myhostname = mail.${domain}`);
    }
    if (mydomain && !mydomain.includes('$') && normalizeName(mydomain) !== domain) {
      add('postfix.identity-mismatch', 'warning', 'mydomain', `mydomain is ${mydomain}, not the sending domain ${domain}`, `mydomain = ${domain}`);
    }
    if (origin && !origin.includes('$') && normalizeName(origin) !== domain) {
      add('postfix.identity-mismatch', 'warning', settings.has('myorigin') ? 'myorigin' : 'myhostname', `mail from local users and scripts leaves as user@${origin}, not user@${domain}${settings.has('myorigin') ? '' : ' (myorigin defaults to $myhostname)'}: it is checked against ${origin}'s SPF and DMARC, not ${domain}'s`, `myorigin = $mydomain, with mydomain = ${domain}`);
    }
  }
  return findings;
}

function isAtOrBelowPath(p: string, dir: string): boolean {
  const d = dir.replace(/\/+$/, '');
  return p === d || p.startsWith(`${d}/`);
}
