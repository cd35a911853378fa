/**
 * `maildns selftest` on the real thing: the seeds' Debian mail host (Postfix chrooted as shipped,
 * two OpenDKIM instances, a relayhost), set up only from maildns's printed steps (seed-host.ts).
 * The probe goes through Postfix to selftest's listener over the route `maildns postfix` writes;
 * selftest passes on the good set-up by both submission paths, and on broken variants exits 1 and
 * names the reason: a SigningTable without the domain, a client outside InternalHosts, the milter
 * socket outside the chroot, and no non_smtpd_milters for mail from sendmail.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SelftestReport } from '../../../src/selftest/run.js';
import { runCli, type CliResult } from '../../helpers/cli.js';
import { freePort } from '../../helpers/opendkim.js';
import { isRoot, run, smtpSend } from '../../helpers/mailhost.js';
import { setUpSeedHost, testMessage, type SeedHost } from '../../helpers/seed-host.js';

/** `maildns selftest` against the seed host, as an operator runs it there (the paths below its root). */
function selftest(host: SeedHost, args: string[] = [], opts: { json?: boolean } = {}): Promise<CliResult> {
  return runCli(
    [
      'selftest',
      '--plan', path.join(host.work, 'maildns.yaml'),
      '--config-dir', host.postfix.configDir,
      '--smtp', `127.0.0.1:${host.smtpPort}`,
      '--nameserver', `127.0.0.1:${host.dns.port}`,
      ...host.opendkim.instances.flatMap((i) => ['--opendkim-conf', i.confPath]),
      ...(opts.json === false ? [] : ['--json']),
      ...args,
    ],
    // A bound far past any working run: a hang fails the test instead of outliving it.
    { killAfterMs: 120_000 },
  );
}

