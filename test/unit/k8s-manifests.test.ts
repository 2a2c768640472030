/**
 * config/k8s/ and the Dockerfiles, checked without kubectl or a Docker engine: every document is a
 * well-formed Kubernetes object; the containers, hooks and init steps run command lines that
 * Legate's own parsers accept; the bootstrap in the ConfigMap loads with `legate --mode validate`;
 * and the ports line up across Services, pods, iptables flags and the bootstrap.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import YAML from 'yaml';
import { parseCommandLine } from '../../src/cli/options';
import { parseWaitArgs } from '../../src/cli/wait-command';
import { parseIptablesArgs } from '../../src/iptables/flags';
import { repoRoot } from '../fakes/repo-root';
import { fixturesDir } from '../fixtures-dir';

type Obj = Record<string, any>;

const ROOT = repoRoot();
const K8S = path.join(ROOT, 'config', 'k8s');
const BIN = path.join(ROOT, 'bin', 'legate');

function docsOf(file: string): Obj[] {
  const docs = YAML.parseAllDocuments(fs.readFileSync(file, 'utf8'));
  for (const d of docs) if (d.errors.length) throw new Error(`${file}: ${d.errors.map((e) => e.message).join('; ')}`);
  return docs.map((d) => d.toJS() as Obj | null).filter((d): d is Obj => d !== null);
}

function yamlFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return yamlFiles(p);
    return /\.ya?ml$/.test(e.name) ? [p] : [];
  });
}

function runLegate(args: readonly string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 30_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const base = docsOf(path.join(K8S, 'dubbo-mesh', 'base.yaml'));
const services = base.filter((d) => d.kind === 'Service');
const configMap = base.find((d) => d.kind === 'ConfigMap' && d.metadata.name === 'legate-bootstrap')!;
const bootstrapText = configMap?.data?.['bootstrap.yaml'] as string;
const bootstrap = YAML.parse(bootstrapText) as Obj;
const VARIANTS = { sidecar: 'sidecar.yaml', native: 'native-sidecar.yaml' } as const;
const ISTIO_VALUES = path.join(K8S, 'istio', 'legate-injection-values.yaml');

const staticListener = (name: string): Obj => bootstrap['static_resources'].listeners.find((l: Obj) => l.name === name);
const staticCluster = (name: string): Obj => bootstrap['static_resources'].clusters.find((c: Obj) => c.name === name);
const listenerPort = (name: string): number => staticListener(name).address.socket_address.port_value;
const chainClusters = (l: Obj): string[] => l.filter_chains.map((c: Obj) => c.filters[0].typed_config.cluster);
const inboundChainFor = (port: number): Obj | undefined =>
  staticListener('virtualInbound').filter_chains.find((c: Obj) => c.filter_chain_match?.destination_port === port);
const hcmClusterOf = (chain: Obj): string => chain.filters[0].typed_config.route_config.virtual_hosts[0].routes[0].route.cluster;
const endpointsOf = (c: Obj): Array<{ address: string; port_value: number }> =>
  c.load_assignment.endpoints.flatMap((e: Obj) => e.lb_endpoints.map((lb: Obj) => lb.endpoint.address.socket_address));
const adminPort: number = bootstrap['admin'].address.socket_address.port_value;

t.test('every Kubernetes document has apiVersion, kind and metadata.name', async (t) => {
  const files = yamlFiles(K8S).filter((f) => f !== ISTIO_VALUES);
  t.ok(files.length >= 4, `manifest files found: ${files.map((f) => path.relative(K8S, f)).join(', ')}`);
  for (const file of files) {
    const docs = docsOf(file);
    t.ok(docs.length > 0, `${path.relative(K8S, file)} has documents`);
    for (const [i, d] of docs.entries()) {
      const where = `${path.relative(K8S, file)}[${i}]`;
      t.type(d.apiVersion, 'string', `${where}: apiVersion`);
      t.type(d.kind, 'string', `${where}: kind`);
      t.ok(typeof d.metadata?.name === 'string' && d.metadata.name.length > 0, `${where}: metadata.name`);
      if (d.kind === 'Deployment') {
        t.same(d.spec.selector.matchLabels, Object.fromEntries(Object.keys(d.spec.selector.matchLabels).map((k) => [k, d.spec.template.metadata.labels[k]])), `${where}: the selector matches the pod labels`);
        for (const c of [...(d.spec.template.spec.initContainers ?? []), ...d.spec.template.spec.containers]) {
          t.ok(typeof c.image === 'string' && c.image.length > 0, `${where}: container ${c.name} has an image`);
        }
      }
    }
  }
});

t.test('the bootstrap in the ConfigMap loads with legate --mode validate', async (t) => {
  t.type(bootstrapText, 'string', 'ConfigMap legate-bootstrap has bootstrap.yaml');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'legate-k8s-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'bootstrap.yaml');
  fs.writeFileSync(file, bootstrapText);
  const r = runLegate(['--mode', 'validate', '-c', file]);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /configuration OK/);
});

for (const [variant, file] of Object.entries(VARIANTS)) {
  t.test(`dubbo-mesh/${file}: Legate wired by hand (${variant})`, async (t) => {
    const deployments = docsOf(path.join(K8S, 'dubbo-mesh', file)).filter((d) => d.kind === 'Deployment');
    t.same(deployments.map((d) => d.metadata.name).sort(), ['dubbo-samples-mesh-consumer', 'dubbo-samples-mesh-provider-v1', 'dubbo-samples-mesh-provider-v2']);
    for (const d of deployments) {
      const pod = d.spec.template.spec as Obj;
      const where = `${file} ${d.metadata.name}`;
      const inits = (pod.initContainers ?? []) as Obj[];
      const containers = pod.containers as Obj[];

      // The init step: root with NET_ADMIN/NET_RAW, `legate iptables` with flags our parser accepts.
      const init = inits[0]!;
      t.equal(init.name, 'legate-init', `${where}: the capture rules go in first`);
      t.equal(init.args[0], 'iptables', `${where}: the init container runs legate iptables`);
      const flags = parseIptablesArgs(init.args.slice(1), {});
      t.same(flags.errors, [], `${where}: iptables flags parse`);
      t.equal(init.securityContext.runAsUser, 0, `${where}: iptables needs root`);
      t.ok(['NET_ADMIN', 'NET_RAW'].every((c) => init.securityContext.capabilities.add.includes(c)), `${where}: NET_ADMIN and NET_RAW`);

      // The sidecar: native = an init container with restartPolicy Always, after the rules.
      const sidecar = variant === 'native' ? inits[1]! : containers[0]!;
      t.equal(sidecar.name, 'legate', `${where}: the sidecar`);
      if (variant === 'native') {
        t.equal(sidecar.restartPolicy, 'Always', `${where}: native sidecar`);
        t.notOk(containers.some((c) => c.name === 'legate'), `${where}: not also a regular container`);
        t.equal(sidecar.startupProbe.httpGet.path, '/ready', `${where}: the app starts once /ready passes`);
        t.equal(sidecar.startupProbe.httpGet.port, listenerPort('0.0.0.0_15021'));
      } else {
        t.equal(containers.length, 2, `${where}: legate first, then the app`);
        const wait = sidecar.lifecycle.postStart.exec.command as string[];
        t.same(wait.slice(0, 2), ['legate', 'wait'], `${where}: postStart blocks the app until ready`);
        const w = parseWaitArgs(wait.slice(2));
        t.same(w.errors, [], `${where}: legate wait flags parse`);
        t.equal(w.options?.url, `http://127.0.0.1:${adminPort}/ready`, `${where}: legate wait polls the bootstrap's admin port`);
        t.ok(sidecar.lifecycle.preStop, `${where}: preStop keeps the proxy up while the app stops`);
      }
      t.equal(sidecar.securityContext.runAsUser, 1337, `${where}: sidecar uid 1337`);
      t.equal(sidecar.securityContext.runAsGroup, 1337, `${where}: sidecar gid 1337`);
      t.equal(sidecar.securityContext.runAsNonRoot, true);
      t.equal(sidecar.readinessProbe.httpGet.path, '/ready');
      t.equal(sidecar.readinessProbe.httpGet.port, listenerPort('0.0.0.0_15021'), `${where}: probe port is the bootstrap's 15021 listener`);
      t.ok(sidecar.ports.some((p: Obj) => p.containerPort === listenerPort('0.0.0.0_15021')));

      // Its command line parses, and -c names the ConfigMap's key where it is mounted.
      const cli = parseCommandLine(sidecar.args);
      t.same(cli.errors, [], `${where}: legate args parse`);
      t.equal(cli.options.drainTimeMs, 20_000);
      const mount = sidecar.volumeMounts.find((m: Obj) => cli.options.configPath.startsWith(`${m.mountPath}/`));
      t.ok(mount, `${where}: -c ${cli.options.configPath} is under a mounted volume`);
      const volume = pod.volumes.find((v: Obj) => v.name === mount?.name);
      t.equal(volume?.configMap?.name, configMap.metadata.name, `${where}: that volume is the bootstrap ConfigMap`);
      t.ok(path.basename(cli.options.configPath) in configMap.data, `${where}: the file is a key of the ConfigMap`);
      t.ok(pod.terminationGracePeriodSeconds * 1000 > cli.options.drainTimeMs + 5000, `${where}: the grace period covers preStop + drain`);

      // Ports: capture ports = listener ports; every captured app port has its chain to the app.
      const o = flags.options;
      t.equal(Number(o.envoyPort), listenerPort('virtualOutbound'), `${where}: -p is the outbound listener`);
      t.equal(Number(o.inboundCapturePort), listenerPort('virtualInbound'), `${where}: -z is the inbound listener`);
      t.equal(o.proxyUid, String(sidecar.securityContext.runAsUser), `${where}: -u is the sidecar's uid`);
      const app = containers.find((c) => c.name === 'server')!;
      const appPorts = app.ports.map((p: Obj) => p.containerPort as number);
      // Istio's capture: all outbound, all inbound but the proxy's own ports and kubelet's app probes.
      t.equal(o.serviceCidr, '*', `${where}: -i '*' captures every outbound destination, as istio-iptables`);
      t.equal(o.inboundPorts, '*', `${where}: -b '*' captures every inbound port, as istio-iptables`);
      const excluded = o.localExcludePorts.split(',').map(Number);
      for (const l of ['0.0.0.0_15021', '0.0.0.0_15090']) t.ok(excluded.includes(listenerPort(l)), `${where}: -d excludes ${l}, reached directly by kubelet / Prometheus`);
      t.ok(excluded.includes(15020), `${where}: -d excludes 15020 as istio-iptables does`);
      for (const probe of ['livenessProbe', 'readinessProbe', 'startupProbe']) {
        const port = app[probe]?.httpGet?.port;
        if (port === undefined) continue;
        const number = typeof port === 'number' ? port : app.ports.find((p: Obj) => p.name === port)?.containerPort;
        t.ok(excluded.includes(number), `${where}: the app's ${probe} port ${number} is not captured`);
      }
      // Every captured app port (not excluded) has its own inbound chain to the app on loopback.
      for (const p of appPorts.filter((p: number) => !excluded.includes(p))) {
        const chain = inboundChainFor(p);
        t.ok(chain, `${where}: virtualInbound has a chain for the app's port ${p}`);
        const cluster = staticCluster(hcmClusterOf(chain!));
        t.same(endpointsOf(cluster), [{ address: '127.0.0.1', port_value: p }], `${where}: port ${p} → the app on 127.0.0.1:${p}`);
        t.equal(cluster.upstream_bind_config?.source_address?.address, '127.0.0.6', `${where}: from 127.0.0.6, which the rules never capture`);
      }
    }

    // Every Service selects pods of this variant, on a port those pods expose.
    for (const s of services) {
      const pods = deployments.filter((d) => Object.entries(s.spec.selector as Record<string, string>).every(([k, v]) => d.spec.template.metadata.labels[k] === v));
      t.ok(pods.length > 0, `${file}: Service ${s.metadata.name} selects pods`);
      for (const sp of s.spec.ports as Obj[]) {
        for (const d of pods) {
          const ports = (d.spec.template.spec.containers as Obj[]).flatMap((c) => c.ports ?? []);
          t.ok(ports.some((p: Obj) => p.containerPort === sp.targetPort || p.name === sp.targetPort), `${file}: ${s.metadata.name}:${sp.port} → ${d.metadata.name} port ${sp.targetPort}`);
        }
      }
    }
  });
}

t.test('the bootstrap has the Istio sidecar listener shape', async (t) => {
  const outbound = staticListener('virtualOutbound');
  t.equal(outbound.use_original_dst, true, 'virtualOutbound hands captured connections off by original destination');
  t.ok(outbound.listener_filters.some((f: Obj) => f.name === 'envoy.filters.listener.original_dst'));
  t.same(chainClusters(outbound), ['BlackHoleCluster', 'PassthroughCluster'], 'a loop to 15001 is dropped, anything else passes through');
  t.equal(outbound.filter_chains[0].filter_chain_match.destination_port, listenerPort('virtualOutbound'));

  const inbound = staticListener('virtualInbound');
  t.ok(inbound.listener_filters.some((f: Obj) => f.name === 'envoy.filters.listener.original_dst'), 'virtualInbound restores the destination');
  t.equal(inbound.filter_chains[0].filter_chain_match.destination_port, listenerPort('virtualInbound'), 'a loop to 15006 is dropped');
  t.equal(inbound.filter_chains[0].filters[0].typed_config.cluster, 'BlackHoleCluster');
  const catchAll = inbound.filter_chains.at(-1);
  t.same(catchAll.filter_chain_match, { prefix_ranges: [{ address_prefix: '0.0.0.0', prefix_len: 0 }] }, 'other ports: the catch-all chain');
  t.equal(catchAll.filters[0].typed_config.cluster, 'InboundPassthroughClusterIpv4');
  for (const name of ['PassthroughCluster', 'InboundPassthroughClusterIpv4']) {
    t.equal(staticCluster(name).type, 'ORIGINAL_DST', `${name} goes where the connection was going`);
    t.equal(staticCluster(name).lb_policy, 'CLUSTER_PROVIDED');
  }
  t.equal(staticCluster('InboundPassthroughClusterIpv4').upstream_bind_config.source_address.address, '127.0.0.6');

  // One bind_to_port: false outbound listener per port of the Services the app calls.
  const provider = services.find((s) => s.metadata.name === 'dubbo-samples-mesh-provider')!;
  for (const sp of provider.spec.ports as Obj[]) {
    const l = staticListener(`0.0.0.0_${sp.port}`);
    t.ok(l, `an outbound listener for the provider Service's port ${sp.port}`);
    t.equal(l.bind_to_port, false, 'reached only by hand-off');
    t.same(l.address.socket_address, { address: '0.0.0.0', port_value: sp.port });
    t.equal(l.traffic_direction, 'OUTBOUND');
    t.equal(l.default_filter_chain.filters[0].typed_config.cluster, 'PassthroughCluster', 'non-HTTP on that port passes through');
  }
});

t.test('the outbound routes name the Services they balance over, on their ports', async (t) => {
  const hosts = staticListener('0.0.0.0_50052').filter_chains[0].filters[0].typed_config.route_config.virtual_hosts as Obj[];
  const route = hosts[0]!;
  const weighted = route.routes[0].route.weighted_clusters.clusters as Obj[];
  t.same(weighted.map((c) => c.weight), [80, 20], 'the sample VirtualService\'s 80/20');
  t.ok(route.domains.includes('dubbo-samples-mesh-provider.dubbo-demo.svc.cluster.local:50052'), 'the authority the consumer sends');
  t.same(hosts.at(-1)!.domains, ['*'], 'other hosts on the port: allow_any');
  t.equal(hosts.at(-1)!.routes[0].route.cluster, 'PassthroughCluster');
  // The VirtualService of the sample, read from the fixture: same hosts, subsets, weights.
  const vs = docsOf(path.join(fixturesDir(), 'dubbo-samples', 'deploy', 'traffic', 'virtual-service.yml')).find((d) => d.kind === 'VirtualService')!;
  const vsRoutes = vs.spec.http[0].route as Obj[];
  t.same(weighted.map((c) => c.weight), vsRoutes.map((r) => r.weight), 'weights as in the fixture VirtualService');
  t.same(weighted.map((c) => c.name), vsRoutes.map((r) => `outbound|${r.destination.port.number}|${r.destination.subset}|${r.destination.host}`), 'Istio cluster names of its subsets');
  t.notOk(vs.spec.http.some((h: Obj) => h.match), 'the fixture VirtualService has no header match (so the bootstrap has none)');
  for (const { name } of weighted) {
    const c = staticCluster(name);
    t.equal(c.type, 'STRICT_DNS', `${name}: every pod behind a headless Service`);
    for (const ep of endpointsOf(c)) {
      const m = /^([^.]+)\.([^.]+)\.svc\.cluster\.local$/.exec(ep.address);
      const svc = services.find((s) => s.metadata.name === m?.[1] && s.metadata.namespace === m?.[2]);
      t.ok(svc, `${name}: ${ep.address} is a Service of base.yaml`);
      t.equal(svc?.spec.clusterIP, 'None', `${ep.address} is headless (resolves to pod IPs)`);
      t.ok(svc?.spec.ports.some((p: Obj) => p.port === ep.port_value), `${ep.address}:${ep.port_value} is a port of that Service`);
      const subset = name.split('|')[2];
      t.equal(svc?.spec.selector.version, subset, `${ep.address} selects the pods of subset ${subset}`);
    }
  }
  t.same(endpointsOf(staticCluster('admin')), [{ address: '127.0.0.1', port_value: adminPort }], 'the probe listener routes to the admin API');
});

t.test('both variants install the same capture rules', async (t) => {
  const argsOf = (file: string): string[][] => docsOf(path.join(K8S, 'dubbo-mesh', file))
    .filter((d) => d.kind === 'Deployment')
    .map((d) => d.spec.template.spec.initContainers.find((c: Obj) => c.name === 'legate-init').args);
  const all = [...argsOf(VARIANTS.sidecar), ...argsOf(VARIANTS.native)];
  t.equal(all.length, 6);
  for (const args of all) t.same(args, all[0], 'every pod of both files: the same legate iptables flags');
});

t.test('the capture rules of the manifests, printed by legate iptables --dry-run', async (t) => {
  const init = docsOf(path.join(K8S, 'dubbo-mesh', 'sidecar.yaml'))[0]!.spec.template.spec.initContainers[0];
  const r = runLegate([...init.args, '--dry-run']);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /-A ISTIO_INBOUND -p tcp -j ISTIO_IN_REDIRECT/, 'every inbound port');
  for (const p of [15090, 15021, 15020, 22222]) t.match(r.stdout, new RegExp(`-A ISTIO_INBOUND -p tcp --dport ${p} -j RETURN`), `inbound ${p} not captured`);
  t.match(r.stdout, /-A ISTIO_OUTPUT -j ISTIO_REDIRECT/, 'every outbound destination');
  t.match(r.stdout, /-A ISTIO_OUTPUT -m owner --uid-owner 1337 -j RETURN/);
  t.match(r.stdout, /-A ISTIO_OUTPUT -o lo -s 127\.0\.0\.6\/32 -j RETURN/, 'the hop to the app from 127.0.0.6 is not captured');
});

t.test('Istio: the custom injection template and the annotations', async (t) => {
  const values = YAML.parse(fs.readFileSync(ISTIO_VALUES, 'utf8')) as Obj;
  const template = values['sidecarInjectorWebhook']?.templates?.legate as string;
  t.type(template, 'string', 'sidecarInjectorWebhook.templates.legate');
  // Render the Go template the simplest way: keep the guarded block, fill every value.
  const rendered = template
    .split('\n')
    .filter((l) => !/^\s*\{\{-?\s*(if|end|else)\b.*\}\}\s*$/.test(l))
    .join('\n')
    .replace(/\{\{.*?\}\}/g, 'rendered');
  const patch = YAML.parse(rendered) as Obj;
  const init = patch['spec'].initContainers.find((c: Obj) => c.name === 'istio-init');
  t.same(init.command, ['/usr/local/bin/legate'], 'istio-init runs legate');
  t.notOk(patch['spec'].containers, 'the istio-proxy container is left to Istio\'s template');
  // Istio's own istio-init args (default values) after that command: legate's `istio-iptables` alias.
  const istioArgs = ['istio-iptables', '-p', '15001', '-z', '15006', '-u', '1337', '-m', 'REDIRECT', '-i', '*', '-x', '', '-b', '*', '-d', '15090,15021,15020', '--log_output_level=default:info'];
  const r = runLegate([...istioArgs, '--dry-run']);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /-A ISTIO_OUTPUT -j ISTIO_REDIRECT/);
  t.match(r.stdout, /-A ISTIO_INBOUND -p tcp --dport 15020 -j RETURN/);

  const deployments = docsOf(path.join(K8S, 'istio', 'dubbo-mesh-istio.yaml')).filter((d) => d.kind === 'Deployment');
  t.equal(deployments.length, 3);
  const dockerfile = fs.readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');
  for (const d of deployments) {
    const a = d.spec.template.metadata.annotations as Record<string, string>;
    const where = d.metadata.name;
    t.same(a['inject.istio.io/templates']?.split(','), ['sidecar', 'legate'], `${where}: Istio's template, then ours`);
    t.match(a['sidecar.istio.io/proxyImage'], /legate-istio/, `${where}: the image with pilot-agent and Legate`);
    const proxyConfig = YAML.parse(a['proxy.istio.io/config'] ?? '') as Obj;
    t.equal(proxyConfig['binaryPath'], '/usr/local/bin/legate', `${where}: pilot-agent execs legate`);
    t.ok(dockerfile.includes(`ln -s /opt/legate/bin/legate ${proxyConfig['binaryPath']}`), `${where}: the image has ${proxyConfig['binaryPath']}`);
    // What pilot-agent then runs (istio/istio:pkg/envoy/proxy.go), with this pod's drainDuration.
    const drainS = String(parseInt(String(proxyConfig['drainDuration']), 10));
    const cli = parseCommandLine(['-c', 'etc/istio/proxy/envoy-rev.json', '--drain-time-s', drainS, '--drain-strategy', 'immediate', '--local-address-ip-version', 'v4',
      '--file-flush-interval-msec', '1000', '--disable-hot-restart', '--allow-unknown-static-fields', '-l', 'warning', '--component-log-level', 'misc:error']);
    t.same(cli.errors, [], `${where}: pilot-agent's command line parses`);
    t.equal(cli.options.drainTimeMs, 20_000);
    t.equal(a['traffic.sidecar.istio.io/excludeInboundPorts'], '22222', `${where}: kubelet's probes of the app are not captured`);
  }
});

t.test('Dockerfiles: multi-stage, uid 1337, legate entrypoint, iptables, /ready health check, envoy name', async (t) => {
  const text = fs.readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');
  const lines = text.split('\n').filter((l) => !l.startsWith('#'));
  t.ok(lines.filter((l) => /^FROM\s/.test(l)).length >= 2, 'multi-stage');
  t.match(text, /^FROM node:\d+-\S*slim\b/m, 'small runtime base');
  t.match(text, /^USER 1337:1337$/m, 'runs as uid 1337');
  t.match(text, /^ENTRYPOINT \[.*legate.*\]$/m, 'legate is the entrypoint');
  t.match(text, /apt-get install[^\n]*\biptables\b/, 'iptables for the init mode');
  t.match(text, /HEALTHCHECK[\s\S]*?CMD legate wait\b/, 'health check polls /ready (legate wait)');
  t.match(text, /ln -s \/opt\/legate\/bin\/legate \/usr\/local\/bin\/envoy/, 'envoy name for pilot-agent');
  t.equal(parseWaitArgs(['--admin-port', '9901']).options?.url, 'http://127.0.0.1:9901/ready', 'legate wait polls /ready');
  const istio = fs.readFileSync(path.join(ROOT, 'Dockerfile.istio'), 'utf8');
  t.match(istio, /COPY --from=istio \/usr\/local\/bin\/pilot-agent/, 'Dockerfile.istio adds pilot-agent');
  t.match(istio, /^ENTRYPOINT \["\/usr\/local\/bin\/pilot-agent"\]$/m, 'pilot-agent is its entrypoint, as in istio/proxyv2');
  t.match(istio, /^USER 1337:1337$/m);
});
