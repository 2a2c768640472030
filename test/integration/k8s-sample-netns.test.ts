/**
 * The Dubbo mesh sample of config/k8s/dubbo-mesh/ run as written, pods as network namespaces:
 * every pod gets the capture rules of its Deployment's `legate-init` container (sidecar.yaml) and
 * Legate as uid 1337 with the sidecar container's command line and the `legate-bootstrap`
 * ConfigMap's bootstrap, unchanged (same ports, same cluster DNS names: each namespace's
 * /etc/hosts stands in for cluster DNS, with the v1 headless name resolving to both v1 pods).
 *
 * - The consumer app calls the provider Service's ClusterIP (which exists nowhere) with the
 *   provider's authority: captured, handed off to 0.0.0.0_50052 by original destination, split
 *   80/20 over v1/v2 and balanced per request over both v1 pods; each call is captured again on
 *   the provider pod by virtualInbound and reaches the app from 127.0.0.6.
 * - Another authority on port 50052 passes through (allow_any → PassthroughCluster).
 * - "kubelet" (a namespace without a proxy) reaches 15021/ready and 15090/stats/prometheus
 *   directly: the capture rules exclude them.
 *
 * Needs root, iptables and iproute2; skipped otherwise.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import YAML from 'yaml';
import { repoRoot } from '../fakes/repo-root';
import { exec, makeNetwork, must, PEER, peer, PROXY_UID, startIn, statOf, whyNetnsUnavailable } from './netns-harness';

type Obj = Record<string, any>;

const K8S = path.join(repoRoot(), 'config', 'k8s', 'dubbo-mesh');
const VIP = '10.96.0.10';
const PODS = {
  consumer: { ip: '10.77.0.2', deployment: 'dubbo-samples-mesh-consumer', app: 'consumer' },
  v1a: { ip: '10.77.0.3', deployment: 'dubbo-samples-mesh-provider-v1', app: 'v1-a' },
  v1b: { ip: '10.77.0.4', deployment: 'dubbo-samples-mesh-provider-v1', app: 'v1-b' },
  v2: { ip: '10.77.0.5', deployment: 'dubbo-samples-mesh-provider-v2', app: 'v2' },
} as const;
const KUBELET = '10.77.0.9';
const PROVIDER_AUTHORITY = 'dubbo-samples-mesh-provider.dubbo-demo.svc.cluster.local:50052';
const CALLS = 100;

const docs = (file: string): Obj[] => YAML.parseAllDocuments(fs.readFileSync(path.join(K8S, file), 'utf8')).map((d) => d.toJS() as Obj);
const configMap = docs('base.yaml').find((d) => d?.kind === 'ConfigMap')!;
const deployments = docs('sidecar.yaml').filter((d) => d?.kind === 'Deployment');
const podSpec = (name: string): Obj => deployments.find((d) => d.metadata.name === name)!.spec.template.spec;

/** Kubelet's $(VAR) expansion of a container's args, from its env (fieldRefs filled in for this pod). */
function expand(args: readonly string[], vars: Readonly<Record<string, string>>): string[] {
  return args.map((a) => a.replace(/\$\((\w+)\)/g, (m, name: string) => vars[name] ?? m));
}

const skip = whyNetnsUnavailable();

