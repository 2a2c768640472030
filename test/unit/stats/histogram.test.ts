import t from 'tap';
import client from 'prom-client';
import { DEFAULT_BUCKETS, Histogram } from '../../../src/stats/histogram';

t.test("Envoy's default buckets", async (t) => {
  t.same(DEFAULT_BUCKETS, [0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000, 1800000, 3600000]);
});

t.test('circllhist semantics: bins, approximate sum, quantiles', async (t) => {
  const h = new Histogram();
  t.notOk(h.used);
  h.record(5.7); // truncated to 5 → bin [5, 5.1)
  const s = h.cumulativeStatistics();
  t.equal(s.sampleCount, 1);
  t.equal(s.sampleSum, 5.05, 'sum of bin midpoints');
  t.equal(s.cumulativeBuckets[DEFAULT_BUCKETS.indexOf(5)], 0, 'a 5 ms sample is not entirely <= 5');
  t.equal(s.cumulativeBuckets[DEFAULT_BUCKETS.indexOf(10)], 1);
  const expected = [5, 5.025, 5.05, 5.075, 5.09, 5.095, 5.099, 5.0995, 5.0999, 5.1];
  expected.forEach((x, i) => t.ok(Math.abs(s.quantiles[i]! - x) < 1e-9, `P${i}: ${s.quantiles[i]} ≈ ${x}`));
  t.equal(s.quantiles[0], 5);
  t.equal(s.quantiles[9], 5.1);
  t.ok(Number.isNaN(h.intervalStatistics().quantiles[0]!), 'no interval before the first flush');
  h.flush();
  t.equal(h.intervalStatistics().sampleCount, 1);
  h.flush();
  t.equal(h.intervalStatistics().sampleCount, 0, 'intervals turn over');
  t.equal(h.cumulativeStatistics().sampleCount, 1, 'cumulative stays');
});

t.test('bins of larger values and zero', async (t) => {
  const h = new Histogram();
  for (const v of [0, 0.4, 123, 999, 1000, 3_600_001]) h.record(v);
  const s = h.cumulativeStatistics();
  t.equal(s.sampleCount, 6);
  t.equal(s.cumulativeBuckets[0], 2, 'zeros are below every bound');
  t.equal(s.cumulativeBuckets[DEFAULT_BUCKETS.indexOf(250)], 3, '123 → [120,130)');
  t.equal(s.cumulativeBuckets[DEFAULT_BUCKETS.indexOf(1000)], 4, '999 → [990,1000) is <= 1000; 1000 → [1000,1100) is not');
  t.equal(s.cumulativeBuckets[DEFAULT_BUCKETS.indexOf(2500)], 5);
  t.equal(s.cumulativeBuckets[DEFAULT_BUCKETS.length - 1], 5, 'above the last bound only in +Inf');
  t.equal(s.sampleSum, 0 + 0 + 125 + 995 + 1050 + 3650000);
});

t.test('bucket counts agree with prom-client for values away from bin edges', async (t) => {
  // prom-client counts value <= le; Envoy counts whole bins <= le. For integer values whose
  // bin ends below the next bound the two agree, which makes prom-client a useful oracle.
  const values = [2, 3, 7, 12, 20, 40, 70, 120, 200, 400, 700, 2000, 4000, 8000];
  const reg = new client.Registry();
  const ph = new client.Histogram({ name: 'x', help: 'x', buckets: [...DEFAULT_BUCKETS], registers: [reg] });
  const h = new Histogram();
  for (const v of values) {
    ph.observe(v);
    h.record(v);
  }
  const json = await reg.getMetricsAsJSON();
  const promBuckets = (json[0]!.values as Array<{ metricName?: string; labels: { le?: string | number }; value: number }>)
    .filter((v) => v.metricName === 'x_bucket' && v.labels.le !== '+Inf').map((v) => v.value);
  t.same(h.cumulativeStatistics().cumulativeBuckets, promBuckets);
});
