/**
 * Text rendering of a message verification: each DKIM signature, SPF, DMARC and the
 * Authentication-Results header. Tags come from the message, keys and records from DNS:
 * printable() keeps their control characters from acting on the terminal.
 */
import { printable } from '../../findings.js';
import { paint, renderFindings, useColor } from './output.js';
import type { MessageReport } from '../../message/verify.js';

function tint(result: string): 'green' | 'red' | 'yellow' {
  return result === 'pass' ? 'green' : result === 'fail' || result === 'permerror' ? 'red' : 'yellow';
}

function renderArc(a: MessageReport['arc'], out: string[], color: boolean): void {
  out.push(paint('ARC', 'bold', color) + paint('  (RFC 8617)', 'dim', color));
  if (a.result === 'none') {
    out.push(`  NONE  ${a.reason}`);
    return;
  }
  const op = a.result === 'pass' ? `, oldest-pass=${a.oldestPass}` : '';
  out.push(`  ${paint(a.result.toUpperCase(), tint(a.result), color)}  ${a.instances} instance${a.instances === 1 ? '' : 's'}${op}`);
  out.push(printable(`     ${a.reason}`));
  if (a.fix) out.push(printable(`     fix: ${a.fix}`));
  for (const s of a.sets) {
    const sig = (what: string, x: typeof s.seal): string => `${what} ${x.result}${x.domain ? ` d=${x.domain} s=${x.selector}` : ''}`;
    out.push(printable(`   i=${s.instance} cv=${s.cv || '?'}  ${sig('seal', s.seal)}; ${sig('message signature', s.messageSignature)}${s.authenticationResults?.authservId ? `; results by ${s.authenticationResults.authservId}` : ''}`));
    for (const [what, x] of [['seal', s.seal], ['message signature', s.messageSignature]] as const) {
      if (x.reason && x.result !== 'pass') out.push(printable(`       ${what}: ${x.reason}`));
    }
  }
  if (a.override) {
    const seen = [...a.override.dkim, ...a.override.spf, ...a.override.dmarc].map((x) => `${x.method}=${x.result}${x.properties['header.d'] ? ` (${x.properties['header.d']})` : x.properties['smtp.mailfrom'] ? ` (${x.properties['smtp.mailfrom']})` : ''}`);
    out.push(printable(`     on arrival at the first sealer (${a.override.authservId || a.override.sealer}): ${seen.length ? seen.join(', ') : 'no results recorded'}`));
  }
}

/** `spfNotChecked`: what to say when SPF was not checked (the command's own flags). */
export function renderMessageReport(r: MessageReport, color = useColor(), spfNotChecked = 'not checked (give --ip, and --mail-from or --helo)'): string {
  const out: string[] = [];
  out.push(paint('DKIM', 'bold', color));
  if (r.dkim.length === 0) out.push('  no DKIM-Signature in the message');
  for (const d of r.dkim) {
    const key = d.key?.bits ? `${d.key.bits}-bit ${d.key.type}` : 'no usable key';
    out.push(`  #${d.index + 1} ${paint(d.result.toUpperCase(), tint(d.result), color)}  ${printable(`d=${d.domain} s=${d.selector} a=${d.algorithm} c=${d.canonicalization}  (${key})`)}`);
    if (d.reason) out.push(printable(`     ${d.reason}`));
    if (d.fix) out.push(printable(`     fix: ${d.fix}`));
    if (d.bodyHash && d.reasonCode === 'dkim.body-hash-mismatch') {
      out.push(printable(`     expected bh=${d.bodyHash.expected}`));
      out.push(`     computed bh=${d.bodyHash.computed}`);
    }
    if (d.key) {
      const flags = [
        d.key.flags.length ? `t=${d.key.flags.join(':')}` : '',
        d.key.hashes ? `h=${d.key.hashes.join(':')}` : '',
        d.key.services.join(':') !== '*' ? `s=${d.key.services.join(':')}` : '',
      ].filter(Boolean);
      out.push(printable(`     key ${d.key.name}${d.key.recordCount > 1 ? ` (${d.key.recordCount} TXT records there)` : ''}${flags.length ? `  flags ${flags.join(' ')}` : ''}`));
    }
    if (d.unsignedBodyBytes) out.push(`     l= leaves ${d.unsignedBodyBytes} body bytes unsigned`);
  }
  out.push(paint('SPF', 'bold', color));
  if (!r.spf) out.push(`  ${spfNotChecked}`);
  else {
    out.push(`  ${paint(r.spf.result.toUpperCase(), tint(r.spf.result), color)}  ${printable(`${r.spf.identity === 'mailfrom' ? 'MAIL FROM' : 'HELO'} ${r.spf.domain || '(none)'} for client ${r.spf.ip}`)}`);
    if (r.spf.reason) out.push(printable(`     ${r.spf.reason}`));
    if (r.spf.fix) out.push(printable(`     fix: ${r.spf.fix}`));
  }
  const m = r.dmarc;
  out.push(paint('DMARC', 'bold', color) + paint(`  (RFC ${m.mode} rules)`, 'dim', color));
  out.push(`  ${paint(m.result.toUpperCase(), tint(m.result), color)}  ${printable(`From domain ${m.fromDomain ?? '(none)'}`)}`);
  if (m.record) out.push(printable(`     record ${m.recordName}: "${m.record}"`));
  for (const id of m.identifiers) {
    const mode = id.alignment.mode === 's' ? 'strict' : 'relaxed';
    out.push(printable(`     ${id.method} ${id.domain}: ${id.result}; ${id.alignment.aligned ? 'aligned' : 'not aligned'} (${mode}${id.method === 'dkim' ? ', adkim' : ', aspf'}=${id.alignment.mode})`));
  }
  out.push(printable(`     ${m.reason}`));
  if (m.policy) {
    const pct = m.pct !== undefined ? `, pct=${m.pct}: applies to ${m.pct}% of failing mail` : '';
    out.push(`     policy ${m.rule}=${m.policy}${pct}; a receiver would ${m.result === 'pass' ? 'deliver it (pass)' : `apply ${m.disposition ?? 'none'}`}`);
  }
  if (m.fix) out.push(printable(`     fix: ${m.fix}`));
  renderArc(r.arc, out, color);
  if (r.findings.length) {
    out.push('');
    out.push(renderFindings(r.findings, color));
  }
  out.push('');
  // The header is folded over lines (CRLF): each line is made printable, the folding kept.
  out.push(r.authenticationResults.split('\r\n').map(printable).join('\n'));
  return `${out.join('\n')}\n`;
}
