/**
 * One verdict per value, wherever it is given: a sending domain and an SPF network are judged by
 * one rule each (sendingDomainProblem, spfNetworkProblem), and the plan loader, `init`'s starter
 * plan and the SPF parser `spf compose` relies on agree with it. Table-driven: each row is one
 * input, so a property test can feed the same checks later.
 */
import { describe, expect, it } from 'vitest';
import { InputError } from '../../../src/errors.js';
import { sendingDomainProblem } from '../../../src/names.js';
import { starterPlan, type StarterOptions } from '../../../src/plan/init.js';
import { parsePlan } from '../../../src/plan/load.js';
import { composeDomain } from '../../../src/plan/records.js';
import { spfNetworkProblem } from '../../../src/spf/ip.js';
import { parseSpf } from '../../../src/spf/parse.js';
import { dmarcPlanFromTags } from '../../../src/dmarc/compose.js';

const STARTER: StarterOptions = { domain: 'example.com', ip4: [], ip6: [], include: [], mx: [], selector: 'mail', dkimAlg: 'rsa-2048', dmarcPolicy: 'none', rua: [] };

/** The message of what `run` throws (an InputError), or null when it does not throw. */
function refusal(run: () => unknown): string | null {
  try {
    run();
    return null;
  } catch (err) {
    expect(err).toBeInstanceOf(InputError);
    return (err as Error).message;
  }
}

const planWithDomain = (d: string): string => `version: 1\ndomains:\n  - domain: ${JSON.stringify(d)}\n`;
const planWithNetwork = (family: 4 | 6, net: string): string => `version: 1\ndomains:\n  - domain: example.com\n    spf:\n      ip${family}: [${JSON.stringify(net)}]\n`;

/** [value, accepted, what the refusal says] */
const DOMAINS: [string, boolean, RegExp?][] = [
  ['example.com', true],
  ['NEWCO.TEST', true],
  ['example.com.', true],
  ['mail-1.example.co.uk', true],
  ['xn--bcher-kva.de', true],
  ['192.0.2.1', false, /is an address, not a domain name/],
  ['[192.0.2.1]', false, /is an address/],
  ['2001:db8::1', false, /is an address/],
  ['localhost', false, /is a single label/],
  ['my_domain.test', false, /"my_domain".*RFC 5321 §4\.1\.2.*"_" belongs in record names/],
  ['bücher.de', false, /A-label\) form: xn--bcher-kva\.de/],
  ['BÜCHER.DE', false, /xn--bcher-kva\.de/],
  ['-lead.example.com', false, /"-lead"/],
  ['trail-.example.com', false, /"trail-"/],
  ['exa mple.com', false, /characters a host name cannot carry/],
  ['a..example.com', false, /empty label/],
  [`${'a'.repeat(64)}.com`, false, /label of 64 characters/],
  ['example.123', false, /all-digit label "123"/],
  ['xn--zz.example', false, /not valid punycode/],
  ['', false, /empty/],
];

describe('a sending domain gets the same verdict in the plan, in init and in the rule itself', () => {
  it.each(DOMAINS)('%j: accepted %s', (value, ok, why) => {
    const rule = sendingDomainProblem(value);
    const plan = refusal(() => parsePlan(planWithDomain(value), 'maildns.yaml'));
    const init = refusal(() => starterPlan({ ...STARTER, domain: value }));
    expect({ rule: rule === null, plan: plan === null, init: init === null }).toEqual({ rule: ok, plan: ok, init: ok });
    if (!ok) for (const message of [rule, plan, init]) expect(message).toMatch(why!);
  });
});

/** [family, value, accepted] */
const NETWORKS: [4 | 6, string, boolean][] = [
  [4, '192.0.2.1', true],
  [4, '192.0.2.0/24', true],
  [4, '0.0.0.0/0', true],
  [4, '192.0.2.0/32', true],
  [4, '192.0.2.0/33', false],
  [4, '192.0.2.0/024', false],
  [4, '192.0.2.0/', false],
  [4, '192.0.2.01', false],
  [4, '192.0.2.256', false],
  [4, '192.0.2', false],
  [4, '2001:db8::1', false],
  [4, '192.0.2.0/24/8', false],
  [6, '2001:db8::1', true],
  [6, '2001:db8::/32', true],
  [6, '::ffff:192.0.2.1', true],
  [6, '2001:DB8::/128', true],
  [6, 'fe80::1%eth0', false],
  [6, 'fe80::1%25eth0/64', false],
  [6, '2001:db8::/129', false],
  [6, '2001:db8::/-1', false],
  [6, '2001:db8:::1', false],
  [6, '192.0.2.1', false],
];

