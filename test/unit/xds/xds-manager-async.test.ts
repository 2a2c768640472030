/**
 * XdsManager.onUpdate validates in time slices and commits atomically: nothing of an update is
 * visible before it is whole and valid, a bad resource rejects it all, the transport's byte digest
 * spares a decode, and updates are committed in call order.
 */
import t from 'tap';
import { ListenerManager } from '../../../src/listener/listener-manager';
import { ClusterManager } from '../../../src/upstream/cluster-manager';
import type { ProtoObj } from '../../../src/xds/resources/decode-context';
import { TYPE } from '../../../src/xds/type-urls';
import { XdsManager, type XdsChange, type XdsSubscriber } from '../../../src/xds/xds-manager';
import { adsBootstrapModel, busy, sampleEachTurn, staticCluster } from './helpers';

const N = 500;

function setup(t: tap.Test): { xds: XdsManager; clusters: ClusterManager; subscribed: Array<[string, 'wildcard' | readonly string[]]> } {
  const clusters = new ClusterManager();
  const listeners = new ListenerManager(clusters, 1000, 1000);
  const xds = new XdsManager(adsBootstrapModel(), clusters, listeners);
  const subscribed: Array<[string, 'wildcard' | readonly string[]]> = [];
  const subscriber: XdsSubscriber = { subscribe: (typeUrl, names) => subscribed.push([typeUrl, names]) };
  xds.start(subscriber);
  t.teardown(() => {
    xds.close();
    listeners.closeAll();
    clusters.destroy();
  });
  return { xds, clusters, subscribed };
}

function changes(resources: ReadonlyArray<ProtoObj>, version: string, hash?: (r: ProtoObj) => string): Map<string, XdsChange> {
  return new Map(resources.map((r) => [String(r['name']), { resource: r, version, ...(hash ? { hash: hash(r) } : {}) }]));
}

const manyClusters = (n: number, port = 10000): ProtoObj[] => Array.from({ length: n }, (_, i) => staticCluster(`c${i}`, [port + i]));

t.test('a big update is validated over several turns and committed in one step', async (t) => {
  const { xds, clusters } = setup(t);
  const seen = sampleEachTurn(() => xds.clusters.size);
  const errors = await xds.onUpdate(TYPE.cluster, { changed: changes(manyClusters(N), 'v1'), removed: [], version: 'v1', isFullState: true });
  seen.stop();
  t.same(errors, []);
  t.ok(seen.seen.length >= 2, `timers ran during validation (${seen.seen.length} times)`);
  t.ok(seen.seen.every((n) => n === 0 || n === N), 'the accepted set was empty or whole, never partial');
  t.equal(xds.clusters.size, N);
  t.equal(xds.versions.get(TYPE.cluster), 'v1');
  // Applying follows on its own: STATIC clusters go straight into service.
  while (clusters.get(`c${N - 1}`) === undefined) await new Promise((resolve) => setTimeout(resolve, 5));
  t.equal(clusters.get('c0')!.allHosts()[0]!.key, '127.0.0.1:10000');
});

t.test('one bad resource rejects the whole update: nothing committed, the error names it', async (t) => {
  const { xds } = setup(t);
  t.same(await xds.onUpdate(TYPE.cluster, { changed: changes(manyClusters(3), 'v1'), removed: [], version: 'v1', isFullState: true }), []);
  const before = xds.clusters.get('c0');
  const bad = manyClusters(N, 20000);
  bad[N - 7] = { ...bad[N - 7]!, type: 'ORIGINAL_DST' };
  const errors = await xds.onUpdate(TYPE.cluster, { changed: changes(bad, 'v2'), removed: ['c1'], version: 'v2', isFullState: true });
  t.equal(errors.length, 1);
  t.match(errors[0], /Cluster "c493": load_assignment: ORIGINAL_DST clusters must have no load assignment configured/);
  t.equal(xds.clusters.size, 3, 'neither additions nor the removal were committed');
  t.equal(xds.clusters.get('c0'), before, 'the accepted copy is untouched');
  t.equal(xds.versions.get(TYPE.cluster), 'v1');
  t.ok(xds.rejected.has(`${TYPE.cluster}|c493`), 'config_dump error_state');
});

