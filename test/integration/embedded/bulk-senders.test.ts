/**
 * The bulk-senders profile against the embedded DNS server: a domain that meets every rule DNS can
 * show and one that misses each in turn (check --profile), and messages signed by the repo's own
 * signer with and without the one-click unsubscribe fields, with them left out of h=, with a From
 * that the signature does not align with, and with a broken Date and Message-ID (verify-message
 * --profile). A name the server never answers stands for a DNS failure.
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditDomain } from '../../../src/check/audit.js';
import { composeDkimRecord, publicKeyOf } from '../../../src/dkim/record.js';
import { DnsResolver } from '../../../src/dns/resolver.js';
import { startServer, type RunningServer } from '../../../src/dns/server.js';
import { parseMessage } from '../../../src/message/message.js';
import { signMessage } from '../../../src/message/sign.js';
import { bulkSenderDomainProfile, bulkSenderMessageProfile, dateProblem, type ProfileReport, type RuleVerdict } from '../../../src/profiles/bulk-senders.js';
import { reverseLookupName } from '../../../src/rdns/compose.js';
import type { DnsRecord } from '../../../src/records.js';
import { runCli } from '../../helpers/cli.js';

const rec = (name: string, type: DnsRecord['type'], value: string): DnsRecord => ({ name, type, ttl: 300, value });
const key = generateKeyPairSync('ed25519').privateKey;
const dkimKey = (d: string): DnsRecord => rec(`mail._domainkey.${d}`, 'TXT', composeDkimRecord(publicKeyOf(key)));
const ptr = (address: string, name: string): DnsRecord => rec(reverseLookupName(address)!, 'PTR', `${name}.`);

/** Every rule met: SPF with one sending address, a key, p=none, forward-confirmed PTRs for the sender and the MX. */
function complete(d: string, sender: string, mx: string): DnsRecord[] {
  return [
    rec(d, 'TXT', `v=spf1 ip4:${sender} -all`),
    dkimKey(d),
    rec(`_dmarc.${d}`, 'TXT', `v=DMARC1; p=none; rua=mailto:dmarc@${d}`),
    rec(d, 'MX', `10 mx.${d}.`),
    rec(`mx.${d}`, 'A', mx),
    rec(`out.${d}`, 'A', sender),
    ptr(sender, `out.${d}`),
    ptr(mx, `mx.${d}`),
  ];
}
const without = (records: DnsRecord[], name: string, type: DnsRecord['type']): DnsRecord[] => records.filter((r) => !(r.name === name && r.type === type));

const records: DnsRecord[] = [
  ...complete('good.test', '192.0.2.10', '192.0.2.11'),
  ...without(complete('nospf.test', '192.0.2.12', '192.0.2.13'), 'nospf.test', 'TXT'),
  ...without(complete('nodkim.test', '192.0.2.14', '192.0.2.15'), 'mail._domainkey.nodkim.test', 'TXT'),
  ...without(complete('nodmarc.test', '192.0.2.16', '192.0.2.17'), '_dmarc.nodmarc.test', 'TXT'),
  // The sending address's PTR names a host that does not resolve back to it.
  ...without(complete('noptr.test', '192.0.2.18', '192.0.2.19'), 'out.noptr.test', 'A'),
  // Neither SPF nor a key: nothing a From address in the domain could align with.
  ...without(without(complete('bare.test', '192.0.2.20', '192.0.2.21'), 'bare.test', 'TXT'), 'mail._domainkey.bare.test', 'TXT'),
  ...complete('slow.test', '192.0.2.22', '192.0.2.23'),
  // A From domain with its own SPF and DMARC, for the misaligned message.
  rec('other.test', 'TXT', 'v=spf1 -all'),
  rec('_dmarc.other.test', 'TXT', 'v=DMARC1; p=none'),
];
const ZONES = ['test', 'good.test', 'nospf.test', 'nodkim.test', 'nodmarc.test', 'noptr.test', 'bare.test', 'slow.test', 'other.test', '2.0.192.in-addr.arpa'];

let dns: RunningServer;
let resolver: DnsResolver;
let ns: string;
let dir: string;

