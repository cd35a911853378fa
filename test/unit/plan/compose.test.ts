import { describe, expect, it } from 'vitest';
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { InputError } from '../../../src/errors.js';
import { parsePlan } from '../../../src/plan/load.js';
import { composePlan } from '../../../src/plan/records.js';
import { renderWith } from '../../../providers/index.js';

function planIn(dir: string, text: string) {
  writeFileSync(path.join(dir, 'maildns.yaml'), text);
  return parsePlan(text, path.join(dir, 'maildns.yaml'));
}

const planText = `domains:
  - domain: example.com
    ttl: 600
    mx: [{ host: mx1.example.net, priority: 5 }, mx2.example.net]
    spf: { ip4: [203.0.113.25], ip6: ["2001:db8::/48"], mx: true, include: [_spf.relay.example.net], all: "~all" }
    dkim:
      - { selector: mail, testing: true, hash: [sha256], service: email }
      - { selector: ed, algorithm: ed25519 }
    dmarc: { p: quarantine, sp: reject, adkim: s, rua: [mailto:agg@example.com, mailto:dmarc@reports.example.net], fo: "1" }
    accept_reports_for: [example.org]
    txt: [{ name: "@", value: "verification=abc" }, { name: "_smtp._tls", value: "v=TLSRPTv1; rua=mailto:tls@example.com", ttl: 60 }]
`;

describe('composing records from the plan', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'maildns-compose-'));
  const plan = planIn(dir, planText);

  it('notes selectors that have no key yet instead of inventing one', () => {
    const [d] = composePlan(plan);
    expect(d!.records.some((r) => r.name.endsWith('_domainkey.example.com'))).toBe(false);
    expect(d!.notes).toEqual([expect.stringContaining('DKIM selector "mail" has no key yet'), expect.stringContaining('DKIM selector "ed" has no key yet')]);
  });

  it.each([
    ['-all alone', '{ all: "-all" }', true],
    ['~all alone', '{ all: "~all" }', true],
    ['a hand-written v=spf1 -all', '{ record: "v=spf1 -all" }', true],
    ['an address', '{ ip4: [192.0.2.25], all: "-all" }', false],
    ['a redirect', '{ redirect: _spf.example.net, all: "-all" }', false],
  ])('notes an SPF record that lets no host send when DKIM keys are planned: %s', (_what, spf, noted) => {
    const withSpf = (dkim: string) => parsePlan(`domains:\n  - domain: example.com\n    spf: ${spf}\n${dkim}`, path.join(dir, 'maildns.yaml'));
    const senderNote = (text: string) => composePlan(withSpf(text))[0]!.notes.filter((n) => n.startsWith('SPF: '));
    expect(senderNote('    dkim: [{ selector: mail }]\n')).toEqual(noted ? [expect.stringContaining('lets no host send as example.com, yet DKIM keys are planned')] : []);
    // Without DKIM it may be a domain that sends no mail, which is what -all says.
    expect(senderNote('    dkim: []\n')).toEqual([]);
  });

  it('composes SPF, DKIM, DMARC, MX, report authorisation and extra TXT', () => {
    const keys = path.join(dir, 'keys', 'example.com');
    mkdirSync(keys, { recursive: true });
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const ed = generateKeyPairSync('ed25519');
    writeFileSync(path.join(keys, 'mail.private'), rsa.privateKey.export({ type: 'pkcs8', format: 'pem' }));
    writeFileSync(path.join(keys, 'ed.private'), ed.privateKey.export({ type: 'pkcs8', format: 'pem' }));
    const [d] = composePlan(plan);
    const byPurpose = Object.fromEntries(d!.records.filter((r) => r.type === 'TXT').map((r) => [r.purpose === 'txt' ? r.name : r.purpose, r]));
    expect(byPurpose['spf']).toMatchObject({ name: 'example.com', ttl: 600, value: 'v=spf1 ip4:203.0.113.25 ip6:2001:db8::/48 mx include:_spf.relay.example.net ~all' });
    expect(byPurpose['dmarc']).toMatchObject({
      name: '_dmarc.example.com',
      value: 'v=DMARC1; p=quarantine; sp=reject; adkim=s; rua=mailto:agg@example.com,mailto:dmarc@reports.example.net; fo=1',
    });
    const rsaP = rsa.publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
    expect(byPurpose['dkim:mail']).toMatchObject({ name: 'mail._domainkey.example.com', value: `v=DKIM1; h=sha256; k=rsa; s=email; t=y; p=${rsaP}` });
    const edValue = byPurpose['dkim:ed']!.value;
    expect(edValue).toMatch(/^v=DKIM1; k=ed25519; p=[A-Za-z0-9+/]{43}=$/);
    expect(Buffer.from(edValue.split('p=')[1]!, 'base64')).toEqual(ed.publicKey.export({ type: 'spki', format: 'der' }).subarray(12));
    expect(byPurpose['dmarc-report-authorization']).toMatchObject({ name: 'example.org._report._dmarc.example.com', value: 'v=DMARC1' });
    expect(byPurpose['example.com']).toMatchObject({ value: 'verification=abc' });
    expect(byPurpose['_smtp._tls.example.com']).toMatchObject({ ttl: 60 });
    expect(d!.records.filter((r) => r.type === 'MX').map((r) => r.value)).toEqual(['5 mx1.example.net', '20 mx2.example.net']);
    expect(d!.notes).toEqual([]);
  });

  it('refuses a full zone without name servers, saying what to add', () => {
    expect(() => composePlan(plan, { fullZone: true })).toThrow(/needs its name servers: add "nameservers: \[ns1\.example\.net\]"/);
  });

  it('a key file that is no private key, or a directory, is bad input naming it, not an internal error', () => {
    const work = mkdtempSync(path.join(tmpdir(), 'maildns-compose-'));
    const p = planIn(work, 'domains:\n  - domain: example.com\n    dkim: [{ selector: mail, algorithm: ed25519 }]\n');
    const keyFile = path.join(work, 'keys', 'example.com', 'mail.private');
    mkdirSync(path.dirname(keyFile), { recursive: true });
    // A key cut short (a copy that stopped half-way) or overwritten with the record file.
    writeFileSync(keyFile, '-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEI\n');
    expect(() => composePlan(p)).toThrow(InputError);
    expect(() => composePlan(p)).toThrow(new RegExp(`^${keyFile}: not a readable DKIM private key: .+; `));
    rmSync(keyFile);
    mkdirSync(keyFile);
    expect(() => composePlan(p)).toThrow(new RegExp(`^${keyFile}: not a readable DKIM private key: EISDIR`));
  });

  it('SPF with redirect leaves out all (RFC 7208 §6.1)', () => {
    const p = planIn(mkdtempSync(path.join(tmpdir(), 'maildns-compose-')), 'domains:\n  - domain: example.org\n    spf: { redirect: _spf.example.com }\n');
    expect(composePlan(p)[0]!.records[0]!.value).toBe('v=spf1 redirect=_spf.example.com');
  });
});

