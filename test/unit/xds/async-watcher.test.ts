/**
 * The ADS client with a watcher whose onUpdate returns a promise (validation in time slices):
 * the ACK/NACK waits for it, later responses wait their turn, the type's own subscription changes
 * ride on the ACK, and a stream replaced meanwhile gets no stale ACK.
 */
import t from 'tap';
import { AdsClient, CLUSTER_LOAD_ASSIGNMENT_TYPE_URL as EDS, CLUSTER_TYPE_URL as CDS, NACK_STATUS_CODE, type ResourceUpdate, type XdsTypeUrl, type XdsWatcher } from '../../../src/xds/ads';
import {
  TEST_NODE, anyOf, cluster, deltaResponse, loadAssignment, sotwResponse, startTestAdsServer, type TestAdsServer, type TestAdsStream,
} from '../xds-ads/ads-test-server';

/** A watcher whose verdicts the test hands out, one per update, when it chooses. */
class DeferredWatcher implements XdsWatcher {
  readonly updates: Array<{ typeUrl: XdsTypeUrl; update: ResourceUpdate; settle: (errors: string[] | Error) => void }> = [];
  readonly acks: Array<{ typeUrl: string; rejected: boolean }> = [];
  private waiters: Array<() => void> = [];

  onUpdate(typeUrl: XdsTypeUrl, update: ResourceUpdate): Promise<string[]> {
    return new Promise((resolve, reject) => {
      this.updates.push({ typeUrl, update, settle: (v) => (v instanceof Error ? reject(v) : resolve(v)) });
      this.wake();
    });
  }

  onAckSent(typeUrl: string, rejected: boolean): void {
    this.acks.push({ typeUrl, rejected });
  }

  /** Resolves once `n` updates have arrived. */
  async updateCount(n: number): Promise<void> {
    const deadline = Date.now() + 10_000;
    while (this.updates.length < n) {
      if (Date.now() > deadline) throw new Error(`only ${this.updates.length} updates`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 50);
      });
    }
  }

  private wake(): void {
    const ws = this.waiters;
    this.waiters = [];
    for (const w of ws) w();
  }
}

async function setup(t: tap.Test, apiType: 'GRPC' | 'DELTA_GRPC'): Promise<{ server: TestAdsServer; client: AdsClient; watcher: DeferredWatcher; s: TestAdsStream }> {
  const server = await startTestAdsServer();
  const watcher = new DeferredWatcher();
  const client = new AdsClient({
    target: { kind: 'tcp', host: '127.0.0.1', port: server.port }, apiType, node: TEST_NODE, setNodeOnFirstMessageOnly: true, initialBackoffMs: 20, maxBackoffMs: 100,
  }, watcher);
  t.teardown(async () => {
    client.close();
    await server.close();
  });
  client.subscribe(CDS, 'wildcard');
  client.start();
  const s = await server.nextStream();
  await s.nextRequest();
  return { server, client, watcher, s };
}

t.test('SotW: the ACK waits for the watcher; the next response waits its turn; own-type changes ride on the ACK', async (t) => {
  const { client, watcher, s } = await setup(t, 'GRPC');
  client.subscribe(EDS, ['a']);
  await s.nextRequest();

  s.send(sotwResponse(EDS, 'e1', 'n1', [anyOf(EDS, loadAssignment('a'))]));
  await watcher.updateCount(1);
  s.send(sotwResponse(CDS, 'c1', 'n2', [anyOf(CDS, cluster('c1'))]));
  client.subscribe(EDS, ['a', 'b']);
  t.ok(await s.quietFor(150), 'no ACK, and no separate EDS request, while the watcher works');
  t.equal(watcher.updates.length, 1, 'the CDS response is not handed over meanwhile');

  watcher.updates[0]!.settle([]);
  const ack = await s.nextRequest();
  t.equal(ack.type_url, EDS);
  t.equal(ack.version_info, 'e1');
  t.equal(ack.response_nonce, 'n1');
  t.same(ack.resource_names, ['a', 'b'], 'the change made meanwhile is in the ACK');
  t.equal(client.status(EDS).resources.find((r) => r.name === 'a')?.clientStatus, 'ACKED');

  await watcher.updateCount(2);
  t.equal(watcher.updates[1]!.typeUrl, CDS, 'then the next response');
  t.ok(watcher.updates[0]!.update.changed.get('a')!.hash, 'changed resources carry the digest of their bytes');
  watcher.updates[1]!.settle(new Error('kaput'));
  const nack = await s.nextRequest();
  t.equal(nack.type_url, CDS);
  t.equal(nack.response_nonce, 'n2');
  t.notOk('version_info' in nack, 'nothing accepted yet');
  t.equal(nack.error_detail.code, NACK_STATUS_CODE);
  t.match(nack.error_detail.message, /kaput/, 'a rejected promise is a NACK with its message');
  t.same(watcher.acks, [{ typeUrl: EDS, rejected: false }, { typeUrl: CDS, rejected: true }]);
});