t.test("the transport's byte digest decides what is unchanged", async (t) => {
  const { xds } = setup(t);
  const a = staticCluster('a', [1]);
  await xds.onUpdate(TYPE.cluster, { changed: changes([a], 'v1', () => 'digest-1'), removed: [], version: 'v1', isFullState: true });
  const first = xds.clusters.get('a')!;
  t.equal(first.hash, 'digest-1', 'the given digest is kept, not recomputed');

  // Same digest: the accepted model is kept (not decoded again), only the version moves.
  await xds.onUpdate(TYPE.cluster, { changed: changes([staticCluster('a', [2])], 'v2', () => 'digest-1'), removed: [], version: 'v2', isFullState: true });
  t.equal(xds.clusters.get('a')!.model, first.model);
  t.equal(xds.clusters.get('a')!.version, 'v2');

  // A new digest is a new resource.
  await xds.onUpdate(TYPE.cluster, { changed: changes([staticCluster('a', [3])], 'v3', () => 'digest-2'), removed: [], version: 'v3', isFullState: true });
  t.not(xds.clusters.get('a')!.model, first.model);

  // Without a digest (file subscriptions) the decoded object is digested.
  await xds.onUpdate(TYPE.cluster, { changed: changes([staticCluster('a', [3])], 'v4'), removed: [], version: 'v4', isFullState: true });
  const fromObject = xds.clusters.get('a')!;
  t.match(fromObject.hash, /^[0-9a-f]{40}$/);
  await xds.onUpdate(TYPE.cluster, { changed: changes([staticCluster('a', [3])], 'v5'), removed: [], version: 'v5', isFullState: true });
  t.equal(xds.clusters.get('a')!.model, fromObject.model, 'same object, same model');
});

t.test('updates are validated and committed one at a time, in call order', async (t) => {
  const { xds } = setup(t);
  const order: string[] = [];
  const big = xds.onUpdate(TYPE.cluster, { changed: changes(manyClusters(N), 'v1'), removed: [], version: 'v1', isFullState: true }).then(() => order.push('v1'));
  const small = xds.onUpdate(TYPE.cluster, { changed: changes([staticCluster('late', [1])], 'v2'), removed: ['c0'], version: 'v2', isFullState: true }).then(() => order.push('v2'));
  await Promise.all([big, small]);
  t.same(order, ['v1', 'v2']);
  t.equal(xds.versions.get(TYPE.cluster), 'v2');
  t.notOk(xds.clusters.has('c0'), 'the later removal applies to the earlier commit');
  t.ok(xds.clusters.has('late'));
  t.equal(xds.clusters.size, N);
});

t.test('an apply in progress does not hold the next update back, and the latest state wins', async (t) => {
  const { xds, clusters, subscribed } = setup(t);
  await xds.onUpdate(TYPE.cluster, { changed: changes(manyClusters(N), 'v1'), removed: [], version: 'v1', isFullState: true });
  // The apply of v1 is building clusters in slices; v2 commits meanwhile.
  busy(1);
  await xds.onUpdate(TYPE.cluster, { changed: changes([staticCluster('only', [1])], 'v2'), removed: manyClusters(N).map((c) => String(c['name'])), version: 'v2', isFullState: true });
  while (clusters.get('only') === undefined) await new Promise((resolve) => setTimeout(resolve, 5));
  t.same(clusters.all().map((c) => c.name).filter((n) => n !== 'xds-grpc'), ['only']);
  t.ok(subscribed.some(([type]) => type === TYPE.endpoints), 'subscriptions follow references');
});
