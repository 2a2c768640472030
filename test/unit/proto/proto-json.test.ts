import t from 'tap';
import { lookupMessage } from '../../../src/proto/envoy-protos';
import { decodeJson } from '../../../src/proto/proto-json';

const cluster = lookupMessage('envoy.config.cluster.v3.Cluster')!;
const bootstrap = lookupMessage('envoy.config.bootstrap.v3.Bootstrap')!;
const listener = lookupMessage('envoy.config.listener.v3.Listener')!;
const HCM = 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';

/** A cluster that passes PGV, plus `extra`. */
const decodeCluster = (extra: Record<string, unknown>) => decodeJson(cluster, { name: 'c', ...extra });

t.test('durations become milliseconds', async (t) => {
  const cases: Array<[unknown, number]> = [
    ['1.5s', 1500],
    ['5s', 5000],
    ['0.250s', 250],
    ['0.000001s', 0.001],
    ['1.000000001s', 1000.000001],
    [{ seconds: 2, nanos: 500_000_000 }, 2500],
    [{ seconds: '3' }, 3000],
  ];
  for (const [input, ms] of cases) {
    const r = decodeCluster({ connect_timeout: input });
    t.same(r.errors, [], JSON.stringify(input));
    t.equal(r.value['connect_timeout'], ms, `${JSON.stringify(input)} → ${ms}`);
  }
  const duration = lookupMessage('google.protobuf.Duration')!;
  t.strictSame(decodeJson(duration, '-1.5s').value, { value: -1500 }, 'negative; a top-level well-known type sits under "value"');
  t.strictSame(decodeJson(duration, '0s').value, { value: 0 });
  t.strictSame(decodeJson(duration, '-0s').value, { value: 0 }, 'no negative zero');
});

t.test('bad durations name the expected form', async (t) => {
  for (const bad of ['5', 'abc', '1.0000000001s', '1m', '']) {
    const r = decodeCluster({ connect_timeout: bad });
    t.strictSame(r.errors, [{ path: 'connect_timeout', message: `invalid duration "${bad}": expected a string like "1.5s"` }]);
  }
  t.match(decodeCluster({ connect_timeout: 5 }).errors, [{ message: 'invalid duration 5: expected a string like "1.5s"' }]);
  t.match(decodeCluster({ connect_timeout: '315576000001s' }).errors, [{ message: /out of range/ }]);
  t.match(decodeCluster({ connect_timeout: { seconds: 1, nanos: -1 } }).errors, [{ message: /same sign/ }]);
});

t.test('wrappers are unwrapped; the {value} form is accepted', async (t) => {
  const r = decodeCluster({ per_connection_buffer_limit_bytes: 1024, max_requests_per_connection: { value: 5 }, respect_dns_ttl: true });
  t.same(r.errors, []);
  t.equal(r.value['per_connection_buffer_limit_bytes'], 1024);
  t.equal(r.value['max_requests_per_connection'], 5);
  const wrappers = lookupMessage('google.protobuf.BoolValue')!;
  t.strictSame(decodeJson(wrappers, { value: true }).value, { value: true });
  t.strictSame(decodeJson(wrappers, {}).value, { value: false }, 'absent value in the object form is the default');
  t.match(decodeCluster({ per_connection_buffer_limit_bytes: { value: 1, other: 2 } }).errors, [{ message: /unknown field "other"/ }]);
});

t.test('enums by name or number give the name; unknown values list valid names', async (t) => {
  const r = decodeCluster({ type: 1, lb_policy: 'RING_HASH' });
  t.same(r.errors, []);
  t.equal(r.value['type'], 'STRICT_DNS');
  t.equal(r.value['lb_policy'], 'RING_HASH');
  const bad = decodeCluster({ type: 'FOO', lb_policy: 99 });
  t.strictSame(bad.errors[0], {
    path: 'type',
    message: 'unknown value "FOO" for enum envoy.config.cluster.v3.Cluster.DiscoveryType; valid values: STATIC, STRICT_DNS, LOGICAL_DNS, EDS, ORIGINAL_DST',
  });
  t.match(bad.errors[1], { path: 'lb_policy', message: /^unknown value 99 for enum .*LbPolicy; valid values: ROUND_ROBIN,/ });
  t.match(decodeCluster({ type: true }).errors, [{ message: /expected an enum name or number/ }]);
});

t.test('unknown fields: error with the path, or a warning when allowed', async (t) => {
  const input = { static_resources: { clusters: [{ name: 'a', foo: 1 }] } };
  const strict = decodeJson(bootstrap, input);
  t.strictSame(strict.errors, [{ path: 'static_resources.clusters[0].foo', message: 'unknown field "foo" (not in envoy.config.cluster.v3.Cluster)' }]);
  const lax = decodeJson(bootstrap, input, { allowUnknownFields: true });
  t.same(lax.errors, []);
  t.equal(lax.warnings.length, 1);
  t.strictSame(lax.value, { static_resources: { clusters: [{ name: 'a' }] } });
  t.match(decodeJson(bootstrap, input, { path: 'resources[3]' }).errors, [{ path: 'resources[3].static_resources.clusters[0].foo' }]);
});

