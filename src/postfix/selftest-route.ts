/**
 * The route `maildns selftest` needs: with a relayhost, Postfix hands every message for another
 * domain to the relay, an address literal such as probe@[127.0.0.2] included. One transport_maps
 * entry sends mail for that literal (and nothing else) to a master.cf service that speaks plain SMTP
 * to the loopback address, where selftest listens for the duration of a test. No engine code here,
 * so the CLI's help can show the defaults.
 */

export interface SelftestRoute {
  /** An IPv4 loopback address (127.0.0.0/8): the probe's address literal and the listener's address. */
  host: string;
  port: number;
}

export const SELFTEST_SERVICE = 'maildns-selftest';
/** 127.0.0.2 is on every Linux loopback, and no daemon listens there unless told to. */
export const DEFAULT_SELFTEST_ROUTE: SelftestRoute = { host: '127.0.0.2', port: 11025 };

/** `[127.0.0.2]`: the domain of the probe's address, and the transport map's key. */
export function routeDomain(route: SelftestRoute): string {
  return `[${route.host}]`;
}

/** `maildns-selftest:[127.0.0.2]:11025`: the transport and next hop Postfix delivers the probe to. */
function routeTransport(route: SelftestRoute): string {
  return `${SELFTEST_SERVICE}:[${route.host}]:${route.port}`;
}

/** The transport_maps value: an inline table, so there is no file to write or postmap. */
export function routeTransportMaps(route: SelftestRoute): string {
  return `inline:{ ${routeDomain(route)}=${routeTransport(route)} }`;
}

/** `127.0.0.2:11025`, for flags; null unless the address is in 127.0.0.0/8 and the port valid. */
export function parseRoute(text: string): SelftestRoute | null {
  const m = /^(\d{1,3}(?:\.\d{1,3}){3}):(\d{1,5})$/.exec(text.trim());
  if (!m || !isLoopbackAddress(m[1]!)) return null;
  const port = Number(m[2]);
  if (port < 1 || port > 65535) return null;
  return { host: m[1]!, port };
}

/** IPv4 loopback only: the listener must never be reachable from another machine. */
export function isLoopbackAddress(host: string): boolean {
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host) && host.split('.').every((x) => Number(x) <= 255 && !/^0\d/.test(x));
}
