/** A commented starter plan, so a first-time user sees every choice with its default. */
import { isIP } from 'node:net';
import { InputError } from '../errors.js';
import { domainNameProblem, normalizeName } from '../names.js';
import { DKIM_ALGORITHMS, DMARC_POLICIES, type DkimAlgorithm, type DmarcPolicy } from './types.js';

export interface StarterOptions {
  domain: string;
  ip4: string[];
  ip6: string[];
  include: string[];
  mx: string[];
  selector: string;
  dkimAlg: DkimAlgorithm;
  dmarcPolicy: DmarcPolicy;
  rua: string[];
  /** Addresses of the first mail host, when it lies inside the domain. */
  mxAddresses?: string[];
}

const list = (items: string[]): string => `[${items.map((i) => JSON.stringify(i)).join(', ')}]`;

function checkDomain(name: string, flag: string): string {
  const problem = domainNameProblem(name);
  if (problem) throw new InputError(`${flag} "${name}" ${problem}`);
  return normalizeName(name);
}

export function starterPlan(o: StarterOptions): string {
  const domain = checkDomain(o.domain, 'domain');
  for (const a of o.ip4) if (isIP(a.split('/')[0]!) !== 4) throw new InputError(`--ip4 "${a}" is not an IPv4 address or network`);
  for (const a of o.ip6) if (isIP(a.split('/')[0]!) !== 6) throw new InputError(`--ip6 "${a}" is not an IPv6 address or network`);
  o.include.forEach((d) => checkDomain(d, '--include'));
  o.mx.forEach((d) => checkDomain(d, '--mx'));
  if (!DKIM_ALGORITHMS.includes(o.dkimAlg)) throw new InputError(`--dkim-alg must be one of ${DKIM_ALGORITHMS.join(', ')}`);
  if (!DMARC_POLICIES.includes(o.dmarcPolicy)) throw new InputError(`--dmarc-policy must be one of ${DMARC_POLICIES.join(', ')}`);
  const rua = o.rua.map((r) => (r.includes(':') ? r : `mailto:${r}`));
  const mx = o.mx.length ? o.mx : [`mail.${domain}`];
  return `# maildns plan for ${domain}, written by \`maildns init\`.
# Edit it, then: maildns keygen; maildns records; maildns verify.
version: 1
defaults:
  ttl: 3600                 # seconds; lower it (300) before changing records, raise it afterwards
  keys_dir: keys            # DKIM private keys go to keys/<domain>/<selector>.private

domains:
  - domain: ${domain}
    # Mail servers that receive mail for the domain, lowest priority first.
    mx:
${mx.map((h, i) => `      - host: ${h}\n        priority: ${10 * (i + 1)}${i === 0 && o.mxAddresses?.length ? `\n        addresses: ${list(o.mxAddresses)}` : ''}`).join('\n')}
    # SPF (RFC 7208): who may send mail as @${domain}.
    spf:
      ip4: ${list(o.ip4)}      # addresses of your own sending hosts
      ip6: ${list(o.ip6)}
      mx: ${o.ip4.length + o.ip6.length === 0 ? 'true ' : 'false'}                 # true: the MX hosts may send too (costs DNS lookups)
      include: ${list(o.include)}  # a relay or provider's SPF, e.g. _spf.provider.example
      all: "-all"               # -all rejects everyone else; ~all only marks them
    # DKIM: one entry per selector; \`maildns keygen\` creates the keys.
    dkim:
      - selector: ${o.selector}
        algorithm: ${o.dkimAlg}   # rsa-2048 (default), rsa-4096, rsa-1024 (weak) or ed25519
    # DMARC (RFC 7489 / RFC 9989): what receivers do when SPF and DKIM both fail to align.
    dmarc:
      p: ${o.dmarcPolicy}             # start with none, then quarantine, then reject
      np: reject                # non-existent subdomains never send mail
      rua: ${list(rua)}     # where aggregate reports go
`;
}
