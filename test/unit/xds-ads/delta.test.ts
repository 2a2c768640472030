/**
 * Incremental ADS against a real grpc-js server: initial subscriptions, ACK/NACK by nonce,
 * subscribe/unsubscribe diffs, removals, "does not exist", heartbeats.
 */
import t from 'tap';
import { AdsClient, CLUSTER_LOAD_ASSIGNMENT_TYPE_URL as EDS, CLUSTER_TYPE_URL as CDS, NACK_STATUS_CODE } from '../../../src/xds/ads';
import { RecordingWatcher, TEST_NODE, anyOf, cluster, deltaResponse, loadAssignment, startTestAdsServer, type TestAdsServer, type TestAdsStream } from './ads-test-server';

async function setup(t: tap.Test): Promise<{ server: TestAdsServer; client: AdsClient; watcher: RecordingWatcher; s: TestAdsStream }> {
  const server = await startTestAdsServer();
  const watcher = new RecordingWatcher();
  const client = new AdsClient({
    target: { kind: 'tcp', host: '127.0.0.1', port: server.port },
    apiType: 'DELTA_GRPC',
    node: TEST_NODE,
    setNodeOnFirstMessageOnly: true,
    initialBackoffMs: 20,
    maxBackoffMs: 100,
  }, watcher);
  t.teardown(async () => {
    client.close();
    await server.close();
  });
  client.subscribe(CDS, 'wildcard');
  client.subscribe(EDS, ['b', 'a']);
  client.start();
  const s = await server.nextStream();
  return { server, client, watcher, s };
}

t.test('initial requests: wildcard with no names, explicit names subscribed, node once', async (t) => {
  const { s } = await setup(t);
  const cds = await s.nextRequest();
  t.equal(cds.type_url, CDS);
  t.equal(cds.node.id, TEST_NODE['id']);
  t.equal(cds.node.user_agent_name, 'legate');
  t.notOk('resource_names_subscribe' in cds, 'legacy wildcard: no names at all');
  t.notOk('response_nonce' in cds);
  t.notOk('initial_resource_versions' in cds, 'nothing held yet');
  const eds = await s.nextRequest();
  t.equal(eds.type_url, EDS);
  t.same(eds.resource_names_subscribe, ['a', 'b']);
  t.notOk('node' in eds);
});

t.test('ACK is the nonce alone; resources arrive with their own versions', async (t) => {
  const { s, watcher, client } = await setup(t);
  await s.nextRequest();
  await s.nextRequest();
  s.send(deltaResponse(CDS, 'n1', [
    { name: 'c1', version: '1', resource: anyOf(CDS, cluster('c1')) },
    { name: 'c2', version: '7', resource: anyOf(CDS, cluster('c2')) },
  ], [], 'sys1'));
  const ack = await s.nextRequest();
  t.same(ack, { type_url: CDS, response_nonce: 'n1' }, 'no version_info in delta, no names');
  const u = watcher.updates[0]!.update;
  t.equal(u.changed.get('c1')!.version, '1');
  t.equal(u.changed.get('c2')!.version, '7');
  t.equal(u.version, 'sys1');
  t.equal(u.isFullState, false);
  t.same(u.removed, []);
  const st = client.status(CDS);
  t.equal(st.versionInfo, 'sys1');
  t.equal(st.lastAckedNonce, 'n1');
  t.same(st.resources.map((r) => [r.name, r.clientStatus, r.version]), [['c1', 'ACKED', '1'], ['c2', 'ACKED', '7']]);
});

t.test('subscribe/unsubscribe diffs go out as separate requests without a nonce', async (t) => {
  const { s, client } = await setup(t);
  await s.nextRequest();
  await s.nextRequest();
  s.send(deltaResponse(EDS, 'n1', [{ name: 'a', version: '1', resource: anyOf(EDS, loadAssignment('a')) }]));
  await s.nextRequest();
  client.subscribe(EDS, ['a', 'c']);
  const diff = await s.nextRequest();
  t.same(diff.resource_names_subscribe, ['c']);
  t.same(diff.resource_names_unsubscribe, ['b']);
  t.notOk('response_nonce' in diff, 'a spontaneous request carries no nonce');
  t.notOk('error_detail' in diff);
  t.notOk('node' in diff);
  client.subscribe(EDS, []);
  const all = await s.nextRequest();
  t.same(all.resource_names_unsubscribe, ['a', 'c']);
  t.notOk('resource_names_subscribe' in all);
  t.same(client.status(EDS).resources, [], 'dropped names are forgotten');
  // Re-subscribing to a dropped name must bring it back even though it did not change.
  client.subscribe(EDS, ['a']);
  const again = await s.nextRequest();
  t.same(again.resource_names_subscribe, ['a']);
  t.same(client.status(EDS).resources.map((r) => [r.name, r.clientStatus]), [['a', 'REQUESTED']]);
});

