/**
 * State-of-the-world ADS against a real grpc-js server: node, ACK, NACK, subscription changes,
 * removal semantics, malformed resources.
 */
import t from 'tap';
import { AdsClient, CLUSTER_LOAD_ASSIGNMENT_TYPE_URL as EDS, CLUSTER_TYPE_URL as CDS, LISTENER_TYPE_URL as LDS, NACK_STATUS_CODE, RESOURCE_WRAPPER_TYPE_URL, ROUTE_CONFIGURATION_TYPE_URL as RDS } from '../../../src/xds/ads';
import { discoveryTypes } from '../../../src/xds/ads/discovery-messages';
import { RecordingWatcher, TEST_NODE, anyOf, cluster, loadAssignment, routeConfig, sotwResponse, startTestAdsServer, type TestAdsServer } from './ads-test-server';

async function setup(t: tap.Test, opts: { setNodeOnFirstMessageOnly?: boolean } = {}): Promise<{ server: TestAdsServer; client: AdsClient; watcher: RecordingWatcher }> {
  const server = await startTestAdsServer();
  const watcher = new RecordingWatcher();
  const client = new AdsClient({
    target: { kind: 'tcp', host: '127.0.0.1', port: server.port },
    apiType: 'GRPC',
    node: TEST_NODE,
    setNodeOnFirstMessageOnly: opts.setNodeOnFirstMessageOnly ?? true,
    initialBackoffMs: 20,
    maxBackoffMs: 100,
  }, watcher);
  t.teardown(async () => {
    client.close();
    await server.close();
  });
  return { server, client, watcher };
}

t.test('node on the first request of the stream only, with user agent added', async (t) => {
  const { server, client } = await setup(t);
  client.subscribe(CDS, 'wildcard');
  client.subscribe(LDS, 'wildcard');
  client.start();
  const s = await server.nextStream();
  const first = await s.nextRequest();
  t.equal(first.type_url, CDS, 'types go out in subscription order');
  t.equal(first.node.id, TEST_NODE['id']);
  t.equal(first.node.cluster, 'app.ns');
  t.same(first.node.metadata, TEST_NODE['metadata']);
  t.equal(first.node.user_agent_name, 'legate');
  t.type(first.node.user_agent_version, 'string');
  t.notOk('resource_names' in first, 'wildcard = no names');
  t.notOk('version_info' in first);
  t.notOk('response_nonce' in first);
  const second = await s.nextRequest();
  t.equal(second.type_url, LDS);
  t.notOk('node' in second, 'set_node_on_first_message_only drops node after the first request');
});

t.test('node on every request without set_node_on_first_message_only; given user agent kept', async (t) => {
  const server = await startTestAdsServer();
  const client = new AdsClient({
    target: { kind: 'tcp', host: '127.0.0.1', port: server.port }, apiType: 'GRPC',
    node: { id: 'n1', user_agent_name: 'custom', user_agent_build_version: { version: { major_number: 1 } } },
    setNodeOnFirstMessageOnly: false,
  }, new RecordingWatcher());
  t.teardown(async () => { client.close(); await server.close(); });
  client.start();
  client.subscribe(CDS, 'wildcard');
  client.subscribe(LDS, 'wildcard');
  const s = await server.nextStream();
  const a = await s.nextRequest();
  const b = await s.nextRequest();
  t.equal(a.node.id, 'n1');
  t.equal(b.node.id, 'n1');
  t.equal(a.node.user_agent_name, 'custom');
  t.notOk('user_agent_version' in a.node, 'the oneof already holds user_agent_build_version');
});

