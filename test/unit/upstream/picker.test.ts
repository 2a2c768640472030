import t from 'tap';
import type { Host } from '../../../src/upstream/host';
import { LeastRequestPicker, RoundRobinPicker } from '../../../src/upstream/picker';

const host = (key: string, weight = 1, active = 0) => ({ key, weight, activeRequests: active }) as unknown as Host;

t.test('round robin rotates through equal-weight hosts', async (t) => {
  const hosts = [host('a'), host('b'), host('c')];
  const p = new RoundRobinPicker(hosts);
  const seq = Array.from({ length: 9 }, () => p.pick()!.key);
  t.same(new Set(seq.slice(0, 3)), new Set(['a', 'b', 'c']), 'each host once per round');
  t.same(seq.slice(3, 6), seq.slice(0, 3), 'same order every round');
});

t.test('weighted round robin (EDF) honours weights and interleaves', async (t) => {
  const p = new RoundRobinPicker([host('a', 3), host('b', 1)]);
  const seq = Array.from({ length: 400 }, () => p.pick()!.key).join('');
  t.equal([...seq].filter((c) => c === 'a').length, 300);
  // EDF deadlines are doubles (as in Envoy), so a rounding tie can add one more 'a' to a run.
  t.notMatch(seq, /aaaaa/, 'not bunched');
});

t.test('least request prefers the less loaded of two', async (t) => {
  const busy = host('busy', 1, 10);
  const idle = host('idle', 1, 0);
  const p = new LeastRequestPicker([busy, idle], 2);
  let idlePicks = 0;
  for (let i = 0; i < 1000; i++) if (p.pick() === idle) idlePicks++;
  // P2C picks the busy host only when both samples land on it (1/4 of the time).
  t.ok(idlePicks > 650, `idle picked ${idlePicks}/1000`);
});

t.test('no hosts → undefined (503 UH)', async (t) => {
  t.equal(new RoundRobinPicker([]).pick(), undefined);
  t.equal(new LeastRequestPicker([], 2).pick(), undefined);
});
