/**
 * envoy.filters.http.health_check (issue #5 item 6): Kubernetes-style probes answered by Legate
 * itself or passed through, honouring POST /healthcheck/fail, with Envoy's headers, response flag
 * and access-log marking (not_health_check).
 */
import t from 'tap';
import { setup } from './health-check-filter-setup';

t.test('answered locally: 200, then 503 (LH) after /healthcheck/fail; other responses say x-envoy-immediate-health-check-fail', async (t) => {
  const { proxy, backend, get } = await setup(t, { pass_through_mode: false, headers: [{ name: ':path', string_match: { exact: '/healthz' } }] });

  let r = await get(`/healthz`);
  t.equal(r.status, 200, 'a matching request is answered by the proxy');
  t.equal(r.headers['x-envoy-upstream-healthchecked-cluster'], 'local-svc', 'names the local service cluster');
  t.equal(backend.requests, 0, 'the backend never sees it');
  r = await get(`/app`);
  t.equal(r.status, 200);
  t.equal(r.headers['x-envoy-immediate-health-check-fail'], undefined, 'not while healthy');
  t.equal(backend.requests, 1);

  t.equal((await proxy.admin('/healthcheck/fail', 'POST')).status, 200);
  r = await get(`/healthz`);
  t.equal(r.status, 503, 'failing: 503');
  r = await get(`/app`);
  t.equal(r.status, 200, 'traffic still flows');
  t.equal(r.headers['x-envoy-immediate-health-check-fail'], 'true', 'and tells Envoy peers to drop this host');
  const ready = await proxy.admin('/ready');
  t.same([ready.status, ready.body], [503, 'DRAINING\n'], '/ready reports DRAINING, as Envoy');
  t.match((await proxy.admin('/stats?filter=^server\\.live$')).body, /server\.live: 0/, 'server.live gauge is 0');

  t.equal((await proxy.admin('/healthcheck/ok', 'POST')).status, 200);
  r = await get(`/healthz`);
  t.equal(r.status, 200, 'passing again');
  t.equal((await proxy.admin('/ready')).status, 200);
  t.equal((await proxy.admin('/healthcheck/fail')).status, 405, 'GET is refused on a mutating endpoint');

  // Access log: health checks are skipped by not_health_check; the rest are logged.
  await new Promise((res) => setTimeout(res, 1500));
  const lines = proxy.stdout.filter((l) => l.startsWith('LOG '));
  t.same(lines, ['LOG /app 200 - via_upstream', 'LOG /app 200 - via_upstream'], 'only the non-health-check requests are logged');
  const all = proxy.stdout.filter((l) => l.startsWith('ALL /healthz'));
  t.same(all, ['ALL /healthz 200 - health_check_ok', 'ALL /healthz 503 LH health_check_failed', 'ALL /healthz 200 - health_check_ok'], 'without the filter they are, with LH when failing');
});

t.test('pass-through: forwarded to the upstream, 503 locally while failing; cache_time reuses the answer', async (t) => {
  const { proxy, backend, get } = await setup(t, { pass_through_mode: true, cache_time: '30s', headers: [{ name: ':path', string_match: { exact: '/healthz' } }] });
  let r = await get(`/healthz`, { 'x-h1-status': '200' });
  t.equal(r.status, 200);
  t.equal(backend.requests, 1, 'the first check goes through');
  t.equal(r.headers['x-envoy-upstream-healthchecked-cluster'], 'local-svc');
  r = await get(`/healthz`);
  t.equal(r.status, 200);
  t.equal(backend.requests, 1, 'the second is answered from the cache (cache_time 30s)');

  await proxy.admin('/healthcheck/fail', 'POST');
  r = await get(`/healthz`);
  t.equal(r.status, 503, 'failing wins over the cache');
  t.equal(backend.requests, 1);
});

t.test('pass-through without cache: every check reaches the upstream, its status is returned', async (t) => {
  const { backend, get } = await setup(t, { pass_through_mode: true, headers: [{ name: ':path', string_match: { exact: '/healthz' } }] });
  const r1 = await get(`/healthz`, { 'x-h1-status': '503' });
  t.equal(r1.status, 503, 'the upstream answer is passed through');
  const r2 = await get(`/healthz`);
  t.equal(r2.status, 200);
  t.equal(backend.requests, 2);
});

