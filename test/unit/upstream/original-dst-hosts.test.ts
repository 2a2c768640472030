import t from 'tap';
import { Cluster } from '../../../src/upstream/cluster';
import { decodeCluster } from '../../../src/xds/resources/cluster';
import { DecodeContext } from '../../../src/xds/resources/decode-context';

function originalDstCluster(extra: Record<string, unknown> = {}): Cluster {
  const ctx = new DecodeContext();
  const model = decodeCluster({ name: 'PassthroughCluster', type: 'ORIGINAL_DST', lb_policy: 'CLUSTER_PROVIDED', connect_timeout: 1000, ...extra }, '', ctx);
  if (!ctx.ok) throw new Error(JSON.stringify(ctx.errors));
  return new Cluster(model);
}

t.test('ORIGINAL_DST: the host is the restored destination, made on first use and reused', async (t) => {
  const c = originalDstCluster();
  t.teardown(() => c.destroy());
  t.ok(c.originalDst, 'the cluster picks by original destination');
  t.equal(c.pick(), undefined, 'no picker: there are no configured hosts');
  t.equal(c.originalDst!.pick(undefined), undefined, 'no restored destination: no host (never back to our own listener)');
  const a = c.originalDst!.pick('10.1.2.3:8080');
  t.equal(a?.key, '10.1.2.3:8080');
  t.equal(c.originalDst!.pick('10.1.2.3:8080'), a, 'the same host object for the same destination');
  t.equal(c.originalDst!.pick('[2001:db8::1]:443')?.key, '[2001:db8::1]:443');
  t.equal(c.allHosts().length, 2, '/clusters and stats see them');
});

t.test('use_http_header, http_header_name and upstream_port_override', async (t) => {
  const c = originalDstCluster({ original_dst_lb_config: { use_http_header: true, http_header_name: 'X-Dst', upstream_port_override: 9000 } });
  t.teardown(() => c.destroy());
  t.equal(c.originalDst!.pick(undefined, { 'x-dst': '10.0.0.7:80' })?.key, '10.0.0.7:9000', 'header, port overridden');
  t.equal(c.originalDst!.pick('10.0.0.8:80', { 'x-dst': 'not-an-ip:80' })?.key, '10.0.0.8:9000', 'an invalid header falls back to the connection');
  t.equal(c.originalDst!.pick(undefined, {}), undefined);
});

t.test('cleanup_interval: hosts unused for a whole interval are removed', async (t) => {
  const c = originalDstCluster({ cleanup_interval: 100 }); // normalized durations are in ms
  t.teardown(() => c.destroy());
  c.originalDst!.pick('10.0.0.1:1');
  c.originalDst!.pick('10.0.0.2:2');
  const keep = setInterval(() => c.originalDst!.pick('10.0.0.2:2'), 20);
  await new Promise((r) => setTimeout(r, 450));
  clearInterval(keep);
  t.same(c.allHosts().map((h) => h.key), ['10.0.0.2:2'], 'the used host stays, the idle one is gone');
});

t.test('decoding: ORIGINAL_DST rules as Envoy has them', async (t) => {
  const ctx = new DecodeContext();
  decodeCluster({ name: 'a', type: 'ORIGINAL_DST', lb_policy: 'ROUND_ROBIN', load_assignment: { cluster_name: 'a', endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '1.2.3.4', port_value: 1 } } } }] }] } }, 'c', ctx);
  decodeCluster({ name: 'b', type: 'STATIC', lb_policy: 'CLUSTER_PROVIDED', upstream_bind_config: { source_address: { address: 'localhost', port_value: 0 }, freebind: true } }, 'd', ctx);
  const text = ctx.errors.map((e) => `${e.path}: ${e.message}`).join('\n');
  t.match(text, /c\.lb_policy: LB policy ROUND_ROBIN is not valid for cluster type ORIGINAL_DST/);
  t.match(text, /c\.load_assignment: ORIGINAL_DST clusters must have no load assignment configured/);
  t.match(text, /d\.lb_policy: LB policy CLUSTER_PROVIDED is only valid for cluster type ORIGINAL_DST/);
  t.match(text, /d\.upstream_bind_config\.freebind: freebind is not supported/);
  t.match(text, /d\.upstream_bind_config\.source_address\.address: "localhost" is not an IP address/);
});