t.test('camelCase and snake_case spellings; both at once is an error', async (t) => {
  const r = decodeCluster({ connectTimeout: '1s', dns_lookup_family: 'V4_ONLY', perConnectionBufferLimitBytes: 7 });
  t.strictSame(r.value, { name: 'c', connect_timeout: 1000, dns_lookup_family: 'V4_ONLY', per_connection_buffer_limit_bytes: 7 });
  const twice = decodeCluster({ connect_timeout: '1s', connectTimeout: '2s' });
  t.strictSame(twice.errors, [{ path: 'connect_timeout', message: 'field "connect_timeout" is given twice (as "connect_timeout" and "connectTimeout")' }]);
  const camelFirst = decodeCluster({ connectTimeout: '2s', connect_timeout: '1s' });
  t.strictSame(camelFirst.errors, [{ path: 'connect_timeout', message: 'field "connect_timeout" is given twice (as "connectTimeout" and "connect_timeout")' }], 'the first spelling counts, the second is reported');
  const nameOnly = decodeCluster({ name: 'c', dns_lookup_family: 'V4_ONLY' });
  t.strictSame(nameOnly.errors, [], 'a single-word field (same in both spellings) is not a duplicate of itself');
});

t.test('oneof conflicts', async (t) => {
  const r = decodeCluster({ type: 'STATIC', cluster_type: { name: 'x' } });
  t.strictSame(r.errors, [{ path: '', message: 'only one of "type", "cluster_type" may be set (oneof cluster_discovery_type)' }]);
  const nested = decodeJson(bootstrap, { static_resources: { clusters: [{ name: 'c', type: 'EDS', clusterType: { name: 'x' } }] } });
  t.match(nested.errors, [{ path: 'static_resources.clusters[0]', message: /only one of/ }]);
});

t.test('wrong JSON types name the expected type', async (t) => {
  const r = decodeJson(cluster, { name: 5, per_connection_buffer_limit_bytes: 'x', respect_dns_ttl: 'yes', load_assignment: 'x', dns_resolvers: {} });
  t.strictSame(r.errors, [
    { path: 'name', message: 'expected a string for string field, got number' },
    { path: 'per_connection_buffer_limit_bytes', message: 'expected an integer for uint32 field, got "x"' },
    { path: 'respect_dns_ttl', message: 'expected true or false for bool field, got "yes"' },
    { path: 'load_assignment', message: 'expected an object for message envoy.config.endpoint.v3.ClusterLoadAssignment, got string' },
    { path: 'dns_resolvers', message: 'expected an array for repeated field, got object' },
  ]);
  t.match(decodeJson(cluster, 'nope').errors, [{ path: '', message: /expected an object for message envoy.config.cluster.v3.Cluster, got string/ }]);
});

t.test('integers: range checks, strings accepted, 64-bit beyond 2^53 kept as strings', async (t) => {
  const u32 = decodeCluster({ per_connection_buffer_limit_bytes: '4096' });
  t.equal(u32.value['per_connection_buffer_limit_bytes'], 4096, 'numeric string');
  t.match(decodeCluster({ per_connection_buffer_limit_bytes: 4294967296 }).errors, [{ message: 'value 4294967296 is out of range for uint32' }]);
  t.match(decodeCluster({ per_connection_buffer_limit_bytes: 1.5 }).errors, [{ message: /expected an integer/ }]);
  const u64 = lookupMessage('google.protobuf.UInt64Value')!;
  t.strictSame(decodeJson(u64, '18446744073709551615').value, { value: '18446744073709551615' }, 'uint64 max stays exact');
  t.strictSame(decodeJson(u64, '42').value, { value: 42 }, 'safe values are numbers');
  t.match(decodeJson(u64, '18446744073709551616').errors, [{ message: /out of range for uint64/ }]);
  t.match(decodeJson(u64, '-1').errors, [{ message: /out of range for uint64/ }]);
  const i64 = lookupMessage('google.protobuf.Int64Value')!;
  t.strictSame(decodeJson(i64, -9007199254740993n).value, { value: '-9007199254740993' }, 'bigint input');
});

