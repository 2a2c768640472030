/**
 * Stream loss: reconnect with Envoy's jittered exponential backoff (reset by a response),
 * resubscription with the last accepted versions (SotW version_info, delta
 * initial_resource_versions), config kept across the gap, connect timeout, undecodable messages.
 */
import * as grpc from '@grpc/grpc-js';
import t from 'tap';
import { AdsClient, CLUSTER_LOAD_ASSIGNMENT_TYPE_URL as EDS, CLUSTER_TYPE_URL as CDS, type AdsClientOptions } from '../../../src/xds/ads';
import { closedPort, startSilentTcpServer } from '../pool/pool-test-helpers';
import { RecordingWatcher, TEST_NODE, anyOf, cluster, deltaResponse, loadAssignment, sotwResponse, startTestAdsServer } from './ads-test-server';

function client(t: tap.Test, port: number, watcher: RecordingWatcher, extra: Partial<AdsClientOptions> = {}): AdsClient {
  const c = new AdsClient({
    target: { kind: 'tcp', host: '127.0.0.1', port },
    apiType: 'GRPC',
    node: TEST_NODE,
    setNodeOnFirstMessageOnly: true,
    initialBackoffMs: 20,
    maxBackoffMs: 100,
    ...extra,
  }, watcher);
  t.teardown(() => c.close());
  return c;
}

t.test('SotW: after the server drops the stream, every type is resent with its accepted version', async (t) => {
  const server = await startTestAdsServer();
  t.teardown(() => server.close());
  const watcher = new RecordingWatcher();
  const c = client(t, server.port, watcher);
  c.subscribe(CDS, 'wildcard');
  c.subscribe(EDS, ['a']);
  c.start();
  const s1 = await server.nextStream();
  await s1.nextRequest();
  await s1.nextRequest();
  s1.send(sotwResponse(CDS, 'v1', 'n1', [anyOf(CDS, cluster('c1'))]));
  await s1.nextRequest();
  s1.send(sotwResponse(EDS, 'e1', 'm1', [anyOf(EDS, loadAssignment('a'))]));
  await s1.nextRequest();
  await watcher.until(() => watcher.connection.length === 1);

  s1.end(grpc.status.UNAVAILABLE, 'going away');
  const s2 = await server.nextStream();
  const cds = await s2.nextRequest();
  t.equal(cds.type_url, CDS);
  t.equal(cds.version_info, 'v1', 'the last accepted version');
  t.notOk('response_nonce' in cds, 'nonces belong to the old stream');
  t.equal(cds.node?.id, TEST_NODE['id'], 'node again: first request of the new stream');
  const eds = await s2.nextRequest();
  t.equal(eds.version_info, 'e1');
  t.same(eds.resource_names, ['a']);
  t.notOk('response_nonce' in eds);
  t.notOk('node' in eds);

  await watcher.until(() => watcher.connection.length === 3);
  t.same(watcher.connection, [true, false, true]);
  t.equal(watcher.updates.length, 2, 'nothing was withdrawn from the watcher during the gap');
  t.equal(c.status(CDS).versionInfo, 'v1');
  t.ok(c.streamCount >= 2, 'a second stream was opened');

  // The server restates the world; unchanged resources are not handed over again.
  s2.send(sotwResponse(CDS, 'v1', 'n9', [anyOf(CDS, cluster('c1'))]));
  const ack = await s2.nextRequest();
  t.equal(ack.response_nonce, 'n9');
  t.equal(watcher.updates[2]!.update.changed.size, 0);
  t.same(watcher.updates[2]!.update.removed, []);
});

t.test('delta: the new stream lists every held version in initial_resource_versions', async (t) => {
  const server = await startTestAdsServer();
  t.teardown(() => server.close());
  const watcher = new RecordingWatcher();
  const c = client(t, server.port, watcher, { apiType: 'DELTA_GRPC' });
  c.subscribe(CDS, 'wildcard');
  c.subscribe(EDS, ['a', 'b']);
  c.start();
  const s1 = await server.nextStream();
  await s1.nextRequest();
  await s1.nextRequest();
  s1.send(deltaResponse(CDS, 'n1', [
    { name: 'c1', version: '1', resource: anyOf(CDS, cluster('c1')) },
    { name: 'c2', version: '7', resource: anyOf(CDS, cluster('c2')) },
  ]));
  await s1.nextRequest();
  s1.send(deltaResponse(EDS, 'n2', [{ name: 'a', version: '3', resource: anyOf(EDS, loadAssignment('a')) }, { name: 'b', version: '' }]));
  await s1.nextRequest();
  s1.end(grpc.status.OK);

  const s2 = await server.nextStream();
  const cds = await s2.nextRequest();
  t.equal(cds.type_url, CDS);
  t.notOk('resource_names_subscribe' in cds, 'still the legacy wildcard');
  t.same(cds.initial_resource_versions, { c1: '1', c2: '7' });
  t.notOk('response_nonce' in cds);
  t.equal(cds.node?.id, TEST_NODE['id']);
  const eds = await s2.nextRequest();
  t.same(eds.resource_names_subscribe, ['a', 'b'], 'the whole interest is restated');
  t.same(eds.initial_resource_versions, { a: '3' }, 'b does not exist: no version to offer');
  t.same(c.status(EDS).resources.map((r) => [r.name, r.clientStatus]), [['a', 'ACKED'], ['b', 'DOES_NOT_EXIST']]);
});

