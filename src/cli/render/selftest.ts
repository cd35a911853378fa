/** Text rendering of `maildns selftest`: how the probe went, the receiver's verdict, the likely reasons. */
import { printable } from '../../findings.js';
import type { SelftestReport } from '../../selftest/run.js';
import { renderMessageReport } from './message.js';
import { paint, renderFindings, useColor } from './output.js';

const VERDICT: Record<SelftestReport['verdict'], string> = {
  signed: 'the probe left signed and aligned',
  refused: 'Postfix did not take the probe',
  'not-arrived': 'the probe did not arrive',
  unsigned: 'the probe arrived unsigned',
  'signature-fails': 'the probe arrived with signatures that do not verify',
  'not-aligned': 'the probe arrived signed for another domain than its From',
  incomplete: 'the probe arrived signed, but not by every planned selector',
  'spf-fails': 'the probe left signed and aligned, but SPF fails for the host\'s address',
  'dns-unavailable': 'DNS could not be asked, so the signatures could not be checked',
};

export function renderSelftest(r: SelftestReport, color = useColor()): string {
  const out: string[] = [];
  const how = r.via === 'smtp' ? 'over SMTP' : 'through sendmail';
  // Replies, HELO names and queue reasons are what Postfix and the network sent: made printable.
  out.push(`${paint('selftest', 'bold', color)}: ${printable(`${r.from} -> ${r.to}, ${how}`)}`);
  out.push(printable(`  route      ${r.route.nexthop} via ${r.route.transport} (listener on ${r.route.listener})`));
  out.push(printable(`  submitted  ${r.submission.accepted ? (r.submission.reply ?? 'taken') : `refused at ${r.submission.failedAt}: ${r.submission.reply ?? ''}`}`));
  if (r.received) out.push(printable(`  arrived    after ${(r.received.afterMs / 1000).toFixed(1)} s from ${r.received.helo ?? '?'} (MAIL FROM <${r.received.mailFrom}>, ${r.received.bytes} bytes)`));
  else if (r.submission.accepted) out.push('  arrived    no');
  if (r.verification) {
    out.push('');
    out.push(renderMessageReport(r.verification, color, "not checked (give --ip with the host's public address)").trimEnd());
  }
  if (r.selectors.length) out.push('', `planned selectors: ${r.selectors.map((s) => `${s.selector} (${s.algorithm}) ${s.result}`).join(', ')}`);
  out.push('');
  out.push(r.ok ? paint(`PASS: ${VERDICT[r.verdict]}`, 'green', color) : paint(`FAIL: ${VERDICT[r.verdict]}`, 'red', color));
  const own = r.findings.filter((f) => f.code.startsWith('selftest.'));
  if (own.length) out.push(renderFindings(own, color));
  if (r.reasons.length) {
    out.push('', paint('Likely reasons:', 'bold', color), renderFindings(r.reasons, color));
  }
  for (const q of r.queue) out.push(printable(`queue: ${q.queueId} (${q.queueName})${q.delayReason ? `: ${q.delayReason}` : ''}${q.removed ? '; deleted, so it cannot leave later' : ''}`));
  for (const n of r.notes) out.push(`${paint('note:', 'yellow', color)} ${printable(n)}`);
  return `${out.join('\n')}\n`;
}
