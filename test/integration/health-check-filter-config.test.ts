/** envoy.filters.http.health_check: bad configs are rejected with the field path. */
import t from 'tap';
import { freePort, writeTempConfig } from '../fakes/legate-process';
import { bootstrapJson } from './bootstrap-builder';
import { HC_TYPE, ROUTER } from './health-check-filter-setup';
import { runLegate } from './run-legate';

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
