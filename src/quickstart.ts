/**
 * The quick start: the whole set-up of a sending domain, offline, in one run. Every step is
 * the same library call the individual commands make; the embedded DNS server stands in for
 * the real DNS so the records can be verified and a signed test message checked end to end.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { keygenPlan } from './dkim/keygen.js';
import { readPrivateKeyFile } from './dkim/keys.js';
import { composeOpenDkim } from './dkim/opendkim.js';
import { DnsResolver } from './dns/resolver.js';
import { startServer } from './dns/server.js';
import { makeDirectories, writeFileAtomic } from './fsutil.js';
import { parseMessage } from './message/message.js';
import { loadPrivateKey, signWithEach } from './message/sign.js';
import { verifyMessage, type MessageReport } from './message/verify.js';
import { starterPlan } from './plan/init.js';
import { loadPlan } from './plan/load.js';
import { composePlan } from './plan/records.js';
import { signingChoices } from './plan/selectors.js';
import type { Plan } from './plan/types.js';
import { verifyPlan, type VerifyReport } from './verify/run.js';
import { renderWith } from '../providers/index.js';

/** The sending host of the example: an address from the documentation range (RFC 5737). */
const EXAMPLE_SENDER_IP = '203.0.113.25';

interface QuickstartOptions {
  dir: string;
  domain: string;
  /** Called with each step's heading and body as soon as it is done. */
  onStep?: (step: QuickstartStep) => void;
}

interface QuickstartStep {
  title: string;
  body: string;
  ok: boolean;
}

interface QuickstartResult {
  ok: boolean;
  dir: string;
  planFile: string;
  steps: QuickstartStep[];
  verify: VerifyReport;
  message: MessageReport;
}

function testMessage(domain: string, now: Date): string {
  return [
    `From: Postmaster <postmaster@${domain}>`,
    `To: Someone <someone@example.net>`,
    `Subject: maildns quick start test`,
    `Date: ${now.toUTCString().replace('GMT', '+0000')}`,
    `Message-ID: <quickstart.${now.getTime()}@${domain}>`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    '',
    'This message was signed by maildns with the key the quick start generated.',
    '',
  ].join('\r\n');
}

