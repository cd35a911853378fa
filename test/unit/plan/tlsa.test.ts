/** A plan's DANE records: `tlsa:` on an in-zone MX host gives its `3 1 1` record, in every output and on the embedded server. */
import { createHash, generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { renderWith } from '../../../providers/index.js';
import { DnsResolver } from '../../../src/dns/resolver.js';
import { startServer } from '../../../src/dns/server.js';
import { parsePlan } from '../../../src/plan/load.js';
import { composePlan } from '../../../src/plan/records.js';
import { verifyPlan } from '../../../src/verify/run.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function planWith(mx: string): { dir: string; plan: ReturnType<typeof parsePlan> } {
  const dir = mkdtempSync(path.join(tmpdir(), 'maildns-tlsa-'));
  dirs.push(dir);
  const text = `domains:\n  - domain: example.com\n    mx: [${mx}]\n`;
  writeFileSync(path.join(dir, 'maildns.yaml'), text);
  return { dir, plan: parsePlan(text, path.join(dir, 'maildns.yaml')) };
}

describe('TLSA records from the plan', () => {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  const expected = `3 1 1 ${createHash('sha256').update(spki).digest('hex')}`;

  it('composes the DANE-EE 3 1 1 record of the key file, relative to the plan, from a public or a private key', () => {
    for (const pem of [publicKey.export({ type: 'spki', format: 'pem' }), privateKey.export({ type: 'pkcs8', format: 'pem' })]) {
      const { dir, plan } = planWith('{ host: mail.example.com, addresses: [192.0.2.25], tlsa: mail.pem }');
      writeFileSync(path.join(dir, 'mail.pem'), pem);
      const [d] = composePlan(plan);
      expect(d!.records.filter((r) => r.type === 'TLSA')).toEqual([{ name: '_25._tcp.mail.example.com', type: 'TLSA', ttl: 3600, value: expected, purpose: 'dane' }]);
      expect(d!.notes).toEqual([expect.stringContaining('counts only once the zone is signed')]);
    }
  });

  it('is rendered in the zone file, refused by the MyDNS form, and served by the embedded server', async () => {
    const { dir, plan } = planWith('{ host: mail.example.com, tlsa: key.pem }');
    writeFileSync(path.join(dir, 'key.pem'), publicKey.export({ type: 'spki', format: 'pem' }));
    const composed = composePlan(plan);
    expect(renderWith('zone', composed, {}).text).toMatch(new RegExp(`^_25\\._tcp\\.mail\\s+IN TLSA  ${expected}$`, 'm'));
    expect(renderWith('mydns', composed, {}).problems).toEqual([expect.stringContaining('cannot hold TLSA records')]);
    const server = await startServer({ records: composed[0]!.records, zones: ['example.com'], host: '127.0.0.1', port: 0 });
    try {
      const resolver = new DnsResolver({ servers: [{ host: server.host, port: server.port }], recursionDesired: false, timeoutMs: 2000 });
      const answer = await resolver.lookup('_25._tcp.mail.example.com', 'TLSA');
      expect(answer).toMatchObject({ status: 'ok', records: [{ usage: 3, selector: 1, matchingType: 1, data: expected.split(' ')[3] }] });
      // verify reads it back as planned.
      const report = await verifyPlan(plan, { resolver, authoritative: [`${server.host}:${server.port}`] });
      const tlsa = report.domains[0]!.records.find((r) => r.type === 'TLSA');
      expect(tlsa).toMatchObject({ name: '_25._tcp.mail.example.com', planned: { value: expected }, servers: [expect.objectContaining({ state: 'match' })] });
    } finally {
      await server.close();
    }
  });

  it('is refused for a mail host in another zone, and for a file without a key', () => {
    expect(() => planWith('{ host: mx.example.net, tlsa: key.pem }')).toThrow(/can only be given for a mail host inside example\.com/);
    const { dir, plan } = planWith('{ host: mail.example.com, tlsa: junk.pem }');
    writeFileSync(path.join(dir, 'junk.pem'), 'not a key');
    expect(() => composePlan(plan)).toThrow(/holds no PEM certificate or key/);
    expect(() => composePlan(planWith('{ host: mail.example.com, tlsa: missing.pem }').plan)).toThrow(/cannot be read \(ENOENT\)/);
  });
});
