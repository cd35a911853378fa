/**
 * The seeds' by-hand Postfix set-up, composed from the plan's `mail_host`: the host's names, relay
 * restrictions that keep it from being an open relay, the provider's smarthost with SMTP AUTH over
 * TLS only (`relayhost = [host]:587`, a 0600 password map and its postmap step), the submission
 * service on 587 for mail clients (SASL through Dovecot or Cyrus saslauthd, passwords only over
 * TLS), and the OpenDKIM milter lines of `maildns opendkim`. For Debian 12's Postfix 3.7.
 *
 * The password is read here, from the file or environment variable the plan names, and goes only
 * into the password map file; it is never part of a message, a note or the JSON.
 */
import { statSync } from 'node:fs';
import { isIPv6 } from 'node:net';
import path from 'node:path';
import { InputError, PlanError } from '../errors.js';
import { inputLocation, readInputFileSync } from '../fsutil.js';
import { DEBIAN, milterSettings, openDkimInstances, type OpenDkimInstance, type OpenDkimLayoutOptions } from '../dkim/opendkim.js';
import type { MailHostPlan, PasswordSource, Plan, RelayPlan } from '../plan/types.js';
import type { SetupStep } from '../steps.js';
import { postconfStep, renderMainCf, type PostfixSetting } from './main-cf.js';
import { DEFAULT_SELFTEST_ROUTE, routeDomain, routeTransportMaps, SELFTEST_SERVICE, type SelftestRoute } from './selftest-route.js';

const POSTFIX_CONFIG_DIR = DEBIAN.postfixConfigDir;
const PASSWORD_MAP = 'sasl_passwd';

export interface PostfixOptions extends OpenDkimLayoutOptions {
  /** Postfix's config_directory on the mail host (default /etc/postfix). */
  postfixConfigDir?: string;
  /** Dovecot's conf.d on the mail host (default /etc/dovecot/conf.d), for the auth socket snippet. */
  dovecotConfDir?: string;
  /** Where environment-variable passwords are read (default process.env). */
  env?: NodeJS.ProcessEnv;
  planName?: string;
  /** Where `maildns selftest` listens (default 127.0.0.2:11025); null leaves the route out. */
  selftestRoute?: SelftestRoute | null;
}

/** One master.cf service: the eight columns and its `-o name=value` overrides. */
interface MasterService {
  service: string;
  type: 'inet' | 'unix';
  private: 'n' | '-';
  unprivileged: 'n' | '-';
  /** `y` as in Debian's master.cf: smtpd runs chrooted in the queue directory. */
  chroot: 'y' | 'n' | '-';
  wakeup: string;
  maxproc: string;
  command: string;
  options: { name: string; value: string }[];
  why: string;
}

interface PostfixFile {
  name: string;
  content: string;
  /** Where it goes on the mail host; null for lines applied with postconf instead. */
  installPath: string | null;
  mode: number;
  /** True for the password map: never printed, never in JSON. */
  secret: boolean;
}

export interface PostfixResult {
  mainCf: PostfixSetting[];
  masterCf: MasterService[];
  milters: OpenDkimInstance[];
  files: PostfixFile[];
  steps: SetupStep[];
  notes: string[];
}

/** `[smtp.relay.example.net]:587`: brackets so Postfix connects to that host, not to its MX. */
export function relayhostValue(relay: Pick<RelayPlan, 'host' | 'port'>): string {
  const host = isIPv6(relay.host) ? `ipv6:${relay.host}` : relay.host;
  return `[${host}]:${relay.port}`;
}

