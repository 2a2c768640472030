/**
 * Circuit breakers against real grpc-js backends: overflow is a 503 UO local reply, which a gRPC
 * client sees as a trailers-only UNAVAILABLE, and the overflow counters and gauges move.
 */
import t, { type Test } from 'tap';
import * as grpc from '@grpc/grpc-js';
import { startGrpcBackend, type GrpcBackend } from '../fakes/grpc-backend';
import { createEchoClient, type EchoClient } from '../fakes/grpc-client';
import { freePort, startLegate, type LegateProcess } from '../fakes/legate-process';
import { bootstrapText } from './bootstrap-builder';

const LOG = '%RESPONSE_CODE% %RESPONSE_FLAGS% %GRPC_STATUS% %RESPONSE_CODE_DETAILS%\n';

async function setup(t: Test, thresholds: unknown[], serverOptions: grpc.ServerOptions = {}, routeExtra: Record<string, unknown> = {}): Promise<{ backend: GrpcBackend; proxy: LegateProcess; client: EchoClient }> {
  const backend = await startGrpcBackend({ name: 'a', services: ['echo'], serverOptions });
  t.teardown(() => backend.stop(100));
  const listenerPort = await freePort();
  const proxy = await startLegate({
    configYaml: bootstrapText({
      adminPort: await freePort(), listenerPort, accessLogFormat: LOG,
      clusters: [{ name: 'svc', endpoints: [backend.address], extra: { circuit_breakers: { thresholds } } }],
      routes: [{ match: { prefix: '/' }, route: { cluster: 'svc', timeout: '0s', ...routeExtra } }],
    }),
  });
  t.teardown(() => proxy.stop());
  const client = createEchoClient(`127.0.0.1:${listenerPort}`);
  t.teardown(() => client.close());
  return { backend, proxy, client };
}

async function stat(proxy: LegateProcess, name: string): Promise<number | undefined> {
  const { body } = await proxy.admin(`/stats?filter=${encodeURIComponent(`^${name.replace(/\./g, '\\.')}$`)}`);
  const m = new RegExp(`^${name.replace(/\./g, '\\.')}: (\\d+)$`, 'm').exec(body);
  return m ? Number(m[1]) : undefined;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

t.test('max_requests: the call beyond the limit gets UNAVAILABLE (503 UO) while the first is in flight', async (t) => {
  const { backend, proxy, client } = await setup(t, [{ max_requests: 1, track_remaining: true }]);
  await client.unary({}); // connection up
  const slow = client.unarySettled({ sleep_ms: 800 });
  await sleep(200);
  t.equal(await stat(proxy, 'cluster.svc.circuit_breakers.default.rq_open'), 1, 'rq_open gauge is 1 while the limit is reached');
  t.equal(await stat(proxy, 'cluster.svc.circuit_breakers.default.remaining_rq'), 0, 'remaining_rq (track_remaining)');
  const callsBefore = backend.calls;
  const over = await client.unarySettled({});
  t.equal(over.status.code, grpc.status.UNAVAILABLE, `overflow is UNAVAILABLE (${over.status.details})`);
  t.match(over.status.details, /overflow/);
  t.equal(over.headers, undefined, 'trailers-only reply');
  t.equal(backend.calls, callsBefore, 'the overflowing call never reached the backend');
  t.ok((await slow).ok, 'the call in flight is unaffected');
  t.ok(await proxy.waitForLine(/^200 UO Unavailable upstream_reset_before_response_started\{overflow\}$/), 'access log: UO with grpc-status UNAVAILABLE (a gRPC local reply is HTTP 200)');
  t.equal(await stat(proxy, 'cluster.svc.upstream_rq_pending_overflow'), 1, 'Envoy counts max_requests overflow as upstream_rq_pending_overflow');
  t.equal(await stat(proxy, 'cluster.svc.circuit_breakers.default.rq_open'), 0, 'closed again');
  t.equal(await stat(proxy, 'cluster.svc.circuit_breakers.default.remaining_rq'), 1);
  t.ok((await client.unary({})).ok, 'calls flow again once the first finished');
});

t.test('max_pending_requests and max_connections: one connection of one stream, one waiting call, the next overflows', async (t) => {
  const { backend, proxy, client } = await setup(t, [{ max_connections: 1, max_pending_requests: 1 }], { 'grpc.max_concurrent_streams': 1 });
  await client.unary({}); // the one connection, with the peer's stream limit of 1 known
  const first = client.unarySettled({ sleep_ms: 800 });
  await sleep(150);
  const second = client.unarySettled({ sleep_ms: 10 });
  await sleep(150);
  t.equal(await stat(proxy, 'cluster.svc.upstream_rq_pending_active'), 1, 'the second call waits for a stream');
  t.equal(await stat(proxy, 'cluster.svc.circuit_breakers.default.rq_pending_open'), 1);
  t.equal(await stat(proxy, 'cluster.svc.circuit_breakers.default.cx_open'), 1, 'the connection limit is reached');
  t.ok((await stat(proxy, 'cluster.svc.upstream_cx_overflow'))! >= 1, 'a second connection was refused (upstream_cx_overflow)');
  const third = await client.unarySettled({});
  t.equal(third.status.code, grpc.status.UNAVAILABLE, 'the third call overflows the pending queue');
  t.ok((await first).ok);
  t.ok((await second).ok, 'the waiting call got the stream once it was free');
  t.equal(await stat(proxy, 'cluster.svc.upstream_rq_pending_overflow'), 1);
  t.equal(backend.connections, 1, 'never more than one upstream connection');
  t.ok(await proxy.waitForLine(/^200 UO Unavailable /));
});

t.test('route priority HIGH uses the HIGH thresholds', async (t) => {
  const { proxy, client } = await setup(t, [{ max_requests: 1 }, { priority: 'HIGH', max_requests: 100 }], {}, { priority: 'HIGH' });
  const rs = await Promise.all(Array.from({ length: 5 }, () => client.unarySettled({ sleep_ms: 200 })));
  t.equal(rs.filter((r) => r.ok).length, 5, 'five concurrent calls pass the HIGH limit of 100 (DEFAULT allows 1)');
  t.equal(await stat(proxy, 'cluster.svc.upstream_rq_pending_overflow'), 0);
});
