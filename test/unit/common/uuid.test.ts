import t from 'tap';
import { randomUuid } from '../../../src/common/uuid';

const V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

t.test('request ids are version-4 UUIDs, unique across pool refills', (t) => {
  const seen = new Set<string>();
  // 2,000 ids: several refills of the 256-id pool.
  for (let i = 0; i < 2000; i++) {
    const id = randomUuid();
    if (!V4.test(id)) t.fail(`not a v4 UUID: ${id}`);
    seen.add(id);
  }
  t.equal(seen.size, 2000, 'no repeats');
  t.end();
});

t.test('a returned id is a string of its own, not a view that changes with the next one', (t) => {
  const first = randomUuid();
  const copy = `${first}`;
  randomUuid();
  t.equal(first, copy);
  t.end();
});

t.test('every hex digit appears in each random position over many ids (not a constant pattern)', (t) => {
  const positions = [0, 7, 9, 15, 20, 35];
  const digits = positions.map(() => new Set<string>());
  for (let i = 0; i < 2000; i++) {
    const id = randomUuid();
    positions.forEach((p, k) => digits[k]!.add(id[p]!));
  }
  for (let k = 0; k < positions.length; k++) t.equal(digits[k]!.size, 16, `position ${positions[k]} takes all 16 digits`);
  t.end();
});
