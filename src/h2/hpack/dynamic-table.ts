/**
 * HPACK's dynamic table (RFC 7541 §2.3.2, §4): newest entry first, evicted from the oldest
 * end when the size (32 octets per entry plus name and value) passes the maximum.
 * A ring of names and values, so inserting never shifts the table.
 */
export const ENTRY_OVERHEAD = 32;

export class DynamicTable {
  private names: string[] = new Array<string>(16);
  private values: string[] = new Array<string>(16);
  /** Slot of the oldest entry. */
  private tail = 0;
  /** Number of entries. */
  length = 0;
  /** Current size in RFC octets. */
  size = 0;
  /** Entries inserted since creation; entry k (0-based) keeps the id k, so the encoder can name it stably. */
  inserted = 0;

  constructor(public maxSize: number) {}

  /** Name of the entry at dynamic index `i` (1 = newest). */
  name(i: number): string {
    return this.names[this.slot(i)]!;
  }

  value(i: number): string {
    return this.values[this.slot(i)]!;
  }

  /** Adds an entry (evicting as needed); an entry larger than the table empties it (§4.4). */
  add(name: string, value: string): void {
    const entrySize = ENTRY_OVERHEAD + name.length + value.length;
    if (entrySize > this.maxSize) {
      this.evictTo(0);
      this.inserted += 1;
      return;
    }
    this.evictTo(this.maxSize - entrySize);
    if (this.length === this.names.length) this.grow();
    const slot = (this.tail + this.length) % this.names.length;
    this.names[slot] = name;
    this.values[slot] = value;
    this.length += 1;
    this.size += entrySize;
    this.inserted += 1;
  }

  /** Applies a new maximum size, evicting entries that no longer fit. */
  resize(maxSize: number): void {
    this.maxSize = maxSize;
    this.evictTo(maxSize);
  }

  /** Called for each entry evicted, oldest first (the encoder drops its lookups). */
  onEvict: ((name: string, value: string, insertion: number) => void) | undefined;

  private evictTo(limit: number): void {
    while (this.size > limit && this.length > 0) {
      const name = this.names[this.tail]!;
      const value = this.values[this.tail]!;
      this.size -= ENTRY_OVERHEAD + name.length + value.length;
      this.onEvict?.(name, value, this.inserted - this.length);
      this.names[this.tail] = '';
      this.values[this.tail] = '';
      this.tail = (this.tail + 1) % this.names.length;
      this.length -= 1;
    }
  }

  private slot(i: number): number {
    // Index 1 is the newest entry, at the head end of the ring.
    return (this.tail + this.length - i) % this.names.length;
  }

  private grow(): void {
    const n = this.names.length;
    const names = new Array<string>(n * 2);
    const values = new Array<string>(n * 2);
    for (let k = 0; k < this.length; k++) {
      names[k] = this.names[(this.tail + k) % n]!;
      values[k] = this.values[(this.tail + k) % n]!;
    }
    this.names = names;
    this.values = values;
    this.tail = 0;
  }
}
