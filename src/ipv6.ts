/**
 * IPv6 (and IPv4) address text and octets: the one parser that turns address text into the octets
 * of an A or AAAA record, and the RFC 5952 text of 16 octets.
 */
import { isIPv4, isIPv6 } from 'node:net';

/**
 * The 16 octets of an IPv6 address in any text form RFC 4291 §2.2 allows: compressed (`::` once,
 * standing for one or more zero groups, leading or trailing too), a dotted-quad tail
 * (`::ffff:192.0.2.1`, `64:ff9b::192.0.2.33`), either case. Null for anything else, a zone index
 * (`fe80::1%eth0`, which means something on one host only and cannot be a record) included.
 */
export function parseIpv6(text: string): Uint8Array | null {
  // Written out rather than gated by net.isIPv6, whose first call compiles a large regular
  // expression (4-7 ms, once per process, in a check's first SPF ip6); test/unit/ipv6.test.ts holds
  // the two to the same answers. Two colons at least: "::" is the shortest address.
  const lastColon = text.lastIndexOf(':');
  if (text.indexOf(':') === lastColon) return null;
  let s = text;
  const tail: number[] = [];
  if (text.includes('.', lastColon)) {
    const v4 = parseIpv4(s.slice(lastColon + 1));
    if (!v4) return null;
    tail.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
    // "::192.0.2.1" keeps its "::"; "1:…:6:192.0.2.1" loses only the dotted quad.
    s = s.slice(0, s[lastColon - 1] === ':' ? lastColon + 1 : lastColon);
  }
  const group = (g: string): number | null => (/^[0-9a-fA-F]{1,4}$/.test(g) ? parseInt(g, 16) : null);
  const halves = s.split('::');
  if (halves.length > 2) return null;
  const head = halves[0] === '' ? [] : halves[0]!.split(':').map(group);
  const rest = halves.length === 1 || halves[1] === '' ? [] : halves[1]!.split(':').map(group);
  const explicit = head.length + rest.length + tail.length;
  if (halves.length === 1 ? explicit !== 8 : explicit > 7) return null;
  const groups = [...head, ...Array<number>(8 - explicit).fill(0), ...rest, ...tail];
  if (groups.some((g) => g === null)) return null;
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    out[i * 2] = g! >> 8;
    out[i * 2 + 1] = g! & 0xff;
  });
  return out;
}

/** The 4 octets of an IPv4 address in dotted-quad text (no leading zeros, as Node's isIPv4); null for anything else. */
export function parseIpv4(text: string): Uint8Array | null {
  if (!isIPv4(text)) return null;
  return Uint8Array.from(text.split('.').map(Number));
}

/**
 * net.isIPv6, without its first calls' cost (compiling a large regular expression, ~4 ms once per
 * process) for the text that cannot be IPv6, with fewer than two colons: host names, IPv4
 * addresses with or without a port. The DNS client asks this of every server before its first query.
 */
export function isIpv6Address(text: string): boolean {
  return text.indexOf(':') !== text.lastIndexOf(':') && isIPv6(text);
}

/** net.isIP as a yes or no, sparing host names the cost isIpv6Address spares them. */
export function isIpAddress(text: string): boolean {
  return isIPv4(text) || isIpv6Address(text);
}

/** IPv6 text in RFC 5952 form: lower-case hex, no leading zeros, the first longest run of 2+ zero groups as `::`. */
export function formatIpv6(bytes: Uint8Array): string {
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((bytes[i]! << 8) | bytes[i + 1]!);
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  // Pushed rather than `.map()`ed, for one elements kind (see txtValues in src/dns/resolver.ts).
  const hex: string[] = [];
  for (const g of groups) hex.push(g.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}

/**
 * Why `text` cannot be the value of an A or AAAA record, or null: the address of the record's type,
 * without a zone index. The one rule for the plan, the embedded server and `maildns records`.
 */
export function addressRecordProblem(type: 'A' | 'AAAA', text: string): string | null {
  if (type === 'A') {
    if (parseIpv4(text)) return null;
    return `"${text}" is not an IPv4 address such as 192.0.2.1${isIPv6(text) ? ' (it is IPv6: publish it as AAAA)' : ''}`;
  }
  if (parseIpv6(text)) return null;
  if (isIPv6(text) && text.includes('%')) return `"${text}" carries a zone index (${text.slice(text.indexOf('%'))}), which means something on one host only; write the address without it`;
  return `"${text}" is not an IPv6 address such as 2001:db8::1${isIPv4(text) ? ' (it is IPv4: publish it as A)' : ''}`;
}

/** 4 or 6 for an address a record can carry (a zone index is no part of one), 0 for anything else. */
export function addressFamily(text: string): 0 | 4 | 6 {
  return parseIpv4(text) ? 4 : parseIpv6(text) ? 6 : 0;
}
