/**
 * The readable `maildns verify` report (the JSON form is the VerifyReport object itself). Server
 * names and zones come from DNS: printable() keeps their control characters from acting on the terminal.
 */
import { formatFinding, printable, type Finding, type Severity } from '../../findings.js';
import { paint } from './output.js';
import type { DomainVerification, RecordReport, VerifyReport } from '../../verify/run.js';
import type { ServerStatus } from '../../verify/compare.js';

/** A server's status in a few words, for the servers line (the finding says the rest). */
const SERVER_WORDS: Record<ServerStatus, string> = {
  ok: 'answered',
  nxdomain: 'lame (NXDOMAIN at the apex)',
  nodata: 'lame (no SOA at the apex)',
  servfail: 'servfail (SERVFAIL)',
  refused: 'refused (REFUSED)',
  notimp: 'notimp (NOTIMP)',
  formerr: 'formerr (FORMERR)',
  timeout: 'timeout (no answer in time)',
  malformed: 'malformed answer',
  error: 'failed',
  'not-authoritative': 'not authoritative (no AA bit)',
  lame: 'lame (not authoritative, no SOA)',
  'no-address': 'no address',
};

const rank: Record<Severity, number> = { error: 2, warning: 1, info: 0 };

function short(value: string, max = 70): string {
  return value.length > max ? `${value.slice(0, max - 3)}...` : value;
}

function recordLine(rec: RecordReport, color: boolean): string {
  const states = rec.servers.map((s) => s.state);
  const reached = states.filter((s) => s !== 'unreachable' && s !== 'delegated');
  const matched = reached.filter((s) => s === 'match').length;
  let mark: string;
  if (reached.length === 0) mark = paint('??', 'yellow', color);
  else if (matched === states.filter((s) => s !== 'delegated').length) mark = paint('ok', 'green', color);
  else if (matched > 0) mark = paint('~~', 'yellow', color);
  else mark = paint('!!', 'red', color);
  // An unreachable server with why (refused, timeout, lame...): the status of its answer, or of the server.
  const where = rec.servers.map((s) => `${s.server}: ${s.state}${s.state === 'unreachable' ? ` (${s.status})` : s.state === 'delegated' ? ` (to ${s.delegatedTo})` : ''}`).join(', ');
  return `  ${mark} ${printable(`${rec.type.padEnd(4)} ${rec.name}${rec.purpose ? ` (${rec.purpose})` : ''}`)}  ${paint(printable(`[${where}]`), 'dim', color)}\n       ${paint(printable(short(rec.planned.value)), 'dim', color)}`;
}

function paintFinding(f: Finding, color: boolean): string {
  const tint = f.severity === 'error' ? 'red' : f.severity === 'warning' ? 'yellow' : 'dim';
  const [first, ...rest] = formatFinding(f).split('\n');
  return ['  ' + paint(first!, tint, color), ...rest.map((l) => `  ${l}`)].join('\n');
}

function domainBlock(d: DomainVerification, color: boolean): string {
  const head =
    d.status === 'as-planned' ? paint('AS PLANNED', 'green', color) : d.status === 'dns-unavailable' ? paint('DNS UNAVAILABLE', 'yellow', color) : paint('PROBLEMS', 'red', color);
  const lines = [`${paint(printable(d.domain), 'bold', color)}  ${head}${d.zone && d.zone !== d.domain ? printable(`  (zone ${d.zone})`) : ''}`];
  if (d.servers.length) {
    lines.push(
      printable(`  servers: ${d.servers.map((s) => `${s.name}${s.address && s.address !== s.name ? ` (${s.address})` : ''} ${s.answered ? `serial ${s.serial ?? '?'}` : SERVER_WORDS[s.status]}`).join('; ')}`),
    );
  }
  for (const r of d.records) lines.push(recordLine(r, color));
  const findings = [...d.findings].sort((a, b) => rank[b.severity] - rank[a.severity]);
  if (findings.length) {
    lines.push('');
    for (const f of findings) lines.push(paintFinding(f, color));
  }
  return lines.join('\n');
}

export function renderVerifyReport(report: VerifyReport, color: boolean): string {
  const blocks = report.domains.map((d) => domainBlock(d, color));
  const s = report.summary;
  const verdict =
    report.outcome === 'ok'
      ? paint('everything is published as planned', 'green', color)
      : report.outcome === 'dns-unavailable'
        ? paint('DNS could not be asked: no authoritative server answered', 'yellow', color)
        : paint('problems found', 'red', color);
  blocks.push(
    `${s.domains} domain${s.domains === 1 ? '' : 's'}: ${s.asPlanned} as planned, ${s.withProblems} with problems, ${s.dnsUnavailable} DNS unavailable; ${s.errors} error${s.errors === 1 ? '' : 's'}, ${s.warnings} warning${s.warnings === 1 ? '' : 's'}, ${s.infos} note${s.infos === 1 ? '' : 's'}\n${verdict}`,
  );
  return `${blocks.join('\n\n')}\n`;
}
