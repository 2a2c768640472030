import t from 'tap';
import { LeastRequestPicker, RandomPicker, RoundRobinPicker } from '../../../src/upstream/pickers/basic';
import { EdfScheduler } from '../../../src/upstream/pickers/edf';
import { countBy, fakeHost, hosts } from './fake-host';

const OPTS = { choiceCount: 2, activeRequestBias: undefined, selectionMethod: 'N_CHOICES' as const };

t.test('EDF: deadlines 1/weight, ties to the earlier insertion', async (t) => {
  const s = new EdfScheduler<string>();
  s.add(2, 'a');
  s.add(1, 'b');
  const seq = Array.from({ length: 6 }, () => s.pickAndAdd((x) => (x === 'a' ? 2 : 1))).join('');
  t.equal(seq, 'abaaba');
});

t.test('P2C with equal weights: the busy host wins only when sampled twice', async (t) => {
  const [busy, idle] = [fakeHost('busy', { active: 10 }), fakeHost('idle')];
  const p = new LeastRequestPicker([busy, idle], OPTS);
  const c = countBy(Array.from({ length: 10000 }, () => p.pick()!), (h) => h.key);
  t.ok(Math.abs(c['busy']! / 10000 - 0.25) < 0.03, `busy ${c['busy']}`);
  const p5 = new LeastRequestPicker([busy, idle], { ...OPTS, choiceCount: 5 });
  const c5 = countBy(Array.from({ length: 10000 }, () => p5.pick()!), (h) => h.key);
  t.ok(c5['busy']! < 600, `choice_count 5: busy ${c5['busy']} ≈ 1/32`);
});

t.test('FULL_SCAN always takes the least loaded, ties at random', async (t) => {
  const hs = [fakeHost('a', { active: 3 }), fakeHost('b', { active: 1 }), fakeHost('c', { active: 1 })];
  const p = new LeastRequestPicker(hs, { ...OPTS, selectionMethod: 'FULL_SCAN' });
  const c = countBy(Array.from({ length: 2000 }, () => p.pick()!), (h) => h.key);
  t.equal(c['a'], undefined);
  t.ok(c['b']! > 800 && c['c']! > 800);
});

t.test('weighted: EDF with weight / (active + 1)^bias', async (t) => {
  const a = fakeHost('a', { weight: 2 });
  const b = fakeHost('b', { weight: 1 });
  const idle = new LeastRequestPicker([a, b], OPTS);
  const c = countBy(Array.from({ length: 3000 }, () => idle.pick()!), (h) => h.key);
  t.same(c, { a: 2000, b: 1000 }, 'no load: plain weights');
  a.activeRequests = 3; // 2 / 4 = 0.5 against b's 1 / 1
  const loaded = new LeastRequestPicker([a, b], OPTS);
  const c2 = countBy(Array.from({ length: 3000 }, () => loaded.pick()!), (h) => h.key);
  t.same(c2, { a: 1000, b: 2000 });
  const noBias = new LeastRequestPicker([a, b], { ...OPTS, activeRequestBias: 0 });
  t.same(countBy(Array.from({ length: 3000 }, () => noBias.pick()!), (h) => h.key), { a: 2000, b: 1000 }, 'bias 0 = weighted round robin');
  const squared = new LeastRequestPicker([a, b], { ...OPTS, activeRequestBias: 2 });
  t.same(countBy(Array.from({ length: 900 }, () => squared.pick()!), (h) => h.key), { a: 100, b: 800 }, '2/16 against 1');
});

t.test('an explicit active_request_bias uses the weighted path even with equal weights', async (t) => {
  const [x, y] = hosts(2);
  x!.activeRequests = 1; // 1/2 against 1
  const p = new LeastRequestPicker([x!, y!], { ...OPTS, activeRequestBias: 1 });
  t.same(countBy(Array.from({ length: 300 }, () => p.pick()!), (h) => h.key), { [x!.key]: 100, [y!.key]: 200 });
});

t.test('random ignores weights (Envoy random_lb.cc); round robin honours them', async (t) => {
  const hs = [fakeHost('a', { weight: 9 }), fakeHost('b', { weight: 1 })];
  const c = countBy(Array.from({ length: 10000 }, () => new RandomPicker(hs).pick()!), (h) => h.key);
  t.ok(c['b']! > 4500, `random: b ${c['b']}`);
  const rr = new RoundRobinPicker(hs);
  t.same(countBy(Array.from({ length: 1000 }, () => rr.pick()!), (h) => h.key), { a: 900, b: 100 });
});
