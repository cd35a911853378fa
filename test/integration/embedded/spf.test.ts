/** SPF: parser errors, composer, validator findings and flattening, against the embedded DNS server. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DnsResolver, type Resolver } from '../../../src/dns/resolver.js';
import { startServer, type RunningServer } from '../../../src/dns/server.js';
import { mxValue, type DnsRecord } from '../../../src/records.js';
import { composeSpf, composeSpfFrom } from '../../../src/spf/compose.js';
import { checkHost } from '../../../src/spf/evaluate.js';
import { flattenSpf, FlattenError } from '../../../src/spf/flatten.js';
import { expandMacroString, type MacroContext } from '../../../src/spf/macro.js';
import { isSpfRecord, parseSpf } from '../../../src/spf/parse.js';
import { txtAnswerSize, validateSpf } from '../../../src/spf/validate.js';
import { LocalResolver } from '../../helpers/local-resolver.js';

const txt = (name: string, value: string, strings?: string[]): DnsRecord => ({ name, type: 'TXT', ttl: 300, value, ...(strings ? { strings } : {}) });
const a = (name: string, value: string): DnsRecord => ({ name, type: 'A', ttl: 300, value });

describe('parseSpf', () => {
  it('parses every mechanism, qualifier, CIDR and modifier', () => {
    const p = parseSpf('v=spf1 ip4:192.0.2.0/24 -ip6:2001:db8::/32 ~a a:mail.example.com/28//64 mx//48 ?ptr:example.com exists:%{i}.bl.example.com include:_spf.example.net redirect=other.example.com exp=why.example.com x-note=hello -all');
    expect(p.errors).toEqual([]);
    expect(p.mechanisms.map((m) => `${m.qualifier}${m.kind}`)).toEqual(['+ip4', '-ip6', '~a', '+a', '+mx', '?ptr', '+exists', '+include', '-all']);
    const aHost = p.mechanisms[3]!;
    expect([aHost.domainSpec, aHost.cidr4, aHost.cidr6]).toEqual(['mail.example.com', 28, 64]);
    expect(p.mechanisms[4]!.cidr6).toBe(48);
    expect(p.redirect?.value).toBe('other.example.com');
    expect(p.exp?.value).toBe('why.example.com');
    expect(p.terms.filter((t) => t.type === 'modifier').map((t) => (t.type === 'modifier' ? t.name : ''))).toEqual(['redirect', 'exp', 'x-note']);
  });

  it('recognises records by version, case-insensitively, and needs the space', () => {
    expect(isSpfRecord('v=spf1 -all')).toBe(true);
    expect(isSpfRecord('V=SPF1')).toBe(true);
    expect(isSpfRecord('v=spf10')).toBe(false);
    expect(isSpfRecord(' v=spf1 -all')).toBe(false);
    expect(parseSpf('v=spf1ip4:1.2.3.4').errors[0]!.reason).toMatch(/followed by a space/);
  });

  const cases: [string, number, RegExp][] = [
    ['v=spf1 a:foo-bar -all', 9, /not a fully qualified/],
    ['v=spf1 ip4:192.0.2.1/33', 20, /above 32/],
    ['v=spf1 ip4:192.0.2.1/032', 20, /leading zero/],
    ['v=spf1 ip4:2001:db8::1', 11, /use ip6/],
    ['v=spf1 ip6:192.0.2.1', 11, /use ip4/],
    ['v=spf1 -all:foo', 11, /takes no argument/],
    ['v=spf1 redirect:example.com', 7, /modifier: write redirect=DOMAIN/],
    ['v=spf1 exists:%{x}.example.com', 16, /not a macro letter/],
    ['v=spf1 exp=%{r}.example.com', 13, /only in explanation text/],
    ['v=spf1 a:%(ir).example.com', 9, /not a macro/],
    ['v=spf1 include', 14, /needs a domain/],
    ['v=spf1 ptr/24', 10, /no prefix length/],
    ['v=spf1 a/24/64', 8, /not a prefix length/],
    ['v=spf1 1up=foo', 7, /must start with a letter/],
    ['v=spf1 =all', 7, /needs a name/],
    ['v=spf1 foo -all', 7, /not an SPF mechanism/],
    ['v=spf1 a:abc.123', 13, /top-level label/],
    ['v=spf1 a:ex\u00e4mple.com', 11, /not ASCII/],
    ['v=spf1 a:x.example.com\rptr', 22, /control character/],
  ];
  for (const [record, offset, reason] of cases) {
    it(`reports "${record.replace(/[^\x20-\x7e]/g, '?')}" at offset ${offset}`, () => {
      const p = parseSpf(record);
      expect(p.errors).toHaveLength(1);
      expect(p.errors[0]!.reason).toMatch(reason);
      expect(p.errors[0]!.offset).toBe(offset);
    });
  }

  it('rejects a second redirect or exp', () => {
    const p = parseSpf('v=spf1 redirect=a.example.com redirect=b.example.com');
    expect(p.errors[0]!.reason).toMatch(/more than once/);
    expect(p.errors[0]!.offset).toBe(30);
  });
});

describe('macros', () => {
  const ctx: MacroContext = {
    sender: 'strong-bad@email.example.com',
    localPart: 'strong-bad',
    senderDomain: 'email.example.com',
    domain: 'email.example.com',
    ipDotted: '192.0.2.3',
    ipReadable: '192.0.2.3',
    ipVersion: 'in-addr',
    helo: 'mx.example.org',
    receiver: 'unknown',
    timestamp: 0,
    validatedName: async () => 'unknown',
  };
  // RFC 7208 §7.4 examples.
  const examples: [string, string][] = [
    ['%{s}', 'strong-bad@email.example.com'],
    ['%{o}', 'email.example.com'],
    ['%{d4}', 'email.example.com'],
    ['%{d2}', 'example.com'],
    ['%{d1}', 'com'],
    ['%{dr}', 'com.example.email'],
    ['%{d2r}', 'example.email'],
    ['%{l}', 'strong-bad'],
    ['%{l-}', 'strong.bad'],
    ['%{lr}', 'strong-bad'],
    ['%{lr-}', 'bad.strong'],
    ['%{l1r-}', 'strong'],
    ['%{ir}.%{v}._spf.%{d2}', '3.2.0.192.in-addr._spf.example.com'],
    ['%{lr-}.lp._spf.%{d2}', 'bad.strong.lp._spf.example.com'],
    ['%{d2}.trusted-domains.example.net', 'example.com.trusted-domains.example.net'],
    ['%{S}', 'strong-bad%40email.example.com'],
    ['a%%b%_c%-d', 'a%b c%20d'],
  ];
  for (const [spec, want] of examples) {
    it(`expands ${spec}`, async () => {
      expect(await expandMacroString(spec, ctx, true)).toBe(want);
    });
  }
});

describe('compose', () => {
  it('keeps composeSpf for plans: cheapest terms first, no all next to redirect', () => {
    expect(composeSpf({ ip4: ['192.0.2.1'], ip6: ['2001:db8::/32'], a: true, mx: ['example.net'], include: ['_spf.example.org'], exists: [], all: '-all' })).toBe(
      'v=spf1 ip4:192.0.2.1 ip6:2001:db8::/32 a mx:example.net include:_spf.example.org -all',
    );
    expect(composeSpf({ ip4: [], ip6: [], a: false, mx: true, include: [], exists: [], redirect: 'example.org', all: '-all' })).toBe('v=spf1 mx redirect=example.org');
  });

  it('composes from flags: bare and named a/mx, exp, default -all', () => {
    expect(composeSpfFrom({ mx: [], include: ['_spf.google.com'], all: '~all' })).toBe('v=spf1 mx include:_spf.google.com ~all');
    expect(composeSpfFrom({ a: ['@', 'out.example.com'], exp: 'why.example.com' })).toBe('v=spf1 a a:out.example.com -all exp=why.example.com');
    expect(parseSpf(composeSpfFrom({ ip4: ['192.0.2.0/24'], exists: ['%{i}.allow.example.com'] })).errors).toEqual([]);
  });
});

const provTerms = Array.from({ length: 40 }, (_, i) => `ip4:10.${i}.0.0/16`).join(' ');
const zone: DnsRecord[] = [
  txt('good.test', 'v=spf1 ip4:192.0.2.0/24 include:prov.test -all'),
  txt('prov.test', 'v=spf1 ip4:198.51.100.0/24 -all'),
  ...Array.from({ length: 11 }, (_, i) => txt(`c${i}.test`, i < 10 ? `v=spf1 include:c${i + 1}.test` : 'v=spf1 ip4:192.0.2.1')),
  txt('many.test', 'v=spf1 mx include:c0.test -all'),
  txt('many2.test', 'v=spf1 include:c1.test -all'),
  txt('memo-a.test', 'v=spf1 include:memo-shared.test -all'),
  txt('memo-shared.test', 'v=spf1 a:mail.memo-a.test -all'),
  a('mail.memo-a.test', '192.0.2.50'),
  { name: 'many.test', type: 'MX', ttl: 300, value: mxValue(10, 'mail.many.test') },
  a('mail.many.test', '192.0.2.25'),
  txt('two.test', 'v=spf1 -all'),
  txt('two.test', 'v=spf1 mx -all'),
  txt('none.test', 'google-site-verification=abc'),
  txt('_spf.none.test', 'v=spf1 ip4:192.0.2.0/24 -all'),
  txt('orphan.test', 'v=spf1 -all'),
  txt('_spf.orphan.test', 'v=spf1 ip4:192.0.2.0/24 -all'),
  txt('loop.test', 'v=spf1 include:loop2.test -all'),
  txt('loop2.test', 'v=spf1 include:loop.test'),
  txt('void.test', 'v=spf1 a:n1.void.test a:n2.void.test mx:n3.void.test -all'),
  txt('fam.test', 'v=spf1 a:v4.fam.test a:v6.fam.test a:gone.fam.test mx -all'),
  a('v4.fam.test', '192.0.2.4'),
  { name: 'v6.fam.test', type: 'AAAA', ttl: 300, value: '2001:db8::6' },
  { name: 'fam.test', type: 'MX', ttl: 300, value: mxValue(10, 'v4.fam.test') },
  { name: 'fam.test', type: 'MX', ttl: 300, value: mxValue(20, 'dead.fam.test') },
  txt('pass.test', 'v=spf1 +all'),
  txt('neutral.test', 'v=spf1 ?all'),
  txt('noall.test', 'v=spf1 ip4:192.0.2.1'),
  txt('redir.test', 'v=spf1 redirect=good.test -all'),
  txt('incnone.test', 'v=spf1 include:nothing.test -all'),
  txt('ptr.test', 'v=spf1 ptr -all'),
  txt('mx11.test', 'v=spf1 mx -all'),
  ...Array.from({ length: 11 }, (_, i): DnsRecord => ({ name: 'mx11.test', type: 'MX', ttl: 300, value: mxValue(i, `m${i}.mx11.test`) })),
  txt('syntax.test', 'v=spf1 ip4:192.0.2.1 a:foo-bar -all'),
  txt('split.test', 'v=spf1 ip4:192.0.2.1include:good.test -all', ['v=spf1 ip4:192.0.2.1', 'include:good.test -all']),
  txt('big.test', `v=spf1 ${Array.from({ length: 22 }, (_, i) => `ip4:192.0.${i}.0/24`).join(' ')} -all`),
  txt('big.test', `verification=${'x'.repeat(120)}`),
  txt('type99.test', 'v=spf1 -all'),
  { name: 'type99.test', type: 'SPF', ttl: 300, value: 'v=spf1 -all' },
  txt('macro.test', 'v=spf1 exists:%{i}._spf.macro.test -all'),
  txt('exp.test', 'v=spf1 -all exp=explain.exp.test'),
  txt('slowinc.test', 'v=spf1 include:slow.test -all'),
  // Flattening.
  txt('flat.test', 'v=spf1 mx include:p1.test include:p2.test ~include:p3.test -all'),
  { name: 'flat.test', type: 'MX', ttl: 300, value: mxValue(10, 'mx.flat.test') },
  a('mx.flat.test', '192.0.2.200'),
  txt('p1.test', 'v=spf1 ip4:192.0.2.0/25 ip6:2001:db8::/32 a -all'),
  a('p1.test', '203.0.113.77'),
  txt('p2.test', 'v=spf1 include:p2b.test ~all'),
  txt('p2b.test', 'v=spf1 ip4:198.51.100.0/24 ip4:192.0.2.0/25'),
  txt('p3.test', 'v=spf1 ip4:203.0.113.0/26 -all'),
  txt('chain.test', 'v=spf1 include:bigprov.test -all'),
  txt('bigprov.test', `v=spf1 ${provTerms} -all`),
  txt('keepme.test', 'v=spf1 include:neg.test include:mac.test ip4:192.0.2.9 redirect=r.test'),
  txt('neg.test', 'v=spf1 -ip4:192.0.2.0/24 ip4:192.0.0.0/16'),
  txt('mac.test', 'v=spf1 exists:%{i}.mac.test'),
  txt('r.test', 'v=spf1 a ip4:198.51.100.9 ~all'),
  a('r.test', '203.0.113.5'),
];

let server: RunningServer;
let resolver: LocalResolver;
/** A resolver of its own, no answers cached; only slow.test, which the server never answers, gets a short deadline. */
const freshResolver = (): LocalResolver => new LocalResolver(server, { silent: ['slow.test'] });
beforeAll(async () => {
  server = await startServer({ records: zone, zones: [''], silent: ['slow.test'] });
  resolver = freshResolver();
});
afterAll(async () => {
  await server.close();
});

