import t from 'tap';
import { startControlPlane } from '../fakes/control-plane';
import { startGrpcBackend, type GrpcBackend } from '../fakes/grpc-backend';
import { createEchoClient, type EchoClient } from '../fakes/grpc-client';
import { freePort, startLegate, type LegateProcess } from '../fakes/legate-process';
import { adsBootstrap, assignment, edsCluster, rdsListener, routeConfig, TYPE } from './xds-resources';

/** Calls in a loop until stopped; counts failures and which backend answered. */
function load(client: EchoClient): { stop(): Promise<{ ok: number; failed: number; byBackend: Record<string, number>; errors: string[] }>; snapshot(): Record<string, number> } {
  let running = true;
  let ok = 0;
  let failed = 0;
  let byBackend: Record<string, number> = {};
  const errors: string[] = [];
  const workers = Array.from({ length: 4 }, async () => {
    while (running) {
      const r = await client.unarySettled({});
      if (r.ok) {
        ok++;
        byBackend[r.response!.backend] = (byBackend[r.response!.backend] ?? 0) + 1;
      } else {
        failed++;
        if (errors.length < 5) errors.push(`${r.status.code} ${r.status.details}`);
      }
    }
  });
  return {
    async stop() {
      running = false;
      await Promise.all(workers);
      return { ok, failed, byBackend, errors };
    },
    snapshot() {
      const s = byBackend;
      byBackend = {};
      return s;
    },
  };
}