t.test('backoff grows (full jitter, capped) while the server never answers, and resets after a response', async (t) => {
  const server = await startTestAdsServer();
  t.teardown(() => server.close());
  const watcher = new RecordingWatcher();
  // random() just below 1 makes every delay the top of its interval: 99, 199, 399, 399 ms.
  const c = client(t, server.port, watcher, { initialBackoffMs: 100, maxBackoffMs: 400, random: () => 0.999 });
  c.subscribe(CDS, 'wildcard');
  c.start();
  const opened: number[] = [];
  const chosen: number[] = [];
  for (let i = 0; i < 5; i++) {
    const s = await server.nextStream();
    opened.push(s.openedAt);
    await s.nextRequest();
    s.end(grpc.status.UNAVAILABLE, 'no');
    if (i < 4) {
      await watcher.until(() => c.state === 'backoff');
      chosen.push(c.retryDelayMs!);
    }
  }
  t.same(chosen, [99, 199, 399, 399], 'the interval doubles from the base and stops at the cap');
  // Wall-clock gaps can only be late (a loaded machine), never early.
  const gaps = opened.slice(1).map((at, i) => at - opened[i]!);
  for (let i = 0; i < 4; i++) t.ok(gaps[i]! >= chosen[i]! - 5, `retry ${i + 1} waited its delay (${gaps[i]!.toFixed(0)} >= ${chosen[i]})`);

  // This stream answers once: the next retry starts from the base again.
  const s6 = await server.nextStream();
  await s6.nextRequest();
  s6.send(sotwResponse(CDS, 'v1', 'n1', []));
  await s6.nextRequest();
  s6.end(grpc.status.UNAVAILABLE, 'no');
  await watcher.until(() => c.state === 'backoff');
  t.equal(c.retryDelayMs, 99, 'a response reset the backoff');
  await server.nextStream();
  t.equal(c.retryDelayMs, undefined);
});

t.test('control plane restart: connection refused is retried until it is back; config kept', async (t) => {
  const first = await startTestAdsServer();
  const port = first.port;
  const watcher = new RecordingWatcher();
  const c = client(t, port, watcher);
  c.subscribe(CDS, 'wildcard');
  c.start();
  const s1 = await first.nextStream();
  await s1.nextRequest();
  s1.send(sotwResponse(CDS, 'v1', 'n1', [anyOf(CDS, cluster('c1'))]));
  await s1.nextRequest();
  await first.close();
  await watcher.until(() => watcher.connection.length === 2);
  t.notOk(c.connected);
  const countWhileDown = c.streamCount;
  await new Promise((r) => setTimeout(r, 300));
  t.ok(c.streamCount > countWhileDown, `kept retrying while down (${c.streamCount - countWhileDown} attempts)`);

  const second = await startTestAdsServer(undefined, port);
  t.teardown(() => second.close());
  const s2 = await second.nextStream();
  const req = await s2.nextRequest();
  t.equal(req.version_info, 'v1');
  await watcher.until(() => c.connected);
  t.same(watcher.connection, [true, false, true]);
  t.equal(c.status(CDS).resources[0]?.clientStatus, 'ACKED');
});

t.test('no server at all: retries quietly, never connected, close() stops it', async (t) => {
  const port = await closedPort();
  const watcher = new RecordingWatcher();
  const c = client(t, port, watcher);
  c.subscribe(CDS, 'wildcard');
  c.start();
  await new Promise((r) => setTimeout(r, 400));
  t.ok(c.streamCount >= 3, `several attempts (${c.streamCount})`);
  t.equal(watcher.connection.length, 0);
  c.close();
  const n = c.streamCount;
  await new Promise((r) => setTimeout(r, 200));
  t.equal(c.streamCount, n, 'no attempt after close()');
  t.equal(c.state, 'closed');
});

t.test('connect timeout: a peer that accepts TCP but never speaks HTTP/2 is abandoned and retried', async (t) => {
  const silent = await startSilentTcpServer();
  t.teardown(() => silent.close());
  const watcher = new RecordingWatcher();
  const c = client(t, silent.port, watcher, { connectTimeoutMs: 150 });
  c.subscribe(CDS, 'wildcard');
  c.start();
  await new Promise((r) => setTimeout(r, 700));
  t.ok(c.streamCount >= 2, `retried after the connect timeout (${c.streamCount} attempts)`);
  t.notOk(c.connected);
});

t.test('an undecodable DiscoveryResponse restarts the stream without throwing', async (t) => {
  const server = await startTestAdsServer();
  t.teardown(() => server.close());
  const watcher = new RecordingWatcher();
  const c = client(t, server.port, watcher);
  c.subscribe(CDS, 'wildcard');
  c.start();
  const s1 = await server.nextStream();
  await s1.nextRequest();
  s1.send(sotwResponse(CDS, 'v1', 'n1', [anyOf(CDS, cluster('c1'))]));
  await s1.nextRequest();
  s1.sendRaw(Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x01]));
  const s2 = await server.nextStream();
  const req = await s2.nextRequest();
  t.equal(req.version_info, 'v1');
  await s1.ended;
  t.ok(s1.isEnded, 'the broken stream was cancelled by the client');
});
