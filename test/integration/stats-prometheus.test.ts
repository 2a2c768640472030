/**
 * Stats through the real process: counters match the calls made, upstream_rq_time is a
 * histogram per cluster, Istio's dotted cluster names are extracted as Envoy extracts them
 * (defaults) and as Istio's bootstrap configures it (`;` delimiter), and promtool accepts the
 * exposition.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import t from 'tap';
import { startGrpcBackend } from '../fakes/grpc-backend';
import { createEchoClient } from '../fakes/grpc-client';
import { freePort, startLegate } from '../fakes/legate-process';
import { bootstrapJson } from './bootstrap-builder';

const ISTIO_NAME = 'outbound|50052||echo.ns.svc.cluster.local';

/** Envoy's default bucket bounds as Envoy prints them. */
const BOUNDS = ['0.5', '1', '5', '10', '25', '50', '100', '250', '500', '1000', '2500', '5000', '10000', '30000', '60000', '300000', '600000', '1800000', '3600000'];

function promtool(): string | undefined {
  const r = spawnSync('promtool', ['--version'], { encoding: 'utf8' });
  return r.status === 0 ? 'promtool' : undefined;
}

function lineValue(body: string, seriesPrefix: string): number | undefined {
  const line = body.split('\n').find((l) => l.startsWith(`${seriesPrefix} `));
  return line === undefined ? undefined : Number(line.slice(seriesPrefix.length + 1));
}

async function setup(t: { teardown(fn: () => unknown): void }, istio: boolean) {
  const a = await startGrpcBackend({ name: 'a', services: ['echo'] });
  const b = await startGrpcBackend({ name: 'b', services: ['echo'] });
  t.teardown(() => a.stop(100));
  t.teardown(() => b.stop(100));
  const adminPort = await freePort();
  const listenerPort = await freePort();
  const boot = bootstrapJson({
    adminPort,
    listenerPort,
    clusters: [
      { name: 'echo_a', endpoints: [a.address] },
      { name: ISTIO_NAME, endpoints: [b.address], ...(istio ? { extra: { alt_stat_name: `${ISTIO_NAME};` } } : {}) },
    ],
    routes: [
      { name: 'b', match: { prefix: '/', headers: [{ name: 'x-target', string_match: { exact: 'b' } }] }, route: { cluster: ISTIO_NAME } },
      { name: 'a', match: { prefix: '/' }, route: { cluster: 'echo_a' } },
    ],
  });
  if (istio) {
    // Istio's bootstrap (tools/packaging/common/envoy_bootstrap.json), the tags that matter here.
    boot['stats_config'] = {
      use_all_default_tags: false,
      stats_tags: [
        { tag_name: 'cluster_name', regex: '^cluster(\\.(.+);)' },
        { tag_name: 'http_conn_manager_prefix', regex: '^http\\.(((?:[_.[:digit:]\\w]*|[_\\[\\]aAbBcCdDeEfF[:digit:]\\w\\:]*));\\.)' },
        { tag_name: 'response_code', regex: '_rq(_(\\d{3}))$' },
        { tag_name: 'response_code_class', regex: '_rq(_(\\dxx))$' },
        { tag_name: 'listener_address', regex: '^listener\\.(((?:[_.[:digit:]]*|[_\\[\\]aAbBcCdDeEfF[:digit:]]*))\\.)' },
      ],
    };
  }
  const proxy = await startLegate({ configYaml: JSON.stringify(boot, null, 2) });
  t.teardown(() => proxy.stop());
  const client = createEchoClient(`127.0.0.1:${listenerPort}`);
  t.teardown(() => client.close());
  return { proxy, client, listenerPort };
}

