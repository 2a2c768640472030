/**
 * The shared turn queue: one sliced task resumed per event-loop iteration, in FIFO order, with
 * timers running between any two slices.
 */
import t from 'tap';
import { TimeSlicer, nextTurn, runInSlices, runToCompletion, sliceTurns } from '../../../src/common/time-slices';

function busy(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    // spin
  }
}

t.test('two tasks take turns, one slice per loop iteration, and a timer runs between slices', async (t) => {
  const log: string[] = [];
  let ticks = 0;
  const timer = setInterval(() => ticks++, 0);
  const task = async (name: string): Promise<void> => {
    for (let i = 0; i < 3; i++) {
      await nextTurn();
      log.push(`${name}${i}@${ticks}`);
      busy(2);
    }
  };
  const turns0 = sliceTurns();
  await Promise.all([task('a'), task('b')]);
  clearInterval(timer);
  t.same(log.map((x) => x.split('@')[0]), ['a0', 'b0', 'a1', 'b1', 'a2', 'b2'], 'FIFO: the tasks alternate');
  const at = log.map((x) => Number(x.split('@')[1]));
  for (let i = 1; i < at.length; i++) t.ok(at[i]! > at[i - 1]!, `the timer ran between slice ${i - 1} and slice ${i}`);
  t.equal(sliceTurns() - turns0, 6, 'one turn per resume');
});

t.test('TimeSlicer.due after its budget; yield starts a new slice', async (t) => {
  const s = new TimeSlicer(3);
  t.notOk(s.due);
  busy(4);
  t.ok(s.due);
  await s.yield();
  t.notOk(s.due, 'a fresh slice after the yield');
});

t.test('runInSlices yields only when the slice is spent; runToCompletion never does', async (t) => {
  function* steps(n: number, ms: number): Generator<void> {
    for (let i = 0; i < n; i++) {
      busy(ms);
      yield;
    }
  }
  const turns0 = sliceTurns();
  await runInSlices(steps(10, 1), new TimeSlicer(3));
  const yielded = sliceTurns() - turns0;
  t.ok(yielded >= 2 && yielded <= 5, `10 × 1 ms in 3 ms slices yields a few times (${yielded})`);

  const turns1 = sliceTurns();
  runToCompletion(steps(10, 0));
  t.equal(sliceTurns(), turns1);
});
