/**
 * Decodes the real third-party configs in the shared fixtures directory
 * (Envoy examples, Istio bootstrap goldens, Envoy Gateway xDS goldens) and
 * checks the JSON and binary round trips on each of them.
 */
import * as fs from 'node:fs';
import { fixturesDir } from '../../fixtures-dir';
import * as path from 'node:path';
import t from 'tap';
import * as protobuf from 'protobufjs';
import { parse as parseYaml } from 'yaml';
import { lookupMessage, typeUrlOf } from '../../../src/proto/envoy-protos';
import { decodeAnyBinary, decodeBinary } from '../../../src/proto/proto-binary';
import { encodeBinary, encodeBinaryAny, toProtoJson } from '../../../src/proto/proto-encode';
import { decodeJson, type ProtoObject, type ProtoValue } from '../../../src/proto/proto-json';

const FIXTURES = fixturesDir();
const bootstrapType = lookupMessage('envoy.config.bootstrap.v3.Bootstrap')!;

const RESOURCE_TYPES: Record<string, string> = {
  listeners: 'envoy.config.listener.v3.Listener',
  routes: 'envoy.config.route.v3.RouteConfiguration',
  clusters: 'envoy.config.cluster.v3.Cluster',
  endpoints: 'envoy.config.endpoint.v3.ClusterLoadAssignment',
};

/** Fixture tests are skipped (visibly) where the shared fixtures are not mounted. */
const skip = fs.existsSync(FIXTURES) ? false : `no fixtures under ${FIXTURES}`;

function filesIn(dir: string, re: RegExp): string[] {
  const full = path.join(FIXTURES, dir);
  return fs.existsSync(full) ? fs.readdirSync(full).filter((f) => re.test(f)).sort().map((f) => path.join(full, f)) : [];
}

/** Every `@unresolved` Any in a normalized value, as `path @type`. */
function unresolvedAnys(v: ProtoValue, at = ''): string[] {
  if (Array.isArray(v)) return v.flatMap((x, i) => unresolvedAnys(x, `${at}[${i}]`));
  if (v === null || typeof v !== 'object' || Buffer.isBuffer(v)) return [];
  const obj = v as ProtoObject;
  const here = obj['@unresolved'] === true ? [`${at} ${String(obj['@type'])}`] : [];
  return here.concat(...Object.entries(obj).filter(([k]) => k !== '@json').map(([k, x]) => unresolvedAnys(x, `${at}.${k}`)));
}

/**
 * Removes explicitly set defaults of implicit-presence scalars, which binary
 * protobuf cannot carry (`priority: 0`, `protocol: TCP`), so a binary round
 * trip can be compared with the JSON decode.
 */
