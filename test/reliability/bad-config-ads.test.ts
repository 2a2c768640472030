/**
 * Bad config over a real ADS stream: a running Legate, serving honest gRPC traffic,
 * receives mutated versions of its own resources (structure or bytes), each in the same
 * response as a new, valid "canary" resource. Every such response must be NACKed whole:
 * the canary never appears (no cluster in /config_dump, no port bound), the traffic keeps
 * flowing on the last good config, and a good push afterwards is ACKed.
 * Both ADS variants (state of the world and delta); LEGATE_FUZZ_ADS_ROUNDS raises the number of
 * rounds per variant (default 12).
 */
import net from 'node:net';
import t from 'tap';
import { startGrpcBackend } from '../fakes/grpc-backend';
import { encodeResource, startControlPlane } from '../fakes/control-plane';
import { freePort, startLegate } from '../fakes/legate-process';
import { adsBootstrap, assignment, edsCluster, rdsListener, routeConfig, TYPE } from '../integration/xds-resources';
import { ingestBytes } from './config-ingest';
import { alive, sleep, startHonestLoad } from './harness';
import { mutateBytes, mutateJson, Rng } from './mutate';

const ROUNDS = Number(process.env['LEGATE_FUZZ_ADS_ROUNDS'] ?? 12);
const SEED = Number(process.env['LEGATE_FUZZ_SEED'] ?? 20261122);

function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.once('error', () => resolve(true));
  });
}

for (const apiType of ['GRPC', 'DELTA_GRPC'] as const) t.test(`mutated resources over ADS (${apiType}) are NACKed whole; the last good config keeps serving`, async (t) => {
  const backend = await startGrpcBackend({ name: 'a', services: ['echo'] });
  t.teardown(() => backend.stop(100));
  const cp = await startControlPlane();
  t.teardown(() => cp.stop());
  const listenerPort = await freePort();
  const good: Record<string, { name: string; value: Record<string, unknown> }> = {
    [TYPE.cluster]: { name: 'svc', value: edsCluster('svc') },
    [TYPE.endpoints]: { name: 'svc', value: assignment('svc', [backend.address]) },
    [TYPE.listener]: { name: 'outbound', value: rdsListener('outbound', listenerPort, 'routes') },
    [TYPE.routeConfig]: { name: 'routes', value: routeConfig('routes', [{ match: { prefix: '/' }, route: { cluster: 'svc', timeout: '0s' } }]) },
  };
  for (const [type, r] of Object.entries(good)) cp.setResources(type, [r]);
  const proxy = await startLegate({ configYaml: adsBootstrap(await freePort(), cp.port, apiType), readyTimeoutMs: 45_000 });
  t.teardown(() => proxy.stop());
  for (const type of Object.keys(good)) await cp.waitForAck(type);
  const load = startHonestLoad(`127.0.0.1:${listenerPort}`, proxy.pid, 1);
  t.teardown(() => load.stop());

  const rng = new Rng(SEED + (apiType === 'GRPC' ? 0 : 1));
  const types = [TYPE.cluster, TYPE.endpoints, TYPE.routeConfig, TYPE.listener];
  let nacks = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const type = types[round % types.length]!;
    const roundStart = performance.now();
    const base = good[type]!;
    const goodBytes = encodeResource(type, base.value).value;
    // A mutation Legate's own decoders reject (judged in-process, by the code the proxy runs).
    let bytes: Uint8Array | undefined;
    let what = '';
    for (let tries = 0; tries < 50 && !bytes; tries++) {
      let candidate: Uint8Array;
      if (rng.next() < 0.5) {
        const m = mutateJson(base.value, rng);
        try {
          candidate = encodeResource(type, m.value as Record<string, unknown>, { allowInvalid: true }).value;
        } catch {
          continue;
        }
        what = `JSON ${m.mutations.map((x) => `${x.op} ${x.path}`).join(', ')}`;
      } else {
        const m = mutateBytes(goodBytes, rng);
        candidate = m.value;
        what = `bytes ${m.op}`;
      }
      if (!ingestBytes(type, candidate).ok) bytes = candidate;
    }
    if (!bytes) continue;
    const searched = performance.now();
    const canaryPort = await freePort();
    const canaryName = `canary-${round}`;
    // One response: the broken resource and a valid new one (wildcard types) or the broken one alone.
    cp.pause(type);
    if (type === TYPE.cluster) cp.setResource(type, canaryName, edsCluster(canaryName));
    if (type === TYPE.listener) cp.setResource(type, canaryName, rdsListener(canaryName, canaryPort, 'routes'));
    cp.setRawResource(type, base.name, bytes);
    cp.resume(type);
    const nack = await cp.waitForNack(type, 10_000);
    nacks++;
    t.ok(nack.message.length > 0 && /svc|routes|outbound|resource index/.test(nack.message), `round ${round} (${type.split('.').pop()} ${what}): NACK names the resource: ${nack.message.slice(0, 160)}`);
    if (type === TYPE.cluster) {
      const dump = (await proxy.admin('/config_dump?resource=dynamic_active_clusters&mask=cluster.name')).body;
      t.notOk(dump.includes(canaryName), 'the valid cluster of the rejected response was not applied');
    }
    if (type === TYPE.listener) t.ok(await refused(canaryPort), 'the valid listener of the rejected response was not bound');
    // Restore the good set, and expect it ACKed.
    cp.pause(type);
    if (type === TYPE.cluster || type === TYPE.listener) cp.removeResource(type, canaryName);
    cp.setResources(type, [base]);
    cp.resume(type);
    await cp.waitForAck(type, cp.version(type), 10_000);
    await sleep(100); // let honest calls run between rounds (the mutation search above is synchronous)
    t.comment(`after round ${round}: honest calls ok=${load.ok} failed=${load.failed}; search ${(searched - roundStart).toFixed(0)} ms, round ${(performance.now() - roundStart).toFixed(0)} ms`);
  }
  await load.stop();
  t.ok(nacks >= ROUNDS / 2, `${nacks} rejected responses`);
  t.ok(alive(proxy.pid), 'the proxy is still running');
  t.equal(load.failed, 0, `no honest call failed during ${nacks} bad pushes (${load.ok} ok) ${load.failures.join('; ')}`);
  t.ok(load.ok > 0, 'honest calls went through');
});
