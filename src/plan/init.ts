/** A commented starter plan, so a first-time user sees every choice with its default. */
import { isIP } from 'node:net';
import { InputError } from '../errors.js';
import { dkimSelectorProblem, domainNameProblem, normalizeName, sendingDomainProblem } from '../names.js';
import { spfNetworkProblem } from '../spf/ip.js';
import { reportUriFor } from '../dmarc/compose.js';
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

/** The same rules the plan loader applies to the same values (src/plan/load.ts), with the value's name in the message. */
function checkName(name: string, what: string, problemOf: (n: string) => string | null): string {
  const problem = problemOf(name);
  if (problem) throw new InputError(`${what} "${name}" ${problem}`);
  return normalizeName(name);
}

export function starterPlan(o: StarterOptions): string {
  const domain = checkName(o.domain, 'the sending domain', sendingDomainProblem);
  for (const [family, list] of [[4, o.ip4], [6, o.ip6]] as const) {
    for (const net of list) {
      const problem = spfNetworkProblem(net, family);
      if (problem) throw new InputError(`ip${family}: ${problem}`);
    }
  }
  o.include.forEach((d) => checkName(d, 'the include', domainNameProblem));
  o.mx.forEach((d) => checkName(d, 'the mail host', (n) => (isIP(n.replace(/^\[|\]$/g, '')) ? `is an address, and an MX record names a host, whose A or AAAA record holds the address: give a host name such as mail.${domain}, and add its address to the plan (mx: [{ host: mail.${domain}, addresses: [${n.replace(/^\[|\]$/g, '')}] }])` : domainNameProblem(n))));
  // Checked here because the selector is written into the YAML as it is: "mail #x" would read
  // back as "mail", a "key: value" as something else.
  const selectorProblem = dkimSelectorProblem(o.selector, domain);
  if (selectorProblem) throw new InputError(`the DKIM selector ${JSON.stringify(o.selector)} ${selectorProblem}`);
  if (!DKIM_ALGORITHMS.includes(o.dkimAlg)) throw new InputError(`the DKIM algorithm must be one of ${DKIM_ALGORITHMS.join(', ')}`);
  if (!DMARC_POLICIES.includes(o.dmarcPolicy)) throw new InputError(`the DMARC policy must be one of ${DMARC_POLICIES.join(', ')}`);
  // The plan loader's rule (reportUriFor), applied here so that a bad address is refused as given, not at a line of a plan never written.
  const rua = o.rua.map((r) => {
    const checked = reportUriFor(r, 'rua');
    if ('problem' in checked) throw new InputError(checked.problem);
    return checked.uri;
  });
  // No mail host named: a placeholder MX would be published with no address, and verify would
  // report it as an error the plan made; the entry is left commented for the operator to fill in.
  const mxEntries = o.mx.length
    ? `    mx:\n${o.mx.map((h, i) => `      - host: ${h}\n        priority: ${10 * (i + 1)}${i === 0 && o.mxAddresses?.length ? `\n        addresses: ${list(o.mxAddresses)}` : ''}`).join('\n')}`
    : `    # None yet (\`maildns init --mx HOST\`): list the domain's mail hosts before publishing, e.g.
    # mx:
    #   - host: mail.${domain}
    #     priority: 10
    #     addresses: [192.0.2.25]   # its A/AAAA records, for a host inside ${domain}`;
  // The mx mechanism stands for the senders only when there are MX hosts: with none it matches nothing (a void lookup).
  const spfMx = o.ip4.length + o.ip6.length === 0 && o.mx.length > 0;
  return `# maildns plan for ${domain}, written by \`maildns init\`.
# Edit it, then: maildns keygen; maildns records; maildns verify.
version: 1
defaults:
  ttl: 3600                 # seconds; lower it (300) before changing records, raise it afterwards
  keys_dir: keys            # DKIM private keys go to keys/<domain>/<selector>.private

domains:
  - domain: ${domain}
    # Mail servers that receive mail for the domain, lowest preference number first — the most preferred.
${mxEntries}
    # SPF (RFC 7208): who may send mail as @${domain}.
    spf:
      ip4: ${list(o.ip4)}      # addresses of your own sending hosts
      ip6: ${list(o.ip6)}
      mx: ${spfMx ? 'true ' : 'false'}                 # true: the MX hosts may send too (costs DNS lookups)
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
