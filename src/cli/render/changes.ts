/**
 * `check --history FILE --changes`: only what changed since each domain's last recorded result,
 * one line per change as domains finish, then a count. `--quiet` prints nothing at all when
 * nothing changed (a cron job then sends no mail). JSON: { "version": 1, "changes": [ ... ],
 * "summary": { ...check's summary, "changes", "worse", "better", "firstSeen" } }.
 */
import type { Writable } from 'node:stream';
import { write } from './write.js';
import type { DomainChange } from '../../history/changes.js';
import { CHECK_JSON_VERSION } from '../../report/json-version.js';
import type { Reporter } from './check.js';
import { printable } from '../../findings.js';
import { paint } from './output.js';


const LABEL = { worse: 'WORSE ', better: 'better', neutral: 'change' } as const;
const TINT = { worse: 'red', better: 'green', neutral: 'dim' } as const;

/** One change as a line of text (also for `maildns history`); the message quotes published values, made printable. */
export function changeLine(c: DomainChange, color: boolean, width = 0): string {
  return `${paint(LABEL[c.direction], TINT[c.direction], color)}  ${printable(`${c.domain.padEnd(width)}  ${c.message}`)}`;
}

export function changesReporter(out: Writable, opts: { color: boolean; json: boolean; quiet: boolean }): Reporter {
  const tally = { changes: 0, worse: 0, better: 0, firstSeen: 0 };
  let first = true;
  return {
    async begin() {
      if (opts.json) await write(out, `{"version":${CHECK_JSON_VERSION},"changes":[`);
    },
    async result(_r, changes = []) {
      for (const c of changes) {
        // A domain's first result that passes is no news: counted, not listed.
        if (c.kind === 'first-seen' && c.direction === 'neutral') {
          tally.firstSeen++;
          continue;
        }
        tally.changes++;
        if (c.direction === 'worse') tally.worse++;
        if (c.direction === 'better') tally.better++;
        if (opts.json) {
          await write(out, `${first ? '\n' : ',\n'}${JSON.stringify(c)}`);
          first = false;
        } else await write(out, `${changeLine(c, opts.color)}\n`);
      }
    },
    async end(s) {
      if (opts.json) {
        await write(out, `\n],"summary":${JSON.stringify({ ...s, ...tally })}}\n`);
        return;
      }
      if (opts.quiet && tally.changes === 0) return;
      const line =
        `${tally.changes} change${tally.changes === 1 ? '' : 's'} since the last run over ${s.domains} domain${s.domains === 1 ? '' : 's'}` +
        (tally.changes ? ` (${tally.worse} worse, ${tally.better} better, ${tally.changes - tally.worse - tally.better} neither)` : '') +
        (tally.firstSeen ? `; ${tally.firstSeen} passing domain${tally.firstSeen === 1 ? '' : 's'} recorded for the first time` : '');
      await write(out, `${tally.changes ? '\n' : ''}${paint(line, tally.worse ? 'bold' : 'green', opts.color)}\n`);
    },
  };
}
