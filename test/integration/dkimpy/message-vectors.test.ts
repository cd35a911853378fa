/**
 * The vendored DKIM vectors (RFC 8463, RFC 6376, go-msgauth, dkimpy) checked through
 * verifyDkim, with every key record served by the embedded DNS server on 127.0.0.1.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { dkimVerify } from 'mailauth';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { DnsResolver } from '../../../src/dns/resolver.js';
import { startServer, type RunningServer } from '../../../src/dns/server.js';
import type { DnsRecord } from '../../../src/records.js';
import { verifyDkim } from '../../../src/message/dkim.js';
import { readMessageFile } from '../../../src/message/message.js';
import { mailauthResolver } from '../../helpers/mailauth-resolver.js';

const DIR = path.join(import.meta.dirname, '..', '..', 'fixtures', 'dkim');

function rows(file: string): string[][] {
  return readFileSync(path.join(DIR, file), 'utf8')
    .split('\n')
    .filter((l) => l.trim() && !l.startsWith('#'))
    .map((l) => l.split('\t'));
}

const records: DnsRecord[] = rows('dns-records.tsv').map(([name, value]) => ({ name: name!, type: 'TXT', ttl: 300, value: value! }));
const expected = rows('expected.tsv');

let server: RunningServer;
let resolver: DnsResolver;

beforeAll(async () => {
  server = await startServer({ records, zones: [''] });
  resolver = new DnsResolver({ servers: [{ host: server.host, port: server.port }], recursionDesired: false, timeoutMs: 2000 });
});
afterAll(async () => {
  await server.close();
});

describe('vendored DKIM vectors', () => {
  test('every key record is served as one TXT record', async () => {
    for (const r of records) {
      const answer = await resolver.lookup(r.name, 'TXT');
      expect(answer.status).toBe('ok');
      expect(answer.records.map((s) => s.join(''))).toEqual([r.value]);
    }
  });

  test.each(expected)('%s signature #%s (d=%s s=%s %s) is %s', async (file, index, d, s, a, want) => {
    const reports = await verifyDkim(await readMessageFile(path.join(DIR, file!)), resolver);
    const r = reports[Number(index)]!;
    expect(r).toBeDefined();
    expect([r.domain, r.selector, r.algorithm]).toEqual([d, s, a]);
    if (want === 'implementation-defined') {
      // Bare PKCS#1 in p=: maildns accepts it (like go-msgauth and dkimpy) and says OpenDKIM will not.
      expect(r.result).toBe('pass');
      expect(r.findings.map((f) => f.code)).toContain('dkim.key-pkcs1');
    } else {
      expect({ result: r.result, reason: r.reason }).toEqual({ result: want, reason: undefined });
    }
    expect(r.key?.bits).toBe(a === 'ed25519-sha256' ? 256 : 1024);
    expect(r.bodyHash?.computed).toBe(r.bodyHash?.expected.replace(/\s+/g, ''));
  });

  test('mailauth alone agrees on the plain passes (our checks add, never lose, a pass)', async () => {
    const file = path.join(DIR, 'rfc8463/signed.eml');
    const reports = await verifyDkim(await readMessageFile(file), resolver);
    const theirs = await dkimVerify(readFileSync(file), { resolver: mailauthResolver(resolver) as never });
    const results = theirs.results as unknown as { status: { result: string } }[];
    expect(results.map((r) => r.status.result)).toEqual(['pass', 'pass']);
    expect(reports.map((r) => r.result)).toEqual(['pass', 'pass']);
  });
});
