/**
 * The two other ways a sidecar learns original destinations, against the real kernel in network
 * namespaces made by the test (needs root, iptables, ip6tables, iproute2; skipped otherwise):
 *
 * - TPROXY: a `transparent: true` listener (IP_TRANSPARENT through the addon) receives connections
 *   an iptables TPROXY rule diverted to it; the accepted socket's local address is the original
 *   destination (no getsockopt), and use_original_dst hands them to the listener of that address.
 * - IPv6 REDIRECT: getsockopt(SOL_IPV6, IP6T_SO_ORIGINAL_DST) on a connection ip6tables redirected.
 */
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t, { type Test } from 'tap';
import { repoRoot } from '../fakes/repo-root';

function whyNotRunnable(): string | false {
  if (process.platform !== 'linux') return 'network namespaces need Linux';
  if (process.getuid?.() !== 0) return 'needs root (network namespaces, iptables TPROXY, IP_TRANSPARENT); CI runs it as root';
  for (const tool of ['ip', 'iptables', 'ip6tables']) {
    try {
      execFileSync('sh', ['-c', `command -v ${tool} || test -x /usr/sbin/${tool} || test -x /sbin/${tool}`], { stdio: 'ignore' });
    } catch {
      return `${tool} not installed (Debian packages iptables, iproute2)`;
    }
  }
  if (!fs.existsSync(path.join(repoRoot(), 'dist', 'src', 'native', 'original-dst.node'))) return 'the SO_ORIGINAL_DST addon is not built (npm run build)';
  return false;
}

const skip = whyNotRunnable();

