import t from 'tap';
import { loadFixtureResources, startControlPlane } from '../fakes/control-plane';
import { freePort, startLegate } from '../fakes/legate-process';
import { adsBootstrap, rdsListener, TYPE } from './xds-resources';

/**
 * Istio's real config dumps served over ADS. What Legate cannot take yet must be NACKed
 * for a documented reason (docs/compat.md), never crash it or be half-applied.
 */
t.test("Istio sidecar's listeners, gateway routes and clusters over ADS", async (t) => {
  const cp = await startControlPlane({ versionStyle: 'istio' });
  t.teardown(() => cp.stop());
  const listenerPort = await freePort();
  const sidecarListeners = loadFixtureResources('istio-config-dumps/sidecar-listeners.configdump.yaml', { origin: 'dynamic' });
  t.equal(sidecarListeners.length, 27);
  const gateway = loadFixtureResources('istio-config-dumps/gateway-routes-clusters.http_config.json');
  const routes = gateway.filter((r) => r.typeUrl === TYPE.routeConfig);
  const clusters = gateway.filter((r) => r.typeUrl === TYPE.cluster);
  cp.setResources(TYPE.listener, [...sidecarListeners, { name: 'probe', value: rdsListener('probe', listenerPort, routes[0]!.name) }]);
  cp.setResources(TYPE.cluster, clusters);
  cp.setResources(TYPE.routeConfig, routes);
  // No admin listener: with its initial LDS rejected (and initial_fetch_timeout 0s, as Istio
  // sets it) the proxy never becomes ready, so the test does not wait for /ready.
  const bootstrap = JSON.parse(adsBootstrap(0, cp.port, 'DELTA_GRPC')) as Record<string, unknown>;
  delete bootstrap['admin'];
  const proxy = await startLegate({ configYaml: JSON.stringify(bootstrap) });
  t.teardown(() => proxy.stop());

  const ldsNack = await cp.waitForNack(TYPE.listener, 10_000);
  t.match(ldsNack.message, /bind_to_port: listeners that do not bind \(bind_to_port: false\) are not supported yet/);
  t.match(ldsNack.message, /network filter "istio\.stats" \(stats\.PluginConfig\) is not supported yet/);
  // Istio's auto-mTLS transport_socket_matches are accepted; TLS endpoints are then left out
  // of load balancing (see xds-istio-mtls-policy.test.ts), so the gateway's cluster is ACKed.
  await cp.waitForAck(TYPE.cluster, cp.version(TYPE.cluster), 10_000);
  t.ok(cp.connectedStreams >= 1, 'the proxy stays connected after the NACKs');
  t.equal(proxy.child.exitCode, null, 'and keeps running');
});
