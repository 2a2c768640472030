import * as grpc from '@grpc/grpc-js';
import http2 from 'node:http2';
import t from 'tap';
import { createTestClient } from '../fakes/grpc-client';
import { frameMessage } from '../fakes/grpc-frame';
import { freePort, startLegate } from '../fakes/legate-process';
import { defaultRawHandler, respondGrpc, respondGrpcTrailersOnly, startRawH2Backend, type RawH2Backend } from '../fakes/raw-h2-backend';
import { bootstrapText } from './bootstrap-builder';

const LOG = '%RESPONSE_CODE% %RESPONSE_FLAGS% %UPSTREAM_REQUEST_ATTEMPT_COUNT% %GRPC_STATUS% %REQ(x-case)%\n';

/** A backend that always fails the way `mode` says. */
async function failing(mode: 'trailers-only' | 'trailers' | 'after-bytes' | 'slow'): Promise<RawH2Backend> {
  const b = await startRawH2Backend({ name: `bad-${mode}` });
  b.setHandler((stream, headers, ctx) => {
    stream.on('error', () => undefined);
    if (mode === 'trailers-only') respondGrpcTrailersOnly(stream, { status: 14, message: 'down' });
    else if (mode === 'trailers') respondGrpc(stream, [], { status: 14, message: 'down after headers' });
    else if (mode === 'after-bytes') {
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' });
      stream.write(frameMessage(Buffer.from([0x0a, 0x01, 0x62])));
      setTimeout(() => stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR), 20);
    } else setTimeout(() => defaultRawHandler(stream, headers, ctx), 1000);
  });
  return b;
}

async function proxyFor(t: { teardown(fn: () => unknown): void }, endpoints: string[], retryPolicy: Record<string, unknown> | undefined) {
  const listenerPort = await freePort();
  const proxy = await startLegate({
    configYaml: bootstrapText({
      adminPort: await freePort(), listenerPort, accessLogFormat: LOG,
      // Istio raises max_retries (Envoy's default allows 3 concurrent retries per cluster).
      clusters: [{ name: 'svc', endpoints, extra: { circuit_breakers: { thresholds: [{ max_retries: 4294967295 }] } } }],
      routes: [{ match: { prefix: '/' }, route: { cluster: 'svc', timeout: '0s', ...(retryPolicy ? { retry_policy: retryPolicy } : {}) } }],
    }),
  });
  t.teardown(() => proxy.stop());
  const client = createTestClient('helloworld', `127.0.0.1:${listenerPort}`);
  t.teardown(() => client.close());
  return { proxy, client };
}

const ISTIO_DEFAULT = {
  retry_on: 'connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes',
  num_retries: 2,
  retry_host_predicate: [{ name: 'envoy.retry_host_predicates.previous_hosts', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate' } }],
  host_selection_retry_max_attempts: '5',
};

for (const mode of ['trailers-only', 'trailers'] as const) {
  t.test(`retry_on unavailable (grpc-status in ${mode}): a failing endpoint beside a good one gives 100% success`, async (t) => {
    const good = await startRawH2Backend({ name: 'good' });
    const bad = await failing(mode);
    t.teardown(async () => { await good.stop(100); await bad.stop(100); });
    const { proxy, client } = await proxyFor(t, [good.address, bad.address], ISTIO_DEFAULT);
    let ok = 0;
    for (let i = 0; i < 10; i++) {
      const rs = await Promise.all(Array.from({ length: 10 }, () => client.unarySettled('SayHello', { name: 'x' }, { metadata: { 'x-case': mode } })));
      ok += rs.filter((r) => r.ok).length;
    }
    t.equal(ok, 100, 'every call succeeded');
    t.ok(bad.streams > 20, `the failing endpoint was tried (${bad.streams} times) and retried away from`);
    t.ok(await proxy.waitForLine(new RegExp(`^200 - 2 OK ${mode}$`)), 'access log: attempt count 2 on a retried call');
  });
}

t.test('with no retry policy a call is never sent twice', async (t) => {
  const good = await startRawH2Backend({ name: 'good' });
  const bad = await failing('trailers-only');
  t.teardown(async () => { await good.stop(100); await bad.stop(100); });
  const { client } = await proxyFor(t, [good.address, bad.address], undefined);
  let failed = 0;
  for (let i = 0; i < 50; i++) if (!(await client.unarySettled('SayHello', { name: 'x' })).ok) failed++;
  t.equal(good.streams + bad.streams, 50, 'the backends saw exactly one stream per call');
  t.equal(failed, bad.streams, 'every call that hit the failing endpoint failed');
});

t.test('never retried once response bytes were sent downstream', async (t) => {
  const bad = await failing('after-bytes');
  t.teardown(() => bad.stop(100));
  const { proxy, client } = await proxyFor(t, [bad.address], { retry_on: 'reset,5xx,unavailable', num_retries: 3 });
  const r = await client.unarySettled('SayHello', { name: 'x' }, { metadata: { 'x-case': 'after-bytes' } });
  t.not(r.status.code, grpc.status.OK);
  await proxy.waitForLine(/after-bytes$/);
  t.equal(bad.streams, 1, 'the upstream saw the call once');
});

t.test('per_try_timeout moves a slow attempt to another host', async (t) => {
  const good = await startRawH2Backend({ name: 'good' });
  const slow = await failing('slow');
  t.teardown(async () => { await good.stop(100); await slow.stop(100); });
  const { client } = await proxyFor(t, [good.address, slow.address], { retry_on: '5xx', num_retries: 2, per_try_timeout: '0.2s', retry_host_predicate: ISTIO_DEFAULT.retry_host_predicate });
  const started = Date.now();
  const rs = await Promise.all(Array.from({ length: 10 }, () => client.unarySettled('SayHello', { name: 'x' })));
  t.equal(rs.filter((r) => r.ok).length, 10, 'all succeeded');
  t.ok(Date.now() - started < 900, 'none waited for the slow host to answer');
});
