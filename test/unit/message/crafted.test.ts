/**
 * Crafted input for the message parser, the DKIM tag-list and key record parsers and the From
 * identity, table-driven (each check takes one input, so a property test can feed it later):
 * nothing but a typed InputError or a result.
 */
import { describe, expect, it } from 'vitest';
import { parseDkimKeyRecord, parseTagList } from '../../../src/dkim/parse.js';
import { InputError } from '../../../src/errors.js';
import { addressesOf, fromIdentity, malformedLineProblem, parseMessage, wireParts, type ParsedMessage } from '../../../src/message/message.js';

/** parseMessage either gives a message or throws InputError; nothing else. */
function parseOrInputError(raw: Buffer): ParsedMessage | InputError {
  try {
    return parseMessage(raw, 'crafted.eml');
  } catch (err) {
    expect(err).toBeInstanceOf(InputError);
    expect((err as Error).message).toMatch(/^crafted\.eml: /);
    return err as InputError;
  }
}

const MESSAGES: [string, string][] = [
  ['empty', ''],
  ['only line ends', '\r\n\r\n\n'],
  ['a body without a header', '\r\nhello\r\n'],
  ['no colon', 'From alice@example.com\r\n\r\nhi'],
  ['an empty name', ': value\r\n\r\n'],
  ['a continuation first', ' folded: value\r\n\r\n'],
  ['a form feed before the name', 'From: a@example.com\r\n\fDKIM-Signature: v=1\r\n\r\n'],
  ['a vertical tab before the name', '\vFrom: a@example.com\r\n\r\n'],
  ['blanks before the colon (obsolete syntax)', 'From : a@example.com\r\n\r\n'],
  ['bare CR inside a value', 'From: a@exa\rmple.com\r\n\r\n'],
  ['NUL in a value', 'From: a@example.com\u0000\r\n\r\n'],
  ['latin-1 in a name', 'Fr\u00f6m: a@example.com\r\n\r\n'],
  ['no empty line', 'From: a@example.com\r\nSubject: x'],
  ['LF only', 'From: a@example.com\nSubject: x\n\nbody\n'],
  ['mixed line ends', 'From: a@example.com\r\nSubject: x\n\r\nbody'],
  ['a very long field', `From: a@example.com\r\nX-Long: ${'x'.repeat(200_000)}\r\n\r\n`],
  ['many fields', `${'X-A: 1\r\n'.repeat(20_000)}From: a@example.com\r\n\r\n`],
  ['a 0xA0 continuation', 'From: a@example.com\r\n\u00a0X: y\r\n\r\n'],
];

