/**
 * Istio's stats filter config forms and the recorder's labels, on a private store:
 * the waypoint form from the real dump, Wasm refusal for other modules, metric overrides.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import t from 'tap';
import { istioStatsFilter, wasmFilter } from '../../../src/extensions/http-filters/istio-stats';
import { StreamInfo } from '../../../src/http/stream-info';
import type { IstioStatsFilterModel } from '../../../src/snapshot/model';
import { IstioMetrics } from '../../../src/stats/istio/istio-metrics';
import { IstioStatsRecorder, istioReporter, parseEndpointWorkload } from '../../../src/stats/istio/istio-recorder';
import { renderPrometheus } from '../../../src/stats/prometheus';
import { StatsStore } from '../../../src/stats/store';
import { DecodeContext } from '../../../src/xds/resources/decode-context';
import { fixturesDir } from '../../fixtures-dir';

/** Every `istio.stats` typed_config in a parsed dump. */
function findIstioStats(node: unknown, out: Array<Record<string, unknown>> = []): Array<Record<string, unknown>> {
  if (Array.isArray(node)) for (const x of node) findIstioStats(x, out);
  else if (node && typeof node === 'object') {
    const o = node as Record<string, unknown>;
    if (o['name'] === 'istio.stats' && o['typed_config']) out.push(o['typed_config'] as Record<string, unknown>);
    for (const v of Object.values(o)) findIstioStats(v, out);
  }
  return out;
}

const NO_CLUSTERS = { get: () => undefined };

function decode(config: Record<string, unknown>): { model: IstioStatsFilterModel | undefined; ctx: DecodeContext } {
  const ctx = new DecodeContext();
  const m = istioStatsFilter.decode(config, 'http_filters[0].typed_config', ctx);
  return { model: m?.kind === 'istio_stats' ? m.config : undefined, ctx };
}

t.test("the waypoint dump's TypedStruct form: reporter SERVER_GATEWAY → waypoint", async (t) => {
  const dump = JSON.parse(fs.readFileSync(path.join(fixturesDir(), 'istio-config-dumps/waypoint-full.config_dump.json'), 'utf8')) as unknown;
  const configs = findIstioStats(dump).filter((c) => String(c['@type']).endsWith('TypedStruct'));
  t.ok(configs.length > 0, 'the dump has istio.stats in a TypedStruct');
  const { model, ctx } = decode(configs[0]!);
  t.same(ctx.errors, []);
  t.equal(model?.reporter, 'SERVER_GATEWAY');
  t.equal(istioReporter(model!, 'INBOUND'), 'waypoint');
  t.equal(istioReporter({ ...model!, reporter: 'UNSPECIFIED' }, 'INBOUND'), 'destination');
  t.equal(istioReporter({ ...model!, reporter: 'UNSPECIFIED' }, 'OUTBOUND'), 'source');
  t.equal(istioReporter({ ...model!, reporter: 'UNSPECIFIED' }, 'UNSPECIFIED'), 'source', "Istio's default is the client sidecar");
});

t.test('Wasm: only Istio telemetry modules are accepted', async (t) => {
  const wasm = (code: string): Record<string, unknown> => ({
    '@type': 'type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm',
    config: { vm_config: { runtime: 'envoy.wasm.runtime.v8', code: { local: { inline_string: code } } } },
  });
  let ctx = new DecodeContext();
  t.equal(wasmFilter.decode(wasm('my.custom.authz'), 'f', ctx), undefined);
  t.match(ctx.errors[0]?.message, /code "my\.custom\.authz"\) is a Wasm extension; Legate cannot run Wasm/);
  ctx = new DecodeContext();
  t.same(wasmFilter.decode(wasm('envoy.wasm.metadata_exchange'), 'f', ctx), { kind: 'noop', name: 'envoy.wasm.metadata_exchange' });
  ctx = new DecodeContext();
  const bad = wasm('envoy.wasm.stats');
  (bad['config'] as Record<string, unknown>)['configuration'] = { '@type': 'type.googleapis.com/google.protobuf.StringValue', value: '{not json' };
  wasmFilter.decode(bad, 'f', ctx);
  t.match(ctx.errors[0], { path: 'f.config.configuration', message: /not JSON/ });
});

