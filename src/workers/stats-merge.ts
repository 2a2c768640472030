/**
 * The `--concurrency` primary's stats: its own (control plane, health checks, server.*) merged
 * with its workers' (everything the data path records), the way Envoy's main thread reads one
 * store that all its workers write to:
 *
 * - counters and gauges add up over processes (each process counts only what it did:
 *   `downstream_rq_total`, `downstream_cx_active`, `upstream_rq_active`...);
 * - what the primary owns comes from the primary only: `server.*`, `control_plane.*`,
 *   `cluster_manager.*`, `listener_manager.*`, a cluster's `health_check.*`, `membership_*` and
 *   `update_*` (every worker holds a copy of the same host set);
 * - circuit breaker gauges are per worker (each worker has its own limits): `remaining_*` shows
 *   the lowest, the open flags the highest;
 * - histograms merge bin by bin (exact: the bins are the same in every process);
 * - `server.memory_allocated|heap_size|physical_size` add the workers' memory to the primary's
 *   (Envoy's are its whole process, workers included);
 * - Envoy's per-worker listener stats, `listener.<address>.worker_<N>.downstream_cx_{total,active}`,
 *   come from each worker's own listener counters.
 */
import { Histogram } from '../stats/histogram';
import type { StatsSnapshot, StatValue } from '../stats/store';
import type { WorkerStats } from './messages';

const PRIMARY_PREFIXES = ['server.', 'control_plane.', 'cluster_manager.', 'listener_manager.'];
const PRIMARY_CLUSTER_SUFFIXES = ['.membership_healthy', '.membership_total', '.membership_degraded', '.membership_excluded', '.membership_change', '.update_attempt', '.update_success', '.update_failure', '.update_empty'];
const PER_WORKER_LISTENER = /^(listener\.(?:.*))\.(downstream_cx_total|downstream_cx_active)$/;

/** Whether the primary's value is the whole truth for this stat. */
export function primaryOwned(name: string): boolean {
  if (PRIMARY_PREFIXES.some((p) => name.startsWith(p))) return true;
  if (!name.startsWith('cluster.')) return false;
  return name.includes('.health_check.') || PRIMARY_CLUSTER_SUFFIXES.some((s) => name.endsWith(s));
}

function isCircuitBreaker(name: string): boolean {
  return name.startsWith('cluster.') && name.includes('.circuit_breakers.');
}

/** Merges the primary's snapshot with the workers' numbers. */
export function mergeStats(local: StatsSnapshot, workers: readonly WorkerStats[]): StatsSnapshot {
  // `value` is NaN for a circuit breaker gauge until a worker reports it (the primary's is idle).
  const values = new Map<string, { kind: 'counter' | 'gauge'; value: number; local: number; used: boolean }>();
  for (const v of [...local.counters, ...local.gauges]) values.set(v.name, { kind: v.kind, value: isCircuitBreaker(v.name) ? NaN : v.value, local: v.value, used: v.used });
  const add = (kind: 'counter' | 'gauge', name: string, value: number, used: boolean): void => {
    if (primaryOwned(name)) return;
    const cur = values.get(name);
    if (!cur) {
      values.set(name, { kind, value, local: 0, used });
      return;
    }
    if (isCircuitBreaker(name)) {
      const worse = name.includes('.remaining_') ? Math.min : Math.max;
      cur.value = Number.isNaN(cur.value) ? value : worse(cur.value, value);
    } else cur.value += value;
    cur.used ||= used;
  };
  for (const w of workers) {
    for (const [name, value, used] of w.counters) {
      add('counter', name, value, used);
      const m = PER_WORKER_LISTENER.exec(name);
      if (m && !m[1]!.includes('.worker_')) add('counter', `${m[1]}.worker_${w.index}.${m[2]}`, value, used);
    }
    for (const [name, value, used] of w.gauges) {
      add('gauge', name, value, used);
      const m = PER_WORKER_LISTENER.exec(name);
      if (m && !m[1]!.includes('.worker_')) add('gauge', `${m[1]}.worker_${w.index}.${m[2]}`, value, used);
    }
  }
  const memory: ReadonlyArray<readonly [string, (m: WorkerStats['memory']) => number]> = [
    ['server.memory_allocated', (m) => m.heapUsed], ['server.memory_heap_size', (m) => m.heapTotal], ['server.memory_physical_size', (m) => m.rss],
  ];
  for (const [name, of] of memory) {
    const v = values.get(name);
    if (v) for (const w of workers) v.value += of(w.memory);
  }
  const counters: StatValue[] = [];
  const gauges: StatValue[] = [];
  for (const [name, v] of values) {
    // A circuit breaker only the primary reported (no worker answered): its own value.
    const value = Number.isNaN(v.value) ? v.local : v.value;
    (v.kind === 'counter' ? counters : gauges).push({ name, kind: v.kind, value, used: v.used });
  }
  const histograms = new Map<string, Histogram>();
  const histogram = (name: string): Histogram => {
    let h = histograms.get(name);
    if (!h) histograms.set(name, (h = new Histogram()));
    return h;
  };
  for (const { name, histogram: h } of local.histograms) histogram(name).addBins(h.exportBins());
  for (const w of workers) for (const [name, bins] of w.histograms) histogram(name).addBins(bins);
  return { counters, gauges, histograms: [...histograms].map(([name, h]) => ({ name, histogram: h })) };
}
