/**
 * A growable FIFO ring buffer (double-ended at the head) for the pool's pending requests.
 *
 * ```
 *        head                    head + length
 *         v                           v
 *   [ . . A B C D E . . . ]   (indices wrap modulo capacity; capacity is a power of two)
 * ```
 *
 * Invariants: `items.length` is a power of two; slots outside `[head, head + length)` hold
 * `undefined` so removed items can be collected. `push`/`shift`/`unshift` are O(1) amortised.
 */
export class RingQueue<T> {
  private items: (T | undefined)[];
  private head = 0;
  private size = 0;

  constructor(initialCapacity = 16) {
    let capacity = 4;
    while (capacity < initialCapacity) capacity *= 2;
    this.items = new Array<T | undefined>(capacity).fill(undefined);
  }

  /** Number of items held. */
  get length(): number {
    return this.size;
  }

  /** Appends at the tail. */
  push(item: T): void {
    if (this.size === this.items.length) this.grow();
    this.items[(this.head + this.size) & (this.items.length - 1)] = item;
    this.size++;
  }

  /** Puts an item back at the head (it becomes the next `shift()`). */
  unshift(item: T): void {
    if (this.size === this.items.length) this.grow();
    this.head = (this.head - 1) & (this.items.length - 1);
    this.items[this.head] = item;
    this.size++;
  }

  /** Removes and returns the head, or `undefined` when empty. */
  shift(): T | undefined {
    if (this.size === 0) return undefined;
    const item = this.items[this.head];
    this.items[this.head] = undefined;
    this.head = (this.head + 1) & (this.items.length - 1);
    this.size--;
    return item;
  }

  /** Keeps only the items for which `keep` returns true, in order. O(length). */
  retain(keep: (item: T) => boolean): void {
    const mask = this.items.length - 1;
    let kept = 0;
    for (let i = 0; i < this.size; i++) {
      const item = this.items[(this.head + i) & mask] as T;
      if (keep(item)) this.items[(this.head + kept++) & mask] = item;
    }
    for (let i = kept; i < this.size; i++) this.items[(this.head + i) & mask] = undefined;
    this.size = kept;
  }

  private grow(): void {
    const old = this.items;
    const mask = old.length - 1;
    const next = new Array<T | undefined>(old.length * 2).fill(undefined);
    for (let i = 0; i < this.size; i++) next[i] = old[(this.head + i) & mask];
    this.items = next;
    this.head = 0;
  }
}
