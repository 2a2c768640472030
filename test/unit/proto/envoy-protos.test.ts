import t from 'tap';
import { envoyRoot, envoyRootInfo, lookupByTypeUrl, lookupMessage, typeUrlOf } from '../../../src/proto/envoy-protos';

t.test('envoyRoot loads once and reports what it skipped', async (t) => {
  const started = performance.now();
  const root = envoyRoot();
  const firstMs = performance.now() - started;
  t.equal(envoyRoot(), root, 'same Root on every call');
  const info = envoyRootInfo();
  t.comment(`envoyRoot(): ${info.loadedFiles} files in ${info.loadMs.toFixed(0)} ms (first call ${firstMs.toFixed(0)} ms)`);
  t.ok(info.loadedFiles > 300, 'hundreds of v3 files loaded');
  t.ok(info.loadMs > 0, 'the load time is recorded (its cost is measured in bench/, not asserted here)');
  // Only files whose imports are not shipped (opencensus, opentelemetry, prometheus) are left out.
  t.ok(info.skippedFiles.length > 0 && info.skippedFiles.length < 10, `skipped: ${info.skippedFiles.join(', ')}`);
  for (const m of info.missingImports) t.match(m, /^(opencensus|opentelemetry|io\/prometheus)\//);
});

t.test('lookupMessage finds Envoy, xDS, well-known and repository types', async (t) => {
  for (const name of [
    'envoy.config.bootstrap.v3.Bootstrap',
    'envoy.config.cluster.v3.Cluster',
    '.envoy.config.listener.v3.Listener',
    'envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
    'envoy.service.discovery.v3.DiscoveryResponse',
    'xds.type.v3.TypedStruct',
    'udpa.type.v1.TypedStruct',
    'google.protobuf.Duration',
    'google.protobuf.Any',
    'legate.test.EchoRequest',
  ]) {
    t.ok(lookupMessage(name), name);
  }
  t.equal(lookupMessage('envoy.config.cluster.v3.Cluster')!.fullName, '.envoy.config.cluster.v3.Cluster');
});

t.test('unknown names and non-messages give undefined', async (t) => {
  t.equal(lookupMessage('no.such.Type'), undefined);
  t.equal(lookupMessage(''), undefined);
  t.equal(lookupMessage('envoy.config.cluster.v3'), undefined, 'a package');
  t.equal(lookupMessage('envoy.config.cluster.v3.Cluster.LbPolicy'), undefined, 'an enum');
});

t.test('lookupByTypeUrl ignores any host prefix up to the last slash', async (t) => {
  const cluster = lookupMessage('envoy.config.cluster.v3.Cluster');
  t.equal(lookupByTypeUrl('type.googleapis.com/envoy.config.cluster.v3.Cluster'), cluster);
  t.equal(lookupByTypeUrl('example.com/some/path/envoy.config.cluster.v3.Cluster'), cluster);
  t.equal(lookupByTypeUrl('envoy.config.cluster.v3.Cluster'), cluster);
  t.equal(lookupByTypeUrl('type.googleapis.com/istio.unknown.v1.Thing'), undefined);
  t.equal(typeUrlOf(cluster!), 'type.googleapis.com/envoy.config.cluster.v3.Cluster');
});