t.test('ACK carries the response version and nonce; the watcher sees the resources once', async (t) => {
  const { server, client, watcher } = await setup(t);
  client.start();
  client.subscribe(CDS, 'wildcard');
  const s = await server.nextStream();
  await s.nextRequest();
  s.send(sotwResponse(CDS, 'v1', 'n1', [anyOf(CDS, cluster('c1')), anyOf(CDS, cluster('c2'))]));
  const ack = await s.nextRequest();
  t.equal(ack.version_info, 'v1');
  t.equal(ack.response_nonce, 'n1');
  t.notOk('error_detail' in ack);
  t.equal(watcher.updates.length, 1);
  const u = watcher.updates[0]!.update;
  t.same([...u.changed.keys()].sort(), ['c1', 'c2']);
  t.equal(u.changed.get('c1')!.version, 'v1');
  t.equal(u.changed.get('c1')!.resource['@type'], CDS);
  t.equal(u.changed.get('c1')!.resource['connect_timeout'], 1000, 'normalized: durations in ms');
  t.equal(u.version, 'v1');
  t.equal(u.isFullState, true);
  t.ok(client.connected);
  const st = client.status(CDS);
  t.equal(st.versionInfo, 'v1');
  t.equal(st.lastAckedNonce, 'n1');
  t.same(st.resources.map((r) => [r.name, r.clientStatus, r.version]), [['c1', 'ACKED', 'v1'], ['c2', 'ACKED', 'v1']]);
  t.same(watcher.acks, [{ typeUrl: CDS, rejected: false, version: 'v1' }]);
});

t.test('NACK: previous version, this nonce, error_detail; nothing applied; later ACK', async (t) => {
  const { server, client, watcher } = await setup(t);
  client.start();
  client.subscribe(CDS, 'wildcard');
  const s = await server.nextStream();
  await s.nextRequest();
  // First response rejected: the previous version is the empty initial one.
  watcher.reply = () => ["resource 'c1': lb_policy: RING_HASH unsupported", "resource 'c2': bad"];
  s.send(sotwResponse(CDS, 'v1', 'n1', [anyOf(CDS, cluster('c1')), anyOf(CDS, cluster('c2'))]));
  const nack1 = await s.nextRequest();
  t.notOk('version_info' in nack1, 'no version accepted yet');
  t.equal(nack1.response_nonce, 'n1');
  t.equal(nack1.error_detail.code, NACK_STATUS_CODE);
  t.equal(nack1.error_detail.message, "resource 'c1': lb_policy: RING_HASH unsupported\nresource 'c2': bad");
  t.same(client.status(CDS).resources.map((r) => r.clientStatus), ['NACKED', 'NACKED']);

  watcher.reply = () => [];
  s.send(sotwResponse(CDS, 'v2', 'n2', [anyOf(CDS, cluster('c1'))]));
  const ack = await s.nextRequest();
  t.equal(ack.version_info, 'v2');
  t.equal(ack.response_nonce, 'n2');
  t.notOk('error_detail' in ack);
  t.same([...watcher.updates[1]!.update.changed.keys()], ['c1'], 'the rejected response left nothing behind: c1 is new again');

  watcher.reply = () => ['no'];
  s.send(sotwResponse(CDS, 'v3', 'n3', [anyOf(CDS, cluster('c1', 2000))]));
  const nack2 = await s.nextRequest();
  t.equal(nack2.version_info, 'v2', 'NACK carries the last accepted version');
  t.equal(nack2.response_nonce, 'n3');
  const st = client.status(CDS);
  t.equal(st.versionInfo, 'v2');
  t.equal(st.lastNack?.versionInfo, 'v3');
  t.equal(st.lastNack?.details, 'no');
  t.equal(st.resources[0]?.clientStatus, 'NACKED');
  t.equal(st.resources[0]?.version, 'v2', 'the applied copy stays in service');
  t.equal(st.nacks, 2);
  t.equal(st.acks, 1);

  // A throwing watcher is a NACK too, never an escaped exception.
  watcher.reply = () => { throw new Error('boom'); };
  s.send(sotwResponse(CDS, 'v4', 'n4', [anyOf(CDS, cluster('c1', 3000))]));
  const nack3 = await s.nextRequest();
  t.match(nack3.error_detail.message, /boom/);
  t.equal(nack3.version_info, 'v2');
});

t.test('subscription change: new request with the current version and latest nonce', async (t) => {
  const { server, client, watcher } = await setup(t);
  client.start();
  client.subscribe(EDS, ['b', 'a']);
  const s = await server.nextStream();
  const first = await s.nextRequest();
  t.same(first.resource_names, ['a', 'b'], 'sorted, deduplicated');
  s.send(sotwResponse(EDS, 'e1', 'n1', [anyOf(EDS, loadAssignment('a'))]));
  await s.nextRequest();
  client.subscribe(EDS, ['a', 'b', 'c']);
  const change = await s.nextRequest();
  t.equal(change.version_info, 'e1');
  t.equal(change.response_nonce, 'n1');
  t.same(change.resource_names, ['a', 'b', 'c']);
  t.notOk('error_detail' in change);
  client.subscribe(EDS, ['c', 'b', 'a']);
  t.ok(await s.quietFor(150), 'the same interest sends nothing');
  client.subscribe(EDS, []);
  const none = await s.nextRequest();
  t.notOk('resource_names' in none, 'unsubscribe all = empty list');
  t.equal(none.response_nonce, 'n1');
  t.equal(watcher.updates.length, 1);
});

