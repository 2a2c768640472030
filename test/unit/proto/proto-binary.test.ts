import t from 'tap';
import { lookupMessage } from '../../../src/proto/envoy-protos';
import { decodeAnyBinary, decodeBinary } from '../../../src/proto/proto-binary';
import { encodeBinary, encodeBinaryAny, toProtoJson } from '../../../src/proto/proto-encode';
import { decodeJson } from '../../../src/proto/proto-json';

const CLUSTER_URL = 'type.googleapis.com/envoy.config.cluster.v3.Cluster';
const cluster = lookupMessage('envoy.config.cluster.v3.Cluster')!;
const bootstrap = lookupMessage('envoy.config.bootstrap.v3.Bootstrap')!;

/** A cluster touching most value kinds; it has no explicit defaults, so binary carries all of it. */
const CLUSTER_JSON = {
  name: 'backend',
  type: 'STRICT_DNS',
  lb_policy: 'RING_HASH',
  connect_timeout: '0.250s',
  dns_refresh_rate: '1.000000500s',
  per_connection_buffer_limit_bytes: 32768,
  max_requests_per_connection: 0,
  metadata: { filter_metadata: { 'envoy.lb': { canary: true, weight: 1.5, tags: ['a', null], nested: { x: 'y' } } } },
  load_assignment: {
    cluster_name: 'backend',
    endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '10.0.0.1', port_value: 8080 } } } }] }],
  },
  typed_extension_protocol_options: {
    'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
      '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
      explicit_http_config: { http2_protocol_options: { max_concurrent_streams: 100 } },
    },
    'vendor.thing': { '@type': 'type.googleapis.com/google.protobuf.UInt64Value', value: '18446744073709551615' },
  },
  common_lb_config: { healthy_panic_threshold: { value: 50.5 } },
};

t.test('normalized → encodeBinaryAny → decodeAnyBinary is deep-equal', async (t) => {
  const normalized = decodeJson(cluster, CLUSTER_JSON);
  t.same(normalized.errors, []);
  t.equal(normalized.value['dns_refresh_rate'], 1000.0005);
  const any = encodeBinaryAny(CLUSTER_URL, normalized.value);
  t.equal(any.type_url, CLUSTER_URL);
  t.ok(any.value instanceof Uint8Array);
  const back = decodeAnyBinary(any);
  t.same(back.errors, []);
  t.strictSame(back.value, { '@type': CLUSTER_URL, ...normalized.value }, 'same value, tagged with @type');
  t.strictSame(decodeAnyBinary(encodeBinaryAny(CLUSTER_URL, back.value)).value, back.value, 'a decoded Any can be re-encoded as is');
  t.strictSame(decodeBinary(cluster, any.value).value, normalized.value, 'decodeBinary of the payload gives the bare message');
});

t.test('binary drops explicit defaults of implicit-presence scalars, as protobuf does', async (t) => {
  const withDefaults = decodeJson(cluster, { name: 'c', type: 'STATIC', load_assignment: { cluster_name: 'c', endpoints: [{ priority: 0 }] } }).value;
  const back = decodeBinary(cluster, encodeBinary(cluster, withDefaults));
  // `type` is a oneof member, so it has presence and survives; `priority: 0` does not.
  t.strictSame(back.value, { name: 'c', type: 'STATIC', load_assignment: { cluster_name: 'c', endpoints: [{}] } });
});

t.test('unknown Any types stay unresolved, with their bytes', async (t) => {
  const payload = Buffer.from([0x0a, 0x03, 0x61, 0x62, 0x63]);
  const top = decodeAnyBinary({ type_url: 'type.googleapis.com/istio.mixer.v1.Config', value: payload });
  t.same(top.errors, []);
  t.strictSame(top.value, { '@type': 'type.googleapis.com/istio.mixer.v1.Config', '@unresolved': true, '@bytes': payload });

  const withNested = {
    name: 'c',
    typed_extension_protocol_options: { x: { '@type': 'type.googleapis.com/istio.mixer.v1.Config', '@unresolved': true, '@bytes': payload } },
  };
  const back = decodeAnyBinary(encodeBinaryAny(CLUSTER_URL, withNested));
  t.same(back.errors, []);
  t.strictSame(back.value, { '@type': CLUSTER_URL, ...withNested }, 'nested unresolved Any round-trips through its bytes');
  t.strictSame(toProtoJson(cluster, withNested), {
    name: 'c',
    typed_extension_protocol_options: { x: { '@type': 'type.googleapis.com/istio.mixer.v1.Config', value: payload.toString('base64') } },
  });
});

