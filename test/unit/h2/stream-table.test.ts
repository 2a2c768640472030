import t from 'tap';
import { H2Stream, type StreamHandler } from '../../../src/h2/h2-stream';
import { StreamTable } from '../../../src/h2/stream-table';

const NO_HANDLER: StreamHandler = { onHeaders() {}, onData() {}, onReset() {}, onWritable() {} };
const stream = (id: number): H2Stream => new H2Stream(id, NO_HANDLER, 0, 0);

t.test('agrees with a Map through opens, closes, long-lived streams, growth and overflow', (t) => {
  let seed = 7;
  const rand = (n: number): number => (seed = (seed * 1103515245 + 12345) % 2147483648) % n;
  for (const firstId of [1, 2]) {
    const table = new StreamTable();
    const model = new Map<number, H2Stream>();
    let nextId = firstId;
    let mismatches = 0;
    let peak = 0;
    let largest = 0;
    let displaced = 0;
    for (let step = 0; step < 40_000; step++) {
      // Bursts: phases that mostly open, then mostly close, so the table grows and shrinks.
      const opening = Math.floor(step / 2_000) % 2 === 0;
      if (model.size === 0 || rand(100) < (opening ? 65 : 35)) {
        const s = stream(nextId);
        nextId += 2;
        table.add(s);
        model.set(s.id, s);
      } else {
        // Close a random open stream, but keep the oldest ones open for long stretches
        // (long-lived streams whose ids the newer ones wrap around onto).
        const ids = [...model.keys()];
        const victim = ids[ids.length > 3 && rand(10) !== 0 ? 3 + rand(ids.length - 3) : rand(ids.length)]!;
        table.delete(model.get(victim)!);
        model.delete(victim);
      }
      peak = Math.max(peak, model.size);
      largest = Math.max(largest, table.capacity);
      displaced = Math.max(displaced, table.displaced);
      if (table.size !== model.size) mismatches++;
      if (step % 97 === 0) {
        for (const [id, s] of model) if (table.get(id) !== s) mismatches++;
        // Ids never opened, and ids already closed, are absent.
        if (table.get(nextId) !== undefined || table.get(nextId + 2) !== undefined) mismatches++;
        for (let id = firstId; id < nextId; id += 2 * (1 + rand(50))) if (!model.has(id) && table.get(id) !== undefined) mismatches++;
      }
    }
    t.equal(mismatches, 0, `ids from ${firstId}: lookups and sizes agree with a Map (peak ${peak} open streams)`);
    t.ok(peak > 300, `the ring grew well past its first capacity (to ${largest} slots)`);
    t.ok(displaced > 0, `long-lived streams the ids wrapped onto moved to the overflow (up to ${displaced})`);
    t.same(table.toArray().map((s) => s.id).sort((a, b) => a - b), [...model.keys()].sort((a, b) => a - b), 'toArray lists exactly the open streams');
  }
  t.end();
});

t.test('deleting a stream that is not in the table changes nothing; clear empties it', (t) => {
  const table = new StreamTable();
  const a = stream(1);
  const b = stream(129); // same slot as 1 in the first 64-slot ring
  table.add(a);
  table.add(b);
  table.delete(stream(65));
  t.equal(table.size, 2);
  t.equal(table.get(129), b);
  t.equal(table.get(1), a, 'the older stream on the same slot is still found');
  table.delete(a);
  t.equal(table.get(129), b, 'the newer one is still found after the older one is gone');
  t.equal(table.get(1), undefined);
  table.clear();
  t.equal(table.size, 0);
  t.equal(table.get(129), undefined);
  t.end();
});

t.test('the ring keeps its size while the open streams swing between a few and a few dozen', (t) => {
  const table = new StreamTable();
  let id = 1;
  const open: H2Stream[] = [];
  const sizes = new Set<number>();
  for (let round = 0; round < 50; round++) {
    while (open.length < 40) {
      const s = stream(id);
      id += 2;
      table.add(s);
      open.push(s);
    }
    while (open.length > 2) table.delete(open.shift()!);
    sizes.add(table.capacity);
  }
  t.same([...sizes], [64], 'the first ring serves throughout');
  t.end();
});
