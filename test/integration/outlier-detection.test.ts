/**
 * Outlier detection against real grpc-js backends: a host answering UNAVAILABLE (trailers-only,
 * which Envoy's router charges as 503) is ejected after consecutive_5xx calls, leaves rotation
 * at once, shows /failed_outlier_check in /clusters, and comes back after base_ejection_time.
 */
import t from 'tap';
import * as grpc from '@grpc/grpc-js';
import { startGrpcBackend, type GrpcBackend } from '../fakes/grpc-backend';
import { createEchoClient } from '../fakes/grpc-client';
import { freePort, startLegate, type LegateProcess } from '../fakes/legate-process';
import { bootstrapText } from './bootstrap-builder';

/** While `state.failing`, every Echo call gets UNAVAILABLE from the backend itself. */
function failingInterceptor(state: { failing: boolean }): grpc.ServerInterceptor {
  return (_method, call) =>
    new grpc.ServerInterceptingCall(call, {
      start: (next) => next({
        onReceiveMessage: (message: { reply_status?: number }, nextMessage: (m: unknown) => void) => {
          if (state.failing && message && typeof message === 'object') message.reply_status = grpc.status.UNAVAILABLE;
          nextMessage(message);
        },
      }),
    });
}

async function stat(proxy: LegateProcess, name: string): Promise<number | undefined> {
  const { body } = await proxy.admin(`/stats?filter=${encodeURIComponent(`^${name.replace(/\./g, '\\.')}$`)}`);
  const m = new RegExp(`^${name.replace(/\./g, '\\.')}: (\\d+)$`, 'm').exec(body);
  return m ? Number(m[1]) : undefined;
}

async function healthFlags(proxy: LegateProcess, backend: GrpcBackend): Promise<string> {
  const { body } = await proxy.admin('/clusters');
  return new RegExp(`^svc::${backend.address.replace(/\./g, '\\.')}::health_flags::(.*)$`, 'm').exec(body)?.[1] ?? '?';
}

t.test('a host answering UNAVAILABLE is ejected, then brought back after base_ejection_time', async (t) => {
  const state = { failing: true };
  const good = await startGrpcBackend({ name: 'good', services: ['echo'] });
  const bad = await startGrpcBackend({ name: 'bad', services: ['echo'], serverOptions: { interceptors: [failingInterceptor(state)] } });
  t.teardown(async () => { await good.stop(100); await bad.stop(100); });
  const listenerPort = await freePort();
  const proxy = await startLegate({
    configYaml: bootstrapText({
      adminPort: await freePort(), listenerPort,
      clusters: [{
        name: 'svc', endpoints: [good.address, bad.address],
        extra: { outlier_detection: { consecutive_5xx: 3, interval: '0.2s', base_ejection_time: '1.5s', max_ejection_percent: 50 } },
      }],
      routes: [{ match: { prefix: '/' }, route: { cluster: 'svc', timeout: '0s' } }],
    }),
  });
  t.teardown(() => proxy.stop());
  const client = createEchoClient(`127.0.0.1:${listenerPort}`);
  t.teardown(() => client.close());

  let failed = 0;
  for (let i = 0; i < 40; i++) {
    const r = await client.unarySettled({});
    if (!r.ok) {
      failed++;
      t.equal(r.status.code, grpc.status.UNAVAILABLE, 'failures are the backend’s UNAVAILABLE');
    }
  }
  t.equal(failed, 3, 'exactly consecutive_5xx (3) calls failed before the host left rotation');
  t.equal(await healthFlags(proxy, bad), '/failed_outlier_check', '/clusters flags the ejected host');
  t.equal(await healthFlags(proxy, good), 'healthy');
  type ClustersJson = { cluster_statuses: Array<{ name: string; circuit_breakers: { thresholds: Array<Record<string, unknown>> }; host_statuses: Array<{ address: { socket_address: { port_value: number } }; health_status: Record<string, unknown> }> }> };
  const json = JSON.parse((await proxy.admin('/clusters?format=json')).body) as ClustersJson;
  const svc = json.cluster_statuses.find((c) => c.name === 'svc')!;
  t.equal(svc.host_statuses.find((h) => h.address.socket_address.port_value === bad.port)?.health_status['failed_outlier_check'], true, '/clusters?format=json: failed_outlier_check');
  t.same(svc.circuit_breakers.thresholds, [
    { max_connections: 1024, max_pending_requests: 1024, max_requests: 1024, max_retries: 3 },
    { priority: 'HIGH', max_connections: 1024, max_pending_requests: 1024, max_requests: 1024, max_retries: 3 },
  ], '/clusters?format=json: circuit breaker thresholds per priority');
  t.equal(await stat(proxy, 'cluster.svc.outlier_detection.ejections_active'), 1);
  t.equal(await stat(proxy, 'cluster.svc.outlier_detection.ejections_enforced_consecutive_5xx'), 1);
  t.equal(await stat(proxy, 'cluster.svc.outlier_detection.ejections_enforced_total'), 1);
  t.equal(await stat(proxy, 'cluster.svc.membership_healthy'), 1, 'membership_healthy includes outlier detection');

  state.failing = false;
  const callsWhileEjected = bad.calls;
  const deadline = Date.now() + 6000;
  let back = false;
  while (Date.now() < deadline && !back) {
    await new Promise((r) => setTimeout(r, 100));
    back = (await healthFlags(proxy, bad)) === 'healthy';
  }
  t.ok(back, 'the host came back after base_ejection_time');
  t.equal(bad.calls, callsWhileEjected, 'no call reached the ejected host while it was out');
  t.equal(await stat(proxy, 'cluster.svc.outlier_detection.ejections_active'), 0);
  const served: Record<string, number> = {};
  for (let i = 0; i < 20; i++) {
    const r = await client.unary({});
    served[r.response.backend] = (served[r.response.backend] ?? 0) + 1;
  }
  t.ok((served['bad'] ?? 0) > 0 && (served['good'] ?? 0) > 0, `both hosts serve again: ${JSON.stringify(served)}`);
});

