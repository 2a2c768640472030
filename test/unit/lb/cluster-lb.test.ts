/**
 * The LB configuration end to end without sockets: decodeCluster → Cluster → pick, with the
 * route's hash_policy compiled by the RouteTable and hashed by computeRequestHash (the path
 * the router takes per request).
 */
import t from 'tap';
import { decodeCluster } from '../../../src/xds/resources/cluster';
import { decodeRouteConfig } from '../../../src/xds/resources/route-config';
import { DecodeContext } from '../../../src/xds/resources/decode-context';
import { Cluster } from '../../../src/upstream/cluster';
import { RouteTable } from '../../../src/router/route-table';
import { computeRequestHash } from '../../../src/router/hash-policy';
import type { ClusterPicker } from '../../../src/upstream/pickers/cluster-picker';

function cluster(extra: Record<string, unknown>, endpoints: unknown[] = [{ lb_endpoints: [1, 2, 3].map((i) => ep(`10.0.0.${i}`)) }]) {
  const ctx = new DecodeContext();
  const model = decodeCluster({ name: 'svc', type: 'STATIC', load_assignment: { cluster_name: 'svc', endpoints }, ...extra }, 'cluster', ctx);
  return { model, ctx };
}
const ep = (ip: string, more: Record<string, unknown> = {}) => ({ endpoint: { address: { socket_address: { address: ip, port_value: 80 } } }, ...more });

t.test('RING_HASH through the route table: the same x-user always lands on the same host', async (t) => {
  const { model, ctx } = cluster({ lb_policy: 'RING_HASH', ring_hash_lb_config: { minimum_ring_size: 4096 } });
  t.same(ctx.errors, []);
  t.equal(model.lbConfig.minRingSize, 4096);
  const c = new Cluster(model);
  t.teardown(() => c.destroy());
  const rctx = new DecodeContext();
  const rc = decodeRouteConfig({ name: 'r', virtual_hosts: [{ name: 'v', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'svc', hash_policy: [{ header: { header_name: 'x-user' } }] } }] }] }, 'rc', rctx);
  t.same(rctx.errors, []);
  const entry = new RouteTable(rc).match('svc', '/', {})!;
  t.ok(entry.hashPolicy, 'compiled once in the route table');
  const homes = new Map<string, Set<string>>();
  for (let round = 0; round < 5; round++) {
    for (let u = 0; u < 100; u++) {
      const headers = { 'x-user': `user-${u}` };
      const host = c.pick({ hash: computeRequestHash(entry.hashPolicy!, headers, '127.0.0.1') })!;
      if (!homes.has(headers['x-user'])) homes.set(headers['x-user'], new Set());
      homes.get(headers['x-user'])!.add(host.key);
    }
  }
  t.ok([...homes.values()].every((s) => s.size === 1), 'sticky');
  const used = new Set([...homes.values()].flatMap((s) => [...s]));
  t.equal(used.size, 3, 'spread over all hosts');
});

t.test('decoding: MAGLEV table size must be prime; ring sizes bounded; hash_function', async (t) => {
  t.match(cluster({ lb_policy: 'MAGLEV', maglev_lb_config: { table_size: 65536 } }).ctx.errors, [{ path: 'cluster.maglev_lb_config.table_size' }]);
  t.same(cluster({ lb_policy: 'MAGLEV', maglev_lb_config: { table_size: 251 } }).ctx.errors, []);
  t.match(cluster({ lb_policy: 'RING_HASH', ring_hash_lb_config: { minimum_ring_size: 10, maximum_ring_size: 5 } }).ctx.errors, [{ message: /minimum_ring_size \(10\) > maximum_ring_size \(5\)/ }]);
  t.match(cluster({ lb_policy: 'RING_HASH', ring_hash_lb_config: { hash_function: 'MURMUR_HASH_2' } }).ctx.errors, [{ path: 'cluster.ring_hash_lb_config.hash_function' }]);
  t.match(cluster({ lb_policy: 'CLUSTER_PROVIDED' }).ctx.errors, [{ path: 'cluster.lb_policy' }]);
  t.match(cluster({ lb_policy: 'RING_HASH', common_lb_config: { consistent_hashing_lb_config: { hash_balance_factor: 150 } } }).ctx.errors, [{ message: /hash_balance_factor/ }]);
});

