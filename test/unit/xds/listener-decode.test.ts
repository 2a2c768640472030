import t from 'tap';
import { DecodeContext } from '../../../src/xds/resources/decode-context';
import { decodeListener } from '../../../src/xds/resources/listener';

const TCP_PROXY = 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy';
const tcp = (cluster: string, extra: Record<string, unknown> = {}) => ({ name: 'envoy.filters.network.tcp_proxy', typed_config: { '@type': TCP_PROXY, stat_prefix: cluster, cluster, ...extra } });
const address = { socket_address: { address: '0.0.0.0', port_value: 15001 } };

function decode(l: Record<string, unknown>): { model: ReturnType<typeof decodeListener>; errors: string; warnings: string } {
  const ctx = new DecodeContext();
  const model = decodeListener({ name: 'l', address, ...l }, 'l', ctx);
  return { model, errors: ctx.errors.map((e) => `${e.path}: ${e.message}`).join('\n'), warnings: ctx.warnings.map((e) => `${e.path}: ${e.message}`).join('\n') };
}

t.test("Istio's virtualOutbound decodes: use_original_dst adds original_dst, chains with matches, tcp_proxy, istio.stats no-op", async (t) => {
  const { model, errors } = decode({
    use_original_dst: true,
    filter_chains: [
      { name: 'virtualOutbound-blackhole', filter_chain_match: { destination_port: 15001 }, filters: [{ name: 'istio.stats', typed_config: { '@type': 'type.googleapis.com/stats.PluginConfig' } }, tcp('BlackHoleCluster')] },
      { name: 'virtualOutbound-catchall-tcp', filters: [tcp('PassthroughCluster', { max_connect_attempts: 1 })] },
    ],
  });
  t.equal(errors, '');
  t.same(model.listenerFilters.map((f) => f.kind), ['original_dst'], 'Envoy appends original_dst for use_original_dst');
  t.equal(model.useOriginalDst, true);
  t.equal(model.bindToPort, true);
  t.equal(model.filterChains[0]!.match.destinationPort, 15001);
  t.same(model.filterChains.map((c) => c.tcpProxy?.clusters[0]?.name), ['BlackHoleCluster', 'PassthroughCluster']);
  t.equal(model.filterChains[1]!.tcpProxy!.idleTimeoutMs, 3_600_000, "tcp_proxy's idle_timeout default (1 h)");
});

t.test('security network filters and unknown ones are rejected by name; terminal filters must be last', async (t) => {
  const { errors } = decode({
    filter_chains: [
      { filters: [{ name: 'envoy.filters.network.rbac', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.network.rbac.v3.RBAC' } }, tcp('x')] },
      { filter_chain_match: { destination_port: 1 }, filters: [{ name: 'envoy.filters.network.ext_authz', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.network.ext_authz.v3.ExtAuthz' } }, tcp('x')] },
      { filter_chain_match: { destination_port: 2 }, filters: [{ name: 'envoy.filters.network.redis_proxy', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.network.redis_proxy.v3.RedisProxy' } }] },
      { filter_chain_match: { destination_port: 3 }, filters: [tcp('x'), { name: 'istio.stats', typed_config: { '@type': 'type.googleapis.com/stats.PluginConfig' } }] },
      { filter_chain_match: { destination_port: 4 }, filters: [tcp('x', { tunneling_config: { hostname: 'h:443' } })] },
    ],
  });
  t.match(errors, /l\.filter_chains\[0\]\.filters\[0\]: network filter "envoy\.filters\.network\.rbac" \(envoy\.extensions\.filters\.network\.rbac\.v3\.RBAC\) is not supported: Legate does not implement RBAC authorization/);
  t.match(errors, /l\.filter_chains\[1\]\.filters\[0\]: .*does not implement external authorization/);
  t.match(errors, /l\.filter_chains\[2\]\.filters\[0\]: network filter "envoy\.filters\.network\.redis_proxy" .* is not supported/);
  t.match(errors, /l\.filter_chains\[3\]\.filters\[0\]: tcp_proxy is a terminal filter and must be the last network filter/);
  t.match(errors, /l\.filter_chains\[4\]\.filters\[0\]\.typed_config\.tunneling_config: tunneling_config is not supported/);
});

t.test('listener filters: unknown ones rejected, filter_disabled decoded, duplicate matches rejected', async (t) => {
  const { model, errors } = decode({
    listener_filters: [
      { name: 'envoy.filters.listener.tls_inspector', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector' }, filter_disabled: { or_match: { rules: [{ destination_port_range: { start: 80, end: 81 } }, { destination_port_range: { start: 15006, end: 15007 } }] } } },
      { name: 'envoy.filters.listener.proxy_protocol', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.listener.proxy_protocol.v3.ProxyProtocol' } },
    ],
    bind_to_port: false,
    filter_chains: [
      { name: 'a', filter_chain_match: { transport_protocol: 'raw_buffer' }, filters: [tcp('x')] },
      { name: 'b', filter_chain_match: { transport_protocol: 'raw_buffer' }, filters: [tcp('y')] },
    ],
  });
  t.match(errors, /l\.listener_filters\[1\]: listener filter "envoy\.filters\.listener\.proxy_protocol" .* is not supported/);
  t.match(errors, /l\.filter_chains: multiple filter chains with the same matching rules are defined \("a" and "b"\)/);
  t.same(model.listenerFilters[0]!.disabled, { kind: 'or', rules: [{ kind: 'destination_port_range', start: 80, end: 81 }, { kind: 'destination_port_range', start: 15006, end: 15007 }] });
  t.equal(model.bindToPort, false);
});