t.test('a bad reporter is an error naming the field; CEL overrides warn', async (t) => {
  const { ctx } = decode({ '@type': 'type.googleapis.com/stats.PluginConfig', reporter: 'SIDEWAYS', metrics: [{ dimensions: { x: 'request.host' } }], definitions: [{ name: 'n', value: '1' }] });
  t.match(ctx.errors[0], { path: 'http_filters[0].typed_config.reporter' });
  t.equal(ctx.warnings.length, 2);
});

t.test('recorder: waypoint labels, drop and tags_to_remove', async (t) => {
  const store = new StatsStore();
  const metrics = new IstioMetrics();
  metrics.setNode({ NAMESPACE: 'ns1', CLUSTER_ID: 'c1', WORKLOAD_NAME: 'waypoint', LABELS: { app: 'wp' } });
  metrics.attach(store);
  const config: IstioStatsFilterModel = { reporter: 'SERVER_GATEWAY', disableHostHeaderFallback: true, droppedMetrics: ['request_bytes'], tagsToRemove: { response_bytes: ['response_flags'] } };
  const rec = new IstioStatsRecorder(config, 'INBOUND', NO_CLUSTERS, metrics);
  const info = new StreamInfo();
  info.requestHeaders = { ':authority': 'ignored.example', 'content-type': 'application/grpc+proto' };
  info.upstreamClusterName = 'outbound|9080|v1|reviews.default.svc.cluster.local';
  info.responseCode = 503;
  info.setFlag('UH');
  info.bytesSent = 42;
  rec.record(info);
  rec.record(info);
  const body = renderPrometheus(store, store.snapshot());
  const want = [
    'reporter="waypoint"', 'source_workload="unknown"', 'source_canonical_service="unknown"', 'source_canonical_revision="latest"',
    'source_workload_namespace="unknown"', 'source_principal="unknown"', 'source_app="unknown"', 'source_version="unknown"', 'source_cluster="unknown"',
    'destination_workload="unknown"', 'destination_workload_namespace="unknown"', 'destination_principal="unknown"', 'destination_app="unknown"',
    'destination_version="unknown"', 'destination_service="reviews.default.svc.cluster.local"', 'destination_canonical_service="unknown"',
    'destination_canonical_revision="unknown"', 'destination_service_name="reviews"', 'destination_service_namespace="ns1"', 'destination_cluster="c1"',
    'request_protocol="grpc"', 'response_code="503"', 'grpc_response_status="14"', 'response_flags="UH"', 'connection_security_policy="none"',
  ].join(',');
  t.match(body, `\nistio_requests_total{${want}} 2\n`);
  t.notMatch(body, /istio_request_bytes/, 'a dropped metric is not reported');
  t.match(body, `istio_response_bytes_count{${want.replace(',response_flags="UH"', '')}} 2\n`, 'tags_to_remove applies to that metric only');
  t.match(body, `istio_request_duration_milliseconds_count{${want}} 2\n`);
});

t.test("istiod's endpoint encoding (waypoint dump: httpbin;default;httpbin;v1;snorlax)", async (t) => {
  t.same(parseEndpointWorkload('httpbin;default;httpbin;v1;snorlax'), { workload: 'httpbin', namespace: 'default', canonicalName: 'httpbin', canonicalRevision: 'v1', cluster: 'snorlax' });
  t.equal(parseEndpointWorkload('httpbin;default;httpbin;v1'), undefined, 'fewer than five parts: no peer');
  t.same(parseEndpointWorkload(';;;;'), { workload: '', namespace: '', canonicalName: '', canonicalRevision: '', cluster: '' });
});