function exec(file: string, args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(file, [...args], { encoding: 'utf8', timeout: 20_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

async function sh(ns: string, cmd: string): Promise<void> {
  const r = await exec('ip', ['netns', 'exec', ns, 'sh', '-c', cmd]);
  if (r.code !== 0) throw new Error(`${cmd} failed in ${ns}: ${r.stderr}`);
}

const PEER = (): string => path.join(repoRoot(), 'dist', 'test', 'fakes', 'netns-peer.js');

function startIn(t: Test, ns: string, argv: readonly string[], ready: RegExp): Promise<ChildProcess> {
  const child = spawn('ip', ['netns', 'exec', ns, ...argv], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => { child.kill('SIGKILL'); });
  let output = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${argv.join(' ')} did not get ready:\n${output}`)), 20_000);
    const onData = (c: Buffer): void => {
      output += c.toString();
      if (ready.test(output)) { clearTimeout(timer); resolve(child); }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`${argv.join(' ')} exited (${code}):\n${output}`)); });
  });
}

async function peer<T>(ns: string, args: readonly string[]): Promise<T> {
  const r = await exec('ip', ['netns', 'exec', ns, process.execPath, PEER(), ...args]);
  if (r.code !== 0) throw new Error(`peer ${args.join(' ')} in ${ns} failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as T;
}

const TCP_PROXY = 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy';
const addr = (address: string, port: number) => ({ socket_address: { address, port_value: port } });
const toCluster = (cluster: string) => [{ name: 'envoy.filters.network.tcp_proxy', typed_config: { '@type': TCP_PROXY, stat_prefix: cluster, cluster } }];
const ORIGINAL_DST_FILTER = { name: 'envoy.filters.listener.original_dst', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.listener.original_dst.v3.OriginalDst' } };
const ECHO_PORT = 7100;

t.test('TPROXY (transparent listener) and IPv6 REDIRECT hand connections to the listener of their original destination', { skip, timeout: 90_000 }, async (t) => {
  const tag = randomBytes(3).toString('hex');
  const pod = `lgt-tp-pod-${tag}`;
  const cli = `lgt-tp-cli-${tag}`;
  for (const n of [pod, cli]) {
    await exec('ip', ['netns', 'add', n]);
    t.teardown(() => exec('ip', ['netns', 'del', n]).then(() => undefined));
  }
  await exec('ip', ['-n', pod, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', cli]);
  await sh(pod, 'ip link set lo up && ip addr add 10.88.0.2/24 dev eth0 && ip -6 addr add fd00:88::2/64 dev eth0 nodad && ip link set eth0 up');
  await sh(cli, 'ip link set lo up && ip addr add 10.88.0.3/24 dev eth0 && ip link set eth0 up && ip route add 10.99.0.0/16 via 10.88.0.2');
  // TPROXY: inbound TCP to 10.99.0.1:80 (an address the pod does not have) is diverted to 15006.
  await sh(pod, [
    'sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.eth0.rp_filter=0',
    'iptables -t mangle -A PREROUTING -p tcp -d 10.99.0.1 --dport 80 -j TPROXY --on-port 15006 --tproxy-mark 0x539/0xffffffff',
    'ip rule add fwmark 0x539 lookup 133',
    'ip route add local 0.0.0.0/0 dev lo table 133',
    // IPv6 REDIRECT: the pod's own connections to [fd00:99::1]:81 go to 15001.
    'ip -6 route add fd00:99::/64 dev eth0',
    'ip6tables -t nat -A OUTPUT -p tcp -d fd00:99::1 --dport 81 -j REDIRECT --to-ports 15001',
  ].join(' && '));

  await startIn(t, pod, [process.execPath, PEER(), 'tcp-echo', '127.0.0.1', String(ECHO_PORT)], /READY/);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'legate-tproxy-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const config = path.join(dir, 'bootstrap.json');
  fs.writeFileSync(config, JSON.stringify({
    admin: { address: addr('127.0.0.1', 15000) },
    static_resources: {
      listeners: [
        { name: 'virtualInbound', address: addr('0.0.0.0', 15006), transparent: true, use_original_dst: true, listener_filters: [ORIGINAL_DST_FILTER], default_filter_chain: { filters: toCluster('BlackHoleCluster') } },
        { name: '10.99.0.1_80', address: addr('10.99.0.1', 80), bind_to_port: false, filter_chains: [{ filters: toCluster('echo') }] },
        { name: 'virtualOutbound', address: addr('::', 15001), use_original_dst: true, default_filter_chain: { filters: toCluster('BlackHoleCluster') } },
        { name: 'fd00:99::1_81', address: addr('fd00:99::1', 81), bind_to_port: false, filter_chains: [{ filters: toCluster('echo') }] },
      ],
      clusters: [
        { name: 'BlackHoleCluster', type: 'STATIC', connect_timeout: '1s' },
        { name: 'echo', type: 'STATIC', connect_timeout: '1s', load_assignment: { cluster_name: 'echo', endpoints: [{ lb_endpoints: [{ endpoint: { address: addr('127.0.0.1', ECHO_PORT) } }] }] } },
      ],
    },
  }));
  await startIn(t, pod, [process.execPath, path.join(repoRoot(), 'bin', 'legate'), '-c', config], /server is LIVE/);

  const v4 = await peer<{ sentSha: string; gotSha: string; got: number }>(cli, ['tcp-send', '10.99.0.1', '80', '65536']);
  t.equal(v4.gotSha, v4.sentSha, 'TPROXYed connection handed to 10.99.0.1_80 and echoed byte for byte');
  const v6 = await peer<{ sentSha: string; gotSha: string; got: number }>(pod, ['tcp-send', 'fd00:99::1', '81', '65536']);
  t.equal(v6.gotSha, v6.sentSha, 'IPv6 REDIRECTed connection: original destination read with IP6T_SO_ORIGINAL_DST, handed to [fd00:99::1]:81');

  const stats = await peer<{ status: number; body: string }>(pod, ['http-get', 'http://127.0.0.1:15000/stats']);
  const stat = (name: string): number => Number(new RegExp(`^${name.replace(/[.|[\]]/g, '\\$&')}: (\\d+)$`, 'm').exec(stats.body)?.[1] ?? NaN);
  t.equal(stat('listener.10.99.0.1_80.downstream_cx_total'), 1);
  t.equal(stat('listener.[fd00_99__1]_81.downstream_cx_total'), 1);
  t.equal(stat('tcp.BlackHoleCluster.downstream_cx_total'), 0, 'nothing fell through to the black hole');
});