beforeAll(async () => {
  dns = await startServer({ records, zones: ZONES, silent: ['_dmarc.slow.test'] });
  ns = `${dns.host}:${dns.port}`;
  resolver = new DnsResolver({ servers: [{ host: dns.host, port: dns.port }], timeoutMs: 300 });
  dir = mkdtempSync(path.join(tmpdir(), 'maildns-bulk-senders-'));
});
afterAll(async () => dns?.close());

const verdicts = (p: ProfileReport): Record<string, RuleVerdict> => Object.fromEntries(p.rules.map((r) => [r.id, r.verdict]));
const profileOf = async (d: string): Promise<ProfileReport> => bulkSenderDomainProfile(await auditDomain(resolver, d, { selectors: ['mail'], failOn: 'error', rdns: true }));

describe('check --profile bulk-senders: the rules DNS can show', () => {
  it('a domain that meets every checkable rule; TLS, spam rate and the message rules are not checkable here', async () => {
    const p = await profileOf('good.test');
    expect(verdicts(p)).toEqual({
      'spf': 'met',
      'dkim': 'met',
      'dmarc': 'met',
      'dmarc-alignment': 'met',
      'reverse-dns': 'met',
      'tls': 'not-checkable',
      'spam-rate': 'not-checkable',
      'dkim-aligned': 'not-checkable',
      'dmarc-pass': 'not-checkable',
      'one-click-unsubscribe': 'not-checkable',
      'message-format': 'not-checkable',
    });
    expect(p.outcome).toBe('ok');
    const dmarc = p.rules.find((r) => r.id === 'dmarc')!;
    expect(dmarc).toMatchObject({ providers: ['google', 'yahoo', 'microsoft'], reason: '_dmarc.good.test asks p=none' });
    expect(dmarc.source).toBe('Google, Email sender guidelines (February 2024); Yahoo, Sender Best Practices (February 2024); Microsoft, outlook.com high-volume sender requirements (May 2025)');
    expect(p.rules.find((r) => r.id === 'tls')!.reason).toMatch(/DNS does not show/);
  });

  it.each([
    ['nospf.test', 'spf', 'spf.none'],
    ['nodkim.test', 'dkim', 'dkim.no-record'],
    ['nodmarc.test', 'dmarc', 'dmarc.no-record'],
    ['noptr.test', 'reverse-dns', 'rdns.not-forward-confirmed'],
  ])('%s misses the %s rule, with the finding behind it', async (domain, id, code) => {
    const p = await profileOf(domain);
    const missed = p.rules.filter((r) => r.verdict === 'not-met');
    expect(missed.map((r) => r.id)).toEqual([id]);
    expect(missed[0]!.findings.map((f) => f.code)).toContain(code);
    expect(p.outcome).toBe('problems');
  });

  it('without SPF or a DKIM key nothing can align; without selectors DKIM is not checkable, not met', async () => {
    const bare = await profileOf('bare.test');
    expect(verdicts(bare)).toMatchObject({ 'spf': 'not-met', 'dkim': 'not-met', 'dmarc-alignment': 'not-met' });
    const noSelectors = bulkSenderDomainProfile(await auditDomain(resolver, 'good.test', { selectors: [], failOn: 'error' }));
    expect(verdicts(noSelectors)).toMatchObject({ 'dkim': 'not-checkable', 'dmarc-alignment': 'met', 'reverse-dns': 'not-checkable' });
    expect(noSelectors.outcome).toBe('ok');
  });

  it('a DMARC record that does not answer leaves its rule unknown, not missing', async () => {
    const p = await profileOf('slow.test');
    expect(verdicts(p)).toMatchObject({ spf: 'met', dkim: 'met', dmarc: 'unknown' });
    expect(p.rules.find((r) => r.id === 'dmarc')!.findings.map((f) => f.code)).toContain('dmarc.dns-temporary');
    expect(p.outcome).toBe('dns-unavailable');
  });

  it('the CLI: text and --json, exit 0 when all met, 1 when one is missed, 3 when DNS left one unknown and nothing failed', async () => {
    const base = ['check', '-s', 'mail', '--profile', 'bulk-senders', '--nameserver', ns, '--timeout', '300'];
    const good = await runCli([...base, 'good.test']);
    expect(good.stderr).toBe('');
    expect(good.code).toBe(0);
    expect(good.stdout).toMatch(/bulk-senders: good\.test {2}every rule that can be checked here is met \(5 met, 0 not met, 0 unknown, 6 not checkable here\)/);
    expect(good.stdout).toMatch(/MET {12}reverse-dns: the sending addresses have forward-confirmed reverse DNS\n {17}192\.0\.2\.10 out\.good\.test, 192\.0\.2\.11 mx\.good\.test: forward-confirmed/);
    expect(good.stdout).toContain('NOT CHECKABLE  tls: mail is sent over TLS');

    const mixed = await runCli([...base, 'good.test', 'nodmarc.test', 'slow.test', '--json']);
    expect(mixed.code).toBe(1);
    const doc = JSON.parse(mixed.stdout) as { version: number; profile: string; domains: { domain: string; outcome: string; rules: { id: string; verdict: string; source: string; findings: { code: string }[] }[] }[]; summary: Record<string, unknown> };
    expect(doc).toMatchObject({ version: 1, profile: 'bulk-senders' });
    expect(doc.domains.map((d) => [d.domain, d.outcome])).toEqual([['good.test', 'ok'], ['nodmarc.test', 'problems'], ['slow.test', 'dns-unavailable']]);
    expect(doc.domains[1]!.rules.find((r) => r.id === 'dmarc')).toMatchObject({ verdict: 'not-met', findings: [expect.objectContaining({ code: 'dmarc.no-record' })] });
    expect(doc.summary).toMatchObject({ domains: 3, ok: 1, problems: 1, unknown: 1, outcome: 'problems', exitCode: 1 });

    const unknown = await runCli([...base, 'good.test', 'slow.test', '--json']);
    expect(unknown.code).toBe(3);
    expect(JSON.parse(unknown.stdout).summary).toMatchObject({ outcome: 'dns-unavailable', exitCode: 3 });

    const junit = await runCli([...base, 'good.test', '--format', 'junit']);
    expect(junit.code).toBe(2);
    expect(junit.stderr).toContain('--profile reports in text or json');
  });
});

