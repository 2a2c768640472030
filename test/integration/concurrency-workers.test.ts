/**
 * `--concurrency 2`: a primary (admin, xDS, health checks) and two worker processes sharing the
 * listener (issue #8, "Multi-core"). Real peers on loopback: grpc-js backends and clients, the
 * fake ADS control plane, the real binary.
 */
import http from 'node:http';
import t from 'tap';
import { startControlPlane } from '../fakes/control-plane';
import { startGrpcBackend, type GrpcBackend } from '../fakes/grpc-backend';
import { createEchoClient } from '../fakes/grpc-client';
import { freePort, startLegate, type LegateProcess } from '../fakes/legate-process';
import { exitWhenDone } from '../fakes/exit-guard';
import { bootstrapText } from './bootstrap-builder';
import { adsBootstrap, assignment, edsCluster, rdsListener, routeConfig, TYPE } from './xds-resources';

exitWhenDone(t);

/** `name: value` lines of /stats. */
async function stats(proxy: LegateProcess): Promise<Map<string, number>> {
  const r = await proxy.admin('/stats');
  const out = new Map<string, number>();
  for (const line of r.body.split('\n')) {
    const m = /^([^:]+): (-?\d+)$/.exec(line);
    if (m) out.set(m[1]!, Number(m[2]));
  }
  return out;
}

/** Envoy's per-worker listener counters: connections each worker accepted. */
function perWorker(s: Map<string, number>, listenerPort: number): [number, number] {
  const v = (i: number): number => s.get(`listener.127.0.0.1_${listenerPort}.worker_${i}.downstream_cx_total`) ?? 0;
  return [v(0), v(1)];
}

/**
 * Calls on new connections (each client is one connection) in rounds of 4 until both workers
 * accepted some since the start (the kernel picks the worker), or for at most `maxMs`. Returns
 * the backends that answered.
 */
async function callUntilBothWorkersServe(proxy: LegateProcess, listenerPort: number, maxMs = 15_000): Promise<{ backends: Record<string, number>; calls: number; served: [number, number] }> {
  const before = perWorker(await stats(proxy), listenerPort);
  const backends: Record<string, number> = {};
  let calls = 0;
  let served: [number, number] = [0, 0];
  for (const start = Date.now(); Date.now() - start < maxMs;) {
    await Promise.all(Array.from({ length: 4 }, async () => {
      const c = createEchoClient(`127.0.0.1:${listenerPort}`);
      try {
        const r = await c.unary({ payload: Buffer.from('x') });
        backends[r.response.backend] = (backends[r.response.backend] ?? 0) + 1;
        calls++;
      } finally {
        c.close();
      }
    }));
    const now = perWorker(await stats(proxy), listenerPort);
    served = [now[0] - before[0], now[1] - before[1]];
    if (served[0] > 0 && served[1] > 0) break;
  }
  return { backends, calls, served };
}

/** The pid of worker `index` once its (re)start is logged after `skip` earlier starts of it. */
async function workerPid(proxy: LegateProcess, index: number, skip = 0): Promise<number> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const starts = [...proxy.stdout, ...proxy.stderr].map((l) => new RegExp(`worker ${index} started \\(pid (\\d+)\\)`).exec(l)).filter((m) => m !== null);
    if (starts.length > skip) return Number(starts[skip]![1]);
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`worker ${index} start #${skip + 1} not logged`);
}

