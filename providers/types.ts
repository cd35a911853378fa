/**
 * The one interface every output or DNS-provider back-end implements. Providers only render
 * (or, later, apply) records composed elsewhere; they declare what their target cannot
 * represent so the problem is reported before any output, never silently truncated.
 */
import type { ComposedDomain } from '../src/plan/records.js';
import type { DnsRecord } from '../src/records.js';

export interface RenderOptions {
  /** Tab-separated rows instead of an aligned table (table-shaped outputs). */
  tsv?: boolean;
  /** A complete zone with SOA and NS (zone output). */
  fullZone?: boolean;
}

export interface Rendered {
  text: string;
  /** Records the target cannot hold as they are (a type it lacks, a value over its limit): the output would not work. */
  problems: string[];
  /** Remarks for the operator, printed on stderr so stdout stays clean for pipes. */
  warnings: string[];
}

interface ProviderLimits {
  /** Record types the target can hold. */
  types: readonly DnsRecord['type'][];
  /** Longest TXT value (octets) one field accepts, when the target has such a limit. */
  maxTxtOctets?: number;
}

export interface OutputProvider {
  name: string;
  describe: string;
  limits: ProviderLimits;
  render(domains: readonly ComposedDomain[], opts: RenderOptions): Omit<Rendered, 'problems'>;
  /** The options this format takes; any other is refused before rendering. */
  options: readonly (keyof RenderOptions)[];
}

/** Problems a record would meet at this provider, as plain sentences (empty when it fits). */
export function auditRecord(limits: ProviderLimits, rec: DnsRecord): string[] {
  const problems: string[] = [];
  if (!limits.types.includes(rec.type)) problems.push(`${rec.name} ${rec.type}: this target cannot hold ${rec.type} records`);
  const octets = Buffer.byteLength(rec.value, 'utf8');
  if (rec.type === 'TXT' && limits.maxTxtOctets !== undefined && octets > limits.maxTxtOctets) {
    problems.push(`${rec.name} TXT is ${octets} octets, more than the ${limits.maxTxtOctets} this target takes in one field`);
  }
  return problems;
}