export async function quickstart(opts: QuickstartOptions): Promise<QuickstartResult> {
  const steps: QuickstartStep[] = [];
  const step = (title: string, body: string, ok = true): void => {
    const s = { title, body, ok };
    steps.push(s);
    opts.onStep?.(s);
  };
  const dir = path.resolve(opts.dir);
  makeDirectories(dir);
  const planFile = path.join(dir, 'maildns.yaml');

  // 1. The plan: written once; a second run keeps the operator's edits and keys.
  let domain = opts.domain;
  if (existsSync(planFile)) {
    // The plan kept may be for another domain: an earlier run's --domain, or the operator's own
    // domain edited in (step 10 says to). The test message is then from the plan's first domain.
    const kept = loadPlan(planFile);
    const planned = kept.domains.map((d) => d.domain);
    if (!planned.includes(domain) && planned.length) {
      domain = planned[0]!;
      step('Plan', `kept the existing ${planFile}; it plans ${planned.join(', ')}, not ${opts.domain}, so the test message is from ${domain} (for ${opts.domain}, run the quick start in another directory)`);
    } else {
      step('Plan', `kept the existing ${planFile}`);
    }
  } else {
    const text = starterPlan({ domain: opts.domain, ip4: [EXAMPLE_SENDER_IP], ip6: [], include: [], mx: [`mail.${opts.domain}`], selector: 'mail', dkimAlg: 'rsa-2048', dmarcPolicy: 'none', rua: [`dmarc@${opts.domain}`], mxAddresses: [EXAMPLE_SENDER_IP] });
    writeFileAtomic(planFile, text, { mode: 0o644 });
    step('Plan', `wrote ${planFile} (SPF for ${EXAMPLE_SENDER_IP}, DKIM selector "mail", DMARC p=none with reports to dmarc@${opts.domain})`);
  }
  const plan: Plan = loadPlan(planFile);

  // 2. Keys: created once, never overwritten.
  const keys = await keygenPlan(plan);
  step('DKIM keys', keys.map((k) => `${k.status} ${k.keyPath} (${k.algorithm}, mode 0600)`).join('\n'));

  // 3. OpenDKIM and Postfix files.
  const opendkimDir = path.join(dir, 'opendkim');
  makeDirectories(opendkimDir);
  const od = composeOpenDkim(plan, { configDir: '/etc/opendkim' });
  for (const f of od.files) writeFileAtomic(path.join(opendkimDir, f.name), f.content, { mode: 0o644 });
  step('OpenDKIM and Postfix files', `${od.files.map((f) => path.join(opendkimDir, f.name)).join('\n')}\non the mail server: ${od.steps.length} steps (\`maildns opendkim\` prints them)`);

  // 4. The records, in the two shapes operators paste.
  const composed = composePlan(plan);
  step('Records as a zone file', renderWith('zone', composed, {}).text.trimEnd());
  step('Records as MyDNS form rows', renderWith('mydns', composed, {}).text.trimEnd());

  // 5. Publish them on the embedded server and verify what it serves.
  const server = await startServer({ records: composed.flatMap((c) => c.records), zones: plan.domains.map((d) => d.domain) });
  const address = `${server.host}:${server.port}`;
  try {
    step('Embedded DNS server', `serving the records on ${address} (UDP and TCP)`);
    const resolver = new DnsResolver({ servers: [{ host: server.host, port: server.port }], timeoutMs: 1000 });
    const verify = await verifyPlan(plan, { resolver, authoritative: [address] });
    const problems = verify.domains.flatMap((d) => d.findings.filter((f) => f.severity !== 'info').map((f) => `${f.severity}: ${f.message}`));
    step('Verify the published records', [`${verify.summary.asPlanned}/${verify.summary.domains} domain(s) published as planned`, ...problems].join('\n'), verify.outcome === 'ok');

    // 6. Sign a test message with the new key and verify it as a receiver would.
    const unsigned = Buffer.from(testMessage(domain, new Date()));
    const choices = signingChoices(plan, domain, planFile);
    // Each key read as sign reads one (bounded, a pipe to its end within the deadline, never a hang).
    const keys = await Promise.all(choices.map(async (c) => ({ domain: c.domain, selector: c.selector, key: loadPrivateKey(await readPrivateKeyFile(c.keyFile), c.keyFile) })));
    const signed = await signWithEach(unsigned, keys);
    const messageFile = path.join(dir, 'test-message.eml');
    writeFileAtomic(messageFile, signed.message, { mode: 0o644 });
    step('Sign a test message', `${messageFile} (${signed.signatures.map((s) => `DKIM-Signature d=${domain} s=${s.selector} a=${s.algorithm}`).join('; ')})`);

    const message = await verifyMessage(parseMessage(signed.message, messageFile), resolver, { ip: EXAMPLE_SENDER_IP, mailFrom: `postmaster@${domain}`, helo: `mail.${domain}` });
    const passed = message.dmarc.result === 'pass' && message.dkim.some((d) => d.result === 'pass') && message.spf?.result === 'pass';
    step('Verify the test message', message.authenticationResults, passed);

    const ok = steps.every((s) => s.ok);
    step(
      'Next steps for a real domain',
      [
        `1. Edit ${planFile}: your domain, your sending hosts' addresses, relays to include, where DMARC reports go.`,
        `2. maildns keygen --plan ${planFile}; maildns opendkim --plan ${planFile}, then run the steps it prints on the mail host.`,
        `3. Publish: maildns records --plan ${planFile} (zone file) or --format mydns (web form rows).`,
        `4. Check what is live: maildns verify --plan ${planFile}; then send yourself a message and run maildns verify-message on it.`,
        '5. Once reports show every legitimate sender passing, move DMARC from p=none to quarantine, then reject.',
      ].join('\n'),
    );
    return { ok, dir, planFile, steps, verify, message };
  } finally {
    await server.close();
  }
}
