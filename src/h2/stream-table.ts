/**
 * A connection's open streams by id: an open-addressing table with linear probing.
 *
 * Stream ids on a connection are consecutive odd (or even) numbers, so `id >>> 1` spreads the
 * live ones over consecutive slots and lookups hit on the first probe. Unlike a Map, whose
 * backing store is rebuilt each time the number of open streams swings across a power of two
 * (several times a second on a busy connection), the table only grows, or, once large, shrinks by
 * half when it is mostly empty, so a steady stream of calls allocates nothing here.
 */
import type { H2Stream } from './h2-stream';

const MIN_CAPACITY = 16;
/** Tables up to this many slots (2 KiB of pointers) never shrink. */
const SHRINK_ABOVE = 256;

export class StreamTable {
  private slots: Array<H2Stream | undefined> = new Array<H2Stream | undefined>(MIN_CAPACITY).fill(undefined);
  private mask = MIN_CAPACITY - 1;
  size = 0;

  /** Slots in the table (for tests). */
  get capacity(): number {
    return this.slots.length;
  }

  get(id: number): H2Stream | undefined {
    const slots = this.slots;
    const mask = this.mask;
    for (let i = (id >>> 1) & mask; ; i = (i + 1) & mask) {
      const s = slots[i];
      if (s === undefined || s.id === id) return s;
    }
  }

  /** Adds a stream (its id must not be in the table). */
  add(stream: H2Stream): void {
    // At most half full: probe runs stay short and a free slot always exists.
    if ((this.size + 1) * 2 > this.slots.length) this.resize(this.slots.length * 2);
    this.place(stream);
    this.size++;
  }

  /** Removes a stream; a no-op when it is not in the table. */
  delete(stream: H2Stream): void {
    const slots = this.slots;
    const mask = this.mask;
    let i = (stream.id >>> 1) & mask;
    for (;;) {
      const s = slots[i];
      if (s === undefined) return;
      if (s === stream) break;
      i = (i + 1) & mask;
    }
    slots[i] = undefined;
    this.size--;
    // Backward-shift deletion: move up every later entry of the probe run whose home slot the
    // hole now cuts it off from, so lookups can stop at the first empty slot.
    for (let j = (i + 1) & mask; ; j = (j + 1) & mask) {
      const s = slots[j];
      if (s === undefined) break;
      const home = (s.id >>> 1) & mask;
      const reachable = i <= j ? home > i && home <= j : home > i || home <= j;
      if (reachable) continue;
      slots[i] = s;
      slots[j] = undefined;
      i = j;
    }
    // Shrink only big tables, and only when nearly empty: a connection whose open streams swing
    // between a few and a few dozen keeps its table as it is.
    if (this.slots.length > SHRINK_ABOVE && this.size * 8 < this.slots.length) this.resize(this.slots.length / 2);
  }

  /** The streams now in the table (a copy: callers may remove streams while walking it). */
  toArray(): H2Stream[] {
    const out: H2Stream[] = [];
    for (const s of this.slots) if (s !== undefined) out.push(s);
    return out;
  }

  clear(): void {
    this.slots = new Array<H2Stream | undefined>(MIN_CAPACITY).fill(undefined);
    this.mask = MIN_CAPACITY - 1;
    this.size = 0;
  }

  private place(stream: H2Stream): void {
    const slots = this.slots;
    const mask = this.mask;
    let i = (stream.id >>> 1) & mask;
    while (slots[i] !== undefined) i = (i + 1) & mask;
    slots[i] = stream;
  }

  private resize(capacity: number): void {
    const old = this.slots;
    this.slots = new Array<H2Stream | undefined>(capacity).fill(undefined);
    this.mask = capacity - 1;
    for (const s of old) if (s !== undefined) this.place(s);
  }
}
