/**
 * check --dnssec against real parts on loopback: Knot signing zones itself (a parent, sec.test,
 * whose DS Unbound trusts, and children under it), Unbound from Debian validating, and two small
 * SMTP servers with STARTTLS for the DANE match. The zones:
 *
 * - signed.sec.test: signed, its DS (keymgr's) in the parent: validates; TLSA for both MX hosts,
 *   one matching the first server's key, one naming another key (and a PKIX-EE record SMTP ignores);
 * - unsigned.sec.test: not signed, no DS; a TLSA record that therefore counts for nothing;
 * - island.sec.test: signed, but no DS in the parent;
 * - broken.sec.test: signed, with a DS in the parent that matches no key: Unbound refuses it (bogus);
 * - tampered.sec.test: signed, its DS in the parent, but served by a second Knot that does not sign,
 *   from a copy of the signed zone whose MX signature has one character changed (bogus, the DS matches).
 */
import { X509Certificate } from 'node:crypto';
import net from 'node:net';
import { rmSync } from 'node:fs';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DomainResult } from '../../../src/check/audit.js';
import { composeDs, dsMatchesKey, keyTag } from '../../../src/dnssec/keys.js';
import { composeTlsa311, tlsaText } from '../../../src/dnssec/tlsa.js';
import { auditDnssec, createDnssecResolvers } from '../../../src/dnssec/evaluate.js';
import { runCli } from '../../helpers/cli.js';
import { startSignedKnot, startUnbound, type SignedKnot, type ValidatingResolver } from '../../helpers/dnssec.js';
import { startKnot, type KnotServer } from '../../helpers/knot.js';
import { makeTestCa, type TestCa } from '../../helpers/https.js';
import { freePort } from '../../helpers/opendkim.js';

const ADDR = { mx: '127.0.0.7', mx2: '127.0.0.8' } as const;
const head = (apex: string, serial: number): string => `$ORIGIN ${apex}.\n$TTL 300\n@ SOA ns.sec.test. hostmaster.sec.test. ${serial} 3600 600 86400 300\n@ NS ns.sec.test.\n`;
const mailDomain = (apex: string, extra: string): string =>
  `${head(apex, 1)}@ MX 10 mx.${apex}.\n@ TXT "v=spf1 -all"\n_dmarc TXT "v=DMARC1; p=reject"\nmx A ${ADDR.mx}\n${extra}`;
const parent = (serial: number, ds: string[]): string =>
  `${head('sec.test', serial)}ns A 127.0.0.1\n` + ['signed', 'unsigned', 'island', 'broken', 'tampered'].map((c) => `${c} NS ns.sec.test.\n`).join('') + ds.map((l) => `${l}\n`).join('');

/** A STARTTLS server as much as the probe needs: greeting, EHLO offering STARTTLS, the handshake, QUIT. */
async function smtpServer(address: string, port: number, pair: { key: string; cert: string }): Promise<net.Server> {
  const server = net.createServer((socket) => {
    socket.on('error', () => socket.destroy());
    socket.write(`220 ${address} ESMTP\r\n`);
    const onLine = (d: Buffer): void => {
      const line = d.toString('latin1');
      if (/^EHLO/i.test(line)) socket.write('250-mx\r\n250 STARTTLS\r\n');
      else if (/^STARTTLS/i.test(line)) {
        socket.removeListener('data', onLine);
        socket.write('220 2.0.0 go ahead\r\n', () => {
          const secure = new tls.TLSSocket(socket, { isServer: true, key: pair.key, cert: pair.cert });
          secure.on('error', () => socket.destroy());
          secure.on('data', () => secure.end('221 2.0.0 bye\r\n'));
        });
      } else socket.end('221 2.0.0 bye\r\n');
    };
    socket.on('data', onLine);
  });
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, address, resolve));
  return server;
}