const codes = async (domain: string): Promise<string[]> => (await validateSpf(resolver, domain)).findings.map((f) => f.code);

describe('validateSpf', () => {
  it('passes a good record with the tree and counts', async () => {
    const r = await validateSpf(resolver, 'good.test');
    expect(r.findings.filter((f) => f.severity !== 'info')).toEqual([]);
    expect(r.lookups).toBe(1);
    expect(r.effectiveAll).toBe('-all');
    expect(r.tree?.children[0]?.domain).toBe('prov.test');
  });

  it('counts lookups per branch across the tree', async () => {
    const r = await validateSpf(resolver, 'many.test');
    expect(r.lookups).toBe(12);
    const f = r.findings.find((x) => x.code === 'spf.too-many-lookups')!;
    expect(f.severity).toBe('error');
    expect(f.message).toContain('include:c0.test 11');
    expect(f.message).toContain('mx 1');
    expect(f.rfc).toBe('RFC 7208 §4.6.4');
  });

  it('finds the usual faults, each under its own code', async () => {
    expect(await codes('two.test')).toContain('spf.multiple-records');
    expect(await codes('none.test')).toEqual(expect.arrayContaining(['spf.none', 'spf.orphan-record']));
    expect((await validateSpf(resolver, 'none.test')).findings.find((f) => f.code === 'spf.orphan-record')?.fix).toContain('v=spf1 include:_spf.none.test -all');
    expect(await codes('orphan.test')).toContain('spf.orphan-record');
    expect(await codes('loop.test')).toContain('spf.include-loop');
    expect(await codes('void.test')).toEqual(expect.arrayContaining(['spf.void-lookup', 'spf.too-many-void-lookups']));
    expect(await codes('pass.test')).toContain('spf.pass-all');
    expect(await codes('neutral.test')).toContain('spf.neutral-all');
    expect(await codes('noall.test')).toContain('spf.no-all');
    expect(await codes('redir.test')).toContain('spf.redirect-with-all');
    expect(await codes('incnone.test')).toContain('spf.include-no-record');
    expect(await codes('ptr.test')).toContain('spf.ptr');
    expect(await codes('mx11.test')).toContain('spf.mx-too-many-names');
    expect(await codes('big.test')).toContain('spf.answer-too-large');
    expect(await codes('type99.test')).toContain('spf.type99-record');
    expect(await codes('exp.test')).toContain('spf.exp-target');
  });

  it('a-first asks AAAA only where A answers NODATA, with the same findings; probeOrphans: false sends no probes', async () => {
    const asking = (): { resolver: Resolver; asked: string[] } => {
      const asked: string[] = [];
      const fresh = freshResolver();
      return { asked, resolver: { lookup: (name, type) => (asked.push(`${name} ${type}`), fresh.lookup(name, type)) } };
    };
    for (const domain of ['fam.test', 'void.test', 'many.test', 'good.test', 'orphan.test']) {
      const both = await validateSpf(resolver, domain);
      const quick = await validateSpf(resolver, domain, { addressLookups: 'a-first' });
      expect(quick.findings).toEqual(both.findings);
      expect(quick.lookups).toBe(both.lookups);
      expect(quick.voidLookups).toBe(both.voidLookups);
    }
    const fam = await validateSpf(resolver, 'fam.test');
    expect(fam.findings.filter((f) => f.code === 'spf.void-lookup').map((f) => f.subject)).toEqual(['fam.test a:gone.fam.test']);
    expect(fam.findings.find((f) => f.code === 'spf.mx-host-no-address')?.message).toContain('dead.fam.test');
    expect(fam.tree?.costs.find((c) => c.term === 'a:v4.fam.test')?.note).toMatch(/IPv4 only/);

    const q = asking();
    await validateSpf(q.resolver, 'fam.test', { addressLookups: 'a-first', probeOrphans: false });
    // An address, or NXDOMAIN (which holds for every type), decides without AAAA; NODATA does not.
    expect(q.asked).not.toContain('v4.fam.test AAAA');
    expect(q.asked).not.toContain('gone.fam.test AAAA');
    expect(q.asked).not.toContain('dead.fam.test AAAA');
    expect(q.asked).toContain('v6.fam.test AAAA');
    expect(q.asked.filter((k) => k.startsWith('_spf.') || k.endsWith(' SPF'))).toEqual([]);
    const full = asking();
    await validateSpf(full.resolver, 'fam.test');
    expect(full.asked).toEqual(expect.arrayContaining(['v4.fam.test AAAA', '_spf.fam.test TXT', 'fam.test SPF']));
    expect((await validateSpf(resolver, 'orphan.test', { probeOrphans: false })).findings.map((f) => f.code)).not.toContain('spf.orphan-record');
  });

  it('walks a shared include once per run and reports exactly what a fresh walk reports', async () => {
    const shared = freshResolver();
    const domains = ['many.test', 'many2.test', 'good.test', 'chain.test', 'keepme.test', 'loop.test', 'fam.test', 'redir.test'];
    const summary = (r: Awaited<ReturnType<typeof validateSpf>>) => ({ findings: r.findings, lookups: r.lookups, voidLookups: r.voidLookups, all: r.effectiveAll });
    const first = [];
    for (const d of domains) first.push(summary(await validateSpf(shared, d)));
    const sent = shared.queriesSent;
    for (const [i, d] of domains.entries()) {
      // Again through the same resolver (subtrees reused), and through a new one (walked afresh).
      expect(summary(await validateSpf(shared, d))).toEqual(first[i]);
      const fresh = freshResolver();
      expect(summary(await validateSpf(fresh, d))).toEqual(first[i]);
    }
    expect(shared.queriesSent).toBe(sent);
    expect(first[1]!.lookups).toBe(10); // include:c1.test reuses the c1..c10 chain walked for many.test
    expect(first[0]!.lookups).toBe(12);
  });

  it('shares a walked include between the scopes of one resolver (each domain of a bulk run has its own)', async () => {
    const shared = new DnsResolver({ servers: [{ host: server.host, port: server.port }], timeoutMs: 1000, deadlineMs: 5000 });
    const [a, b] = [shared.scope(), shared.scope()];
    const first = await validateSpf(a, 'many.test');
    const second = await validateSpf(b, 'many.test');
    a.end();
    b.end();
    expect(second.findings).toEqual(first.findings);
    // The same node objects: the second scope took the first one's walk instead of walking again.
    expect(second.tree!.children[0]).toBe(first.tree!.children[0]);
    expect((await validateSpf(freshResolver(), 'many.test')).tree!.children[0]).not.toBe(first.tree!.children[0]);
  });

  it("keeps a scope's own names (at or under its subject) to that scope, and shares every other name through the cache", async () => {
    const shared = new DnsResolver({ servers: [{ host: server.host, port: server.port }], timeoutMs: 1000, deadlineMs: 5000 });
    const [a, b] = [shared.scope('many.test'), shared.scope('many.test')];
    const own = await a.lookup('many.test', 'TXT');
    expect(await a.lookup('MANY.test.', 'TXT')).toBe(own);
    expect(shared.queriesSent).toBe(1);
    // Another scope of the same subject asks again: a domain's own answers never reach the shared cache...
    expect((await b.lookup('many.test', 'TXT')).records).toEqual(own.records);
    expect(shared.queriesSent).toBe(2);
    // ...but while the scope lives, an asker for whom the name is not its own (the resolver itself, a
    // subdomain's scope: DMARC's fallback to the organizational domain) takes the answer it keeps.
    expect(await shared.lookup('many.test', 'TXT')).toBe(own);
    const sub = shared.scope('sub.many.test');
    expect(await sub.lookup('many.test', 'TXT')).toBe(own);
    sub.end();
    expect(shared.queriesSent).toBe(2);
    // A name elsewhere (an include target) is asked once for all of them...
    const target = await a.lookup('c1.test', 'TXT');
    expect(await b.lookup('c1.test', 'TXT')).toBe(target);
    expect(await shared.lookup('c1.test', 'TXT')).toBe(target);
    expect(shared.queriesSent).toBe(3);
    // ...and a domain whose own name it is takes it from the cache rather than asking again.
    const c1 = shared.scope('c1.test');
    expect(await c1.lookup('c1.test', 'TXT')).toBe(target);
    c1.end();
    expect(shared.queriesSent).toBe(3);
    a.end();
    b.end();
    // Once the scope has ended its answers are gone with it (they never were in the cache): asked again.
    expect((await shared.lookup('many.test', 'TXT')).records).toEqual(own.records);
    expect(shared.queriesSent).toBe(4);
  });

  it('does not reuse a subtree walked through another resolver that routes names differently', async () => {
    const outer = freshResolver();
    // Like verify's per-zone resolvers: the same outer resolver (and answer objects) for shared names,
    // its own view of one name (here it has no address).
    const routed: Resolver = {
      lookup: (name, type) =>
        name === 'mail.memo-a.test'
          ? Promise.resolve({ name, type, status: 'nxdomain', records: [], ttl: null, authoritative: true, server: null, cnameChain: [] })
          : outer.lookup(name, type),
    };
    const viaOuter = await validateSpf(outer, 'memo-a.test');
    expect(viaOuter.findings.map((f) => f.code)).not.toContain('spf.void-lookup');
    const viaRouted = await validateSpf(routed, 'memo-a.test');
    expect(viaRouted.findings.map((f) => f.code)).toContain('spf.void-lookup');
    expect(viaRouted.voidLookups).toBe(1);
  });

  it('does not count redirect next to all, nor exp', async () => {
    expect((await validateSpf(resolver, 'redir.test')).lookups).toBe(0);
    expect((await validateSpf(resolver, 'exp.test')).lookups).toBe(0);
  });

  it('counts a macro target without resolving it', async () => {
    const r = await validateSpf(resolver, 'macro.test');
    expect(r.lookups).toBe(1);
    expect(r.findings.map((f) => f.code)).toContain('spf.macro');
    expect(r.findings.filter((f) => f.severity === 'error')).toEqual([]);
  });

  it('gives syntax errors their column, and says when strings were glued', async () => {
    const syn = (await validateSpf(resolver, 'syntax.test')).findings.find((f) => f.code === 'spf.syntax')!;
    expect(syn.message).toContain('column 24');
    const glued = (await validateSpf(resolver, 'split.test')).findings.find((f) => f.code === 'spf.syntax')!;
    expect(glued.message).toMatch(/join them with nothing in between/);
  });

  it('reports a timeout as a temporary error, never as "no record"', async () => {
    const top = await validateSpf(resolver, 'slow.test');
    expect(top.dnsUnavailable).toBe(true);
    expect(top.findings.map((f) => f.code)).toEqual(['spf.temperror']);
    const inc = await validateSpf(resolver, 'slowinc.test');
    expect(inc.dnsUnavailable).toBe(false);
    expect(inc.findings.map((f) => f.code)).toContain('spf.temperror');
    expect(inc.findings.map((f) => f.code)).not.toContain('spf.include-no-record');
  });

  it('sizes a TXT answer as on the wire', () => {
    // header 12 + question (example.com = 13, +4) + one RR (2 + 10 + 1 + 11)
    expect(txtAnswerSize('example.com', [['v=spf1 -all']])).toBe(12 + 13 + 4 + 2 + 10 + 1 + 11);
  });
});