t.test('static config: both workers serve one listener; merged stats; a killed worker comes back; SIGTERM exits 0', async (t) => {
  const backend = await startGrpcBackend({ name: 'b1', services: ['echo'] });
  t.teardown(() => backend.stop(100));
  const adminPort = await freePort();
  const listenerPort = await freePort();
  const healthFilter = {
    name: 'envoy.filters.http.health_check',
    typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.health_check.v3.HealthCheck', pass_through_mode: false, headers: [{ name: ':path', string_match: { exact: '/healthz' } }] },
  };
  const router = { name: 'envoy.filters.http.router', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } };
  const proxy = await startLegate({
    configYaml: bootstrapText({ adminPort, listenerPort, clusters: [{ name: 'svc', endpoints: [backend.address] }], hcmExtra: { http_filters: [healthFilter, router] } }),
    args: ['--concurrency', '2'],
  });
  t.teardown(() => proxy.stop());

  /** GET /healthz on `n` new connections; the statuses, and the connections each worker accepted. */
  const healthz = async (n: number): Promise<{ statuses: number[]; served: [number, number] }> => {
    const before = perWorker(await stats(proxy), listenerPort);
    const statuses = await Promise.all(Array.from({ length: n }, () => new Promise<number>((resolve, reject) => {
      http.get({ host: '127.0.0.1', port: listenerPort, path: '/healthz', agent: false }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      }).on('error', reject);
    })));
    const after = perWorker(await stats(proxy), listenerPort);
    return { statuses, served: [after[0] - before[0], after[1] - before[1]] };
  };

  t.test('/ready, server.concurrency', async (t) => {
    const ready = await proxy.admin('/ready');
    t.equal(ready.status, 200);
    t.equal(ready.body, 'LIVE\n');
    t.equal((await stats(proxy)).get('server.concurrency'), 2);
  });

  t.test('calls through one listener land on both workers; merged counters count each call once', async (t) => {
    const r = await callUntilBothWorkersServe(proxy, listenerPort);
    t.ok(r.served[0] > 0 && r.served[1] > 0, `both workers accepted connections: ${JSON.stringify(r.served)}`);
    t.equal(r.served[0] + r.served[1], r.calls, 'one connection per call, each accepted by exactly one worker');
    const s = await stats(proxy);
    t.equal(s.get('http.test.downstream_rq_total'), r.calls, 'merged downstream_rq_total = calls made');
    t.equal(s.get('cluster.svc.upstream_rq_total'), r.calls, 'merged upstream_rq_total = calls made');
    t.equal(s.get(`listener.127.0.0.1_${listenerPort}.downstream_cx_total`), r.calls, 'merged listener downstream_cx_total = connections made');
    t.equal(s.get('http.test.downstream_rq_active'), 0, 'gauges add up too');
    t.equal(s.get('cluster.svc.membership_total'), 1, 'replicated cluster state is counted once');
    const text = (await proxy.admin('/stats')).body;
    t.match(text, new RegExp(`^http\\.test\\.downstream_rq_time: P0\\(`, 'm'), 'merged histogram rendered');

    const prom = (await proxy.admin('/stats/prometheus')).body;
    const sample = /^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="[^"]*"(,[a-zA-Z_][a-zA-Z0-9_]*="[^"]*")*)?\})? (-?[0-9.e+]+|nan|NaN|\+Inf)$/;
    const bad = prom.split('\n').filter((l) => l !== '' && !l.startsWith('# ') && !sample.test(l));
    t.same(bad, [], 'every Prometheus line parses');
    const value = (series: string): number | undefined => {
      const line = prom.split('\n').find((l) => l.startsWith(`${series} `));
      return line === undefined ? undefined : Number(line.slice(series.length + 1));
    };
    t.equal(value('envoy_http_downstream_rq_total{envoy_http_conn_manager_prefix="test"}'), r.calls);
    t.equal(value('envoy_http_downstream_rq_time_count{envoy_http_conn_manager_prefix="test"}'), r.calls, 'histogram counts merged');
    t.equal(value(`envoy_listener_worker_downstream_cx_total{envoy_worker_id="0",envoy_listener_address="127.0.0.1_${listenerPort}"}`), r.served[0], 'per-worker series, worker 0');
    t.equal(value(`envoy_listener_worker_downstream_cx_total{envoy_worker_id="1",envoy_listener_address="127.0.0.1_${listenerPort}"}`), r.served[1], 'per-worker series, worker 1');

    const clusters = (await proxy.admin('/clusters')).body;
    t.match(clusters, new RegExp(`^svc::${backend.address}::rq_total::${r.calls}$`, 'm'), '/clusters sums the workers\' host counters');
  });

  t.test('a killed worker is restarted with the current config; the other keeps serving', async (t) => {
    const pid0 = await workerPid(proxy, 0);
    const countsBefore = await stats(proxy);
    process.kill(pid0, 'SIGKILL');
    await proxy.waitForLine(/worker 0 \(pid \d+\) died \(signal SIGKILL\); restarting it/, 5000);
    const client = createEchoClient(`127.0.0.1:${listenerPort}`);
    t.ok((await client.unary({})).ok, 'served while worker 0 is down');
    client.close();
    const pid0b = await workerPid(proxy, 0, 1);
    t.not(pid0b, pid0, 'a new worker 0 process');
    // Serving again: both workers accept new connections (the new one has only the primary's snapshot).
    await proxy.waitForLine(new RegExp(`\\[${pid0b}\\].*listener test_listener bound`), 20_000);
    const r = await callUntilBothWorkersServe(proxy, listenerPort);
    t.ok(r.served[0] > 0 && r.served[1] > 0, `both workers serve after the restart: ${JSON.stringify(r.served)}`);
    t.same(Object.keys(r.backends), ['b1']);
    // The dead worker's counters, as last read, stay in the merged numbers.
    const countsAfter = await stats(proxy);
    t.equal(countsAfter.get('http.test.downstream_rq_total'), countsBefore.get('http.test.downstream_rq_total')! + 1 + r.calls, 'merged counters continue across the crash');
    const w0 = `listener.127.0.0.1_${listenerPort}.worker_0.downstream_cx_total`;
    // (+1 when the call made during the restart went to the new worker 0.)
    const gain = countsAfter.get(w0)! - countsBefore.get(w0)! - r.served[0];
    t.ok(gain === 0 || gain === 1, `worker 0's successor continues its per-worker counter (${countsBefore.get(w0)} before, ${countsAfter.get(w0)} after, ${r.served[0]} new)`);
  });

  t.test('/healthcheck/fail and /healthcheck/ok reach every worker', async (t) => {
    t.equal((await proxy.admin('/healthcheck/fail', 'POST')).status, 200);
    t.equal((await proxy.admin('/ready')).body, 'DRAINING\n');
    let failing = await healthz(8);
    for (let i = 0; i < 10 && !(failing.served[0] > 0 && failing.served[1] > 0); i++) {
      const more = await healthz(8);
      failing = { statuses: [...failing.statuses, ...more.statuses], served: [failing.served[0] + more.served[0], failing.served[1] + more.served[1]] };
    }
    t.ok(failing.served[0] > 0 && failing.served[1] > 0, `both workers answered: ${JSON.stringify(failing.served)}`);
    t.same([...new Set(failing.statuses)], [503], 'every worker fails health checks');
    t.equal((await proxy.admin('/healthcheck/ok', 'POST')).status, 200);
    const passing = await healthz(16);
    t.same([...new Set(passing.statuses)], [200], 'and passes them again');
    t.equal((await proxy.admin('/ready')).body, 'LIVE\n');
  });

  t.test('/drain_listeners: no worker accepts any more', async (t) => {
    t.equal((await proxy.admin('/drain_listeners', 'POST')).status, 200);
    await new Promise((r) => setTimeout(r, 300));
    for (let i = 0; i < 6; i++) {
      const c = createEchoClient(`127.0.0.1:${listenerPort}`);
      const r = await c.unarySettled({}, { deadlineMs: 1000 });
      c.close();
      t.not(r.ok, true, `new connection ${i + 1} is not served`);
    }
    // A worker started after the drain (restarted) drains the listener too.
    const pid = await workerPid(proxy, 0, 1);
    process.kill(pid, 'SIGKILL');
    const restarted = await workerPid(proxy, 0, 2);
    await proxy.waitForLine(new RegExp(`\\[${restarted}\\].*listener test_listener bound`), 20_000);
    await new Promise((r) => setTimeout(r, 300));
    for (let i = 0; i < 4; i++) {
      const c = createEchoClient(`127.0.0.1:${listenerPort}`);
      const r = await c.unarySettled({}, { deadlineMs: 1000 });
      c.close();
      t.not(r.ok, true, `after a worker restart, new connection ${i + 1} is not served either`);
    }
  });

  t.test('SIGTERM drains both workers and exits 0', async (t) => {
    const exit = await proxy.stop('SIGTERM', 15_000);
    t.same(exit, { code: 0, signal: null });
    const lines = proxy.stderr.join('\n') + proxy.stdout.join('\n');
    t.match(lines, /worker 0 exited/);
    t.match(lines, /worker 1 exited/);
  });
});

