/**
 * The seeds' Debian mail host, built only from maildns's output: a plan with example.com (RSA and
 * Ed25519 selectors) and a `mail_host` relaying through a test smarthost, the keys, the embedded DNS
 * server serving the plan's records, OpenDKIM (two instances) installed with the printed steps and
 * started as its units start it, and a private Postfix made from Debian's files with the printed
 * postfix steps applied. Used by the mail-host and selftest tests; needs root (see mailhost.ts).
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { keygenPlan } from '../../src/dkim/keygen.js';
import { composeOpenDkim, type OpenDkimOptions, type OpenDkimResult } from '../../src/dkim/opendkim.js';
import { startServer, type RunningServer } from '../../src/dns/server.js';
import { writeFileAtomic } from '../../src/fsutil.js';
import { loadPlan } from '../../src/plan/load.js';
import { composePlan } from '../../src/plan/records.js';
import type { Plan } from '../../src/plan/types.js';
import { composePostfix, type PostfixOptions, type PostfixResult } from '../../src/postfix/compose.js';
import {
  createPostfix,
  debianLayout,
  execStartOf,
  hostRoot,
  removeHostRoot,
  requireMailHostPrograms,
  run,
  runSteps,
  startDovecot,
  startForking,
  type Daemon,
  type DovecotInstance,
  type PostfixInstance,
} from './mailhost.js';
import { freePort } from './opendkim.js';
import { selfSignedCertificate, startSmtpProvider, type SmtpProvider } from './smtp-provider.js';

export const RELAY_USER = 'example-com';

function seedPlanText(providerPort: number, submissionPort: number, tls: { cert: string; key: string }): string {
  return `version: 1
domains:
  - domain: example.com
    mx: [{ host: mail.example.com, priority: 10, addresses: [127.0.0.1] }]
    spf: { ip4: [127.0.0.1], all: "-all" }
    dkim:
      - { selector: rsa1, algorithm: rsa-2048 }
      - { selector: ed1, algorithm: ed25519 }
    dmarc: { p: reject, rua: [mailto:dmarc@example.com] }
mail_host:
  hostname: mail.example.com
  mynetworks: [127.0.0.1/32]
  relay:
    host: 127.0.0.1
    port: ${providerPort}
    username: ${RELAY_USER}
    password_file: relay-password
  submission: { port: ${submissionPort}, sasl: dovecot, tls_cert: ${tls.cert}, tls_key: ${tls.key} }
`;
}

/** A mail message in wire form (CRLF) from alice@example.com. */
export function testMessage(subject: string, body: string): string {
  return [
    'From: Alice <alice@example.com>',
    'To: Carol <carol@example.org>',
    `Subject: ${subject}`,
    'Date: Mon, 23 Nov 2026 10:00:00 +0000',
    `Message-ID: <${subject.replace(/\W+/g, '-')}@example.com>`,
    '',
    body,
    '',
  ].join('\r\n');
}

export interface SeedHost {
  root: string;
  layout: ReturnType<typeof debianLayout>;
  /** Where the plan, the keys and maildns's output live (the operator's working copy). */
  work: string;
  plan: Plan;
  /** The relay password, for asserting it is never printed. */
  password: string;
  provider: SmtpProvider;
  dns: RunningServer;
  opendkim: OpenDkimResult;
  /** The directory `maildns opendkim` wrote to. */
  opendkimOut: string;
  postfixOut: PostfixResult;
  postfix: PostfixInstance;
  smtpPort: number;
  submissionPort: number;
  dovecot: DovecotInstance | null;
  /** The running OpenDKIM instances, in the order of opendkim.instances. */
  daemons: Daemon[];
  /** Every printed step as it was run. */
  ran: string[];
  /** Start the OpenDKIM instances again (after their files changed or they were stopped). */
  restartOpenDkim(): Promise<void>;
  stop(): Promise<void>;
}

interface SeedHostOptions {
  prefix: string;
  /** Options for `maildns opendkim`, given the layout below the root (which applies first). */
  opendkim?: (layout: ReturnType<typeof debianLayout>) => Partial<OpenDkimOptions>;
  /** Options for `maildns postfix`. */
  postfix?: Partial<PostfixOptions>;
  /** Start a Dovecot for the submission logins, with these users and passwords. */
  dovecotUsers?: Record<string, string>;
}

