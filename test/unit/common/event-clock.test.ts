import t from 'tap';
import { beginEvent, endEvent, eventEpochNow, eventNow } from '../../../src/common/event-clock';

const busy = (ms: number): void => {
  const until = performance.now() + ms;
  while (performance.now() < until) { /* spin */ }
};

t.test('inside a read both clocks stand still at the read\'s time; outside they run', (t) => {
  const before = performance.now();
  beginEvent();
  const a = eventNow();
  const ea = eventEpochNow();
  busy(5);
  t.equal(eventNow(), a, 'monotonic time is the read\'s');
  t.equal(eventEpochNow(), ea, 'wall-clock time is the read\'s');
  t.ok(a >= before && a <= performance.now(), 'and it is when the read began');
  t.ok(Math.abs(ea - Date.now()) < 1000, 'the epoch time is a real Date.now()');
  endEvent();
  const b = eventNow();
  t.ok(b >= a + 5, `after the read the clock runs again (${(b - a).toFixed(1)} ms later)`);
  busy(2);
  t.ok(eventNow() > b, 'and keeps running between reads');
  t.ok(eventEpochNow() >= ea, 'epoch time too');
  t.end();
});

t.test('a new read has a new time', (t) => {
  beginEvent();
  const first = eventNow();
  endEvent();
  busy(3);
  beginEvent();
  const second = eventNow();
  endEvent();
  t.ok(second >= first + 3);
  t.end();
});
