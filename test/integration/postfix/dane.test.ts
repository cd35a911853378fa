/**
 * check --dnssec --tls against Debian's Postfix: one private instance offering STARTTLS with a test
 * CA's certificate (leaf and CA in its chain file) for three MX names, each in a zone Knot signs
 * under a parent Unbound trusts. Each zone publishes another TLSA record for the same server: the
 * leaf's key (3 1 1), the CA in the chain (2 0 1), a key the server does not have (3 1 1).
 */
import { createHash, X509Certificate } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DomainResult } from '../../../src/check/audit.js';
import { composeTlsa311, tlsaText } from '../../../src/dnssec/tlsa.js';
import { runCli } from '../../helpers/cli.js';
import { startSignedKnot, startUnbound, type SignedKnot, type ValidatingResolver } from '../../helpers/dnssec.js';
import { makeTestCa, type TestCa } from '../../helpers/https.js';
import { createPostfix, debianLayout, hostRoot, isRoot, removeHostRoot, requireMailHostPrograms, type PostfixInstance } from '../../helpers/mailhost.js';
import { freePort } from '../../helpers/opendkim.js';

const head = (apex: string, serial: number): string => `$ORIGIN ${apex}.\n$TTL 300\n@ SOA ns.sec.test. hostmaster.sec.test. ${serial} 3600 600 86400 300\n@ NS ns.sec.test.\n`;
const CHILDREN = ['ee', 'ta', 'rekeyed'] as const;
const domainOf = (child: string): string => `${child}.sec.test`;
const mxOf = (child: string): string => `mx.${child}.sec.test`;

describe.skipIf(!isRoot)('check --dnssec --tls: DANE against Debian Postfix (needs root)', () => {
  let root: string;
  let postfix: PostfixInstance | undefined;
  let knot: SignedKnot | undefined;
  let unbound: ValidatingResolver | undefined;
  let ca: TestCa;
  let port: number;
  const tlsa: Record<(typeof CHILDREN)[number], string> = { ee: '', ta: '', rekeyed: '' };

  beforeAll(async () => {
    requireMailHostPrograms();
    ca = makeTestCa();
    port = await freePort();
    root = hostRoot('maildns-dane-');
    const pair = ca.issue(CHILDREN.map(mxOf));
    const files = { key: path.join(root, 'mx.key'), chain: path.join(root, 'mx.pem') };
    writeFileSync(files.key, pair.key, { mode: 0o600 });
    // The CA goes out in the chain too: DANE-TA needs its anchor among what the server sends (RFC 7672 §3.1.2).
    writeFileSync(files.chain, `${pair.cert.trim()}\n${ca.caPem}`);
    const spki = (pem: string): Buffer => new X509Certificate(pem).publicKey.export({ type: 'spki', format: 'der' });
    tlsa.ee = tlsaText(composeTlsa311(spki(pair.cert)));
    tlsa.ta = `2 0 1 ${createHash('sha256').update(new X509Certificate(ca.caPem).raw).digest('hex')}`;
    tlsa.rekeyed = tlsaText(composeTlsa311(spki(ca.issue(['elsewhere.test']).cert)));
    postfix = await createPostfix(debianLayout(root), port);
    await postfix.postconf('-e', 'smtpd_tls_security_level = may', `smtpd_tls_cert_file = ${files.chain}`, `smtpd_tls_key_file = ${files.key}`);
    await postfix.start();
    const zone = (child: (typeof CHILDREN)[number]): string => `${head(domainOf(child), 1)}@ MX 10 ${mxOf(child)}.\nmx A 127.0.0.1\n_25._tcp.mx TLSA ${tlsa[child]}\n`;
    const parent = (serial: number, ds: string[]): string => `${head('sec.test', serial)}ns A 127.0.0.1\n${CHILDREN.map((c) => `${c} NS ns.sec.test.\n`).join('')}${ds.map((l) => `${l}\n`).join('')}`;
    knot = await startSignedKnot({ 'sec.test': { text: parent(1, []), signed: true }, ...Object.fromEntries(CHILDREN.map((c) => [domainOf(c), { text: zone(c), signed: true }])) });
    const signedKnot = knot;
    await knot.updateZone('sec.test', parent(10, CHILDREN.map((c) => signedKnot.ds(domainOf(c))[0]!.replace(/^\S+/, c))), 10);
    unbound = await startUnbound(knot.ds('sec.test')[0]!, { 'sec.test': knot.stubAddress });
  }, 120_000);

  afterAll(async () => {
    await postfix?.stop();
    await unbound?.stop();
    await knot?.stop();
    removeHostRoot(root);
    if (ca) rmSync(ca.dir, { recursive: true, force: true });
  });

  const check = async (domain: string): Promise<DomainResult> => {
    const r = await runCli(['check', domain, '--dnssec', '--tls', '--ca-file', ca.caFile, '--nameserver', unbound!.address, '--json'], { env: { MAILDNS_SMTP_PORT: String(port) }, killAfterMs: 60_000 });
    expect(r.stderr).toBe('');
    return (JSON.parse(r.stdout) as { domains: DomainResult[] }).domains[0]!;
  };
  const daneCodes = (d: DomainResult): string[] => d.findings.filter((f) => f.code.startsWith('dane.')).map((f) => f.code).sort();

  it('DANE-EE 3 1 1 of the key Postfix uses: matched', async () => {
    const d = await check(domainOf('ee'));
    expect(d.dnssec).toMatchObject({ validation: 'secure', tlsa: [expect.objectContaining({ state: 'secure', records: [tlsa.ee] })] });
    expect(d.tls!.results[0]).toMatchObject({ host: mxOf('ee'), state: 'tls', dane: { tlsa: [tlsa.ee], matched: tlsa.ee } });
    expect(daneCodes(d)).toEqual(['dane.match', 'dane.published']);
  });

  it('DANE-TA 2 0 1 of the CA Postfix sends in its chain: matched, the leaf naming the MX host', async () => {
    const d = await check(domainOf('ta'));
    expect(d.tls!.results[0]!.dane).toEqual({ tlsa: [tlsa.ta], matched: tlsa.ta });
    expect(daneCodes(d)).toEqual(['dane.match', 'dane.published']);
  });

  it('a TLSA record of a key Postfix does not have: no match, an error', async () => {
    const d = await check(domainOf('rekeyed'));
    expect(d.tls!.results[0]!.dane).toEqual({ tlsa: [tlsa.rekeyed], matched: null });
    expect(daneCodes(d)).toEqual(['dane.no-match', 'dane.published']);
    expect(d.status).toBe('fail');
  });
});