t.test('SotW removal: complete sets for CDS, nothing implied for EDS; unchanged bytes skipped', async (t) => {
  const { server, client, watcher } = await setup(t);
  client.start();
  client.subscribe(CDS, 'wildcard');
  client.subscribe(EDS, ['c1', 'c2']);
  const s = await server.nextStream();
  await s.nextRequest();
  await s.nextRequest();

  s.send(sotwResponse(CDS, 'v1', 'n1', [anyOf(CDS, cluster('c1')), anyOf(CDS, cluster('c2'))]));
  await s.nextRequest();
  s.send(sotwResponse(CDS, 'v2', 'n2', [anyOf(CDS, cluster('c1'))]));
  await s.nextRequest();
  const cds2 = watcher.updates[1]!.update;
  t.same(cds2.removed, ['c2'], 'CDS: a known cluster missing from the full set is removed');
  t.equal(cds2.changed.size, 0, 'c1 is byte-identical: not handed over again');
  t.equal(cds2.isFullState, true);
  t.same(client.status(CDS).resources.map((r) => r.name), ['c1']);
  t.equal(client.status(CDS).resources[0]!.version, 'v1', 'an unchanged resource keeps the version it arrived with');

  s.send(sotwResponse(CDS, 'v3', 'n3', []));
  await s.nextRequest();
  t.same(watcher.updates[2]!.update.removed, ['c1'], 'an empty CDS response deletes everything');

  s.send(sotwResponse(EDS, 'e1', 'm1', [anyOf(EDS, loadAssignment('c1')), anyOf(EDS, loadAssignment('c2'))]));
  await s.nextRequest();
  s.send(sotwResponse(EDS, 'e2', 'm2', [anyOf(EDS, loadAssignment('c1', 9090))]));
  await s.nextRequest();
  const eds2 = watcher.updates[4]!.update;
  t.same(eds2.removed, [], 'EDS: absence means nothing');
  t.equal(eds2.isFullState, false);
  t.same([...eds2.changed.keys()], ['c1']);
  s.send(sotwResponse(EDS, 'e3', 'm3', []));
  const ack = await s.nextRequest();
  t.equal(ack.version_info, 'e3', 'an empty EDS response is a no-op, still ACKed');
  t.same(watcher.updates[5]!.update.removed, []);
  t.same(client.status(EDS).resources.map((r) => r.name), ['c1', 'c2']);
});

t.test('malformed resources are NACKed by index and name; the watcher is not called; no throw', async (t) => {
  const { server, client, watcher } = await setup(t);
  client.start();
  client.subscribe(CDS, 'wildcard');
  const s = await server.nextStream();
  await s.nextRequest();

  // Garbage bytes in an Any.
  s.send(sotwResponse(CDS, 'v1', 'n1', [anyOf(CDS, cluster('ok')), { type_url: CDS, value: Buffer.from([0xff, 0xff, 0xff, 0x01, 0x02]) }]));
  const n1 = await s.nextRequest();
  t.equal(n1.response_nonce, 'n1');
  t.match(n1.error_detail.message, /^resource index 1: Cluster: invalid protobuf bytes/);

  // An Any of another type.
  s.send(sotwResponse(CDS, 'v2', 'n2', [anyOf(LDS, { name: 'l1' })]));
  const n2 = await s.nextRequest();
  t.match(n2.error_detail.message, /resource index 0: Cluster: type URL type.googleapis.com\/envoy.config.listener.v3.Listener does not match/);

  // A duplicate name.
  s.send(sotwResponse(CDS, 'v3', 'n3', [anyOf(CDS, cluster('x')), anyOf(CDS, cluster('x', 2000))]));
  const n3 = await s.nextRequest();
  t.match(n3.error_detail.message, /resource index 1: Cluster 'x': duplicate resource name/);

  // A PGV violation names the field.
  s.send(sotwResponse(CDS, 'v4', 'n4', [anyOf(CDS, { name: 'neg', connect_timeout: -5 })]));
  const n4 = await s.nextRequest();
  t.match(n4.error_detail.message, /resource index 0: Cluster 'neg': connect_timeout: value must be greater than 0s/);

  t.equal(watcher.updates.length, 0, 'nothing reached the watcher');
  t.equal(client.status(CDS).versionInfo, '');
  t.ok(client.connected, 'the stream survived');

  s.send(sotwResponse(CDS, 'v5', 'n5', [anyOf(CDS, cluster('ok'))]));
  const ack = await s.nextRequest();
  t.equal(ack.version_info, 'v5');
});

