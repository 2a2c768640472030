import t from 'tap';
import { DecodeContext } from '../../../src/xds/resources/decode-context';
import { decodeHealthCheck, decodeHealthChecks } from '../../../src/xds/resources/health-check';

t.test('Envoy defaults (HealthCheckerImplBase constructor)', async (t) => {
  const ctx = new DecodeContext();
  const m = decodeHealthCheck({ timeout: 1000, interval: 5000, unhealthy_threshold: 2, healthy_threshold: 3, grpc_health_check: {} }, 'hc', ctx);
  t.same(ctx.errors, []);
  t.match(m, {
    timeoutMs: 1000, intervalMs: 5000, initialJitterMs: 0, intervalJitterMs: 0, intervalJitterPercent: 0, reuseConnection: true,
    noTrafficIntervalMs: 60_000, noTrafficHealthyIntervalMs: 60_000, unhealthyIntervalMs: 5000, unhealthyEdgeIntervalMs: 5000, healthyEdgeIntervalMs: 5000,
    checker: { kind: 'grpc', serviceName: '', authority: '', initialMetadata: [] },
  });
  const chained = decodeHealthCheck({ timeout: 1000, interval: 5000, unhealthy_threshold: 2, healthy_threshold: 3, no_traffic_interval: 2000, unhealthy_interval: 7000, tcp_health_check: {} }, 'hc', ctx);
  t.equal(chained.noTrafficHealthyIntervalMs, 2000, 'no_traffic_healthy_interval defaults to no_traffic_interval');
  t.equal(chained.unhealthyEdgeIntervalMs, 7000, 'unhealthy_edge_interval defaults to unhealthy_interval');
  const http = decodeHealthCheck({ timeout: 1000, interval: 5000, unhealthy_threshold: 2, healthy_threshold: 3, http_health_check: { path: '/h' } }, 'hc', ctx);
  t.match(http.checker, { kind: 'http', expectedStatuses: [[200, 201]], codec: 'HTTP1', method: 'GET' }, 'only 200 is expected by default, as in Envoy');
});

t.test('validation with field paths', async (t) => {
  const ctx = new DecodeContext();
  decodeHealthCheck({ interval: -5, unhealthy_threshold: 0, healthy_threshold: 1, http_health_check: { expected_statuses: [{ start: 99, end: 700 }] } }, 'c.health_checks[0]', ctx);
  const text = ctx.errors.map((e) => `${e.path}: ${e.message}`).join('\n');
  t.match(text, /c\.health_checks\[0\]\.timeout: is required/);
  t.match(text, /c\.health_checks\[0\]\.interval: must be greater than 0s/);
  t.match(text, /c\.health_checks\[0\]\.unhealthy_threshold: must be at least 1/);
  t.match(text, /http_health_check\.path: is required/);
  t.match(text, /expected_statuses\[0\]\.start: .*at least 100/);
  t.match(text, /expected_statuses\[0\]\.end: .*at most 600/);
  const two = new DecodeContext();
  decodeHealthChecks([{ timeout: 1, interval: 1, unhealthy_threshold: 1, healthy_threshold: 1, tcp_health_check: {} }, { timeout: 1, interval: 1, unhealthy_threshold: 1, healthy_threshold: 1, tcp_health_check: {} }], 'c.health_checks', two);
  t.match(two.errors[0], { path: 'c.health_checks', message: /multiple health checks/ });
  const custom = new DecodeContext();
  decodeHealthCheck({ timeout: 1, interval: 1, unhealthy_threshold: 1, healthy_threshold: 1, custom_health_check: { name: 'envoy.health_checkers.redis' } }, 'hc', custom);
  t.match(custom.errors[0]?.message, /custom health checker "envoy.health_checkers.redis" is not supported/);
});
