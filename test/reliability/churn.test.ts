/**
 * Churn (issue #9): 100 route, weight and endpoint updates pushed over ADS while 30,000
 * calls run through Legate. Every call must succeed: an update never drops a stream in
 * flight, never leaves a window with no route or no endpoint, and every version is ACKed.
 *
 * LEGATE_CHURN_CALLS / LEGATE_CHURN_UPDATES raise or lower the counts for local runs.
 */
import t from 'tap';
import { startControlPlane } from '../fakes/control-plane';
import { startGrpcBackend, type GrpcBackend } from '../fakes/grpc-backend';
import { createEchoClient } from '../fakes/grpc-client';
import { freePort, startLegate } from '../fakes/legate-process';
import { adsBootstrap, assignment, edsCluster, rdsListener, routeConfig, TYPE } from '../integration/xds-resources';

const CALLS = Number(process.env['LEGATE_CHURN_CALLS'] ?? 30_000);
const UPDATES = Number(process.env['LEGATE_CHURN_UPDATES'] ?? 100);
const CONCURRENCY = 16;

/** The routes of update `i`: a header route to v2 (its header value changes) and a v1/v2 split whose weights change. */
function routesFor(i: number): unknown[] {
  const v1 = (i * 37) % 101;
  return [
    { match: { prefix: '/', headers: [{ name: 'x-user', string_match: { exact: i % 2 === 0 ? 'admin' : 'root' } }] }, route: { cluster: 'v2', timeout: '0s' } },
    {
      match: { prefix: '/' },
      route: { timeout: '0s', weighted_clusters: { clusters: [{ name: 'v1', weight: v1 }, { name: 'v2', weight: 100 - v1 }] } },
    },
  ];
}

t.test(`${UPDATES} route, weight and endpoint updates during ${CALLS} calls: zero failed calls`, async (t) => {
  const backends: GrpcBackend[] = [];
  for (const name of ['v1-a', 'v1-b', 'v2-a', 'v2-b']) backends.push(await startGrpcBackend({ name, services: ['echo'] }));
  t.teardown(async () => { for (const b of backends) await b.stop(100); });
  const [v1a, v1b, v2a, v2b] = backends as [GrpcBackend, GrpcBackend, GrpcBackend, GrpcBackend];

  const cp = await startControlPlane();
  t.teardown(() => cp.stop());
  const listenerPort = await freePort();
  cp.setResources(TYPE.cluster, [{ name: 'v1', value: edsCluster('v1') }, { name: 'v2', value: edsCluster('v2') }]);
  cp.setResources(TYPE.endpoints, [
    { name: 'v1', value: assignment('v1', [v1a.address, v1b.address]) },
    { name: 'v2', value: assignment('v2', [v2a.address, v2b.address]) },
  ]);
  cp.setResources(TYPE.listener, [{ name: 'outbound', value: rdsListener('outbound', listenerPort, 'routes') }]);
  cp.setResources(TYPE.routeConfig, [{ name: 'routes', value: routeConfig('routes', routesFor(0)) }]);

  const proxy = await startLegate({ configYaml: adsBootstrap(await freePort(), cp.port, 'DELTA_GRPC') });
  t.teardown(() => proxy.stop());
  const client = createEchoClient(`127.0.0.1:${listenerPort}`);
  t.teardown(() => client.close());
  await client.unary({});

  // The load: CONCURRENCY workers until CALLS calls are done; every fourth call carries a user header.
  let started = 0;
  let ok = 0;
  const failures: string[] = [];
  const byBackend: Record<string, number> = {};
  const workers = Array.from({ length: CONCURRENCY }, async () => {
    while (started < CALLS) {
      const n = started++;
      const metadata = n % 4 === 0 ? { 'x-user': n % 8 === 0 ? 'admin' : 'root' } : undefined;
      const r = await client.unarySettled({}, metadata ? { metadata } : {});
      if (r.ok) {
        ok++;
        byBackend[r.response!.backend] = (byBackend[r.response!.backend] ?? 0) + 1;
      } else if (failures.length < 10) {
        failures.push(`call ${n}: ${r.status.code} ${r.status.details}`);
      } else {
        failures.push('');
      }
    }
  });

  // The churn: one update at a time, each ACKed before the next, cycling route, weight and endpoint changes.
  // Endpoint updates swap one endpoint of a cluster out and back in, so each cluster keeps at least one.
  const endpointSets: Array<[string, string[]]> = [
    ['v1', [v1a.address]], ['v2', [v2b.address]], ['v1', [v1a.address, v1b.address]], ['v2', [v2a.address, v2b.address]],
    ['v1', [v1b.address]], ['v2', [v2a.address]], ['v1', [v1a.address, v1b.address]], ['v2', [v2a.address, v2b.address]],
  ];
  let updates = 0;
  const churn = (async () => {
    for (let i = 1; i <= UPDATES; i++) {
      // Spread the updates over the run: wait until the load has moved on by its share.
      while (started < (CALLS * i) / (UPDATES + 2) && started < CALLS) await new Promise((r) => setTimeout(r, 5));
      let type: string;
      if (i % 2 === 1) {
        type = TYPE.routeConfig;
        cp.setResources(TYPE.routeConfig, [{ name: 'routes', value: routeConfig('routes', routesFor(i)) }]);
      } else {
        type = TYPE.endpoints;
        const [cluster, addresses] = endpointSets[(i / 2 - 1) % endpointSets.length]!;
        cp.setResource(TYPE.endpoints, cluster, assignment(cluster, addresses));
      }
      await cp.waitForAck(type, cp.version(type), 10_000);
      updates++;
    }
  })();

  await Promise.all([...workers, churn]);
  t.equal(updates, UPDATES, `all ${UPDATES} updates were ACKed`);
  t.equal(ok, CALLS, `all ${CALLS} calls succeeded`);
  t.same(failures.filter(Boolean), [], 'no failed call');
  for (const b of backends) t.ok((byBackend[b.name] ?? 0) > 0, `${b.name} served calls (${byBackend[b.name] ?? 0})`);

  // After the last update (i = UPDATES: an endpoint update; routes of UPDATES - 1), the routes in force are
  // routesFor(UPDATES - 1): a header value that must now go to v2 only.
  const last = UPDATES - 1;
  const header = last % 2 === 0 ? 'admin' : 'root';
  const served: string[] = [];
  for (let k = 0; k < 10; k++) served.push((await client.unary({}, { metadata: { 'x-user': header } })).response.backend);
  t.ok(served.every((b) => b.startsWith('v2-')), `the last header route is in force (${served.join(', ')})`);
  t.equal((await proxy.admin('/ready')).status, 200, 'still ready');
});
