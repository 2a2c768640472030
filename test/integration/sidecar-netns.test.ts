/**
 * The sidecar end to end, in network namespaces made by the test: a "pod" namespace with the
 * rules of `legate iptables` and Legate running as uid 1337 with an Istio-shaped static
 * bootstrap (virtualOutbound 15001 with use_original_dst, virtualInbound 15006, a bind_to_port
 * false 0.0.0.0:50052 outbound listener, PassthroughCluster, InboundPassthroughCluster), two
 * provider namespaces and a client namespace on one bridge.
 *
 * - The app's gRPC calls to a VIP that exists nowhere (10.96.0.10:50052) are captured, handed to
 *   the 0.0.0.0_50052 listener by original destination and balanced per request over both providers.
 * - Inbound calls to the pod IP are captured on 15006 and reach the app from 127.0.0.6.
 * - Legate's own upstream connections are not captured again (uid 1337, 127.0.0.6).
 * - Plain TCP to an unknown destination passes through PassthroughCluster byte for byte.
 * - `legate iptables --cleanup` removes every rule.
 *
 * Needs root, iptables and iproute2; skipped otherwise (as iptables-netns.test.ts).
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t, { type Test } from 'tap';
import { repoRoot } from '../fakes/repo-root';
import { exec, must, PEER, PROXY_UID, startIn, whyNetnsUnavailable } from './netns-harness';

const POD = '10.77.0.2';
const PROVIDERS = ['10.77.0.3', '10.77.0.4'];
const CLIENT = '10.77.0.5';
const VIP = '10.96.0.10';
const SVC_PORT = 50052;
const APP_PORT = 8080;
const RAW_PORT = 7000;
const APP_TCP_PORT = 7001;

const skip = whyNetnsUnavailable();

/** A hub namespace with a bridge; every other namespace gets one veth on it. */
async function makeNetwork(t: Test): Promise<{ ns: (name: string) => string }> {
  const tag = randomBytes(3).toString('hex');
  const names: string[] = [];
  const ns = (name: string): string => `lgt-${name}-${tag}`;
  t.teardown(async () => {
    for (const n of names.reverse()) await exec('ip', ['netns', 'del', n]);
  });
  const hub = ns('hub');
  names.push(hub);
  await must('ip', ['netns', 'add', hub]);
  await must('ip', ['-n', hub, 'link', 'add', 'br0', 'type', 'bridge']);
  await must('ip', ['-n', hub, 'link', 'set', 'br0', 'up']);
  const nodes: [string, string][] = [['pod', POD], ['p1', PROVIDERS[0]!], ['p2', PROVIDERS[1]!], ['cli', CLIENT]];
  for (const [i, [name, ip]] of nodes.entries()) {
    const n = ns(name);
    names.push(n);
    await must('ip', ['netns', 'add', n]);
    await must('ip', ['-n', hub, 'link', 'add', `v${i}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', n]);
    await must('ip', ['-n', hub, 'link', 'set', `v${i}`, 'master', 'br0', 'up']);
    await must('ip', ['-n', n, 'addr', 'add', `${ip}/24`, 'dev', 'eth0']);
    await must('ip', ['-n', n, 'link', 'set', 'eth0', 'up']);
    await must('ip', ['-n', n, 'link', 'set', 'lo', 'up']);
  }
  // The service VIP exists nowhere, but the pod has a route for it, so a connect leaves (and is captured).
  await must('ip', ['-n', ns('pod'), 'route', 'add', '10.96.0.0/16', 'dev', 'eth0']);
  return { ns };
}

/** Runs a one-shot peer in `ns` and returns its JSON line. */
async function peer<T>(ns: string, args: readonly string[]): Promise<T> {
  const r = await exec('ip', ['netns', 'exec', ns, process.execPath, PEER(), ...args]);
  if (r.code !== 0) throw new Error(`peer ${args.join(' ')} in ${ns} failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as T;
}

const TCP_PROXY = 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy';
const HCM = 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
const ROUTER = [{ name: 'envoy.filters.http.router', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } }];
const H2 = {
  'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
    '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
    explicit_http_config: { http2_protocol_options: {} },
  },
};
const addr = (address: string, port: number) => ({ socket_address: { address, port_value: port } });
const tcpProxy = (cluster: string) => ({ name: 'envoy.filters.network.tcp_proxy', typed_config: { '@type': TCP_PROXY, stat_prefix: cluster, cluster } });
const istioStats = { name: 'istio.stats', typed_config: { '@type': 'type.googleapis.com/stats.PluginConfig' } };
const listenerFilter = (name: string, type: string, extra: Record<string, unknown> = {}) => ({ name: `envoy.filters.listener.${name}`, typed_config: { '@type': `type.googleapis.com/envoy.extensions.filters.listener.${name}.v3.${type}` }, ...extra });
const hcm = (statPrefix: string, cluster: string) => ({
  name: 'envoy.filters.network.http_connection_manager',
  typed_config: {
    '@type': HCM,
    stat_prefix: statPrefix,
    route_config: { name: statPrefix, virtual_hosts: [{ name: 'all', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster, timeout: '0s' } }] }] },
    http_filters: ROUTER,
  },
});

