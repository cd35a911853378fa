/** Where Debian 12's packages put OpenDKIM and Postfix, and the defaults built on that; no engine code, so the CLI's help can show them. */
import path from 'node:path';

export const DEBIAN = {
  configDir: '/etc/opendkim',
  mainConf: '/etc/opendkim.conf',
  keysDir: '/etc/dkimkeys',
  runDir: '/run/opendkim',
  unitDir: '/etc/systemd/system',
  postfixQueueDir: '/var/spool/postfix',
  user: 'opendkim',
  group: 'opendkim',
  trustAnchorFile: '/usr/share/dns/root.key',
  postfixConfigDir: '/etc/postfix',
} as const;

/** The socket's name inside Postfix's queue directory, for `local:` sockets. */
const SOCKET_SUBDIR = 'opendkim';

export function defaultSocket(postfixQueueDir: string = DEBIAN.postfixQueueDir): string {
  return `local:${path.posix.join(postfixQueueDir, SOCKET_SUBDIR, 'opendkim.sock')}`;
}
export const DEFAULT_SOCKET = defaultSocket();

export type MilterDefaultAction = 'tempfail' | 'accept';
