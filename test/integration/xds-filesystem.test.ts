import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { startGrpcBackend } from '../fakes/grpc-backend';
import { createEchoClient } from '../fakes/grpc-client';
import { freePort, startLegate } from '../fakes/legate-process';
import { bootstrapJson, clusterJson } from './bootstrap-builder';
import { runLegate } from './run-legate';
import { TYPE } from './xds-resources';

/** Replaces a file atomically, as Envoy requires of filesystem xDS writers. */
function writeAtomically(file: string, value: unknown): void {
  const tmp = `${file}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(value, null, 2));
  fs.renameSync(tmp, file);
}

t.test('LDS and CDS from files, reloaded on change; a bad file keeps the last good config', async (t) => {
  const a = await startGrpcBackend({ name: 'a', services: ['echo'] });
  const b = await startGrpcBackend({ name: 'b', services: ['echo'] });
  t.teardown(async () => { await a.stop(100); await b.stop(100); });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'legate-fs-xds-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const adminPort = await freePort();
  const listenerPort = await freePort();
  const cdsFile = path.join(dir, 'cds.yaml');
  const ldsFile = path.join(dir, 'lds.yaml');

  // Reuse the static builders for the resource bodies.
  const staticShape = (target: string) => bootstrapJson({ adminPort, listenerPort, clusters: [{ name: target, endpoints: [] }] });
  const listenerFor = (cluster: string) => {
    const l = ((staticShape(cluster)['static_resources'] as { listeners: Array<Record<string, unknown>> }).listeners[0])!;
    return { '@type': TYPE.listener, ...l };
  };
  const clusters = [
    { '@type': TYPE.cluster, ...clusterJson({ name: 'to-a', endpoints: [a.address] }) },
    { '@type': TYPE.cluster, ...clusterJson({ name: 'to-b', endpoints: [b.address] }) },
  ];
  writeAtomically(cdsFile, { version_info: '1', resources: clusters });
  writeAtomically(ldsFile, { version_info: '1', resources: [listenerFor('to-a')] });

  const bootstrap = {
    node: { id: 'fs-node', cluster: 'fs' },
    admin: { address: { socket_address: { address: '127.0.0.1', port_value: adminPort } } },
    dynamic_resources: { lds_config: { path_config_source: { path: ldsFile } }, cds_config: { path_config_source: { path: cdsFile } } },
  };
  const proxy = await startLegate({ configYaml: JSON.stringify(bootstrap) });
  t.teardown(() => proxy.stop());
  const client = createEchoClient(`127.0.0.1:${listenerPort}`);
  t.teardown(() => client.close());
  t.equal((await client.unary({})).response.backend, 'a', 'served from the files');

  writeAtomically(ldsFile, { version_info: '2', resources: [listenerFor('to-b')] });
  let backend = '';
  for (let i = 0; i < 40 && backend !== 'b'; i++) {
    await new Promise((r) => setTimeout(r, 50));
    backend = (await client.unary({})).response.backend;
  }
  t.equal(backend, 'b', 'the changed file took effect');

  writeAtomically(ldsFile, { version_info: '3', resources: [{ ...listenerFor('to-a'), unknown_field: true }] });
  await proxy.waitForLine(/lds\.yaml: update rejected, keeping the last good configuration: .*unknown_field/);
  t.equal((await client.unary({})).response.backend, 'b', 'the last good listener still serves');
  const dump = JSON.parse((await proxy.admin('/config_dump')).body) as { configs: Array<Record<string, any>> };
  const listeners = dump.configs.find((c) => String(c['@type']).endsWith('.ListenersConfigDump'))!;
  t.equal(listeners['version_info'], '2');
});

const HCM = 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
const ROUTER = 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router';

/** Calls until `want` answers (a file change is picked up asynchronously); returns the last backend seen. */
async function untilBackend(client: ReturnType<typeof createEchoClient>, want: string): Promise<string> {
  let backend = '';
  for (let i = 0; i < 60 && backend !== want; i++) {
    await new Promise((r) => setTimeout(r, 50));
    const r = await client.unarySettled({});
    backend = r.ok ? r.response!.backend : `${r.status.code} ${r.status.details}`;
  }
  return backend;
}

/**
 * A Kubernetes ConfigMap volume: `<dir>/<key>` → `..data/<key>`, `..data` → a timestamped
 * directory; an update writes a new directory and renames a new `..data` link over the old one,
 * so `<dir>/<key>` itself never changes. Envoy's `watched_directory` exists for this.
 */
function configMapVolume(dir: string, key: string): (value: unknown) => void {
  let n = 0;
  const write = (value: unknown): void => {
    const version = `..2026_${++n}`;
    fs.mkdirSync(path.join(dir, version));
    fs.writeFileSync(path.join(dir, version, key), JSON.stringify(value, null, 2));
    fs.symlinkSync(version, path.join(dir, '..data_tmp'));
    fs.renameSync(path.join(dir, '..data_tmp'), path.join(dir, '..data'));
    if (!fs.existsSync(path.join(dir, key))) fs.symlinkSync(path.join('..data', key), path.join(dir, key));
  };
  return write;
}

t.test('RDS and EDS from files (static listener and cluster): reloaded on change, watched_directory, bad file ignored', async (t) => {
  const a = await startGrpcBackend({ name: 'a', services: ['echo'] });
  const b = await startGrpcBackend({ name: 'b', services: ['echo'] });
  const c = await startGrpcBackend({ name: 'c', services: ['echo'] });
  t.teardown(async () => { for (const x of [a, b, c]) await x.stop(100); });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'legate-fs-rds-eds-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const rdsFile = path.join(dir, 'rds.yaml');
  const edsDir = path.join(dir, 'eds-configmap');
  fs.mkdirSync(edsDir);
  const edsFile = path.join(edsDir, 'eds.json');
  const writeEds = configMapVolume(edsDir, 'eds.json');

  const routes = (cluster: string) => ({
    version_info: cluster,
    resources: [{ '@type': TYPE.routeConfig, name: 'local', virtual_hosts: [{ name: 'all', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster } }] }] }],
  });
  const endpoints = (version: string, address: string) => ({
    version_info: version,
    resources: [{ '@type': TYPE.endpoints, ...(clusterJson({ name: 'svc', endpoints: [address] })['load_assignment'] as Record<string, unknown>) }],
  });
  writeAtomically(rdsFile, routes('svc'));
  writeEds(endpoints('1', a.address));

  const adminPort = await freePort();
  const listenerPort = await freePort();
  const bootstrap = {
    node: { id: 'fs-node', cluster: 'fs' },
    admin: { address: { socket_address: { address: '127.0.0.1', port_value: adminPort } } },
    static_resources: {
      listeners: [{
        name: 'l',
        address: { socket_address: { address: '127.0.0.1', port_value: listenerPort } },
        filter_chains: [{ filters: [{ name: 'envoy.filters.network.http_connection_manager', typed_config: {
          '@type': HCM, stat_prefix: 'l',
          rds: { route_config_name: 'local', config_source: { path_config_source: { path: rdsFile }, resource_api_version: 'V3' } },
          http_filters: [{ name: 'envoy.filters.http.router', typed_config: { '@type': ROUTER } }],
        } }] }],
      }],
      clusters: [
        { ...clusterJson({ name: 'svc', endpoints: [] }), type: 'EDS', load_assignment: undefined,
          eds_cluster_config: { eds_config: { path_config_source: { path: edsFile, watched_directory: { path: edsDir } }, resource_api_version: 'V3' } } },
        clusterJson({ name: 'direct-c', endpoints: [c.address] }),
      ],
    },
  };
  const proxy = await startLegate({ configYaml: JSON.stringify(bootstrap) });
  t.teardown(() => proxy.stop());
  const client = createEchoClient(`127.0.0.1:${listenerPort}`);
  t.teardown(() => client.close());
  t.equal((await client.unary({})).response.backend, 'a', 'routes and endpoints from the files');

  writeEds(endpoints('2', b.address));
  t.equal(await untilBackend(client, 'b'), 'b', 'the ConfigMap-style update of the EDS file took effect (watched_directory)');

  writeAtomically(rdsFile, routes('direct-c'));
  t.equal(await untilBackend(client, 'c'), 'c', 'the changed RDS file took effect');

  writeAtomically(rdsFile, { version_info: 'bad', resources: [{ '@type': TYPE.routeConfig, name: 'local', virtual_hosts: [{ name: 'all', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'direct-c', bogus: 1 } }] }] }] });
  await proxy.waitForLine(/rds\.yaml: update rejected, keeping the last good configuration: .*bogus/);
  t.equal((await client.unary({})).response.backend, 'c', 'the last good routes still serve');

  const dump = JSON.parse((await proxy.admin('/config_dump?include_eds')).body) as { configs: Array<Record<string, any>> };
  const routesDump = dump.configs.find((x) => String(x['@type']).endsWith('.RoutesConfigDump'))!;
  t.equal(routesDump['dynamic_route_configs']?.[0]?.['version_info'], 'direct-c', 'config_dump shows the file\'s version');
});

t.test('RDS/EDS with ads: {} but no ads_config: rejected naming the field', async (t) => {
  const adminPort = await freePort();
  const listenerPort = await freePort();
  const b = bootstrapJson({ adminPort, listenerPort, clusters: [{ name: 'svc', endpoints: [] }] }) as Record<string, any>;
  const sr = b['static_resources'];
  sr.clusters[0] = { ...sr.clusters[0], type: 'EDS', load_assignment: undefined, eds_cluster_config: { eds_config: { ads: {} } } };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'legate-fs-bad-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'b.json');
  fs.writeFileSync(file, JSON.stringify(b));
  const r = runLegate(['--mode', 'validate', '-c', file]);
  t.equal(r.code, 1);
  t.match(r.stderr, /static_resources\.clusters\[0\]\.eds_cluster_config\.eds_config: an ads config source needs dynamic_resources\.ads_config/);
});
