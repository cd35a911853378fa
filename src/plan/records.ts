/** Turn a plan into the records it asks for: the input of every provider and of `verify`. */
import { existsSync, readFileSync } from 'node:fs';
import { isIPv6 } from 'node:net';
import { InputError } from '../errors.js';
import { composeDkimRecord, publicKeyFromPem } from '../dkim/record.js';
import { composeDmarc, reportAuthorizationName } from '../dmarc/compose.js';
import { normalizeName } from '../names.js';
import { mxValue, soaValue, type DnsRecord } from '../records.js';
import { composeSpf } from '../spf/compose.js';
import { ownLookupCount, parseSpf, SPF_LOOKUP_LIMIT } from '../spf/parse.js';
import { keyPathFor } from './selectors.js';
import type { DomainPlan, Plan } from './types.js';

export interface ComposedDomain {
  domain: string;
  records: DnsRecord[];
  /** Things the operator should know, e.g. a DKIM selector with no key yet. */
  notes: string[];
}

export interface ComposeOptions {
  /** Add SOA and NS so the result is a complete zone. */
  fullZone?: boolean;
  /** SOA serial for a full zone; defaults to today's date as YYYYMMDD01. */
  serial?: number;
}

function absoluteName(name: string, domain: string): string {
  if (name === '@' || name === '') return domain;
  if (name.endsWith('.')) return normalizeName(name);
  return normalizeName(`${name}.${domain}`);
}

export function dateSerial(now = new Date()): number {
  const ymd = now.toISOString().slice(0, 10).replace(/-/g, '');
  return Number(`${ymd}01`);
}

export function composeDomain(plan: Plan, d: DomainPlan, opts: ComposeOptions = {}): ComposedDomain {
  const records: DnsRecord[] = [];
  const notes: string[] = [];
  const add = (name: string, type: DnsRecord['type'], value: string, purpose: string, ttl = d.ttl): void => {
    records.push({ name, type, ttl, value, purpose });
  };

  const addresses = (host: string, list: string[], purpose: string): void => {
    for (const a of list) add(host, isIPv6(a) ? 'AAAA' : 'A', a, purpose);
  };
  if (opts.fullZone) {
    const ns = d.nameservers;
    if (!ns.length) {
      throw new InputError(
        `a full zone for ${d.domain} needs its name servers: add "nameservers: [ns1.example.net]" to the domain in the plan, or leave out --full-zone for a fragment to paste`,
        plan.file ?? undefined,
      );
    }
    add(d.domain, 'SOA', soaValue({ mname: ns[0]!.host, rname: `hostmaster.${d.domain}`, serial: opts.serial ?? dateSerial(), refresh: 3600, retry: 900, expire: 1209600, minimum: 300 }), 'soa');
    for (const n of ns) add(d.domain, 'NS', n.host, 'ns');
    for (const n of ns) addresses(n.host, n.addresses, 'ns-address');
  }
  for (const mx of d.mx) add(d.domain, 'MX', mxValue(mx.priority, mx.host), 'mx');
  for (const mx of d.mx) addresses(mx.host, mx.addresses, 'mx-address');
  if (d.spf) {
    const spf = composeSpf(d.spf);
    add(d.domain, 'TXT', spf, 'spf');
    // What the plan itself costs; the includes may need more, which only DNS tells (`maildns verify`).
    const terms = ownLookupCount(parseSpf(spf));
    if (terms > SPF_LOOKUP_LIMIT) {
      notes.push(`the SPF record of ${d.domain} has ${terms} DNS-querying terms before counting what its includes need; receivers stop at ${SPF_LOOKUP_LIMIT} and return permerror (RFC 7208 §4.6.4): flatten includes (\`maildns spf flatten\`) or drop some`);
    }
  }
  for (const sel of d.dkim) {
    const keyPath = keyPathFor(plan, d, sel);
    const name = `${sel.selector}._domainkey.${d.domain}`;
    if (!existsSync(keyPath)) {
      notes.push(`DKIM selector "${sel.selector}" has no key yet (${keyPath}); run \`maildns keygen\` to create it`);
      continue;
    }
    const opts = { testing: sel.testing, ...(sel.hash ? { hash: sel.hash } : {}), ...(sel.service ? { service: sel.service } : {}) };
    add(name, 'TXT', composeDkimRecord(publicKeyFromPem(readFileSync(keyPath, 'utf8')), opts), `dkim:${sel.selector}`);
  }
  if (d.dmarc) add(`_dmarc.${d.domain}`, 'TXT', composeDmarc(d.dmarc), 'dmarc');
  for (const source of d.acceptReportsFor) add(reportAuthorizationName(source, d.domain), 'TXT', 'v=DMARC1', 'dmarc-report-authorization');
  for (const t of d.txt) add(absoluteName(t.name, d.domain), 'TXT', t.value, 'txt', t.ttl ?? d.ttl);
  return { domain: d.domain, records, notes };
}

export function composePlan(plan: Plan, opts: ComposeOptions = {}): ComposedDomain[] {
  return plan.domains.map((d) => composeDomain(plan, d, opts));
}
