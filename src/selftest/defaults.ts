/** The defaults of `maildns selftest`, apart from the engine so the CLI's help can show them. */
export const DEFAULT_POSTFIX_CONFIG_DIR = '/etc/postfix';
export const DEFAULT_SENDMAIL = '/usr/sbin/sendmail';
export const DEFAULT_SMTP = { host: '127.0.0.1', port: 25 } as const;
/** The submission and the arrival together: a probe on a working host arrives in about a second. */
export const DEFAULT_WAIT_MS = 30_000;
