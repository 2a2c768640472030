import t from 'tap';
import { lookupMessage } from '../../../src/proto/envoy-protos';
import { decodeJson } from '../../../src/proto/proto-json';

const bootstrap = lookupMessage('envoy.config.bootstrap.v3.Bootstrap')!;
const cluster = lookupMessage('envoy.config.cluster.v3.Cluster')!;
const messages = (type: string, input: unknown) => decodeJson(lookupMessage(type)!, input).errors.map((e) => `${e.path}: ${e.message}`);

t.test('string min_len applies to absent fields too (their default is validated, as in PGV)', async (t) => {
  const r = decodeJson(bootstrap, { static_resources: { clusters: [{ connect_timeout: '1s' }, { name: '' }] } });
  t.strictSame(r.errors, [
    { path: 'static_resources.clusters[0].name', message: 'value length must be at least 1 characters' },
    { path: 'static_resources.clusters[1].name', message: 'value length must be at least 1 characters' },
  ]);
});

t.test('message.required', async (t) => {
  t.strictSame(messages('envoy.config.route.v3.Route', { route: { cluster: 'c' } }), ['match: value is required']);
  t.strictSame(messages('envoy.config.core.v3.TypedExtensionConfig', { name: 'x' }), ['typed_config: value is required'], 'any.required');
});

t.test('oneof (validate.required)', async (t) => {
  t.strictSame(messages('envoy.config.route.v3.RouteAction', {}), [
    ': one of "cluster", "cluster_header", "weighted_clusters", "cluster_specifier_plugin", "inline_cluster_specifier_plugin" must be set (oneof cluster_specifier)',
  ]);
  t.strictSame(messages('envoy.config.route.v3.RouteAction', { cluster: 'c' }), []);
  t.strictSame(messages('envoy.config.route.v3.RouteAction', { cluster: 5 }), ['cluster: expected a string for string field, got number'], 'a member that failed to decode counts as set');
});

t.test('numeric bounds', async (t) => {
  // SocketAddress.port_value: uint32 lte 65535.
  t.strictSame(messages('envoy.config.core.v3.SocketAddress', { address: '1.2.3.4', port_value: 70000 }), ['port_value: value must be less than or equal to 65535']);
  // HealthCheck.unhealthy_threshold is a required UInt32Value.
  t.match(messages('envoy.config.core.v3.HealthCheck', { timeout: '1s', interval: '1s', healthy_threshold: 1, http_health_check: { path: '/' } }), [
    'unhealthy_threshold: value is required',
  ]);
});

t.test('duration bounds', async (t) => {
  t.strictSame(decodeJson(cluster, { name: 'c', connect_timeout: '0s' }).errors, [{ path: 'connect_timeout', message: 'value must be greater than 0s' }]);
  t.strictSame(decodeJson(cluster, { name: 'c', dns_refresh_rate: '0.0005s' }).errors, [{ path: 'dns_refresh_rate', message: 'value must be greater than 0.001s' }]);
  t.strictSame(decodeJson(cluster, { name: 'c', dns_refresh_rate: '5s' }).errors, []);
});

t.test('repeated min_items and item rules', async (t) => {
  t.strictSame(messages('envoy.config.route.v3.VirtualHost', { name: 'v' }), ['domains: value must contain at least 1 item(s)']);
  t.strictSame(messages('envoy.config.route.v3.VirtualHost', { name: 'v', domains: ['ok', 'bad\nvalue'] }), ['domains[1]: value must be a valid HTTP header value']);
});

t.test('HTTP header well-known regexes, strict and lax', async (t) => {
  // HeaderValue.key is HTTP_HEADER_NAME with strict: false (only NUL, CR, LF are rejected).
  t.strictSame(messages('envoy.config.core.v3.HeaderValue', { key: 'x-ok', value: 'v' }), []);
  t.strictSame(messages('envoy.config.core.v3.HeaderValue', { key: 'lax allows spaces', value: 'v' }), []);
  t.strictSame(messages('envoy.config.core.v3.HeaderValue', { key: 'bad\r\nname', value: 'v' }), ['key: value must be a valid HTTP header name']);
  // UpstreamHttpProtocolOptions.override_auto_sni_header is strict, with ignore_empty.
  const sni = 'envoy.config.core.v3.UpstreamHttpProtocolOptions';
  t.strictSame(messages(sni, { override_auto_sni_header: 'x-sni' }), []);
  t.strictSame(messages(sni, { override_auto_sni_header: 'x sni' }), ['override_auto_sni_header: value must be a valid HTTP header name']);
  t.strictSame(messages(sni, {}), [], 'ignore_empty skips the absent default');
});

t.test('oneof members and optional fields are only validated when set', async (t) => {
  // RouteAction.cluster has min_len 1 but lives in a oneof: weighted_clusters alone is fine.
  t.strictSame(messages('envoy.config.route.v3.RouteAction', { weighted_clusters: { clusters: [{ name: 'a', weight: 1 }] } }), []);
  t.strictSame(messages('envoy.config.route.v3.RouteAction', { cluster: '' }), ['cluster: value length must be at least 1 characters']);
});

t.test('validation issues are reported alongside decode errors, each once', async (t) => {
  const r = decodeJson(cluster, { connect_timeout: 'abc' });
  t.strictSame(r.errors.map((e) => e.path).sort(), ['connect_timeout', 'name']);
});
