/**
 * Text renderings of the SPF reports: the include tree, a check_host() verdict, a flattening, a
 * snapshot comparison and a merge. Records, terms and names come from DNS: printable() keeps their
 * control characters from acting on the terminal.
 */
import { printable } from '../../findings.js';
import { paint, renderFindings, useColor } from './output.js';
import { zoneTxtLine } from '../../txt.js';
import type { SpfVerdict } from '../../spf/evaluate.js';
import type { FlattenResult } from '../../spf/flatten.js';
import type { SnapshotComparison } from '../../spf/snapshot.js';
import type { MergeResult } from '../../spf/merge.js';
import type { SpfReport, SpfTreeNode } from '../../spf/validate.js';

function renderNode(node: SpfTreeNode, prefix: string, last: boolean, top: boolean, color: boolean): string[] {
  const lines: string[] = [];
  const branch = top ? '' : `${prefix}${last ? '└─ ' : '├─ '}`;
  // A branch costs its own term (include/redirect) plus everything below it.
  const cost = top ? node.lookups : node.lookups + 1;
  const count = paint(`[${cost} lookup${cost === 1 ? '' : 's'}]`, 'dim', color);
  const head = top ? paint(printable(node.domain), 'bold', color) : `${printable(node.via!)} `;
  const problem: Record<NonNullable<SpfTreeNode['problem']>, string> = {
    none: 'no SPF record',
    multiple: 'several SPF records',
    temperror: 'no answer (temporary error)',
    loop: 'loop',
    macro: 'macro: depends on the message',
  };
  // The top line's head has no trailing space (a branch's has), so it gets one here as on a line with a record.
  if (node.problem && node.problem !== 'multiple') lines.push(`${branch}${head}${top ? ' ' : ''}${count}  ${paint(`(${problem[node.problem]})`, node.problem === 'macro' ? 'dim' : 'red', color)}`);
  else lines.push(`${branch}${head} ${count}  ${paint(`"${printable(node.record!)}"`, 'dim', color)}`);
  const childPrefix = top ? '' : `${prefix}${last ? '   ' : '│  '}`;
  // Terms that cost lookups but have no child (a, mx, ptr, exists) are shown as leaves with notes.
  const leaves = node.costs.filter((c) => !node.children.some((ch) => ch.via === c.term));
  const items: ({ kind: 'leaf'; text: string } | { kind: 'node'; node: SpfTreeNode })[] = [
    ...leaves.map((c) => ({ kind: 'leaf' as const, text: printable(`${c.term} [${c.lookups}]${c.note ? `  ${c.note}` : ''}`) })),
    ...node.children.map((n) => ({ kind: 'node' as const, node: n })),
  ];
  items.forEach((item, i) => {
    const isLast = i === items.length - 1;
    if (item.kind === 'leaf') lines.push(`${childPrefix}${isLast ? '└─ ' : '├─ '}${item.text}`);
    else lines.push(...renderNode(item.node, childPrefix, isLast, false, color));
  });
  return lines;
}

export function renderSpfReport(report: SpfReport, color = useColor()): string {
  const lines: string[] = [];
  if (report.tree) lines.push(...renderNode(report.tree, '', true, true, color));
  lines.push('');
  const over = report.lookups > 10;
  lines.push(`DNS-querying terms: ${paint(`${report.lookups}/10`, over ? 'red' : 'green', color)}   void lookups: ${paint(`${report.voidLookups}/2`, report.voidLookups > 2 ? 'red' : 'green', color)}${report.effectiveAll ? `   default: ${printable(report.effectiveAll)}` : ''}`);
  lines.push('');
  lines.push(renderFindings(report.findings, color));
  return lines.join('\n');
}

export function renderVerdict(v: SpfVerdict): string {
  const lines = [`${v.result} ${v.ip} for ${v.domain}${v.sender ? ` (sender ${v.sender}, helo ${v.helo})` : ''}`];
  if (v.matched) lines.push(`  matched: "${v.matched.term}" in the record of ${v.matched.domain}`);
  lines.push(`  reason: ${v.reason}`);
  if (v.explanation) lines.push(`  explanation${v.explanationSource === 'default' ? ' (default)' : ''}: ${v.explanation}`);
  lines.push(`  lookups: ${v.lookups}/10, void ${v.voidLookups}/2`);
  lines.push('  trace:');
  for (const t of v.trace) lines.push(`    ${t}`);
  return lines.map(printable).join('\n');
}

export function renderFlatten(r: FlattenResult): string {
  const lines: string[] = [`; flattened SPF for ${r.domain}: ${r.lookups} DNS-querying term${r.lookups === 1 ? '' : 's'}, was "${r.original}"`];
  for (const rec of r.records) lines.push(zoneTxtLine(rec.name, rec.value));
  if (r.kept.length) {
    lines.push('', '; left as they are:');
    for (const k of r.kept) lines.push(`;   ${k.term}: ${k.reason}`);
  }
  if (r.warnings.length) {
    lines.push('', '; what to watch (a change upstream does not reach the flattened copy):');
    for (const w of r.warnings) lines.push(`;   ${w}`);
  }
  return lines.map(printable).join('\n');
}