function readPassword(source: PasswordSource, env: NodeJS.ProcessEnv, notes: string[]): string {
  let text: string;
  if (source.kind === 'env') {
    const v = env[source.name];
    if (v === undefined || v === '') {
      const state = v === undefined ? 'which is not set' : 'which is set but empty';
      throw new PlanError(`the relay password is to come from the environment variable ${source.name}, ${state}; set it to the password when running maildns (it is read, never printed)`, source.file, source.line);
    }
    text = v;
  } else {
    try {
      // A secret the plan names, read as its keys are: a file, bounded, never a FIFO waited on.
      text = readInputFileSync(source.name, { maxBytes: 64 * 1024, what: 'a password file', fix: 'write the password alone into it' }).toString('utf8');
    } catch (err) {
      if (err instanceof InputError) throw err;
      const code = (err as NodeJS.ErrnoException).code;
      throw new InputError(
        code === 'ENOENT'
          ? `the relay password file named by the plan (${path.basename(source.file)}:${source.line}) does not exist; write the password alone into it, mode 0600`
          : `cannot read the relay password file: ${(err as Error).message.split('\n')[0]}`,
        inputLocation(source.name, err),
      );
    }
    const mode = statSync(source.name).mode & 0o777;
    if (mode & 0o077) notes.push(`${source.name} holds the relay password and is readable by others (mode ${mode.toString(8).padStart(4, '0')}): chmod 600 ${source.name}`);
  }
  // A password file ends with a newline; anything else that is not printable cannot be a map value.
  const password = text.replace(/\r?\n$/, '');
  const where = source.kind === 'env' ? `the environment variable ${source.name}` : source.name;
  if (password === '') throw new InputError(`${where} is empty: it must hold the relay password`);
  if (/[\r\n]/.test(password)) throw new InputError(`${where} holds more than one line: it must hold the relay password alone`);
  if (/^\s|\s$/.test(password)) throw new InputError(`the password in ${where} begins or ends with white space, which Postfix's map would drop; remove it`);
  return password;
}

function identity(host: MailHostPlan): PostfixSetting[] {
  return [
    { name: 'myhostname', value: host.hostname, why: 'The name this host gives in HELO and in Received headers; its A record and PTR should match.' },
    { name: 'mydomain', value: host.domain },
    { name: 'myorigin', value: '$mydomain', why: `Mail from local users and scripts leaves as user@${host.domain}, the domain SPF, DKIM and DMARC cover.` },
    { name: 'mynetworks', value: host.mynetworks.join(' '), why: 'Only these clients may relay without logging in.' },
    {
      name: 'smtpd_relay_restrictions',
      value: 'permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination',
      why: 'Relay for mynetworks and for users who logged in; to anyone else, accept mail only for our own domains (no open relay).',
    },
  ];
}

function relaySettings(relay: RelayPlan, configDir: string): PostfixSetting[] {
  const out: PostfixSetting[] = [
    { name: 'relayhost', value: relayhostValue(relay), why: "Outgoing mail goes through the provider's smarthost; the brackets skip the MX lookup." },
  ];
  if (relay.port === 465) {
    out.push({ name: 'smtp_tls_wrappermode', value: 'yes', why: 'Port 465 speaks TLS from the first byte (no STARTTLS).' });
  }
  out.push({
    name: 'smtp_tls_security_level',
    value: 'encrypt',
    why: 'Never talk to the smarthost without TLS, so the password and the mail never cross in clear.',
  });
  if (relay.username) {
    out.push(
      { name: 'smtp_sasl_auth_enable', value: 'yes', why: 'Log in to the smarthost (SMTP AUTH).' },
      { name: 'smtp_sasl_password_maps', value: `hash:${path.posix.join(configDir, PASSWORD_MAP)}`, why: `The login, keyed by the relayhost exactly as written above (${relayhostValue(relay)}).` },
      { name: 'smtp_sasl_security_options', value: 'noanonymous', why: 'Plain-text mechanisms are allowed because TLS is required above; anonymous login is not.' },
      { name: 'smtp_sasl_tls_security_options', value: 'noanonymous' },
    );
  }
  return out;
}

function submissionSettings(host: MailHostPlan, queueDir: string): PostfixSetting[] {
  const sub = host.submission!;
  const out: PostfixSetting[] = [
    { name: 'smtpd_tls_cert_file', value: sub.tlsCert, why: 'The certificate smtpd offers with STARTTLS (clients that check names need a real one for the hostname).' },
    { name: 'smtpd_tls_key_file', value: sub.tlsKey },
    { name: 'smtpd_tls_security_level', value: 'may', why: 'Offer STARTTLS on port 25; the submission service below requires it.' },
    { name: 'smtpd_tls_auth_only', value: 'yes', why: 'Offer AUTH only after STARTTLS: a password never crosses in clear.' },
    { name: 'smtpd_sasl_security_options', value: 'noanonymous' },
  ];
  if (sub.sasl === 'dovecot') {
    out.push(
      { name: 'smtpd_sasl_type', value: 'dovecot', why: "Dovecot checks the passwords of users who log in on submission." },
      { name: 'smtpd_sasl_path', value: 'private/auth', why: `Dovecot's auth socket, relative to the chroot: ${path.posix.join(queueDir, 'private/auth')}.` },
    );
  } else {
    out.push(
      { name: 'smtpd_sasl_type', value: 'cyrus', why: 'Cyrus SASL checks the passwords, through saslauthd (/etc/postfix/sasl/smtpd.conf).' },
      { name: 'smtpd_sasl_path', value: 'smtpd' },
    );
  }
  return out;
}

