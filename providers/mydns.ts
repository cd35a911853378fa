/**
 * `mydns`: the rows to type into a MyDNS-style web form (Hostname | Type | Content, MX with its
 * priority). Hostnames are relative to the domain and empty for the domain itself; content is
 * one unquoted, unsplit string, because the form stores what is typed as one value.
 */
import { relativeName } from '../src/names.js';
import { parseMxValue, type DnsRecord } from '../src/records.js';
import type { OutputProvider } from './types.js';

/**
 * The form's content field limit is not documented; values over one character-string (255
 * octets) are where web forms are known to cut or reject (anchors c.3). Flag them and let
 * `maildns verify` prove what arrived.
 */
const SAFE_FIELD_OCTETS = 255;

interface Row {
  hostname: string;
  type: string;
  content: string;
  priority: string;
}

function toRow(rec: DnsRecord, domain: string): Row {
  const rel = relativeName(rec.name, domain);
  const hostname = rel === '@' ? '' : (rel ?? `${rec.name}.`);
  if (rec.type === 'MX') {
    const mx = parseMxValue(rec.value);
    return { hostname, type: 'MX', content: mx.exchange, priority: String(mx.priority) };
  }
  return { hostname, type: rec.type, content: rec.value, priority: '' };
}

function table(rows: Row[]): string {
  const head: Row = { hostname: 'Hostname', type: 'Type', content: 'Content', priority: 'Priority' };
  const all = [head, ...rows];
  const w = {
    hostname: Math.max(...all.map((r) => r.hostname.length)),
    type: Math.max(...all.map((r) => r.type.length)),
    priority: Math.max(...all.map((r) => r.priority.length)),
  };
  const line = (r: Row): string => `${r.hostname.padEnd(w.hostname)} | ${r.type.padEnd(w.type)} | ${r.priority.padEnd(w.priority)} | ${r.content}`.trimEnd();
  const rule = `${'-'.repeat(w.hostname)}-+-${'-'.repeat(w.type)}-+-${'-'.repeat(w.priority)}-+-${'-'.repeat(7)}`;
  return [line(head), rule, ...rows.map(line)].join('\n');
}

export const mydnsProvider: OutputProvider = {
  name: 'mydns',
  describe: 'rows to type into a MyDNS-style DNS web form (Hostname | Type | Content)',
  limits: { types: ['A', 'AAAA', 'CNAME', 'MX', 'TXT'] },
  render(domains, opts) {
    const warnings: string[] = [];
    const blocks = domains.map((d) => {
      const records = d.records.filter((r) => r.type !== 'SOA' && r.type !== 'NS');
      const rows = records.map((r) => toRow(r, d.domain));
      if (opts.tsv) return rows.map((r) => [r.hostname, r.type, r.content, r.priority].join('\t')).join('\n');
      const notes: string[] = [];
      if (rows.some((r) => r.hostname === '')) notes.push('An empty Hostname means the domain itself: leave the Hostname field blank for those rows.');
      for (const r of records) {
        const octets = Buffer.byteLength(r.value, 'utf8');
        if (r.type === 'TXT' && octets > SAFE_FIELD_OCTETS) {
          const host = toRow(r, d.domain).hostname || '(domain itself)';
          notes.push(
            `${host} TXT is ${octets} characters. Paste it whole, without quotes; if the form refuses it or cuts it, ` +
              `the record will not work: check with \`maildns verify\` after saving.`,
          );
          warnings.push(`${r.name} TXT is ${octets} characters: some web forms cut values over ${SAFE_FIELD_OCTETS}; verify after saving`);
        }
      }
      const body = `# ${d.domain}\n${table(rows)}`;
      return notes.length ? `${body}\n\nNotes:\n${notes.map((n) => `- ${n}`).join('\n')}` : body;
    });
    return { text: `${blocks.join('\n\n')}\n`, warnings };
  },
};
