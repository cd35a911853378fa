/** The domain plan: what the operator wants published for each sending domain (maildns.yaml). */

export const DEFAULT_PLAN_FILE = 'maildns.yaml';
/** A week: longer than mail waits in queues and than most receivers take to verify it. */
export const DEFAULT_RETIRE_AFTER_DAYS = 7;

export type DkimAlgorithm = 'rsa-1024' | 'rsa-2048' | 'rsa-4096' | 'ed25519';
export const DKIM_ALGORITHMS: readonly DkimAlgorithm[] = ['rsa-1024', 'rsa-2048', 'rsa-4096', 'ed25519'];

export type SpfAll = '-all' | '~all' | '?all' | '+all';
export const SPF_ALL_VALUES: readonly SpfAll[] = ['-all', '~all', '?all', '+all'];

export type DmarcPolicy = 'none' | 'quarantine' | 'reject';
export const DMARC_POLICIES: readonly DmarcPolicy[] = ['none', 'quarantine', 'reject'];

export interface MxPlan {
  host: string;
  priority: number;
  /** Addresses of an in-zone mail host, published as its A/AAAA records. */
  addresses: string[];
  /**
   * An in-zone mail host's TLS certificate or public key (PEM; relative to the plan file): its
   * DANE-EE record `3 1 1` is published at `_25._tcp.HOST` (RFC 7672 §3.1.1).
   */
  tlsa?: string;
}

export interface NameserverPlan {
  host: string;
  /** Glue for an in-zone name server. */
  addresses: string[];
}

export interface SpfPlan {
  /** A hand-written record used as it is instead of composing one. */
  record?: string;
  ip4: string[];
  ip6: string[];
  /** `true` for a bare `a` (the domain itself), or host names for `a:HOST`. */
  a: boolean | string[];
  /** `true` for a bare `mx`, or domain names for `mx:DOMAIN`. */
  mx: boolean | string[];
  include: string[];
  exists: string[];
  redirect?: string;
  all: SpfAll;
}

export interface DkimSelectorPlan {
  selector: string;
  algorithm: DkimAlgorithm;
  /** Private key path; relative paths are relative to the plan file. Defaults to KEYS_DIR/DOMAIN/SELECTOR.private. */
  key?: string;
  /** Publish with `t=y` (testing: receivers treat failures as unsigned). */
  testing: boolean;
  /** `h=`: hash algorithms the key may be used with. */
  hash?: string[];
  /** `s=`: service type (`email` or `*`). */
  service?: string;
  /** Rotation state kept by `maildns dkim rotate`. */
  state?: 'active' | 'published' | 'retiring';
  /** The day (YYYY-MM-DD) the selector entered its state, written by `maildns dkim rotate`. */
  since?: string;
}

export interface DmarcPlan {
  p: DmarcPolicy;
  sp?: DmarcPolicy;
  np?: DmarcPolicy;
  adkim?: 'r' | 's';
  aspf?: 'r' | 's';
  rua: string[];
  ruf: string[];
  fo?: string;
  pct?: number;
  ri?: number;
  rf?: string;
  t?: 'y' | 'n';
  psd?: 'y' | 'n' | 'u';
}

export interface ExtraTxtPlan {
  /** Relative to the domain (`@` for the apex) or absolute with a trailing dot. */
  name: string;
  value: string;
  ttl?: number;
}

type MtaStsMode = 'enforce' | 'testing' | 'none';
export const MTA_STS_MODES: readonly MtaStsMode[] = ['enforce', 'testing', 'none'];

/** MTA-STS (RFC 8461): the policy served at https://mta-sts.<domain>/.well-known/mta-sts.txt. */
export interface MtaStsPlan {
  mode: MtaStsMode;
  /** MX patterns the policy allows (host names, or `*.` and a domain); defaults to the plan's MX hosts. */
  mx: string[];
  /** Seconds senders may keep the policy. */
  maxAge: number;
}

/** SMTP TLS Reporting (RFC 8460): where senders send their daily TLS reports. */
export interface TlsRptPlan {
  /** mailto: or https: URIs. */
  rua: string[];
}

/** BIMI (draft-brand-indicators-for-message-identification): the brand logo published at `<selector>._bimi`. */
export interface BimiPlan {
  selector: string;
  /** `l=`: HTTPS URL of the SVG logo; empty to publish a declination record. */
  logo: string;
  /** `a=`: HTTPS URL of the mark certificate (VMC/CMC, PEM); empty when there is none. */
  authority: string;
}

/** A host that sends mail for the domain, for the reverse DNS check. */
export interface SendingHostPlan {
  address: string;
  /** The name the host gives in HELO/EHLO; its PTR record should carry this name. */
  helo?: string;
}

export interface DomainPlan {
  domain: string;
  ttl: number;
  mx: MxPlan[];
  spf?: SpfPlan;
  dkim: DkimSelectorPlan[];
  dmarc?: DmarcPlan;
  txt: ExtraTxtPlan[];
  /** Authoritative servers, for a full zone's NS records. */
  nameservers: NameserverPlan[];
  /** Domains whose DMARC reports this domain accepts (publishes `<d>._report._dmarc.<this>`). */
  acceptReportsFor: string[];
  mtaSts?: MtaStsPlan;
  tlsRpt?: TlsRptPlan;
  bimi?: BimiPlan;
  /** Sending hosts beyond the SPF ip4/ip6 hosts and the MX hosts, or the HELO names of those. */
  sendingHosts?: SendingHostPlan[];
}

export interface Plan {
  /** Path the plan was read from (for messages and relative key paths); null when built in memory. */
  file: string | null;
  keysDir: string;
  /** Days a replaced DKIM key stays published before it may be retired: mail signed with it is still being verified (default DEFAULT_RETIRE_AFTER_DAYS). */
  dkimRetireAfterDays?: number;
  domains: DomainPlan[];
  /** The mail host's Postfix settings, when the plan has a `mail_host` section. */
  mailHost?: MailHostPlan;
}

/** Where the relay password is read from when the password map is written: never the password itself. */
export interface PasswordSource {
  kind: 'file' | 'env';
  /** The file (resolved against the plan's directory) or the environment variable's name. */
  name: string;
  /** Plan file and line that name it, for errors. */
  file: string;
  line: number;
}

/** The provider's smarthost that Postfix relays outgoing mail through (`relayhost`). */
export interface RelayPlan {
  /** Host name or IP address; written in brackets so Postfix does no MX lookup. */
  host: string;
  port: number;
  /** SMTP AUTH user at the provider; no SMTP AUTH when absent. */
  username?: string;
  password?: PasswordSource;
  /** The provider's SPF record to include, e.g. _spf.relay.example.net (checked against the domain's SPF). */
  spfInclude?: string;
}

/** The submission service (port 587) for mail clients that log in. */
export interface SubmissionPlan {
  port: number;
  /** Who checks the passwords: Dovecot's auth socket, or Cyrus SASL through saslauthd. */
  sasl: 'dovecot' | 'cyrus';
  tlsCert: string;
  tlsKey: string;
}

/** The Postfix host that sends the domain's mail (`maildns postfix`). */
export interface MailHostPlan {
  /** myhostname: the name the host gives in HELO and in Received headers. */
  hostname: string;
  /** The sending domain (mydomain, myorigin): one of the plan's domains. */
  domain: string;
  /** Clients that may relay without logging in (mynetworks), in Postfix's form ([::1]/128). */
  mynetworks: string[];
  relay?: RelayPlan;
  submission?: SubmissionPlan;
}
