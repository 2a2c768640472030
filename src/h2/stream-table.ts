/**
 * A connection's open streams by id: a ring indexed by stream id, with a Map for the few
 * streams the ring has wrapped onto.
 *
 * Stream ids on a connection are consecutive odd (or even) numbers, so `id >>> 1` modulo the
 * ring's size gives every open stream its own slot as long as the open ids span less than the
 * ring: lookups, adds and deletes are one array access. When a new id lands on a slot still held
 * by an older stream (a long-lived stream the ids have wrapped around to), the older one moves to
 * the overflow Map; when the ring is more than half full of open streams it doubles instead (up
 * to MAX_RING slots). Unlike a Map alone, whose backing store is rebuilt each time the number of
 * open streams swings across a power of two, a steady stream of calls allocates nothing here.
 */
import type { H2Stream } from './h2-stream';

const FIRST_RING = 64;
/** Largest ring (8 KiB of pointers); past it, streams beyond the ring's reach wait in the overflow Map. */
const MAX_RING = 1024;

export class StreamTable {
  private ring: Array<H2Stream | undefined> = new Array<H2Stream | undefined>(FIRST_RING).fill(undefined);
  private mask = FIRST_RING - 1;
  /** Streams displaced from their slot by a newer id. */
  private readonly overflow = new Map<number, H2Stream>();
  size = 0;

  /** Slots in the ring (for tests). */
  get capacity(): number {
    return this.ring.length;
  }

  /** Streams displaced into the overflow Map (for tests). */
  get displaced(): number {
    return this.overflow.size;
  }

  get(id: number): H2Stream | undefined {
    const s = this.ring[(id >>> 1) & this.mask];
    if (s !== undefined && s.id === id) return s;
    return this.overflow.size === 0 ? undefined : this.overflow.get(id);
  }

  /** Adds a stream (its id must not be in the table). */
  add(stream: H2Stream): void {
    this.size++;
    let slot = (stream.id >>> 1) & this.mask;
    const occupant = this.ring[slot];
    if (occupant !== undefined) {
      if (this.size * 2 > this.ring.length && this.ring.length < MAX_RING) {
        // Crowded: a bigger ring gives the open ids room again.
        this.grow();
        slot = (stream.id >>> 1) & this.mask;
      }
      const still = this.ring[slot];
      if (still !== undefined) this.overflow.set(still.id, still);
    }
    this.ring[slot] = stream;
  }

  /** Removes a stream; a no-op when it is not in the table. */
  delete(stream: H2Stream): void {
    const slot = (stream.id >>> 1) & this.mask;
    if (this.ring[slot] === stream) {
      this.ring[slot] = undefined;
      this.size--;
    } else if (this.overflow.delete(stream.id)) {
      this.size--;
    }
  }

  /** The streams now in the table (a copy: callers may remove streams while walking it). */
  toArray(): H2Stream[] {
    const out: H2Stream[] = [];
    for (const s of this.ring) if (s !== undefined) out.push(s);
    for (const s of this.overflow.values()) out.push(s);
    return out;
  }

  clear(): void {
    this.ring.fill(undefined);
    this.overflow.clear();
    this.size = 0;
  }

  private grow(): void {
    const all = this.toArray();
    this.ring = new Array<H2Stream | undefined>(this.ring.length * 2).fill(undefined);
    this.mask = this.ring.length - 1;
    this.overflow.clear();
    // Oldest first, so that where two still collide the newer one keeps the slot.
    all.sort((a, b) => a.id - b.id);
    for (const s of all) {
      const slot = (s.id >>> 1) & this.mask;
      const occupant = this.ring[slot];
      if (occupant !== undefined) this.overflow.set(occupant.id, occupant);
      this.ring[slot] = s;
    }
  }
}
