/**
 * Filter chains on one real listener, served by the real binary: the TLS and HTTP inspectors
 * peek at the first bytes, filter_chain_match picks the chain, and the chain's terminal filter
 * (http_connection_manager or tcp_proxy) serves the connection with those bytes intact. No
 * iptables here (sidecar-netns.test.ts covers original destinations and hand-offs).
 */
import http from 'node:http';
import net from 'node:net';
import tls from 'node:tls';
import t from 'tap';
import { startGrpcBackend } from '../fakes/grpc-backend';
import { createEchoClient } from '../fakes/grpc-client';
import { freePort, startLegate } from '../fakes/legate-process';

const HCM = 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
const TCP_PROXY = 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy';
const addr = (address: string, port: number) => ({ socket_address: { address, port_value: port } });
const staticCluster = (name: string, port: number, h2 = false) => ({
  name,
  type: 'STATIC',
  connect_timeout: '1s',
  ...(h2 ? { typed_extension_protocol_options: { 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': { '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions', explicit_http_config: { http2_protocol_options: {} } } } } : {}),
  load_assignment: { cluster_name: name, endpoints: [{ lb_endpoints: [{ endpoint: { address: addr('127.0.0.1', port) } }] }] },
});
const tcpProxy = (statPrefix: string, target: Record<string, unknown>) => ({ name: 'envoy.filters.network.tcp_proxy', typed_config: { '@type': TCP_PROXY, stat_prefix: statPrefix, ...target } });

/** A raw TCP server that records what it receives and answers `reply` + echo. */
async function tcpSink(reply: string): Promise<{ port: number; received: () => Buffer; connections: () => number; close: () => void }> {
  let got = Buffer.alloc(0);
  let n = 0;
  const server = net.createServer({ allowHalfOpen: true }, (s) => {
    n++;
    s.on('error', () => undefined);
    s.write(reply);
    s.on('data', (c: Buffer) => {
      got = Buffer.concat([got, c]);
      s.write(c);
    });
    s.on('end', () => s.end());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { port: (server.address() as net.AddressInfo).port, received: () => got, connections: () => n, close: () => server.close() };
}

function rawExchange(port: number, payload: Buffer, opts: { waitFor?: number } = {}): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const s = net.connect({ host: '127.0.0.1', port, allowHalfOpen: true }, () => s.end(payload));
    s.on('data', (c: Buffer) => {
      chunks.push(c);
      if (opts.waitFor !== undefined && Buffer.concat(chunks).length >= opts.waitFor) s.destroy();
    });
    s.on('close', () => resolve(Buffer.concat(chunks)));
    s.on('error', reject);
  });
}

async function statsOf(adminPort: number): Promise<(name: string) => number> {
  const body = await new Promise<string>((resolve, reject) => {
    http.get(`http://127.0.0.1:${adminPort}/stats`, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve(text));
    }).on('error', reject);
  });
  return (name) => Number(new RegExp(`^${name.replace(/[.|[\]]/g, '\\$&')}: (\\d+)$`, 'm').exec(body)?.[1] ?? NaN);
}

