/**
 * Envoy's EdfScheduler (source/common/upstream/edf_scheduler.h): earliest deadline first.
 * Each entry's deadline is `current_time + 1/weight`; a pick takes the smallest deadline
 * (ties: the earlier insertion), advances `current_time` to it and re-adds the entry with its
 * weight *now* (least request's weight changes with the host's active requests).
 */
interface Entry<T> {
  deadline: number;
  order: number;
  readonly item: T;
}

export class EdfScheduler<T> {
  private readonly heap: Entry<T>[] = [];
  private currentTime = 0;
  private orderOffset = 0;

  /** Adds `item` with `weight` (> 0). */
  add(weight: number, item: T): void {
    this.push({ deadline: this.currentTime + 1 / weight, order: this.orderOffset++, item });
  }

  get size(): number {
    return this.heap.length;
  }

  /** Picks the entry with the earliest deadline and re-adds it with `weightOf(item)`. */
  pickAndAdd(weightOf: (item: T) => number): T | undefined {
    const heap = this.heap;
    if (heap.length === 0) return undefined;
    const top = heap[0]!;
    this.currentTime = top.deadline;
    // Re-use the entry: new deadline and order, then sift it down from the root.
    top.deadline = this.currentTime + 1 / weightOf(top.item);
    top.order = this.orderOffset++;
    this.siftDown(0);
    return top.item;
  }

  private less(a: Entry<T>, b: Entry<T>): boolean {
    return a.deadline < b.deadline || (a.deadline === b.deadline && a.order < b.order);
  }

  private push(e: Entry<T>): void {
    const heap = this.heap;
    heap.push(e);
    let i = heap.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(heap[i]!, heap[p]!)) break;
      [heap[i], heap[p]] = [heap[p]!, heap[i]!];
      i = p;
    }
  }

  private siftDown(i: number): void {
    const heap = this.heap;
    const n = heap.length;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < n && this.less(heap[l]!, heap[m]!)) m = l;
      if (r < n && this.less(heap[r]!, heap[m]!)) m = r;
      if (m === i) return;
      [heap[i], heap[m]] = [heap[m]!, heap[i]!];
      i = m;
    }
  }
}
