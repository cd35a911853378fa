import { isIPv4, isIPv6 } from 'node:net';

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
  const hex = groups.map((g) => g.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}