export function renderComparison(c: SnapshotComparison, file: string, result: FlattenResult, updated: boolean, color = useColor()): string {
  const ranges = (n: number): string => `${n} range${n === 1 ? '' : 's'}`;
  if (c.verdict === 'unchanged') {
    const total = new Set(result.dependencies.flatMap((d) => d.ranges)).size;
    const lines = [`${paint('unchanged', 'green', color)}  ${printable(`${c.domain}: ${result.dependencies.length} upstream record${result.dependencies.length === 1 ? '' : 's'}, ${ranges(total)}, as in the snapshot of ${c.since} (${file})`)}`];
    for (const n of c.notes) lines.push(printable(`note: ${n}`));
    return lines.join('\n');
  }
  const lines = [`${paint('CHANGED', 'red', color)}  ${printable(`${c.domain}: what the flattened record copies moved since the snapshot of ${c.since} (${file})`)}`];
  for (const d of c.dependencies) {
    const via = d.via.join(', ');
    if (d.status === 'record-changed') continue;
    if (d.status === 'changed') lines.push(printable(`  ${d.domain} (${via}): ${d.added.length} added, ${d.removed.length} removed`));
    else if (d.status === 'appeared') lines.push(printable(`  ${d.domain} (${via}): newly copied, ${ranges(d.added.length)}`));
    else {
      const kept = result.kept.find((k) => k.term.toLowerCase().endsWith(`:${d.domain}`));
      lines.push(printable(`  ${d.domain} (${via}): no longer copied${kept ? ` (now kept as ${kept.term}: ${kept.reason})` : ''}`));
    }
    for (const r of d.added) lines.push(`    ${paint(printable(`+ ${r}`), 'green', color)}`);
    for (const r of d.removed) lines.push(`    ${paint(printable(`- ${r}`), 'red', color)}`);
  }
  if (c.recordsChanged && !c.dependencies.some((d) => d.status !== 'record-changed')) lines.push('  the flattened record differs in terms other than address ranges');
  for (const n of c.notes) lines.push(printable(`note: ${n}`));
  lines.push('', 'What to do: publish these records in place of the flattened ones (until then mail from added ranges fails SPF, and removed ranges still pass):');
  for (const rec of result.records) lines.push(zoneTxtLine(rec.name, rec.value));
  if (updated) lines.push('', `${file} now holds this state (--update): this report is the only reminder to publish.`);
  else lines.push('', `Then save the new state: maildns spf flatten ${c.domain} --compare ${file} --update`);
  return lines.join('\n');
}

export function renderMerge(inputs: string[], r: MergeResult, check: SpfReport | null, domain: string | null, color = useColor()): string {
  const lines: string[] = [printable(r.record), ''];
  if (r.strings.length > 1) {
    lines.push(`publish as one TXT record of ${r.strings.length} character-strings (${r.length} octets):`);
    lines.push(`  ${domain ? zoneTxtLine(domain, r.record) : zoneTxtLine('@', r.record).replace(/^@\./, '@')}`, '');
  }
  lines.push(`merged from ${inputs.length} records${domain ? ` published at ${domain}` : ''}:`);
  inputs.forEach((text, i) => lines.push(`  ${i + 1}. ${paint(printable(text), 'dim', color)}`));
  lines.push('', 'where each term comes from:');
  const width = Math.max(...r.sources.map((s) => s.term.length));
  for (const s of r.sources) {
    const from = s.inputs.length ? `input ${s.inputs.join(', ')}` : 'chosen with --all';
    const was = s.original.some((o) => o !== s.term) ? `  (was ${[...new Set(s.original)].map((o) => `"${o}"`).join(', ')})` : '';
    lines.push(printable(`  ${s.term.padEnd(width)}  ${from}${was}`));
  }
  lines.push('');
  if (check) {
    const over = check.lookups > 10;
    lines.push(`DNS-querying terms, includes walked: ${paint(`${check.lookups}/10`, over ? 'red' : 'green', color)}   void lookups: ${paint(`${check.voidLookups}/2`, check.voidLookups > 2 ? 'red' : 'green', color)}   (own terms: ${r.lookups})`);
  } else {
    lines.push(`DNS-querying terms of the record itself: ${r.lookups}/10 (includes not walked: --offline)`);
  }
  lines.push('', 'the merge:', renderFindings(r.findings, color));
  if (check) lines.push('', 'the merged record, checked as if published (nothing was published):', renderFindings(check.findings, color));
  return lines.join('\n');
}