const FULL_HEADERS = [
  'From: News <news@good.test>',
  'To: reader@example.net',
  'Subject: this week',
  'Date: Tue, 1 Dec 2026 10:14:06 +0000',
  'Message-ID: <20261201101406.1@good.test>',
  'List-Unsubscribe: <mailto:unsubscribe@good.test?subject=u>, <https://good.test/unsubscribe/opaque-1>',
  'List-Unsubscribe-Post: List-Unsubscribe=One-Click',
];

function message(headers: string[]): Buffer {
  return Buffer.from(`${headers.join('\r\n')}\r\n\r\nThis week's news.\r\n`, 'latin1');
}

async function signed(headers: string[], opts: { signed?: string[] } = {}): Promise<Buffer> {
  return (await signMessage(message(headers), { domain: 'good.test', selector: 'mail', key, ...(opts.signed ? { headers: opts.signed } : {}) })).message;
}

const messageVerdicts = async (raw: Buffer, ip = '192.0.2.10'): Promise<{ verdicts: Record<string, RuleVerdict>; profile: ProfileReport }> => {
  const { profile } = await bulkSenderMessageProfile(parseMessage(raw), resolver, { ip, mailFrom: 'bounce@good.test' });
  return { verdicts: verdicts(profile), profile };
};
const codesOf = (p: ProfileReport, id: string): string[] => p.rules.find((r) => r.id === id)!.findings.map((f) => f.code);

