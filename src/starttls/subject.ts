/** The subject of findings about one STARTTLS probe: the MX host, then the address and port it was reached at. */
import { formatServer } from '../dns/wire.js';

export function probeSubject(probe: { host: string; address: string | null; port: number }): string {
  // An IPv6 address in brackets (RFC 3986 §3.2.2): "::1:25" reads as an address alone.
  return `${probe.host} (${probe.address === null ? `port ${probe.port}` : formatServer({ host: probe.address, port: probe.port })})`;
}
