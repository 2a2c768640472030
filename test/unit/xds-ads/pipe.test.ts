/**
 * The Unix-socket target Istio uses (`pipe.path: ./etc/istio/proxy/XDS`): absolute and relative
 * paths, both API types.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import t from 'tap';
import { AdsClient, CLUSTER_TYPE_URL as CDS, grpcTarget } from '../../../src/xds/ads';
import { RecordingWatcher, TEST_NODE, anyOf, cluster, deltaResponse, sotwResponse, startTestAdsServer } from './ads-test-server';

t.test('grpc targets for Envoy addresses', async (t) => {
  t.equal(grpcTarget({ kind: 'tcp', host: '127.0.0.1', port: 15010 }), 'ipv4:127.0.0.1:15010');
  t.equal(grpcTarget({ kind: 'tcp', host: '::1', port: 15010 }), 'ipv6:[::1]:15010');
  t.equal(grpcTarget({ kind: 'tcp', host: 'istiod.istio-system.svc', port: 15012 }), 'dns:istiod.istio-system.svc:15012');
  t.equal(grpcTarget({ kind: 'pipe', path: './etc/istio/proxy/XDS' }), 'unix:./etc/istio/proxy/XDS');
  t.equal(grpcTarget({ kind: 'pipe', path: '/var/run/xds.sock' }), 'unix:/var/run/xds.sock');
  t.equal(grpcTarget({ kind: 'pipe', path: '@xds' }), 'unix-abstract:xds');
  t.equal(grpcTarget({ kind: 'google_grpc', targetUri: 'dns:///istiod:15010' }), 'dns:///istiod:15010');
});

for (const apiType of ['GRPC', 'DELTA_GRPC'] as const) {
  t.test(`${apiType} over a Unix socket`, async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'legate-ads-'));
    const socket = join(dir, 'XDS');
    const server = await startTestAdsServer(socket);
    const watcher = new RecordingWatcher();
    // Relative to the working directory, as Istio's bootstrap writes it.
    const path = apiType === 'GRPC' ? socket : relative(process.cwd(), socket);
    const client = new AdsClient({ target: { kind: 'pipe', path }, apiType, node: TEST_NODE, setNodeOnFirstMessageOnly: true }, watcher);
    t.teardown(async () => {
      client.close();
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    });
    client.subscribe(CDS, 'wildcard');
    client.start();
    const s = await server.nextStream();
    const first = await s.nextRequest();
    t.equal(first.type_url, CDS);
    t.equal(first.node.id, TEST_NODE['id']);
    if (apiType === 'GRPC') s.send(sotwResponse(CDS, 'v1', 'n1', [anyOf(CDS, cluster('c1'))]));
    else s.send(deltaResponse(CDS, 'n1', [{ name: 'c1', version: '1', resource: anyOf(CDS, cluster('c1')) }]));
    const ack = await s.nextRequest();
    t.equal(ack.response_nonce, 'n1');
    t.notOk('error_detail' in ack);
    t.same([...watcher.updates[0]!.update.changed.keys()], ['c1']);
    t.ok(client.connected);
  });
}
