/**
 * JitteredBackoff against Envoy's JitteredExponentialBackOffStrategy: full jitter below an
 * interval that doubles from the base up to the cap, and reset.
 */
import t from 'tap';
import { JitteredBackoff, withUserAgent } from '../../../src/xds/ads';
import { nackMessage } from '../../../src/xds/ads/type-subscription';

t.test('the interval doubles up to the cap; the delay is uniform below it', async (t) => {
  const top = new JitteredBackoff(500, 30_000, () => 0.9999999);
  const delays = Array.from({ length: 9 }, () => top.nextBackOffMs());
  t.same(delays, [499, 999, 1999, 3999, 7999, 15999, 29999, 29999, 29999]);
  top.reset();
  t.equal(top.nextBackOffMs(), 499, 'reset goes back to the base');
  const bottom = new JitteredBackoff(500, 30_000, () => 0);
  t.equal(bottom.nextBackOffMs(), 0, 'full jitter reaches zero');
  const mid = new JitteredBackoff(100, 250, () => 0.5);
  t.same([mid.nextBackOffMs(), mid.nextBackOffMs(), mid.nextBackOffMs()], [50, 100, 125], 'past max/2 the interval is the max');
  t.throws(() => new JitteredBackoff(0, 10), RangeError);
  t.throws(() => new JitteredBackoff(100, 10), RangeError);
});

t.test('NACK messages are joined by newlines and truncated like Envoy', async (t) => {
  t.equal(nackMessage(['a', 'b']), 'a\nb');
  const long = nackMessage(['x'.repeat(5000)]);
  t.equal(long.length, 4096 + '...(truncated)'.length);
  t.ok(long.endsWith('...(truncated)'));
});

t.test('user agent added to the node only when missing', async (t) => {
  const n = withUserAgent({ id: 'a' });
  t.equal(n['user_agent_name'], 'legate');
  t.type(n['user_agent_version'], 'string');
  t.same(withUserAgent({ id: 'a', user_agent_name: 'x', user_agent_version: '9' }), { id: 'a', user_agent_name: 'x', user_agent_version: '9' });
});
