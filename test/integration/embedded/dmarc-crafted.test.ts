/**
 * Policy discovery on records that are not quite right, against the embedded DNS server on
 * 127.0.0.1, in the library and through the built CLI (`dmarc`, `verify-message`).
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { composeDkimRecord, publicKeyOf } from '../../../src/dkim/record.js';
import { discoverPolicy } from '../../../src/dmarc/discover.js';
import { DnsResolver } from '../../../src/dns/resolver.js';
import { startServer, type RunningServer } from '../../../src/dns/server.js';
import { parseMessage } from '../../../src/message/message.js';
import { signMessage } from '../../../src/message/sign.js';
import { verifyMessage } from '../../../src/message/verify.js';
import type { DnsRecord } from '../../../src/records.js';
import { runCli } from '../../helpers/cli.js';

const txt = (name: string, value: string): DnsRecord => ({ name, type: 'TXT', ttl: 300, value });
const a = (name: string): DnsRecord => ({ name, type: 'A', ttl: 300, value: '192.0.2.1' });
const key = generateKeyPairSync('ed25519').privateKey;

const records: DnsRecord[] = [
  txt('_dmarc.lower.test', 'v=dmarc1; p=reject'),
  txt('mail._domainkey.lower.test', composeDkimRecord(publicKeyOf(key))),
  // RFC 7489 §6.6.3 step 6 / RFC 9989 §4.10.1: an invalid sp spoils the record's policy.
  txt('_dmarc.badsp.test', 'v=DMARC1; p=reject; sp=quarantin; rua=mailto:d@badsp.test'),
  a('sub.badsp.test'),
  txt('_dmarc.badsp-norua.test', 'v=DMARC1; p=reject; sp=quarantin'),
  a('sub.badsp-norua.test'),
  txt('_dmarc.badnp.test', 'v=DMARC1; p=reject; np=rejekt; rua=mailto:d@badnp.test'),
  // No p at all, no rua.
  txt('_dmarc.nop.test', 'v=DMARC1; adkim=s'),
];

let server: RunningServer;
let resolver: DnsResolver;
let ns: string;
let dir: string;

beforeAll(async () => {
  server = await startServer({ records, zones: ['test'] });
  resolver = new DnsResolver({ servers: [{ host: server.host, port: server.port }], recursionDesired: false, timeoutMs: 2000 });
  ns = `${server.host}:${server.port}`;
  dir = mkdtempSync(path.join(tmpdir(), 'maildns-dmarc-crafted-'));
});
afterAll(async () => {
  await server.close();
});

describe('the version must be exactly DMARC1', () => {
  it('v=dmarc1 is not a DMARC record: discovery ends with none in both modes', async () => {
    for (const mode of ['7489', '9989'] as const) {
      const d = await discoverPolicy(resolver, 'lower.test', mode);
      expect(d).toMatchObject({ status: 'none', record: null, policy: null });
    }
  });

  it('`maildns dmarc` says why the record is ignored (exit 1), no crash', async () => {
    const r = await runCli(['dmarc', 'lower.test', '--nameserver', ns, '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(1);
    const out = JSON.parse(r.stdout) as { findings: { code: string }[]; policy: { status: string } };
    expect(out.findings.map((f) => f.code)).toContain('dmarc.bad-version');
    expect(out.policy.status).toBe('none');
  });

  it('`maildns verify-message` gives dmarc=none with a DKIM pass and prints the header', async () => {
    const signed = await signMessage(Buffer.from('From: a@lower.test\r\nTo: b@example.net\r\nSubject: x\r\n\r\nhi\r\n'), { domain: 'lower.test', selector: 'mail', key });
    const file = path.join(dir, 'lower.eml');
    writeFileSync(file, signed.message);
    const r = await runCli(['verify-message', file, '--nameserver', ns]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/Authentication-Results: maildns;\n dkim=pass .*\n dmarc=none header\.from=lower\.test/);
  });
});

describe('an invalid sp or np spoils the whole policy', () => {
  it('RFC 7489 §6.6.3 step 6: invalid sp with a usable rua counts as p=none, for the domain and its subdomains', async () => {
    for (const from of ['badsp.test', 'sub.badsp.test']) {
      const d = await discoverPolicy(resolver, from, '7489');
      expect(d).toMatchObject({ status: 'found', policy: 'none', appliedPolicy: 'none' });
      expect(d.reason).toMatch(/an invalid sp but a usable rua, so it counts as p=none \(RFC 7489 §6\.6\.3\)/);
    }
  });

  it('RFC 7489 §6.6.3 step 6: invalid sp without a usable rua: no DMARC policy applies', async () => {
    const d = await discoverPolicy(resolver, 'sub.badsp-norua.test', '7489');
    expect(d).toMatchObject({ status: 'none', policy: null, recordName: '_dmarc.badsp-norua.test' });
    expect(d.reason).toMatch(/an invalid sp and no usable rua/);
  });

  it('RFC 9989 §4.10.1: the same for sp, and for np', async () => {
    expect(await discoverPolicy(resolver, 'sub.badsp.test', '9989')).toMatchObject({ status: 'found', policy: 'none' });
    expect(await discoverPolicy(resolver, 'sub.badsp-norua.test', '9989')).toMatchObject({ status: 'none' });
    const np = await discoverPolicy(resolver, 'gone.badnp.test', '9989');
    expect(np).toMatchObject({ status: 'found', rule: 'np', policy: 'none' });
  });

  it('RFC 9989 §4.7: no p and no rua is p=none (RFC 7489: no policy)', async () => {
    expect(await discoverPolicy(resolver, 'nop.test', '9989')).toMatchObject({ status: 'found', policy: 'none' });
    expect(await discoverPolicy(resolver, 'nop.test', '7489')).toMatchObject({ status: 'none', policy: null });
  });

  it('verify-message reports the fallback as p=none', async () => {
    const msg = parseMessage(Buffer.from('From: a@sub.badsp.test\r\nTo: b@example.net\r\nSubject: x\r\n\r\nhi\r\n'));
    const report = await verifyMessage(msg, resolver, { dmarcMode: '7489' });
    expect(report.dmarc).toMatchObject({ result: 'fail', policy: 'none', disposition: 'none' });
  });
});
