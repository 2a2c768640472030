/**
 * Weighted clusters, statistically, with real grpc-js backends: a static 75/25 split within ±3%
 * over 4,000 calls, and an 80/20 split fed over ADS in the shape istiod generates for a
 * VirtualService (subset clusters `outbound|50052|v1|…` over EDS, a `user: admin` header route
 * first, Istio's default retry policy, `timeout: 0s`, `max_grpc_timeout: 0s`, domains without
 * ports plus ignore_port_in_host_matching, and the allow_any catch-all).
 */
import t, { type Test } from 'tap';
import { startControlPlane } from '../fakes/control-plane';
import { startGrpcBackend, type GrpcBackend } from '../fakes/grpc-backend';
import { createEchoClient, type EchoClient } from '../fakes/grpc-client';
import { freePort, startLegate } from '../fakes/legate-process';
import { bootstrapText } from './bootstrap-builder';
import { adsBootstrap, assignment, edsCluster, rdsListener, TYPE } from './xds-resources';

const CALLS = 4000;

/** `CALLS` unary calls, 20 at a time; how many each backend served. */
async function spread(client: EchoClient, metadata?: Record<string, string>): Promise<Record<string, number>> {
  const served: Record<string, number> = {};
  for (let done = 0; done < CALLS; done += 20) {
    const batch = await Promise.all(Array.from({ length: 20 }, () => client.unary({}, metadata ? { metadata } : undefined)));
    for (const r of batch) served[r.response.backend] = (served[r.response.backend] ?? 0) + 1;
  }
  return served;
}

async function backends(t: Test, names: string[]): Promise<GrpcBackend[]> {
  const out: GrpcBackend[] = [];
  for (const name of names) out.push(await startGrpcBackend({ name, services: ['echo'] }));
  t.teardown(async () => { for (const b of out) await b.stop(100); });
  return out;
}

t.test('75/25 weighted clusters: within ±3% over 4,000 calls', async (t) => {
  const [a, b] = await backends(t, ['a', 'b']);
  const listenerPort = await freePort();
  const proxy = await startLegate({
    configYaml: bootstrapText({
      adminPort: await freePort(), listenerPort,
      clusters: [{ name: 'a', endpoints: [a!.address] }, { name: 'b', endpoints: [b!.address] }],
      routes: [{ match: { prefix: '/' }, route: { weighted_clusters: { clusters: [{ name: 'a', weight: 75 }, { name: 'b', weight: 25 }] } } }],
    }),
  });
  t.teardown(() => proxy.stop());
  const client = createEchoClient(`127.0.0.1:${listenerPort}`);
  t.teardown(() => client.close());
  const served = await spread(client);
  t.equal((served['a'] ?? 0) + (served['b'] ?? 0), CALLS, 'every call answered by a or b');
  const share = (served['a'] ?? 0) / CALLS;
  t.ok(Math.abs(share - 0.75) <= 0.03, `a served ${(share * 100).toFixed(2)}% (75 ± 3% expected): ${JSON.stringify(served)}`);
});

