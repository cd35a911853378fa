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
  priority: string;
  content: string;
}

/** The form's field order; the table and the tab-separated rows both follow it. */
const COLUMNS: readonly (keyof Row)[] = ['hostname', 'type', 'priority', 'content'];
const HEAD: Row = { hostname: 'Hostname', type: 'Type', priority: 'Priority', content: 'Content' };

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
  const all = [HEAD, ...rows];
  const width = (c: keyof Row): number => Math.max(...all.map((r) => r[c].length));
  // The last column is not padded: content runs to the end of the line.
  const widths = COLUMNS.map((c, i) => (i === COLUMNS.length - 1 ? 0 : width(c)));
  const line = (r: Row): string => COLUMNS.map((c, i) => r[c].padEnd(widths[i]!)).join(' | ').trimEnd();
  const rule = COLUMNS.map((c, i) => '-'.repeat(i === COLUMNS.length - 1 ? HEAD[c].length : widths[i]!)).join('-+-');
  return [line(HEAD), rule, ...rows.map(line)].join('\n');
}

export const mydnsProvider: OutputProvider = {
  name: 'mydns',
  describe: 'rows to type into a MyDNS-style DNS web form (Hostname | Type | Content)',
  limits: { types: ['A', 'AAAA', 'CNAME', 'MX', 'TXT'] },
  options: ['tsv'],
  render(domains, opts) {
    const warnings: string[] = [];
    const blocks = domains.map((d) => {
      const records = d.records.filter((r) => r.type !== 'SOA' && r.type !== 'NS');
      const rows = records.map((r) => toRow(r, d.domain));
      if (opts.tsv) return rows.map((r) => COLUMNS.map((c) => r[c]).join('\t')).join('\n');
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
