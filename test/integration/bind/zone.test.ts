import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parsePlan } from '../../../src/plan/load.js';
import { composePlan } from '../../../src/plan/records.js';
import { splitCharacterStrings, quoteCharacterString } from '../../../src/txt.js';
import { renderZone } from '../../../providers/zone.js';
import { renderWith } from '../../../providers/index.js';
import type { DnsRecord } from '../../../src/records.js';
import { NAMED_CHECKZONE, NAMED_COMPILEZONE } from '../../helpers/programs.js';
import { runCli } from '../../helpers/cli.js';

function checkzone(origin: string, text: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'maildns-zone-'));
  const file = path.join(dir, 'zone');
  writeFileSync(file, text);
  // -k fail: name problems are errors; -i full: MX/NS targets must resolve inside the zone.
  return execFileSync(NAMED_CHECKZONE, ['-k', 'fail', '-i', 'full', origin, file], { encoding: 'utf8' });
}

/** Read back the TXT strings of one owner as named-compilezone prints them in canonical form. */
function compiled(origin: string, text: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'maildns-zone-'));
  writeFileSync(path.join(dir, 'in'), text);
  execFileSync(NAMED_COMPILEZONE, ['-q', '-o', path.join(dir, 'out'), origin, path.join(dir, 'in')]);
  return execFileSync('cat', [path.join(dir, 'out')], { encoding: 'utf8' });
}

const header = (origin: string): DnsRecord[] => [
  { name: origin, type: 'SOA', ttl: 3600, value: `ns1.${origin} hostmaster.${origin} 1 3600 900 1209600 300` },
  { name: origin, type: 'NS', ttl: 3600, value: `ns1.${origin}` },
  { name: `ns1.${origin}`, type: 'A', ttl: 3600, value: '192.0.2.53' },
];

describe('TXT character-strings', () => {
  it('splits by octets and never inside a UTF-8 sequence', () => {
    const text = `${'a'.repeat(254)}é${'b'.repeat(10)}`; // é is 2 octets and would straddle 255
    const parts = splitCharacterStrings(text);
    expect(parts.map((p) => p.length)).toEqual([254, 12]);
    expect(Buffer.concat(parts).toString('utf8')).toBe(text);
    expect(splitCharacterStrings('x'.repeat(510)).map((p) => p.length)).toEqual([255, 255]);
  });

  it('escapes quotes, backslashes and non-printable bytes', () => {
    expect(quoteCharacterString(Buffer.from('a"b\\c;d\te'))).toBe('"a\\"b\\\\c;d\\009e"');
  });
});

describe('zone provider', () => {
  const tricky = 'he said "hi" \\ then; left';
  const dkim = `v=DKIM1; k=rsa; p=${'A'.repeat(400)}`;
  const records: DnsRecord[] = [
    ...header('example.com'),
    { name: 'example.com', type: 'TXT', ttl: 3600, value: tricky },
    { name: 'mail._domainkey.example.com', type: 'TXT', ttl: 300, value: dkim },
    { name: 'example.com', type: 'MX', ttl: 3600, value: '10 mail.example.com' },
    { name: 'mail.example.com', type: 'A', ttl: 3600, value: '203.0.113.25' },
    { name: 'café.example.com', type: 'TXT', ttl: 3600, value: 'naïve ☃' },
  ];

  it('writes owners relative to $ORIGIN and names in values absolute', () => {
    const text = renderZone('example.com', records, 3600);
    expect(text).toMatch(/^\$ORIGIN example\.com\.\n\$TTL 3600\n/);
    expect(text).toMatch(/\n@\s+IN MX\s+10 mail\.example\.com\.\n/);
    expect(text).toMatch(/\nmail\._domainkey\s+300 IN TXT/);
  });

  it('produces a zone that named-checkzone loads, with values intact', () => {
    const text = renderZone('example.com', records.filter((r) => !r.name.startsWith('café')), 3600);
    expect(checkzone('example.com', text)).toMatch(/loaded serial 1\nOK/);
    const canonical = compiled('example.com', text);
    // The 400-octet DKIM value comes back as two strings of 255 and the rest, joined identical.
    const line = canonical.split('\n').find((l) => l.startsWith('mail._domainkey.example.com.'))!;
    const strings = [...line.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((m) => m[1]!);
    expect(strings.map((s) => s.length)).toEqual([255, dkim.length - 255]);
    expect(strings.join('')).toBe(dkim);
    expect(canonical).toContain('"he said \\"hi\\" \\\\ then; left"');
  });

  it('keeps non-ASCII text as escaped octets that round-trip', () => {
    const text = renderZone('example.com', [...header('example.com'), { name: 'utf.example.com', type: 'TXT', ttl: 3600, value: 'naïve ☃' }], 3600);
    expect(text).toContain('"na\\195\\175ve \\226\\152\\131"');
    expect(checkzone('example.com', text)).toMatch(/OK/);
  });

  it('renders the example plan as a full zone and as a fragment that both load', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'maildns-plan-'));
    const planText = `domains:
  - domain: example.com
    nameservers: [{ host: ns1.example.com, addresses: [192.0.2.53] }]
    mx: [{ host: mail.example.com, addresses: [203.0.113.25] }]
    spf: { ip4: [203.0.113.25], include: [_spf.relay.example.net] }
    dkim: [{ selector: mail }]
    dmarc: { p: quarantine, rua: [mailto:dmarc@example.com] }
`;
    writeFileSync(path.join(dir, 'maildns.yaml'), planText);
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    mkdirSync(path.join(dir, 'keys', 'example.com'), { recursive: true });
    writeFileSync(path.join(dir, 'keys', 'example.com', 'mail.private'), privateKey.export({ type: 'pkcs8', format: 'pem' }));
    const plan = parsePlan(planText, path.join(dir, 'maildns.yaml'));

    const full = renderWith('zone', composePlan(plan, { fullZone: true, serial: 2026112301 }), { fullZone: true }).text;
    expect(checkzone('example.com', full)).toMatch(/loaded serial 2026112301\nOK/);
    expect(full).toMatch(/mail\._domainkey\s+IN TXT\s+\( "v=DKIM1; k=rsa; p=MIIB/);

    const fragment = renderWith('zone', composePlan(plan), {}).text;
    expect(fragment).not.toMatch(/ SOA /);
    const pasted = renderZone('example.com', header('example.com'), 3600) + fragment.replace(/^\$ORIGIN.*\n\$TTL.*\n/m, '');
    expect(checkzone('example.com', pasted)).toMatch(/OK/);
  });
});