const FQDN = 'dubbo-samples-mesh-provider.dubbo-demo.svc.cluster.local';
const V1 = `outbound|50052|v1|${FQDN}`;
const V2 = `outbound|50052|v2|${FQDN}`;
const ISTIO_RETRY = {
  retry_on: 'connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes',
  num_retries: 2,
  retry_host_predicate: [{ name: 'envoy.retry_host_predicates.previous_hosts', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate' } }],
  host_selection_retry_max_attempts: '5',
};
const VS_METADATA = { filter_metadata: { istio: { config: '/apis/networking.istio.io/v1/namespaces/dubbo-demo/virtual-service/provider' } } };

/** The RouteConfiguration istiod builds for the VirtualService (ENVOY-COMPAT §6.4), with an 80/20 split. */
function istioRoutes(): Record<string, unknown> {
  return {
    name: '50052',
    virtual_hosts: [
      {
        name: `${FQDN}:50052`,
        domains: [FQDN, `${FQDN}.`, 'dubbo-samples-mesh-provider', 'dubbo-samples-mesh-provider.dubbo-demo.svc', 'dubbo-samples-mesh-provider.dubbo-demo', '10.101.172.129'],
        routes: [
          {
            match: { prefix: '/', case_sensitive: true, headers: [{ name: 'user', string_match: { exact: 'admin' } }] },
            route: { cluster: V2, timeout: '0s', retry_policy: ISTIO_RETRY, max_grpc_timeout: '0s' },
            metadata: VS_METADATA,
            decorator: { operation: `${FQDN}:50052/*` },
          },
          {
            match: { prefix: '/', case_sensitive: true },
            route: { weighted_clusters: { clusters: [{ name: V1, weight: 80 }, { name: V2, weight: 20 }] }, timeout: '0s', retry_policy: ISTIO_RETRY, max_grpc_timeout: '0s' },
            metadata: VS_METADATA,
            decorator: { operation: 'provider:50052/*' },
          },
        ],
        include_request_attempt_count: true,
      },
      {
        name: 'allow_any', domains: ['*'],
        routes: [{ name: 'allow_any', match: { prefix: '/' }, route: { cluster: 'PassthroughCluster', timeout: '0s', max_grpc_timeout: '0s' } }],
        include_request_attempt_count: true,
      },
    ],
    validate_clusters: false,
    max_direct_response_body_size_bytes: 1048576,
    ignore_port_in_host_matching: true,
  };
}

t.test('80/20 via weighted clusters fed over ADS as istiod feeds them', async (t) => {
  const [v1, v2] = await backends(t, ['v1', 'v2']);
  const cp = await startControlPlane();
  t.teardown(() => cp.stop());
  const listenerPort = await freePort();
  const istioCluster = (name: string) => edsCluster(name, { eds_cluster_config: { service_name: name, eds_config: { ads: {}, initial_fetch_timeout: '0s', resource_api_version: 'V3' } }, lb_policy: 'LEAST_REQUEST' });
  cp.setResources(TYPE.cluster, [{ name: V1, value: istioCluster(V1) }, { name: V2, value: istioCluster(V2) }]);
  cp.setResources(TYPE.endpoints, [{ name: V1, value: assignment(V1, [v1!.address]) }, { name: V2, value: assignment(V2, [v2!.address]) }]);
  cp.setResources(TYPE.listener, [{ name: '0.0.0.0_50052', value: rdsListener('0.0.0.0_50052', listenerPort, '50052') }]);
  cp.setResources(TYPE.routeConfig, [{ name: '50052', value: istioRoutes() }]);
  const proxy = await startLegate({ configYaml: adsBootstrap(await freePort(), cp.port) });
  t.teardown(() => proxy.stop());
  for (const type of [TYPE.listener, TYPE.routeConfig, TYPE.cluster, TYPE.endpoints]) await cp.waitForAck(type);
  // The Dubbo/gRPC client calls the service by its short name and port.
  const client = createEchoClient(`127.0.0.1:${listenerPort}`, { channelOptions: { 'grpc.default_authority': 'dubbo-samples-mesh-provider:50052' } });
  t.teardown(() => client.close());

  let admin = 0;
  for (let i = 0; i < 50; i++) if ((await client.unary({}, { metadata: { user: 'admin' } })).response.backend === 'v2') admin++;
  t.equal(admin, 50, 'user: admin always goes to subset v2');
  const served = await spread(client);
  t.equal((served['v1'] ?? 0) + (served['v2'] ?? 0), CALLS);
  const share = (served['v1'] ?? 0) / CALLS;
  t.ok(Math.abs(share - 0.8) <= 0.03, `v1 served ${(share * 100).toFixed(2)}% (80 ± 3% expected): ${JSON.stringify(served)}`);
  const stranger = createEchoClient(`127.0.0.1:${listenerPort}`, { channelOptions: { 'grpc.default_authority': 'unknown-service:80' } });
  t.teardown(() => stranger.close());
  const other = await stranger.unarySettled({});
  t.equal(other.status.code, 14, 'an unknown authority falls to allow_any → PassthroughCluster, absent here: 503 NC → UNAVAILABLE');
});
