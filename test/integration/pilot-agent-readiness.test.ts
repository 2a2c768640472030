/**
 * What pilot-agent polls on Legate's admin API before it reports the pod ready
 * (istio/istio:pilot/cmd/pilot-agent/status/ready/probe.go, status/util/stats.go): `server.state`
 * and `listener_manager.workers_started` (`?usedonly`), and the CDS/LDS update counters.
 */
import t from 'tap';
import { startControlPlane } from '../fakes/control-plane';
import { startGrpcBackend } from '../fakes/grpc-backend';
import { freePort, startLegate } from '../fakes/legate-process';
import { clusterJson } from './bootstrap-builder';
import { adsBootstrap, rdsListener, routeConfig, TYPE } from './xds-resources';

/** pilot-agent's readiness parsing (istio/istio:pilot/cmd/pilot-agent/status/util/stats.go): first line starting with the name, `name: value`. */
function statOf(text: string, name: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(name));
  if (line === undefined) return undefined;
  const parts = line.split(':');
  return parts.length === 2 ? Number(parts[1]!.trim()) : NaN;
}

t.test('pilot-agent\'s readiness checks: server.state, workers_started, cds/lds update counters', async (t) => {
  const backend = await startGrpcBackend({ name: 'a', services: ['echo'] });
  t.teardown(() => backend.stop(100));
  const cp = await startControlPlane();
  t.teardown(() => cp.stop());
  const listenerPort = await freePort();
  const listener = rdsListener('outbound', listenerPort, 'routes') as { filter_chains: Array<{ filters: Array<{ typed_config: { rds: { config_source: Record<string, unknown> } } }> }> };
  listener.filter_chains[0]!.filters[0]!.typed_config.rds.config_source['initial_fetch_timeout'] = '0s';
  cp.setResources(TYPE.listener, [{ name: 'outbound', value: listener as unknown as Record<string, unknown> }]);
  cp.setResources(TYPE.cluster, [{ name: 'svc', value: clusterJson({ name: 'svc', endpoints: [backend.address] }) }]);
  const adminPort = await freePort();
  const proxy = await startLegate({ configYaml: adsBootstrap(adminPort, cp.port), waitForReady: false });
  t.teardown(() => proxy.stop());
  await cp.waitForRequest((r) => r.typeUrl === TYPE.routeConfig && r.resourceNames.includes('routes'), 30_000);
  const READY = '/stats?usedonly&filter=^(server\\.state|listener_manager\\.workers_started)';
  const UPDATES = '/stats?usedonly&filter=^(cluster_manager\\.cds|listener_manager\\.lds)\\.(update_success|update_rejected)$';

  const warming = (await proxy.admin(READY)).body;
  t.equal(statOf(warming, 'server.state'), 3, 'INITIALIZING while the listener warms');
  t.notOk((statOf(warming, 'listener_manager.workers_started') ?? 0) === 1, 'workers not started yet (pilot-agent: not ready)');

  cp.setResources(TYPE.routeConfig, [{ name: 'routes', value: routeConfig('routes', [{ match: { prefix: '/' }, route: { cluster: 'svc' } }]) }]);
  let ready = '';
  for (let i = 0; i < 100 && statOf(ready, 'listener_manager.workers_started') !== 1; i++) {
    await new Promise((r) => setTimeout(r, 50));
    ready = (await proxy.admin(READY)).body;
  }
  t.equal(statOf(ready, 'server.state'), 0, 'LIVE');
  t.equal(statOf(ready, 'listener_manager.workers_started'), 1, 'workers started');
  const updates = (await proxy.admin(UPDATES)).body;
  t.ok((statOf(updates, 'cluster_manager.cds.update_success') ?? 0) > 0, 'CDS update counted');
  t.ok((statOf(updates, 'listener_manager.lds.update_success') ?? 0) > 0, 'LDS update counted');
});