t.test('inspectors + filter_chain_match + HCM / tcp_proxy / default chain on one listener', async (t) => {
  const grpcBackend = await startGrpcBackend({ name: 'http-chain', services: ['echo'] });
  t.teardown(() => grpcBackend.stop(100));
  const sni = await tcpSink('');
  const plain = await tcpSink('');
  const weightedA = await tcpSink('A:');
  const weightedB = await tcpSink('B:');
  t.teardown(() => { sni.close(); plain.close(); weightedA.close(); weightedB.close(); });
  const port = await freePort();
  const strictPort = await freePort();
  const adminPort = await freePort();
  const config = {
    admin: { address: addr('127.0.0.1', adminPort) },
    static_resources: {
      listeners: [
        {
          name: 'mixed',
          address: addr('127.0.0.1', port),
          listener_filters: [
            { name: 'envoy.filters.listener.tls_inspector', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector' } },
            { name: 'envoy.filters.listener.http_inspector', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.listener.http_inspector.v3.HttpInspector' } },
          ],
          listener_filters_timeout: '1s',
          continue_on_listener_filters_timeout: true,
          filter_chains: [
            {
              name: 'http',
              filter_chain_match: { transport_protocol: 'raw_buffer', application_protocols: ['http/1.1', 'h2c'] },
              filters: [{
                name: 'envoy.filters.network.http_connection_manager',
                typed_config: {
                  '@type': HCM,
                  stat_prefix: 'mixed_http',
                  route_config: { virtual_hosts: [{ name: 'all', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'grpc' } }] }] },
                  http_filters: [{ name: 'envoy.filters.http.router', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } }],
                },
              }],
            },
            { name: 'sni', filter_chain_match: { transport_protocol: 'tls', server_names: ['*.example.com'] }, filters: [tcpProxy('sni', { cluster: 'sni' })] },
            { name: 'weighted', filter_chain_match: { transport_protocol: 'tls', server_names: ['weighted.test'] }, filters: [tcpProxy('weighted', { weighted_clusters: { clusters: [{ name: 'wa', weight: 1 }, { name: 'wb', weight: 1 }] } })] },
          ],
          default_filter_chain: { name: 'fallback', filters: [tcpProxy('fallback', { cluster: 'plain', idle_timeout: '0.5s' })] },
        },
        {
          name: 'strict',
          address: addr('127.0.0.1', strictPort),
          listener_filters: [{ name: 'envoy.filters.listener.http_inspector', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.listener.http_inspector.v3.HttpInspector' } }],
          listener_filters_timeout: '0.3s',
          continue_on_listener_filters_timeout: true,
          filter_chains: [{ filter_chain_match: { application_protocols: ['h2c'] }, filters: [tcpProxy('strict', { cluster: 'plain' })] }],
        },
      ],
      clusters: [staticCluster('grpc', grpcBackend.port, true), staticCluster('sni', sni.port), staticCluster('plain', plain.port), staticCluster('wa', weightedA.port), staticCluster('wb', weightedB.port)],
    },
  };
  const proxy = await startLegate({ configYaml: JSON.stringify(config), readyTimeoutMs: 60_000 });
  t.teardown(() => proxy.stop());

  // h2c (prior knowledge): http_inspector says "h2c" → the HCM chain.
  const client = createEchoClient(`127.0.0.1:${port}`);
  t.teardown(() => client.close());
  t.equal((await client.unary({})).response.backend, 'http-chain');

  // HTTP/1.1: "http/1.1" → the same chain, routed to the gRPC backend, whose own 415 (not a gRPC request) comes back.
  const h1Status = await new Promise<number>((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path: '/legate.test.Echo/Unary', agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    }).on('error', reject);
  });
  t.equal(h1Status, 415, 'HTTP/1.1 was served by the HCM chain');

  // TLS with SNI under *.example.com → tcp_proxy "sni": the ClientHello reaches the sink untouched.
  await new Promise<void>((resolve) => {
    const c = tls.connect({ host: '127.0.0.1', port, servername: 'www.example.com', rejectUnauthorized: false });
    c.on('error', () => undefined);
    const check = setInterval(() => {
      if (sni.received().length > 0) {
        clearInterval(check);
        c.destroy();
        resolve();
      }
    }, 20);
  });
  t.equal(sni.received()[0], 0x16, 'the sink got the TLS handshake record');
  t.ok(sni.received().includes(Buffer.from('www.example.com')), 'with the SNI in it');

  // weighted_clusters: connections spread over both clusters.
  for (let i = 0; i < 20 && (weightedA.connections() === 0 || weightedB.connections() === 0); i++) {
    const before = weightedA.connections() + weightedB.connections();
    const c = tls.connect({ host: '127.0.0.1', port, servername: 'weighted.test', rejectUnauthorized: false });
    c.on('error', () => undefined);
    for (let w = 0; w < 100 && weightedA.connections() + weightedB.connections() === before; w++) await new Promise((r) => setTimeout(r, 20));
    c.destroy();
  }
  t.ok(weightedA.connections() > 0 && weightedB.connections() > 0, `weighted_clusters used both clusters (A ${weightedA.connections()}, B ${weightedB.connections()})`);

  // Anything else → default_filter_chain (tcp_proxy), byte for byte.
  const payload = Buffer.from('\x00\x01binary payload, not HTTP, not TLS\xff');
  const echoed = await rawExchange(port, payload);
  t.same(echoed, payload, 'the default chain relayed the bytes both ways and the half-close');

  // A listener without a default chain closes what matches no chain (no_filter_chain_match).
  const closed = await rawExchange(strictPort, Buffer.from('hello'));
  t.equal(closed.length, 0, 'closed without an answer');

  // A client that says nothing: http_inspector waits until listener_filters_timeout (0.3 s), then
  // the connection goes on without an ALPN (continue_on_listener_filters_timeout): no chain, closed.
  const silentClosedAfter = await new Promise<number>((resolve, reject) => {
    const startedAt = Date.now();
    const s = net.connect({ host: '127.0.0.1', port: strictPort });
    s.on('close', () => resolve(Date.now() - startedAt));
    s.on('error', reject);
    s.resume();
  });
  t.ok(silentClosedAfter >= 250, `a silent client was held for the listener filter timeout (${silentClosedAfter} ms)`);

  const stat = await statsOf(adminPort);
  t.equal(stat('listener.127.0.0.1_' + strictPort + '.downstream_pre_cx_timeout'), 1);
  t.equal(stat('listener.127.0.0.1_' + strictPort + '.no_filter_chain_match'), 2);
  t.equal(stat('tcp.fallback.downstream_cx_total'), 1);
  t.equal(stat('tcp.fallback.downstream_cx_rx_bytes_total'), payload.length);
  t.equal(stat('tcp.fallback.downstream_cx_tx_bytes_total'), payload.length);
  t.equal(stat('cluster.plain.upstream_cx_total'), 1);
  t.equal(stat('cluster.plain.upstream_cx_tx_bytes_total'), payload.length);
  t.ok(stat('tcp.sni.downstream_cx_total') >= 1);
  t.ok(stat('http.mixed_http.downstream_cx_total') >= 2);
});