function withoutImplicitDefaults(type: protobuf.Type, v: ProtoValue): ProtoValue {
  if (v === null || typeof v !== 'object' || Buffer.isBuffer(v) || Array.isArray(v)) return v;
  const obj = v as ProtoObject;
  if (type.fullName === '.google.protobuf.Any') {
    const { '@type': url, ...fields } = obj;
    const inner = obj['@unresolved'] === true ? undefined : lookupMessage(String(url).replace(/^.*\//, ''));
    if (inner === undefined || inner.fullName.startsWith('.google.protobuf.')) return obj;
    return { '@type': url!, ...(withoutImplicitDefaults(inner, fields) as ProtoObject) };
  }
  const out: Record<string, ProtoValue> = {};
  for (const [k, x] of Object.entries(obj)) {
    const field = type.fields[k]?.resolve();
    if (field === undefined) {
      out[k] = x;
      continue;
    }
    const rt = field.resolvedType;
    const sub = (y: ProtoValue): ProtoValue => (rt instanceof protobuf.Type ? withoutImplicitDefaults(rt, y) : y);
    if (field.map) out[k] = Object.fromEntries(Object.entries(x as ProtoObject).map(([mk, mv]) => [mk, sub(mv)]));
    else if (field.repeated) out[k] = (x as ProtoValue[]).map(sub);
    else if (rt instanceof protobuf.Type) out[k] = sub(x);
    else {
      const isDefault = rt instanceof protobuf.Enum ? rt.values[x as string] === 0 : x === 0 || x === '' || x === false || (Buffer.isBuffer(x) && x.length === 0);
      if (!(isDefault && !field.hasPresence)) out[k] = x;
    }
  }
  return out;
}

function checkRoundTrips(t: tap.Test, type: protobuf.Type, value: ProtoObject): void {
  const again = decodeJson(type, toProtoJson(type, value));
  t.same(again.errors, [], 'toProtoJson output decodes cleanly');
  t.strictSame(again.value, value, 'toProtoJson → decodeJson gives the same normalized value');
  const bytes = encodeBinary(type, value);
  const back = decodeBinary(type, bytes);
  t.same(back.errors, [], 'binary decodes cleanly');
  t.strictSame(back.value, withoutImplicitDefaults(type, value), 'binary round trip keeps everything binary can carry');
  t.strictSame(Buffer.from(encodeBinary(type, back.value)), Buffer.from(bytes), 're-encoding is stable');
}

t.test('Envoy example bootstraps decode without issues', { skip }, async (t) => {
  const files = filesIn('envoy-configs', /\.ya?ml$/);
  for (const file of files) {
    t.test(path.basename(file), async (t) => {
      const r = decodeJson(bootstrapType, parseYaml(fs.readFileSync(file, 'utf8')));
      t.same(r.errors, [], 'no errors');
      t.same(r.warnings, [], 'no warnings');
      t.same(unresolvedAnys(r.value), [], 'every typed_config resolves');
      checkRoundTrips(t, bootstrapType, r.value);
    });
  }
});

t.test('envoy-demo: the upstream TLS transport socket resolves', { skip }, async (t) => {
  const file = path.join(FIXTURES, 'envoy-configs', 'envoy-demo.yaml');
  const r = decodeJson(bootstrapType, parseYaml(fs.readFileSync(file, 'utf8')));
  const cluster = ((r.value['static_resources'] as ProtoObject)['clusters'] as ProtoObject[])[0]!;
  t.match(cluster['transport_socket'], {
    name: 'envoy.transport_sockets.tls',
    typed_config: { '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext', sni: 'www.envoyproxy.io' },
  });
  t.equal(cluster['type'], 'LOGICAL_DNS', 'enum by name');
});

t.test('Istio bootstrap goldens decode; Istio-only types would be @unresolved, not errors', { skip }, async (t) => {
  const files = filesIn('istio-bootstrap', /_golden\.json$/);
  for (const file of files) {
    t.test(path.basename(file), async (t) => {
      const r = decodeJson(bootstrapType, JSON.parse(fs.readFileSync(file, 'utf8')));
      t.same(r.errors, [], 'no errors');
      t.same(r.warnings, [], 'no warnings (no field is missing from our proto version)');
      const unresolved = unresolvedAnys(r.value);
      t.comment(unresolved.length === 0 ? 'all typed_config types resolved' : `unresolved: ${unresolved.join('; ')}`);
      for (const u of unresolved) t.notMatch(u, /type\.googleapis\.com\/envoy\./, `Envoy types resolve: ${u}`);
      checkRoundTrips(t, bootstrapType, r.value);
    });
  }
});

t.test('Istio bootstrap extensions keep their TypedStruct contents as plain objects', { skip }, async (t) => {
  const file = path.join(FIXTURES, 'istio-bootstrap', 'default_golden.json');
  const r = decodeJson(bootstrapType, JSON.parse(fs.readFileSync(file, 'utf8')));
  const ext = (r.value['bootstrap_extensions'] as ProtoObject[])[0]!;
  t.strictSame(ext['typed_config'], {
    '@type': 'type.googleapis.com/udpa.type.v1.TypedStruct',
    type_url: 'type.googleapis.com/envoy.extensions.bootstrap.internal_listener.v3.InternalListener',
    value: { buffer_size_kb: 64 },
  });
  const node = r.value['node'] as ProtoObject;
  t.equal(node['id'], 'sidecar~1.2.3.4~foo~bar');
  t.equal(Object.getPrototypeOf(node['metadata']), Object.prototype, 'Struct is a plain object, not a protobufjs message');
});

t.test('Envoy Gateway xDS resources (camelCase) decode per resource type', { skip }, async (t) => {
  const files = filesIn('xds-resources', /\.ya?ml$/);
  for (const file of files) {
    const kind = path.basename(file).split('.').slice(-2)[0]!;
    const type = lookupMessage(RESOURCE_TYPES[kind]!)!;
    t.test(path.basename(file), async (t) => {
      const doc: unknown = parseYaml(fs.readFileSync(file, 'utf8'));
      const resources = Array.isArray(doc) ? doc : Object.values(doc as Record<string, unknown>);
      t.ok(resources.length > 0, `${resources.length} resources`);
      resources.forEach((resource, i) => {
        const r = decodeJson(type, resource, { path: `[${i}]` });
        t.same(r.errors, [], `resource ${i} has no errors`);
        t.same(unresolvedAnys(r.value), [], `resource ${i}: every typed_config resolves`);
        t.ok(typeof r.value['name'] === 'string' || typeof r.value['cluster_name'] === 'string', 'snake_case names in the output');
        checkRoundTrips(t, type, r.value);
        const any = encodeBinaryAny(typeUrlOf(type), r.value);
        const back = decodeAnyBinary(any);
        t.same(back.errors, []);
        t.equal(back.value['@type'], typeUrlOf(type));
      });
    });
  }
});

t.test('weighted-90-10: weights, durations and camelCase enums are normalized', { skip }, async (t) => {
  const file = path.join(FIXTURES, 'xds-resources', 'weighted-90-10.clusters.yaml');
  const cluster = decodeJson(lookupMessage(RESOURCE_TYPES['clusters']!)!, (parseYaml(fs.readFileSync(file, 'utf8')) as unknown[])[0]).value;
  t.equal(cluster['connect_timeout'], 10_000, 'connectTimeout: 10s → 10000 ms');
  t.equal(cluster['dns_lookup_family'], 'V4_PREFERRED');
  t.equal(cluster['per_connection_buffer_limit_bytes'], 32768, 'UInt32Value unwrapped');
  t.match(cluster['load_balancing_policy'], {
    policies: [{ typed_extension_config: { typed_config: { '@type': /LeastRequest$/, locality_lb_config: { locality_weighted_lb_config: {} } } } }],
  });
});