t.test('health checks run once, in the primary; every worker avoids the failing host', async (t) => {
  const a = await startGrpcBackend({ name: 'a', services: ['echo', 'health'] });
  const b = await startGrpcBackend({ name: 'b', services: ['echo', 'health'] });
  t.teardown(async () => { for (const x of [a, b]) await x.stop(100).catch(() => undefined); });
  b.setHealth('', 'NOT_SERVING');
  const adminPort = await freePort();
  const listenerPort = await freePort();
  const hc = { timeout: '1s', interval: '0.25s', no_traffic_interval: '0.25s', interval_jitter: '0s', unhealthy_threshold: 1, healthy_threshold: 1, grpc_health_check: {} };
  const proxy = await startLegate({
    configYaml: bootstrapText({ adminPort, listenerPort, clusters: [{ name: 'svc', endpoints: [a.address, b.address], extra: { health_checks: [hc] } }] }),
    args: ['--concurrency', '2'],
  });
  t.teardown(() => proxy.stop());

  const r = await callUntilBothWorkersServe(proxy, listenerPort);
  t.ok(r.served[0] > 0 && r.served[1] > 0, `both workers served: ${JSON.stringify(r.served)}`);
  t.same(r.backends, { a: r.calls }, 'no call went to the NOT_SERVING host, from either worker');
  const flags = (await proxy.admin('/clusters')).body.split('\n').find((l) => l.startsWith(`svc::${b.address}::health_flags::`));
  t.equal(flags, `svc::${b.address}::health_flags::/failed_active_hc`);

  // One checker's cadence: one check per 250 ms per host (N+1 processes checking would be 3×).
  const checks = (): number => b.callsByMethod['/grpc.health.v1.Health/Check'] ?? 0;
  const before = checks();
  const windowMs = 2000;
  await new Promise((res) => setTimeout(res, windowMs));
  const n = checks() - before;
  t.ok(n >= 3 && n <= windowMs / 250 + 3, `${n} health checks of b in ${windowMs} ms (one checker: about ${windowMs / 250})`);
  const s = await stats(proxy);
  t.ok((s.get('cluster.svc.health_check.attempt') ?? 0) > 0, 'health_check.* come from the primary');

  // Back to SERVING: both workers use it again.
  b.setHealth('', 'SERVING');
  const start = Date.now();
  while (!/health_flags::healthy/.test((await proxy.admin('/clusters')).body.split('\n').find((l) => l.startsWith(`svc::${b.address}::health_flags::`)) ?? '') && Date.now() - start < 5000) {
    await new Promise((res) => setTimeout(res, 50));
  }
  await new Promise((res) => setTimeout(res, 200));
  const after = await callUntilBothWorkersServe(proxy, listenerPort);
  t.ok((after.backends['b'] ?? 0) > 0, `b serves again: ${JSON.stringify(after.backends)}`);

  // Now a fails. A worker started after that learns the current health with its first snapshot
  // (without it every host would look unchecked, i.e. failed, and panic routing would use a too).
  a.setHealth('', 'NOT_SERVING');
  const failStart = Date.now();
  while (!(await proxy.admin('/clusters')).body.includes(`svc::${a.address}::health_flags::/failed_active_hc`) && Date.now() - failStart < 5000) {
    await new Promise((res) => setTimeout(res, 50));
  }
  const pid1 = await workerPid(proxy, 1);
  process.kill(pid1, 'SIGKILL');
  const pid1b = await workerPid(proxy, 1, 1);
  await proxy.waitForLine(new RegExp(`\\[${pid1b}\\].*listener test_listener bound`), 20_000);
  let late = await callUntilBothWorkersServe(proxy, listenerPort);
  const lateStart = Date.now();
  while (!(late.served[0] > 0 && late.served[1] > 0) && Date.now() - lateStart < 10_000) late = await callUntilBothWorkersServe(proxy, listenerPort);
  t.ok(late.served[1] > 0, `the restarted worker served: ${JSON.stringify(late.served)}`);
  t.same(late.backends, { b: late.calls }, 'and, like the other, only the healthy host');
});

