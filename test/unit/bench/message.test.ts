/**
 * The large message bench/message.ts verifies: the size asked for, LF line ends, and a message
 * maildns reads (its From domain, a multipart body after the empty line).
 */
import { describe, expect, it } from 'vitest';
import { largeMessage } from '../../../bench/message.js';
import { parseMessage } from '../../../src/message/message.js';

describe('bench: the large message', () => {
  it.each([1, 5])('is about %i MB, with LF line ends, and a message maildns reads', (mb) => {
    const raw = largeMessage(mb);
    expect(raw.length).toBeGreaterThanOrEqual(mb * 1024 * 1024);
    expect(raw.length).toBeLessThan(mb * 1024 * 1024 + 100);
    const msg = parseMessage(raw);
    expect(msg.lfOnly).toBe(true);
    expect(msg.fields.find((f) => f.name === 'From')!.value.trim()).toBe('Bench <bench@bench.example>');
    expect(raw.subarray(msg.bodyOffset, msg.bodyOffset + 4).toString('latin1')).toBe('--b\n');
    expect(raw.subarray(-6).toString('latin1')).toBe('--b--\n');
  });
});
