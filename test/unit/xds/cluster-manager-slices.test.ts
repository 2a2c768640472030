/**
 * ClusterManager.reconcileInSlices: new clusters are built off to the side over several event-loop
 * turns and swapped in at once; unchanged clusters are kept; dropped ones are stopped after the swap.
 */
import t from 'tap';
import { TimeSlicer } from '../../../src/common/time-slices';
import { ClusterManager } from '../../../src/upstream/cluster-manager';
import { edsClusterModel, sampleEachTurn, staticClusterModel } from './helpers';

const N = 400;

t.test('the router sees the old cluster set or the new one, never a mix', async (t) => {
  const cm = new ClusterManager();
  t.teardown(() => cm.destroy());
  cm.reconcile([staticClusterModel('keep', [9001])]);
  const kept = cm.get('keep')!;
  const models = [staticClusterModel('keep', [9001]), ...Array.from({ length: N }, (_, i) => staticClusterModel(`c${i}`, [10000 + i]))];

  const sizes = sampleEachTurn(() => cm.all().length);
  // 1 ms slices: several turns even on a fast machine.
  await cm.reconcileInSlices(models, new TimeSlicer(1));
  sizes.stop();

  t.ok(sizes.seen.length > 0, 'timers ran while the clusters were being built');
  t.ok(sizes.seen.every((n) => n === 1 || n === N + 1), `every sample saw 1 or ${N + 1} clusters (${[...new Set(sizes.seen)].join(', ')})`);
  t.equal(cm.all().length, N + 1);
  t.equal(cm.get('keep'), kept, 'an unchanged cluster is kept (with its hosts and connections)');
  t.equal(cm.get('c7')!.allHosts()[0]!.key, '127.0.0.1:10007');
});

t.test('changed clusters are rebuilt, endpoint-only changes update in place, dropped ones stop after the swap', async (t) => {
  const cm = new ClusterManager();
  t.teardown(() => cm.destroy());
  cm.reconcile([staticClusterModel('a', [1]), edsClusterModel('b', [2]), staticClusterModel('gone', [3])]);
  const [a, b, gone] = [cm.get('a')!, cm.get('b')!, cm.get('gone')!];

  const stoppedBeforeSwap: boolean[] = [];
  const sample = sampleEachTurn(() => {
    if (cm.get('gone') === gone) stoppedBeforeSwap.push((gone as unknown as { stopped: boolean }).stopped);
  });
  await cm.reconcileInSlices([staticClusterModel('a', [1], 2000), edsClusterModel('b', [2, 4])], new TimeSlicer(0));
  sample.stop();

  t.not(cm.get('a'), a, 'a config change builds a new cluster');
  t.equal(cm.get('b'), b, 'an endpoint change keeps the cluster');
  t.same(cm.get('b')!.allHosts().map((h) => h.key).sort(), ['127.0.0.1:2', '127.0.0.1:4']);
  t.equal(cm.get('gone'), undefined);
  t.ok((gone as unknown as { stopped: boolean }).stopped, 'the dropped cluster is stopped');
  t.ok((a as unknown as { stopped: boolean }).stopped, 'the replaced cluster is stopped');
  t.notOk(stoppedBeforeSwap.includes(true), 'never stopped while still in service');
});

t.test('reconciles run one after another, each from the map the previous one installed', async (t) => {
  const cm = new ClusterManager();
  t.teardown(() => cm.destroy());
  const first = cm.reconcileInSlices(Array.from({ length: N }, (_, i) => staticClusterModel(`c${i}`, [20000 + i])), new TimeSlicer(1));
  const second = cm.reconcileInSlices([staticClusterModel('c0', [20000]), staticClusterModel('z', [1])]);
  await first;
  t.equal(cm.all().length, N, 'the first one installed its set');
  const c0 = cm.get('c0');
  await second;
  t.same(cm.all().map((c) => c.name).sort(), ['c0', 'z']);
  t.equal(cm.get('c0'), c0, 'the second diffed against the first');
});

t.test('destroy while building: the clusters built off to the side are destroyed too', async (t) => {
  const cm = new ClusterManager();
  const run = cm.reconcileInSlices(Array.from({ length: 50 }, (_, i) => staticClusterModel(`c${i}`, [30000 + i])), new TimeSlicer(0));
  await new Promise((resolve) => setImmediate(resolve));
  cm.destroy();
  await run;
  t.equal(cm.all().length, 0, 'nothing was swapped in');
});