describe('check --dnssec: Knot signing, Unbound validating', () => {
  let knot: SignedKnot;
  let copy: KnotServer;
  let unbound: ValidatingResolver;
  let ca: TestCa;
  let smtpPort: number;
  let published: { mx: string; other: string };
  const servers: net.Server[] = [];

  beforeAll(async () => {
    ca = makeTestCa();
    const good = ca.issue(['mx.signed.sec.test']);
    const stranger = ca.issue(['mx2.signed.sec.test']);
    const spki = (pem: string): Buffer => new X509Certificate(pem).publicKey.export({ type: 'spki', format: 'der' });
    published = { mx: tlsaText(composeTlsa311(spki(good.cert))), other: tlsaText(composeTlsa311(spki(ca.issue(['elsewhere.test']).cert))) };
    knot = await startSignedKnot({
      'sec.test': { text: parent(1, []), signed: true },
      'signed.sec.test': {
        text: mailDomain('signed.sec.test', `@ MX 20 mx2.signed.sec.test.\nmx2 A ${ADDR.mx2}\n_25._tcp.mx TLSA ${published.mx}\n_25._tcp.mx2 TLSA ${published.other}\n_25._tcp.mx2 TLSA 1 1 1 ${'ab'.repeat(32)}\n`),
        signed: true,
      },
      'unsigned.sec.test': { text: mailDomain('unsigned.sec.test', `_25._tcp.mx TLSA ${published.mx}\n`), signed: false },
      'island.sec.test': { text: mailDomain('island.sec.test', ''), signed: true },
      'broken.sec.test': { text: mailDomain('broken.sec.test', ''), signed: true },
      'tampered.sec.test': { text: mailDomain('tampered.sec.test', ''), signed: true },
    });
    // The chain: the children's DS into the parent, broken.sec.test's with one digit of its digest changed.
    const childDs = (apex: string): string => knot.ds(apex)[0]!.replace(/^\S+\s+/, `${apex.split('.')[0]} `);
    const tampered = childDs('broken.sec.test').replace(/([0-9a-f])(\s*)$/i, (_, d: string, end: string) => `${d === '0' ? '1' : '0'}${end}`);
    await knot.updateZone('sec.test', parent(10, [childDs('signed.sec.test'), tampered, childDs('tampered.sec.test')]), 10);
    // The signed copy, the first character of the MX record's signature changed (the top bits of its first octet).
    const signedCopy = knot.signedText('tampered.sec.test').replace(/^(\S+\s+\d+\s+RRSIG\s+MX\s.*\s)([A-Za-z0-9+/])(\S*)$/m, (_, head: string, c: string, rest: string) => `${head}${c === 'A' ? 'Q' : 'A'}${rest}`);
    expect(signedCopy).not.toBe(knot.signedText('tampered.sec.test'));
    copy = await startKnot({ 'tampered.sec.test': signedCopy });
    unbound = await startUnbound(knot.ds('sec.test')[0]!.replace(/\s+/g, ' ').trim(), { 'sec.test': knot.stubAddress, 'tampered.sec.test': `${copy.host}@${copy.port}` });
    smtpPort = await freePort();
    servers.push(await smtpServer(ADDR.mx, smtpPort, good), await smtpServer(ADDR.mx2, smtpPort, stranger));
  }, 120_000);

  afterAll(async () => {
    for (const s of servers) s.close();
    await unbound?.stop();
    await copy?.stop();
    await knot?.stop();
    if (ca) rmSync(ca.dir, { recursive: true, force: true });
  });

  const check = async (domain: string, extra: string[] = []): Promise<DomainResult> => {
    const r = await runCli(['check', domain, '--dnssec', '--nameserver', unbound.address, '--json', ...extra], { env: { MAILDNS_SMTP_PORT: String(smtpPort) }, killAfterMs: 60_000 });
    expect(r.stderr).toBe('');
    return (JSON.parse(r.stdout) as { domains: DomainResult[] }).domains[0]!;
  };
  const codes = (d: DomainResult): string[] => d.findings.map((f) => f.code);

  it('computes the key tag and the SHA-256 DS that keymgr gives for the key Knot serves', () => {
    const fields = knot.dnskeys('signed.sec.test')[0]!.split(/\s+/);
    const at = fields.indexOf('DNSKEY');
    const dnskey = { flags: Number(fields[at + 1]), protocol: Number(fields[at + 2]), algorithm: Number(fields[at + 3]), publicKey: fields.slice(at + 4).join('') };
    const [owner, , tag, algorithm, digestType, digest] = knot.ds('signed.sec.test')[0]!.split(/\s+/);
    expect([owner, Number(tag), Number(algorithm), Number(digestType)]).toEqual(['signed.sec.test.', keyTag(dnskey), 13, 2]);
    expect(composeDs('signed.sec.test', dnskey)).toBe(`signed.sec.test. DS ${tag} 13 2 ${digest!.toUpperCase()}`);
    expect(dsMatchesKey('signed.sec.test', { keyTag: Number(tag), algorithm: 13, digestType: 2, digest: digest! }, dnskey)).toBe(true);
  });

  it('a signed zone with a DS at the parent: signed, the DS matches, Unbound sets AD, the TLSA records are validated', async () => {
    const d = await check('signed.sec.test');
    expect(d.dnssec).toMatchObject({ zone: 'signed.sec.test', signed: true, validation: 'secure', resolver: unbound.address, dnsFailed: false });
    expect(d.dnssec!.ds).toEqual([expect.objectContaining({ algorithm: 13, digestType: 2, matches: true })]);
    expect(d.dnssec!.tlsa).toEqual([
      { host: 'mx.signed.sec.test', name: '_25._tcp.mx.signed.sec.test', state: 'secure', records: [published.mx] },
      { host: 'mx2.signed.sec.test', name: '_25._tcp.mx2.signed.sec.test', state: 'secure', records: expect.arrayContaining([published.other, `1 1 1 ${'ab'.repeat(32)}`]) },
    ]);
    expect(codes(d)).toEqual(expect.arrayContaining(['dnssec.secure', 'dane.published', 'dane.tlsa-usage']));
    expect(codes(d).filter((c) => c.startsWith('dnssec.') && c !== 'dnssec.secure')).toEqual([]);
  });

  it('with --tls: the first MX host\'s certificate matches its TLSA record, the second\'s does not', async () => {
    const d = await check('signed.sec.test', ['--tls', '--ca-file', ca.caFile]);
    const byHost = new Map(d.tls!.results.map((p) => [p.host, p]));
    expect(byHost.get('mx.signed.sec.test')!.dane).toEqual({ tlsa: [published.mx], matched: published.mx });
    expect(byHost.get('mx2.signed.sec.test')!.dane).toEqual({ tlsa: [published.other], matched: null });
    expect(d.findings.filter((f) => f.code === 'dane.match').map((f) => f.subject)).toEqual([`mx.signed.sec.test (${ADDR.mx}:${smtpPort})`]);
    expect(d.findings.filter((f) => f.code === 'dane.no-match').map((f) => f.subject)).toEqual([`mx2.signed.sec.test (${ADDR.mx2}:${smtpPort})`]);
    expect(d.status).toBe('fail');
  });

  it('an unsigned zone: not signed (a warning), answers without AD, and its TLSA record counts for nothing', async () => {
    const d = await check('unsigned.sec.test');
    expect(d.dnssec).toMatchObject({ zone: 'unsigned.sec.test', signed: false, validation: 'insecure', dnskeys: [], ds: [] });
    expect(d.findings.find((f) => f.code === 'dnssec.unsigned')).toMatchObject({ severity: 'warning', rfc: 'RFC 4033 §2' });
    expect(d.findings.find((f) => f.code === 'dane.tlsa-insecure')).toMatchObject({ severity: 'warning', subject: '_25._tcp.mx.unsigned.sec.test' });
    expect(d.dnssec!.tlsa).toEqual([expect.objectContaining({ state: 'insecure' })]);
  });

  it('a signed zone without a DS at the parent: the DS to publish is the one keymgr gives', async () => {
    const d = await check('island.sec.test');
    expect(d.dnssec).toMatchObject({ signed: true, validation: 'insecure', ds: [] });
    const noDs = d.findings.find((f) => f.code === 'dnssec.no-ds');
    expect(noDs?.fix).toContain(knot.ds('island.sec.test')[0]!.split(/\s+/).at(-1)!.toUpperCase());
  });

  it('a DS that matches no key: Unbound answers SERVFAIL, which is bogus; the keys still show (asked with CD)', async () => {
    const d = await check('broken.sec.test');
    expect(d.dnssec).toMatchObject({ zone: 'broken.sec.test', signed: true, validation: 'bogus', ds: [expect.objectContaining({ matches: false })] });
    expect(d.findings.find((f) => f.code === 'dnssec.ds-mismatch')).toMatchObject({ severity: 'error', rfc: 'RFC 4035 §5.2' });
    expect(d.findings.find((f) => f.code === 'dnssec.bogus')).toMatchObject({ severity: 'error', rfc: 'RFC 4035 §5.5' });
    expect(d.status).toBe('fail');
  });

  it('a signature changed on the way (the DS matches the key): Unbound refuses the MX records, which is bogus', async () => {
    const d = await check('tampered.sec.test');
    expect(d.dnssec).toMatchObject({ zone: 'tampered.sec.test', signed: true, validation: 'bogus', ds: [expect.objectContaining({ matches: true })] });
    // Only the MX records: the zone's SOA, signed as it was, still validates.
    expect(d.findings.find((f) => f.code === 'dnssec.bogus')?.message).toMatch(/SERVFAIL for tampered\.sec\.test MX\)/);
    expect(codes(d)).not.toContain('dnssec.ds-mismatch');
  });

  it('an authoritative server named as the validating resolver is reported as one that does not validate', async () => {
    const d = await check('signed.sec.test', ['--validating-resolver', `${knot.host}:${knot.port}`]);
    expect(d.dnssec).toMatchObject({ signed: true, validation: 'indeterminate' });
    expect(codes(d)).toContain('dnssec.resolver-not-validating');
  });

  it('without --dnssec nothing of it is asked or reported', async () => {
    const r = await runCli(['check', 'signed.sec.test', '--nameserver', unbound.address, '--json'], { killAfterMs: 60_000 });
    const d = (JSON.parse(r.stdout) as { domains: DomainResult[] }).domains[0]!;
    expect(d.dnssec).toBeUndefined();
    expect(codes(d).filter((c) => c.startsWith('dnssec.') || c.startsWith('dane.'))).toEqual([]);
  });

  it('the library: the same verdicts through createDnssecResolvers', async () => {
    const resolvers = createDnssecResolvers({ nameserver: unbound.address });
    expect((await auditDnssec(resolvers, 'signed.sec.test')).validation).toBe('secure');
    expect((await auditDnssec(resolvers, 'broken.sec.test')).validation).toBe('bogus');
  });
});