t.test('missing type_url, truncated and random bytes give errors, never throws', async (t) => {
  t.strictSame(decodeAnyBinary({ type_url: '', value: new Uint8Array(0) }).errors, [{ path: '', message: 'google.protobuf.Any has an empty type_url' }]);
  const good = encodeBinary(cluster, decodeJson(cluster, CLUSTER_JSON).value);
  for (const cut of [1, 7, good.length >> 1, good.length - 1]) {
    const r = decodeBinary(cluster, good.subarray(0, cut), 'resources[0]');
    t.ok(r.errors.length > 0, `truncated to ${cut} bytes: ${r.errors[0]?.message}`);
    t.equal(r.errors[0]!.path.startsWith('resources[0]'), true, 'path prefix kept');
  }
  // Deterministic pseudo-random garbage (an LCG), fed to a deeply nested type.
  let seed = 12345;
  const next = (): number => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) & 0xff;
  for (let round = 0; round < 50; round++) {
    const garbage = Uint8Array.from({ length: 16 + round * 8 }, next);
    t.doesNotThrow(() => decodeBinary(bootstrap, garbage));
    t.doesNotThrow(() => decodeAnyBinary({ type_url: CLUSTER_URL, value: garbage }));
  }
  const sample = decodeBinary(bootstrap, Uint8Array.from({ length: 64 }, next));
  t.ok(sample.errors.length > 0, `garbage is reported: ${sample.errors[0]?.message}`);
  t.strictSame(sample.value, {}, 'no partial value from undecodable bytes');
});

t.test('nested Any payload errors carry the field path', async (t) => {
  const bad = { type_url: 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions', value: Uint8Array.of(0x0a, 0x7f) };
  const clusterBytes = cluster.encode(cluster.fromObject({ name: 'c', typed_extension_protocol_options: { k: bad } })).finish();
  const r = decodeBinary(cluster, clusterBytes);
  t.match(r.errors, [{ path: 'typed_extension_protocol_options["k"]', message: /invalid protobuf bytes for envoy.extensions.upstreams.http.v3.HttpProtocolOptions/ }]);
});

t.test('toProtoJson prints canonical proto3 JSON (Envoy /config_dump style)', async (t) => {
  const normalized = decodeJson(cluster, CLUSTER_JSON).value;
  const json = toProtoJson(cluster, normalized) as Record<string, any>;
  t.equal(json['connect_timeout'], '0.250s');
  t.equal(json['dns_refresh_rate'], '1.000000500s');
  t.equal(json['type'], 'STRICT_DNS');
  t.equal(json['typed_extension_protocol_options']['vendor.thing'].value, '18446744073709551615', 'int64 as string');
  t.strictSame(json['common_lb_config'], { healthy_panic_threshold: { value: 50.5 } });
  t.strictSame(Object.keys(json).slice(0, 3), ['name', 'type', 'connect_timeout'], 'fields in field-number order');
  t.strictSame(decodeJson(cluster, json).value, normalized, 'and decodes back to the same value');

  const duration = lookupMessage('google.protobuf.Duration')!;
  const text = (ms: number) => toProtoJson(duration, { value: ms });
  t.strictSame([text(5000), text(250), text(1500), text(0.001), text(-1500), text(0), text(1000.000001)], ['5s', '0.250s', '1.500s', '0.000001s', '-1.500s', '0s', '1.000000001s']);
  const u64 = lookupMessage('google.protobuf.UInt64Value')!;
  t.equal(toProtoJson(u64, { value: 7 }), '7');
  const dbl = lookupMessage('google.protobuf.DoubleValue')!;
  t.equal(toProtoJson(dbl, { value: NaN }), 'NaN');
  const mask = lookupMessage('google.protobuf.FieldMask')!;
  t.equal(toProtoJson(mask, { value: ['foo_bar.baz', 'a'] }), 'fooBar.baz,a');
  const unresolved = { '@type': 'type.googleapis.com/x.Y', '@unresolved': true, '@json': { a: 1 } };
  t.strictSame(toProtoJson(lookupMessage('google.protobuf.Any')!, unresolved), { '@type': 'type.googleapis.com/x.Y', a: 1 }, 're-emitted from @json');
});

t.test('encoders reject values that break the normalized form', async (t) => {
  t.throws(() => encodeBinaryAny('type.googleapis.com/no.such.Type', {}), TypeError);
  t.throws(() => toProtoJson(cluster, { nope: 1 }), /has no field "nope"/);
  t.throws(
    () => encodeBinary(cluster, { name: 'c', typed_extension_protocol_options: { x: { '@type': 'type.googleapis.com/x.Y', '@unresolved': true, '@json': {} } } }),
    /decoded from JSON/,
  );
});
