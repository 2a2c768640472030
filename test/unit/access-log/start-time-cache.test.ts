import t from 'tap';
import { formatStartTime } from '../../../src/access-log/start-time';

t.test('%START_TIME% with the per-second cache prints exactly what toISOString prints', async (t) => {
  const base = Date.parse('2022-07-15T05:35:14.000Z');
  // Same second, next second, going back in time, milliseconds 0/7/70/999, epoch 0 and before it.
  for (const ms of [base, base + 7, base + 70, base + 999, base + 1000, base + 1001, base - 1, base, 0, 999, -1, -1500, 253402300799999]) {
    t.equal(formatStartTime(ms), new Date(ms).toISOString(), `epoch ms ${ms}`);
  }
  t.equal(formatStartTime(base + 418.9), '2022-07-15T05:35:14.418Z', 'fractions truncated');
});
