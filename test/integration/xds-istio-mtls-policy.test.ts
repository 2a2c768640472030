import t from 'tap';
import { startControlPlane } from '../fakes/control-plane';
import { startGrpcBackend } from '../fakes/grpc-backend';
import { createEchoClient } from '../fakes/grpc-client';
import { freePort, startLegate } from '../fakes/legate-process';
import { adsBootstrap, edsCluster, rdsListener, routeConfig, TYPE } from './xds-resources';

/** Istio's auto-mTLS cluster shape (from the gateway dump): TLS for tlsMode=istio endpoints, plaintext otherwise. */
const ISTIO_MATCHES = [
  {
    name: 'tlsMode-istio',
    match: { tlsMode: 'istio' },
    transport_socket: { name: 'envoy.transport_sockets.tls', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext', sni: 'outbound_.8080_._.svc.ns.svc.cluster.local' } },
  },
  { name: 'tlsMode-disabled', match: {}, transport_socket: { name: 'envoy.transport_sockets.raw_buffer', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer' } } },
];

function endpoint(address: string, tls: boolean): Record<string, unknown> {
  const i = address.lastIndexOf(':');
  return {
    endpoint: { address: { socket_address: { address: address.slice(0, i), port_value: Number(address.slice(i + 1)) } } },
    ...(tls ? { metadata: { filter_metadata: { 'envoy.transport_socket_match': { tlsMode: 'istio' } } } } : {}),
  };
}

t.test('auto-mTLS: endpoints that need TLS are never sent plaintext', async (t) => {
  const plain = await startGrpcBackend({ name: 'plain', services: ['echo'] });
  const meshed = await startGrpcBackend({ name: 'meshed', services: ['echo'] });
  t.teardown(async () => { await plain.stop(100); await meshed.stop(100); });
  const cp = await startControlPlane();
  t.teardown(() => cp.stop());
  const listenerPort = await freePort();
  cp.setResources(TYPE.cluster, [{ name: 'svc', value: edsCluster('svc', { transport_socket_matches: ISTIO_MATCHES }) }]);
  cp.setResources(TYPE.endpoints, [{ name: 'svc', value: { cluster_name: 'svc', endpoints: [{ lb_endpoints: [endpoint(plain.address, false), endpoint(meshed.address, true)] }] } }]);
  cp.setResources(TYPE.listener, [{ name: 'l', value: rdsListener('l', listenerPort, 'r') }]);
  cp.setResources(TYPE.routeConfig, [{ name: 'r', value: routeConfig('r', [{ match: { prefix: '/' }, route: { cluster: 'svc' } }]) }]);
  const proxy = await startLegate({ configYaml: adsBootstrap(await freePort(), cp.port) });
  t.teardown(() => proxy.stop());
  const client = createEchoClient(`127.0.0.1:${listenerPort}`);
  t.teardown(() => client.close());
  for (let i = 0; i < 20; i++) t.equal((await client.unary({})).response.backend, 'plain');
  t.equal(meshed.connections, 0, 'the TLS endpoint was never connected to in plaintext');
  t.ok(await proxy.waitForLine(/endpoint 127\.0\.0\.1:\d+ requires TLS \(transport socket match "tlsMode-istio"\)/));

  cp.setResources(TYPE.endpoints, [{ name: 'svc', value: { cluster_name: 'svc', endpoints: [{ lb_endpoints: [endpoint(meshed.address, true)] }] } }]);
  await cp.waitForAck(TYPE.endpoints);
  await new Promise((r) => setTimeout(r, 200));
  const r = await client.unarySettled({});
  t.equal(r.status.details, 'no healthy upstream', 'only TLS endpoints left: fail closed (503 UH)');
  t.equal(meshed.connections, 0);
});