/** What istiod and pilot-agent would give a sidecar of this pod, as one static bootstrap. */
function sidecarBootstrap(): Record<string, unknown> {
  const outboundSvc = `outbound|${SVC_PORT}||provider.default.svc.cluster.local`;
  return {
    node: { id: `sidecar~${POD}~app.default~default.svc.cluster.local`, cluster: 'app.default' },
    admin: { address: addr('127.0.0.1', 15000) },
    static_resources: {
      listeners: [
        {
          name: 'virtualOutbound',
          address: addr('0.0.0.0', 15001),
          use_original_dst: true,
          traffic_direction: 'OUTBOUND',
          // Istio's virtualOutbound has no inspector; this one peeks too, so a connection that was
          // already peeked at is handed to a listener (0.0.0.0_50052) that peeks again.
          listener_filters: [listenerFilter('original_dst', 'OriginalDst'), listenerFilter('http_inspector', 'HttpInspector')],
          listener_filters_timeout: '2s',
          continue_on_listener_filters_timeout: true,
          filter_chains: [
            { name: 'virtualOutbound-blackhole', filter_chain_match: { destination_port: 15001 }, filters: [istioStats, tcpProxy('BlackHoleCluster')] },
            { name: 'virtualOutbound-catchall-tcp', filters: [istioStats, tcpProxy('PassthroughCluster')] },
          ],
        },
        {
          name: 'virtualInbound',
          address: addr('0.0.0.0', 15006),
          traffic_direction: 'INBOUND',
          listener_filters: [
            listenerFilter('original_dst', 'OriginalDst'),
            listenerFilter('tls_inspector', 'TlsInspector', { filter_disabled: { destination_port_range: { start: 15006, end: 15007 } } }),
            listenerFilter('http_inspector', 'HttpInspector', { filter_disabled: { destination_port_range: { start: 15006, end: 15007 } } }),
          ],
          listener_filters_timeout: '0s',
          continue_on_listener_filters_timeout: true,
          filter_chains: [
            { name: 'virtualInbound-blackhole', filter_chain_match: { destination_port: 15006 }, filters: [tcpProxy('BlackHoleCluster')] },
            {
              name: `0.0.0.0_${APP_PORT}`,
              filter_chain_match: { destination_port: APP_PORT, transport_protocol: 'raw_buffer', application_protocols: ['http/1.1', 'h2c'] },
              filters: [hcm(`inbound_0.0.0.0_${APP_PORT}`, `inbound|${APP_PORT}||`)],
            },
            { name: 'virtualInbound', filter_chain_match: { prefix_ranges: [{ address_prefix: '0.0.0.0', prefix_len: 0 }], transport_protocol: 'raw_buffer' }, filters: [istioStats, tcpProxy('InboundPassthroughClusterIpv4')] },
          ],
        },
        {
          name: `0.0.0.0_${SVC_PORT}`,
          address: addr('0.0.0.0', SVC_PORT),
          bind_to_port: false,
          traffic_direction: 'OUTBOUND',
          listener_filters: [listenerFilter('tls_inspector', 'TlsInspector'), listenerFilter('http_inspector', 'HttpInspector')],
          listener_filters_timeout: '0s',
          continue_on_listener_filters_timeout: true,
          filter_chains: [{
            filter_chain_match: { transport_protocol: 'raw_buffer', application_protocols: ['http/1.1', 'h2c'] },
            filters: [hcm(`outbound_0.0.0.0_${SVC_PORT}`, outboundSvc)],
          }],
          default_filter_chain: { name: 'PassthroughFilterChain', filters: [istioStats, tcpProxy('PassthroughCluster')] },
        },
      ],
      clusters: [
        {
          name: outboundSvc,
          type: 'STATIC',
          connect_timeout: '2s',
          lb_policy: 'ROUND_ROBIN',
          typed_extension_protocol_options: H2,
          load_assignment: { cluster_name: outboundSvc, endpoints: [{ lb_endpoints: PROVIDERS.map((ip) => ({ endpoint: { address: addr(ip, SVC_PORT) } })) }] },
        },
        { name: 'PassthroughCluster', type: 'ORIGINAL_DST', lb_policy: 'CLUSTER_PROVIDED', connect_timeout: '2s' },
        { name: 'BlackHoleCluster', type: 'STATIC', connect_timeout: '2s' },
        { name: 'InboundPassthroughClusterIpv4', type: 'ORIGINAL_DST', lb_policy: 'CLUSTER_PROVIDED', connect_timeout: '2s', upstream_bind_config: { source_address: { address: '127.0.0.6', port_value: 0 } } },
        {
          name: `inbound|${APP_PORT}||`,
          type: 'ORIGINAL_DST',
          lb_policy: 'CLUSTER_PROVIDED',
          connect_timeout: '2s',
          typed_extension_protocol_options: H2,
          upstream_bind_config: { source_address: { address: '127.0.0.6', port_value: 0 } },
        },
      ],
    },
  };
}

