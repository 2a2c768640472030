/**
 * Faults (issue #9): an endpoint killed mid-stream, a stalled and a slow upstream, a
 * STRICT_DNS cluster whose name does not resolve, and a control plane that flaps. In each
 * case the affected calls end with a proper gRPC status, nothing else is disturbed, and
 * the proxy keeps serving.
 *
 * Related cases live beside the features they exercise: GOAWAY storms in
 * test/integration/upstream-goaway.test.ts, resets in upstream-resets.test.ts, the control
 * plane killed under load in xds-ads.test.ts.
 */
import * as grpc from '@grpc/grpc-js';
import t from 'tap';
import { startControlPlane } from '../fakes/control-plane';
import { startGrpcBackend } from '../fakes/grpc-backend';
import { createEchoClient, type EchoClient } from '../fakes/grpc-client';
import { freePort, startLegate } from '../fakes/legate-process';
import { startRawH2Backend } from '../fakes/raw-h2-backend';
import { bootstrapText } from '../integration/bootstrap-builder';
import { adsBootstrap, assignment, edsCluster, rdsListener, routeConfig, TYPE } from '../integration/xds-resources';

/** The retry policy istiod puts on every outbound route by default. */
const ISTIO_DEFAULT_RETRIES = {
  retry_on: 'connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes',
  num_retries: 2,
  retry_host_predicate: [{ name: 'envoy.retry_host_predicates.previous_hosts', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate' } }],
  host_selection_retry_max_attempts: 5,
};

/** The thresholds istiod puts on every outbound cluster (no DestinationRule limits): retries are never capped. */
const ISTIO_CIRCUIT_BREAKERS = {
  thresholds: [{ max_connections: 4294967295, max_pending_requests: 4294967295, max_requests: 4294967295, max_retries: 4294967295, track_remaining: true }],
};

/** Runs `n` unary calls, `concurrency` at a time; returns the failures as "code details". */
async function calls(client: EchoClient, n: number, concurrency: number): Promise<{ ok: number; failures: string[]; byBackend: Record<string, number> }> {
  let next = 0;
  let ok = 0;
  const failures: string[] = [];
  const byBackend: Record<string, number> = {};
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < n) {
      next++;
      const r = await client.unarySettled({});
      if (r.ok) {
        ok++;
        byBackend[r.response!.backend] = (byBackend[r.response!.backend] ?? 0) + 1;
      } else {
        failures.push(`${r.status.code} ${r.status.details}`);
      }
    }
  }));
  return { ok, failures, byBackend };
}

t.test('an endpoint killed mid-stream: the stream ends with a gRPC status, new calls go elsewhere', async (t) => {
  const a = await startGrpcBackend({ name: 'a', services: ['echo'] });
  const b = await startGrpcBackend({ name: 'b', services: ['echo'] });
  t.teardown(async () => { await a.stop(10); await b.stop(10); });
  const listenerPort = await freePort();
  const proxy = await startLegate({
    configYaml: bootstrapText({
      adminPort: await freePort(),
      listenerPort,
      clusters: [{ name: 'svc', endpoints: [a.address, b.address], extra: { circuit_breakers: ISTIO_CIRCUIT_BREAKERS } }],
      routes: [{ match: { prefix: '/' }, route: { cluster: 'svc', timeout: '0s', retry_policy: ISTIO_DEFAULT_RETRIES } }],
      accessLogFormat: '%RESPONSE_CODE% %RESPONSE_FLAGS% %UPSTREAM_HOST% %UPSTREAM_REQUEST_ATTEMPT_COUNT% %RESPONSE_CODE_DETAILS%\n',
    }),
  });
  t.teardown(() => proxy.stop());
  const client = createEchoClient(`127.0.0.1:${listenerPort}`);
  t.teardown(() => client.close());

  // Round robin over two hosts: of two long streams, one lands on each.
  const streams = [0, 1].map(() => client.serverStream({ count: 200, sleep_ms: 20 }));
  await new Promise((r) => setTimeout(r, 500));
  a.kill();
  const outcomes = await Promise.all(streams);
  const onA = outcomes.find((o) => o.messages[0]?.backend === 'a');
  const onB = outcomes.find((o) => o.messages[0]?.backend === 'b');
  t.ok(onA && onB, 'one stream was on each endpoint');
  t.ok(onA!.messages.length > 0 && onA!.messages.length < 200, `the stream on the killed endpoint got part of its messages (${onA!.messages.length})`);
  t.not(onA!.status.code, grpc.status.OK, `and ended with an error status (${onA!.status.code} ${onA!.status.details})`);
  t.equal(onB!.status.code, grpc.status.OK, 'the stream on the other endpoint finished normally');
  t.equal(onB!.messages.length, 200, 'with all its messages');

  const after = await calls(client, 200, 8);
  t.same(after.failures, [], 'new calls all succeed (connect failures to the dead endpoint are retried elsewhere)');
  t.equal(after.byBackend['b'], 200, 'and are served by the live endpoint');
});

