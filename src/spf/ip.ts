/** Client addresses and SPF networks: parsing, prefix matching, the forms macros need, and the one check of an ip4:/ip6: value. */
import { formatIpv6, parseIpv4, parseIpv6 } from '../ipv6.js';
import { isIPv4, isIPv6 } from 'node:net';

export interface ClientIp {
  /** 4 for IPv4 (including IPv4-mapped IPv6, RFC 7208 §5), 6 otherwise. */
  family: 4 | 6;
  bytes: Uint8Array;
}

/** Parse an address; null when it is not one. IPv4-mapped IPv6 addresses count as IPv4. */
export function parseIp(text: string): ClientIp | null {
  const t = text.trim();
  const v4 = parseIpv4(t);
  if (v4) return { family: 4, bytes: v4 };
  // A client's zone index (fe80::1%eth0) says nothing about the address.
  const bytes = isIPv6(t) ? parseIpv6(t.replace(/%.*$/, '')) : null;
  if (!bytes) return null;
  const mapped = bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff;
  if (mapped) return { family: 4, bytes: bytes.slice(12) };
  return { family: 6, bytes };
}

export function inPrefix(ip: ClientIp, network: ClientIp, length: number): boolean {
  if (ip.family !== network.family) return false;
  let bits = length;
  for (let i = 0; i < ip.bytes.length && bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if ((ip.bytes[i]! & mask) !== (network.bytes[i]! & mask)) return false;
  }
  return true;
}

/** %{i}: dotted decimal, or 32 dotted nibbles for IPv6. */
export function dottedForm(ip: ClientIp): string {
  if (ip.family === 4) return [...ip.bytes].join('.');
  return [...ip.bytes].flatMap((b) => [(b >> 4).toString(16), (b & 0xf).toString(16)]).join('.');
}

/** %{c} and display: dotted decimal, or RFC 5952 text for IPv6. */
export function readableForm(ip: ClientIp): string {
  if (ip.family === 4) return [...ip.bytes].join('.');
  return formatIpv6(ip.bytes);
}

/** The reverse-lookup name (in-addr.arpa / ip6.arpa). */
export function reverseName(ip: ClientIp): string {
  const parts = dottedForm(ip).split('.').reverse();
  return `${parts.join('.')}.${ip.family === 4 ? 'in-addr' : 'ip6'}.arpa`;
}

/**
 * Why `text` cannot be the value of an SPF ip4: or ip6: term (RFC 7208 §5.6: an address without
 * leading zeros or zone index, then an optional prefix length without a leading zero, at most 32
 * or 128), or null. The one rule for the plan, `init` and `spf compose`.
 */
export function spfNetworkProblem(text: string, family: 4 | 6): string | null {
  const slash = text.indexOf('/');
  const address = slash < 0 ? text : text.slice(0, slash);
  const length = slash < 0 ? undefined : text.slice(slash + 1);
  const example = family === 4 ? '192.0.2.0/24' : '2001:db8::/32';
  const zone = address.indexOf('%');
  if (family === 6 && zone >= 0) {
    return `"${text}" carries a zone index (${address.slice(zone)}), which means something on one host only; write the address without it, such as ${example}`;
  }
  if (!(family === 4 ? isIPv4(address) : isIPv6(address))) {
    const other = family === 4 ? isIPv6(address) : isIPv4(address);
    return `"${text}" is not an IPv${family} address or network such as ${example}${other ? ` (it is IPv${family === 4 ? 6 : 4})` : ''}`;
  }
  const max = family === 4 ? 32 : 128;
  if (length !== undefined && (!/^(?:0|[1-9]\d{0,2})$/.test(length) || Number(length) > max)) {
    return `"${text}" has the prefix length /${length}; write a whole number from 0 to ${max} without leading zeros`;
  }
  return null;
}
