/** regex_rewrite, runtime_fraction, route priority / idle_timeout, and circuit-breaker decoding. */
import t from 'tap';
import { RouteTable } from '../../../src/router/route-table';
import { DecodeContext, formatIssue } from '../../../src/xds/resources/decode-context';
import { decodeRouteConfig } from '../../../src/xds/resources/route-config';
import { decodeCluster } from '../../../src/xds/resources/cluster';

function decode(routes: unknown[]): { table: RouteTable | undefined; errors: string } {
  const ctx = new DecodeContext();
  const m = decodeRouteConfig({ virtual_hosts: [{ name: 'v', domains: ['*'], routes }] }, 'rc', ctx);
  return { table: ctx.ok ? new RouteTable(m) : undefined, errors: ctx.errors.map(formatIssue).join('\n') };
}

function rewrite(pattern: string, substitution: string, path: string): string {
  const { table, errors } = decode([{ match: { prefix: '/' }, route: { cluster: 'c', regex_rewrite: { pattern: { regex: pattern }, substitution } } }]);
  if (!table) throw new Error(errors);
  const rw = table.match('h', path, {})!.regexRewrite!;
  const q = path.indexOf('?');
  const p = q >= 0 ? path.slice(0, q) : path;
  return p.replace(rw.regex, rw.replacement) + (q >= 0 ? path.slice(q) : '');
}

t.test("regex_rewrite: the examples of Envoy's route_components.proto", async (t) => {
  t.equal(rewrite('^/service/([^/]+)(/.*)$', '\\2/instance/\\1', '/service/foo/v1/api'), '/v1/api/instance/foo');
  t.equal(rewrite('one', 'two', '/xxx/one/yyy/one/zzz'), '/xxx/two/yyy/two/zzz', 'every match is replaced');
  t.equal(rewrite('/v1', '/v2', '/v1/x?keep=/v1'), '/v2/x?keep=/v1', 'the query string is kept as it is');
  t.equal(rewrite('^/(\\w+)$', '\\0/\\1', '/abc'), '/abc/abc', '\\0 is the whole match');
  t.equal(rewrite('^/a$', 'cost$1', '/a'), 'cost$1', 'a $ in the substitution is literal');
});

t.test('regex_rewrite: RE2 rejections and conflicts are config errors', async (t) => {
  t.match(decode([{ match: { prefix: '/' }, route: { cluster: 'c', regex_rewrite: { pattern: { regex: '(?=x)' }, substitution: '' } } }]).errors, /regex_rewrite\.pattern\.regex: invalid regex/);
  t.match(decode([{ match: { prefix: '/' }, route: { cluster: 'c', prefix_rewrite: '/x', regex_rewrite: { pattern: { regex: 'a' }, substitution: '' } } }]).errors, /only one of prefix_rewrite and regex_rewrite/);
});

t.test('runtime_fraction: the default value applies (no runtime layer)', async (t) => {
  const { table } = decode([
    { name: 'quarter', match: { prefix: '/', runtime_fraction: { default_value: { numerator: 25, denominator: 'HUNDRED' }, runtime_key: 'routing.quarter' } }, route: { cluster: 'a' } },
    { name: 'rest', match: { prefix: '/' }, route: { cluster: 'b' } },
  ]);
  let quarter = 0;
  for (let i = 0; i < 4000; i++) if (table!.match('h', '/', {})!.route.name === 'quarter') quarter++;
  t.ok(quarter > 850 && quarter < 1150, `25% of 4,000 requests take the fractional route (${quarter})`);
  const fractions: Array<[number, string, number]> = [[0, 'HUNDRED', 0], [100, 'HUNDRED', 1_000_000], [5, 'TEN_THOUSAND', 500], [7, 'MILLION', 7], [150, 'HUNDRED', 1_000_000]];
  for (const [numerator, denominator, want] of fractions) {
    const ctx = new DecodeContext();
    const m = decodeRouteConfig({ virtual_hosts: [{ name: 'v', domains: ['*'], routes: [{ match: { prefix: '/', runtime_fraction: { default_value: { numerator, denominator } } }, route: { cluster: 'a' } }] }] }, 'rc', ctx);
    t.equal(m.virtualHosts[0]!.routes[0]!.match.runtimeFractionPerMillion, want, `${numerator}/${denominator}`);
  }
  const never = decode([{ match: { prefix: '/', runtime_fraction: { default_value: { numerator: 0 } } }, route: { cluster: 'a' } }]).table!;
  for (let i = 0; i < 100; i++) t.equal(never.match('h', '/', {}), undefined);
});

t.test('route priority, idle_timeout', async (t) => {
  const ctx = new DecodeContext();
  const m = decodeRouteConfig({ virtual_hosts: [{ name: 'v', domains: ['*'], routes: [
    { match: { prefix: '/h' }, route: { cluster: 'a', priority: 'HIGH', idle_timeout: 1500 } },
    { match: { prefix: '/' }, route: { cluster: 'a' } },
  ] }] }, 'rc', ctx);
  t.ok(ctx.ok);
  const [high, dflt] = m.virtualHosts[0]!.routes.map((r) => (r.action.kind === 'route' ? r.action : undefined));
  t.equal(high!.priority, 'HIGH');
  t.equal(high!.idleTimeoutMs, 1500);
  t.equal(dflt!.priority, 'DEFAULT');
  t.equal(dflt!.idleTimeoutMs, undefined, 'no idle_timeout: the connection manager decides');
});

t.test('circuit breakers: per priority, defaults, track_remaining, retry_budget', async (t) => {
  const ctx = new DecodeContext();
  const c = decodeCluster({ name: 'c', type: 'STATIC', circuit_breakers: { thresholds: [
    { max_requests: 5, track_remaining: true },
    { priority: 'HIGH', max_connections: 7, retry_budget: { budget_percent: { value: 30 }, min_retry_concurrency: 2 } },
  ] } }, 'c', ctx);
  t.ok(ctx.ok);
  t.same(c.circuitBreakers, { maxConnections: 1024, maxPendingRequests: 1024, maxRequests: 5, maxRetries: 3, trackRemaining: true, retryBudget: undefined });
  t.same(c.circuitBreakersHigh, { maxConnections: 7, maxPendingRequests: 1024, maxRequests: 1024, maxRetries: 3, trackRemaining: false, retryBudget: { budgetPercent: 30, minRetryConcurrency: 2 } });
  const none = decodeCluster({ name: 'c', type: 'STATIC' }, 'c', new DecodeContext());
  t.equal(none.circuitBreakersHigh.maxRequests, 1024);
  const bad = new DecodeContext();
  decodeCluster({ name: 'c', type: 'STATIC', circuit_breakers: { per_host_thresholds: [{ max_connections: 1 }] } }, 'c', bad);
  t.match(bad.errors.map(formatIssue).join('\n'), /per_host_thresholds: per-host circuit breakers are not supported/);
});