t.test('a stalled and a slow upstream: bounded by the route timeout; other calls are not held up', async (t) => {
  const stalled = await startRawH2Backend({ name: 'stalled' });
  t.teardown(() => stalled.stop(10));
  stalled.setHandler((stream, headers) => {
    // Headers, one message, then silence: the response has started and never ends.
    if (headers['x-case'] === 'after-headers') {
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' });
      stream.write(Buffer.from([0, 0, 0, 0, 0]));
    }
    // Otherwise: nothing at all.
    stream.on('error', () => undefined);
  });
  const slow = await startGrpcBackend({ name: 'slow', services: ['echo'] });
  const fast = await startGrpcBackend({ name: 'fast', services: ['echo'] });
  t.teardown(async () => { await slow.stop(10); await fast.stop(10); });
  const listenerPort = await freePort();
  const proxy = await startLegate({
    configYaml: bootstrapText({
      adminPort: await freePort(),
      listenerPort,
      accessLogFormat: '%RESPONSE_CODE% %RESPONSE_FLAGS% %RESPONSE_CODE_DETAILS% %UPSTREAM_CLUSTER%\n',
      clusters: [
        { name: 'stalled', endpoints: [stalled.address] },
        { name: 'slow', endpoints: [slow.address] },
        { name: 'fast', endpoints: [fast.address] },
      ],
      routes: [
        { match: { prefix: '/', headers: [{ name: 'x-target', string_match: { exact: 'stalled' } }] }, route: { cluster: 'stalled', timeout: '0.5s' } },
        { match: { prefix: '/', headers: [{ name: 'x-target', string_match: { exact: 'slow' } }] }, route: { cluster: 'slow', timeout: '5s' } },
        { match: { prefix: '/' }, route: { cluster: 'fast', timeout: '5s' } },
      ],
    }),
  });
  t.teardown(() => proxy.stop());
  const client = createEchoClient(`127.0.0.1:${listenerPort}`);
  t.teardown(() => client.close());

  const before = await client.unarySettled({}, { metadata: { 'x-target': 'stalled' } });
  t.equal(before.status.code, grpc.status.UNAVAILABLE, `no response at all → UNAVAILABLE from the route timeout (${before.status.details})`);
  t.ok(await proxy.waitForLine(/^200 UT upstream_response_timeout stalled$/), 'logged as UT (the gRPC local reply is trailers-only, :status 200)');

  const started = client.unarySettled({}, { metadata: { 'x-target': 'stalled', 'x-case': 'after-headers' } });
  const mid = await started;
  t.not(mid.status.code, grpc.status.OK, `a response that started and stalled ends with an error status (${mid.status.code} ${mid.status.details})`);

  // A slow call (2 s) in flight does not hold up fast calls on the same downstream connection.
  let slowDone = false;
  const slowCall = client.unarySettled({ sleep_ms: 2000 }, { metadata: { 'x-target': 'slow' } }).then((r) => { slowDone = true; return r; });
  const fastCalls = await calls(client, 50, 5);
  t.same(fastCalls.failures, [], 'fast calls all succeed');
  t.notOk(slowDone, 'and all finished while the slow call was still in flight');
  t.equal((await slowCall).status.code, grpc.status.OK, 'the slow call succeeds');
  t.equal((await proxy.admin('/ready')).status, 200, 'the proxy is still ready');
});