for (const apiType of ['GRPC', 'DELTA_GRPC'] as const) {
  t.test(`configured only by ADS (${apiType})`, async (t) => {
    const a = await startGrpcBackend({ name: 'a', services: ['echo'] });
    const b = await startGrpcBackend({ name: 'b', services: ['echo'] });
    const backends: GrpcBackend[] = [a, b];
    t.teardown(async () => { for (const x of backends) await x.stop(100); });
    const cp = await startControlPlane();
    t.teardown(() => cp.stop());
    const listenerPort = await freePort();
    cp.setResources(TYPE.cluster, [{ name: 'svc', value: edsCluster('svc') }]);
    cp.setResources(TYPE.endpoints, [{ name: 'svc', value: assignment('svc', [a.address]) }]);
    cp.setResources(TYPE.listener, [{ name: 'outbound', value: rdsListener('outbound', listenerPort, 'routes') }]);
    cp.setResources(TYPE.routeConfig, [{ name: 'routes', value: routeConfig('routes', [{ match: { prefix: '/' }, route: { cluster: 'svc', timeout: '0s' } }]) }]);

    const adminPort = await freePort();
    const proxy: LegateProcess = await startLegate({ configYaml: adsBootstrap(adminPort, cp.port, apiType) });
    t.teardown(() => proxy.stop());
    const client = createEchoClient(`127.0.0.1:${listenerPort}`);
    t.teardown(() => client.close());

    t.test('serves traffic; ACKs every type; sends its node', async (t) => {
      t.equal((await client.unary({})).response.backend, 'a');
      for (const type of [TYPE.listener, TYPE.cluster, TYPE.routeConfig, TYPE.endpoints]) await cp.waitForAck(type);
      const node = cp.lastNode as Record<string, unknown>;
      t.equal(node['id'], 'sidecar~10.0.0.1~test-pod.ns~ns.svc.cluster.local');
      t.equal(node['user_agent_name'], 'legate');
      t.equal((await proxy.admin('/ready')).status, 200);
    });

    t.test('EDS adds an endpoint: takes effect within a second, no failed call', async (t) => {
      const l = load(client);
      await new Promise((r) => setTimeout(r, 200));
      cp.setResources(TYPE.endpoints, [{ name: 'svc', value: assignment('svc', [a.address, b.address]) }]);
      await cp.waitForAck(TYPE.endpoints);
      await new Promise((r) => setTimeout(r, 1000));
      l.snapshot();
      await new Promise((r) => setTimeout(r, 500));
      const after = l.snapshot();
      const res = await l.stop();
      t.equal(res.failed, 0, `no failed call (${res.errors.join('; ')})`);
      t.ok((after['a'] ?? 0) > 0 && (after['b'] ?? 0) > 0, `both endpoints serve after the update: ${JSON.stringify(after)}`);
    });

    t.test('RDS switches to a header route and an 80/20 split; CDS adds a cluster', async (t) => {
      cp.setResources(TYPE.cluster, [{ name: 'svc', value: edsCluster('svc') }, { name: 'svc-b', value: edsCluster('svc-b') }]);
      cp.setResources(TYPE.endpoints, [{ name: 'svc', value: assignment('svc', [a.address]) }, { name: 'svc-b', value: assignment('svc-b', [b.address]) }]);
      await cp.waitForAck(TYPE.cluster);
      await cp.waitForAck(TYPE.endpoints);
      const l = load(client);
      const connectionsToA = a.connections;
      cp.setResources(TYPE.routeConfig, [{ name: 'routes', value: routeConfig('routes', [
        { match: { prefix: '/', headers: [{ name: 'user', string_match: { exact: 'admin' } }] }, route: { cluster: 'svc-b' } },
        { match: { prefix: '/' }, route: { weighted_clusters: { clusters: [{ name: 'svc', weight: 80 }, { name: 'svc-b', weight: 20 }] } } },
      ]) }]);
      await cp.waitForAck(TYPE.routeConfig);
      await new Promise((r) => setTimeout(r, 1000));
      const res = await l.stop();
      t.equal(res.failed, 0, `no failed call during the change (${res.errors.join('; ')})`);
      t.equal(a.connections, connectionsToA, 'an RDS change opened no new upstream connection to a (the pool was kept)');
      let toB = 0;
      for (let i = 0; i < 20; i++) if ((await client.unary({}, { metadata: { user: 'admin' } })).response.backend === 'b') toB++;
      t.equal(toB, 20, 'user: admin → svc-b');
      const counts: Record<string, number> = {};
      for (let i = 0; i < 400; i++) {
        const r = await client.unary({});
        counts[r.response.backend] = (counts[r.response.backend] ?? 0) + 1;
      }
      const share = (counts['a'] ?? 0) / 400;
      t.ok(share > 0.72 && share < 0.88, `80/20 split: ${JSON.stringify(counts)}`);
    });

    t.test('a bad resource is NACKed with a useful error; traffic keeps flowing on the last good config', async (t) => {
      cp.setResources(TYPE.routeConfig, [{ name: 'routes', value: routeConfig('routes', [{ match: { safe_regex: { regex: '(?=bad)' } }, route: { cluster: 'svc' } }]) }]);
      const nack = await cp.waitForNack(TYPE.routeConfig);
      t.match(nack.message, /RouteConfiguration "routes": virtual_hosts\[0\]\.routes\[0\]\.match\.safe_regex\.regex: invalid regex/, nack.message);
      t.ok((await client.unary({})).ok, 'still serving');
      const dumpRes = await proxy.admin('/config_dump');
      t.equal(dumpRes.status, 200, dumpRes.body.slice(0, 300));
      const dump = JSON.parse(dumpRes.body) as { configs: Array<Record<string, any>> };
      const routes = dump.configs.find((c) => c['@type'].endsWith('.RoutesConfigDump'))!;
      const dyn = routes['dynamic_route_configs'][0];
      t.equal(dyn.client_status, 'NACKED');
      t.match(dyn.error_state.details, /invalid regex/);
      t.ok(dyn.route_config.virtual_hosts[0].routes.length === 2, 'the last good routes are what is served and dumped');
      const names = JSON.parse((await proxy.admin('/config_dump?resource=dynamic_active_clusters&mask=cluster.name')).body) as { configs: Array<Record<string, any>> };
      t.same(names.configs.map((c) => c['cluster']?.['name']).sort(), ['svc', 'svc-b']);
      t.equal(names.configs[0]!['@type'], 'type.googleapis.com/envoy.admin.v3.ClustersConfigDump.DynamicCluster');
      const withEds = JSON.parse((await proxy.admin('/config_dump?include_eds')).body) as { configs: Array<Record<string, any>> };
      t.same(withEds.configs.map((c) => String(c['@type']).split('.').pop()),
        ['BootstrapConfigDump', 'ClustersConfigDump', 'EndpointsConfigDump', 'ListenersConfigDump', 'ScopedRoutesConfigDump', 'RoutesConfigDump', 'SecretsConfigDump'],
        "Envoy's section order");
    });

    t.test('truncated and random bytes are NACKed, never a crash', async (t) => {
      for (const bytes of [Buffer.from([0x0a, 0x05, 0x61]), Buffer.from(Array.from({ length: 64 }, (_, i) => (i * 97 + 13) & 0xff))]) {
        cp.setRawResource(TYPE.cluster, 'junk', bytes);
        const nack = await cp.waitForNack(TYPE.cluster);
        t.ok(nack.message.length > 0, `NACK: ${nack.message.slice(0, 120)}`);
        t.ok((await client.unary({})).ok, 'still serving on the last good config');
      }
      cp.removeResource(TYPE.cluster, 'junk');
      await cp.waitForAck(TYPE.cluster);
    });

    t.test('control plane killed under load: no failed call; restarted: resync', async (t) => {
      const l = load(client);
      await new Promise((r) => setTimeout(r, 200));
      await cp.stop({ abrupt: true });
      await new Promise((r) => setTimeout(r, 800));
      const during = l.snapshot();
      t.ok(Object.values(during).reduce((s, n) => s + n, 0) > 0, 'calls kept succeeding while the control plane was down');
      await cp.restart();
      cp.setResources(TYPE.routeConfig, [{ name: 'routes', value: routeConfig('routes', [{ match: { prefix: '/' }, route: { cluster: 'svc-b' } }]) }]);
      await cp.waitForAck(TYPE.routeConfig, cp.version(TYPE.routeConfig), 15_000);
      await new Promise((r) => setTimeout(r, 300));
      const res = await l.stop();
      t.equal(res.failed, 0, `no failed call (${res.errors.join('; ')})`);
      t.equal((await client.unary({})).response.backend, 'b', 'the update after the reconnect applies');
    });

    t.test('CDS removes a cluster and LDS removes the listener', async (t) => {
      cp.setResources(TYPE.routeConfig, [{ name: 'routes', value: routeConfig('routes', [{ match: { prefix: '/' }, route: { cluster: 'svc' } }]) }]);
      await cp.waitForAck(TYPE.routeConfig);
      cp.setResources(TYPE.cluster, [{ name: 'svc', value: edsCluster('svc') }]);
      await cp.waitForAck(TYPE.cluster);
      const clusters = (await proxy.admin('/clusters')).body;
      t.notMatch(clusters, /^svc-b::/m, 'svc-b is gone');
      cp.setResources(TYPE.listener, []);
      await cp.waitForAck(TYPE.listener);
      await new Promise((r) => setTimeout(r, 300));
      const c2 = createEchoClient(`127.0.0.1:${listenerPort}`);
      const r = await c2.unarySettled({}, { deadlineMs: 1000 });
      c2.close();
      t.not(r.ok, true, 'the removed listener no longer accepts calls');
    });
  });
}
