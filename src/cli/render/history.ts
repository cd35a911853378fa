/** `maildns history`: the changes between recorded runs, grouped by the run that saw them. */
import type { HistoryReport } from '../../history/query.js';
import { changeLine } from './changes.js';

const when = (iso: string): string => iso.replace('T', ' ').slice(0, 16);

export function renderHistory(h: HistoryReport, color: boolean): string {
  const lines: string[] = [];
  const runs = new Map(h.runs.map((r) => [r.id, r]));
  const width = Math.min(40, Math.max(0, ...h.changes.map((c) => c.domain.length)));
  let current = -1;
  for (const c of h.changes) {
    if (c.run !== current) {
      current = c.run;
      const r = runs.get(c.run);
      const scope = r?.shard ? `, shard ${r.shard.index}/${r.shard.count}` : '';
      lines.push(`${lines.length ? '\n' : ''}run ${c.run}, ${when(c.at)} UTC${r ? ` (${r.domains} domains${scope}: ${r.pass} pass, ${r.fail} fail, ${r.dnsError} DNS?)` : ''}`);
    }
    lines.push(`  ${changeLine(c, color, width)}`);
  }
  const span = h.runs.length ? `${h.runs.length} run${h.runs.length === 1 ? '' : 's'} from ${when(h.runs[0]!.startedAt)} to ${when(h.runs.at(-1)!.startedAt)} UTC` : 'no complete run';
  const about = h.domain ? ` for ${h.domain} (${h.results?.length ?? 0} result${h.results?.length === 1 ? '' : 's'})` : '';
  const tail = [
    `${h.changes.length} change${h.changes.length === 1 ? '' : 's'}${about} in ${span}`,
    h.firstSeenPassing ? `${h.firstSeenPassing} passing domain${h.firstSeenPassing === 1 ? '' : 's'} recorded for the first time` : '',
    h.incomplete ? `${h.incomplete} run${h.incomplete === 1 ? '' : 's'} that did not complete (stopped or crashed) left out` : '',
  ].filter(Boolean);
  lines.push(`${lines.length ? '\n' : ''}${tail.join('; ')}`);
  return `${lines.join('\n')}\n`;
}