function report(r: CliResult): SelftestReport & { exitCode: number } {
  expect(r.stdout, r.stderr).toMatch(/^\{/);
  return JSON.parse(r.stdout) as SelftestReport & { exitCode: number };
}

const codes = (r: SelftestReport): string[] => r.reasons.map((f) => f.code);

describe.skipIf(!isRoot)('maildns selftest on the seeds\' mail host (needs root)', () => {
  describe('set up as `maildns opendkim` and `maildns postfix` print it', () => {
    let host: SeedHost;

    beforeAll(async () => {
      const route = { host: '127.0.0.2', port: await freePort('127.0.0.2') };
      host = await setUpSeedHost({ prefix: 'maildns-selftest-', postfix: { selftestRoute: route } });
    }, 120_000);
    afterAll(async () => {
      await host?.stop();
    });

    it('over SMTP: the probe leaves signed by both selectors and aligned, past the relayhost to the listener; exit 0', async () => {
      const r = await selftest(host);
      const rep = report(r);
      expect(r.code, r.stdout).toBe(0);
      expect(rep).toMatchObject({ ok: true, verdict: 'signed', via: 'smtp', from: 'postmaster@example.com', reasons: [], queue: [] });
      expect(rep.to).toMatch(/^selftest-[0-9a-f]{12}@\[127\.0\.0\.2\]$/);
      expect(rep.route.transport).toBe('maildns-selftest');
      expect(rep.submission.reply).toMatch(/^250 2\.0\.0 Ok: queued as \w+$/);
      expect(rep.received!.mailFrom).toBe('postmaster@example.com');
      expect(rep.received!.helo).toBe('mail.example.com');
      expect(rep.selectors).toEqual([
        { selector: 'rsa1', algorithm: 'rsa-2048', result: 'pass' },
        { selector: 'ed1', algorithm: 'ed25519', result: 'pass' },
      ]);
      expect(rep.verification!.dkim.map((d) => [d.result, d.domain, d.algorithm]).sort()).toEqual([
        ['pass', 'example.com', 'ed25519-sha256'],
        ['pass', 'example.com', 'rsa-sha256'],
      ]);
      expect(rep.verification!.dmarc.result).toBe('pass');
      // It went to the listener, not to the provider's smarthost.
      expect(host.provider.messages.filter((m) => m.data.includes('maildns selftest'))).toEqual([]);
      expect(host.postfix.log()).toMatch(new RegExp(`postfix/maildns-selftest/smtp\\[\\d+\\]: \\w+: to=<${rep.to.replace(/[[\].]/g, '\\$&')}>, relay=127\\.0\\.0\\.2\\[127\\.0\\.0\\.2\\]:\\d+, .*status=sent`));
    });

    it('through sendmail (pickup and cleanup, non_smtpd_milters) it passes too; the text report says so', async () => {
      const r = await selftest(host, ['--via', 'sendmail'], { json: false });
      expect(r.code, r.stdout + r.stderr).toBe(0);
      expect(r.stdout).toMatch(/^selftest: postmaster@example\.com -> selftest-[0-9a-f]{12}@\[127\.0\.0\.2\], through sendmail$/m);
      expect(r.stdout).toMatch(/^planned selectors: rsa1 \(rsa-2048\) pass, ed1 \(ed25519\) pass$/m);
      expect(r.stdout).toMatch(/^PASS: the probe left signed and aligned$/m);
    });

    it('checks SPF for the public address it is given: the planned 127.0.0.1 passes, 192.0.2.1 fails (exit 1)', async () => {
      const good = report(await selftest(host, ['--ip', '127.0.0.1']));
      expect(good.verification!.spf).toMatchObject({ result: 'pass', domain: 'example.com' });
      expect(good.exitCode).toBe(0);
      const bad = report(await selftest(host, ['--ip', '192.0.2.1']));
      expect(bad).toMatchObject({ ok: false, verdict: 'spf-fails', exitCode: 1 });
      expect(bad.findings.find((f) => f.code === 'selftest.spf')!.message).toMatch(/^SPF for 192\.0\.2\.1 .* is fail/);
    });

    it('sends nothing when Postfix has no route for the recipient: it would go to the relayhost (exit 2)', async () => {
      const before = host.provider.messages.length;
      const r = await selftest(host, ['--to', 'probe@[127.0.0.3]']);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/^maildns: \S+: Postfix has no transport for \[127\.0\.0\.3\], so it would hand the probe to the relayhost \[127\.0\.0\.1\]:\d+, not to selftest \(nothing was sent\): run the postconf steps of `maildns postfix`/);
      expect(host.provider.messages.length).toBe(before);
    });

    it('the route is no open door: a client outside mynetworks that did not log in cannot send to the literal', async () => {
      const r = await smtpSend({ port: host.smtpPort, from: 'x@example.net', to: 'selftest-0@[127.0.0.2]', message: testMessage('probe from outside', 'No.'), sourceAddress: '127.0.0.2' });
      expect(r.sent).toBe(false);
      expect(r.refused).toMatch(/^554 5\.7\.1 .*Relay access denied/);
    });

    it('a SigningTable without the domain: the probe arrives unsigned, and each table is named (exit 1); fixed, it passes again', async () => {
      const tables = host.opendkim.instances.map((i) => path.join(host.layout.opendkim.configDir!, i.signingTable));
      const saved = tables.map((t) => readFileSync(t, 'utf8'));
      try {
        // The seeds' slip: the table lists another domain, not the one the mail is from.
        for (const [i, t] of tables.entries()) writeFileSync(t, saved[i]!.replace(/\*@example\.com /g, '*@example.net '));
        await host.restartOpenDkim();
        const rep = report(await selftest(host));
        expect(rep).toMatchObject({ ok: false, verdict: 'unsigned', exitCode: 1 });
        expect(rep.verification!.dkim).toEqual([]);
        expect(codes(rep)).toEqual(['selftest.signing-table', 'selftest.signing-table']);
        expect(rep.reasons.map((f) => f.subject)).toEqual(tables.map((t, i) => `${t} (SigningTable of ${path.basename(host.opendkim.instances[i]!.confPath)})`));
        expect(rep.reasons[0]!.message).toBe('no line of the SigningTable matches the sender postmaster@example.com, so OpenDKIM passes the message on unsigned');
      } finally {
        for (const [i, t] of tables.entries()) writeFileSync(t, saved[i]!);
        await host.restartOpenDkim();
      }
      expect(report(await selftest(host)).verdict).toBe('signed');
    });

    it('a client outside InternalHosts: OpenDKIM verifies instead of signing, and the client is named (exit 1)', async () => {
      const file = path.join(host.layout.opendkim.configDir!, 'TrustedHosts');
      const saved = readFileSync(file, 'utf8');
      try {
        writeFileSync(file, '192.0.2.0/24\n');
        await host.restartOpenDkim();
        const rep = report(await selftest(host));
        expect(rep).toMatchObject({ verdict: 'unsigned', exitCode: 1 });
        expect(codes(rep)).toEqual(['selftest.client-not-internal', 'selftest.client-not-internal']);
        expect(rep.reasons[0]!.message).toBe(`the client 127.0.0.1 is not in InternalHosts (${file}): OpenDKIM verifies its mail instead of signing it`);
      } finally {
        writeFileSync(file, saved);
        await host.restartOpenDkim();
      }
    });

    it('no non_smtpd_milters: mail from sendmail arrives unsigned and the setting is named (exit 1), while SMTP still passes', async () => {
      const dir = host.postfix.configDir;
      try {
        await run('postconf', ['-c', dir, '-X', 'non_smtpd_milters']);
        await host.postfix.reload();
        const rep = report(await selftest(host, ['--via', 'sendmail']));
        expect(rep).toMatchObject({ verdict: 'unsigned', exitCode: 1 });
        expect(codes(rep)).toEqual(['selftest.non-smtpd-milters-missing']);
        expect(rep.reasons[0]!.fix).toBe(`postconf -c ${dir} -e 'non_smtpd_milters = $smtpd_milters', then postfix -c ${dir} reload`);
        expect(report(await selftest(host)).verdict).toBe('signed');
      } finally {
        await run('postconf', ['-c', dir, '-e', 'non_smtpd_milters = $smtpd_milters']);
        await host.postfix.reload();
      }
      expect(report(await selftest(host, ['--via', 'sendmail'])).verdict).toBe('signed');
    });

    it('Postfix stopped: SMTP is refused at connect and sendmail\'s probe waits in maildrop; both name it, and the probe is deleted (exit 1)', async () => {
      await host.postfix.stop();
      try {
        const smtp = report(await selftest(host));
        expect(smtp).toMatchObject({ verdict: 'refused', exitCode: 1 });
        expect(smtp.submission.failedAt).toBe('connect');
        expect(codes(smtp)).toEqual(['selftest.postfix-not-running']);
        // Nothing picks the probe up, so only the deadline ends the wait.
        const queued = report(await selftest(host, ['--via', 'sendmail', '--wait', '3']));
        expect(queued).toMatchObject({ verdict: 'not-arrived', exitCode: 1 });
        expect(codes(queued)).toEqual(['selftest.postfix-not-running']);
        expect(queued.queue).toEqual([{ queueId: expect.stringMatching(/^\w+$/), queueName: 'maildrop', delayReason: null, removed: true }]);
        expect(readdirSync(path.join(host.layout.queueDir, 'maildrop'))).toEqual([]);
      } finally {
        await host.postfix.start();
      }
    });
  });

  describe('with the socket outside the chroot (`--socket local:/run/opendkim/opendkim.sock --no-postfix-chrooted`, the seeds\' by-hand set-up)', () => {
    let host: SeedHost;

    beforeAll(async () => {
      const route = { host: '127.0.0.2', port: await freePort('127.0.0.2') };
      host = await setUpSeedHost({
        prefix: 'maildns-selftest-socket-',
        opendkim: (layout) => ({ socket: `local:${layout.opendkim.runDir}/opendkim.sock`, postfixChrooted: false }),
        postfix: { selftestRoute: route },
      });
    }, 120_000);
    afterAll(async () => {
      await host?.stop();
    });

    it('over SMTP, smtpd cannot reach OpenDKIM from its chroot: 451, and each socket is named (exit 1)', async () => {
      const rep = report(await selftest(host));
      expect(rep).toMatchObject({ ok: false, verdict: 'refused', exitCode: 1 });
      expect(rep.submission.reply).toMatch(/^451 4\.7\.1 /);
      expect(codes(rep)).toEqual(['selftest.milter-unreachable', 'selftest.milter-unreachable']);
      const socket = `${host.layout.opendkim.runDir}/opendkim.sock`;
      expect(rep.reasons[0]!.subject).toBe(`smtpd_milters unix:${socket}`);
      expect(rep.reasons[0]!.message).toContain(`the milter socket ${socket} lies outside ${host.layout.queueDir}, the chroot smtpd`);
    });

    it('through sendmail the probe stays queued until the deadline; the reason is named and the probe deleted from the queue', async () => {
      const rep = report(await selftest(host, ['--via', 'sendmail', '--wait', '10']));
      expect(rep).toMatchObject({ verdict: 'not-arrived', exitCode: 1 });
      expect(codes(rep)).toEqual(['selftest.milter-unreachable', 'selftest.milter-unreachable']);
      expect(rep.reasons[0]!.subject).toMatch(/^non_smtpd_milters unix:/);
      expect(rep.queue).toEqual([{ queueId: expect.stringMatching(/^\w+$/), queueName: expect.any(String), delayReason: null, removed: true }]);
      const left = await run('postqueue', ['-c', host.postfix.configDir, '-j']);
      expect(left.stdout).not.toContain(rep.to);
    });
  });
});
