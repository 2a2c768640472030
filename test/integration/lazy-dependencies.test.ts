/**
 * A static HTTP/2 sidecar must not load what it does not use (issue #8, idle memory): undici
 * serves only HTTP/1.1 upstreams, @grpc/grpc-js only the xDS client, yaml only YAML text.
 * Real Legate processes with the test-only probe preload (test/fakes/memory-probe-preload.ts),
 * asked over SIGUSR2 which packages are in require.cache.
 */
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import t, { type Test } from 'tap';
import { startH1Backend } from '../fakes/h1-backend';
import { freePort, startLegate, type LegateProcess } from '../fakes/legate-process';
import { MEMORY_PROBE_PRELOAD, readMemoryProbe } from '../fakes/memory-probe';
import type { MemoryProbe } from '../fakes/memory-probe-preload';
import { startControlPlane } from '../fakes/control-plane';
import { startRawH2Backend } from '../fakes/raw-h2-backend';
import { bootstrapJson, type TestCluster } from './bootstrap-builder';
import { adsBootstrap, assignment, edsCluster, TYPE } from './xds-resources';


/** A static bootstrap (JSON text, also valid YAML) with one listener and these clusters. */
async function staticBootstrap(clusters: TestCluster[], routes: unknown[]): Promise<{ text: string; adminPort: number; listenerPort: number }> {
  const adminPort = await freePort();
  const listenerPort = await freePort();
  return { text: JSON.stringify(bootstrapJson({ adminPort, listenerPort, clusters, routes })), adminPort, listenerPort };
}

async function startProbed(t: Test, config: { text: string; adminPort: number }, ext: '.json' | '.yaml'): Promise<{ proxy: LegateProcess; probe: () => Promise<MemoryProbe> }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'legate-lazy-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const adminPort = config.adminPort;
  const configPath = path.join(dir, `bootstrap${ext}`);
  fs.writeFileSync(configPath, config.text);
  const out = path.join(dir, 'probe.jsonl');
  const proxy = await startLegate({ configPath, adminPort, nodeArgs: ['-r', MEMORY_PROBE_PRELOAD], env: { LEGATE_MEMORY_PROBE_OUT: out } });
  t.teardown(() => proxy.stop());
  const probe = (): Promise<MemoryProbe> => readMemoryProbe(proxy.pid, out);
  return { proxy, probe };
}

function get(port: number, urlPath: string): Promise<number> {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path: urlPath, headers: { host: 'example.test' } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    }).on('error', reject);
  });
}

t.test('a static JSON bootstrap with HTTP/2 clusters loads neither undici, grpc-js nor yaml', async (t) => {
  const h2 = await startRawH2Backend({ name: 'h2' });
  t.teardown(() => h2.stop(100));
  const config = await staticBootstrap([{ name: 'to_h2', endpoints: [h2.address] }], [{ match: { prefix: '/' }, route: { cluster: 'to_h2' } }]);
  const { probe } = await startProbed(t, config, '.json');
  t.equal(await get(config.listenerPort, '/x'), 200, 'proxies a request');
  const p = await probe();
  t.notOk(p.undici, 'undici not loaded');
  t.notOk(p.grpcJs, '@grpc/grpc-js not loaded');
  t.notOk(p.yaml, 'yaml not loaded');
  t.ok(p.packages.includes('protobufjs'), `loaded packages: ${p.packages.join(', ')}`);
  // Nor the parts of Legate such a sidecar does not run.
  for (const unused of ['workers/', 'health/health-checker.js', 'health/probers.js', 'cli/wait-command.js', 'iptables/', 'xds/xds-manager.js', 'xds/xds-transport.js']) {
    t.notOk(p.legateModules.some((m) => m.startsWith(unused)), `${unused} not loaded`);
  }
  t.ok(p.legateModules.includes('upstream/cluster.js'), `Legate modules reported (${p.legateModules.length})`);
  // `npm run build` (and ensure-built before tests) writes the code cache for this node.
  const cc = p.codeCache;
  t.ok(cc?.file !== undefined, `bin/legate found its code cache (${JSON.stringify(cc)})`);
  t.ok((cc?.used ?? 0) >= 100, `most modules came from the cache: ${cc?.used} of ${p.modules}`);
  t.equal(cc?.rejected, 0, 'V8 accepted every entry');
  t.equal(cc?.stale, 0, 'no entry older than its module');
});

t.test('undici loads with the first request to an HTTP/1.1 cluster; a YAML bootstrap loads yaml', async (t) => {
  const h1 = await startH1Backend({ name: 'h1' });
  t.teardown(() => h1.stop());
  const config = await staticBootstrap([{ name: 'to_h1', endpoints: [h1.address], http2: false }], [{ match: { prefix: '/' }, route: { cluster: 'to_h1' } }]);
  const { probe } = await startProbed(t, config, '.yaml');
  const before = await probe();
  t.ok(before.yaml, 'yaml loaded for the YAML file');
  t.notOk(before.undici, 'undici not loaded before the first HTTP/1.1 request');
  t.equal(await get(config.listenerPort, '/x'), 200, 'the HTTP/1.1 upstream answers through the lazily loaded undici');
  const after = await probe();
  t.ok(after.undici, 'undici loaded now');
  t.notOk(after.grpcJs, 'still no grpc-js');
});

t.test('a bootstrap with an ADS server loads grpc-js (the xDS client) and gets its clusters', async (t) => {
  const cp = await startControlPlane();
  t.teardown(() => cp.stop());
  cp.setResources(TYPE.cluster, [{ name: 'svc', value: edsCluster('svc') }]);
  cp.setResources(TYPE.endpoints, [{ name: 'svc', value: assignment('svc', ['127.0.0.1:9']) }]);
  cp.setResources(TYPE.listener, []);
  const adminPort = await freePort();
  const { proxy, probe } = await startProbed(t, { text: adsBootstrap(adminPort, cp.port), adminPort }, '.json');
  const p = await probe();
  t.ok(p.grpcJs, '@grpc/grpc-js loaded');
  t.notOk(p.undici, 'no undici without an HTTP/1.1 cluster');
  const clusters = await proxy.admin('/clusters');
  t.match(clusters.body, /^svc::/m, 'the cluster from ADS is there');
});