describe('crafted messages', () => {
  it.each(MESSAGES)('%s: a message or an InputError', (_what, text) => {
    const got = parseOrInputError(Buffer.from(text, 'latin1'));
    if (got instanceof InputError) return;
    // What was parsed is usable by everything downstream without throwing.
    const from = fromIdentity(got);
    expect(from.domain === null || typeof from.domain === 'string').toBe(true);
    const { header, body } = wireParts(got);
    expect(header.length + body.length).toBeLessThanOrEqual(got.raw.length * 2 + 4);
  });

  it('lines that end in a bare CR are refused, with the fix, not read as one header field', () => {
    const got = parseOrInputError(Buffer.from('From: a@example.com\rSubject: x\r\rbody\r'));
    expect(got).toBeInstanceOf(InputError);
    expect((got as Error).message).toBe('crafted.eml: the lines end in a bare CR (a carriage return without a line feed), which no mail system sends; convert the line ends to CRLF or LF (tr "\\r" "\\n" < old.eml > new.eml)');
  });

  it('a first line that does not start with a field name is refused: the file is no message', () => {
    expect(parseOrInputError(Buffer.from(' From: a@example.com\r\n\r\n'))).toBeInstanceOf(InputError);
    expect(parseOrInputError(Buffer.from('\vFrom: a@example.com\r\n\r\n'))).toBeInstanceOf(InputError);
    const obsolete = parseOrInputError(Buffer.from('From : a@example.com\r\n\r\n')) as ParsedMessage;
    expect(obsolete.fields[0]!.name).toBe('From');
    expect(obsolete.malformed).toEqual([]);
  });

  // RFC 5322 §2.2.3: only SP and HTAB begin a folded line. A later line that is neither a field
  // nor a fold is kept as malformed (sign refuses the message, verify-message judges it), and is
  // no field: not the Subject's fold (as mailauth's \s took 0x0B, 0x0C, 0xA0), nor a DKIM-Signature.
  it.each([
    ['\x0b', '0x0B'],
    ['\x0c', '0x0C'],
    ['\xa0', '0xA0'],
    ['\r', '0x0D'],
    ['\x00', '0x00'],
  ])('a line starting with %j below a field is malformed, no field and no fold', (octet, shown) => {
    const msg = parseOrInputError(Buffer.from(`From: a@example.com\r\nSubject: hi\r\n${octet}DKIM-Signature: v=1\r\n more\r\nTo: b\r\n\r\nbody`, 'latin1')) as ParsedMessage;
    expect(msg.fields.map((f) => [f.name, f.value, f.line])).toEqual([
      ['From', ' a@example.com', 1],
      ['Subject', ' hi', 2],
      ['To', ' b', 5],
    ]);
    expect(msg.malformed).toEqual([{ line: 3, text: `${octet}DKIM-Signature: v=1` }]);
    expect(malformedLineProblem(msg.malformed[0]!)).toBe(`header line 3 begins with ${shown} and is no field ("name: value") and no folded line, which only a space or tab may begin (RFC 5322 §2.2.3)`);
  });

  it('a fold with SP or HTAB continues the field above, and nothing is malformed', () => {
    const msg = parseMessage(Buffer.from('From: a@example.com\r\nSubject: hi\r\n there\r\n\tagain\r\n\r\nbody'));
    expect(msg.fields.map((f) => [f.name, f.value])).toEqual([
      ['From', ' a@example.com'],
      ['Subject', ' hi there\tagain'],
    ]);
    expect(msg.malformed).toEqual([]);
  });

  it.each([
    ['', 0],
    ['<>', 0],
    ['"a@b" <c@example.com>', 1],
    ['(comment <x@y>) c@example.com', 1],
    ['group: a@example.com, b@example.com;', 2],
    ['"unterminated <a@b>', 0],
    ['((((((((((', 0],
    ['\\', 1],
    [`${'<'.repeat(10_000)}a@b`, 1],
  ] as const)('addressesOf(%j) gives %i addresses', (value, n) => {
    expect(addressesOf(value)).toHaveLength(n);
  });
});

const TAG_LISTS = [
  '',
  ';',
  ';;',
  '=',
  'v=',
  '=v',
  'v=1;;a=b',
  'v=1; v=2',
  '1v=x',
  'v =1',
  'v= 1 ; p = abc def ',
  'p=\r\n\tabc',
  '__proto__=x; constructor=y; hasOwnProperty=z',
  'k=rsa; p=!!!!',
  `p=${'A'.repeat(100_000)}`,
  `${'a=b;'.repeat(10_000)}`,
  'v=DKIM1; h=:::; s=; t=y:s:::',
  'v=DKIM1; k=; p=',
];

describe('crafted DKIM tag lists and key records', () => {
  it.each(TAG_LISTS)('%j: a tag list with its problems, and a key record', (text) => {
    const list = parseTagList(text);
    for (const p of list.problems) expect(p).toMatchObject({ kind: expect.stringMatching(/^(syntax|duplicate)$/), message: expect.any(String) });
    for (const t of list.tags) expect(list.byName.get(t.name)).toBeDefined();
    const rec = parseDkimKeyRecord(text);
    expect(typeof rec.keyType).toBe('string');
    expect(Array.isArray(rec.services) && Array.isArray(rec.flags)).toBe(true);
  });

  it('a name that is also an Object.prototype property is an ordinary tag', () => {
    const list = parseTagList('constructor=y; toString=z; hasOwnProperty=w');
    expect([...list.byName.keys()]).toEqual(['constructor', 'toString', 'hasOwnProperty']);
    expect(list.problems).toEqual([]);
  });
});

