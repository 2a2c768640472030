import t from 'tap';
import { RingQueue } from '../../../src/upstream/pool/ring-queue';

function drain<T>(q: RingQueue<T>): T[] {
  const out: T[] = [];
  for (let item = q.shift(); item !== undefined; item = q.shift()) out.push(item);
  return out;
}

t.test('FIFO across growth and wrap-around', async (t) => {
  const q = new RingQueue<number>(4);
  for (let i = 0; i < 3; i++) q.push(i);
  t.equal(q.shift(), 0);
  t.equal(q.shift(), 1);
  for (let i = 3; i < 40; i++) q.push(i); // wraps, then grows several times
  t.equal(q.length, 38);
  t.same(drain(q), Array.from({ length: 38 }, (_, i) => i + 2));
  t.equal(q.length, 0);
  t.equal(q.shift(), undefined);
});

t.test('unshift puts an item back at the head', async (t) => {
  const q = new RingQueue<string>(4);
  q.push('b');
  q.push('c');
  q.unshift('a');
  for (let i = 0; i < 6; i++) q.unshift(`x${i}`); // grows from the head side
  t.same(drain(q), ['x5', 'x4', 'x3', 'x2', 'x1', 'x0', 'a', 'b', 'c']);
});

t.test('retain keeps order and drops the rest', async (t) => {
  const q = new RingQueue<number>(4);
  for (let i = 0; i < 5; i++) q.push(i);
  q.shift();
  for (let i = 5; i < 12; i++) q.push(i);
  q.retain((n) => n % 3 !== 0);
  t.same(drain(q), [1, 2, 4, 5, 7, 8, 10, 11]);
});
