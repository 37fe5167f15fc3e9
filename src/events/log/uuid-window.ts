/**
 * The uuids of the most recent events, exactly, in bounded memory: at most `capacity` uuids in an open-addressing
 * table of 128-bit keys (16 bytes a slot, half full at most) with first-in first-out eviction. A million uuids take
 * 48 MB, where a `Set` of strings would take about 100 MB.
 *
 * @example
 * const w = new UuidWindow(1_000_000);
 * w.add("0190b2d8-...") // true: new
 * w.add("0190b2d8-...") // false: seen
 */
export class UuidWindow {
  readonly capacity: number;
  readonly #mask: number;
  /** Slot i holds words [4i, 4i+4); an all-zero key marks an empty slot (the nil uuid is kept aside). */
  readonly #slots: Uint32Array;
  /** Keys in insertion order (a ring of `capacity`, `#size` of them from `#ringStart`), for eviction. */
  readonly #ring: Uint32Array;
  #ringStart = 0;
  #size = 0;
  #hasNil = false;
  readonly #key = new Uint32Array(4);

  constructor(capacity: number) {
    this.capacity = Math.max(1, Math.floor(capacity));
    let slots = 1;
    while (slots < this.capacity * 2) slots *= 2;
    this.#mask = slots - 1;
    this.#slots = new Uint32Array(slots * 4);
    this.#ring = new Uint32Array(this.capacity * 4);
  }

  /** Uuids added and not yet evicted (a removed one counts until its turn to leave). */
  get size(): number {
    return this.#size;
  }

  /** Whether the uuid is in the window. Text that is not a uuid is never in it. */
  has(uuid: string): boolean {
    if (!parseUuid(uuid, this.#key)) return false;
    if (isNil(this.#key)) return this.#hasNil;
    return this.#find(this.#key) >= 0;
  }

  /**
   * Adds the uuid; false when it was in the window already (or is not a uuid, which cannot be deduplicated and so
   * counts as new: true). The oldest uuid leaves when the window is full.
   */
  add(uuid: string): boolean {
    const k = this.#key;
    if (!parseUuid(uuid, k)) return true;
    if (isNil(k)) {
      if (this.#hasNil) return false;
      this.#hasNil = true;
      return true;
    }
    if (this.#find(k) >= 0) return false;
    if (this.#size === this.capacity) this.#evictOldest();
    this.#insert(k);
    const r = ((this.#ringStart + this.#size) % this.capacity) * 4;
    this.#ring.set(k, r);
    this.#size++;
    return true;
  }

  /** Removes a uuid added a moment ago (its append failed, so a retry must be accepted). */
  remove(uuid: string): void {
    const k = this.#key;
    if (!parseUuid(uuid, k)) return;
    if (isNil(k)) {
      this.#hasNil = false;
      return;
    }
    const slot = this.#find(k);
    if (slot >= 0) this.#deleteSlot(slot);
    // The ring keeps its entry (it leaves in turn); a key added again meanwhile may leave the window that much early.
  }

  #hash(k: Uint32Array): number {
    // The keys are random (uuid v4/v7 random bits): mixing two words is enough.
    let h = Math.imul((k[3] as number) ^ (k[1] as number), 0x9e3779b1);
    h ^= h >>> 15;
    return (h ^ (k[2] as number)) & this.#mask;
  }

  #find(k: Uint32Array): number {
    const s = this.#slots;
    for (let i = this.#hash(k); ; i = (i + 1) & this.#mask) {
      const o = i * 4;
      if (s[o] === 0 && s[o + 1] === 0 && s[o + 2] === 0 && s[o + 3] === 0) return -1;
      if (s[o] === k[0] && s[o + 1] === k[1] && s[o + 2] === k[2] && s[o + 3] === k[3]) return i;
    }
  }

  #insert(k: Uint32Array): void {
    const s = this.#slots;
    let i = this.#hash(k);
    while (s[i * 4] !== 0 || s[i * 4 + 1] !== 0 || s[i * 4 + 2] !== 0 || s[i * 4 + 3] !== 0)
      i = (i + 1) & this.#mask;
    s.set(k, i * 4);
  }

  /** Backward-shift deletion keeps linear probing exact without tombstones. */
  #deleteSlot(slot: number): void {
    const s = this.#slots;
    let hole = slot;
    let i = slot;
    for (;;) {
      i = (i + 1) & this.#mask;
      const o = i * 4;
      if (s[o] === 0 && s[o + 1] === 0 && s[o + 2] === 0 && s[o + 3] === 0) break;
      const home = this.#hash(s.subarray(o, o + 4));
      // The entry at i may move into the hole when its home is not cyclically within (hole, i].
      const between = hole <= i ? home > hole && home <= i : home > hole || home <= i;
      if (!between) {
        s.copyWithin(hole * 4, o, o + 4);
        hole = i;
      }
    }
    s.fill(0, hole * 4, hole * 4 + 4);
  }

  #evictOldest(): void {
    const r = this.#ringStart * 4;
    const old = this.#ring.subarray(r, r + 4);
    this.#ringStart = (this.#ringStart + 1) % this.capacity;
    const slot = this.#find(old);
    if (slot >= 0) this.#deleteSlot(slot);
    this.#size--;
  }
}

const HEX: Record<string, number> = {};
for (let i = 0; i < 16; i++) {
  HEX[i.toString(16)] = i;
  HEX[i.toString(16).toUpperCase()] = i;
}

/** Parses `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx` (any case) into four 32-bit words; false if it is not one. */
function parseUuid(text: string, out: Uint32Array): boolean {
  if (text.length !== 36) return false;
  let word = 0;
  let nibbles = 0;
  let w = 0;
  for (let i = 0; i < 36; i++) {
    const c = text[i] as string;
    if (i === 8 || i === 13 || i === 18 || i === 23) {
      if (c !== "-") return false;
      continue;
    }
    const v = HEX[c];
    if (v === undefined) return false;
    word = ((word << 4) | v) >>> 0;
    if (++nibbles === 8) {
      out[w++] = word;
      word = 0;
      nibbles = 0;
    }
  }
  return true;
}

function isNil(k: Uint32Array): boolean {
  return k[0] === 0 && k[1] === 0 && k[2] === 0 && k[3] === 0;
}