describe('checkHost', () => {
  it('names the matched term, the explanation and the lookups', async () => {
    const v = await checkHost(resolver, { ip: '203.0.113.9', domain: 'good.test', sender: 'alice@good.test', helo: 'mail.good.test' });
    expect(v.result).toBe('fail');
    expect(v.matched).toEqual({ term: '-all', domain: 'good.test', record: 'v=spf1 ip4:192.0.2.0/24 include:prov.test -all' });
    expect(v.explanationSource).toBe('default');
    expect(v.explanation).toContain('203.0.113.9');
    expect(v.lookups).toBe(1);
    const pass = await checkHost(resolver, { ip: '198.51.100.20', domain: 'good.test' });
    expect(pass.result).toBe('pass');
    expect(pass.matched?.term).toBe('include:prov.test');
  });

  it('returns temperror, not none, when the server does not answer', async () => {
    expect((await checkHost(resolver, { ip: '192.0.2.1', domain: 'slow.test' })).result).toBe('temperror');
  });
});

/** Serve flattened records next to the original zone and compare results address by address. */
async function sameResults(domain: string, flatRecords: { name: string; value: string; strings: string[] }[], ips: string[]): Promise<void> {
  const replaced = new Set(flatRecords.map((r) => r.name));
  const records = [...zone.filter((r) => !(replaced.has(r.name) && r.type === 'TXT')), ...flatRecords.map((r) => txt(r.name, r.value, r.strings))];
  const flatServer = await startServer({ records, zones: [''] });
  try {
    const flatResolver = new LocalResolver(flatServer);
    for (const ip of ips) {
      const before = await checkHost(resolver, { ip, domain });
      const after = await checkHost(flatResolver, { ip, domain });
      expect(`${ip} ${after.result}`).toBe(`${ip} ${before.result}`);
      expect(after.lookups).toBeLessThanOrEqual(10);
    }
  } finally {
    await flatServer.close();
  }
}

