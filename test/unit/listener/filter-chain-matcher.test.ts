import t from 'tap';
import { parseIpBits } from '../../../src/common/ip-bits';
import type { ConnectionFacts } from '../../../src/listener/connection-facts';
import { FilterChainMatcher } from '../../../src/listener/filter-chain-matcher';
import type { FilterChainMatchModel } from '../../../src/snapshot/model';
import { DecodeContext } from '../../../src/xds/resources/decode-context';
import { decodeFilterChainMatch } from '../../../src/xds/resources/filter-chain-match';

/** A matcher over chains given as proto-JSON filter_chain_match objects, named by index. */
function matcher(matches: Record<string, unknown>[]): FilterChainMatcher<string> {
  const ctx = new DecodeContext();
  const decoded: FilterChainMatchModel[] = matches.map((m, i) => decodeFilterChainMatch(m, `filter_chains[${i}]`, ctx));
  if (!ctx.ok) throw new Error(JSON.stringify(ctx.errors));
  return new FilterChainMatcher(decoded.map((match, i) => ({ match, value: `chain${i}`, label: `chain${i}` })));
}

function conn(over: Partial<{ dst: string; dport: number; src: string; sport: number; sni: string; transport: string; alpn: string[] }> = {}): ConnectionFacts {
  const dst = over.dst ?? '10.0.0.1';
  const src = over.src ?? '10.0.0.9';
  return {
    localHost: dst, localPort: over.dport ?? 80, localIp: parseIpBits(dst), localRestored: true,
    remoteHost: src, remotePort: over.sport ?? 40000, remoteIp: parseIpBits(src),
    serverName: over.sni ?? '', transportProtocol: over.transport ?? 'raw_buffer', applicationProtocols: over.alpn ?? [],
  };
}

t.test("server names: exact, then the longest *.suffix, then no requirement (Envoy's documented example)", async (t) => {
  const m = matcher([
    { server_names: ['www.example.com'] },
    { server_names: ['*.example.com'] },
    { server_names: ['*.com'] },
    {},
  ]);
  t.equal(m.find(conn({ sni: 'www.example.com' })), 'chain0');
  t.equal(m.find(conn({ sni: 'WWW.Example.com' })), 'chain0', 'SNI is case-insensitive');
  t.equal(m.find(conn({ sni: 'api.example.com' })), 'chain1');
  t.equal(m.find(conn({ sni: 'a.b.example.com' })), 'chain1');
  t.equal(m.find(conn({ sni: 'example.com' })), 'chain2', '"example.com" is under *.com, not *.example.com');
  t.equal(m.find(conn({ sni: 'www.example.org' })), 'chain3');
  t.equal(m.find(conn()), 'chain3', 'no SNI: the chain without server_names');
});

t.test('destination port: the exact port beats no port; a wrong port never matches', async (t) => {
  const m = matcher([{ destination_port: 8080 }, {}, { destination_port: 9090, transport_protocol: 'tls' }]);
  t.equal(m.find(conn({ dport: 8080 })), 'chain0');
  t.equal(m.find(conn({ dport: 81 })), 'chain1');
  t.equal(m.find(conn({ dport: 9090, transport: 'tls' })), 'chain2');
});

t.test('no backtracking: the most specific level decides even if nothing below it matches', async (t) => {
  // Port 9090 is claimed by a TLS-only chain; a plaintext connection to 9090 gets no chain, even
  // though the port-less chain would take plaintext (Envoy prunes level by level).
  const m = matcher([{ destination_port: 9090, transport_protocol: 'tls' }, { transport_protocol: 'raw_buffer' }]);
  t.equal(m.find(conn({ dport: 9090, transport: 'raw_buffer' })), undefined);
  t.equal(m.find(conn({ dport: 9091, transport: 'raw_buffer' })), 'chain1');
  const sni = matcher([{ server_names: ['a.example.com'], transport_protocol: 'tls' }, { transport_protocol: 'raw_buffer' }]);
  t.equal(sni.find(conn({ sni: 'a.example.com', transport: 'raw_buffer' })), undefined, 'a matching SNI level with the wrong transport below it: no chain');
});

t.test('destination IP: longest prefix, then chains without prefix_ranges', async (t) => {
  const m = matcher([
    { prefix_ranges: [{ address_prefix: '10.0.0.0', prefix_len: 8 }] },
    { prefix_ranges: [{ address_prefix: '10.1.0.0', prefix_len: 16 }] },
    { prefix_ranges: [{ address_prefix: '10.1.2.3', prefix_len: 32 }, { address_prefix: '2001:db8::', prefix_len: 32 }] },
    {},
  ]);
  t.equal(m.find(conn({ dst: '10.2.0.1' })), 'chain0');
  t.equal(m.find(conn({ dst: '10.1.9.9' })), 'chain1');
  t.equal(m.find(conn({ dst: '10.1.2.3' })), 'chain2');
  t.equal(m.find(conn({ dst: '2001:db8::7' })), 'chain2', 'IPv6 ranges');
  t.equal(m.find(conn({ dst: '192.168.0.1' })), 'chain3');
  t.equal(m.find(conn({ dst: '::ffff:10.1.2.3' })), 'chain2', 'IPv4-mapped addresses match IPv4 ranges');
});

