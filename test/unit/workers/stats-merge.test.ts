/**
 * The `--concurrency` primary's /stats: its own numbers merged with the workers' (what adds up,
 * what the primary alone knows, per-worker listener stats, histograms bin by bin).
 */
import t from 'tap';
import { Histogram } from '../../../src/stats/histogram';
import type { StatsSnapshot, StatValue } from '../../../src/stats/store';
import type { WorkerStats } from '../../../src/workers/messages';
import { mergeStats } from '../../../src/workers/stats-merge';

const c = (name: string, value: number): StatValue => ({ name, kind: 'counter', value, used: value !== 0 });
const g = (name: string, value: number): StatValue => ({ name, kind: 'gauge', value, used: true });

function worker(index: number, counters: Array<[string, number]>, gauges: Array<[string, number]>, samples: number[]): WorkerStats {
  const h = new Histogram();
  for (const s of samples) h.record(s);
  return {
    index,
    counters: counters.map(([n, v]) => [n, v, v !== 0] as const),
    gauges: gauges.map(([n, v]) => [n, v, true] as const),
    histograms: [['http.in.downstream_rq_time', h.exportBins()]],
    hosts: [],
    activeConnections: 0,
    memory: { heapUsed: 10, heapTotal: 20, rss: 30 },
  };
}

t.test('counters and gauges add up; primary-owned stats come from the primary once', async (t) => {
  const local: StatsSnapshot = {
    counters: [c('cluster.svc.upstream_rq_total', 0), c('cluster.svc.health_check.attempt', 12), c('cluster.svc.membership_change', 1), c('control_plane.rate_limit_enforced', 0)],
    gauges: [g('server.memory_physical_size', 100), g('server.concurrency', 2), g('cluster.svc.membership_healthy', 3), g('cluster.svc.circuit_breakers.default.remaining_rq', 1024), g('cluster.svc.upstream_rq_active', 0)],
    histograms: [],
  };
  const w0 = worker(0, [['cluster.svc.upstream_rq_total', 7], ['cluster.svc.health_check.attempt', 0], ['listener.0.0.0.0_80.downstream_cx_total', 3], ['cluster.svc.membership_change', 1]],
    [['cluster.svc.membership_healthy', 3], ['cluster.svc.upstream_rq_active', 2], ['cluster.svc.circuit_breakers.default.remaining_rq', 1000], ['server.concurrency', 1], ['listener.0.0.0.0_80.downstream_cx_active', 1]], [5, 5, 120]);
  const w1 = worker(1, [['cluster.svc.upstream_rq_total', 5], ['listener.0.0.0.0_80.downstream_cx_total', 2]],
    [['cluster.svc.upstream_rq_active', 1], ['cluster.svc.circuit_breakers.default.remaining_rq', 1020], ['listener.0.0.0.0_80.downstream_cx_active', 0]], [7]);
  const m = mergeStats(local, [w0, w1]);
  const value = (name: string): number | undefined => [...m.counters, ...m.gauges].find((v) => v.name === name)?.value;
  t.equal(value('cluster.svc.upstream_rq_total'), 12, 'a data-path counter is the sum of the workers');
  t.equal(value('cluster.svc.upstream_rq_active'), 3, 'a per-worker gauge is the sum too');
  t.equal(value('cluster.svc.health_check.attempt'), 12, 'health checks are the primary\'s');
  t.equal(value('cluster.svc.membership_healthy'), 3, 'replicated cluster state once, not per process');
  t.equal(value('cluster.svc.membership_change'), 1);
  t.equal(value('server.concurrency'), 2, 'server.* from the primary');
  t.equal(value('server.memory_physical_size'), 160, 'memory: the primary and its workers');
  t.equal(value('cluster.svc.circuit_breakers.default.remaining_rq'), 1000, 'remaining_* shows the lowest worker');
  t.equal(value('listener.0.0.0.0_80.downstream_cx_total'), 5);
  t.equal(value('listener.0.0.0.0_80.worker_0.downstream_cx_total'), 3, "Envoy's per-worker listener stats");
  t.equal(value('listener.0.0.0.0_80.worker_1.downstream_cx_total'), 2);
  t.equal(value('listener.0.0.0.0_80.worker_0.downstream_cx_active'), 1);
  t.equal(m.counters.find((v) => v.name === 'listener.0.0.0.0_80.worker_1.downstream_cx_total')?.used, true);

  const h = m.histograms.find((x) => x.name === 'http.in.downstream_rq_time')!.histogram;
  const all = new Histogram();
  for (const s of [5, 5, 120, 7]) all.record(s);
  t.same(h.cumulativeStatistics(), all.cumulativeStatistics(), 'merged bins answer exactly as one histogram of every sample');
  t.ok(h.used);
});

t.test('no worker answered: the primary\'s own numbers', async (t) => {
  const local: StatsSnapshot = { counters: [c('http.in.downstream_rq_total', 0)], gauges: [g('cluster.svc.circuit_breakers.default.remaining_rq', 1024)], histograms: [] };
  const m = mergeStats(local, []);
  t.same(m.counters.map((v) => [v.name, v.value]), [['http.in.downstream_rq_total', 0]]);
  t.same(m.gauges.map((v) => [v.name, v.value]), [['cluster.svc.circuit_breakers.default.remaining_rq', 1024]]);
});