t.test('config/k8s/dubbo-mesh as written: capture, hand-off, 80/20 over the subsets, inbound from 127.0.0.6', { skip, timeout: 180_000 }, async (t) => {
  const started = Date.now();
  const net = await makeNetwork(t, { ...Object.fromEntries(Object.entries(PODS).map(([k, p]) => [k, p.ip])), kubelet: KUBELET });
  // Cluster DNS for the headless Services: one A record per ready pod of the version.
  const dns: [string, string][] = [
    [PODS.v1a.ip, 'dubbo-samples-mesh-provider-v1.dubbo-demo.svc.cluster.local'],
    [PODS.v1b.ip, 'dubbo-samples-mesh-provider-v1.dubbo-demo.svc.cluster.local'],
    [PODS.v2.ip, 'dubbo-samples-mesh-provider-v2.dubbo-demo.svc.cluster.local'],
  ];
  for (const pod of Object.keys(PODS)) net.hosts(pod, dns);
  // The ClusterIP exists nowhere, but the consumer has a route for it, so a connect leaves (and is captured).
  await must('ip', ['-n', net.ns('consumer'), 'route', 'add', '10.96.0.0/16', 'dev', 'eth0']);

  // The ConfigMap mounted where the sidecar's -c points, readable by uid 1337.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'legate-k8s-sample-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.chmodSync(dir, 0o755);
  const bootstrapFile = path.join(dir, 'bootstrap.yaml');
  fs.writeFileSync(bootstrapFile, configMap.data['bootstrap.yaml'], { mode: 0o644 });

  const node = process.execPath;
  const legateBin = path.join(repoRoot(), 'bin', 'legate');
  await Promise.all(Object.entries(PODS).map(async ([key, pod]) => {
    const ns = net.ns(key);
    const spec = podSpec(pod.deployment);
    // The app: the sample's Triple port, on every address (as the Dubbo provider binds it).
    const appPort = String(spec.containers.find((c: Obj) => c.name === 'server').ports[0].containerPort);
    await startIn(t, ns, [node, PEER(), 'grpc-server', pod.app, '0.0.0.0', appPort], /READY/);
    // The init container's `legate iptables ...`, then the sidecar's own command line.
    const init = spec.initContainers.find((c: Obj) => c.name === 'legate-init');
    const applied = await exec('ip', ['netns', 'exec', ns, node, legateBin, ...init.args]);
    if (applied.code !== 0) throw new Error(`${key}: legate ${init.args.join(' ')}: ${applied.stderr}`);
    const sidecar = spec.containers.find((c: Obj) => c.name === 'legate');
    const args = expand(sidecar.args, { POD_NAME: `${pod.deployment}-${key}`, POD_NAMESPACE: 'dubbo-demo', INSTANCE_IP: pod.ip });
    args[args.indexOf('-c') + 1] = bootstrapFile;
    await startIn(t, ns, [node, legateBin, ...args], /server is LIVE/, PROXY_UID);
  }));
  t.comment(`4 pods up in ${Date.now() - started} ms`);

  // 1. The consumer's calls to the provider Service: 80/20 over the subsets, per request over the v1 pods.
  const calls = await peer<{ backend: string; peer: string }[]>(net.ns('consumer'), ['grpc-calls', `${VIP}:50052`, String(CALLS), PROVIDER_AUTHORITY]);
  const count = (b: string): number => calls.filter((c) => c.backend === b).length;
  t.equal(calls.length, CALLS);
  t.equal(count('v1-a') + count('v1-b') + count('v2'), CALLS, 'every call reached a provider');
  // 80/20 of 100: v2 expects 20 (sd 4); these bounds fail only if the split is not applied.
  t.ok(count('v2') >= 5 && count('v2') <= 40, `v2 served ${count('v2')} of ${CALLS} (VirtualService weight 20)`);
  t.ok(count('v1-a') >= 15 && count('v1-b') >= 15, `both v1 pods behind the headless name served calls of one channel: ${count('v1-a')} / ${count('v1-b')}`);
  t.ok(calls.every((c) => /127\.0\.0\.6:\d+$/.test(c.peer)), `each provider app saw its sidecar's 127.0.0.6 (virtualInbound → inbound|50052||): ${calls[0]?.peer}`);

  // 2. Another host on port 50052 passes through: straight to the v2 pod's IP (captured there).
  const other = await peer<{ backend: string; peer: string }[]>(net.ns('consumer'), ['grpc-calls', `${PODS.v2.ip}:50052`, '3', 'not-in-the-mesh.example:50052']);
  t.same(other.map((c) => c.backend), ['v2', 'v2', 'v2'], 'allow_any → PassthroughCluster → the original destination');

  // 3. Kubelet and Prometheus reach the proxy's own ports without capture.
  const ready = await peer<{ status: number; body: string }>(net.ns('kubelet'), ['http-get', `http://${PODS.consumer.ip}:15021/ready`]);
  t.equal(ready.status, 200, `GET :15021/ready → ${ready.status} ${ready.body}`);
  const prom = await peer<{ status: number; body: string }>(net.ns('kubelet'), ['http-get', `http://${PODS.v2.ip}:15090/stats/prometheus`]);
  t.equal(prom.status, 200);
  t.match(prom.body, /envoy_cluster_upstream_rq_total\{[^}]*envoy_cluster_name="inbound\|50052\|\|"/, 'the provider\'s inbound cluster in the scrape');

  // What the proxies counted.
  const consumerStats = (await peer<{ body: string }>(net.ns('consumer'), ['http-get', 'http://127.0.0.1:15000/stats'])).body;
  const c = (name: string): number => statOf(consumerStats, name);
  t.equal(c('listener.0.0.0.0_50052.downstream_cx_total'), 2, 'both app connections were handed to 0.0.0.0_50052');
  t.equal(c('cluster.outbound|50052|v1|dubbo-samples-mesh-provider.dubbo-demo.svc.cluster.local.upstream_rq_total'), count('v1-a') + count('v1-b'));
  t.equal(c('cluster.outbound|50052|v2|dubbo-samples-mesh-provider.dubbo-demo.svc.cluster.local.upstream_rq_total'), count('v2'));
  t.equal(c('cluster.PassthroughCluster.upstream_rq_total'), 3);
  const v2Stats = (await peer<{ body: string }>(net.ns('v2'), ['http-get', 'http://127.0.0.1:15000/stats'])).body;
  t.equal(statOf(v2Stats, 'cluster.inbound|50052||.upstream_rq_total'), count('v2') + 3, 'every call to the v2 pod went through its virtualInbound');
  t.comment(`took ${Date.now() - started} ms`);
});
