/**
 * Per-type (non-aggregated) gRPC config sources: `api_config_source` with api_type GRPC or
 * DELTA_GRPC on LDS, CDS, an HCM's RDS and a cluster's EDS, with no ads_config at all. Each
 * source is its own stream of that type's discovery service (ListenerDiscoveryService/
 * StreamListeners, ...) on a real grpc-js control plane.
 */
import t from 'tap';
import { startControlPlane } from '../fakes/control-plane';
import { startGrpcBackend } from '../fakes/grpc-backend';
import { createEchoClient } from '../fakes/grpc-client';
import { freePort, startLegate } from '../fakes/legate-process';
import { runLegate } from './run-legate';
import { assignment, edsCluster, rdsListener, routeConfig, TYPE } from './xds-resources';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const apiSource = (apiType: 'GRPC' | 'DELTA_GRPC') => ({
  api_config_source: { api_type: apiType, transport_api_version: 'V3', grpc_services: [{ envoy_grpc: { cluster_name: 'xds-grpc' } }] },
  resource_api_version: 'V3',
  initial_fetch_timeout: '0s',
});

function bootstrap(adminPort: number, cpPort: number): string {
  return JSON.stringify({
    node: { id: 'sidecar~10.0.0.1~api-pod.ns~ns.svc.cluster.local', cluster: 'api.ns' },
    admin: { address: { socket_address: { address: '127.0.0.1', port_value: adminPort } } },
    dynamic_resources: { lds_config: apiSource('GRPC'), cds_config: apiSource('DELTA_GRPC') },
    static_resources: {
      clusters: [{
        name: 'xds-grpc', type: 'STATIC', connect_timeout: '1s',
        typed_extension_protocol_options: { 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': { '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions', explicit_http_config: { http2_protocol_options: {} } } },
        load_assignment: { cluster_name: 'xds-grpc', endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: cpPort } } } }] }] },
      }],
    },
  });
}

t.test('LDS/CDS/RDS/EDS each from its own api_config_source stream (SotW and delta), no ADS', async (t) => {
  const a = await startGrpcBackend({ name: 'a', services: ['echo'] });
  const b = await startGrpcBackend({ name: 'b', services: ['echo'] });
  t.teardown(async () => { await a.stop(100); await b.stop(100); });
  const cp = await startControlPlane();
  t.teardown(() => cp.stop());
  const listenerPort = await freePort();
  const listener = rdsListener('outbound', listenerPort, 'routes') as any;
  listener.filter_chains[0].filters[0].typed_config.rds.config_source = apiSource('GRPC');
  const cluster = edsCluster('svc') as any;
  cluster.eds_cluster_config.eds_config = apiSource('DELTA_GRPC');
  cp.setResources(TYPE.listener, [{ name: 'outbound', value: listener }]);
  cp.setResources(TYPE.cluster, [{ name: 'svc', value: cluster }]);
  cp.setResources(TYPE.routeConfig, [{ name: 'routes', value: routeConfig('routes', [{ match: { prefix: '/' }, route: { cluster: 'svc' } }]) }]);
  cp.setResources(TYPE.endpoints, [{ name: 'svc', value: assignment('svc', [a.address]) }]);

  const adminPort = await freePort();
  const proxy = await startLegate({ configYaml: bootstrap(adminPort, cp.port) });
  t.teardown(() => proxy.stop());
  const client = createEchoClient(`127.0.0.1:${listenerPort}`);
  t.teardown(() => client.close());
  t.equal((await client.unary({})).response.backend, 'a', 'configured entirely through per-type streams');

  // One stream per source: four streams, each carrying one type, in the source's protocol.
  await cp.waitForStreams(4);
  const byStream = new Map<number, { kind: string; types: Set<string> }>();
  for (const r of cp.requests) {
    const e = byStream.get(r.stream) ?? { kind: r.kind, types: new Set<string>() };
    e.types.add(r.typeUrl);
    byStream.set(r.stream, e);
  }
  const seen = [...byStream.values()].map((e) => `${[...e.types].join('+')}:${e.kind}`).sort();
  t.same(seen, [`${TYPE.cluster}:delta`, `${TYPE.endpoints}:delta`, `${TYPE.listener}:sotw`, `${TYPE.routeConfig}:sotw`].sort(), 'one type per stream');
  const rds = cp.requests.find((r) => r.typeUrl === TYPE.routeConfig);
  t.same(rds?.resourceNames, ['routes'], 'RDS asks for the names the listener references');
  for (const type of [TYPE.listener, TYPE.cluster, TYPE.routeConfig, TYPE.endpoints]) await cp.waitForAck(type);

  cp.setResources(TYPE.endpoints, [{ name: 'svc', value: assignment('svc', [b.address]) }]);
  await cp.waitForAck(TYPE.endpoints);
  let backend = '';
  for (let i = 0; i < 40 && backend !== 'b'; i++) {
    await new Promise((r) => setTimeout(r, 50));
    backend = (await client.unary({})).response.backend;
  }
  t.equal(backend, 'b', 'an EDS update on its own stream takes effect');

  // A bad route configuration is NACKed on the RDS stream; the last good one keeps serving.
  cp.setResources(TYPE.routeConfig, [{ name: 'routes', value: { name: 'routes', virtual_hosts: [{ name: 'all', domains: ['*', 'a*b'], routes: [{ match: { prefix: '/' }, route: { cluster: 'svc' } }] }] } }]);
  const nack = await cp.waitForNack(TYPE.routeConfig);
  t.match(nack.message, /RouteConfiguration "routes": .*domains\[1\]/, 'the NACK names the resource and field');
  t.equal((await client.unary({})).response.backend, 'b');
  const stats = (await proxy.admin('/stats?filter=^(cluster_manager\\.cds|listener_manager\\.lds)\\.update_success$')).body;
  t.match(stats, /cluster_manager\.cds\.update_success: [1-9]/, 'pilot-agent\'s readiness counters move');
  t.match(stats, /listener_manager\.lds\.update_success: [1-9]/);
});

t.test('api_config_source: REST and unknown clusters are rejected by name', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'legate-api-src-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const rest = JSON.parse(bootstrap(15000, 1)) as any;
  rest.dynamic_resources.lds_config.api_config_source.api_type = 'REST';
  rest.dynamic_resources.cds_config.api_config_source.grpc_services[0].envoy_grpc.cluster_name = 'nowhere';
  const file = path.join(dir, 'b.json');
  fs.writeFileSync(file, JSON.stringify(rest));
  const r = runLegate(['--mode', 'validate', '-c', file]);
  t.equal(r.code, 1);
  t.match(r.stderr, /dynamic_resources\.lds_config\.api_config_source\.api_type: REST-JSON polling is not supported for an api_config_source/);
  t.match(r.stderr, /dynamic_resources\.cds_config\.api_config_source\.grpc_services\[0\]\.envoy_grpc\.cluster_name: unknown cluster "nowhere"/);
});