t.test('floats, bytes, timestamps, field masks', async (t) => {
  const dbl = lookupMessage('google.protobuf.DoubleValue')!;
  t.ok(Number.isNaN(decodeJson(dbl, 'NaN').value['value']));
  t.equal(decodeJson(dbl, '-Infinity').value['value'], -Infinity);
  t.equal(decodeJson(dbl, '2.5').value['value'], 2.5);
  const bytes = lookupMessage('google.protobuf.BytesValue')!;
  t.strictSame(decodeJson(bytes, 'aGk=').value, { value: Buffer.from('hi') });
  t.strictSame(decodeJson(bytes, '-_8').value, { value: Buffer.from([0xfb, 0xff]) }, 'URL-safe, unpadded');
  t.match(decodeJson(bytes, 'a*b').errors, [{ message: /invalid base64/ }]);
  const ts = lookupMessage('google.protobuf.Timestamp')!;
  t.strictSame(decodeJson(ts, '2024-01-02T03:04:05.5+01:00').value, { value: '2024-01-02T02:04:05.500Z' });
  t.strictSame(decodeJson(ts, { seconds: 0, nanos: 1000 }).value, { value: '1970-01-01T00:00:00.000001Z' });
  t.match(decodeJson(ts, '2024-02-30T00:00:00Z').errors, [{ message: /invalid timestamp/ }]);
  const mask = lookupMessage('google.protobuf.FieldMask')!;
  t.strictSame(decodeJson(mask, 'fooBar.bazQux,a').value, { value: ['foo_bar.baz_qux', 'a'] });
});

t.test('Struct, Value, ListValue become plain JSON; null handling', async (t) => {
  const struct = lookupMessage('google.protobuf.Struct')!;
  const r = decodeJson(struct, { a: [1, null, { b: 'c' }], camelKey: true });
  t.strictSame(r.value, { a: [1, null, { b: 'c' }], camelKey: true }, 'keys are data, not field names');
  t.equal(Object.getPrototypeOf(r.value), Object.prototype);
  t.strictSame(decodeJson(struct, {}).value, {});
  const node = decodeJson(lookupMessage('envoy.config.core.v3.Node')!, { id: 'n', metadata: null, cluster: null, extensions: null });
  t.strictSame(node.value, { id: 'n', extensions: [] }, 'null singular = absent, null repeated = []');
  t.match(decodeCluster({ dns_resolvers: [null] }).errors, [{ path: 'dns_resolvers[0]', message: /null is not allowed/ }]);
});

t.test('maps: keys are strings, values decoded, paths use ["key"]', async (t) => {
  const md = decodeJson(lookupMessage('envoy.config.core.v3.Metadata')!, { filter_metadata: { 'envoy.lb': { canary: true } } });
  t.strictSame(md.value, { filter_metadata: { 'envoy.lb': { canary: true } } });
  const bad = decodeJson(lookupMessage('envoy.config.core.v3.Metadata')!, { filter_metadata: { 'a.b': 'x' } });
  t.strictSame(bad.errors, [{ path: 'filter_metadata["a.b"]', message: 'expected an object for google.protobuf.Struct, got string' }]);
});

t.test('Any: resolved, unresolved, missing @type, well-known payloads, nested error paths', async (t) => {
  const withFilter = (typedConfig: unknown) => decodeJson(listener, { name: 'l', filter_chains: [{ filters: [{ name: 'f', typed_config: typedConfig }] }] });
  const unknown = withFilter({ '@type': 'type.googleapis.com/istio.stats.v1.Unknown', a: { b: 1 } });
  t.same(unknown.errors, [], 'an unknown type is not an error at this layer');
  const filter = ((unknown.value['filter_chains'] as any[])[0].filters[0]) as Record<string, unknown>;
  t.strictSame(filter['typed_config'], { '@type': 'type.googleapis.com/istio.stats.v1.Unknown', '@unresolved': true, '@json': { a: { b: 1 } } });

  t.strictSame(withFilter({ a: 1 }).errors, [{ path: 'filter_chains[0].filters[0].typed_config', message: 'google.protobuf.Any is missing "@type"' }]);

  const wkt = withFilter({ '@type': 'type.googleapis.com/google.protobuf.Duration', value: '1.5s' });
  t.same(wkt.errors, []);
  t.strictSame((wkt.value['filter_chains'] as any[])[0].filters[0].typed_config, { '@type': 'type.googleapis.com/google.protobuf.Duration', value: 1500 });

  const nested = withFilter({
    '@type': HCM,
    stat_prefix: 's',
    route_config: { virtual_hosts: [{ domains: ['*'] }] },
    http_filters: [{ name: 'r', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router', bogus: 1 } }],
  });
  t.strictSame(nested.errors.map((e) => e.path), [
    'filter_chains[0].filters[0].typed_config.route_config.virtual_hosts[0].name',
    'filter_chains[0].filters[0].typed_config.http_filters[0].typed_config.bogus',
  ]);
});

t.test('hostile nesting is an error, not a stack overflow', async (t) => {
  let deep: unknown = [];
  for (let i = 0; i < 100_000; i++) deep = [deep];
  const list = decodeJson(lookupMessage('google.protobuf.ListValue')!, deep);
  t.match(list.errors, [{ message: 'JSON value nesting exceeds 100 levels' }]);
  let msg: Record<string, unknown> = { name: 'x' };
  for (let i = 0; i < 200; i++) msg = { filter_chains: [{ filters: [{ name: 'f', typed_config: { '@type': 'type.googleapis.com/envoy.config.listener.v3.Listener', ...msg } }] }] };
  t.match(decodeJson(listener, msg).errors, [{ message: 'message nesting exceeds 100 levels' }]);
});