t.test('xDS: one ADS stream in the primary; updates reach both workers; a NACKed config reaches none', async (t) => {
  const a = await startGrpcBackend({ name: 'a', services: ['echo'] });
  const b = await startGrpcBackend({ name: 'b', services: ['echo'] });
  const backends: GrpcBackend[] = [a, b];
  t.teardown(async () => { for (const x of backends) await x.stop(100); });
  const cp = await startControlPlane();
  t.teardown(() => cp.stop());
  const listenerPort = await freePort();
  cp.setResources(TYPE.cluster, [{ name: 'svc', value: edsCluster('svc') }]);
  cp.setResources(TYPE.endpoints, [{ name: 'svc', value: assignment('svc', [a.address]) }]);
  cp.setResources(TYPE.listener, [{ name: 'outbound', value: rdsListener('outbound', listenerPort, 'routes') }]);
  cp.setResources(TYPE.routeConfig, [{ name: 'routes', value: routeConfig('routes', [{ match: { prefix: '/' }, route: { cluster: 'svc' } }]) }]);
  const adminPort = await freePort();
  const proxy = await startLegate({ configYaml: adsBootstrap(adminPort, cp.port), args: ['--concurrency', '2'] });
  t.teardown(() => proxy.stop());

  for (const type of [TYPE.listener, TYPE.cluster, TYPE.routeConfig, TYPE.endpoints]) await cp.waitForAck(type);
  t.equal(cp.totalStreams, 1, 'the control plane saw one ADS stream (the primary\'s)');
  const first = await callUntilBothWorkersServe(proxy, listenerPort);
  t.same(first.backends, { a: first.calls }, 'both workers route to svc (a)');

  // A new cluster and a route to it.
  cp.setResources(TYPE.cluster, [{ name: 'svc', value: edsCluster('svc') }, { name: 'svc-b', value: edsCluster('svc-b') }]);
  cp.setResources(TYPE.endpoints, [{ name: 'svc', value: assignment('svc', [a.address]) }, { name: 'svc-b', value: assignment('svc-b', [b.address]) }]);
  await cp.waitForAck(TYPE.cluster);
  await cp.waitForAck(TYPE.endpoints);
  cp.setResources(TYPE.routeConfig, [{ name: 'routes', value: routeConfig('routes', [{ match: { prefix: '/' }, route: { cluster: 'svc-b' } }]) }]);
  await cp.waitForAck(TYPE.routeConfig);
  await new Promise((r) => setTimeout(r, 300));
  const updated = await callUntilBothWorkersServe(proxy, listenerPort);
  t.ok(updated.served[0] > 0 && updated.served[1] > 0, `both workers served: ${JSON.stringify(updated.served)}`);
  t.same(updated.backends, { b: updated.calls }, 'every call, from both workers, lands on the new cluster');

  // A bad route config: NACKed once (one stream), and no worker changes.
  const nacksBefore = cp.requests.filter((r) => r.typeUrl === TYPE.routeConfig && r.errorDetail).length;
  cp.setResources(TYPE.routeConfig, [{ name: 'routes', value: routeConfig('routes', [{ match: { safe_regex: { regex: '(?=bad)' } }, route: { cluster: 'svc' } }]) }]);
  const nack = await cp.waitForNack(TYPE.routeConfig);
  t.match(nack.message, /invalid regex/);
  await new Promise((r) => setTimeout(r, 500));
  t.equal(cp.requests.filter((r) => r.typeUrl === TYPE.routeConfig && r.errorDetail).length - nacksBefore, 1, 'one NACK');
  const still = await callUntilBothWorkersServe(proxy, listenerPort);
  t.same(still.backends, { b: still.calls }, 'both workers still serve the last good routes');

  // A worker killed now comes back with the current (updated) config.
  const pid1 = await workerPid(proxy, 1);
  process.kill(pid1, 'SIGKILL');
  const pid1b = await workerPid(proxy, 1, 1);
  await proxy.waitForLine(new RegExp(`\\[${pid1b}\\].*listener outbound bound`), 20_000);
  const start = Date.now();
  let again = await callUntilBothWorkersServe(proxy, listenerPort);
  while (!(again.served[0] > 0 && again.served[1] > 0) && Date.now() - start < 10_000) again = await callUntilBothWorkersServe(proxy, listenerPort);
  t.ok(again.served[1] > 0, `the restarted worker serves: ${JSON.stringify(again.served)}`);
  t.same(again.backends, { b: again.calls }, 'with the current routes (to svc-b)');
  t.equal(cp.totalStreams, 1, 'still one ADS stream');

  // POST /quitquitquit drains every worker; the primary exits 0 once they all have.
  t.equal((await proxy.admin('/quitquitquit', 'POST')).status, 200);
  t.same(await proxy.exited, { code: 0, signal: null }, 'exit code 0');
  const lines = [...proxy.stdout, ...proxy.stderr].join('\n');
  t.match(lines, /POST \/quitquitquit: draining listeners/);
  t.match(lines, /worker 0 exited/);
  t.match(lines, /worker 1 exited/);
});