function submissionService(host: MailHostPlan): MasterService {
  const sub = host.submission!;
  return {
    service: sub.port === 587 ? 'submission' : String(sub.port),
    type: 'inet',
    private: 'n',
    unprivileged: '-',
    chroot: 'y',
    wakeup: '-',
    maxproc: '-',
    command: 'smtpd',
    options: [
      { name: 'syslog_name', value: 'postfix/submission' },
      { name: 'smtpd_tls_security_level', value: 'encrypt' },
      { name: 'smtpd_sasl_auth_enable', value: 'yes' },
      { name: 'smtpd_tls_auth_only', value: 'yes' },
      { name: 'smtpd_reject_unlisted_recipient', value: 'no' },
      { name: 'smtpd_client_restrictions', value: 'permit_sasl_authenticated,reject' },
      { name: 'smtpd_relay_restrictions', value: 'permit_sasl_authenticated,reject' },
      { name: 'milter_macro_daemon_name', value: 'ORIGINATING' },
    ],
    why: `Mail clients submit on port ${sub.port}: TLS first, then a login, then their mail is relayed and signed.`,
  };
}

/**
 * The probe's route: mail for the address literal alone goes to a plain-SMTP client service, so
 * neither the relayhost nor its required TLS and login apply to it.
 */
function selftestRouteSettings(route: SelftestRoute): PostfixSetting {
  return {
    name: 'transport_maps',
    value: routeTransportMaps(route),
    why:
      `Only for \`maildns selftest\`: mail to an address at ${routeDomain(route)} goes to the loopback, where selftest\n` +
      `listens during a test, not to the relayhost. Nothing else is routed there. If main.cf already has\n` +
      `transport_maps, keep its tables and add this one to the list.`,
  };
}

function selftestService(route: SelftestRoute): MasterService {
  return {
    service: SELFTEST_SERVICE,
    type: 'unix',
    private: '-',
    unprivileged: '-',
    chroot: 'y',
    wakeup: '-',
    maxproc: '-',
    command: 'smtp',
    options: [
      { name: 'syslog_name', value: `postfix/${SELFTEST_SERVICE}` },
      // The listener speaks plain SMTP and takes no login; the relay's settings must not apply.
      { name: 'smtp_tls_security_level', value: 'none' },
      { name: 'smtp_tls_wrappermode', value: 'no' },
      { name: 'smtp_sasl_auth_enable', value: 'no' },
    ],
    why: `Delivers \`maildns selftest\`'s probe to its listener on ${route.host}:${route.port} (loopback only), in plain SMTP.`,
  };
}

function masterCfEntry(s: MasterService): string {
  return [s.service, s.type, s.private, s.unprivileged, s.chroot, s.wakeup, s.maxproc, s.command].join(' ');
}

function renderMasterCf(services: readonly MasterService[], header: string): string {
  const out = [header.trimEnd()];
  for (const s of services) {
    out.push(`# ${s.why}`);
    const cols = [s.service.padEnd(10), s.type.padEnd(5), s.private.padEnd(7), s.unprivileged.padEnd(7), s.chroot.padEnd(7), s.wakeup.padEnd(7), s.maxproc.padEnd(7), s.command];
    out.push(cols.join(' '), ...s.options.map((o) => `  -o ${o.name}=${o.value}`));
  }
  return `${out.join('\n')}\n`;
}

function header(what: string, planName: string): string {
  return `# ${what}\n# Written by maildns from ${planName}; run \`maildns postfix\` again instead of editing by hand.\n`;
}