t.test('Envoy default tags: counters match the calls; upstream_rq_time per cluster', async (t) => {
  const { proxy, client, listenerPort } = await setup(t, false);
  const N = 7;
  const M = 3;
  for (let i = 0; i < N; i++) await client.unary({ payload: Buffer.from('x') });
  for (let i = 0; i < M; i++) await client.unary({ payload: Buffer.from('y') }, { metadata: { 'x-target': 'b' } });

  const r = await proxy.admin('/stats/prometheus');
  t.equal(r.status, 200);
  const body = r.body;
  t.equal(lineValue(body, 'envoy_cluster_upstream_rq_total{envoy_cluster_name="echo_a"}'), N);
  t.equal(lineValue(body, 'envoy_cluster_upstream_rq{envoy_response_code="200",envoy_cluster_name="echo_a"}'), N);
  t.equal(lineValue(body, 'envoy_cluster_upstream_rq_xx{envoy_response_code_class="2",envoy_cluster_name="echo_a"}'), N);
  t.equal(lineValue(body, 'envoy_cluster_upstream_rq_completed{envoy_cluster_name="echo_a"}'), N);
  t.equal(lineValue(body, 'envoy_cluster_upstream_cx_total{envoy_cluster_name="echo_a"}'), 1, 'one pooled connection');
  t.equal(lineValue(body, 'envoy_cluster_membership_healthy{envoy_cluster_name="echo_a"}'), 1);
  t.equal(lineValue(body, 'envoy_cluster_membership_total{envoy_cluster_name="echo_a"}'), 1);
  // Envoy's tokenized cluster_name takes one dot-free token: the rest of Istio's name stays in the metric name.
  t.equal(lineValue(body, 'envoy_cluster_ns_svc_cluster_local_upstream_rq_total{envoy_cluster_name="outbound|50052||echo"}'), M);
  t.equal(lineValue(body, 'envoy_http_downstream_rq_total{envoy_http_conn_manager_prefix="test"}'), N + M);
  t.equal(lineValue(body, 'envoy_http_downstream_rq_xx{envoy_response_code_class="2",envoy_http_conn_manager_prefix="test"}'), N + M);
  t.equal(lineValue(body, 'envoy_http_downstream_rq_active{envoy_http_conn_manager_prefix="test"}'), 0);
  t.equal(lineValue(body, 'envoy_http_downstream_cx_total{envoy_http_conn_manager_prefix="test"}'), 1);
  t.equal(lineValue(body, `envoy_listener_downstream_cx_total{envoy_listener_address="127.0.0.1_${listenerPort}"}`), 1);
  t.equal(lineValue(body, `envoy_listener_downstream_cx_active{envoy_listener_address="127.0.0.1_${listenerPort}"}`), 1);
  t.equal(lineValue(body, 'envoy_server_live{}'), 1, 'tagless series keep their braces');
  t.equal(lineValue(body, 'envoy_server_state{}'), 0);
  t.equal(lineValue(body, 'envoy_cluster_manager_active_clusters{}'), 2);

  t.match(body, /^# TYPE envoy_cluster_upstream_rq_time histogram$/m);
  for (const bound of BOUNDS) t.match(body, new RegExp(`^envoy_cluster_upstream_rq_time_bucket\\{envoy_cluster_name="echo_a",le="${bound}"\\} \\d+$`, 'm'));
  t.equal(lineValue(body, 'envoy_cluster_upstream_rq_time_bucket{envoy_cluster_name="echo_a",le="+Inf"}'), N);
  t.equal(lineValue(body, 'envoy_cluster_upstream_rq_time_count{envoy_cluster_name="echo_a"}'), N);
  t.equal(lineValue(body, 'envoy_cluster_ns_svc_cluster_local_upstream_rq_time_count{envoy_cluster_name="outbound|50052||echo"}'), M);
  t.equal(lineValue(body, 'envoy_http_downstream_rq_time_count{envoy_http_conn_manager_prefix="test"}'), N + M);

  // Counters, then gauges, then histograms.
  const firstGauge = body.indexOf(' gauge\n');
  const lastCounter = body.lastIndexOf(' counter\n');
  const firstHistogram = body.indexOf(' histogram\n');
  t.ok(lastCounter < firstGauge && firstGauge < firstHistogram, 'type order counter < gauge < histogram');

  const tool = promtool();
  const skip = tool ? false : 'promtool not installed (Debian package "prometheus"); .ci/run should apt-get install it';
  t.test('promtool check metrics accepts the exposition', { skip }, async (t) => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'legate-prom-')), 'metrics.txt');
    fs.writeFileSync(file, body);
    const res = spawnSync('sh', ['-c', `${tool as string} check metrics < "${file}"`], { encoding: 'utf8' });
    // Exit 1 with "error while linting: text format parsing error ..." means the exposition is
    // broken. Exit 3 only carries lint remarks about Prometheus naming conventions Envoy's names
    // do not follow (no HELP text, counters without `_total`, `_ms` units): same as for Envoy.
    const out = `${res.stdout}${res.stderr}`;
    t.notMatch(out, /error while linting|parsing error/, 'no parse error');
    t.ok(res.status === 0 || res.status === 3, `promtool exit status ${res.status} (0 or 3 = parsed)`);
  });

  t.test('/stats text, json, filter, usedonly', async (t) => {
    const text = (await proxy.admin('/stats')).body;
    t.match(text, new RegExp(`^cluster\\.echo_a\\.upstream_rq_total: ${N}$`, 'm'));
    // Interval values are `nan` until the first 5 s flush, as in Envoy.
    t.match(text, /^cluster\.echo_a\.upstream_rq_time: P0\((nan|[\d.]+),[\d.]+\) P25\(/m);
    t.match(text, /^server\.live: 1$/m);
    const filtered = (await proxy.admin('/stats?filter=upstream_rq_2&usedonly')).body.trim().split('\n');
    t.same(filtered.sort(), [
      `cluster.echo_a.upstream_rq_200: ${N}`,
      `cluster.echo_a.upstream_rq_2xx: ${N}`,
      `cluster.${ISTIO_NAME}.upstream_rq_200: ${M}`,
      `cluster.${ISTIO_NAME}.upstream_rq_2xx: ${M}`,
    ].sort());
    const json = JSON.parse((await proxy.admin('/stats?format=json')).body) as { stats: Array<{ name?: string; value?: number; histograms?: { supported_quantiles: number[]; computed_quantiles: Array<{ name: string }> } }> };
    t.equal(json.stats.find((s) => s.name === 'cluster.echo_a.upstream_rq_total')?.value, N);
    const h = json.stats.find((s) => s.histograms)?.histograms;
    t.same(h?.supported_quantiles, [0, 25, 50, 75, 90, 95, 99, 99.5, 99.9, 100]);
    t.ok(h?.computed_quantiles.some((q) => q.name === 'cluster.echo_a.upstream_rq_time'));
    t.equal((await proxy.admin('/stats?filter=(')).status, 400, 'a bad filter regex is a 400');
  });

  t.test('POST /reset_counters zeroes counters, keeps gauges', async (t) => {
    t.equal((await proxy.admin('/reset_counters')).status, 405, 'GET is refused');
    t.equal((await proxy.admin('/reset_counters', 'POST')).status, 200);
    const after = (await proxy.admin('/stats/prometheus')).body;
    t.equal(lineValue(after, 'envoy_cluster_upstream_rq_total{envoy_cluster_name="echo_a"}'), 0);
    t.equal(lineValue(after, 'envoy_cluster_upstream_rq{envoy_response_code="200",envoy_cluster_name="echo_a"}'), 0);
    t.equal(lineValue(after, 'envoy_http_downstream_rq_total{envoy_http_conn_manager_prefix="test"}'), 0);
    t.equal(lineValue(after, 'envoy_cluster_membership_total{envoy_cluster_name="echo_a"}'), 1);
    await client.unary({ payload: Buffer.from('z') });
    const again = (await proxy.admin('/stats/prometheus')).body;
    t.equal(lineValue(again, 'envoy_cluster_upstream_rq_total{envoy_cluster_name="echo_a"}'), 1, 'counting resumes from zero');
  });
});