t.test('removed_resources and bodiless resources: removed, DOES_NOT_EXIST when still wanted', async (t) => {
  const { s, watcher, client } = await setup(t);
  await s.nextRequest();
  await s.nextRequest();
  s.send(deltaResponse(EDS, 'n1', [
    { name: 'a', version: '1', resource: anyOf(EDS, loadAssignment('a')) },
    { name: 'b', version: '' }, // subscribed, but the server has no such resource
  ]));
  await s.nextRequest();
  const u1 = watcher.updates[0]!.update;
  t.same([...u1.changed.keys()], ['a']);
  t.same(u1.removed, ['b'], 'does-not-exist is reported as a removal');
  t.same(client.status(EDS).resources.map((r) => [r.name, r.clientStatus]), [['a', 'ACKED'], ['b', 'DOES_NOT_EXIST']]);

  s.send(deltaResponse(EDS, 'n2', [], ['a']));
  await s.nextRequest();
  t.same(watcher.updates[1]!.update.removed, ['a']);
  t.same(client.status(EDS).resources.map((r) => [r.name, r.clientStatus]), [['a', 'DOES_NOT_EXIST'], ['b', 'DOES_NOT_EXIST']]);

  s.send(deltaResponse(CDS, 'n3', [{ name: 'c1', version: '1', resource: anyOf(CDS, cluster('c1')) }]));
  await s.nextRequest();
  s.send(deltaResponse(CDS, 'n4', [], ['c1']));
  await s.nextRequest();
  t.same(watcher.updates[3]!.update.removed, ['c1']);
  t.same(client.status(CDS).resources, [], 'under wildcard a removed resource is simply gone');
});

t.test('heartbeats and repeated unchanged resources change nothing', async (t) => {
  const { s, watcher, client } = await setup(t);
  await s.nextRequest();
  await s.nextRequest();
  s.send(deltaResponse(CDS, 'n1', [{ name: 'c1', version: '1', resource: anyOf(CDS, cluster('c1')) }]));
  await s.nextRequest();
  s.send(deltaResponse(CDS, 'n2', [{ name: 'c1', version: '1' }]));
  await s.nextRequest();
  t.equal(watcher.updates[1]!.update.changed.size, 0, 'bodiless resource at the held version = heartbeat');
  t.same(watcher.updates[1]!.update.removed, []);
  s.send(deltaResponse(CDS, 'n3', [{ name: 'c1', version: '2', resource: anyOf(CDS, cluster('c1')) }]));
  await s.nextRequest();
  t.equal(watcher.updates[2]!.update.changed.size, 0, 'same bytes, new version: not handed over again');
  t.equal(client.status(CDS).resources[0]!.version, '2', 'but the held version moves');
});

t.test('NACK: nonce and error_detail; nothing applied; duplicates and bad bytes named', async (t) => {
  const { s, watcher, client } = await setup(t);
  await s.nextRequest();
  await s.nextRequest();
  watcher.reply = () => ["Cluster 'c1': bad"];
  s.send(deltaResponse(CDS, 'n1', [{ name: 'c1', version: '1', resource: anyOf(CDS, cluster('c1')) }]));
  const nack = await s.nextRequest();
  t.equal(nack.response_nonce, 'n1');
  t.same(nack.error_detail, { code: NACK_STATUS_CODE, message: "Cluster 'c1': bad" });
  t.same(client.status(CDS).resources.map((r) => [r.name, r.clientStatus, r.version]), [['c1', 'NACKED', '']]);
  watcher.reply = () => [];

  const before = watcher.updates.length;
  s.send(deltaResponse(CDS, 'n2', [
    { name: 'c1', version: '1', resource: anyOf(CDS, cluster('c1')) },
    { name: 'c1', version: '2', resource: anyOf(CDS, cluster('c1')) },
  ]));
  t.match((await s.nextRequest()).error_detail.message, /resource index 1: Cluster 'c1': duplicate name/);
  s.send(deltaResponse(CDS, 'n3', [{ name: 'c9', version: '1', resource: anyOf(CDS, cluster('c9')) }], ['c9']));
  t.match((await s.nextRequest()).error_detail.message, /removed resource 'c9': duplicate name found in the union/);
  s.send(deltaResponse(CDS, 'n4', [{ name: 'g', version: '1', resource: { type_url: CDS, value: Buffer.from('garbage!') } }]));
  const bad = await s.nextRequest();
  t.match(bad.error_detail.message, /^resource index 0: Cluster 'g': /);
  t.equal(bad.response_nonce, 'n4');
  t.equal(watcher.updates.length, before, 'malformed responses never reach the watcher');
  t.ok(client.connected);

  s.send(deltaResponse(CDS, 'n5', [{ name: 'c1', version: '1', resource: anyOf(CDS, cluster('c1')) }]));
  t.same(await s.nextRequest(), { type_url: CDS, response_nonce: 'n5' });
  t.equal(client.status(CDS).nacks, 4);
});

t.test('a subscription change made while applying rides on the ACK', async (t) => {
  const { s, watcher, client } = await setup(t);
  await s.nextRequest();
  await s.nextRequest();
  watcher.reply = (typeUrl) => {
    if (typeUrl === EDS) client.subscribe(EDS, ['a', 'z']);
    return [];
  };
  s.send(deltaResponse(EDS, 'n1', [{ name: 'a', version: '1', resource: anyOf(EDS, loadAssignment('a')) }]));
  const ack = await s.nextRequest();
  t.equal(ack.response_nonce, 'n1');
  t.same(ack.resource_names_subscribe, ['z']);
  t.same(ack.resource_names_unsubscribe, ['b']);
  t.ok(await s.quietFor(150), 'no separate request');
});