describe('an SPF network gets the same verdict in the plan, in init, in spf compose and in the rule itself', () => {
  it.each(NETWORKS)('ip%i %j: accepted %s', (family, value, ok) => {
    const rule = spfNetworkProblem(value, family);
    const plan = refusal(() => parsePlan(planWithNetwork(family, value), 'maildns.yaml'));
    const init = refusal(() => starterPlan({ ...STARTER, [`ip${family}`]: [value] }));
    // `spf compose` writes the value into a record and refuses it when the SPF parser does.
    const parsed = parseSpf(`v=spf1 ip${family}:${value} -all`).errors.length === 0;
    expect({ rule: rule === null, plan: plan === null, init: init === null, parsed }).toEqual({ rule: ok, plan: ok, init: ok, parsed: ok });
    if (!ok) expect(plan).toContain(rule!);
  });
});

/** [value, accepted]: init writes the selector into the plan's text, which must read back as that selector or be refused. */
const SELECTORS: [string, boolean][] = [
  ['mail', true],
  ['Mail', true],
  ['s2026-11.rsa', true],
  ['_x', true],
  // Each label is a DNS label (at most 63 octets, none empty), and SELECTOR._domainkey.example.com a DNS name (at most 253): a zone with more does not load.
  ['s'.repeat(63), true],
  ['s'.repeat(64), false],
  ['s'.repeat(70), false],
  ['mail..x', false],
  ['mail.-x', false],
  [`${'a'.repeat(60)}.${'b'.repeat(60)}.${'c'.repeat(60)}.${'d'.repeat(40)}`, true],
  [`${'a'.repeat(60)}.${'b'.repeat(60)}.${'c'.repeat(60)}.${'d'.repeat(60)}`, false],
  ['mail #x', false],
  ['mail # a comment', false],
  ['bad_sel!', false],
  ['a: b', false],
  ['mail\n        algorithm: ed25519', false],
  ['', false],
];

describe('a DKIM selector gets the same verdict in the plan and in init', () => {
  it.each(SELECTORS)('%j: accepted %s', (value, ok) => {
    const plan = refusal(() => parsePlan(`version: 1\ndomains:\n  - domain: example.com\n    dkim: [{ selector: ${JSON.stringify(value)} }]\n`, 'maildns.yaml'));
    let init: string | null = null;
    let written: string | undefined;
    try {
      written = parsePlan(starterPlan({ ...STARTER, selector: value }), 'maildns.yaml').domains[0]!.dkim[0]!.selector;
    } catch (err) {
      expect(err).toBeInstanceOf(InputError);
      init = (err as Error).message;
    }
    expect({ plan: plan === null, init: init === null }).toEqual({ plan: ok, init: ok });
    if (ok) expect(written).toBe(value.toLowerCase());
    // Refused as the value given, not as a line of a plan file that was never written.
    else expect(init).toMatch(/^the DKIM selector ".*" is not a valid selector/s);
  });
});

const REPORT_ADDRESSES: [string, boolean][] = [
  ['dmarc@example.com', true],
  ['mailto:dmarc@example.com', true],
  ['mailto:dmarc@example.com!10m', true],
  ['dmarc@xn--bcher-kva.de', true],
  // Reporters deliver by mail only: nothing would arrive at an https: address.
  ['https://reports.example.com/dmarc', false],
  ['foo', false],
  ['mailto:foo', false],
  ['dmarc@example', false],
  ['dmarc@example.com #x', false],
  // Characters that end the URI or the tag in the published record (RFC 7489 §6.4: "," and "!" are %-encoded there).
  ['a;p=none@example.com', false],
  ['a,b@example.com', false],
  ['a!b@example.com!10m', false],
  // The same characters in a mailto: query: a second p= tag, a second address.
  ['mailto:dmarc@example.com?subject=x;p=reject', false],
  ['dmarc@example.com?a=1,mailto:evil@attacker.example', false],
  ['mailto:dmarc@example.com?subject=report', true],
  // A "!" that starts no size: a 7489 reporter reads a broken size, a 9989 one a broken address.
  ['dmarc@example.com!10x', false],
  ['dmarc@example.com!', false],
  // Not ASCII: the record would carry octets a DMARC URI cannot (an IDN is written as its A-label).
  ['dmarc@b\u00fccher.de', false],
  // "," ";" and "!" inside a URI are %-encoded (RFC 7489 §6.2): the encoded text carries them, and
  // the decoded address is judged as an address (RFC 5322 §3.4.1): a "," only inside quotes.
  ['mailto:%22d%2Cx%22@example.com', true],
  ['mailto:%22not%40me%22@example.org', true],
  ['mailto:d%21x@example.com', true],
  ['mailto:d%2Cx@example.com', false],
  ['mailto:d%3Bx@example.com', false],
  // A decoded "?" is part of the address, not the start of a query (RFC 3986 §2.2).
  ['mailto:dmarc@example.com%3Fx', false],
  ['mailto:a%zz@example.com', false],
  // A conventional address only (RFC 8616 §6), however it is encoded.
  ['mailto:j%C3%B6rg@example.com', false],
  ['mailto:a..b@example.com', false],
  // Quotes are no URI characters (RFC 3986 §2): they are %-encoded too.
  ['mailto:"a"@example.com', false],
];