t.test('an ORIGINAL_DST cluster behind an HTTP route: use_http_header, and no host without a destination', async (t) => {
  const backend = await startGrpcBackend({ name: 'by-header', services: ['echo'] });
  t.teardown(() => backend.stop(100));
  const port = await freePort();
  const config = {
    admin: { address: addr('127.0.0.1', await freePort()) },
    static_resources: {
      listeners: [{
        name: 'http',
        address: addr('127.0.0.1', port),
        filter_chains: [{
          filters: [{
            name: 'envoy.filters.network.http_connection_manager',
            typed_config: {
              '@type': HCM,
              stat_prefix: 'od',
              route_config: { virtual_hosts: [{ name: 'all', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'od' } }] }] },
              http_filters: [{ name: 'envoy.filters.http.router', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } }],
            },
          }],
        }],
      }],
      clusters: [{
        name: 'od',
        type: 'ORIGINAL_DST',
        lb_policy: 'CLUSTER_PROVIDED',
        connect_timeout: '1s',
        original_dst_lb_config: { use_http_header: true },
        typed_extension_protocol_options: { 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': { '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions', explicit_http_config: { http2_protocol_options: {} } } },
      }],
    },
  };
  const proxy = await startLegate({ configYaml: JSON.stringify(config), readyTimeoutMs: 60_000 });
  t.teardown(() => proxy.stop());
  const client = createEchoClient(`127.0.0.1:${port}`);
  t.teardown(() => client.close());
  const ok = await client.unary({}, { metadata: { 'x-envoy-original-dst-host': `127.0.0.1:${backend.port}` } });
  t.equal(ok.response.backend, 'by-header', 'the header named the host');
  const none = await client.unarySettled({});
  t.equal(none.status.details, 'no healthy upstream', 'a listener without original_dst restores no destination: 503 UH, as Envoy');
});
