/**
 * Envoy's `JitteredExponentialBackOffStrategy` (`source/common/common/backoff_strategy.cc`):
 * full jitter over an interval that starts at the base and doubles up to the cap.
 *
 * `nextBackOffMs()` returns `min(random % interval, max)` and then doubles `interval` (or sets
 * it to `max` once doubling would pass `max / 2`); `reset()` goes back to the base. The xDS
 * stream resets it on every received response (`GrpcStream::onReceiveMessage` in
 * `source/extensions/config_subscription/grpc/grpc_stream.h`), so a flapping server that never
 * answers backs off while one that answers reconnects quickly.
 */

/** Exponential backoff with full jitter; see the module comment. */
export class JitteredBackoff {
  private nextIntervalMs: number;

  /**
   * @param baseMs first interval, > 0 (Envoy default for xDS: 500).
   * @param maxMs cap, >= baseMs (Envoy default for xDS: 30000).
   * @param random uniform in [0, 1); default `Math.random`.
   * @throws RangeError when the bounds are not positive or `maxMs < baseMs` (a caller bug).
   */
  constructor(
    private readonly baseMs: number,
    private readonly maxMs: number,
    private readonly random: () => number = Math.random,
  ) {
    if (!(baseMs > 0) || !(maxMs >= baseMs)) throw new RangeError(`invalid backoff bounds base=${baseMs} max=${maxMs}`);
    this.nextIntervalMs = baseMs;
  }

  /** The current (pre-jitter) interval: what the next delay is drawn below. */
  get intervalMs(): number {
    return this.nextIntervalMs;
  }

  /** Returns the next delay in ms, uniform in [0, interval), and grows the interval. */
  nextBackOffMs(): number {
    const interval = this.nextIntervalMs;
    this.nextIntervalMs = this.nextIntervalMs < this.maxMs / 2 ? this.nextIntervalMs * 2 : this.maxMs;
    return Math.min(Math.floor(this.random() * interval), this.maxMs);
  }

  /** Back to the base interval (after a successful response). */
  reset(): void {
    this.nextIntervalMs = this.baseMs;
  }
}