export async function setUpSeedHost(opts: SeedHostOptions): Promise<SeedHost> {
  requireMailHostPrograms();
  const root = hostRoot(opts.prefix);
  const daemons: Daemon[] = [];
  const partial: { provider?: SmtpProvider; dns?: RunningServer; postfix?: PostfixInstance; dovecot?: DovecotInstance } = {};
  const stopAll = async (): Promise<void> => {
    await partial.postfix?.stop();
    await partial.dovecot?.stop();
    for (const d of daemons) await d.stop();
    await partial.provider?.close();
    await partial.dns?.close();
    removeHostRoot(root);
  };
  try {
    const layout = debianLayout(root);
    const work = path.join(root, 'work');
    mkdirSync(work, { mode: 0o700 });
    const ran: string[] = [];

    const cert = selfSignedCertificate(work, 'smtp.relay.example.net');
    const password = `pw-${Math.random().toString(36).slice(2)}-with spaces`;
    const provider = (partial.provider = await startSmtpProvider({ name: 'smtp.relay.example.net', ...cert, user: RELAY_USER, password }));
    writeFileAtomic(path.join(work, 'relay-password'), `${password}\n`, { mode: 0o600 });
    // The host's own certificate for STARTTLS on submission (Debian's snakeoil pair is not made here).
    selfSignedCertificate(work, 'mail.example.com');
    const smtpPort = await freePort();
    const submissionPort = await freePort();
    const tls = { cert: path.join(work, 'mail.example.com.crt'), key: path.join(work, 'mail.example.com.key') };
    writeFileSync(path.join(work, 'maildns.yaml'), seedPlanText(provider.port, submissionPort, tls));
    const plan = loadPlan(path.join(work, 'maildns.yaml'));
    await keygenPlan(plan);
    const dns = (partial.dns = await startServer({ records: composePlan(plan).flatMap((c) => c.records), zones: ['example.com'] }));

    // OpenDKIM: the files, then the printed steps as printed (adduser, install, opendkim -n).
    const odOptions: OpenDkimOptions = { ...layout.opendkim, ...opts.opendkim?.(layout) };
    const opendkim = composeOpenDkim(plan, odOptions);
    const opendkimOut = path.join(work, 'opendkim');
    mkdirSync(opendkimOut);
    for (const f of opendkim.files) writeFileAtomic(path.join(opendkimOut, f.name), f.content, { mode: f.mode });
    ran.push(...(await runSteps(opendkim.steps, { cwd: opendkimOut, kinds: ['group', 'install', 'check'] })));
    // What Debian's tmpfiles.d/opendkim.conf makes at boot: the run directory of the pid files.
    await run('install', ['-d', '-o', 'opendkim', '-g', 'opendkim', '-m', '0750', layout.opendkim.runDir!]);
    const startOpenDkim = async (): Promise<void> => {
      for (const inst of opendkim.instances) {
        // The packaged opendkim.service runs /usr/sbin/opendkim, which reads /etc/opendkim.conf (here moved below root);
        // the second instance runs the ExecStart of the unit maildns wrote.
        const unit = opendkim.files.find((f) => f.name === `${inst.unit}.service`);
        const execStart = unit ? execStartOf(unit.content) : `/usr/sbin/opendkim -x ${inst.confPath}`;
        const socket = inst.socket.startsWith('local:') ? inst.socket.slice('local:'.length) : null;
        daemons.push(await startForking(execStart, inst.pidFile, socket));
      }
    };
    await startOpenDkim();

    // Postfix: Debian's files, then the printed postfix steps (install, postmap, postconf -e/-M/-P) with -c DIR.
    const postfix = (partial.postfix = await createPostfix(layout, smtpPort));
    const dovecotConfDir = path.join(root, 'etc/dovecot/conf.d');
    const postfixOut = composePostfix(plan, { ...odOptions, postfixConfigDir: layout.postfixConfigDir, dovecotConfDir, ...opts.postfix });
    const pfOut = path.join(work, 'postfix');
    mkdirSync(pfOut);
    mkdirSync(dovecotConfDir, { recursive: true }); // dovecot-core ships it
    for (const f of postfixOut.files) writeFileAtomic(path.join(pfOut, f.name), f.content, { mode: f.mode });
    ran.push(...(await runSteps(postfixOut.steps, { cwd: pfOut, kinds: ['install', 'postfix'], postfixConfigDir: layout.postfixConfigDir })));
    ran.push(...(await runSteps(opendkim.steps, { cwd: opendkimOut, kinds: ['postfix'], postfixConfigDir: layout.postfixConfigDir })));
    await postfix.start();
    let dovecot: DovecotInstance | null = null;
    if (opts.dovecotUsers) {
      // Dovecot checks the submission logins through the socket the generated snippet puts in Postfix's chroot.
      const snippet = postfixOut.files.find((f) => f.name === 'dovecot-postfix-auth.conf')!;
      dovecot = partial.dovecot = await startDovecot(root, snippet.installPath!, opts.dovecotUsers);
    }
    return {
      root,
      layout,
      work,
      plan,
      password,
      provider,
      dns,
      opendkim,
      opendkimOut,
      postfixOut,
      postfix,
      smtpPort,
      submissionPort,
      dovecot,
      daemons,
      ran,
      async restartOpenDkim() {
        for (const d of daemons.splice(0)) await d.stop();
        // A killed milter leaves its pid file and socket behind: the new ones must be waited for.
        for (const inst of opendkim.instances) {
          rmSync(inst.pidFile, { force: true });
          if (inst.socket.startsWith('local:')) rmSync(inst.socket.slice('local:'.length), { force: true });
        }
        await startOpenDkim();
      },
      stop: stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