t.test('decoding: typed load_balancing_policy forms (Envoy Gateway sends least_request with locality weights)', async (t) => {
  const typed = (type: string, cfg: Record<string, unknown>) => ({ load_balancing_policy: { policies: [{ typed_extension_config: { name: 'x', typed_config: { '@type': `type.googleapis.com/envoy.extensions.load_balancing_policies.${type}`, ...cfg } } }] } });
  let r = cluster(typed('least_request.v3.LeastRequest', { choice_count: 3, active_request_bias: { default_value: 0.5, runtime_key: 'k' }, locality_lb_config: { locality_weighted_lb_config: {} } }));
  t.same(r.ctx.errors, []);
  t.equal(r.model.lbPolicy, 'LEAST_REQUEST');
  t.match(r.model.lbConfig, { choiceCount: 3, activeRequestBias: 0.5, localityWeighted: true });
  r = cluster(typed('maglev.v3.Maglev', { table_size: 5003 }));
  t.match(r.model, { lbPolicy: 'MAGLEV', lbConfig: { maglevTableSize: 5003 } });
  r = cluster(typed('ring_hash.v3.RingHash', { minimum_ring_size: 64, maximum_ring_size: 128, consistent_hashing_lb_config: { use_hostname_for_hashing: true } }));
  t.match(r.model, { lbPolicy: 'RING_HASH', lbConfig: { minRingSize: 64, maxRingSize: 128, useHostnameForHashing: true } });
  r = cluster({ load_balancing_policy: { policies: [{ typed_extension_config: { name: 'x', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.load_balancing_policies.client_side_weighted_round_robin.v3.ClientSideWeightedRoundRobin' } } }, { typed_extension_config: { name: 'y', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.load_balancing_policies.random.v3.Random' } } }] } });
  t.equal(r.model.lbPolicy, 'RANDOM', 'the first supported policy of the list');
});

t.test('endpoints: locality weight, hash_key metadata, overprovisioning factor', async (t) => {
  const { model, ctx } = cluster({ lb_policy: 'ROUND_ROBIN', common_lb_config: { locality_weighted_lb_config: {} } }, [
    { locality: { zone: 'a' }, load_balancing_weight: 3, lb_endpoints: [ep('10.0.0.1', { metadata: { filter_metadata: { 'envoy.lb': { hash_key: 'k1' } } } })] },
    { locality: { zone: 'b' }, priority: 1, lb_endpoints: [ep('10.0.0.2')] },
  ]);
  t.same(ctx.errors, []);
  t.match(model.endpoints[0], { localityWeight: 3, hashKey: 'k1', priority: 0 });
  t.match(model.endpoints[1], { localityWeight: 0, hashKey: '', priority: 1 });
  t.equal(model.endpoints[0]!.assignmentPolicy.overprovisioningFactor, 140);
  const withPolicy = decodeCluster({ name: 's', type: 'STATIC', load_assignment: { policy: { overprovisioning_factor: 100 }, endpoints: [{ lb_endpoints: [ep('10.0.0.1')] }] } }, 'c', new DecodeContext());
  t.equal(withPolicy.endpoints[0]!.assignmentPolicy.overprovisioningFactor, 100);
});

t.test('Cluster: priority load from real hosts (EDS health_status), panic counted per pick', async (t) => {
  const { model } = cluster({ lb_policy: 'ROUND_ROBIN' }, [
    { lb_endpoints: [ep('10.0.0.1'), ep('10.0.0.2', { health_status: 'UNHEALTHY' })] },
    { priority: 1, lb_endpoints: [ep('10.0.1.1')] },
  ]);
  const c = new Cluster(model);
  t.teardown(() => c.destroy());
  t.same((c.currentPicker as ClusterPicker).load.healthy, [70, 30]);
  const keys = Array.from({ length: 2000 }, () => c.pick()!.key);
  const p0 = keys.filter((k) => k === '10.0.0.1:80').length;
  t.ok(Math.abs(p0 / 2000 - 0.7) < 0.05, `P0 got ${p0}/2000`);
  t.notOk(keys.includes('10.0.0.2:80'));
  t.equal(c.stats.lb_healthy_panic, 0);

  const { model: allDown } = cluster({ lb_policy: 'ROUND_ROBIN' }, [{ lb_endpoints: [ep('10.0.0.1', { health_status: 'UNHEALTHY' }), ep('10.0.0.2', { health_status: 'UNHEALTHY' })] }]);
  const d = new Cluster(allDown);
  t.teardown(() => d.destroy());
  t.ok(d.inPanic);
  t.ok(d.pick());
  t.equal(d.stats.lb_healthy_panic, 1);
});