const DOVECOT_SNIPPET = 'dovecot-postfix-auth.conf';
const DOVECOT_CONF_DIR = '/etc/dovecot/conf.d';
const DOVECOT_CONF_NAME = '99-maildns-postfix-auth.conf';

function dovecotSnippet(queueDir: string, planName: string): string {
  return [
    header("Dovecot: the auth socket Postfix's submission service asks (smtpd_sasl_path = private/auth).", planName).trimEnd(),
    `# It lies inside Postfix's chroot (${queueDir}), which Dovecot reaches from outside.`,
    'service auth {',
    `  unix_listener ${path.posix.join(queueDir, 'private/auth')} {`,
    '    mode = 0660',
    '    user = postfix',
    '    group = postfix',
    '  }',
    '}',
    '# PLAIN and LOGIN send the password as it is: Postfix offers them only after STARTTLS (smtpd_tls_auth_only).',
    'auth_mechanisms = plain login',
    '',
  ].join('\n');
}

function cyrusSmtpdConf(planName: string): string {
  return [
    header('Cyrus SASL for Postfix\'s smtpd (/etc/postfix/sasl/smtpd.conf): passwords checked by saslauthd.', planName).trimEnd(),
    'pwcheck_method: saslauthd',
    'mech_list: PLAIN LOGIN',
    '',
  ].join('\n');
}

