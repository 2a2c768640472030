import t from 'tap';
import {
  CDS_TYPE_URL,
  EDS_TYPE_URL,
  LDS_TYPE_URL,
  RDS_TYPE_URL,
  SDS_TYPE_URL,
  encodeResource,
  loadFixtureResources,
  startControlPlane,
} from '../../fakes/control-plane';
import { decodeResource, namesOf, sotwStream } from './ads-test-client';

const short = (typeUrl: string): string =>
  ({ [LDS_TYPE_URL]: 'LDS', [RDS_TYPE_URL]: 'RDS', [CDS_TYPE_URL]: 'CDS', [EDS_TYPE_URL]: 'EDS', [SDS_TYPE_URL]: 'SDS' })[typeUrl] ?? typeUrl;

/** `{ 'LDS static': 2, 'LDS dynamic': 27, ... }` */
function counts(file: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of loadFixtureResources(file)) {
    const key = `${short(r.typeUrl)} ${r.origin}`;
    out[key] = (out[key] ?? 0) + 1;
  }
  return out;
}

const EXPECTED: Record<string, Record<string, number>> = {
  'xds-resources/weighted-90-10.listeners.yaml': { 'LDS dynamic': 1 },
  'xds-resources/weighted-90-10.routes.yaml': { 'RDS dynamic': 1 },
  'xds-resources/weighted-90-10.clusters.yaml': { 'CDS dynamic': 3 },
  'xds-resources/weighted-90-10.endpoints.yaml': { 'EDS dynamic': 3 },
  'xds-resources/header-match.routes.yaml': { 'RDS dynamic': 1 },
  'istio-config-dumps/sidecar-listeners.configdump.yaml': { 'LDS static': 2, 'LDS dynamic': 27 },
  'istio-config-dumps/sidecar-endpoints.configdump.json': { 'EDS static': 5, 'EDS dynamic': 32 },
  'istio-config-dumps/waypoint-full.config_dump.json': {
    'CDS static': 2,
    'CDS dynamic': 1,
    'EDS static': 1,
    'EDS dynamic': 1,
    'LDS static': 1,
    'LDS dynamic': 1,
    'RDS static': 1,
    'SDS dynamic': 2,
  },
  'istio-config-dumps/gateway-routes-clusters.http_config.json': { 'RDS dynamic': 1, 'CDS dynamic': 1 },
};

t.test('counts per fixture file', async (t) => {
  for (const [file, expected] of Object.entries(EXPECTED)) {
    const got = counts(file);
    t.comment(`${file}: ${JSON.stringify(got)}`);
    t.same(got, expected, file);
  }
});

t.test('every resource encodes (one known PGV violation in a static dump entry)', async (t) => {
  const invalid: string[] = [];
  let total = 0;
  for (const file of Object.keys(EXPECTED)) {
    for (const r of loadFixtureResources(file)) {
      total++;
      try {
        const any = encodeResource(r.typeUrl, r.value);
        t.equal(decodeResource({ type_url: any.type_url, value: any.value })['@type'], r.typeUrl);
      } catch (err) {
        invalid.push(`${file} ${short(r.typeUrl)} ${r.origin} ${r.name}: ${(err as Error).message.replace(/\s+/g, ' ')}`);
        // Served on purpose it still encodes: the proxy under test must NACK it.
        t.doesNotThrow(() => encodeResource(r.typeUrl, r.value, { allowInvalid: true }));
      }
    }
  }
  t.comment(`${total} resources encoded; strict failures: ${JSON.stringify(invalid, null, 1)}`);
  t.same(invalid, [
    'istio-config-dumps/waypoint-full.config_dump.json EDS static prometheus_stats: invalid envoy.config.endpoint.v3.ClusterLoadAssignment: endpoints[0].load_balancing_weight: value must be greater than or equal to 1',
  ]);
});

t.test('names, values and options', async (t) => {
  const clusters = loadFixtureResources('weighted-90-10.clusters.yaml');
  t.same(
    clusters.map((r) => r.name),
    ['httproute/default/http-route-a/rule/0/backend/1', 'httproute/default/http-route-b/rule/0/backend/1', 'service/default/shared-service/8080/http'],
  );
  t.match(clusters[0]!.value, { connectTimeout: '10s', type: 'EDS' });
  const eds = loadFixtureResources('sidecar-endpoints.configdump.json', { origin: 'dynamic' });
  t.equal(eds.length, 32);
  t.ok(eds.every((r) => r.name === r.value['cluster_name']));
  const listeners = loadFixtureResources('sidecar-listeners.configdump.yaml', { origin: 'dynamic' });
  t.ok(listeners.some((r) => r.name === 'virtualInbound'));
  t.ok(listeners.every((r) => r.value['@type'] === undefined), 'top-level @type dropped');
  t.ok(listeners.every((r) => typeof r.versionInfo === 'string'), 'version_info kept');
  const secrets = loadFixtureResources('waypoint-full.config_dump.json', { typeUrls: [SDS_TYPE_URL] });
  t.same(
    secrets.map((r) => r.name),
    ['default', 'ROOTCA'],
  );
  t.throws(() => loadFixtureResources('sidecar-productpage-istio-1.4.config_dump.json'), /envoy\.api\.v2\.Cluster is a v2 xDS resource/);
  t.throws(() => loadFixtureResources('no-such-file.yaml'), /not found/);
});

t.test('an Istio sidecar dump served over ADS', async (t) => {
  const cp = await startControlPlane({ versionStyle: 'istio' });
  t.teardown(() => cp.stop());
  const versions = cp.applyResources([
    ...loadFixtureResources('sidecar-listeners.configdump.yaml', { origin: 'dynamic' }),
    ...loadFixtureResources('sidecar-endpoints.configdump.json', { origin: 'dynamic' }),
  ]);
  t.same(Object.keys(versions), [EDS_TYPE_URL, LDS_TYPE_URL], 'pushed in istiod order');
  const s = sotwStream(cp.target);
  t.teardown(() => s.close());
  s.send({ type_url: LDS_TYPE_URL, node: { id: 'sidecar~10.244.0.1~productpage.default~default.svc.cluster.local' } });
  const lds = await s.next();
  t.equal(lds.resources.length, 27);
  t.ok(namesOf(lds).includes('virtualOutbound'));
  const inbound = lds.resources.map(decodeResource).find((l) => l['name'] === 'virtualInbound')!;
  t.ok((inbound['filter_chains'] as unknown[]).length > 1, 'filter chains survive the trip');
  // Istio's stats.PluginConfig is in the repository's protos/: it travels as binary and comes back whole.
  // Istio types the protos lack still travel with their type URL and an empty payload.
  const text = JSON.stringify(inbound); // Buffers render as {"type":"Buffer","data":[...]}
  t.ok(text.includes('{"@type":"type.googleapis.com/stats.PluginConfig","disable_host_header_fallback":true}'), 'istio.stats config survives the binary trip');
  t.ok(text.includes('{"@type":"type.googleapis.com/envoy.tcp.metadataexchange.config.MetadataExchange","@unresolved":true,"@bytes":{"type":"Buffer","data":[]}}'), 'an unknown Istio type: empty payload');
  s.send({ type_url: EDS_TYPE_URL, resource_names: ['outbound|9080||reviews.default.svc.cluster.local', 'nope'] });
  const eds = await s.next();
  t.same(namesOf(eds), ['outbound|9080||reviews.default.svc.cluster.local']);
});
