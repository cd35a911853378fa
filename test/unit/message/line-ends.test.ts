/**
 * Line ends and the empty line of a message (src/message/message.ts), found in the octets without
 * making the whole message a string: the same answers as the regular expressions over its Latin-1
 * text that they replace (`/\r?\n/g` to CRLF, `/\r?\n\r?\n/` for the end of the header).
 */
import { describe, expect, it } from 'vitest';
import { parseMessage, toCrlf, wireParts } from '../../../src/message/message.js';

/** Messages with every mix of line ends, lone CRs and empty lines the two rules must agree on. */
const MESSAGES = [
  'From: a@example.com\r\nTo: b@example.com\r\n\r\nbody\r\n',
  'From: a@example.com\nTo: b@example.com\n\nbody\nmore\n',
  'From: a@example.com\r\nTo: b@example.com\n\r\nbody\n',
  'From: a@example.com\nTo: b@example.com\r\n\nbody\r\n',
  'From: a@example.com\n\r\r\nX: y\n\nbody',
  'From: a@example.com\r\nSubject: lone\rcarriage\r\n\r\nbody\rwith\r\n\r\n\n',
  'From: a@example.com\nTo: b@example.com',
  'From: a@example.com\n',
  'From: a@example.com\r\n\r\n',
  'From: a@example.com\n\n\n\n',
  '\nFrom: a@example.com\n\n',
];

/** The regular-expression forms, over the whole message as text. */
const crlfByRegExp = (text: string): string => text.replace(/\r?\n/g, '\r\n');
function headerByRegExp(text: string): { header: string; bodyOffset: number } {
  const end = /\r?\n\r?\n/.exec(text);
  return end ? { header: text.slice(0, end.index), bodyOffset: end.index + end[0].length } : { header: text.replace(/\r?\n$/, ''), bodyOffset: text.length };
}

describe('toCrlf', () => {
  it.each(MESSAGES.map((m) => [JSON.stringify(m), m]))('turns each bare LF into CRLF and keeps a lone CR: %s', (_name, text) => {
    expect(toCrlf(Buffer.from(text, 'latin1')).toString('latin1')).toBe(crlfByRegExp(text));
  });

  it('keeps 8-bit octets as they are, and hands back a message already in CRLF without a copy', () => {
    const octets = Buffer.from([0x46, 0x3a, 0xe3, 0x83, 0xa0, 0x0a, 0xff, 0x0a, 0x0a, 0x80]);
    expect([...toCrlf(octets)]).toEqual([0x46, 0x3a, 0xe3, 0x83, 0xa0, 0x0d, 0x0a, 0xff, 0x0d, 0x0a, 0x0d, 0x0a, 0x80]);
    const wire = Buffer.from('From: a@example.com\r\n\r\nbody\r\n', 'latin1');
    expect(toCrlf(wire)).toBe(wire);
  });
});

describe('parseMessage finds the end of the header', () => {
  it.each(MESSAGES.filter((m) => !m.startsWith('\n')).map((m) => [JSON.stringify(m), m]))('where /\\r?\\n\\r?\\n/ does: %s', (_name, text) => {
    const msg = parseMessage(Buffer.from(text, 'latin1'));
    const expected = headerByRegExp(text);
    expect(msg.bodyOffset).toBe(expected.bodyOffset);
    expect(msg.fields.map((f) => f.name)).toEqual(expected.header.split(/\r?\n/).filter((l) => /^[^ \t:]+:/.test(l)).map((l) => l.slice(0, l.indexOf(':'))));
    expect(msg.lfOnly).toBe(!text.includes('\r\n') && text.includes('\n'));
  });

  it('wireParts splits the CRLF form at its empty line, once a message', () => {
    const msg = parseMessage(Buffer.from('From: a@example.com\nTo: b@example.com\n\nbody\n', 'latin1'));
    const parts = wireParts(msg);
    expect(parts.header.toString('latin1')).toBe('From: a@example.com\r\nTo: b@example.com\r\n');
    expect(parts.body.toString('latin1')).toBe('body\r\n');
    expect(wireParts(msg)).toBe(parts);
  });

  it('a file whose lines end in a bare CR is refused, one that only ends in one is read', () => {
    expect(() => parseMessage(Buffer.from('From: a@example.com\rTo: b@example.com\r\rbody', 'latin1'), 'old.eml')).toThrow(/bare CR/);
    expect(parseMessage(Buffer.from('From: a@example.com\r', 'latin1')).fields.map((f) => f.value)).toEqual([' a@example.com\r']);
  });
});
