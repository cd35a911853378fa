/** check --shard I/N: a stable split of a list by a hash of each normalized name, each name once. */
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { domainSource } from '../../../src/check/input.js';
import { parseShard, selectNames, shardOf } from '../../../src/check/shard.js';

const names = Array.from({ length: 2000 }, (_, i) => `d${String(i).padStart(5, '0')}.example`);

async function collect(it: AsyncIterable<string>): Promise<string[]> {
  const out: string[] = [];
  for await (const n of it) out.push(n);
  return out;
}

describe('shards', () => {
  it('reads I/N with indexes from 0, and says what is wrong otherwise', () => {
    expect(parseShard('0/4')).toEqual({ index: 0, count: 4 });
    expect(parseShard(' 3 / 4 ')).toEqual({ index: 3, count: 4 });
    expect(() => parseShard('4/4')).toThrow(/index must be from 0 to 3/);
    expect(() => parseShard('1/0')).toThrow(/number of shards must be from 1/);
    expect(() => parseShard('2')).toThrow(/is not I\/N/);
    expect(() => parseShard('-1/4')).toThrow(/is not I\/N/);
  });

  it('is the documented hash, as another language computes it (first 4 bytes of SHA-256, big-endian, mod N)', () => {
    const sample = ['example.com', 'd00001.example', 'bücher.de', 'xn--bcher-kva.de', '_dmarc.example.org'];
    const py = execFileSync('/usr/bin/python3', ['-c', 'import hashlib,sys\nfor n in sys.argv[1:]: print(int.from_bytes(hashlib.sha256(n.encode()).digest()[:4],"big") % 7)', ...sample], { encoding: 'utf8' });
    expect(sample.map((n) => shardOf(n, 7))).toEqual(py.trim().split('\n').map(Number));
  });

  it('puts a name in the same shard whatever its case or trailing dot', () => {
    for (const n of names.slice(0, 50)) expect(shardOf(`${n.toUpperCase()}.`, 5)).toBe(shardOf(n, 5));
  });

  it('N shards cover every name exactly once, in any line order, and split evenly', async () => {
    const shuffled = [...names].reverse();
    const parts = await Promise.all([0, 1, 2, 3].map((i) => collect(selectNames(i % 2 ? shuffled : names, { index: i, count: 4 }))));
    const all = parts.flat();
    expect(all.length).toBe(names.length);
    expect(new Set(all)).toEqual(new Set(names));
    // A uniform hash: each quarter within 20% of 500.
    for (const p of parts) expect(Math.abs(p.length - 500)).toBeLessThan(100);
  });

  it('a shard of the domain source checks a name once however often and however spelt it is listed, in first-seen order', async () => {
    const listed = ['b.example', 'A.example', 'b.example', 'a.example.', 'c.example', 'B.EXAMPLE'];
    const source = await domainSource(listed, []);
    expect(source).toMatchObject({ count: 3, duplicates: 3 });
    expect(await collect(selectNames(source.names()))).toEqual(['b.example', 'a.example', 'c.example']);
  });
});

describe('NameSet', () => {
  it('holds exactly what a Set holds, through many growths and similar names', async () => {
    const { NameSet } = await import('../../../src/check/name-set.js');
    const set = new NameSet();
    const reference = new Set<string>();
    // Names that differ in one character, repeats, the longest name, and a few that are not ASCII.
    const pool = [...Array.from({ length: 30_000 }, (_, i) => `n${i % 20_000}.example`), 'a'.repeat(63) + '.' + 'b'.repeat(63), 'bücher.de', 'bücher.de', 'x'.repeat(300)];
    for (let i = 0; i < pool.length; i++) {
      const name = pool[(i * 7919) % pool.length]!;
      expect(set.add(name)).toBe(!reference.has(name));
      reference.add(name);
    }
    expect(set.size).toBe(reference.size);
    for (const n of reference) expect(set.add(n)).toBe(false);
    expect(set.add('n20000.example')).toBe(true);
  });
});