t.test('sidecar in a pod namespace: capture, original destination, hand-off, passthrough, clean-up', { skip, timeout: 90_000 }, async (t) => {
  const started = Date.now();
  const { ns } = await makeNetwork(t);
  const node = process.execPath;
  await Promise.all([
    startIn(t, ns('p1'), [node, PEER(), 'grpc-server', 'provider-1', '0.0.0.0', String(SVC_PORT)], /READY/),
    startIn(t, ns('p2'), [node, PEER(), 'grpc-server', 'provider-2', '0.0.0.0', String(SVC_PORT)], /READY/),
    startIn(t, ns('p1'), [node, PEER(), 'tcp-echo', '0.0.0.0', String(RAW_PORT)], /READY/),
    startIn(t, ns('pod'), [node, PEER(), 'grpc-server', 'app', '0.0.0.0', String(APP_PORT)], /READY/),
    startIn(t, ns('pod'), [node, PEER(), 'tcp-whoami', '0.0.0.0', String(APP_TCP_PORT)], /READY/),
  ]);

  const flags = ['-p', '15001', '-z', '15006', '-u', String(PROXY_UID), '-m', 'REDIRECT', '-i', '*', '-x', '', '-b', '*', '-d', '15090,15021,15020'];
  const legateBin = path.join(repoRoot(), 'bin', 'legate');
  const applied = await exec('ip', ['netns', 'exec', ns('pod'), node, legateBin, 'iptables', ...flags]);
  t.equal(applied.code, 0, applied.stderr);

  // A config file uid 1337 can read.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'legate-sidecar-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.chmodSync(dir, 0o755);
  const config = path.join(dir, 'sidecar.json');
  fs.writeFileSync(config, JSON.stringify(sidecarBootstrap(), null, 2), { mode: 0o644 });
  await startIn(t, ns('pod'), [node, legateBin, '-c', config, '--drain-time-s', '1'], /server is LIVE/, PROXY_UID);

  // 1. Outbound: the app calls a VIP that exists nowhere; per-request balancing over both providers.
  const calls = await peer<{ backend: string; peer: string }[]>(ns('pod'), ['grpc-calls', `${VIP}:${SVC_PORT}`, '20']);
  const byBackend = new Map<string, number>();
  for (const c of calls) byBackend.set(c.backend, (byBackend.get(c.backend) ?? 0) + 1);
  t.same([...byBackend.keys()].sort(), ['provider-1', 'provider-2'], 'both providers served calls of one client channel');
  t.ok((byBackend.get('provider-1') ?? 0) >= 5 && (byBackend.get('provider-2') ?? 0) >= 5, `balanced per request: ${JSON.stringify([...byBackend])}`);
  t.ok(calls.every((c) => c.peer.startsWith(`${POD}:`) || c.peer.startsWith(`ipv4:${POD}:`)), `providers saw the pod's address (Legate's own connections, not captured again): ${calls[0]?.peer}`);

  // 2. Inbound: another namespace calls the pod IP; captured on 15006, the app sees 127.0.0.6.
  const inbound = await peer<{ backend: string; peer: string }[]>(ns('cli'), ['grpc-calls', `${POD}:${APP_PORT}`, '3']);
  t.same(inbound.map((c) => c.backend), ['app', 'app', 'app']);
  t.ok(inbound.every((c) => /127\.0\.0\.6:\d+$/.test(c.peer)), `the app saw InboundPassthrough's 127.0.0.6 source: ${inbound[0]?.peer}`);

  // Plain TCP inbound to another app port: the catch-all chain, tcp_proxy to InboundPassthroughClusterIpv4.
  const asked = await peer<{ text: string }>(ns('cli'), ['tcp-ask', POD, String(APP_TCP_PORT)]);
  t.match(asked.text, /^127\.0\.0\.6:\d+$/, 'plain TCP reached the app from 127.0.0.6 through InboundPassthroughClusterIpv4');

  // 3. Non-HTTP TCP to a destination no listener knows: PassthroughCluster, byte for byte, half-close included.
  const raw = await peer<{ sentSha: string; gotSha: string; got: number }>(ns('pod'), ['tcp-send', PROVIDERS[0]!, String(RAW_PORT), String(256 * 1024)]);
  t.equal(raw.got, 256 * 1024);
  t.equal(raw.gotSha, raw.sentSha, 'the echo came back byte for byte through PassthroughCluster');

  // What Legate counted: the hand-off landed on 0.0.0.0_50052; passthrough went through tcp_proxy.
  const stats = await peer<{ status: number; body: string }>(ns('pod'), ['http-get', 'http://127.0.0.1:15000/stats']);
  const stat = (name: string): number => Number(new RegExp(`^${name.replace(/[.|[\]]/g, '\\$&')}: (\\d+)$`, 'm').exec(stats.body)?.[1] ?? NaN);
  t.equal(stat('listener.0.0.0.0_50052.downstream_cx_total'), 1, 'one app connection handed to the bind_to_port:false listener');
  t.equal(stat('tcp.PassthroughCluster.downstream_cx_total'), 1, 'one passthrough connection');
  t.equal(stat('cluster.PassthroughCluster.upstream_cx_total'), 1);
  t.equal(stat('cluster.PassthroughCluster.upstream_cx_tx_bytes_total'), 256 * 1024);
  // Legate's own upstream connections were not captured again: each would have come back through
  // 15001 / 15006 and been counted a second time.
  t.equal(stat('listener.0.0.0.0_15001.downstream_cx_total'), 1, 'virtualOutbound served only the passthrough connection itself');
  t.equal(stat('listener.0.0.0.0_15006.downstream_cx_total'), 2, "virtualInbound served the client's two connections; the 127.0.0.6 hops to the app were not captured");
  t.equal(stat('tcp.InboundPassthroughClusterIpv4.downstream_cx_total'), 1);

  // 4. --cleanup removes every rule of ours.
  const cleaned = await exec('ip', ['netns', 'exec', ns('pod'), node, legateBin, 'iptables', '--cleanup']);
  t.equal(cleaned.code, 0, cleaned.stderr);
  const saved = await exec('ip', ['netns', 'exec', ns('pod'), 'iptables-save']);
  t.notMatch(saved.stdout, /ISTIO_/, 'no ISTIO_ chain or rule is left');
  t.comment(`took ${Date.now() - started} ms`);
});
