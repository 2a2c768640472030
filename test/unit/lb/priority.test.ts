import t from 'tap';
import { computePriorityLoad, choosePriority, type LevelCounts } from '../../../src/upstream/pickers/priority-load';
import { ClusterPicker, effectiveLocalityWeight } from '../../../src/upstream/pickers/cluster-picker';
import type { LbConfigModel } from '../../../src/snapshot/model';
import { countBy, fakeHost, type FakeHostOptions } from './fake-host';

/** A level of `total` hosts of which `healthy` are healthy (and `degraded` degraded). */
const level = (healthy: number, total: number, degraded = 0, factor = 140): LevelCounts => ({
  healthy, degraded, total, hostCount: total, healthyCount: healthy, degradedCount: degraded, overprovisioningFactor: factor,
});

t.test('priority load: the examples of priority.rst / ENVOY-COMPAT 5.5', async (t) => {
  const rows: Array<[number, number, number]> = [
    // P0 healthy % (of 100 hosts), P0 load, P1 load (P1 fully healthy)
    [100, 100, 0],
    [72, 100, 0],
    [71, 99, 1],
    [50, 70, 30],
    [25, 35, 65],
    [0, 0, 100],
  ];
  for (const [pct, p0, p1] of rows) {
    const load = computePriorityLoad([level(pct, 100), level(100, 100)], 50);
    t.same(load.healthy, [p0, p1], `P0 ${pct}% healthy → ${p0}/${p1}`);
    t.same(load.panic, [false, false]);
  }
});

t.test('panic per level (panic_threshold.rst): evaluated only when total availability < 100', async (t) => {
  let load = computePriorityLoad([level(71, 100), level(71, 100)], 50);
  t.same(load.healthy, [99, 1]);
  t.same(load.panic, [false, false]);
  load = computePriorityLoad([level(25, 100), level(25, 100)], 50);
  t.same(load.panic, [true, true], 'both below the threshold');
  t.same(load.healthy, [50, 50], 'all levels in panic: load by host count');
  load = computePriorityLoad([level(1, 20), level(13, 20)], 50);
  t.same(load.panic, [true, false], 'only the level under 50% panics');
  t.equal(load.healthy[0]! + load.healthy[1]!, 100);
});

t.test('degraded hosts take what healthy ones cannot carry', async (t) => {
  // P0: 50% healthy (70), 50% degraded (70) → healthy 70, degraded 30.
  const load = computePriorityLoad([level(50, 100, 50)], 50);
  t.same(load.healthy, [70]);
  t.same(load.degraded, [30]);
  t.same(choosePriority(load, 70), { priority: 0, degraded: false });
  t.same(choosePriority(load, 71), { priority: 0, degraded: true });
});

t.test('overprovisioning factor comes from the assignment policy', async (t) => {
  // factor 100: 71% healthy is 71% load.
  t.same(computePriorityLoad([level(71, 100, 0, 100), level(100, 100, 0, 100)], 50).healthy, [71, 29]);
});

t.test('nothing available: threshold 0 → all load on P0 (503); otherwise total panic by count', async (t) => {
  t.same(computePriorityLoad([level(0, 2), level(0, 3)], 0), { healthy: [100, 0], degraded: [0, 0], panic: [false, false] });
  const load = computePriorityLoad([level(0, 2), level(0, 2)], 50);
  t.same(load.healthy, [50, 50]);
  t.same(load.panic, [true, true]);
});

const CFG: LbConfigModel = { choiceCount: 2, activeRequestBias: undefined, selectionMethod: 'N_CHOICES', minRingSize: 1024, maxRingSize: 8388608, maglevTableSize: 65537, useHostnameForHashing: false, localityWeighted: false };

function picker(list: ReturnType<typeof fakeHost>[], o: { policy?: 'ROUND_ROBIN' | 'RING_HASH' | 'MAGLEV' | 'LEAST_REQUEST' | 'RANDOM'; cfg?: Partial<LbConfigModel>; threshold?: number } = {}) {
  const counter = { lb_healthy_panic: 0 };
  const p = new ClusterPicker(list, { policy: o.policy ?? 'ROUND_ROBIN', config: { ...CFG, ...o.cfg }, panicThresholdPercent: o.threshold ?? 50 }, counter);
  return { p, counter };
}

const mk = (prefix: string, n: number, healthyN: number, o: FakeHostOptions = {}) =>
  Array.from({ length: n }, (_, i) => fakeHost(`${prefix}${i}`, { ...o, health: i < healthyN ? 'healthy' : 'unhealthy' }));

