/**
 * The ADS client against the shared fake control plane (test/fakes/control-plane): the full
 * CDS → EDS flow, updates, removal, a NACKed resource, and a control-plane crash and restart,
 * for both API types. The other tests use a server they script byte by byte; this one checks
 * that two independent implementations of the protocol agree.
 */
import t from 'tap';
import { AdsClient, CLUSTER_LOAD_ASSIGNMENT_TYPE_URL as EDS, CLUSTER_TYPE_URL as CDS } from '../../../src/xds/ads';
import { startControlPlane } from '../../fakes/control-plane';
import { RecordingWatcher, TEST_NODE } from './ads-test-server';

const clusterJson = (connectTimeout = '1s'): Record<string, unknown> => ({ connect_timeout: connectTimeout, type: 'EDS', eds_cluster_config: { eds_config: { ads: {} } } });
const claJson = (port: number): Record<string, unknown> => ({ endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: port } } } }] }] });

for (const apiType of ['GRPC', 'DELTA_GRPC'] as const) {
  t.test(`${apiType}: CDS → EDS, update, removal, NACK, restart`, async (t) => {
    const cp = await startControlPlane();
    t.teardown(() => cp.stop());
    cp.setResources(CDS, [{ name: 'c1', value: clusterJson() }]);
    cp.setResources(EDS, [{ name: 'c1', value: claJson(8080) }, { name: 'c2', value: claJson(8081) }]);

    const watcher = new RecordingWatcher();
    const clusters = new Set<string>();
    watcher.reply = (typeUrl, u) => {
      if (typeUrl === CDS) {
        for (const n of u.changed.keys()) clusters.add(n);
        for (const n of u.removed) clusters.delete(n);
        client.subscribe(EDS, [...clusters]);
      }
      return [];
    };
    const client = new AdsClient({
      target: { kind: 'tcp', host: '127.0.0.1', port: cp.port },
      apiType,
      node: TEST_NODE,
      setNodeOnFirstMessageOnly: true,
      initialBackoffMs: 20,
      maxBackoffMs: 200,
    }, watcher);
    t.teardown(() => client.close());
    client.subscribe(CDS, 'wildcard');
    client.start();

    await cp.waitForAck(CDS);
    await cp.waitForAck(EDS);
    t.same(client.status(EDS).resources.map((r) => [r.name, r.clientStatus]), [['c1', 'ACKED']], 'only the EDS of known clusters');
    t.equal(cp.lastNode?.['id'], TEST_NODE['id']);
    t.equal(client.controlPlaneIdentifier, 'legate-fake-control-plane');

    cp.setResource(CDS, 'c2', clusterJson());
    await cp.waitForAck(CDS);
    await cp.waitForAck(EDS);
    const cdsUpdates = watcher.updates.filter((u) => u.typeUrl === CDS);
    t.same([...cdsUpdates.at(-1)!.update.changed.keys()], ['c2'], 'c1 unchanged, not handed over again');
    await watcher.until(() => client.status(EDS).resources.length === 2);

    cp.removeResource(CDS, 'c1');
    await cp.waitForAck(CDS);
    t.same(watcher.updates.filter((u) => u.typeUrl === CDS).at(-1)!.update.removed, ['c1']);
    t.same([...clusters], ['c2']);

    const before = watcher.updates.length;
    cp.setRawResource(CDS, 'bad', Buffer.from('definitely not a cluster'));
    const nack = await cp.waitForNack(CDS);
    t.match(nack.message, /resource index \d+: Cluster 'bad'|resource index \d+: Cluster:/);
    t.equal(watcher.updates.length, before, 'the rejected response was not applied');
    cp.removeResource(CDS, 'bad');
    await cp.waitForAck(CDS);

    const streams = cp.totalStreams;
    const versionBefore = client.status(CDS).versionInfo;
    await cp.restart({ abrupt: true, downMs: 100 });
    const resumed = await cp.waitForRequest((r) => r.typeUrl === CDS && r.stream > streams, 5000, 'CDS request on a new stream');
    if (apiType === 'GRPC') t.equal(resumed.versionInfo, versionBefore, 'SotW resumes from the accepted version');
    else t.same(Object.keys(resumed.initialResourceVersions ?? {}), ['c2'], 'delta offers the held versions');
    t.ok(resumed.node !== undefined, 'node on the first request of the new stream');
    await cp.waitForAck(CDS);
    await watcher.until(() => client.connected);
    t.same(client.status(CDS).resources.map((r) => r.name), ['c2']);
  });
}