t.test('STRICT_DNS name that does not resolve: UNAVAILABLE (UH) for its routes, other clusters serve', async (t) => {
  const good = await startGrpcBackend({ name: 'good', services: ['echo'] });
  t.teardown(() => good.stop(10));
  const listenerPort = await freePort();
  const proxy = await startLegate({
    configYaml: bootstrapText({
      adminPort: await freePort(),
      listenerPort,
      accessLogFormat: '%RESPONSE_CODE% %RESPONSE_FLAGS% %UPSTREAM_CLUSTER%\n',
      clusters: [
        { name: 'unresolvable', type: 'STRICT_DNS', endpoints: ['no-such-host.invalid:50051'], extra: { dns_refresh_rate: '0.2s' } },
        { name: 'good', endpoints: [good.address] },
      ],
      routes: [
        { match: { prefix: '/', headers: [{ name: 'x-target', string_match: { exact: 'dns' } }] }, route: { cluster: 'unresolvable' } },
        { match: { prefix: '/' }, route: { cluster: 'good' } },
      ],
    }),
  });
  t.teardown(() => proxy.stop());
  const client = createEchoClient(`127.0.0.1:${listenerPort}`);
  t.teardown(() => client.close());
  t.equal((await proxy.admin('/ready')).status, 200, 'a failed resolution still completes initialization (as Envoy)');
  for (let i = 0; i < 3; i++) {
    const r = await client.unarySettled({}, { metadata: { 'x-target': 'dns' } });
    t.equal(r.status.code, grpc.status.UNAVAILABLE, `call ${i} to the unresolvable cluster → UNAVAILABLE`);
  }
  t.ok(await proxy.waitForLine(/^200 UH unresolvable$/), 'logged as UH');
  const rest = await calls(client, 50, 5);
  t.same(rest.failures, [], 'calls to the other cluster all succeed');
  const stats = (await proxy.admin('/stats?filter=cluster.unresolvable.update_failure')).body;
  t.match(stats, /cluster\.unresolvable\.update_failure: [1-9]/, `resolution failures are counted (${stats.trim()})`);
});

t.test('control plane flapping under load: zero failed calls, resync after each return', async (t) => {
  const a = await startGrpcBackend({ name: 'a', services: ['echo'] });
  const b = await startGrpcBackend({ name: 'b', services: ['echo'] });
  t.teardown(async () => { await a.stop(10); await b.stop(10); });
  const cp = await startControlPlane();
  t.teardown(() => cp.stop());
  const listenerPort = await freePort();
  cp.setResources(TYPE.cluster, [{ name: 'svc', value: edsCluster('svc') }]);
  cp.setResources(TYPE.endpoints, [{ name: 'svc', value: assignment('svc', [a.address]) }]);
  cp.setResources(TYPE.listener, [{ name: 'outbound', value: rdsListener('outbound', listenerPort, 'routes') }]);
  cp.setResources(TYPE.routeConfig, [{ name: 'routes', value: routeConfig('routes', [{ match: { prefix: '/' }, route: { cluster: 'svc', timeout: '0s' } }]) }]);
  const proxy = await startLegate({ configYaml: adsBootstrap(await freePort(), cp.port, 'DELTA_GRPC') });
  t.teardown(() => proxy.stop());
  const client = createEchoClient(`127.0.0.1:${listenerPort}`);
  t.teardown(() => client.close());
  await client.unary({});

  let running = true;
  let ok = 0;
  const failures: string[] = [];
  const load = Promise.all(Array.from({ length: 4 }, async () => {
    while (running) {
      const r = await client.unarySettled({});
      if (r.ok) ok++;
      else failures.push(`${r.status.code} ${r.status.details}`);
    }
  }));

  const FLAPS = 5;
  for (let i = 0; i < FLAPS; i++) {
    // Down for a while (the stream breaks, Legate backs off and retries), then back.
    await cp.restart({ downMs: 300 });
    // Each return resyncs: a change made while it was down arrives and is ACKed.
    const endpoints = i % 2 === 0 ? [a.address, b.address] : [b.address];
    cp.setResources(TYPE.endpoints, [{ name: 'svc', value: assignment('svc', endpoints) }]);
    await cp.waitForAck(TYPE.endpoints, cp.version(TYPE.endpoints), 15_000);
  }
  running = false;
  await load;
  t.same(failures, [], `zero failed calls across ${FLAPS} control-plane restarts (${ok} calls)`);
  t.ok(ok > 0, 'calls flowed throughout');
  const stats = (await proxy.admin('/stats?filter=control_plane.connected_state')).body;
  t.match(stats, /control_plane\.connected_state: 1/, 'connected at the end');
  t.equal((await proxy.admin('/ready')).status, 200, 'still ready');
});
