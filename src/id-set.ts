/**
 * A set of strings held in typed arrays, off the JS heap. A full resync remembers every subject id
 * the source gave, to find afterwards the ones partners hold that it did not: a million at the
 * scale the gateway is built for. As a Set<string> that is about 60 MB of long-lived heap objects
 * that every major GC marks and that V8 sizes the heap around; here it is about 30 bytes an id of
 * 13 characters, in a few ArrayBuffers. Exact: ids are compared byte for byte, never by hash alone.
 */
export class IdSet {
  /** The ids' UTF-8 bytes, one after another; the tail beyond #used is scratch space. */
  #bytes = new Uint8Array(1 << 16);
  #used = 0;
  /** Where id i starts in #bytes; it ends where id i + 1 starts (#starts[#size] = #used). */
  #starts = new Uint32Array(1 << 12);
  #hashes = new Uint32Array(1 << 12);
  /** Open addressing, linear probing: id index + 1, or 0 for an empty slot. */
  #table = new Uint32Array(1 << 13);
  #size = 0;
  readonly #encoder = new TextEncoder();

  get size(): number {
    return this.#size;
  }

  /** Adds the id; false when it was already there. */
  add(id: string): boolean {
    const length = this.#stage(id);
    const hash = this.#hashOf(length);
    const slot = this.#find(hash, length);
    if (this.#table[slot] !== 0) return false;
    const index = this.#size++;
    if (this.#size + 1 > this.#starts.length) {
      this.#starts = grown(this.#starts, this.#starts.length * 2);
      this.#hashes = grown(this.#hashes, this.#hashes.length * 2);
    }
    this.#starts[index] = this.#used;
    this.#used += length;
    this.#starts[index + 1] = this.#used;
    this.#hashes[index] = hash;
    this.#table[slot] = index + 1;
    if (this.#size * 2 > this.#table.length) this.#rehash(this.#table.length * 2);
    return true;
  }

  has(id: string): boolean {
    const length = this.#stage(id);
    return this.#table[this.#find(this.#hashOf(length), length)] !== 0;
  }

  /** Writes the id's bytes at #used (not yet kept); returns their length. */
  #stage(id: string): number {
    // UTF-8 takes at most 3 bytes per UTF-16 code unit.
    const room = this.#used + id.length * 3;
    if (room > this.#bytes.length) this.#bytes = grown(this.#bytes, Math.max(room, this.#bytes.length * 2));
    return this.#encoder.encodeInto(id, this.#bytes.subarray(this.#used)).written;
  }

  /** FNV-1a over the staged bytes. */
  #hashOf(length: number): number {
    let hash = 0x811c9dc5;
    const bytes = this.#bytes;
    for (let i = this.#used, end = this.#used + length; i < end; i++) hash = Math.imul(hash ^ bytes[i]!, 0x01000193);
    return hash >>> 0;
  }

  /** The slot that holds the staged id, or the empty slot where it would go. */
  #find(hash: number, length: number): number {
    const mask = this.#table.length - 1;
    for (let slot = hash & mask; ; slot = (slot + 1) & mask) {
      const entry = this.#table[slot]!;
      if (entry === 0 || (this.#hashes[entry - 1] === hash && this.#equalsStaged(entry - 1, length))) return slot;
    }
  }

  #equalsStaged(index: number, length: number): boolean {
    const start = this.#starts[index]!;
    if (this.#starts[index + 1]! - start !== length) return false;
    const bytes = this.#bytes;
    for (let i = 0; i < length; i++) if (bytes[start + i] !== bytes[this.#used + i]) return false;
    return true;
  }

  #rehash(capacity: number): void {
    const table = new Uint32Array(capacity);
    const mask = capacity - 1;
    for (let index = 0; index < this.#size; index++) {
      let slot = this.#hashes[index]! & mask;
      while (table[slot] !== 0) slot = (slot + 1) & mask;
      table[slot] = index + 1;
    }
    this.#table = table;
  }
}

function grown<T extends Uint8Array | Uint32Array>(array: T, length: number): T {
  const next = new (array.constructor as new (n: number) => T)(length);
  next.set(array);
  return next;
}
