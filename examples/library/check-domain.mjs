// maildns as a library: serve a domain's records on the embedded DNS server, then check its SPF
// and DMARC through a resolver aimed at it. Run it with `node examples/library/check-domain.mjs`
// (after `npm install`, which builds maildns); in your own project, `npm install maildns` first.
import { checkDmarcDomain, createResolver, hasFindingAtLeast, startServer, validateSpf } from 'maildns';

const records = [
  { name: 'example.com', type: 'TXT', ttl: 300, value: 'v=spf1 ip4:192.0.2.25 include:_spf.example.net -all' },
  { name: '_spf.example.net', type: 'TXT', ttl: 300, value: 'v=spf1 ip4:198.51.100.0/24 -all' },
  { name: '_dmarc.example.com', type: 'TXT', ttl: 300, value: 'v=DMARC1; p=reject; rua=mailto:dmarc@example.com' },
];
const server = await startServer({ records, zones: ['example.com', 'example.net'], host: '127.0.0.1', port: 0 });
try {
  const resolver = createResolver({ nameserver: `${server.host}:${server.port}`, timeoutMs: 1000 });
  const spf = await validateSpf(resolver, 'example.com');
  const dmarc = await checkDmarcDomain(resolver, 'example.com');
  const ok = !hasFindingAtLeast([...spf.findings, ...dmarc.findings], 'error');
  console.log(JSON.stringify({ spf: { record: spf.tree?.record, lookups: spf.lookups }, dmarc: { policy: dmarc.discovery.policy }, ok }));
  process.exitCode = ok ? 0 : 1;
} finally {
  await server.close();
}
