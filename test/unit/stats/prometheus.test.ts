import t from 'tap';
import { compareStatNames, formatG32, renderPrometheus } from '../../../src/stats/prometheus';
import { StatsStore } from '../../../src/stats/store';
import { HCM_STATS } from '../../../src/stats/tables';
import { renderJson, renderText } from '../../../src/stats/text';

function smallStore(): StatsStore {
  const store = new StatsStore();
  const hcm = store.table('http.ingress.', { downstream_rq_total: 'counter', downstream_rq_2xx: 'counter', downstream_rq_active: 'gauge' });
  hcm.downstream_rq_total = 3;
  hcm.downstream_rq_2xx = 3;
  store.histogram('cluster.b-c.upstream_rq_time').record(5);
  store.histogram('cluster.b.upstream_rq_time'); // never recorded
  store.addSource((sink) => {
    sink.gauge('server.live', 1, true);
    sink.counter('cluster.b.upstream_rq_200', 2);
    sink.counter('cluster.b-c.upstream_rq_200', 1);
  });
  return store;
}

t.test('exact Prometheus text for a small store', async (t) => {
  const store = smallStore();
  const text = renderPrometheus(store, store.snapshot());
  const buckets = (tags: string, counts: number[]) => ['0.5', '1', '5', '10', '25', '50', '100', '250', '500', '1000', '2500', '5000', '10000', '30000', '60000', '300000', '600000', '1800000', '3600000']
    .map((b, i) => `envoy_cluster_upstream_rq_time_bucket{${tags}le="${b}"} ${counts[i]}\n`).join('');
  t.equal(text, [
    '# TYPE envoy_cluster_upstream_rq counter\n',
    // token-wise order: "b" < "b-c" (a plain string sort would put "b-c." first)
    'envoy_cluster_upstream_rq{envoy_response_code="200",envoy_cluster_name="b"} 2\n',
    'envoy_cluster_upstream_rq{envoy_response_code="200",envoy_cluster_name="b-c"} 1\n',
    '\n',
    '# TYPE envoy_http_downstream_rq_total counter\n',
    'envoy_http_downstream_rq_total{envoy_http_conn_manager_prefix="ingress"} 3\n',
    '\n',
    '# TYPE envoy_http_downstream_rq_xx counter\n',
    'envoy_http_downstream_rq_xx{envoy_response_code_class="2",envoy_http_conn_manager_prefix="ingress"} 3\n',
    '\n',
    '# TYPE envoy_http_downstream_rq_active gauge\n',
    'envoy_http_downstream_rq_active{envoy_http_conn_manager_prefix="ingress"} 0\n',
    '\n',
    '# TYPE envoy_server_live gauge\n',
    'envoy_server_live{} 1\n',
    '\n',
    '# TYPE envoy_cluster_upstream_rq_time histogram\n',
    buckets('envoy_cluster_name="b",', Array(19).fill(0)),
    'envoy_cluster_upstream_rq_time_bucket{envoy_cluster_name="b",le="+Inf"} 0\n',
    'envoy_cluster_upstream_rq_time_sum{envoy_cluster_name="b"} 0\n',
    'envoy_cluster_upstream_rq_time_count{envoy_cluster_name="b"} 0\n',
    buckets('envoy_cluster_name="b-c",', [0, 0, 0, ...Array(16).fill(1)]),
    'envoy_cluster_upstream_rq_time_bucket{envoy_cluster_name="b-c",le="+Inf"} 1\n',
    'envoy_cluster_upstream_rq_time_sum{envoy_cluster_name="b-c"} 5.049999999999999822364316059975\n',
    'envoy_cluster_upstream_rq_time_count{envoy_cluster_name="b-c"} 1\n',
    '\n',
  ].join(''));

  const used = renderPrometheus(store, store.snapshot(), { usedOnly: true });
  t.notMatch(used, /envoy_cluster_name="b",le=/, 'usedonly drops the unused histogram');
  t.notMatch(used, /downstream_rq_active/, 'and the never-set gauge');
  const filtered = renderPrometheus(store, store.snapshot(), { filter: /^server\./ });
  t.equal(filtered, '# TYPE envoy_server_live gauge\nenvoy_server_live{} 1\n\n');
});