t.test("transport protocol and application protocols (Istio's inbound chains)", async (t) => {
  const m = matcher([
    { destination_port: 80, transport_protocol: 'tls', application_protocols: ['istio', 'istio-peer-exchange', 'istio-http/1.1', 'istio-h2'] },
    { destination_port: 80, transport_protocol: 'raw_buffer' },
    { transport_protocol: 'raw_buffer', application_protocols: ['http/1.1', 'h2c'] },
    { transport_protocol: 'raw_buffer' },
  ]);
  t.equal(m.find(conn({ dport: 80, transport: 'tls', alpn: ['istio-h2'] })), 'chain0');
  t.equal(m.find(conn({ dport: 80, transport: 'tls', alpn: ['h2'] })), undefined, 'TLS on 80 without an Istio ALPN: no chain');
  t.equal(m.find(conn({ dport: 80, alpn: ['h2c'] })), 'chain1');
  t.equal(m.find(conn({ dport: 9080, alpn: ['h2c'] })), 'chain2');
  t.equal(m.find(conn({ dport: 9080, alpn: ['http/1.0'] })), 'chain3');
  t.equal(m.find(conn({ dport: 9080 })), 'chain3');
});

t.test("application protocols are tried in the connection's order", async (t) => {
  const m = matcher([{ application_protocols: ['h2'] }, { application_protocols: ['http/1.1'] }]);
  t.equal(m.find(conn({ alpn: ['http/1.1', 'h2'] })), 'chain1');
  t.equal(m.find(conn({ alpn: ['h2', 'http/1.1'] })), 'chain0');
  t.equal(m.find(conn({ alpn: ['spdy/3'] })), undefined);
});

t.test('source type, source prefix ranges and source ports', async (t) => {
  const m = matcher([
    { source_type: 'SAME_IP_OR_LOOPBACK' },
    { source_type: 'EXTERNAL', source_prefix_ranges: [{ address_prefix: '192.168.0.0', prefix_len: 16 }], source_ports: [1234] },
    { source_type: 'EXTERNAL', source_prefix_ranges: [{ address_prefix: '192.168.0.0', prefix_len: 16 }] },
    { source_type: 'EXTERNAL' },
  ]);
  t.equal(m.find(conn({ src: '127.0.0.1' })), 'chain0', 'loopback');
  t.equal(m.find(conn({ src: '10.0.0.1', dst: '10.0.0.1' })), 'chain0', 'same IP as the destination');
  t.equal(m.find(conn({ src: '192.168.3.4', sport: 1234 })), 'chain1');
  t.equal(m.find(conn({ src: '192.168.3.4', sport: 999 })), 'chain2');
  t.equal(m.find(conn({ src: '172.16.0.1' })), 'chain3');
});

t.test('direct source prefix ranges come before source type', async (t) => {
  const m = matcher([
    { direct_source_prefix_ranges: [{ address_prefix: '10.9.0.0', prefix_len: 16 }], source_type: 'EXTERNAL' },
    { source_type: 'SAME_IP_OR_LOOPBACK' },
  ]);
  t.equal(m.find(conn({ src: '10.9.1.1' })), 'chain0');
  t.equal(m.find(conn({ src: '127.0.0.1' })), 'chain1');
  t.equal(m.find(conn({ src: '10.8.1.1' })), undefined, 'external, outside the direct source range: no chain');
});

t.test('two chains matching the same connections are rejected, as Envoy rejects the listener', async (t) => {
  t.throws(() => matcher([{ destination_port: 80 }, { destination_port: 80 }]), /multiple filter chains with the same matching rules are defined \(chain0 and chain1\)/);
  t.throws(() => matcher([{ server_names: ['a.com', 'b.com'] }, { server_names: ['b.com'] }]), /same matching rules/);
  t.doesNotThrow(() => matcher([{ server_names: ['a.com'] }, { server_names: ['b.com'] }]));
});

t.test('decoding rejects what Envoy rejects', async (t) => {
  const ctx = new DecodeContext();
  decodeFilterChainMatch({ server_names: ['www.*.com'], destination_port: 70000, prefix_ranges: [{ address_prefix: 'nope', prefix_len: 8 }, { address_prefix: '10.0.0.0', prefix_len: 33 }] }, 'fcm', ctx);
  const text = ctx.errors.map((e) => `${e.path}: ${e.message}`).join('\n');
  t.match(text, /fcm\.server_names\[0\]: partial wildcards are not supported/);
  t.match(text, /fcm\.destination_port: must be in 1\.\.65535/);
  t.match(text, /fcm\.prefix_ranges\[0\]\.address_prefix: "nope" is not an IP address/);
  t.match(text, /fcm\.prefix_ranges\[1\]\.prefix_len: must be in 0\.\.32/);
});