describe('the header lines h= names', () => {
  it("are mailauth's picks (RFC 6376 §5.4.2: bottom-most unused first), names repeated, absent or in any case", async () => {
    const { getSigningHeaderLines, parseHeaders } = await import('mailauth/lib/tools.js');
    const { linesByName, signingLines } = await import('../../../src/message/dkim.js');
    const header = Buffer.from('Received: a\r\nFrom: x@example.com\r\nTo: 1\r\nSubject: s\r\nTo: 2\r\nRECEIVED: b\r\nto: 3\r\n');
    const parsed = parseHeaders(header).parsed;
    for (const h of ['From', 'from:to:to:to:to', 'To:Subject:From:Received:received:received', ' From : To ::', 'X-None:From', 'Subject:subject:SUBJECT']) {
      const theirs = getSigningHeaderLines(parsed, h, true);
      const ours = signingLines(linesByName(parsed), h.split(':'));
      expect(ours.headers.map((l) => l.line.toString()), h).toEqual(theirs.headers.map((l) => l.line.toString()));
      expect(ours.keys, h).toBe(theirs.keys);
    }
  });
});

describe('the header lines DKIM hashes', () => {
  it("are mailauth parseHeaders' lines for a header parseMessage reads (folding, a bare CR, no final line end, blanks before the colon)", async () => {
    const { parseHeaders } = await import('mailauth/lib/tools.js');
    const { headerLines } = await import('../../../src/message/dkim.js');
    const headers = [
      'From: a@example.com\r\nTo: b\r\n',
      'From: a\r\n  folded\r\n\tagain\r\nSubject: x',
      'From: a\rb\r\nX: \r\n\r\n\r\n',
      'Key : spaced\r\nKEY: upper\r\n',
      '',
    ];
    for (const h of headers) {
      const theirs = parseHeaders(Buffer.from(h, 'latin1')).parsed;
      const ours = headerLines(Buffer.from(h, 'latin1'));
      expect(ours.map((l) => [l.key, l.casedKey, l.line.toString('latin1')]), JSON.stringify(h)).toEqual(theirs.map((l) => [l.key?.toString() ?? null, l.casedKey, l.line.toString('latin1')]));
    }
  });

  // Where they part: mailauth took a regexp \s for a fold and a line without a colon for a field
  // named by its text (trimmed of \s: "\vFrom: x" was a From). The split is parseMessage's
  // (RFC 5322 §2.2.3): SP and HTAB fold, a malformed line (and its folds) is a line with no name.
  it('fold on SP and HTAB only; a line that is no field has no name', async () => {
    const { headerLines } = await import('../../../src/message/dkim.js');
    const split = (h: string) => headerLines(Buffer.from(h, 'latin1')).map((l) => [l.key, l.line.toString('latin1')]);
    for (const c of ['\x0b', '\x0c', '\xa0', '\x0d']) {
      expect(split(`From: a\r\nSubject: s\r\n${c}From: evil\r\n more\r\nTo: b\r\n`), JSON.stringify(c)).toEqual([
        ['from', 'From: a'],
        ['subject', 'Subject: s'],
        [null, `${c}From: evil\r\n more`],
        ['to', 'To: b'],
      ]);
    }
    expect(split('no colon\r\n more\r\nFrom: a\r\n')).toEqual([
      [null, 'no colon\r\n more'],
      ['from', 'From: a'],
    ]);
    expect(split(' first: continuation\r\nFrom: a\r\n')).toEqual([
      [null, ' first: continuation'],
      ['from', 'From: a'],
    ]);
  });
});
