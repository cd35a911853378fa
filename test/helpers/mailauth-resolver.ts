/**
 * mailauth's own DKIM verifier, which two tests hold maildns's against, takes DNS as an
 * `async (name, rrtype)` function: this adapts a Resolver to it (maildns itself never gives
 * mailauth a resolver: it checks each signature on its own).
 */
import { describeStatus, type DnsStatus, type Resolver, type RRType } from '../../src/dns/resolver.js';

/** Error codes as node:dns raises them, for libraries (mailauth) that expect that shape. */
const nodeErrorCode: Record<DnsStatus, string> = {
  ok: '',
  nxdomain: 'ENOTFOUND',
  nodata: 'ENODATA',
  servfail: 'ESERVFAIL',
  refused: 'EREFUSED',
  timeout: 'ETIMEOUT',
  malformed: 'EBADRESP',
  error: 'ESERVFAIL',
};

/** Adapt a Resolver to the `async (name, rrtype)` function mailauth takes. */
export function mailauthResolver(resolver: Resolver): (name: string, rrtype: string) => Promise<unknown[]> {
  return async (name, rrtype) => {
    const type = rrtype.toUpperCase() as RRType;
    const answer = await resolver.lookup(name, type);
    if (answer.status !== 'ok') {
      const err = new Error(`${name} ${type}: ${describeStatus(answer.status)}`) as Error & { code: string };
      err.code = nodeErrorCode[answer.status];
      throw err;
    }
    return answer.records;
  };
}
