/**
 * A histogram that answers the way Envoy's does. Envoy keeps histograms as circllhist
 * log-linear bins (two significant decimal digits: 5 ms lands in [5, 5.1), 123 ms in
 * [120, 130)) and derives everything it prints from those bins
 * (`envoyproxy/envoy:source/common/stats/histogram_impl.cc`, libcircllhist):
 *
 * - Prometheus buckets count the bins lying *entirely* at or below the bound
 *   (`hist_approx_count_below`), so a 5 ms sample is not in `le="5"` but in `le="10"`;
 * - `_sum` is the sum of bin midpoints (`hist_approx_sum`): one 5 ms sample sums to 5.05;
 * - quantiles interpolate inside the bin (`hist_approx_quantile`): P0 5, P25 5.025, P100 5.1.
 *
 * Values are whole milliseconds, as Envoy records them (`duration_cast<milliseconds>`).
 * Recording allocates nothing once a bin exists: bins live in a Map keyed by a small
 * integer (a V8 Smi).
 */

/** Envoy's default bucket bounds (`HistogramSettingsImpl::defaultBuckets`), in ms. */
export const DEFAULT_BUCKETS: readonly number[] = Object.freeze([
  0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000, 1800000, 3600000,
]);

/** Envoy's supported quantiles (`HistogramStatisticsImpl::supportedQuantiles`). */
export const SUPPORTED_QUANTILES: readonly number[] = Object.freeze([0, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.995, 0.999, 1]);

/** Key of the zero bin. Other keys are `(exp + 1) * 100 + val` with val in 10..99, so key order is value order. */
const ZERO_KEY = 0;

/** The statistics Envoy derives from one set of bins. */
export interface HistogramStatistics {
  readonly sampleCount: number;
  /** Sum of bin midpoints, as `hist_approx_sum`. */
  readonly sampleSum: number;
  /** Per bound of {@link DEFAULT_BUCKETS}: samples in bins entirely at or below it. */
  readonly cumulativeBuckets: readonly number[];
  /** Per {@link SUPPORTED_QUANTILES}; NaN when there are no samples. */
  readonly quantiles: readonly number[];
}

/** A histogram's bins as plain data (bin key → count). */
export interface HistogramBins {
  readonly cumulative: ReadonlyArray<readonly [number, number]>;
  readonly interval: ReadonlyArray<readonly [number, number]>;
  readonly used: boolean;
}

export class Histogram {
  /** Every sample since start (or since the process started: histograms are never reset, as in Envoy). */
  private cumulative = new Map<number, number>();
  /** Samples since the last flush. */
  private current = new Map<number, number>();
  /** Samples of the last completed flush interval. */
  private interval = new Map<number, number>();
  /** True once anything was recorded (Envoy's `used()`). */
  used = false;

  /** Records one value in ms; fractions are truncated as Envoy's integer recording does. */
  record(ms: number): void {
    const v = ms > 0 ? Math.floor(ms) : 0;
    const key = binKey(v);
    this.cumulative.set(key, (this.cumulative.get(key) ?? 0) + 1);
    this.current.set(key, (this.current.get(key) ?? 0) + 1);
    this.used = true;
  }

  /** Ends a flush interval: what was recorded since the last flush becomes the interval view. */
  flush(): void {
    this.interval = this.current;
    this.current = new Map();
  }

  /** The bins, for sending to another process (`--concurrency`: the primary merges its workers'). */
  exportBins(): HistogramBins {
    return { cumulative: [...this.cumulative], interval: [...this.interval], used: this.used };
  }

  /** Adds another histogram's bins (merging workers' histograms: bins add up exactly). */
  addBins(bins: HistogramBins): void {
    for (const [k, n] of bins.cumulative) this.cumulative.set(k, (this.cumulative.get(k) ?? 0) + n);
    for (const [k, n] of bins.interval) this.interval.set(k, (this.interval.get(k) ?? 0) + n);
    if (bins.used) this.used = true;
  }

  cumulativeStatistics(): HistogramStatistics {
    return statistics(this.cumulative);
  }

  intervalStatistics(): HistogramStatistics {
    return statistics(this.interval);
  }
}

/** circllhist's bin of a non-negative integer. */
function binKey(v: number): number {
  if (v === 0) return ZERO_KEY;
  if (v < 10) return 100 + v * 10; // exp 0: [v, v + 0.1)
  let p = 1;
  let exp = 1;
  while (v >= p * 100) {
    p *= 10;
    exp++;
  }
  return (exp + 1) * 100 + Math.floor(v / p);
}

/** Left edge of a bin, computed exactly as `hist_bucket_to_double` does (same IEEE operations). */
function binLeft(key: number): number {
  if (key === ZERO_KEY) return 0;
  const val = key % 100;
  const exp = Math.floor(key / 100) - 1;
  return (val / 10) * 10 ** exp;
}

/** Width of a bin (`hist_bucket_to_double_bin_width`). */
function binWidth(key: number): number {
  if (key === ZERO_KEY) return 0;
  const exp = Math.floor(key / 100) - 1;
  return 10 ** exp / 10;
}

function statistics(bins: ReadonlyMap<number, number>): HistogramStatistics {
  const keys = [...bins.keys()].sort((a, b) => a - b);
  let count = 0;
  let sum = 0;
  for (const k of keys) {
    const n = bins.get(k)!;
    count += n;
    const left = binLeft(k);
    if (left !== 0) sum += (left + binWidth(k) / 2) * n;
  }
  const cumulativeBuckets = DEFAULT_BUCKETS.map((bound) => {
    let below = 0;
    for (const k of keys) {
      if (binLeft(k) + binWidth(k) > bound) break;
      below += bins.get(k)!;
    }
    return below;
  });
  return { sampleCount: count, sampleSum: sum, cumulativeBuckets, quantiles: quantiles(keys, bins, count) };
}

/** `hist_approx_quantile` over sorted bins. */
function quantiles(keys: readonly number[], bins: ReadonlyMap<number, number>, total: number): number[] {
  if (total === 0 || keys.length === 0) return SUPPORTED_QUANTILES.map(() => NaN);
  const out: number[] = [];
  let i = 0;
  let left = binLeft(keys[0]!);
  let width = binWidth(keys[0]!);
  let lower = 0;
  let upper = bins.get(keys[0]!)!;
  for (const q of SUPPORTED_QUANTILES) {
    const target = q * total;
    while (i < keys.length - 1 && upper < target) {
      i++;
      left = binLeft(keys[i]!);
      width = binWidth(keys[i]!);
      lower = upper;
      upper = lower + bins.get(keys[i]!)!;
    }
    if (lower === target) out.push(left);
    else if (upper === target) out.push(left + width);
    else if (width === 0) out.push(left);
    else out.push(left + ((target - lower) / (upper - lower)) * width);
  }
  return out;
}