export function composePostfix(plan: Plan, opts: PostfixOptions = {}): PostfixResult {
  const host = plan.mailHost;
  if (!host) {
    throw new InputError(
      'the plan has no "mail_host" section: add one with at least "hostname: mail.example.com" (and "relay", "submission" as needed; see examples/maildns.yaml)',
      plan.file ?? undefined,
    );
  }
  const planName = opts.planName ?? (plan.file ? path.basename(plan.file) : 'the plan');
  const queueDir = opts.postfixQueueDir ?? DEBIAN.postfixQueueDir;
  const configDir = opts.postfixConfigDir ?? POSTFIX_CONFIG_DIR;
  const notes: string[] = [];
  const milters = openDkimInstances(plan, opts);
  const mainCf: PostfixSetting[] = [...identity(host)];
  const files: PostfixFile[] = [];
  const steps: SetupStep[] = [];

  if (host.relay) {
    mainCf.push(...relaySettings(host.relay, configDir));
    if (host.relay.username && host.relay.password) {
      const password = readPassword(host.relay.password, opts.env ?? process.env, notes);
      files.push({
        name: PASSWORD_MAP,
        content: `${header('Postfix password map for the smarthost: relayhost, then user:password.', planName)}${relayhostValue(host.relay)} ${host.relay.username}:${password}\n`,
        installPath: path.posix.join(configDir, PASSWORD_MAP),
        mode: 0o600,
        secret: true,
      });
      const mapPath = path.posix.join(configDir, PASSWORD_MAP);
      steps.push(
        { kind: 'install', argv: ['install', '-o', 'root', '-g', 'root', '-m', '0600', PASSWORD_MAP, mapPath], why: 'the smarthost login, readable by root only' },
        { kind: 'postfix', argv: ['postmap', `hash:${mapPath}`], why: `builds ${mapPath}.db, which Postfix reads (run again after each change)` },
      );
    }
    if (!host.relay.username) notes.push(`the relay ${host.relay.host} is used without SMTP AUTH: it must accept mail from this host's address`);
  } else {
    notes.push('no relay in the plan: Postfix delivers straight to each recipient\'s MX, which needs port 25 open outbound and a PTR record for the host');
  }

  const masterCf: MasterService[] = [];
  if (host.submission) {
    mainCf.push(...submissionSettings(host, queueDir));
    masterCf.push(submissionService(host));
    if (host.submission.sasl === 'dovecot') {
      const confPath = path.posix.join(opts.dovecotConfDir ?? DOVECOT_CONF_DIR, DOVECOT_CONF_NAME);
      files.push({ name: DOVECOT_SNIPPET, content: dovecotSnippet(queueDir, planName), installPath: confPath, mode: 0o644, secret: false });
      steps.push(
        { kind: 'install', argv: ['install', '-m', '0644', DOVECOT_SNIPPET, confPath], why: 'Dovecot opens its auth socket in Postfix\'s chroot (apt-get install dovecot-core)' },
        { kind: 'service', argv: ['systemctl', 'restart', 'dovecot'], why: 'Dovecot opens the socket' },
      );
    } else {
      const saslDir = path.posix.join(configDir, 'sasl');
      const saslauthdDir = path.posix.join(queueDir, 'var/run/saslauthd');
      files.push({ name: 'smtpd.conf', content: cyrusSmtpdConf(planName), installPath: path.posix.join(saslDir, 'smtpd.conf'), mode: 0o644, secret: false });
      steps.push(
        { kind: 'install', argv: ['install', '-d', '-m', '0755', saslDir], why: "Cyrus SASL's config directory for Postfix (apt-get install sasl2-bin libsasl2-modules)" },
        { kind: 'install', argv: ['install', '-m', '0644', 'smtpd.conf', path.posix.join(saslDir, 'smtpd.conf')], why: 'smtpd asks saslauthd, PLAIN and LOGIN only' },
        { kind: 'install', argv: ['install', '-d', '-o', 'root', '-g', 'sasl', '-m', '0710', saslauthdDir], why: "saslauthd's socket directory inside Postfix's chroot" },
        { kind: 'install', argv: ['dpkg-statoverride', '--force-statoverride-add', '--update', '--add', 'root', 'sasl', '710', saslauthdDir], why: 'keeps that owner and mode across package upgrades' },
        { kind: 'edit', argv: ['sed', '-i', `s|^OPTIONS=.*|OPTIONS="-c -m ${saslauthdDir}"|`, '/etc/default/saslauthd'], why: 'saslauthd listens inside the chroot' },
        { kind: 'group', argv: ['adduser', 'postfix', 'sasl'], why: "smtpd may use saslauthd's socket" },
        { kind: 'service', argv: ['systemctl', 'restart', 'saslauthd'], why: 'saslauthd moves its socket' },
      );
    }
    if (host.submission.tlsCert.includes('snakeoil')) {
      notes.push(
        `the submission service uses Debian's self-signed snakeoil certificate (\`make-ssl-cert generate-default-snakeoil\` makes it if it is missing): mail clients will warn until tls_cert/tls_key name a certificate for ${host.hostname}`,
      );
    }
  }

  mainCf.push(...milterSettings(milters, opts));
  const route = opts.selftestRoute === undefined ? DEFAULT_SELFTEST_ROUTE : opts.selftestRoute;
  if (route) {
    mainCf.push(selftestRouteSettings(route));
    masterCf.push(selftestService(route));
  }
  if (!milters.length) notes.push('the plan has no DKIM selector: no milter lines, so mail leaves unsigned');

  files.unshift({
    name: 'postfix-main.cf',
    content: renderMainCf(mainCf, header(`Postfix main.cf lines for ${host.hostname} (apply them with the postconf -e step).`, planName)),
    installPath: null,
    mode: 0o644,
    secret: false,
  });
  if (masterCf.length) {
    files.splice(1, 0, {
      name: 'postfix-master.cf',
      content: renderMasterCf(masterCf, header('Postfix master.cf services (apply them with the postconf -M and -P steps).', planName)),
      installPath: null,
      mode: 0o644,
      secret: false,
    });
  }

  steps.push(postconfStep(mainCf, 'sets these lines in main.cf, keeping the others'));
  for (const s of masterCf) {
    steps.push({ kind: 'postfix', argv: ['postconf', '-M', `${s.service}/${s.type}=${masterCfEntry(s)}`], why: `adds the ${s.service} service to master.cf` });
    steps.push({ kind: 'postfix', argv: ['postconf', '-P', ...s.options.map((o) => `${s.service}/${s.type}/${o.name}=${o.value}`)], why: 'its settings' });
  }
  steps.push({ kind: 'check', argv: ['postfix', 'check'], why: 'Postfix finds nothing wrong' });
  steps.push({ kind: 'service', argv: ['systemctl', 'reload', 'postfix'], why: 'Postfix reads main.cf and master.cf' });
  if (milters.length) notes.push('OpenDKIM itself: `maildns opendkim` writes its files and steps (the socket directory, `adduser postfix opendkim`)');
  return { mainCf, masterCf, milters, files, steps, notes };
}
