/**
 * Active gRPC health checking against real grpc-js health servers whose status the test switches
 * (issue #5): hosts leave rotation and come back, timeouts and dead hosts, panic, /clusters flags.
 */
import t, { type Test } from 'tap';
import { startGrpcBackend, type GrpcBackend } from '../fakes/grpc-backend';
import { createEchoClient, type EchoClient } from '../fakes/grpc-client';
import { freePort, startLegate, type LegateProcess } from '../fakes/legate-process';
import { bootstrapText } from './bootstrap-builder';
import { exitWhenDone } from '../fakes/exit-guard';

// A killed peer and hanging health checks sometimes leave a handle behind in this process (seen once in CI).
exitWhenDone(t);

const FAST_HC = {
  timeout: '0.3s',
  interval: '0.2s',
  no_traffic_interval: '0.2s',
  unhealthy_threshold: 2,
  healthy_threshold: 2,
  grpc_health_check: {},
};

async function setup(t: Test, hc: Record<string, unknown> = FAST_HC, extra: Record<string, unknown> = {}): Promise<{ a: GrpcBackend; b: GrpcBackend; proxy: LegateProcess; client: EchoClient }> {
  const a = await startGrpcBackend({ name: 'a', services: ['echo', 'health'] });
  const b = await startGrpcBackend({ name: 'b', services: ['echo', 'health'] });
  t.teardown(async () => { for (const x of [a, b]) await x.stop(100).catch(() => undefined); });
  const adminPort = await freePort();
  const listenerPort = await freePort();
  const proxy = await startLegate({ configYaml: bootstrapText({ adminPort, listenerPort, clusters: [{ name: 'svc', endpoints: [a.address, b.address], extra: { health_checks: [hc], ...extra } }] }) });
  t.teardown(() => proxy.stop());
  const client = createEchoClient(`127.0.0.1:${listenerPort}`);
  t.teardown(() => client.close());
  return { a, b, proxy, client };
}

async function flags(proxy: LegateProcess, backend: GrpcBackend): Promise<string> {
  const body = (await proxy.admin('/clusters')).body;
  const line = body.split('\n').find((l) => l.startsWith(`svc::${backend.address}::health_flags::`));
  return line?.split('::')[3] ?? '(missing)';
}

async function waitFor(what: string, cond: () => Promise<boolean>, timeoutMs = 5000): Promise<number> {
  const start = Date.now();
  while (Date.now() - start < timeoutMs) {
    if (await cond()) return Date.now() - start;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function spread(client: EchoClient, n: number): Promise<Record<string, number>> {
  const served: Record<string, number> = {};
  const results = await Promise.all(Array.from({ length: n }, () => client.unary({ payload: Buffer.from('x') })));
  for (const r of results) served[r.response.backend] = (served[r.response.backend] ?? 0) + 1;
  return served;
}

t.test('NOT_SERVING leaves rotation within an interval; SERVING brings it back after healthy_threshold', async (t) => {
  const { b, proxy, client } = await setup(t);
  t.equal(await flags(proxy, b), 'healthy');
  t.same(Object.keys(await spread(client, 40)).sort(), ['a', 'b'], 'both serve at first');

  b.setHealth('', 'NOT_SERVING');
  const took = await waitFor('b to fail', async () => (await flags(proxy, b)) === '/failed_active_hc');
  t.ok(took < 200 + 300 + 400, `left rotation after ${took} ms (interval 200 ms; one NOT_SERVING suffices)`);
  const served = await spread(client, 100);
  t.same(served, { a: 100 }, 'no call fails and none reaches b once it is out');

  const before = b.callsByMethod['/grpc.health.v1.Health/Check'] ?? 0;
  b.setHealth('', 'SERVING');
  await waitFor('b to recover', async () => (await flags(proxy, b)) === 'healthy');
  const checks = (b.callsByMethod['/grpc.health.v1.Health/Check'] ?? 0) - before;
  t.ok(checks >= 2, `healthy after ${checks} successful checks (healthy_threshold 2)`);
  t.same(Object.keys(await spread(client, 40)).sort(), ['a', 'b'], 'b is back in rotation');
});

t.test('a host that never answers fails by timeout (/active_hc_timeout); a killed host by connection error', async (t) => {
  const { a, b, proxy, client } = await setup(t);
  b.setHealthCheckDelay(10_000);
  await waitFor('b to time out', async () => (await flags(proxy, b)) === '/failed_active_hc/active_hc_timeout');
  t.same(await spread(client, 30), { a: 30 });

  b.setHealthCheckDelay(0);
  await waitFor('b to recover', async () => (await flags(proxy, b)) === 'healthy');
  a.kill();
  await waitFor('a to fail', async () => (await flags(proxy, a)) === '/failed_active_hc');
  t.same(await spread(client, 30), { b: 30 }, 'every call goes to the live host');
});

t.test('every host unhealthy → panic routing spreads traffic over all of them', async (t) => {
  const { a, b, proxy, client } = await setup(t);
  a.setHealth('', 'NOT_SERVING');
  b.setHealth('', 'NOT_SERVING');
  await waitFor('both to fail', async () => (await flags(proxy, a)) === '/failed_active_hc' && (await flags(proxy, b)) === '/failed_active_hc');
  const served = await spread(client, 100);
  t.equal((served['a'] ?? 0) + (served['b'] ?? 0), 100, 'all calls succeed (the echo service still answers)');
  t.ok((served['a'] ?? 0) > 20 && (served['b'] ?? 0) > 20, `spread over both: ${JSON.stringify(served)}`);
});

t.test('healthy_panic_threshold 0: no panic, no healthy host → UNAVAILABLE (no healthy upstream)', async (t) => {
  const { a, b, proxy, client } = await setup(t, FAST_HC, { common_lb_config: { healthy_panic_threshold: { value: 0 } } });
  a.setHealth('', 'NOT_SERVING');
  b.setHealth('', 'NOT_SERVING');
  await waitFor('both to fail', async () => (await flags(proxy, a)) === '/failed_active_hc' && (await flags(proxy, b)) === '/failed_active_hc');
  const r = await client.unarySettled({ payload: Buffer.from('x') });
  t.equal(r.status.code, 14);
  t.match(r.status.details, /no healthy upstream/);
});

t.test('service_name selects the service whose status counts; /clusters JSON health_status', async (t) => {
  const { a, proxy } = await setup(t, { ...FAST_HC, grpc_health_check: { service_name: 'legate.test.Echo' } });
  a.setHealth('legate.test.Echo', 'NOT_SERVING');
  await waitFor('a to fail on its service status', async () => (await flags(proxy, a)) === '/failed_active_hc');
  const json = JSON.parse((await proxy.admin('/clusters?format=json')).body) as { cluster_statuses: Array<{ host_statuses: Array<{ address: { socket_address: { port_value: number } }; health_status: Record<string, unknown> }> }> };
  const host = json.cluster_statuses[0]!.host_statuses.find((h) => h.address.socket_address.port_value === a.port)!;
  t.same(host.health_status, { failed_active_health_check: true, eds_health_status: 'HEALTHY' });
});
