/** `json`: the records as data for other tools. TXT values are given whole and as the 255-octet strings sent on the wire. */
import { splitCharacterStrings } from '../src/txt.js';
import type { OutputProvider } from './types.js';

export const jsonProvider: OutputProvider = {
  name: 'json',
  describe: 'the records as JSON',
  limits: { types: ['A', 'AAAA', 'CNAME', 'MX', 'NS', 'PTR', 'SOA', 'TXT', 'SPF', 'TLSA'] },
  options: [],
  render(domains) {
    const out = domains.map((d) => ({
      domain: d.domain,
      records: d.records.map((r) => ({
        name: r.name,
        type: r.type,
        ttl: r.ttl,
        value: r.value,
        ...(r.type === 'TXT' ? { strings: splitCharacterStrings(r.value).map((b) => b.toString('utf8')) } : {}),
        purpose: r.purpose ?? null,
      })),
      notes: d.notes,
    }));
    return { text: `${JSON.stringify({ version: 1, domains: out }, null, 2)}\n`, warnings: [] };
  },
};
