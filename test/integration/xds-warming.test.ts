import http from 'node:http';
import t from 'tap';
import { startControlPlane } from '../fakes/control-plane';
import { freePort, startLegate } from '../fakes/legate-process';
import { adsBootstrap, rdsListener, TYPE } from './xds-resources';

function status(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path: '/' }, (res) => { res.resume(); resolve(res.statusCode ?? 0); }).on('error', reject);
  });
}

t.test('a listener warms until its RDS arrives, bounded by initial_fetch_timeout', async (t) => {
  const cp = await startControlPlane();
  t.teardown(() => cp.stop());
  const listenerPort = await freePort();
  const listener = rdsListener('l', listenerPort, 'never-sent') as { filter_chains: Array<{ filters: Array<{ typed_config: { rds: { config_source: Record<string, unknown> } } }> }> };
  listener.filter_chains[0]!.filters[0]!.typed_config.rds.config_source['initial_fetch_timeout'] = '1s';
  cp.setResources(TYPE.listener, [{ name: 'l', value: listener as unknown as Record<string, unknown> }]);
  cp.setResources(TYPE.cluster, []);
  const adminPort = await freePort();
  const started = Date.now();
  const proxy = await startLegate({ configYaml: adsBootstrap(adminPort, cp.port) });
  t.teardown(() => proxy.stop());
  const waited = Date.now() - started;
  t.ok(waited >= 900, `/ready waited for the warming listener (${waited} ms)`);
  t.ok(await proxy.waitForLine(/RouteConfiguration "never-sent" did not arrive within initial_fetch_timeout \(1000 ms\)/));
  t.equal(await status(listenerPort), 404, 'after the timeout the listener serves with no routes: 404 NR');
  const rdsRequest = cp.requests.find((r) => r.typeUrl === TYPE.routeConfig && r.resourceNames.includes('never-sent'));
  t.ok(rdsRequest, 'the route configuration was subscribed to');
});
