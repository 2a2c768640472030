import http from 'node:http';
import t from 'tap';
import { loadFixtureResources, startControlPlane } from '../fakes/control-plane';
import { startH1Backend, type H1Backend } from '../fakes/h1-backend';
import { freePort, startLegate } from '../fakes/legate-process';
import { adsBootstrap, TYPE } from './xds-resources';

function get(port: number, path: string): Promise<{ status: number; backend: string }> {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path, agent: keepAlive }, (res) => {
      let b = '';
      res.on('data', (c) => (b += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, backend: res.statusCode === 200 ? (JSON.parse(b) as { backend: string }).backend : '' }));
    }).on('error', reject);
  });
}
const keepAlive = new http.Agent({ keepAlive: true, maxSockets: 4 });

t.test("Envoy Gateway's weighted routes, served over ADS, route as configured", async (t) => {
  // Stand-ins for the endpoints the fixture names (7.7.7.8, 7.7.7.9 and the shared 7.7.7.7).
  const backends: Record<string, H1Backend> = {
    '7.7.7.8': await startH1Backend({ name: 'route-a-backend' }),
    '7.7.7.9': await startH1Backend({ name: 'route-b-backend' }),
    '7.7.7.7': await startH1Backend({ name: 'shared' }),
  };
  t.teardown(async () => { for (const b of Object.values(backends)) await b.stop(); keepAlive.destroy(); });
  const listenerPort = await freePort();
  const resources = ['listeners', 'routes', 'clusters', 'endpoints'].flatMap((k) => loadFixtureResources(`xds-resources/weighted-90-10.${k}.yaml`));
  const rewritten = JSON.parse(JSON.stringify(resources, (_k, v: unknown) => {
    if (v && typeof v === 'object' && 'socketAddress' in (v as object)) {
      const sa = (v as { socketAddress: { address: string; portValue: number } }).socketAddress;
      if (sa.address === '0.0.0.0' && sa.portValue === 10080) return { socketAddress: { address: '127.0.0.1', portValue: listenerPort } };
      const b = backends[sa.address];
      if (b) return { socketAddress: { address: '127.0.0.1', portValue: b.port } };
    }
    return v;
  })) as typeof resources;
  t.equal(rewritten.length, 8, 'one listener, one route configuration, three clusters, three assignments');
  const cp = await startControlPlane();
  t.teardown(() => cp.stop());
  cp.applyResources(rewritten);
  const proxy = await startLegate({ configYaml: adsBootstrap(await freePort(), cp.port) });
  t.teardown(() => proxy.stop());
  for (const type of [TYPE.listener, TYPE.routeConfig, TYPE.cluster, TYPE.endpoints]) await cp.waitForAck(type);

  const count = async (path: string, n: number): Promise<Record<string, number>> => {
    const out: Record<string, number> = {};
    for (let i = 0; i < n; i++) {
      const r = await get(listenerPort, path);
      t.equal(r.status, 200, `${path} answered`);
      out[r.backend] = (out[r.backend] ?? 0) + 1;
    }
    return out;
  };
  const a = await count('/route-a', 400);
  const aShare = (a['route-a-backend'] ?? 0) / 400;
  t.ok(aShare > 0.62 && aShare < 0.78, `/route-a splits 70/30: ${JSON.stringify(a)}`);
  const b = await count('/route-b/x', 400);
  const bShare = (b['shared'] ?? 0) / 400;
  t.ok(bShare > 0.84 && bShare < 0.96, `/route-b splits 10/90: ${JSON.stringify(b)}`);
  const other = await new Promise<number>((resolve, reject) => {
    http.get({ host: '127.0.0.1', port: listenerPort, path: '/route-ab' }, (res) => { res.resume(); resolve(res.statusCode ?? 0); }).on('error', reject);
  });
  t.equal(other, 404, 'path_separated_prefix /route-a does not match /route-ab');
});