describe('verify-message --profile bulk-senders: the message-level rules', () => {
  it('a signed message with one-click unsubscribe, a Message-ID and a Date meets every checkable rule', async () => {
    const { verdicts: v, profile } = await messageVerdicts(await signed(FULL_HEADERS));
    expect(v).toEqual({
      'spf': 'met',
      'dkim': 'met',
      'dmarc': 'met',
      'dmarc-alignment': 'met',
      'reverse-dns': 'met',
      'tls': 'not-checkable',
      'spam-rate': 'not-checkable',
      'dkim-aligned': 'met',
      'dmarc-pass': 'met',
      'one-click-unsubscribe': 'met',
      'message-format': 'met',
    });
    expect(profile).toMatchObject({ domain: 'good.test', outcome: 'ok' });
    // The reverse DNS rule is about the client address given, not what the domain publishes.
    expect(profile.rules.find((r) => r.id === 'reverse-dns')!.reason).toBe('192.0.2.10 out.good.test: forward-confirmed');
  });

  it('without the unsubscribe fields, or with only a mailto URI or another Post value, one-click unsubscribe is not met', async () => {
    const bare = await messageVerdicts(await signed(FULL_HEADERS.filter((h) => !h.startsWith('List-'))));
    expect(bare.verdicts['one-click-unsubscribe']).toBe('not-met');
    expect(codesOf(bare.profile, 'one-click-unsubscribe')).toEqual(['bulk-senders.list-unsubscribe-missing', 'bulk-senders.list-unsubscribe-post-missing']);
    expect(bare.profile.outcome).toBe('problems');

    const mailtoOnly = FULL_HEADERS.map((h) => (h.startsWith('List-Unsubscribe:') ? 'List-Unsubscribe: <mailto:unsubscribe@good.test>' : h.startsWith('List-Unsubscribe-Post:') ? 'List-Unsubscribe-Post: List-Unsubscribe=Yes' : h));
    const weak = await messageVerdicts(await signed(mailtoOnly));
    expect(codesOf(weak.profile, 'one-click-unsubscribe')).toEqual(['bulk-senders.list-unsubscribe-no-https', 'bulk-senders.list-unsubscribe-post-invalid']);
    expect(weak.profile.rules.find((r) => r.id === 'one-click-unsubscribe')!.findings[0]!.rfc).toBe('RFC 8058 §3.1');
  });

  it('an https URI inside a comment of List-Unsubscribe is no URI of the field (RFC 2369: comments are ignored)', async () => {
    const commented = FULL_HEADERS.map((h) => (h.startsWith('List-Unsubscribe:') ? 'List-Unsubscribe: (or <https://good.test/unsubscribe/opaque-1>) <mailto:unsubscribe@good.test>' : h));
    const { verdicts: v, profile } = await messageVerdicts(await signed(commented));
    expect(v['one-click-unsubscribe']).toBe('not-met');
    expect(codesOf(profile, 'one-click-unsubscribe')).toEqual(['bulk-senders.list-unsubscribe-no-https']);
    expect(profile.rules.find((r) => r.id === 'one-click-unsubscribe')!.reason).toMatch(/^List-Unsubscribe has no https URI \(mailto:unsubscribe@good\.test\)/);
    // Parentheses inside the angle brackets are the URI's own.
    const inUri = FULL_HEADERS.map((h) => (h.startsWith('List-Unsubscribe:') ? 'List-Unsubscribe: (one click) <https://good.test/u/(opaque)-1>' : h));
    expect((await messageVerdicts(await signed(inUri))).verdicts['one-click-unsubscribe']).toBe('met');
  });

  it('unsubscribe fields left out of h= are not trusted (RFC 8058 §4), though DKIM itself passes', async () => {
    const raw = await signed(FULL_HEADERS, { signed: ['From', 'To', 'Subject', 'Date', 'Message-ID'] });
    const { verdicts: v, profile } = await messageVerdicts(raw);
    expect(v).toMatchObject({ 'dkim-aligned': 'met', 'dmarc-pass': 'met', 'one-click-unsubscribe': 'not-met' });
    expect(codesOf(profile, 'one-click-unsubscribe')).toEqual(['bulk-senders.unsubscribe-not-signed']);
    expect(profile.rules.find((r) => r.id === 'one-click-unsubscribe')!.findings[0]!.rfc).toBe('RFC 8058 §4');
  });

  it('a From domain the signature does not align with: aligned DKIM and DMARC are not met', async () => {
    const raw = await signed(FULL_HEADERS.map((h) => (h.startsWith('From:') ? 'From: News <news@other.test>' : h)));
    const { verdicts: v, profile } = await messageVerdicts(raw);
    expect(v).toMatchObject({ 'dkim-aligned': 'not-met', 'dmarc-pass': 'not-met', 'one-click-unsubscribe': 'met' });
    expect(profile.domain).toBe('other.test');
    expect(profile.rules.find((r) => r.id === 'dkim-aligned')!.reason).toBe('DKIM passes only for good.test, not aligned with other.test');
    expect(codesOf(profile, 'dkim-aligned')).toContain('dmarc.dkim-not-aligned');
  });

  it('a Date that is no RFC 5322 date and a missing Message-ID fail the format rule', async () => {
    const raw = await signed(FULL_HEADERS.filter((h) => !h.startsWith('Message-ID')).map((h) => (h.startsWith('Date:') ? 'Date: 2026-12-01T10:14:06Z' : h)));
    const { profile } = await messageVerdicts(raw);
    expect(codesOf(profile, 'message-format')).toEqual(['bulk-senders.date-invalid', 'bulk-senders.message-id-missing']);
  });

  it('RFC 5322 dates: the current form and the obsolete zone names are valid; wrong weekdays and impossible days are not', () => {
    expect(dateProblem(' Tue, 1 Dec 2026 10:14:06 +0000')).toBeNull();
    expect(dateProblem('1 Dec 2026 10:14 -0500 (EST)')).toBeNull();
    expect(dateProblem('Tue, 01 Dec 2026 10:14:06 GMT')).toBeNull();
    expect(dateProblem('Mon, 1 Dec 2026 10:14:06 +0000')).toMatch(/says Mon but 1 Dec 2026 is a Tuesday/);
    expect(dateProblem('31 Nov 2026 10:14:06 +0000')).toMatch(/not a day of the calendar/);
    expect(dateProblem('1 Dec 2026 24:00:00 +0000')).toMatch(/no such time/);
    expect(dateProblem('2026-12-01T10:14:06Z')).toMatch(/not in the form/);
  });

  it('the CLI: exit 0 when every checkable rule is met, 1 when one is not, --json with the message report beside the profile', async () => {
    const good = path.join(dir, 'good.eml');
    writeFileSync(good, await signed(FULL_HEADERS));
    const bad = path.join(dir, 'no-unsubscribe.eml');
    writeFileSync(bad, await signed(FULL_HEADERS.filter((h) => !h.startsWith('List-'))));
    const base = ['--ip', '192.0.2.10', '--mail-from', 'bounce@good.test', '--nameserver', ns, '--profile', 'bulk-senders'];
    const ok = await runCli(['verify-message', good, ...base]);
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain('Authentication-Results: maildns;');
    expect(ok.stdout).toMatch(/MET {12}one-click-unsubscribe: /);
    const missed = await runCli(['verify-message', bad, ...base, '--json']);
    expect(missed.code).toBe(1);
    const doc = JSON.parse(missed.stdout) as { message: { dmarc: { result: string } }; profile: ProfileReport; exitCode: number };
    expect(doc.message.dmarc.result).toBe('pass');
    expect(doc.profile.rules.find((r) => r.id === 'one-click-unsubscribe')!.verdict).toBe('not-met');
    expect(doc.exitCode).toBe(1);
  });
});

describe('every rule not met says what to do', () => {
  it('each not-met rule, of a domain or a message, has a finding with a fix', async () => {
    const profiles: ProfileReport[] = [];
    for (const d of ['nospf.test', 'nodkim.test', 'nodmarc.test', 'noptr.test', 'bare.test']) profiles.push(await profileOf(d));
    for (const headers of [
      FULL_HEADERS.filter((h) => !h.startsWith('List-')),
      FULL_HEADERS.map((h) => (h.startsWith('From:') ? 'From: News <news@other.test>' : h)),
      FULL_HEADERS.map((h) => (h.startsWith('From:') ? 'From: News' : h)),
    ]) {
      profiles.push((await messageVerdicts(await signed(headers))).profile);
      profiles.push((await messageVerdicts(message(headers))).profile);
    }
    const missed = profiles.flatMap((p) => p.rules.filter((r) => r.verdict === 'not-met').map((r) => ({ domain: p.domain, rule: r })));
    expect(missed.length).toBeGreaterThan(10);
    for (const { domain, rule } of missed) expect(rule.findings.some((f) => f.severity !== 'info' && f.fix), `${domain} ${rule.id}: ${rule.findings.map((f) => f.code).join(', ')}`).toBe(true);
  });
});
