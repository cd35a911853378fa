/**
 * selftest's reasons for a milter socket, as chrooted smtpd and cleanup see it: an absolute path is
 * read below the queue directory (postconf(5): "If the process runs chrooted, an absolute pathname
 * is interpreted relative to the Postfix queue directory").
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { diagnose } from '../../../src/selftest/diagnose.js';
import type { LivePostfix, MasterLine } from '../../../src/selftest/postfix-live.js';
import { shellLine } from '../../../src/steps.js';

const master = (service: string, type: string): MasterLine => ({ service, type, private: 'n', unprivileged: '-', chroot: 'y', wakeup: '-', maxproc: '-', command: service === 'smtp' ? 'smtpd' : service });

function fakePostfix(queueDir: string, milter: string): LivePostfix {
  return {
    configDir: '/etc/postfix',
    sendmailConfigArgs: [],
    reloadLine: 'systemctl reload postfix',
    commandLine: (tool: string, ...args: string[]) => shellLine([tool, ...args]),
    settings: async () => new Map([['queue_directory', queueDir], ['smtpd_milters', milter], ['non_smtpd_milters', milter], ['mail_owner', 'root']]),
    masterServices: async () => [master('smtp', 'inet'), master('cleanup', 'unix')],
    serviceParameters: async () => new Map(),
  } as unknown as LivePostfix;
}

describe('selftest diagnose: milter sockets read inside the chroot', () => {
  let queueDir: string;
  let server: net.Server;
  beforeAll(async () => {
    queueDir = mkdtempSync(path.join(os.tmpdir(), 'maildns-chroot-'));
    // The seeds' layout: OpenDKIM's Socket local:QUEUE/var/run/opendkim/opendkim.sock.
    mkdirSync(path.join(queueDir, 'var/run/opendkim'), { recursive: true });
    server = net.createServer((c) => c.destroy());
    await new Promise<void>((resolve) => server.listen(path.join(queueDir, 'var/run/opendkim/opendkim.sock'), resolve));
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    rmSync(queueDir, { recursive: true, force: true });
  });

  const run = (milter: string, via: 'smtp' | 'sendmail' = 'smtp') =>
    diagnose({ via, sender: 'postmaster@example.com', client: '127.0.0.1', smtpPort: 25, postfix: fakePostfix(queueDir, milter), opendkimConfs: [] });

  it('unix:/var/run/opendkim/opendkim.sock reaches the socket at QUEUE/var/run/opendkim/opendkim.sock: no reason', async () => {
    for (const via of ['smtp', 'sendmail'] as const) {
      const d = await run('unix:/var/run/opendkim/opendkim.sock', via);
      expect(d.reasons).toEqual([]);
    }
  });

  it('an absolute path with nothing below the queue directory is still unreachable, named as seen from inside', async () => {
    const d = await run('unix:/run/opendkim/opendkim.sock');
    expect(d.reasons.map((r) => r.code)).toEqual(['selftest.milter-unreachable']);
    expect(d.reasons[0]!.message).toContain(`lies outside ${queueDir}, the chroot smtpd`);
    expect(d.reasons[0]!.message).toContain(`the path means ${queueDir}/run/opendkim/opendkim.sock, where there is no socket`);
  });

  it("the host's path of a socket below the queue directory is doubled inside the chroot: the fix names it relative", async () => {
    const d = await run(`unix:${queueDir}/var/run/opendkim/opendkim.sock`);
    expect(d.reasons.map((r) => r.code)).toEqual(['selftest.milter-unreachable']);
    expect(d.reasons[0]!.message).toContain(`reads the absolute path ${queueDir}/var/run/opendkim/opendkim.sock inside it, as ${queueDir}${queueDir}/var/run/opendkim/opendkim.sock, where there is no socket`);
    expect(d.reasons[0]!.fix).toBe('name the socket relative to the queue directory: postconf -e \'smtpd_milters = unix:var/run/opendkim/opendkim.sock\', then systemctl reload postfix');
  });

  it('a relative path is read from the queue directory', async () => {
    expect((await run('unix:var/run/opendkim/opendkim.sock')).reasons).toEqual([]);
  });
});
