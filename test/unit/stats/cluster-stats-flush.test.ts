// The periodic stats flush asks sources for histograms only: cluster scopes hand over their
// upstream_rq_time without building a name for every counter and gauge (an idle 100-service
// sidecar built ~0.8 MiB of names every 5 s), and a full read still reports everything.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { sidecarBootstrap } from '../../../bench/macro/sidecar-bootstrap';
import { loadBootstrap } from '../../../src/bootstrap/bootstrap';
import { clusterStats } from '../../../src/stats/cluster-stats';
import type { Histogram } from '../../../src/stats/histogram';
import { StatsStore, type StatSink } from '../../../src/stats/store';
import { ClusterManager } from '../../../src/upstream/cluster-manager';

t.test('flush: histograms only; a read: every stat', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'legate-flush-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'bootstrap.json');
  fs.writeFileSync(file, JSON.stringify(sidecarBootstrap({ services: 3, adminPort: 15000, listenerPort: 15001, backendPort: 8080 })));
  const loaded = loadBootstrap({ configPath: file });
  t.same(loaded.errors, []);
  const clusters = new ClusterManager();
  t.teardown(() => clusters.destroy());
  clusters.reconcile(loaded.model!.clusters);
  const store = new StatsStore();
  clusterStats().attach(store, clusters);
  const first = clusters.all()[0]!;
  const scope = clusterStats().scopeOf(first);
  scope.upstreamRqTime.record(12);
  scope.chargeCode(200);

  const seen = (histogramsOnly: boolean): { scalars: string[]; histograms: Map<string, Histogram> } => {
    const scalars: string[] = [];
    const histograms = new Map<string, Histogram>();
    const sink: StatSink = {
      counter: (name) => void scalars.push(name),
      gauge: (name) => void scalars.push(name),
      histogram: (name, h) => void histograms.set(name, h),
      histogramsOnly,
    };
    for (const c of clusters.all()) clusterStats().scopeOf(c).report(sink, c);
    return { scalars, histograms };
  };
  const flushLike = seen(true);
  t.same(flushLike.scalars, [], 'no counter or gauge (nor its name) for a histograms-only sink');
  t.equal(flushLike.histograms.size, 3, 'one upstream_rq_time per cluster');
  t.equal(flushLike.histograms.get(`${scope.prefix}upstream_rq_time`), scope.upstreamRqTime);
  const read = seen(false);
  t.ok(read.scalars.includes(`${scope.prefix}upstream_rq_200`), 'a full read reports the code counters');
  t.ok(read.scalars.length > 3 * 20, `and every cluster's counters and gauges (${read.scalars.length})`);

  t.equal(scope.upstreamRqTime.intervalStatistics().sampleCount, 0, 'no interval before a flush');
  store.flush();
  t.equal(scope.upstreamRqTime.intervalStatistics().sampleCount, 1, 'the store flush turned the interval over');
});
