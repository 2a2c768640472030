/**
 * Istio's standard metrics through the real process: a sidecar-like bootstrap (node metadata
 * as Istio's injector sets it, an OUTBOUND listener with `istio.stats` as istiod sends it now,
 * an INBOUND listener with the older Wasm form `envoy.wasm.stats`), real gRPC and HTTP/1.1
 * calls, and `/stats/prometheus` read back: names, Istio's label order, values, histograms,
 * and promtool accepting the exposition.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import t from 'tap';
import { startGrpcBackend } from '../fakes/grpc-backend';
import { createEchoClient } from '../fakes/grpc-client';
import { startH1Backend } from '../fakes/h1-backend';
import { freePort, startLegate } from '../fakes/legate-process';
import { fixturesDir } from '../fixtures-dir';
import { bootstrapJson } from './bootstrap-builder';

const ECHO = 'outbound|50052||echo.ns.svc.cluster.local';
const BOUNDS = ['0.5', '1', '5', '10', '25', '50', '100', '250', '500', '1000', '2500', '5000', '10000', '30000', '60000', '300000', '600000', '1800000', '3600000'];

function lineValue(body: string, series: string): number | undefined {
  const line = body.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

function labels(pairs: ReadonlyArray<readonly [string, string]>): string {
  return pairs.map(([k, v]) => `${k}="${v}"`).join(',');
}

/** Node metadata: the running-pod golden from Istio's bootstrap tests, plus what the injector adds. */
function nodeMetadata(): Record<string, unknown> {
  const golden = JSON.parse(fs.readFileSync(path.join(fixturesDir(), 'istio-bootstrap/running_golden.json'), 'utf8')) as { node: { metadata: Record<string, unknown> } };
  const md = golden.node.metadata;
  return {
    ...md,
    NAMESPACE: 'default',
    WORKLOAD_NAME: 'productpage-v1',
    CLUSTER_ID: 'Kubernetes',
    ISTIO_VERSION: '1.22.0',
    LABELS: { ...(md['LABELS'] as object), app: 'productpage', version: 'v1', 'service.istio.io/canonical-name': 'productpage', 'service.istio.io/canonical-revision': 'v1' },
  };
}

const ROUTER = { name: 'envoy.filters.http.router', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } };

/** As istiod sends it on outbound chains today (sidecar-listeners fixture). */
const ISTIO_STATS = { name: 'istio.stats', typed_config: { '@type': 'type.googleapis.com/stats.PluginConfig' } };

/** Istio 1.5–1.17: the null-VM Wasm plugin, config as a JSON string (istio/proxy testdata/filters/stats_inbound). */
const WASM_STATS_INBOUND = {
  name: 'istio.stats',
  typed_config: {
    '@type': 'type.googleapis.com/udpa.type.v1.TypedStruct',
    type_url: 'type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm',
    value: {
      config: {
        root_id: 'stats_inbound',
        vm_config: { vm_id: 'stats_inbound', runtime: 'envoy.wasm.runtime.null', code: { local: { inline_string: 'envoy.wasm.stats' } } },
        configuration: { '@type': 'type.googleapis.com/google.protobuf.StringValue', value: '{"debug": "false", "stat_prefix": "istio", "disable_host_header_fallback": true}' },
      },
    },
  },
};

/** The Wasm metadata exchange istiod sent alongside (sidecar-listeners fixture): accepted, no effect. */
const WASM_MX = {
  name: 'istio.metadata_exchange',
  typed_config: {
    '@type': 'type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm',
    config: {
      vm_config: { runtime: 'envoy.wasm.runtime.null', code: { local: { inline_string: 'envoy.wasm.metadata_exchange' } } },
      configuration: { '@type': 'type.googleapis.com/envoy.tcp.metadataexchange.config.MetadataExchange' },
    },
  },
};

function httpGet(port: number, p: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: p, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
  });
}

