/**
 * The header-match RouteConfiguration of ../shared/fixtures/xds-resources (Envoy Gateway's
 * output: exact and wildcard domains, path_separated_prefix, a query-parameter match, a header
 * match, a catch-all), served over ADS as it is, routes every request as its configuration says.
 */
import http from 'node:http';
import t from 'tap';
import { loadFixtureResources, startControlPlane } from '../fakes/control-plane';
import { startH1Backend, type H1Backend } from '../fakes/h1-backend';
import { freePort, startLegate } from '../fakes/legate-process';
import { adsBootstrap, assignment, edsCluster, rdsListener, TYPE } from './xds-resources';

const CLUSTERS = ['first', 'second', 'third', 'fourth', 'fifth', 'sixth', 'seventh'].map((n) => `${n}-route-dest`);

function get(port: number, host: string, path: string, headers: Record<string, string> = {}): Promise<{ status: number; backend: string }> {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path, headers: { host, ...headers }, agent: false }, (res) => {
      let b = '';
      res.on('data', (c) => (b += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, backend: res.statusCode === 200 ? (JSON.parse(b) as { backend: string }).backend : '' }));
    }).on('error', reject);
  });
}

t.test('header-match.routes.yaml routes as configured', async (t) => {
  const backends: H1Backend[] = [];
  for (const name of CLUSTERS) backends.push(await startH1Backend({ name }));
  t.teardown(async () => { for (const b of backends) await b.stop(); });
  const routes = loadFixtureResources('xds-resources/header-match.routes.yaml');
  t.equal(routes.length, 1, 'one RouteConfiguration');
  const cp = await startControlPlane();
  t.teardown(() => cp.stop());
  const listenerPort = await freePort();
  // HTTP/1.1 upstreams: no protocol options.
  cp.setResources(TYPE.cluster, CLUSTERS.map((name) => ({ name, value: edsCluster(name, { typed_extension_protocol_options: {} }) })));
  cp.setResources(TYPE.endpoints, CLUSTERS.map((name, i) => ({ name, value: assignment(name, [backends[i]!.address]) })));
  cp.setResources(TYPE.listener, [{ name: 'http', value: rdsListener('http', listenerPort, routes[0]!.name) }]);
  cp.applyResources(routes);
  const proxy = await startLegate({ configYaml: adsBootstrap(await freePort(), cp.port) });
  t.teardown(() => proxy.stop());
  for (const type of [TYPE.listener, TYPE.routeConfig, TYPE.cluster, TYPE.endpoints]) await cp.waitForAck(type);

  const cases: Array<[host: string, path: string, headers: Record<string, string>, want: string | number]> = [
    ['example.com', '/v1/example?debug=yes', {}, 'first-route-dest'],
    ['example.com', '/v1/example?debug=no', {}, 'second-route-dest'],
    ['example.com', '/v1/example', {}, 'second-route-dest'],
    ['example.com', '/v1/example/deeper', {}, 'second-route-dest'],
    ['example.com:8080', '/v1/example', {}, 'second-route-dest'],
    ['example.com', '/v1/examples', {}, 404],
    ['example.net', '/v1/status', { version: 'one' }, 'third-route-dest'],
    ['example.net', '/v1/status/x', { version: 'one' }, 'third-route-dest'],
    ['example.net', '/v1/status', { version: 'two' }, 'fourth-route-dest'],
    ['example.net', '/v1/status', {}, 'fourth-route-dest'],
    ['www.example.com', '/foo', {}, 'fifth-route-dest'],
    ['api.example.net', '/foo/bar', {}, 'sixth-route-dest'],
    ['www.example.com', '/bar', {}, 404],
    ['example.org', '/anything', {}, 'seventh-route-dest'],
  ];
  for (const [host, path, headers, want] of cases) {
    const r = await get(listenerPort, host, path, headers);
    const label = `${host}${path} ${JSON.stringify(headers)}`;
    if (typeof want === 'number') t.equal(r.status, want, `${label} → ${want}`);
    else t.same(r, { status: 200, backend: want }, `${label} → ${want}`);
  }
});