describe('addresses in every text form, as `maildns records` writes them', () => {
  // Node's reading of an address: the URL parser's RFC 5952 serialization.
  const nodeForm = (text: string): string => new URL(`http://[${text}]/`).hostname.slice(1, -1);
  const v6 = ['::ffff:192.0.2.1', '64:ff9b::192.0.2.33', '1:2:3:4:5:6:192.0.2.7', '::192.0.2.9', '2001:DB8::25', '2001:0db8:0000:0000:0000:0000:0000:0026', '1::', '::2:3:4:5:6:7:8'];
  const planText = `domains:
  - domain: example.com
    nameservers: [{ host: ns1.example.com, addresses: [192.0.2.53, "::FFFF:192.0.2.54"] }]
    mx: [{ host: mail.example.com, addresses: [203.0.113.25, ${v6.map((a) => `"${a}"`).join(', ')}] }]
    spf: { ip4: [203.0.113.25] }
    dmarc: { p: none }
`;
  let dir: string;
  const records = async (...args: string[]): Promise<string> => {
    const r = await runCli(['records', ...args], { cwd: dir });
    expect(r.code).toBe(0);
    return r.stdout;
  };

  it('the zone file loads in named-checkzone, each AAAA the address Node reads', async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'maildns-addr-'));
    writeFileSync(path.join(dir, 'maildns.yaml'), planText);
    const zone = await records('--full-zone');
    expect(checkzone('example.com', zone)).toMatch(/OK/);
    const aaaa = (owner: string): string[] =>
      compiled('example.com', zone)
        .split('\n')
        .filter((l) => l.startsWith(`${owner}.`) && /\sAAAA\s/.test(l))
        .map((l) => nodeForm(l.trim().split(/\s+/).at(-1)!))
        .sort();
    expect(aaaa('mail.example.com')).toEqual(v6.map(nodeForm).sort());
    expect(aaaa('ns1.example.com')).toEqual(['::ffff:c000:236']);
  });

  it('the MyDNS rows hold addresses named-checkzone takes', async () => {
    const rows = (await records('--format', 'mydns', '--tsv')).split('\n').map((l) => l.split('\t'));
    const aaaa = rows.filter((r) => r[1] === 'AAAA');
    expect(aaaa.map((r) => nodeForm(r[3]!)).sort()).toEqual(v6.map(nodeForm).sort());
    const zone = renderZone('example.com', [...header('example.com'), ...aaaa.map((r): DnsRecord => ({ name: `${r[0]}.example.com`, type: 'AAAA', ttl: 60, value: r[3]! }))], 3600);
    expect(checkzone('example.com', zone)).toMatch(/OK/);
  });

  it('an address with a zone index, which named-checkzone refuses, stops at the plan', async () => {
    const bad = mkdtempSync(path.join(tmpdir(), 'maildns-addr-'));
    writeFileSync(path.join(bad, 'maildns.yaml'), planText.replace('"2001:DB8::25"', '"fe80::1%eth0"'));
    const r = await runCli(['records'], { cwd: bad });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe('maildns: maildns.yaml:4: domains[0].mx[0].addresses[5] must be an address without a zone index (got "fe80::1%eth0"): %eth0 means something on one host only\n');
    expect(() => checkzone('example.com', renderZone('example.com', [...header('example.com'), { name: 'mail.example.com', type: 'AAAA', ttl: 60, value: 'fe80::1%eth0' }], 3600))).toThrow();
  });
});
