/**
 * envoy.filters.http.health_check: `cluster_min_healthy_percentages` against real health-checked
 * clusters (split from health-check-filter.test.ts to keep each file short).
 */
import t from 'tap';
import { startH1Backend } from '../fakes/h1-backend';
import { freePort } from '../fakes/legate-process';
import { setup } from './health-check-filter-setup';

t.test('cluster_min_healthy_percentages: 503 when a cluster is below its minimum or missing', async (t) => {
  const live = await startH1Backend({ name: 'b1' });
  t.teardown(() => live.stop());
  // One live host and one dead port under active HTTP health checks: 50 % healthy once the
  // first checks are in (the server is not LIVE before that).
  const hc = { timeout: '5s', interval: '0.2s', unhealthy_threshold: 1, healthy_threshold: 1, http_health_check: { path: '/' } };
  const half = { name: 'half', endpoints: [live.address, `127.0.0.1:${await freePort()}`], http2: false, extra: { health_checks: [hc] } };
  const check = async (mins: Record<string, number>): Promise<string[]> => {
    const { proxy, get, stop } = await setup(t, {
      pass_through_mode: false,
      headers: [{ name: ':path', string_match: { exact: '/healthz' } }],
      cluster_min_healthy_percentages: Object.fromEntries(Object.entries(mins).map(([k, v]) => [k, { value: v }])),
    }, [half]);
    const r = await get('/healthz');
    await new Promise((res) => setTimeout(res, 1200));
    const line = proxy.stdout.find((l) => l.startsWith('ALL /healthz')) ?? '';
    await stop();
    return [String(r.status), line.split(' ').slice(3).join(' ')];
  };
  t.same(await check({ half: 50 }), ['200', '- health_check_ok_cluster_healthy'], '1 of 2 healthy meets 50 %');
  t.same(await check({ half: 75 }), ['503', 'LH health_check_failed_cluster_unhealthy'], 'but not 75 %');
  t.same(await check({ half: 0, nope: 10 }), ['503', 'LH health_check_failed_no_cluster_found'], 'a missing cluster fails the check');
});