describe('two report addresses given as one value', () => {
  it('are named as two, with one URI each as the fix, not a local part to put in quotes', () => {
    for (const value of ['dmarc@example.com,abuse@example.com', 'mailto:dmarc@example.com,mailto:abuse@example.com']) {
      const init = refusal(() => starterPlan({ ...STARTER, rua: [value] }))!;
      expect(init).toContain('"dmarc@example.com,abuse@example.com" is 2 addresses in one URI');
      expect(init).toContain('give each its own URI (mailto:dmarc@example.com, mailto:abuse@example.com)');
      expect(init).not.toContain('in quotes');
    }
    // One address whose local part holds a ",": quoting it is the fix.
    expect(refusal(() => starterPlan({ ...STARTER, rua: ['a,b@example.com'] }))).toContain('write mailto:%22a%2Cb%22@example.com (the local part in quotes)');
  });
});

/** [value, accepted]: the host an MX or NS record names is a domain name; an address there is looked up as a name and never reached. */
const RECORD_HOSTS: [string, boolean][] = [
  ['mail.example.com', true],
  ['MAIL.example.com.', true],
  ['mx.provider.example.net', true],
  ['192.0.2.1', false],
  ['[192.0.2.1]', false],
  ['2001:db8::25', false],
];

describe('an MX or NS host gets the same verdict in the plan and in init', () => {
  it.each(RECORD_HOSTS)('%j: accepted %s', (value, ok) => {
    const mx = refusal(() => parsePlan(`version: 1\ndomains:\n  - domain: example.com\n    mx: [{ host: ${JSON.stringify(value)}, priority: 10 }]\n`, 'maildns.yaml'));
    const mxShort = refusal(() => parsePlan(`version: 1\ndomains:\n  - domain: example.com\n    mx: [${JSON.stringify(value)}]\n`, 'maildns.yaml'));
    const ns = refusal(() => parsePlan(`version: 1\ndomains:\n  - domain: example.com\n    nameservers: [${JSON.stringify(value)}, ns2.example.net]\n`, 'maildns.yaml'));
    const init = refusal(() => parsePlan(starterPlan({ ...STARTER, mx: [value] }), 'maildns.yaml'));
    expect({ mx: mx === null, mxShort: mxShort === null, ns: ns === null, init: init === null }).toEqual({ mx: ok, mxShort: ok, ns: ok, init: ok });
    if (!ok) {
      expect(mx).toMatch(/is an address, and an MX record names a host, whose A or AAAA record holds the address: write a host name, such as mail\.example\.com with addresses: \[/);
      expect(ns).toMatch(/an NS record names a host/);
      expect(init).toMatch(/^the mail host ".*" is an address, and an MX record names a host/);
    }
  });
});

describe('a DMARC report address gets the same verdict in the plan, in init and in dmarc compose', () => {
  it.each(REPORT_ADDRESSES)('%j: accepted %s', (value, ok) => {
    const plan = refusal(() => parsePlan(`version: 1\ndomains:\n  - domain: example.com\n    dmarc: { p: none, rua: [${JSON.stringify(value)}] }\n`, 'maildns.yaml'));
    const init = refusal(() => parsePlan(starterPlan({ ...STARTER, rua: [value] }), 'maildns.yaml'));
    // dmarc compose splits its flag at commas first, so the comma row is two addresses there.
    const compose = value.includes(',') ? 'two addresses' : refusal(() => dmarcPlanFromTags({ p: 'none', rua: [value] }, '9989'));
    expect({ plan: plan === null, init: init === null }).toEqual({ plan: ok, init: ok });
    if (!value.includes(',')) expect(compose === null).toBe(ok);
    // Refused as the value given, in the same words everywhere, not as a line of a plan file that was never written.
    if (!ok) {
      expect(init).toMatch(new RegExp(`^rua=${value.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: `));
      expect(plan).toContain(init!);
      if (!value.includes(',')) expect(compose).toBe(init);
    }
  });
});

describe('records: a plan whose SPF needs more than 10 lookups says so', () => {
  it('11 includes: a problem naming the count and the limit; 10: none', () => {
    const includes = (n: number) => Array.from({ length: n }, (_, i) => `_spf${i}.example.net`);
    const note = (n: number) => {
      const plan = parsePlan(`version: 1\ndomains:\n  - domain: example.com\n    spf:\n      include: ${JSON.stringify(includes(n))}\n`, 'maildns.yaml');
      return composeDomain(plan, plan.domains[0]!).problems.filter((x) => x.includes('DNS-querying'));
    };
    expect(note(11)).toEqual([expect.stringMatching(/has 11 DNS-querying terms .* stop at 10 .*RFC 7208 §4\.6\.4/)]);
    expect(note(10)).toEqual([]);
  });
});