t.test('Resource wrappers are unwrapped; unrequested resources ignored; foreign types dropped', async (t) => {
  const { server, client, watcher } = await setup(t);
  client.start();
  client.subscribe(RDS, ['r1']);
  const s = await server.nextStream();
  await s.nextRequest();
  const resourceType = discoveryTypes().resource;
  const inner = anyOf(RDS, routeConfig('r1'));
  const wrapped = { type_url: RESOURCE_WRAPPER_TYPE_URL, value: resourceType.encode(resourceType.fromObject({ name: 'r1', version: '7', resource: inner })).finish() };
  s.send(sotwResponse(RDS, 'v1', 'n1', [wrapped, anyOf(RDS, routeConfig('other'))]));
  const ack = await s.nextRequest();
  t.equal(ack.version_info, 'v1');
  t.same([...watcher.updates[0]!.update.changed.keys()], ['r1'], 'the unrequested route config is ignored');
  t.equal(watcher.updates[0]!.update.changed.get('r1')!.resource['name'], 'r1');

  // A response for a type never subscribed is dropped without an answer (as Envoy does).
  s.send(sotwResponse(EDS, 'x', 'nx', [anyOf(EDS, loadAssignment('a'))]));
  t.ok(await s.quietFor(200));
  t.equal(watcher.updates.length, 1);
});

t.test('the watcher may subscribe from onUpdate: other types go out at once, its own type rides on the ACK', async (t) => {
  const { server, client, watcher } = await setup(t);
  client.start();
  client.subscribe(CDS, 'wildcard');
  const s = await server.nextStream();
  await s.nextRequest();
  watcher.reply = (typeUrl, u) => {
    if (typeUrl === CDS) client.subscribe(EDS, [...u.changed.keys()]);
    if (typeUrl === EDS) client.subscribe(EDS, ['c1']);
    return [];
  };
  s.send(sotwResponse(CDS, 'v1', 'n1', [anyOf(CDS, cluster('c1')), anyOf(CDS, cluster('c2'))]));
  const eds = await s.nextRequest();
  t.equal(eds.type_url, EDS, 'EDS request first (sent during the CDS update)');
  t.same(eds.resource_names, ['c1', 'c2']);
  const cdsAck = await s.nextRequest();
  t.equal(cdsAck.type_url, CDS);
  t.equal(cdsAck.version_info, 'v1');

  s.send(sotwResponse(EDS, 'e1', 'm1', [anyOf(EDS, loadAssignment('c1')), anyOf(EDS, loadAssignment('c2'))]));
  const edsAck = await s.nextRequest();
  t.equal(edsAck.version_info, 'e1');
  t.equal(edsAck.response_nonce, 'm1');
  t.same(edsAck.resource_names, ['c1'], 'the narrowed interest is in the ACK itself');
  t.ok(await s.quietFor(150), 'and no separate request');
});

t.test('explicit empty interest: an empty response is accepted, a non-empty one re-requested', async (t) => {
  const { server, client, watcher } = await setup(t);
  client.start();
  client.subscribe(EDS, ['a']);
  const s = await server.nextStream();
  await s.nextRequest();
  client.subscribe(EDS, []);
  await s.nextRequest();
  s.send(sotwResponse(EDS, 'e1', 'm1', [anyOf(EDS, loadAssignment('a'))]));
  const r1 = await s.nextRequest();
  t.notOk('version_info' in r1, 'not accepted');
  t.notOk('error_detail' in r1);
  s.send(sotwResponse(EDS, 'e2', 'm2', []));
  const r2 = await s.nextRequest();
  t.equal(r2.version_info, 'e2');
  t.equal(watcher.updates.length, 0);
});
