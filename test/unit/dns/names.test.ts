import { describe, expect, it } from 'vitest';
import { normalizeName } from '../../../src/names.js';

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
});