t.test('tagless histograms print {} and no dangling comma', async (t) => {
  const store = new StatsStore();
  store.histogram('server.initialization_time_ms').record(12);
  const text = renderPrometheus(store, store.snapshot());
  t.match(text, /^envoy_server_initialization_time_ms_bucket\{le="0\.5"\} 0$/m);
  t.match(text, /^envoy_server_initialization_time_ms_sum\{\} 12\.5$/m);
  t.match(text, /^envoy_server_initialization_time_ms_count\{\} 1$/m);
});

t.test('/stats text and json', async (t) => {
  const store = smallStore();
  const text = renderText(store.snapshot());
  t.equal(text, [
    'cluster.b-c.upstream_rq_200: 1',
    'cluster.b.upstream_rq_200: 2',
    'http.ingress.downstream_rq_2xx: 3',
    'http.ingress.downstream_rq_active: 0',
    'http.ingress.downstream_rq_total: 3',
    'server.live: 1',
    'cluster.b-c.upstream_rq_time: P0(nan,5) P25(nan,5.025) P50(nan,5.05) P75(nan,5.075) P90(nan,5.09) P95(nan,5.095) P99(nan,5.099) P99.5(nan,5.0995) P99.9(nan,5.0999) P100(nan,5.1)',
    'cluster.b.upstream_rq_time: No recorded values',
    '',
  ].join('\n'));
  const json = JSON.parse(renderJson(store.snapshot(), { usedOnly: true })) as { stats: Array<Record<string, unknown>> };
  t.same(json.stats[0], { name: 'cluster.b-c.upstream_rq_200', value: 1 });
  const h = json.stats.at(-1) as { histograms: { supported_quantiles: number[]; computed_quantiles: Array<{ name: string; values: Array<{ interval: null; cumulative: number }> }> } };
  t.same(h.histograms.supported_quantiles, [0, 25, 50, 75, 90, 95, 99, 99.5, 99.9, 100]);
  t.equal(h.histograms.computed_quantiles.length, 1);
  t.same(h.histograms.computed_quantiles[0]!.values[0], { interval: null, cumulative: 5 });
});

t.test('tables are shared by name; reset_counters zeroes counters and source counters', async (t) => {
  const store = new StatsStore();
  const a = store.table('http.x.', HCM_STATS);
  const b = store.table('http.x.', HCM_STATS);
  t.equal(a, b, 'a rebuilt connection manager keeps counting in the same table');
  a.downstream_rq_total = 4;
  a.downstream_rq_active = 2;
  let raw = 10;
  store.addSource((sink) => sink.counter('cluster.c.upstream_rq_total', raw));
  store.resetCounters();
  raw = 13;
  const snap = store.snapshot();
  t.equal(snap.counters.find((c) => c.name === 'http.x.downstream_rq_total')?.value, 0);
  t.equal(snap.counters.find((c) => c.name === 'http.x.downstream_rq_total')?.used, true, 'still counts as used');
  t.equal(snap.gauges.find((c) => c.name === 'http.x.downstream_rq_active')?.value, 2, 'gauges untouched');
  t.equal(snap.counters.find((c) => c.name === 'cluster.c.upstream_rq_total')?.value, 3, 'source counter read from its reset point');
});

t.test('helpers', async (t) => {
  t.equal(formatG32(0.5), '0.5');
  t.equal(formatG32(3600000), '3600000');
  t.equal(formatG32(5.05), '5.049999999999999822364316059975');
  t.equal(formatG32(0), '0');
  t.ok(compareStatNames('cluster.b.x', 'cluster.b-c.x') < 0);
  t.ok(compareStatNames('a.b', 'a.b.c') < 0);
});
