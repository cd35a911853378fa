/**
 * Text rendering of a DMARC check: the record, its meaning tag by tag, the policy that applies and
 * the findings. Records and what is read from them come from DNS: printable() keeps their control
 * characters from acting on the terminal.
 */
import { printable } from '../../findings.js';
import { paint, renderFindings, useColor } from './output.js';
import { explainDmarc } from '../../dmarc/explain.js';
import type { DmarcCheck } from '../../dmarc/validate.js';

/** Text report for one checked domain. */
export function renderDmarcCheck(check: DmarcCheck, color = useColor()): string {
  const lines: string[] = [];
  lines.push(paint(`DMARC for ${printable(check.domain)}`, 'bold', color) + paint(`  (RFC ${check.mode} rules)`, 'dim', color));
  if (check.parsed) {
    lines.push(printable(`record  ${check.name}  "${check.parsed.text}"`));
    lines.push('');
    lines.push('meaning:');
    const meanings = explainDmarc(check.parsed);
    const width = Math.max(...meanings.map((m) => `${m.tag}=${m.value}`.length));
    for (const m of meanings) lines.push(printable(`  ${`${m.tag}=${m.value}`.padEnd(width)}  ${m.meaning}`));
  } else if (check.lookup.dmarc.length > 1) {
    lines.push(printable(`records at ${check.name}:`));
    for (const t of check.lookup.dmarc) lines.push(printable(`  "${t}"`));
  } else if (!check.lookup.temporary) {
    lines.push(printable(`no DMARC record at ${check.name}`));
  }
  const disc = check.discovery;
  lines.push('');
  lines.push('policy that applies:');
  if (disc.status === 'found') {
    const applied = disc.appliedPolicy !== disc.policy ? ` (applied as ${disc.appliedPolicy})` : '';
    lines.push(printable(`  ${disc.policy}${applied} from ${disc.recordName} (rule ${disc.rule})`));
  } else lines.push(`  ${disc.status === 'temperror' ? 'unknown (DNS failed)' : 'none'}`);
  lines.push(printable(`  why: ${disc.reason}`));
  lines.push(printable(`  organizational domain: ${disc.orgDomain}`));
  for (const s of disc.steps) lines.push(paint(printable(`  - ${s}`), 'dim', color));
  const external = check.destinations.filter((d) => !d.internal);
  if (external.length) {
    lines.push('');
    lines.push('external report destinations:');
    for (const d of external) lines.push(printable(`  ${d.tag} ${d.destination}: ${d.status} (${d.authorizationName})`));
  }
  lines.push('');
  lines.push(renderFindings(check.findings, color));
  return `${lines.join('\n')}\n`;
}
