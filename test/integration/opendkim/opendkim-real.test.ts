/**
 * Proof with the real tools: keys made by `keygen` and files made by `opendkim`, published by Knot
 * on 127.0.0.1, accepted by opendkim-testkey, used by the opendkim milter to sign, and the
 * signatures verified by python3-dkim through the same DNS.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { keygenPlan } from '../../../src/dkim/keygen.js';
import { composeOpenDkim } from '../../../src/dkim/opendkim.js';
import { validateDkimRecord } from '../../../src/dkim/validate.js';
import { writeFileAtomic } from '../../../src/fsutil.js';
import { DnsResolver } from '../../../src/dns/resolver.js';
import { parseMessage } from '../../../src/message/message.js';
import { verifyMessage } from '../../../src/message/verify.js';
import { parsePlan } from '../../../src/plan/load.js';
import { composePlan } from '../../../src/plan/records.js';
import type { Plan } from '../../../src/plan/types.js';
import { startKnot, type KnotServer } from '../../helpers/knot.js';
import { debianLayout, execStartOf, hostRoot, isRoot, removeHostRoot, requireMailHostPrograms, run, runSteps, startForking, type Daemon } from '../../helpers/mailhost.js';
import {
  dkimpyVerify,
  freePort,
  privateDir,
  signWithMilter,
  testKey,
  writeResolverConf,
  zoneText,
} from '../../helpers/opendkim.js';

const PLAN = `
domains:
  - domain: example.com
    dkim:
      - selector: rsa1
        algorithm: rsa-2048
      - selector: ed1
        algorithm: ed25519
  - domain: example.net
    dkim:
      - selector: mail
        algorithm: rsa-1024
`;

describe('generated keys and OpenDKIM files with the real OpenDKIM', () => {
  let dir: string;
  let plan: Plan;
  let knot: KnotServer;
  let resolverConf: string;
  let pkcs1Record: string;

  beforeAll(async () => {
    dir = privateDir('maildns-opendkim-');
    const planFile = path.join(dir, 'maildns.yaml');
    writeFileSync(planFile, PLAN);
    plan = parsePlan(PLAN, planFile);
    await keygenPlan(plan);
    const composed = composePlan(plan);
    // Also publish rsa1's key in the wrong (bare PKCS#1) form at a selector of its own.
    const rsa1 = readFileSync(path.join(plan.keysDir, 'example.com', 'rsa1.private'), 'utf8');
    const pkcs1 = createPublicKey(rsa1).export({ type: 'pkcs1', format: 'der' }).toString('base64');
    pkcs1Record = `v=DKIM1; k=rsa; p=${pkcs1}`;
    composed[0]!.records.push({ name: 'pkcs1._domainkey.example.com', type: 'TXT', ttl: 300, value: pkcs1Record });
    const zones = Object.fromEntries(composed.map((c) => [c.domain, zoneText(c.domain, c.records)]));
    knot = await startKnot(zones);
    resolverConf = writeResolverConf(dir, knot.port);
  });

  afterAll(async () => {
    await knot?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('opendkim-testkey accepts the published RSA keys', async () => {
    for (const [domain, selector] of [['example.com', 'rsa1'], ['example.net', 'mail']] as const) {
      const keyPath = path.join(plan.keysDir, domain, `${selector}.private`);
      const r = await testKey({ domain, selector, keyPath, resolverConf, dir });
      expect(r.output, r.output).toMatch(/key OK/);
    }
  });

  it('opendkim-testkey rejects a private key that does not belong to the published one', async () => {
    const other = path.join(dir, 'other.private');
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    writeFileAtomic(other, privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), { mode: 0o600 });
    const r = await testKey({ domain: 'example.com', selector: 'rsa1', keyPath: other, resolverConf, dir });
    expect(r.output).not.toMatch(/key OK/);
    expect(r.output).toMatch(/keys do not match/);
  });

  it('a key published as bare PKCS#1 fails opendkim-testkey, and maildns reports it', async () => {
    const keyPath = path.join(plan.keysDir, 'example.com', 'rsa1.private');
    const r = await testKey({ domain: 'example.com', selector: 'pkcs1', keyPath, resolverConf, dir });
    expect(r.output).not.toMatch(/key OK/);
    expect(r.output).toMatch(/keys do not match/); // OpenDKIM compares SubjectPublicKeyInfo bytes
    expect(validateDkimRecord(pkcs1Record).findings.map((f) => f.code)).toContain('dkim.key-pkcs1');
  });

  // Installed with the printed steps below a root-owned directory and run as its units run it
  // (UserID opendkim, keys in etc/dkimkeys): that needs root.
  describe.skipIf(!isRoot)('the opendkim milter, configured only with the generated files and installed with the printed steps', () => {
    let root: string;
    const out = () => path.join(root, 'work', 'opendkim');
    let result: ReturnType<typeof composeOpenDkim>;
    const ports: Record<string, number> = {};
    const daemons: Record<string, Daemon> = {};

    beforeAll(async () => {
      requireMailHostPrograms();
      root = hostRoot('maildns-opendkim-');
      const layout = debianLayout(root);
      ports['rsa'] = await freePort();
      ports['ed25519'] = await freePort();
      result = composeOpenDkim(plan, { ...layout.opendkim, socket: `inet:${ports['rsa']}@127.0.0.1`, socketEd25519: `inet:${ports['ed25519']}@127.0.0.1` });
      mkdirSync(out(), { recursive: true, mode: 0o700 });
      for (const f of result.files) writeFileAtomic(path.join(out(), f.name), f.content, { mode: f.mode });
      await runSteps(result.steps, { cwd: out(), kinds: ['group', 'install', 'check'] });
      await run('install', ['-d', '-o', 'opendkim', '-g', 'opendkim', '-m', '0750', layout.opendkim.runDir!]); // Debian's tmpfiles.d does this at boot
      for (const inst of result.instances) {
        const unit = result.files.find((f) => f.name === `${inst.unit}.service`);
        daemons[inst.type] = await startForking(unit ? execStartOf(unit.content) : `/usr/sbin/opendkim -x ${inst.confPath}`, inst.pidFile, null);
      }
    });

    afterAll(async () => {
      for (const d of Object.values(daemons)) await d.stop();
      removeHostRoot(root);
    });

    it('writes one instance per algorithm because the plan mixes RSA and Ed25519', () => {
      expect(result.instances.map((i) => [i.type, i.conf, i.signatureAlgorithm])).toEqual([
        ['rsa', 'opendkim.conf', 'rsa-sha256'],
        ['ed25519', 'opendkim-ed25519.conf', 'ed25519-sha256'],
      ]);
    });

    for (const [type, senders] of [
      ['rsa', ['alice@example.com', 'bob@example.net']],
      ['ed25519', ['alice@example.com']],
    ] as const) {
      it(`signs with the ${type} instance; python3-dkim and maildns verify-message both verify it through the local DNS`, async () => {
        const inst = result.instances.find((i) => i.type === type)!;
        const port = ports[type]!;
        for (const from of senders) {
          const signed = await signWithMilter(dir, port, { from, to: 'carol@example.org', subject: `hello ${type}`, body: 'Hello.\r\nThis is a test.\r\n' });
          expect(signed.signature, signed.output).not.toBeNull();
          const sig = signed.signature!.replace(/\s+/g, ' ');
          expect(sig).toContain(`a=${inst.signatureAlgorithm}`);
          expect(sig).toContain(`d=${from.split('@')[1]}`);
          const verified = await dkimpyVerify(signed.message, knot.port);
          expect(verified.ok, verified.output).toBe(true);
          // A changed body must fail: the verifier really checks.
          const tampered = await dkimpyVerify(signed.message.replace('This is a test.', 'This is a forgery.'), knot.port);
          expect(tampered.ok).toBe(false);
          // maildns's own verifier agrees with dkimpy on the real opendkim's signature, and on the forgery.
          const resolver = new DnsResolver({ servers: [{ host: knot.host, port: knot.port }], recursionDesired: false });
          const ours = await verifyMessage(parseMessage(Buffer.from(signed.message)), resolver);
          expect(ours.dkim.map((d) => [d.result, d.domain, d.algorithm])).toEqual([['pass', from.split('@')[1], inst.signatureAlgorithm]]);
          const forged = await verifyMessage(parseMessage(Buffer.from(signed.message.replace('This is a test.', 'This is a forgery.'))), resolver);
          expect(forged.dkim.map((d) => d.result)).toEqual(['fail']);
        }
      });
    }
  });
});
