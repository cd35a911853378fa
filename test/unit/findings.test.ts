import { describe, expect, it } from 'vitest';
import { formatFinding, printable } from '../../src/findings.js';

describe('findings as text', () => {
  it('writes control characters a server sent as \\xHH, so that they cannot act on the terminal', () => {
    expect(printable('554 \u001b[2Jok\r\u0007\u009b\t.')).toBe('554 \\x1b[2Jok\\x0d\\x07\\x9b\\x09.');
    expect(printable('plain text, ünïcode')).toBe('plain text, ünïcode');
    const text = formatFinding({ code: 'tls.smtp-refused', severity: 'error', subject: 'mx\u001b]0;title\u0007', message: 'refused (554 \u001b[31mred\r)', fix: 'see\u001b[0m' });
    expect(text).toBe('ERROR   tls.smtp-refused  mx\\x1b]0;title\\x07: refused (554 \\x1b[31mred\\x0d)\n  fix: see\\x1b[0m');
  });
});
