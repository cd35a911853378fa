/**
 * A small bounded map for results worth reusing within a run (parsed records, organizational
 * domains): when it holds `limit` entries it starts afresh. A bulk run meets the same values close
 * together, so dropping everything now and then costs little, and memory stays flat.
 */
export class RecentMap<K, V> {
  private readonly entries = new Map<K, V>();
  constructor(private readonly limit: number) {}

  get(key: K): V | undefined {
    return this.entries.get(key);
  }

  set(key: K, value: V): void {
    if (this.entries.size >= this.limit) this.entries.clear();
    this.entries.set(key, value);
  }
}