t.test('with the default max_ejection_percent (10%) one of two hosts is never ejected (Envoy counts the host being ejected)', async (t) => {
  const state = { failing: true };
  const good = await startGrpcBackend({ name: 'good', services: ['echo'] });
  const bad = await startGrpcBackend({ name: 'bad', services: ['echo'], serverOptions: { interceptors: [failingInterceptor(state)] } });
  t.teardown(async () => { await good.stop(100); await bad.stop(100); });
  const listenerPort = await freePort();
  const proxy = await startLegate({
    configYaml: bootstrapText({
      adminPort: await freePort(), listenerPort,
      clusters: [{ name: 'svc', endpoints: [good.address, bad.address], extra: { outlier_detection: { consecutive_5xx: 2, interval: '0.2s' } } }],
      routes: [{ match: { prefix: '/' }, route: { cluster: 'svc', timeout: '0s' } }],
    }),
  });
  t.teardown(() => proxy.stop());
  const client = createEchoClient(`127.0.0.1:${listenerPort}`);
  t.teardown(() => client.close());
  let failed = 0;
  for (let i = 0; i < 20; i++) if (!(await client.unarySettled({})).ok) failed++;
  t.ok(failed >= 8, `the failing host stays in rotation (${failed}/20 failed)`);
  t.equal(await healthFlags(proxy, bad), 'healthy');
  t.ok((await stat(proxy, 'cluster.svc.outlier_detection.ejections_overflow'))! >= 1, 'ejections_overflow counts the refused ejections');
});

t.test('connect failures count as local-origin errors: a dead endpoint is ejected', async (t) => {
  const good = await startGrpcBackend({ name: 'good', services: ['echo'] });
  t.teardown(() => good.stop(100));
  const deadPort = await freePort(); // nothing listens there
  const listenerPort = await freePort();
  const proxy = await startLegate({
    configYaml: bootstrapText({
      adminPort: await freePort(), listenerPort,
      clusters: [{
        name: 'svc', endpoints: [good.address, `127.0.0.1:${deadPort}`],
        extra: { outlier_detection: { split_external_local_origin_errors: true, consecutive_local_origin_failure: 2, interval: '0.2s', base_ejection_time: '30s', max_ejection_percent: 50 } },
      }],
      routes: [{ match: { prefix: '/' }, route: { cluster: 'svc', timeout: '0s' } }],
    }),
  });
  t.teardown(() => proxy.stop());
  const client = createEchoClient(`127.0.0.1:${listenerPort}`);
  t.teardown(() => client.close());
  let failed = 0;
  for (let i = 0; i < 20; i++) if (!(await client.unarySettled({})).ok) failed++;
  t.equal(failed, 2, 'two connect failures, then the dead endpoint is out of rotation');
  const { body } = await proxy.admin('/clusters');
  t.match(body, new RegExp(`^svc::127\\.0\\.0\\.1:${deadPort}::health_flags::/failed_outlier_check$`, 'm'));
  t.equal(await stat(proxy, 'cluster.svc.outlier_detection.ejections_enforced_consecutive_local_origin_failure'), 1);
});
