/**
 * A set of domain names for de-duplicating long lists: the names' bytes packed in one growing
 * buffer and an open-addressing table of offsets into it. A JavaScript Set of a million strings
 * costs tens of bytes per name on the garbage-collected heap, and V8 then lets the heap (and the
 * process's memory) grow far beyond that; here a name costs its length plus about ten bytes,
 * outside the heap. Exact: names are compared byte for byte, never by hash alone.
 */
export class NameSet {
  /** Each entry: one length byte, then the name's bytes (checked names are ASCII, at most 253 long). */
  private arena = new Uint8Array(64 * 1024);
  private used = 1; // offset 0 marks an empty slot
  private slots = new Uint32Array(4096);
  private count = 0;
  /** Names this layout cannot hold (not ASCII, or too long): few or none, kept as they are. */
  private readonly others = new Set<string>();

  get size(): number {
    return this.count + this.others.size;
  }

  /** Add `name`; false when it was there already. */
  add(name: string): boolean {
    if (name.length > 255 || !/^[\x00-\x7f]*$/.test(name)) {
      if (this.others.has(name)) return false;
      this.others.add(name);
      return true;
    }
    const mask = this.slots.length - 1;
    for (let i = hashString(name) & mask; ; i = (i + 1) & mask) {
      const at = this.slots[i]!;
      if (at === 0) break;
      if (this.equals(at, name)) return false;
    }
    this.insert(this.store(name), hashString(name));
    this.count++;
    if (this.count * 2 > this.slots.length) this.grow();
    return true;
  }

  private equals(at: number, name: string): boolean {
    const a = this.arena;
    if (a[at] !== name.length) return false;
    for (let k = 0; k < name.length; k++) if (a[at + 1 + k] !== name.charCodeAt(k)) return false;
    return true;
  }

  private store(name: string): number {
    if (this.used + 1 + name.length > this.arena.length) {
      const bigger = new Uint8Array(this.arena.length * 2);
      bigger.set(this.arena.subarray(0, this.used));
      this.arena = bigger;
    }
    const at = this.used;
    this.arena[at] = name.length;
    for (let k = 0; k < name.length; k++) this.arena[at + 1 + k] = name.charCodeAt(k);
    this.used += 1 + name.length;
    return at;
  }

  private insert(at: number, hash: number): void {
    const mask = this.slots.length - 1;
    let i = hash & mask;
    while (this.slots[i] !== 0) i = (i + 1) & mask;
    this.slots[i] = at;
  }

  private grow(): void {
    const old = this.slots;
    this.slots = new Uint32Array(old.length * 2);
    for (const at of old) if (at !== 0) this.insert(at, hashBytes(this.arena, at + 1, this.arena[at]!));
  }
}

// FNV-1a, 32 bits: the same value from a string's char codes as from its stored bytes.
function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let k = 0; k < s.length; k++) h = Math.imul(h ^ s.charCodeAt(k), 0x01000193);
  return h >>> 0;
}

function hashBytes(a: Uint8Array, from: number, length: number): number {
  let h = 0x811c9dc5;
  for (let k = from; k < from + length; k++) h = Math.imul(h ^ a[k]!, 0x01000193);
  return h >>> 0;
}