describe('flattenSpf', () => {
  it('inlines includes with their qualifier, rewrites bare a, drops duplicates', async () => {
    const r = await flattenSpf(resolver, 'flat.test');
    expect(r.records).toHaveLength(1);
    expect(r.records[0]!.value).toBe('v=spf1 mx ip4:192.0.2.0/25 ip6:2001:db8::/32 a:p1.test ip4:198.51.100.0/24 ~ip4:203.0.113.0/26 -all');
    expect(r.lookups).toBe(2);
    expect(r.dependencies.map((d) => d.domain)).toEqual(['p1.test', 'p2.test', 'p2b.test', 'p3.test']);
    expect(r.warnings.some((w) => w.includes('p3.test') && w.includes('flatten again'))).toBe(true);
    await sameResults('flat.test', r.records, ['192.0.2.1', '192.0.2.200', '203.0.113.77', '198.51.100.5', '203.0.113.10', '203.0.113.100', '2001:db8::5', '2001:db9::1']);
  });

  it('splits into a chain of included records within 255 octets', async () => {
    const r = await flattenSpf(resolver, 'chain.test');
    expect(r.records.length).toBeGreaterThan(2);
    expect(r.records[0]!.name).toBe('chain.test');
    expect(r.records[1]!.name).toBe('_spf1.chain.test');
    for (const rec of r.records) {
      expect(Buffer.byteLength(rec.value)).toBeLessThanOrEqual(255);
      expect(rec.strings).toHaveLength(1);
    }
    expect(r.lookups).toBe(r.records.length - 1);
    await sameResults('chain.test', r.records, ['10.0.1.1', '10.39.255.1', '10.40.0.1', '192.0.2.1']);
  });

  it('keeps includes it cannot inline, and follows a top-level redirect keeping its all', async () => {
    const r = await flattenSpf(resolver, 'keepme.test');
    expect(r.records[0]!.value).toBe('v=spf1 include:neg.test include:mac.test ip4:192.0.2.9 a:r.test ip4:198.51.100.9 ~all');
    expect(r.kept.map((k) => k.term)).toEqual(['include:neg.test', 'include:mac.test']);
    expect(r.kept[0]!.reason).toMatch(/-ip4/);
    await sameResults('keepme.test', r.records, ['192.0.2.9', '192.0.2.10', '192.0.5.1', '203.0.113.5', '198.51.100.9', '8.8.8.8']);
  });

  it('refuses a record that is already broken', async () => {
    await expect(flattenSpf(resolver, 'incnone.test')).rejects.toBeInstanceOf(FlattenError);
    await expect(flattenSpf(resolver, 'slow.test')).rejects.toMatchObject({ temporary: true });
  });
});
