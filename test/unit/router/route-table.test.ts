import t from 'tap';
import { RouteTable, pickWeightedCluster } from '../../../src/router/route-table';
import { compileRe2 } from '../../../src/router/re2-regex';
import { DecodeContext } from '../../../src/xds/resources/decode-context';
import { decodeRouteConfig } from '../../../src/xds/resources/route-config';

function table(rc: Record<string, unknown>): RouteTable {
  const ctx = new DecodeContext();
  const m = decodeRouteConfig(rc, 'rc', ctx);
  if (!ctx.ok) throw new Error(JSON.stringify(ctx.errors));
  return new RouteTable(m);
}
const route = (name: string, match: Record<string, unknown>) => ({ name, match, route: { cluster: name } });

t.test('virtual host selection: exact > *.suffix (longest) > prefix.* (longest) > *', async (t) => {
  const rt = table({
    virtual_hosts: [
      { name: 'exact', domains: ['api.example.com'], routes: [route('exact', { prefix: '/' })] },
      { name: 'suffix', domains: ['*.example.com'], routes: [route('suffix', { prefix: '/' })] },
      { name: 'longer-suffix', domains: ['*.api.example.com'], routes: [route('longer-suffix', { prefix: '/' })] },
      { name: 'prefix', domains: ['api.*'], routes: [route('prefix', { prefix: '/' })] },
      { name: 'any', domains: ['*'], routes: [route('any', { prefix: '/' })] },
    ],
  });
  const vh = (a: string) => rt.match(a, '/', {})?.route.name;
  t.equal(vh('api.example.com'), 'exact');
  t.equal(vh('API.Example.COM'), 'exact', 'host matching is case-insensitive');
  t.equal(vh('v1.api.example.com'), 'longer-suffix');
  t.equal(vh('www.example.com'), 'suffix');
  t.equal(vh('api.other.org'), 'prefix');
  t.equal(vh('elsewhere'), 'any');
  t.equal(vh('api.example.com:8080'), 'prefix', 'the port is part of the host unless ignore_port_in_host_matching');
  t.equal(vh('.example.com'), 'any', 'a wildcard never matches the empty string');
});

t.test('ignore_port_in_host_matching strips the port', async (t) => {
  const rt = table({ ignore_port_in_host_matching: true, virtual_hosts: [{ name: 'p', domains: ['svc'], routes: [route('svc', { prefix: '/' })] }] });
  t.equal(rt.match('svc:50052', '/', {})?.route.name, 'svc');
  t.equal(rt.match('other:50052', '/', {}), undefined, 'no virtual host → no route');
});

t.test('routes: first match wins; path kinds; case sensitivity; query is stripped for path/regex', async (t) => {
  const rt = table({
    virtual_hosts: [{
      name: 'v', domains: ['*'], routes: [
        route('exact', { path: '/exact' }),
        route('ci', { prefix: '/CI/', case_sensitive: false }),
        route('regex', { safe_regex: { regex: '/items/[0-9]+' } }),
        route('sep', { path_separated_prefix: '/api' }),
        route('fallback', { prefix: '/' }),
      ],
    }],
  });
  const r = (p: string) => rt.match('h', p, {})?.route.name;
  t.equal(r('/exact'), 'exact');
  t.equal(r('/exact?x=1'), 'exact', 'path ignores the query');
  t.equal(r('/exact/more'), 'fallback');
  t.equal(r('/ci/thing'), 'ci');
  t.equal(r('/items/42?q'), 'regex');
  t.equal(r('/items/4x2'), 'fallback', 'regex must match the whole path');
  t.equal(r('/api'), 'sep');
  t.equal(r('/api/v1'), 'sep');
  t.equal(r('/apiv1'), 'fallback', 'path_separated_prefix needs a separator');
});