t.test('istio_requests_total and the histograms, reported as source and as destination', async (t) => {
  const grpcBackend = await startGrpcBackend({ name: 'echo', services: ['echo'] });
  t.teardown(() => grpcBackend.stop(100));
  const h1 = await startH1Backend({ name: 'h1' });
  t.teardown(() => h1.stop());
  const adminPort = await freePort();
  const outPort = await freePort();
  const inPort = await freePort();
  const boot = bootstrapJson({
    adminPort,
    listenerPort: outPort,
    clusters: [
      {
        name: ECHO,
        endpoints: [grpcBackend.address],
        extra: { metadata: { filter_metadata: { istio: { services: [{ host: 'echo.ns.svc.cluster.local', name: 'echo', namespace: 'ns' }] } } } },
      },
      { name: 'plain_h1', endpoints: [h1.address], http2: false },
      { name: 'inbound|8080||', endpoints: [grpcBackend.address] },
    ],
    routes: [
      { name: 'echo', match: { prefix: '/legate.test.Echo/' }, route: { cluster: ECHO } },
      { name: 'h1', match: { prefix: '/h1' }, route: { cluster: 'plain_h1' } },
    ],
    hcmExtra: { http_filters: [ISTIO_STATS, ROUTER] },
  });
  // istiod's endpoint metadata (as in the sidecar-endpoints and waypoint dumps): the client side's peer labels.
  const echoCluster = (boot['static_resources'] as { clusters: Array<{ load_assignment: { endpoints: Array<{ lb_endpoints: Array<Record<string, unknown>> }> } }> }).clusters[0]!;
  echoCluster.load_assignment.endpoints[0]!.lb_endpoints[0]!['metadata'] = { filter_metadata: { istio: { workload: 'echo-v1;ns;echo;v1;Kubernetes' } } };
  boot['node'] = { id: 'sidecar~10.0.0.5~productpage-v1-abc.default~default.svc.cluster.local', cluster: 'productpage.default', metadata: nodeMetadata() };
  const sr = boot['static_resources'] as { listeners: Array<Record<string, unknown>> };
  const outbound = sr.listeners[0]!;
  outbound['traffic_direction'] = 'OUTBOUND';
  const inbound = JSON.parse(JSON.stringify(outbound)) as Record<string, unknown>;
  inbound['name'] = 'inbound_listener';
  inbound['traffic_direction'] = 'INBOUND';
  inbound['address'] = { socket_address: { address: '127.0.0.1', port_value: inPort } };
  const inHcm = (inbound['filter_chains'] as Array<{ filters: Array<{ typed_config: Record<string, unknown> }> }>)[0]!.filters[0]!.typed_config;
  inHcm['stat_prefix'] = 'inbound_0.0.0.0_8080';
  inHcm['http_filters'] = [WASM_MX, WASM_STATS_INBOUND, ROUTER];
  inHcm['route_config'] = { name: 'inbound|8080||', virtual_hosts: [{ name: 'inbound', domains: ['*'], routes: [{ name: 'default', match: { prefix: '/' }, route: { cluster: 'inbound|8080||' } }] }] };
  sr.listeners.push(inbound);

  const proxy = await startLegate({ configYaml: JSON.stringify(boot, null, 2) });
  t.teardown(() => proxy.stop());
  const out = createEchoClient(`127.0.0.1:${outPort}`);
  t.teardown(() => out.close());
  const inb = createEchoClient(`127.0.0.1:${inPort}`);
  t.teardown(() => inb.close());

  const OK = 5;
  const NOT_FOUND = 2;
  const INBOUND = 3;
  for (let i = 0; i < OK; i++) await out.unary({ payload: Buffer.from('hello') });
  for (let i = 0; i < NOT_FOUND; i++) t.equal((await out.unarySettled({ reply_status: 5 })).status.code, 5);
  for (let i = 0; i < INBOUND; i++) await inb.unary({ payload: Buffer.from('in') });
  t.equal(await httpGet(outPort, '/h1/x'), 200);
  t.equal(await httpGet(outPort, '/no/route'), 404);

  const body = (await proxy.admin('/stats/prometheus')).body;
  const source: Array<[string, string]> = [
    ['reporter', 'source'], ['source_workload', 'productpage-v1'], ['source_canonical_service', 'productpage'], ['source_canonical_revision', 'v1'],
    ['source_workload_namespace', 'default'], ['source_principal', 'unknown'], ['source_app', 'productpage'], ['source_version', 'v1'], ['source_cluster', 'Kubernetes'],
    ['destination_workload', 'unknown'], ['destination_workload_namespace', 'unknown'], ['destination_principal', 'unknown'], ['destination_app', 'unknown'],
    ['destination_version', 'unknown'],
  ];
  const peerUnknownTail: Array<[string, string]> = [['destination_service_namespace', 'unknown'], ['destination_cluster', 'unknown']];
  const echoSource = source.map(([k, v]): [string, string] => [k, k === 'destination_workload' ? 'echo-v1' : k === 'destination_workload_namespace' ? 'ns' : v]);
  const echoDest: Array<[string, string]> = [
    ['destination_service', 'echo.ns.svc.cluster.local'], ['destination_canonical_service', 'echo'], ['destination_canonical_revision', 'v1'],
    ['destination_service_name', 'echo'], ['destination_service_namespace', 'ns'], ['destination_cluster', 'Kubernetes'],
  ];
  const tail = (protocol: string, code: string, grpc: string, flags: string, policy: string): Array<[string, string]> => [
    ['request_protocol', protocol], ['response_code', code], ['grpc_response_status', grpc], ['response_flags', flags], ['connection_security_policy', policy],
  ];
  const okLabels = labels([...echoSource, ...echoDest, ...tail('grpc', '200', '0', '-', 'unknown')]);
  t.equal(lineValue(body, `istio_requests_total{${okLabels}}`), OK, 'gRPC OK calls, reporter=source, service from the cluster metadata, peer from the endpoint metadata');
  t.equal(lineValue(body, `istio_requests_total{${labels([...echoSource, ...echoDest, ...tail('grpc', '200', '5', '-', 'unknown')])}}`), NOT_FOUND, 'grpc_response_status from the trailers');

  const host = `127.0.0.1:${outPort}`;
  const hostDest: Array<[string, string]> = [
    ['destination_service', host], ['destination_canonical_service', 'unknown'], ['destination_canonical_revision', 'latest'], ['destination_service_name', host], ...peerUnknownTail,
  ];
  t.equal(lineValue(body, `istio_requests_total{${labels([...source, ...hostDest, ...tail('http', '200', '', '-', 'unknown')])}}`), 1, 'HTTP/1.1: Host fallback, empty grpc_response_status');
  t.equal(lineValue(body, `istio_requests_total{${labels([...source, ...hostDest, ...tail('http', '404', '', 'NR', 'unknown')])}}`), 1, 'no route: 404 NR');

  const destination: Array<[string, string]> = [
    ['reporter', 'destination'], ['source_workload', 'unknown'], ['source_canonical_service', 'unknown'], ['source_canonical_revision', 'latest'],
    ['source_workload_namespace', 'unknown'], ['source_principal', 'unknown'], ['source_app', 'unknown'], ['source_version', 'unknown'], ['source_cluster', 'unknown'],
    ['destination_workload', 'productpage-v1'], ['destination_workload_namespace', 'default'], ['destination_principal', 'unknown'], ['destination_app', 'productpage'],
    ['destination_version', 'v1'], ['destination_service', 'productpage'], ['destination_canonical_service', 'productpage'], ['destination_canonical_revision', 'v1'],
    ['destination_service_name', 'productpage'], ['destination_service_namespace', 'default'], ['destination_cluster', 'Kubernetes'],
    ...tail('grpc', '200', '0', '-', 'none'),
  ];
  t.equal(lineValue(body, `istio_requests_total{${labels(destination)}}`), INBOUND, 'INBOUND listener with the Wasm form: reporter=destination, no Host fallback');

  t.match(body, /^# TYPE istio_requests_total counter$/m);
  t.match(body, /^# TYPE istio_request_duration_milliseconds histogram$/m);
  t.match(body, /^# TYPE istio_request_bytes histogram$/m);
  t.match(body, /^# TYPE istio_response_bytes histogram$/m);
  t.match(body, /^# TYPE istio_build gauge$/m);
  t.equal(lineValue(body, 'istio_build{component="proxy",tag="1.22.0"}'), 1);
  t.notMatch(body, /envoy_istio/, 'not envoy_-prefixed');
  for (const bound of BOUNDS) t.match(body, new RegExp(`^istio_request_duration_milliseconds_bucket\\{${okLabels.replace(/[|.]/g, '\\$&')},le="${bound}"\\} \\d+$`, 'm'));
  t.equal(lineValue(body, `istio_request_duration_milliseconds_bucket{${okLabels},le="+Inf"}`), OK);
  t.equal(lineValue(body, `istio_request_duration_milliseconds_count{${okLabels}}`), OK);
  t.equal(lineValue(body, `istio_request_bytes_count{${okLabels}}`), OK);
  t.ok((lineValue(body, `istio_request_bytes_sum{${okLabels}}`) ?? 0) > 0, 'request bytes recorded');
  t.ok((lineValue(body, `istio_response_bytes_sum{${okLabels}}`) ?? 0) > 0, 'response bytes recorded');

  const text = (await proxy.admin('/stats?filter=istio_requests_total')).body;
  t.match(text, /^istiocustom\.istio_requests_total\.reporter\.source\.source_workload\.productpage-v1\.source_canonical_service\.productpage\./m, "/stats shows Envoy's flat name of a tagged stat");

  const tool = spawnSync('promtool', ['--version']).status === 0;
  t.test('promtool check metrics accepts the exposition', { skip: tool ? false : 'promtool not installed (Debian package "prometheus")' }, async (t) => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'legate-istio-prom-')), 'metrics.txt');
    fs.writeFileSync(file, body);
    const res = spawnSync('sh', ['-c', `promtool check metrics < "${file}"`], { encoding: 'utf8' });
    const outText = `${res.stdout}${res.stderr}`;
    t.notMatch(outText, /error while linting|parsing error/, 'no parse error');
    t.ok(res.status === 0 || res.status === 3, `promtool exit status ${res.status} (0 or 3 = parsed)`);
  });
});
