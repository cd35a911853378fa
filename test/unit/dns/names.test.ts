import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { normalizeName } from '../../../src/names.js';

/** The definition normalizeName keeps to, written the plain way. */
function normalizedByDefinition(name: string): string {
  return name
    .trim()
    .replace(/\.$/, '')
    .replace(/[A-Z]/g, (c) => c.toLowerCase());
}

describe('normalizeName', () => {
  it('makes names absolute, lower-case and without the trailing dot', () => {
    expect(normalizeName('Example.COM.')).toBe('example.com');
    expect(normalizeName('  _dmarc.Example.com  ')).toBe('_dmarc.example.com');
    expect(normalizeName('mail._domainkey.example.com')).toBe('mail._domainkey.example.com');
    expect(normalizeName('.')).toBe('');
  });

  it('folds ASCII letters only, as DNS compares names (RFC 4343)', () => {
    expect(normalizeName('bÜcher.de')).toBe('bÜcher.de');
    expect(normalizeName('BÜCHER.DE')).toBe('bÜcher.de');
    expect(normalizeName('\u212Aelvin.example')).toBe('\u212Aelvin.example');
  });

  it('trims what String#trim trims, at either end only', () => {
    for (const space of [' ', '\t', '\n', '\r', '\v', '\f', '\u00a0', '\u1680', '\u2000', '\u200a', '\u2028', '\u2029', '\u202f', '\u205f', '\u3000', '\ufeff']) {
      expect(normalizeName(`${space}a.example`)).toBe('a.example');
      expect(normalizeName(`a.example${space}`)).toBe('a.example');
      expect(normalizeName(`a${space}b.example`)).toBe(`a${space}b.example`);
    }
    // Not white space to trim(): left as they are.
    expect(normalizeName('\u200ba.example')).toBe('\u200ba.example');
    expect(normalizeName('a.example\u0085')).toBe('a.example\u0085');
  });

  it('agrees with its definition on any text', () => {
    const piece = fc.constantFrom('a', 'Z', 'm', '.', ' ', '\t', '\u00a0', '\u2003', '\ufeff', 'Ü', '\u212a', '-', '_', '0');
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 12 }).map((parts) => parts.join('')), (name) => {
        expect(normalizeName(name)).toBe(normalizedByDefinition(name));
      }),
      { numRuns: 3000 },
    );
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 16 }), (name) => {
        expect(normalizeName(name)).toBe(normalizedByDefinition(name));
      }),
      { numRuns: 3000 },
    );
  });
});