t.test('header, query and grpc matchers', async (t) => {
  const rt = table({
    virtual_hosts: [{
      name: 'v', domains: ['*'], routes: [
        route('admin', { prefix: '/', headers: [{ name: 'User', string_match: { exact: 'admin' } }] }),
        route('legacy', { prefix: '/', headers: [{ name: 'x-legacy', exact_match: 'yes' }] }),
        route('absent', { prefix: '/', headers: [{ name: 'x-debug', present_match: false }, { name: 'x-flag', invert_match: true, string_match: { exact: 'off' } }] }),
        route('range', { prefix: '/', headers: [{ name: 'x-n', range_match: { start: 10, end: 20 } }] }),
        route('query', { prefix: '/', query_parameters: [{ name: 'debug', string_match: { exact: 'yes' } }] }),
        route('grpc', { prefix: '/', grpc: {} }),
        route('fallback', { prefix: '/' }),
      ],
    }],
  });
  const r = (h: Record<string, string>, p = '/') => rt.match('h', p, h)?.route.name;
  t.equal(r({ user: 'admin' }), 'admin', 'matcher names are lower-cased at load');
  t.equal(r({ user: 'Admin' }), 'fallback', 'values are case-sensitive');
  t.equal(r({ 'x-legacy': 'yes' }), 'legacy');
  t.equal(r({ 'x-flag': 'on' }), 'absent', 'invert_match on a present header');
  t.equal(r({ 'x-flag': 'off', 'x-debug': '1' }), 'fallback');
  t.equal(r({ 'x-n': '15', 'x-flag': 'off' }), 'range');
  t.equal(r({ 'x-n': '20', 'x-flag': 'off' }), 'fallback', 'range end is exclusive');
  t.equal(r({ 'x-flag': 'off' }, '/x?debug=yes'), 'query');
  t.equal(r({ 'x-flag': 'off', 'content-type': 'application/grpc+proto' }), 'grpc');
  t.equal(r({ 'x-flag': 'off', 'content-type': 'application/grpc-web' }), 'fallback', 'grpc-web is not gRPC');
});

t.test('weighted clusters: v3 sum-of-weights semantics, ranges in config order', async (t) => {
  const rt = table({ virtual_hosts: [{ name: 'v', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { weighted_clusters: { clusters: [{ name: 'v1', weight: 80 }, { name: 'v2', weight: 20 }] } } }] }] });
  const w = rt.match('h', '/', {})!.weighted!;
  t.equal(w.total, 100);
  t.equal(pickWeightedCluster(w, 0).name, 'v1');
  t.equal(pickWeightedCluster(w, 0.799).name, 'v1');
  t.equal(pickWeightedCluster(w, 0.8).name, 'v2');
  t.equal(pickWeightedCluster(w, 0.9999).name, 'v2');
  const counts: Record<string, number> = { v1: 0, v2: 0 };
  for (let i = 0; i < 20000; i++) counts[pickWeightedCluster(w).name]!++;
  t.ok(Math.abs(counts['v1']! / 20000 - 0.8) < 0.02, `80/20 split: ${counts['v1']}/${counts['v2']}`);
});

t.test('bad route configs are rejected with the field path', async (t) => {
  const ctx = new DecodeContext();
  decodeRouteConfig({
    virtual_hosts: [
      { name: 'a', domains: ['dup.com'], routes: [{ match: { safe_regex: { regex: '(?=x)y' } }, route: { cluster: 'c' } }] },
      { name: 'b', domains: ['dup.com'], routes: [{ match: { prefix: '/' }, route: { weighted_clusters: { clusters: [{ name: 'x', weight: 1 }], total_weight: 100 } } }] },
    ],
  }, 'rc', ctx);
  const text = ctx.errors.map((e) => `${e.path}: ${e.message}`).join('\n');
  t.match(text, /rc\.virtual_hosts\[0\]\.routes\[0\]\.match\.safe_regex\.regex: invalid regex "\(\?=x\)y": lookahead/);
  t.match(text, /rc\.virtual_hosts\[1\]\.domains: domain "dup\.com" is also used by virtual host "a"/);
  t.match(text, /total_weight 100 does not equal the sum of weights 1/);
});

t.test('RE2 translation', async (t) => {
  const named = compileRe2('(?P<id>[0-9]+)');
  t.ok(named.ok && named.regex.test('123'), '(?P<name>...) is accepted');
  t.notOk(compileRe2('(a)\\1').ok, 'backreferences are rejected as RE2 does');
  t.notOk(compileRe2('(').ok, 'syntax errors are reported, not thrown');
});