t.test("Istio's stats_config and `;`-delimited alt_stat_name keep the whole cluster name", async (t) => {
  const { proxy, client } = await setup(t, true);
  for (let i = 0; i < 4; i++) await client.unary({ payload: Buffer.from('y') }, { metadata: { 'x-target': 'b' } });
  const body = (await proxy.admin('/stats/prometheus')).body;
  t.equal(lineValue(body, `envoy_cluster_upstream_rq_total{cluster_name="${ISTIO_NAME}"}`), 4);
  t.equal(lineValue(body, `envoy_cluster_upstream_rq{cluster_name="${ISTIO_NAME}",response_code_class="2xx"}`), 4, 'labels in extractor order');
  t.equal(lineValue(body, `envoy_cluster_upstream_rq_time_count{cluster_name="${ISTIO_NAME}"}`), 4);
  t.equal(lineValue(body, 'envoy_cluster_upstream_rq_total{cluster_name="echo_a"}'), undefined, 'a cluster without the delimiter is not tagged');
  t.equal(lineValue(body, `envoy_cluster_upstream_rq{cluster_name="${ISTIO_NAME}",response_code="200"}`), 4);
  const text = (await proxy.admin('/stats')).body;
  t.match(text, new RegExp(`^cluster\\.${ISTIO_NAME.replace(/[|.]/g, '\\$&')};\\.upstream_rq_total: 4$`, 'm'), 'flat names carry the alt_stat_name');
});
