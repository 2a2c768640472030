/**
 * Micro-benchmark: the per-connection cost of reading the original destination
 * (`readOriginalDst`: the Node-API addon's getsockopt(SO_ORIGINAL_DST), plus the JS around it),
 * compared with what Node already pays for the socket's own addresses (`socket.localAddress`,
 * a getsockname through libuv) and with a filter chain selection on a realistic matcher
 * (Istio's virtualInbound shape).
 *
 * Two cases for the syscall: a plain loopback connection (no NAT entry: the kernel answers
 * ENOENT and the call returns undefined), and, when run as root with iptables, a connection
 * REDIRECTed by an OUTPUT rule inside a fresh network namespace (the kernel finds the conntrack
 * entry and returns the original address). Run:
 *   node dist/bench/micro/original-dst.js            (loopback case; adds the REDIRECT case as root)
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import os from 'node:os';
import { parseIpBits } from '../../src/common/ip-bits';
import type { ConnectionFacts } from '../../src/listener/connection-facts';
import { FilterChainMatcher } from '../../src/listener/filter-chain-matcher';
import { readOriginalDst } from '../../src/listener/original-dst';
import { DecodeContext } from '../../src/xds/resources/decode-context';
import { decodeFilterChainMatch } from '../../src/xds/resources/filter-chain-match';

const N = 200_000;

function time(label: string, n: number, fn: () => unknown): number {
  for (let i = 0; i < 10_000; i++) fn(); // warm-up
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) fn();
  const ns = Number(process.hrtime.bigint() - t0) / n;
  console.log(`${label.padEnd(58)} ${ns.toFixed(0).padStart(6)} ns/call`);
  return ns;
}

/** A connected pair: a server on `listenPort`, a client connecting to `connectTo` (its port defaults to the server's). */
async function accepted(listenPort: number, connectTo: { host: string; port?: number }): Promise<{ server: net.Server; socket: net.Socket; client: net.Socket }> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(listenPort, '0.0.0.0', r));
  const got = new Promise<net.Socket>((r) => server.once('connection', r));
  const client = net.connect({ host: connectTo.host, port: connectTo.port ?? (server.address() as net.AddressInfo).port });
  return { server, socket: await got, client };
}

async function main(): Promise<void> {
  const redirected = process.argv.includes('--redirected');
  console.log(`node ${process.version}, ${os.cpus()[0]?.model} × ${os.cpus().length}, load ${os.loadavg()[0]!.toFixed(1)}${redirected ? ', inside a namespace with an iptables REDIRECT' : ''}`);
  if (redirected) {
    // Started by the root case below: 10.123.0.1:80 is REDIRECTed to 127.0.0.1:15001 by OUTPUT.
    const { server, socket, client } = await accepted(15001, { host: '10.123.0.1', port: 80 });
    const dst = readOriginalDst(socket);
    console.log(`original destination read back: ${dst?.host}:${dst?.port} (local address ${socket.localAddress}:${socket.localPort})`);
    time('readOriginalDst, REDIRECTed connection (conntrack hit)', N, () => readOriginalDst(socket));
    client.destroy();
    server.close();
    return;
  }
  const { server, socket, client } = await accepted(0, { host: '127.0.0.1' });
  time('readOriginalDst, loopback connection (no NAT entry)', N, () => readOriginalDst(socket));
  time('socket.localAddress (Node caches the getsockname)', N, () => socket.localAddress);

  // Filter chain selection on Istio's virtualInbound chains (+ 10 per-port chains).
  const ctx = new DecodeContext();
  const any0 = [{ address_prefix: '0.0.0.0', prefix_len: 0 }];
  const matches = [
    { destination_port: 15006 },
    { prefix_ranges: any0, transport_protocol: 'tls', application_protocols: ['istio-http/1.0', 'istio-http/1.1', 'istio-h2'] },
    { prefix_ranges: any0, transport_protocol: 'raw_buffer', application_protocols: ['http/1.1', 'h2c'] },
    { prefix_ranges: any0, transport_protocol: 'tls', application_protocols: ['istio-peer-exchange', 'istio'] },
    { prefix_ranges: any0, transport_protocol: 'raw_buffer' },
    { prefix_ranges: any0, transport_protocol: 'tls' },
    ...Array.from({ length: 10 }, (_, i) => [
      { destination_port: 8000 + i, transport_protocol: 'tls', application_protocols: ['istio', 'istio-peer-exchange', 'istio-http/1.0', 'istio-http/1.1', 'istio-h2'] },
      { destination_port: 8000 + i, transport_protocol: 'raw_buffer' },
    ]).flat(),
  ].map((m, i) => ({ match: decodeFilterChainMatch(m, `fc[${i}]`, ctx), value: i, label: String(i) }));
  const matcher = new FilterChainMatcher(matches);
  const facts: ConnectionFacts = {
    localHost: '10.1.2.3', localPort: 8005, localIp: parseIpBits('10.1.2.3'), localRestored: true,
    remoteHost: '10.9.8.7', remotePort: 45678, remoteIp: parseIpBits('10.9.8.7'),
    serverName: '', transportProtocol: 'raw_buffer', applicationProtocols: ['h2c'],
  };
  time('filter chain selection (virtualInbound shape, 26 chains)', N, () => matcher.find(facts));
  time('connection facts: parse local + remote IPv4 addresses', N, () => parseIpBits('10.9.8.7') && parseIpBits('10.1.2.3'));
  client.destroy();
  server.close();

  if (process.getuid?.() === 0) {
    const ns = `lgt-bench-${randomBytes(3).toString('hex')}`;
    try {
      execFileSync('ip', ['netns', 'add', ns]);
      const sh = (cmd: string): void => { execFileSync('ip', ['netns', 'exec', ns, 'sh', '-c', cmd], { stdio: 'ignore' }); };
      sh('ip link set lo up && ip link add d0 type veth peer name d1 && ip addr add 10.123.0.2/24 dev d0 && ip link set d0 up && ip link set d1 up');
      sh('iptables -t nat -A OUTPUT -p tcp -d 10.123.0.1 --dport 80 -j REDIRECT --to-ports 15001');
      const out = execFileSync('ip', ['netns', 'exec', ns, process.execPath, __filename, '--redirected'], { encoding: 'utf8' });
      process.stdout.write(out.split('\n').slice(1).join('\n'));
    } catch (err) {
      console.log(`REDIRECT case skipped: ${(err as Error).message.split('\n')[0]}`);
    } finally {
      try { execFileSync('ip', ['netns', 'del', ns]); } catch { /* already gone */ }
    }
  } else {
    console.log('REDIRECT case skipped: needs root (network namespace + iptables)');
  }
}

void main();
