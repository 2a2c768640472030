import t from 'tap';
import { TagProducer } from '../../../src/stats/tag-producer';
import { statsSettings } from '../../../src/stats/stats-config';

const envoy = new TagProducer();
const tags = (p: TagProducer, name: string) => {
  const r = p.produceTags(name);
  return [r.extracted, r.tags.map((x) => `${x.name}=${x.value}`)];
};

t.test("Envoy's default tags", async (t) => {
  t.same(tags(envoy, 'cluster.echo.upstream_rq_total'), ['cluster.upstream_rq_total', ['envoy.cluster_name=echo']]);
  t.same(tags(envoy, 'cluster.echo.upstream_rq_200'), ['cluster.upstream_rq', ['envoy.response_code=200', 'envoy.cluster_name=echo']], 'response code first: its extractor has no prefix token');
  t.same(tags(envoy, 'cluster.echo.upstream_rq_2xx'), ['cluster.upstream_rq_xx', ['envoy.response_code_class=2', 'envoy.cluster_name=echo']], 'the class keeps "xx" in the name');
  t.same(tags(envoy, 'http.ingress_http.downstream_rq_5xx'), ['http.downstream_rq_xx', ['envoy.response_code_class=5', 'envoy.http_conn_manager_prefix=ingress_http']]);
  t.same(tags(envoy, 'listener.0.0.0.0_15006.downstream_cx_total'), ['listener.downstream_cx_total', ['envoy.listener_address=0.0.0.0_15006']]);
  t.same(tags(envoy, 'listener.[__]_15001.downstream_cx_total'), ['listener.downstream_cx_total', ['envoy.listener_address=[__]_15001']]);
  t.same(tags(envoy, 'listener.admin.downstream_cx_total'), ['listener.admin.downstream_cx_total', []], '"admin" is not a listener address');
  t.same(tags(envoy, 'listener.127.0.0.1_80.http.ingress.downstream_rq_2xx'), ['listener.http.downstream_rq_xx',
    ['envoy.response_code_class=2', 'envoy.http_conn_manager_prefix=ingress', 'envoy.listener_address=127.0.0.1_80']]);
  t.same(tags(envoy, 'server.live'), ['server.live', []]);
  t.same(tags(envoy, 'cluster.echo.health_check.attempt'), ['cluster.health_check.attempt', ['envoy.cluster_name=echo']]);
  t.same(tags(envoy, 'http.admin.rds.my.routes.update_success'), ['http.rds.update_success', ['envoy.rds_route_config=my.routes', 'envoy.http_conn_manager_prefix=admin']]);
});

t.test("Istio's dotted cluster names under Envoy's defaults: one token only", async (t) => {
  t.same(tags(envoy, 'cluster.outbound|50052||svc.ns.svc.cluster.local.upstream_rq_total'),
    ['cluster.ns.svc.cluster.local.upstream_rq_total', ['envoy.cluster_name=outbound|50052||svc']]);
  t.same(tags(envoy, 'cluster.outbound|50052||svc.ns.svc.cluster.local;.upstream_rq_200'),
    ['cluster.ns.svc.cluster.local;.upstream_rq', ['envoy.response_code=200', 'envoy.cluster_name=outbound|50052||svc']]);
});

t.test("Istio's bootstrap tags (use_all_default_tags: false, `;` delimiter)", async (t) => {
  const istio = statsSettings({
    stats_config: {
      use_all_default_tags: false,
      stats_tags: [
        { tag_name: 'cluster_name', regex: '^cluster(\\.(.+);)' },
        { tag_name: 'http_conn_manager_prefix', regex: '^http\\.(((?:[_.[:digit:]\\w]*|[_\\[\\]aAbBcCdDeEfF[:digit:]\\w\\:]*));\\.)' },
        { tag_name: 'response_code', regex: '_rq(_(\\d{3}))$' },
        { tag_name: 'response_code_class', regex: '_rq(_(\\dxx))$' },
        { tag_name: 'listener_address', regex: '^listener\\.(((?:[_.[:digit:]]*|[_\\[\\]aAbBcCdDeEfF[:digit:]]*))\\.)' },
      ],
    },
  }).tagProducer;
  t.same(tags(istio, 'cluster.outbound|50052||svc.ns.svc.cluster.local;.upstream_rq_total'),
    ['cluster.upstream_rq_total', ['cluster_name=outbound|50052||svc.ns.svc.cluster.local']]);
  t.same(tags(istio, 'cluster.outbound|50052||svc.ns.svc.cluster.local;.upstream_rq_2xx'),
    ['cluster.upstream_rq', ['cluster_name=outbound|50052||svc.ns.svc.cluster.local', 'response_code_class=2xx']]);
  t.same(tags(istio, 'http.0.0.0.0_8080;.downstream_rq_total'), ['http.downstream_rq_total', ['http_conn_manager_prefix=0.0.0.0_8080']]);
  t.same(tags(istio, 'cluster.xds-grpc.upstream_rq_total'), ['cluster.xds-grpc.upstream_rq_total', []], 'no delimiter, no tag');
  t.same(tags(istio, 'listener.10.0.0.1_15006.downstream_cx_total'), ['listener.downstream_cx_total', ['listener_address=10.0.0.1_15006']]);
});

t.test('fixed tags, name-only specifiers, errors', async (t) => {
  const p = new TagProducer({ cliTags: [{ name: 'zone', value: 'z1' }], statsTags: [{ name: 'team', fixedValue: 'mesh' }] });
  t.same(tags(p, 'server.live'), ['server.live', ['zone=z1', 'team=mesh']]);
  const only = new TagProducer({ useAllDefaultTags: false, statsTags: [{ name: 'envoy.cluster_name' }] });
  t.same(tags(only, 'cluster.c.upstream_rq_200'), ['cluster.upstream_rq_200', ['envoy.cluster_name=c']]);
  t.throws(() => new TagProducer({ statsTags: [{ name: 'nope' }] }), /no default regex for name: 'nope'/);
  t.throws(() => new TagProducer({ statsTags: [{ name: 'bad', regex: '(' }] }), /stats tag "bad": invalid regex/);
});

t.test('stats_matcher', async (t) => {
  const incl = statsSettings({ stats_config: { stats_matcher: { inclusion_list: { patterns: [{ prefix: 'server' }, { suffix: 'downstream_cx_active' }, { safe_regex: { regex: 'vhost\\..*\\.route\\..*' } }] } } } }).matcher;
  t.ok(incl('server.live'));
  t.ok(incl('listener.0.0.0.0_15006.downstream_cx_active'));
  t.ok(incl('vhost.a.route.b.upstream_rq_total'));
  t.notOk(incl('cluster.c.upstream_rq_total'));
  const excl = statsSettings({ stats_config: { stats_matcher: { exclusion_list: { patterns: [{ contains: 'rq_time', ignore_case: true }] } } } }).matcher;
  t.notOk(excl('cluster.c.UPSTREAM_RQ_TIME'));
  t.ok(excl('cluster.c.upstream_rq_total'));
  t.notOk(statsSettings({ stats_config: { stats_matcher: { reject_all: true } } }).matcher('server.live'));
});
