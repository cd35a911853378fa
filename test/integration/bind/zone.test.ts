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
