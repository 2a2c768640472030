/**
 * RING_HASH / MAGLEV with a route hash_policy on `x-user`, against three real grpc-js backends:
 * each user stays on one endpoint, and the users spread over all of them (issue #4).
 */
import t from 'tap';
import { lbSetup } from './lb-helpers';

const HASH_ROUTE = { hash_policy: [{ header: { header_name: 'x-user' } }] };

for (const [name, cluster] of [
  ['RING_HASH', { lb_policy: 'RING_HASH', ring_hash_lb_config: { minimum_ring_size: 1024 } }],
  ['MAGLEV', { lb_policy: 'MAGLEV' }],
  ['typed RingHash', {
    load_balancing_policy: { policies: [{ typed_extension_config: { name: 'envoy.load_balancing_policies.ring_hash', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.load_balancing_policies.ring_hash.v3.RingHash', minimum_ring_size: 2048 } } }] },
  }],
] as const) {
  t.test(`${name}: each x-user sticks to one endpoint and users spread`, async (t) => {
    const { client } = await lbSetup(t, ['a', 'b', 'c'], () => ({ ...cluster }), HASH_ROUTE);
    const home = new Map<string, Set<string>>();
    for (let round = 0; round < 4; round++) {
      const results = await Promise.all(Array.from({ length: 60 }, (_, i) =>
        client.unary({ payload: Buffer.from('x') }, { metadata: { 'x-user': `user-${i}` } }).then((r) => [`user-${i}`, r.response.backend] as const)));
      for (const [user, backend] of results) {
        if (!home.has(user)) home.set(user, new Set());
        home.get(user)!.add(backend);
      }
    }
    const split = [...home.values()].filter((s) => s.size > 1).length;
    t.equal(split, 0, 'no user was served by two endpoints');
    const perBackend: Record<string, number> = {};
    for (const s of home.values()) for (const b of s) perBackend[b] = (perBackend[b] ?? 0) + 1;
    t.same(Object.keys(perBackend).sort(), ['a', 'b', 'c'], `users spread: ${JSON.stringify(perBackend)}`);
    for (const [b, n] of Object.entries(perBackend)) t.ok(n >= 8, `${b} is home to ${n} of 60 users`);
  });
}

t.test('RING_HASH without a hash policy balances at random', async (t) => {
  const { client } = await lbSetup(t, ['a', 'b'], () => ({ lb_policy: 'RING_HASH' }));
  const results = await Promise.all(Array.from({ length: 100 }, () => client.unary({ payload: Buffer.from('x') })));
  const a = results.filter((r) => r.response.backend === 'a').length;
  t.ok(a > 25 && a < 75, `a served ${a}/100`);
});
