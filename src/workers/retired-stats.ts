/**
 * Counters of workers that died. Envoy's counters never go back (its workers are threads of one
 * store); a worker process that dies takes its numbers with it. The primary keeps each worker's
 * latest numbers (read every stats flush interval, and by every /stats) and, when a worker dies,
 * keeps its counters and histogram bins as they were last read, so merged counters continue
 * from there (at most one read interval of counts is lost). Gauges die with the worker, as its
 * connections did.
 */
import { Histogram } from '../stats/histogram';
import type { WorkerStats } from './messages';

interface Retired {
  readonly counters: Map<string, number>;
  readonly histograms: Map<string, Histogram>;
}

export class RetiredStats {
  private readonly latest = new Map<number, WorkerStats>();
  /** By worker slot: a slot's successor continues its per-worker listener counters. */
  private readonly retired = new Map<number, Retired>();

  /** The numbers just read from live workers. */
  observe(stats: readonly WorkerStats[]): void {
    for (const w of stats) this.latest.set(w.index, w);
  }

  /** The worker of `index` died: its last-read counters and histograms are kept. */
  retire(index: number): void {
    const last = this.latest.get(index);
    if (!last) return;
    this.latest.delete(index);
    let r = this.retired.get(index);
    if (!r) this.retired.set(index, (r = { counters: new Map(), histograms: new Map() }));
    for (const [name, value] of last.counters) r.counters.set(name, (r.counters.get(name) ?? 0) + value);
    for (const [name, bins] of last.histograms) {
      let h = r.histograms.get(name);
      if (!h) r.histograms.set(name, (h = new Histogram()));
      // Cumulative bins only: a dead worker has no current interval.
      h.addBins({ cumulative: bins.cumulative, interval: [], used: bins.used });
    }
  }

  /** /reset_counters. */
  reset(): void {
    this.latest.clear();
    this.retired.clear();
  }

  /** The retired numbers, shaped as workers' answers for the merge. */
  asWorkerStats(): WorkerStats[] {
    return [...this.retired].map(([index, r]) => ({
      index,
      counters: [...r.counters].map(([name, value]) => [name, value, true] as const),
      gauges: [],
      histograms: [...r.histograms].map(([name, h]) => [name, h.exportBins()] as const),
      hosts: [],
      activeConnections: 0,
      memory: { heapUsed: 0, heapTotal: 0, rss: 0 },
    }));
  }
}
