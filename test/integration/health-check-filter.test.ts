/**
 * envoy.filters.http.health_check (issue #5 item 6): Kubernetes-style probes answered by Legate
 * itself or passed through, honouring POST /healthcheck/fail, with Envoy's headers, response flag
 * and access-log marking (not_health_check).
 */
import t, { type Test } from 'tap';
import { Agent, request } from 'undici';
import { startH1Backend, type H1Backend } from '../fakes/h1-backend';
import { freePort, startLegate, writeTempConfig, type LegateProcess } from '../fakes/legate-process';
import { runLegate } from './run-legate';
import { bootstrapJson, type TestCluster } from './bootstrap-builder';

const HC_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.health_check.v3.HealthCheck';
const ROUTER = { name: 'envoy.filters.http.router', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } };

interface Setup { proxy: LegateProcess; backend: H1Backend; url: string; get: (path: string, headers?: Record<string, string>) => Promise<{ status: number; headers: Record<string, unknown> }> }

const LOG = (prefix: string, filter?: Record<string, unknown>): Record<string, unknown> => ({
  name: 'envoy.access_loggers.stdout',
  ...(filter ? { filter } : {}),
  typed_config: {
    '@type': 'type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StdoutAccessLog',
    log_format: { text_format_source: { inline_string: `${prefix} %REQ(:PATH)% %RESPONSE_CODE% %RESPONSE_FLAGS% %RESPONSE_CODE_DETAILS%\n` } },
  },
});

async function setup(t: Test, hcConfig: Record<string, unknown>, clusters: TestCluster[] = []): Promise<Setup> {
  const backend = await startH1Backend({ name: 'app' });
  t.teardown(() => backend.stop());
  const adminPort = await freePort();
  const listenerPort = await freePort();
  const cfg = bootstrapJson({
    adminPort, listenerPort,
    clusters: [{ name: 'app', endpoints: [backend.address], http2: false }, ...clusters],
    hcmExtra: {
      http_filters: [{ name: 'envoy.filters.http.health_check', typed_config: { '@type': HC_TYPE, ...hcConfig } }, ROUTER],
      access_log: [LOG('LOG', { not_health_check_filter: {} }), LOG('ALL')],
    },
  });
  (cfg as { node?: unknown }).node = { id: 'n1', cluster: 'local-svc' };
  const proxy = await startLegate({ configYaml: JSON.stringify(cfg), readyTimeoutMs: 45_000 });
  t.teardown(() => proxy.stop());
  // Our own connection pool, closed before the proxy stops (keep-alive would hold its drain).
  const agent = new Agent();
  t.teardown(() => agent.close());
  const url = `http://127.0.0.1:${listenerPort}`;
  const get = async (path: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, unknown> }> => {
    const r = await request(`${url}${path}`, { dispatcher: agent, headers });
    await r.body.dump();
    return { status: r.statusCode, headers: r.headers };
  };
  return { proxy, backend, url, get };
}

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

t.test('cluster_min_healthy_percentages: 503 when a cluster is below its minimum or missing', async (t) => {
  const live = await startH1Backend({ name: 'b1' });
  t.teardown(() => live.stop());
  // One live host and one dead port under active HTTP health checks: 50 % healthy once the
  // first checks are in (the server is not LIVE before that).
  const hc = { timeout: '0.5s', interval: '0.2s', unhealthy_threshold: 1, healthy_threshold: 1, http_health_check: { path: '/' } };
  const half = { name: 'half', endpoints: [live.address, `127.0.0.1:${await freePort()}`], http2: false, extra: { health_checks: [hc] } };
  const check = async (mins: Record<string, number>): Promise<string[]> => {
    const { proxy, get } = await setup(t, {
      pass_through_mode: false,
      headers: [{ name: ':path', string_match: { exact: '/healthz' } }],
      cluster_min_healthy_percentages: Object.fromEntries(Object.entries(mins).map(([k, v]) => [k, { value: v }])),
    }, [half]);
    const r = await get('/healthz');
    await new Promise((res) => setTimeout(res, 1200));
    const line = proxy.stdout.find((l) => l.startsWith('ALL /healthz')) ?? '';
    await proxy.stop();
    return [String(r.status), line.split(' ').slice(3).join(' ')];
  };
  t.same(await check({ half: 50 }), ['200', '- health_check_ok_cluster_healthy'], '1 of 2 healthy meets 50 %');
  t.same(await check({ half: 75 }), ['503', 'LH health_check_failed_cluster_unhealthy'], 'but not 75 %');
  t.same(await check({ half: 0, nope: 10 }), ['503', 'LH health_check_failed_no_cluster_found'], 'a missing cluster fails the check');
});

t.test('bad health_check filter config: clear errors with field paths', async (t) => {
  const errors = async (hcConfig: Record<string, unknown>): Promise<string> => {
    const cfg = bootstrapJson({
      adminPort: await freePort(), listenerPort: await freePort(), clusters: [{ name: 'app', endpoints: ['127.0.0.1:1'] }],
      hcmExtra: { http_filters: [{ name: 'envoy.filters.http.health_check', typed_config: { '@type': HC_TYPE, ...hcConfig } }, ROUTER] },
    });
    const r = runLegate(['--mode', 'validate', '-c', writeTempConfig(JSON.stringify(cfg, null, 2))]);
    t.equal(r.code, 1, 'rejected');
    return r.stderr;
  };
  t.match(await errors({ headers: [] }), /http_filters\[0\]\.typed_config\.pass_through_mode: .*required/);
  t.match(await errors({ pass_through_mode: false, cache_time: '5s' }), /http_filters\[0\]\.typed_config\.cache_time: cache_time must not be set when pass_through_mode is disabled/);
  t.match(await errors({ pass_through_mode: false, cluster_min_healthy_percentages: { svc: { value: 150 } } }), /cluster_min_healthy_percentages\["svc"\]\.value: value must be greater than or equal to 0 and less than or equal to 100/);
});
