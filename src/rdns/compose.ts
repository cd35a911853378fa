/**
 * Reverse DNS of sending hosts: the reverse-lookup name of an address (RFC 1035 §3.5 in-addr.arpa,
 * RFC 3596 §2.5 ip6.arpa) and the PTR records a plan asks the address's owner to publish.
 */
import { parseIp, readableForm, reverseName } from '../spf/ip.js';
import type { DnsRecord } from '../records.js';

/** The name whose PTR record names the host at `address`; null when it is not an address. */
export function reverseLookupName(address: string): string | null {
  const ip = parseIp(address);
  return ip ? reverseName(ip) : null;
}

/** One text form per address (RFC 5952 for IPv6, IPv4-mapped as IPv4), so forms compare equal. */
export function canonicalIp(address: string): string | null {
  const ip = parseIp(address);
  return ip ? readableForm(ip) : null;
}

/**
 * The PTR records the plan's sending hosts need, one per host with a HELO name. They live in the
 * reverse zone of whoever holds the address block (the hosting provider, usually), not in the
 * domain's own zone.
 */
export function composePtrRecords(hosts: readonly { address: string; helo?: string }[], ttl: number): DnsRecord[] {
  return hosts.flatMap((h) => {
    const name = h.helo ? reverseLookupName(h.address) : null;
    return name && h.helo ? [{ name, type: 'PTR' as const, ttl, value: h.helo, purpose: 'rdns' }] : [];
  });
}
