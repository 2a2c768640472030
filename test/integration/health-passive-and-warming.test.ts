/**
 * Health checking at the edges (issue #5): a passive `x-envoy-immediate-health-check-fail` from
 * an upstream fails the host at once; an EDS cluster with active checks holds the server's
 * readiness until the first check of each initial host is in; ignore_health_on_host_removal.
 */
import http from 'node:http';
import t from 'tap';
import { Agent, request } from 'undici';
import { startControlPlane } from '../fakes/control-plane';
import { startGrpcBackend } from '../fakes/grpc-backend';
import { freePort, startLegate, type LegateProcess } from '../fakes/legate-process';
import { bootstrapText } from './bootstrap-builder';
import { adsBootstrap, assignment, edsCluster, TYPE } from './xds-resources';

async function hostFlags(proxy: LegateProcess, cluster: string, address: string): Promise<string> {
  const line = (await proxy.admin('/clusters')).body.split('\n').find((l) => l.startsWith(`${cluster}::${address}::health_flags::`));
  return line?.split('::')[3] ?? '(absent)';
}

t.test('x-envoy-immediate-health-check-fail from an upstream fails the host at once (passive)', async (t) => {
  let failing = false;
  const upstream = http.createServer((req, res) => {
    const headers: Record<string, string> = { 'content-type': 'text/plain' };
    if (failing && req.url !== '/health') headers['x-envoy-immediate-health-check-fail'] = 'true';
    res.writeHead(200, headers);
    res.end('ok');
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => { upstream.closeAllConnections(); upstream.close(() => r()); }));
  const address = `127.0.0.1:${(upstream.address() as { port: number }).port}`;
  const adminPort = await freePort();
  const listenerPort = await freePort();
  // A long interval: the flag we look at comes from the response, not from a check.
  const hc = { timeout: '1s', interval: '60s', no_traffic_interval: '60s', unhealthy_threshold: 3, healthy_threshold: 1, http_health_check: { path: '/health' } };
  const proxy = await startLegate({
    configYaml: bootstrapText({ adminPort, listenerPort, clusters: [{ name: 'svc', endpoints: [address], http2: false, extra: { health_checks: [hc] } }] }),
    readyTimeoutMs: 45_000,
  });
  t.teardown(() => proxy.stop());
  const agent = new Agent();
  const get = async (): Promise<{ status: number; fail: unknown }> => {
    const r = await request(`http://127.0.0.1:${listenerPort}/app`, { dispatcher: agent });
    await r.body.dump();
    return { status: r.statusCode, fail: r.headers['x-envoy-immediate-health-check-fail'] };
  };

  t.equal(await hostFlags(proxy, 'svc', address), 'healthy');
  t.same(await get(), { status: 200, fail: undefined });
  failing = true;
  t.same(await get(), { status: 200, fail: 'true' }, 'the response itself goes through');
  t.equal(await hostFlags(proxy, 'svc', address), '/failed_active_hc/excluded_via_immediate_hc_fail', 'failed and excluded at once');
  t.match((await proxy.admin('/stats?filter=health_check')).body, /cluster\.svc\.health_check\.passive_failure: 1\n/);
  t.equal((await get()).status, 503, 'the only host is out: no healthy upstream');
  await agent.close();
});

