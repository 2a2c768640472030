/**
 * Priority load and panic, exactly as Envoy's LoadBalancerBase computes them
 * (load_balancer_impl.cc recalculatePerPriorityState / recalculatePerPriorityPanic /
 * recalculateLoadInTotalPanic / choosePriority; docs: priority.rst, panic_threshold.rst).
 * All arithmetic is integer, as in Envoy.
 */

/** One priority level as the load computation sees it. */
export interface LevelCounts {
  /** Healthy hosts (or their summed weights with weighted_priority_health). */
  readonly healthy: number;
  readonly degraded: number;
  /** Hosts that are not excluded (or their weights). */
  readonly total: number;
  /** Non-excluded host count, for panic (always a count). */
  readonly hostCount: number;
  readonly healthyCount: number;
  readonly degradedCount: number;
  /** overprovisioning_factor in percent (140 = 1.4). */
  readonly overprovisioningFactor: number;
}

export interface PriorityLoad {
  /** Percent of traffic for the healthy hosts of each level. */
  readonly healthy: number[];
  /** Percent of traffic for the degraded hosts of each level. */
  readonly degraded: number[];
  /** Levels in panic (their traffic goes to all of their hosts). */
  readonly panic: boolean[];
}

/** `min(100, factor * healthy / total)` per level: the overprovisioned availability. */
function availability(levels: readonly LevelCounts[], which: 'healthy' | 'degraded'): number[] {
  return levels.map((l) => (l.total > 0 ? Math.min(100, Math.floor((l.overprovisioningFactor * l[which]) / l.total)) : 0));
}

function distributeLoad(load: number[], avail: readonly number[], totalLoad: number, normalizedTotal: number): { first: number; remaining: number } {
  let first = -1;
  for (let i = 0; i < avail.length; i++) {
    if (first < 0 && avail[i]! > 0) first = i;
    load[i] = Math.min(totalLoad, Math.floor((avail[i]! * 100) / normalizedTotal));
    totalLoad -= load[i]!;
  }
  return { first, remaining: totalLoad };
}

/**
 * Healthy and degraded load per level, and which levels are in panic.
 * `panicThresholdPercent` is common_lb_config.healthy_panic_threshold (0 disables panic).
 */
export function computePriorityLoad(levels: readonly LevelCounts[], panicThresholdPercent: number): PriorityLoad {
  const n = Math.max(1, levels.length);
  const healthy = new Array<number>(n).fill(0);
  const degraded = new Array<number>(n).fill(0);
  const panic = new Array<boolean>(n).fill(false);
  const health = availability(levels, 'healthy');
  const degr = availability(levels, 'degraded');
  const normalizedTotal = Math.min(100, health.reduce((a, b) => a + b, 0) + degr.reduce((a, b) => a + b, 0));

  if (normalizedTotal > 0) {
    const h = distributeLoad(healthy, health, 100, normalizedTotal);
    const d = distributeLoad(degraded, degr, h.remaining, normalizedTotal);
    if (d.remaining !== 0) {
      // Rounding leftovers go to the first level with healthy, else degraded, availability.
      if (h.first !== -1) healthy[h.first]! += d.remaining;
      else degraded[d.first]! += d.remaining;
    }
  }

  const threshold = Math.min(100, panicThresholdPercent);
  if (threshold === 0 && normalizedTotal === 0) {
    // Panic disabled and nothing available: all load on P0, which has no host to give (503).
    healthy[0] = 100;
    return { healthy, degraded, panic };
  }
  for (let i = 0; i < levels.length; i++) {
    const l = levels[i]!;
    if (normalizedTotal === 100) continue;
    const pct = l.hostCount === 0 ? 0 : (100 * (l.healthyCount + l.degradedCount)) / l.hostCount;
    panic[i] = pct < threshold;
  }
  if (levels.length === 0 || panic.every((p) => p)) {
    // Every level in panic: load by host count, regardless of health.
    const totalHosts = levels.reduce((a, l) => a + l.hostCount, 0);
    if (totalHosts === 0) {
      healthy.fill(0);
      degraded.fill(0);
      healthy[0] = 100;
      return { healthy, degraded, panic };
    }
    let total = 100;
    let firstNonEmpty = -1;
    for (let i = 0; i < levels.length; i++) {
      const c = levels[i]!.hostCount;
      if (firstNonEmpty === -1 && c !== 0) firstNonEmpty = i;
      healthy[i] = Math.floor((100 * c) / totalHosts);
      degraded[i] = 0;
      total -= healthy[i]!;
    }
    healthy[firstNonEmpty]! += total;
  }
  return { healthy, degraded, panic };
}

/**
 * `choosePriority`: `hash % 100 + 1` walks the healthy loads, then the degraded loads.
 * `point` is that 1..100 value.
 */
export function choosePriority(load: PriorityLoad, point: number): { priority: number; degraded: boolean } {
  let acc = 0;
  for (let i = 0; i < load.healthy.length; i++) {
    acc += load.healthy[i]!;
    if (point <= acc) return { priority: i, degraded: false };
  }
  for (let i = 0; i < load.degraded.length; i++) {
    acc += load.degraded[i]!;
    if (point <= acc) return { priority: i, degraded: true };
  }
  return { priority: 0, degraded: false };
}