t.test('SotW: other types do not wait for the applying one', async (t) => {
  const { client, watcher, s } = await setup(t, 'GRPC');
  s.send(sotwResponse(CDS, 'c1', 'n1', [anyOf(CDS, cluster('c1'))]));
  await watcher.updateCount(1);
  client.subscribe(EDS, ['c1']);
  const eds = await s.nextRequest();
  t.equal(eds.type_url, EDS, 'the EDS request goes out while CDS is being applied');
  watcher.updates[0]!.settle([]);
  const ack = await s.nextRequest();
  t.equal(ack.type_url, CDS);
  t.equal(ack.version_info, 'c1');
});

t.test('delta: the ACK (the nonce alone) and the NACK wait for the watcher', async (t) => {
  const { client, watcher, s } = await setup(t, 'DELTA_GRPC');
  s.send(deltaResponse(CDS, 'n1', [{ name: 'c1', version: '1', resource: anyOf(CDS, cluster('c1')) }]));
  await watcher.updateCount(1);
  t.ok(await s.quietFor(150), 'no ACK yet');
  watcher.updates[0]!.settle([]);
  t.same(await s.nextRequest(), { type_url: CDS, response_nonce: 'n1' });
  t.equal(client.status(CDS).resources[0]?.version, '1');

  s.send(deltaResponse(CDS, 'n2', [{ name: 'c2', version: '1', resource: anyOf(CDS, cluster('c2')) }]));
  await watcher.updateCount(2);
  watcher.updates[1]!.settle(['Cluster "c2": lb_policy: not supported']);
  const nack = await s.nextRequest();
  t.equal(nack.response_nonce, 'n2');
  t.match(nack.error_detail.message, /lb_policy/);
  t.equal(client.status(CDS).resources.find((r) => r.name === 'c2')?.clientStatus, 'NACKED');
});

t.test('a stream replaced while the watcher works gets no stale ACK, but a held subscription change', async (t) => {
  const { server, client, watcher, s } = await setup(t, 'GRPC');
  client.subscribe(EDS, ['a']);
  await s.nextRequest();
  s.send(sotwResponse(EDS, 'e1', 'n1', [anyOf(EDS, loadAssignment('a'))]));
  await watcher.updateCount(1);

  s.end();
  const s2 = await server.nextStream();
  const restated = [await s2.nextRequest(), await s2.nextRequest()];
  t.same(restated.map((r) => r.type_url).sort(), [CDS, EDS].sort(), 'the new stream restates every type');
  client.subscribe(EDS, ['a', 'b']);
  t.ok(await s2.quietFor(100), 'the EDS change is held while EDS is being applied');

  watcher.updates[0]!.settle([]);
  const next = await s2.nextRequest();
  t.equal(next.type_url, EDS);
  t.notOk('response_nonce' in next, "the old stream's nonce is not sent on the new one");
  t.same(next.resource_names, ['a', 'b'], 'the held change goes out');
  t.equal(next.version_info, 'e1', 'the applied version is the one on record');
  t.ok(await s2.quietFor(100), 'and nothing else');
});

t.test('delta: a stream replaced while the watcher works gets no stale ACK; the held diff goes out', async (t) => {
  const { server, client, watcher, s } = await setup(t, 'DELTA_GRPC');
  client.subscribe(EDS, ['a']);
  await s.nextRequest();
  s.send(deltaResponse(EDS, 'n1', [{ name: 'a', version: '1', resource: anyOf(EDS, loadAssignment('a')) }]));
  await watcher.updateCount(1);

  s.end();
  const s2 = await server.nextStream();
  const restated = [await s2.nextRequest(), await s2.nextRequest()];
  t.same(restated.map((r) => r.type_url).sort(), [CDS, EDS].sort(), 'the new stream restates every type');
  client.subscribe(EDS, ['a', 'b']);
  t.ok(await s2.quietFor(100), 'the EDS change is held while EDS is being applied');

  watcher.updates[0]!.settle([]);
  const next = await s2.nextRequest();
  t.equal(next.type_url, EDS);
  t.notOk('response_nonce' in next, "the old stream's nonce is not sent on the new one");
  t.same(next.resource_names_subscribe, ['b'], 'the held change goes out as a diff');
  t.ok(await s2.quietFor(100), 'and nothing else');
  t.equal(client.status(EDS).resources.find((r) => r.name === 'a')?.version, '1', 'the applied copy is on record');
});
