/** SPF snapshots (src/spf/snapshot.ts): one spelling per network, and comparing networks rather than text. */
import { describe, expect, it } from 'vitest';
import { compareSnapshot, normalizeRange, type SpfSnapshot } from '../../../src/spf/snapshot.js';

describe('normalizeRange and compareSnapshot', () => {
  it('gives one spelling per network', () => {
    expect(normalizeRange('ip4:192.0.2.77/24')).toBe('ip4:192.0.2.0/24');
    expect(normalizeRange('+ip4:192.0.2.1/32')).toBe('ip4:192.0.2.1');
    expect(normalizeRange('IP6:2001:DB8:0:0:0::/32')).toBe('ip6:2001:db8::/32');
    expect(normalizeRange('~ip6:2001:db8::1/128')).toBe('~ip6:2001:db8::1');
    expect(normalizeRange('ip4:2001:db8::/32')).toBeNull();
    expect(normalizeRange('a:mail.example.com')).toBeNull();
  });

  it('compares networks, not text, and notes a record that changed without moving', () => {
    const snap = (ranges: string[], record: string): SpfSnapshot => ({
      format: 'maildns-spf-snapshot',
      version: 1,
      domain: 'x.test',
      takenAt: '2025-01-01T00:00:00.000Z',
      original: 'v=spf1 include:p.test -all',
      records: [{ name: 'x.test', value: `v=spf1 ${ranges.join(' ')} -all` }],
      options: { keep: [], maxLength: 255, prefix: '_spf' },
      dependencies: [{ domain: 'p.test', via: ['include:p.test'], record, ttl: 300, ranges }],
    });
    const same = compareSnapshot(snap(['ip4:192.0.2.0/24', 'ip6:2001:db8::/32'], 'v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 -all'), snap(['ip6:2001:DB8:0::/32', 'ip4:192.0.2.9/24'], 'v=spf1 ip6:2001:DB8:0::/32 ip4:192.0.2.9/24 -all'));
    expect(same.verdict).toBe('unchanged');
    expect(same.recordsChanged).toBe(false);
    expect(same.dependencies.map((d) => d.status)).toEqual(['record-changed']);
    expect(same.notes.join('\n')).toMatch(/p\.test changed its record text but not its address ranges/);
    const moved = compareSnapshot(snap(['ip4:192.0.2.0/24'], 'r1'), snap(['ip4:192.0.2.0/25'], 'r2'));
    expect(moved.verdict).toBe('changed');
    expect(moved.dependencies[0]).toMatchObject({ status: 'changed', added: ['ip4:192.0.2.0/25'], removed: ['ip4:192.0.2.0/24'] });
  });
});
