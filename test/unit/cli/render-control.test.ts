/** Text renderers that quote what DNS and servers sent: control characters as \xHH, never raw. */
import { describe, expect, it } from 'vitest';
import { changeLine } from '../../../src/cli/render/changes.js';
import { renderProfileReport } from '../../../src/cli/render/profile.js';

const HOSTILE = '\x1b[2J\x1b[32mPASS\r';
const SHOWN = '\\x1b[2J\\x1b[32mPASS\\x0d';
const CONTROL = /[\x00-\x09\x0b-\x1f\x7f-\x9f]/;

describe('control characters in text renderers', () => {
  it('a change line (check --changes, history) quotes the published values escaped', () => {
    const line = changeLine({ domain: 'escape.test', kind: 'record', direction: 'neutral', subject: 'SPF', message: `SPF record changed: v=spf1 -all -> v=spf1 -all ${HOSTILE}` }, false);
    expect(line).toBe(`change  escape.test  SPF record changed: v=spf1 -all -> v=spf1 -all ${SHOWN}`);
  });

  it('a sender profile shows its rules\' reasons and findings escaped', () => {
    const text = renderProfileReport(
      {
        profile: 'bulk-senders',
        domain: 'escape.test',
        outcome: 'problems',
        rules: [{ id: 'spf', title: 'an SPF record is published and valid', providers: ['google'], source: 'test', verdict: 'not-met', reason: `the record ${HOSTILE} is not valid`, findings: [{ code: 'spf.syntax', severity: 'error', subject: `escape.test ${HOSTILE}`, message: `"${HOSTILE}" is not a term`, fix: `remove ${HOSTILE}` }] }],
      },
      false,
    );
    expect(text).toContain(`the record ${SHOWN} is not valid`);
    expect(text).toContain(`escape.test ${SHOWN}: "${SHOWN}" is not a term`);
    expect(text).toContain(`fix: remove ${SHOWN}`);
    expect(text).not.toMatch(CONTROL);
  });
});