for (const policy of ['ROUND_ROBIN', 'LEAST_REQUEST', 'RANDOM', 'RING_HASH', 'MAGLEV'] as const) {
  t.test(`${policy}: P0 at 50% healthy sends ~70% to P0, ~30% to P1; P0 all down fails over`, async (t) => {
    const { p } = picker([...mk('p0-', 10, 5), ...mk('p1-', 10, 10, { priority: 1 })], { policy });
    t.same(p.load.healthy, [70, 30]);
    const n = 20000;
    const c = countBy(Array.from({ length: n }, () => p.pick()!), (h) => h.key.slice(0, 2));
    t.ok(Math.abs(c['p0']! / n - 0.7) < 0.03, `P0 got ${c['p0']}`);
    const picked = new Set(Array.from({ length: 2000 }, () => p.pick()!.key).filter((k) => k.startsWith('p0')));
    t.ok([...picked].every((k) => Number(k.slice(3)) < 5), 'only healthy P0 hosts');
    const down = picker([...mk('p0-', 4, 0), ...mk('p1-', 2, 2, { priority: 1 })], { policy }).p;
    t.same(down.load.healthy, [0, 100]);
    t.ok(Array.from({ length: 500 }, () => down.pick()!).every((h) => h.key.startsWith('p1')), 'all to P1');
  });
}

t.test('panic inside a level uses all its hosts and counts lb_healthy_panic', async (t) => {
  const { p, counter } = picker(mk('h', 10, 2));
  t.ok(p.inPanic);
  const seen = new Set(Array.from({ length: 200 }, () => p.pick()!.key));
  t.equal(seen.size, 10, 'unhealthy hosts used too');
  t.equal(counter.lb_healthy_panic, 200);
  const off = picker(mk('h', 10, 2), { threshold: 0 }).p;
  t.notOk(off.inPanic);
  t.ok(Array.from({ length: 200 }, () => off.pick()!).every((h) => h.coarseHealth === 'healthy'), 'threshold 0: healthy only');
});

t.test('degraded hosts are used when a level has no healthy host', async (t) => {
  const list = [fakeHost('d1', { health: 'degraded' }), fakeHost('d2', { health: 'degraded' }), fakeHost('u', { health: 'unhealthy' })];
  const { p } = picker(list);
  t.same(p.load.degraded, [100]);
  t.ok(Array.from({ length: 100 }, () => p.pick()!).every((h) => h.key.startsWith('d')));
});

t.test('locality weights: effective weight = weight * min(1, 1.4 * healthy/total)', async (t) => {
  t.equal(effectiveLocalityWeight(10, 4, 4, 140), 10);
  t.equal(effectiveLocalityWeight(10, 1, 2, 140), 7);
  t.equal(effectiveLocalityWeight(10, 0, 2, 140), 0);
  const list = [
    ...Array.from({ length: 2 }, (_, i) => fakeHost(`a${i}`, { zone: 'a', localityWeight: 1 })),
    ...Array.from({ length: 2 }, (_, i) => fakeHost(`b${i}`, { zone: 'b', localityWeight: 3 })),
  ];
  const { p } = picker(list, { cfg: { localityWeighted: true } });
  const c = countBy(Array.from({ length: 4000 }, () => p.pick()!), (h) => h.key[0]!);
  t.equal(c['a'], 1000, 'EDF over locality weights 1:3 is exact');
  t.equal(c['b'], 3000);
  // Half of b unhealthy: b's effective weight 3 * 0.7 = 2.1 against a's 1.
  list[3] = fakeHost('b1', { zone: 'b', localityWeight: 3, health: 'unhealthy' });
  const half = picker(list, { cfg: { localityWeighted: true } }).p;
  const c2 = countBy(Array.from({ length: 3100 }, () => half.pick()!), (h) => h.key);
  t.equal(c2['a0']! + c2['a1']!, 1000);
  t.equal(c2['b0'], 2100);
  t.equal(c2['b1'], undefined);
});

t.test('without locality_weighted_lb_config locality weights are ignored', async (t) => {
  const list = [fakeHost('a', { zone: 'a', localityWeight: 1 }), fakeHost('b', { zone: 'b', localityWeight: 9 })];
  const c = countBy(Array.from({ length: 1000 }, () => picker(list).p.pick()!), (h) => h.key);
  t.ok(c['a']! > 400 && c['b']! > 400);
});

t.test('ring hash: the request hash chooses the priority and the host', async (t) => {
  const { p } = picker([...mk('p0-', 10, 5), ...mk('p1-', 10, 10, { priority: 1 })], { policy: 'RING_HASH' });
  for (let i = 0n; i < 200n; i++) {
    const h = p.pick({ hash: i * 7919n })!;
    t.equal(h.key.startsWith('p0') ? 'p0' : 'p1', (i * 7919n) % 100n < 70n ? 'p0' : 'p1');
  }
});
