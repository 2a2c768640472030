/**
 * LEAST_REQUEST against two real grpc-js backends, one of which answers slowly (its requests
 * get `sleep_ms: 100`): the faster endpoint must take more than 65% of the calls (issue #4).
 */
import t from 'tap';
import { lbSetup } from './lb-helpers';

t.test('LEAST_REQUEST sends most calls to the faster of two endpoints', async (t) => {
  const { client } = await lbSetup(t, ['fast', 'slow'], () => ({ lb_policy: 'LEAST_REQUEST' }), {}, { slow: 100 });
  const served: Record<string, number> = {};
  const inflight = new Set<Promise<void>>();
  const total = 400;
  let started = 0;
  // Keep 8 calls in flight: the slow endpoint accumulates active requests, and P2C picks it
  // only when both samples land on it (≈ 1/4), so the fast one should serve ≈ 75%.
  while (started < total || inflight.size > 0) {
    while (started < total && inflight.size < 8) {
      started++;
      const p: Promise<void> = client.unary({ payload: Buffer.from('x') }).then((r) => {
        served[r.response.backend] = (served[r.response.backend] ?? 0) + 1;
      }).finally(() => inflight.delete(p));
      inflight.add(p);
    }
    await Promise.race(inflight);
  }
  const fast = served['fast'] ?? 0;
  t.equal(fast + (served['slow'] ?? 0), total, 'every call succeeded');
  t.ok(fast / total > 0.65, `fast endpoint served ${(100 * fast / total).toFixed(1)}% (> 65% expected)`);
  t.ok((served['slow'] ?? 0) > 0, 'the slow endpoint still gets some calls');
});

t.test('ROUND_ROBIN, for contrast, splits the same load evenly', async (t) => {
  const { client } = await lbSetup(t, ['fast', 'slow'], () => ({ lb_policy: 'ROUND_ROBIN' }), {}, { slow: 10 });
  const results = await Promise.all(Array.from({ length: 200 }, () => client.unary({ payload: Buffer.from('x') })));
  const fast = results.filter((r) => r.response.backend === 'fast').length;
  t.ok(fast >= 90 && fast <= 110, `fast served ${fast}/200`);
});