describe('mydns provider', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'maildns-mydns-'));
  const plan = planIn(dir, planText);
  const keys = path.join(dir, 'keys', 'example.com');
  mkdirSync(keys, { recursive: true });
  writeFileSync(path.join(keys, 'mail.private'), generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }));

  it('prints an aligned Hostname | Type | Priority | Content table with relative names and unquoted values', () => {
    const out = renderWith('mydns', composePlan(plan), {});
    const lines = out.text.split('\n');
    expect(lines[0]).toBe('# example.com');
    expect(lines[1]).toMatch(/^Hostname\s+\| Type \| Priority \| Content$/);
    expect(out.text).toMatch(/\n\s+\| MX\s+\| 5\s+\| mx1\.example\.net\n/);
    expect(out.text).toMatch(/\nmail\._domainkey\s+\| TXT\s+\|\s+\| v=DKIM1; h=sha256; k=rsa; s=email; t=y; p=MIIB[^\s"]+\n/);
    expect(out.text).toMatch(/\n_dmarc\s+\| TXT /);
    expect(out.text).not.toMatch(/"v=/);
    expect(out.text).toContain('An empty Hostname means the domain itself');
    expect(out.text).toMatch(/mail\._domainkey TXT is \d+ characters\. Paste it whole/);
    expect(out.warnings).toEqual([expect.stringMatching(/^mail\._domainkey\.example\.com TXT is \d+ characters/)]);
  });

  it('prints tab-separated rows with --tsv, in the same column order as the table', () => {
    const rows = renderWith('mydns', composePlan(plan), { tsv: true }).text.replace(/\n$/, '').split('\n').map((l) => l.split('\t'));
    expect(rows).toContainEqual(['', 'MX', '5', 'mx1.example.net']);
    expect(rows).toContainEqual(['_smtp._tls', 'TXT', '', 'v=TLSRPTv1; rua=mailto:tls@example.com']);
    expect(rows.find((r) => r[0] === 'mail._domainkey')![3]).toMatch(/^v=DKIM1; .*p=MIIB/);
  });

  it('reports records the form cannot hold as problems, apart from the warnings', () => {
    const out = renderWith('mydns', [{ domain: 'example.com', notes: [], problems: [], records: [{ name: 'x.example.com', type: 'PTR', ttl: 60, value: 'y.example.com' }] }], {});
    expect(out.problems).toEqual(['x.example.com PTR: this target cannot hold PTR records']);
    expect(out.warnings).toEqual([]);
  });

  it('refuses an option the format does not take', () => {
    expect(() => renderWith('zone', composePlan(plan), { tsv: true })).toThrow(/the zone format has no tsv form; it goes with mydns/);
    expect(() => renderWith('mydns', composePlan(plan), { fullZone: true })).toThrow(/has no fullZone form/);
  });
});