t.test('an EDS cluster with health checks warms until the first checks are in; host removal rules', async (t) => {
  const a = await startGrpcBackend({ name: 'a', services: ['echo', 'health'] });
  const b = await startGrpcBackend({ name: 'b', services: ['echo', 'health'] });
  t.teardown(async () => { for (const x of [a, b]) await x.stop(100).catch(() => undefined); });
  // The first check of each host takes 1.5 s: the server must not be ready before.
  a.setHealthCheckDelay(1500);
  b.setHealthCheckDelay(1500);
  const hc = { timeout: '5s', interval: '0.2s', no_traffic_interval: '0.2s', unhealthy_threshold: 1, healthy_threshold: 1, grpc_health_check: {} };
  const cp = await startControlPlane();
  t.teardown(() => cp.stop());
  cp.setResources(TYPE.listener, []);
  cp.setResources(TYPE.cluster, [
    { name: 'keep', value: edsCluster('keep', { health_checks: [hc] }) },
    { name: 'drop', value: edsCluster('drop', { health_checks: [hc], ignore_health_on_host_removal: true }) },
  ]);
  cp.setResources(TYPE.endpoints, [
    { name: 'keep', value: assignment('keep', [a.address, b.address]) },
    { name: 'drop', value: assignment('drop', [a.address, b.address]) },
  ]);
  const adminPort = await freePort();
  const started = Date.now();
  const proxy = await startLegate({ configYaml: adsBootstrap(adminPort, cp.port), readyTimeoutMs: 45_000 });
  t.teardown(() => proxy.stop());
  const waited = Date.now() - started;
  t.ok(waited >= 1400, `/ready waited for the first health checks (${waited} ms)`);
  for (const c of ['keep', 'drop']) for (const x of [a, b]) t.equal(await hostFlags(proxy, c, x.address), 'healthy', `${c} ${x.name} checked healthy`);

  a.setHealthCheckDelay(0);
  b.setHealthCheckDelay(0);
  // EDS drops b from both clusters; b still passes its checks.
  cp.setResources(TYPE.endpoints, [
    { name: 'keep', value: assignment('keep', [a.address]) },
    { name: 'drop', value: assignment('drop', [a.address]) },
  ]);
  const deadline = Date.now() + 10_000;
  while ((await hostFlags(proxy, 'drop', b.address)) !== '(absent)' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  t.equal(await hostFlags(proxy, 'drop', b.address), '(absent)', 'ignore_health_on_host_removal: removed at once');
  t.equal(await hostFlags(proxy, 'keep', b.address), '/pending_dynamic_removal', 'default: kept while it passes its checks');
  b.setHealth('', 'NOT_SERVING');
  const deadline2 = Date.now() + 10_000;
  while ((await hostFlags(proxy, 'keep', b.address)) !== '(absent)' && Date.now() < deadline2) await new Promise((r) => setTimeout(r, 50));
  t.equal(await hostFlags(proxy, 'keep', b.address), '(absent)', 'removed once it fails a check');

  // After initialization, a new health-checked cluster warms: it is not served (absent from
  // /clusters) until its first checks are in, and appears with its hosts already checked.
  a.setHealthCheckDelay(1500);
  cp.setResources(TYPE.endpoints, [
    { name: 'keep', value: assignment('keep', [a.address]) },
    { name: 'drop', value: assignment('drop', [a.address]) },
    { name: 'late', value: assignment('late', [a.address]) },
  ]);
  cp.setResources(TYPE.cluster, [
    { name: 'keep', value: edsCluster('keep', { health_checks: [hc] }) },
    { name: 'drop', value: edsCluster('drop', { health_checks: [hc], ignore_health_on_host_removal: true }) },
    { name: 'late', value: edsCluster('late', { health_checks: [hc] }) },
  ]);
  const pushed = Date.now();
  let first = '(absent)';
  while (first === '(absent)' && Date.now() - pushed < 20_000) {
    first = await hostFlags(proxy, 'late', a.address);
    if (first === '(absent)') await new Promise((r) => setTimeout(r, 20));
  }
  t.equal(first, 'healthy', `the new cluster was served only once checked (after ${Date.now() - pushed} ms; first check takes 1.5 s)`);

  // A changed health-checked cluster warms too; the version it replaces serves meanwhile.
  const maxConnections = async (): Promise<string> => /late::default_priority::max_connections::(\d+)/.exec((await proxy.admin('/clusters')).body)?.[1] ?? '(absent)';
  t.equal(await maxConnections(), '1024');
  cp.setResources(TYPE.cluster, [
    { name: 'keep', value: edsCluster('keep', { health_checks: [hc] }) },
    { name: 'drop', value: edsCluster('drop', { health_checks: [hc], ignore_health_on_host_removal: true }) },
    { name: 'late', value: edsCluster('late', { health_checks: [hc], circuit_breakers: { thresholds: [{ max_connections: 77 }] } }) },
  ]);
  const changed = Date.now();
  const seen = new Set<string>();
  let version = '1024';
  while (version !== '77' && Date.now() - changed < 20_000) {
    version = await maxConnections();
    seen.add(`${version} ${await hostFlags(proxy, 'late', a.address)}`);
    if (version !== '77') await new Promise((r) => setTimeout(r, 20));
  }
  t.equal(version, '77', `the new version took over (after ${Date.now() - changed} ms)`);
  t.same([...seen].sort(), ['1024 healthy', '77 healthy'], 'the old version served (healthy) until the new one had been checked');
});
