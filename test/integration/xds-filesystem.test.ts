import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { startGrpcBackend } from '../fakes/grpc-backend';
import { createEchoClient } from '../fakes/grpc-client';
import { freePort, startLegate } from '../fakes/legate-process';
import { bootstrapJson, clusterJson } from './bootstrap-builder';
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
