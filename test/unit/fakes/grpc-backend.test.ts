import t from 'tap';
import * as grpc from '@grpc/grpc-js';
import { startGrpcBackend, type GrpcBackend } from '../../fakes/grpc-backend';
import { createEchoClient, createTestClient, GrpcCallError } from '../../fakes/grpc-client';
import { testServiceDefinition, type GreeterReply, type GreeterRequest, type HealthCheckResponse, type HelloReply, type HelloRequest } from '../../fakes/test-services';

async function withBackend(
  services: Parameters<typeof startGrpcBackend>[0]['services'],
  fn: (backend: GrpcBackend) => Promise<void>,
): Promise<void> {
  const backend = await startGrpcBackend({ name: 'b1', services });
  try {
    await fn(backend);
  } finally {
    await backend.stop(200);
  }
}

t.test('echo unary reports backend, metadata, authority, deadline', async (t) => {
  await withBackend(['echo'], async (backend) => {
    t.match(backend.address, /^127\.0\.0\.1:\d+$/);
    const client = createEchoClient(backend.address);
    const res = await client.unary(
      { payload: Buffer.from('abc'), response_headers: { 'x-h': 'hv' }, response_trailers: { 'x-t': 'tv' } },
      { metadata: { 'tri-service-version': '1.0.0', 'x-request-id': 'rid-1', 'x-bin': Buffer.from([1, 2]).toString('base64') }, deadlineMs: 5000 },
    );
    t.equal(res.response.backend, 'b1');
    t.same(res.response.payload, Buffer.from('abc'));
    t.equal(res.response.method, '/legate.test.Echo/Unary');
    t.equal(res.response.request_metadata['tri-service-version'], '1.0.0');
    t.equal(res.response.request_metadata['x-request-id'], 'rid-1');
    t.equal(res.response.authority, backend.address);
    t.ok(res.response.deadline_remaining_ms > 3000 && res.response.deadline_remaining_ms <= 5000, 'deadline forwarded');
    t.match(res.response.peer, /127\.0\.0\.1:\d+/);
    t.same(res.headers?.get('x-h'), ['hv']);
    t.same(res.headers?.get('x-backend-name'), ['b1']);
    t.same(res.trailers.get('x-t'), ['tv']);
    t.same(res.trailers.get('x-backend-name'), ['b1']);
    const noDeadline = await client.unary({});
    t.equal(noDeadline.response.deadline_remaining_ms, -1);
    t.same(noDeadline.response.payload, Buffer.alloc(0));
    t.equal(backend.calls, 2);
    t.same(backend.callsByMethod, { '/legate.test.Echo/Unary': 2 });
    client.close();
  });
});

t.test('echo unary status, sleep and deadline', async (t) => {
  await withBackend(['echo'], async (backend) => {
    const client = createEchoClient(backend.address);
    const failed = await client.unarySettled({ reply_status: grpc.status.RESOURCE_EXHAUSTED, reply_message: 'no room', response_trailers: { 'x-t': '1' } });
    t.equal(failed.ok, false);
    t.equal(failed.status.code, grpc.status.RESOURCE_EXHAUSTED);
    t.equal(failed.status.details, 'no room');
    t.same(failed.trailers.get('x-t'), ['1']);
    await t.rejects(client.unary({ reply_status: 14, reply_message: 'down' }), GrpcCallError);

    const started = Date.now();
    const slow = await client.unary({ sleep_ms: 150 });
    t.ok(Date.now() - started >= 140, 'slept');
    t.equal(slow.response.backend, 'b1');

    const late = await client.unarySettled({ sleep_ms: 2000 }, { deadlineMs: 100 });
    t.equal(late.status.code, grpc.status.DEADLINE_EXCEEDED);

    const sized = await client.unary({ payload: Buffer.from('x'), response_size: 1024 });
    t.equal(sized.response.payload.length, 1024);
    client.close();
  });
});

t.test('echo streams', async (t) => {
  await withBackend(['echo'], async (backend) => {
    const client = createEchoClient(backend.address);
    const ss = await client.serverStream({ count: 5, payload: Buffer.from('p'), response_trailers: { 'x-t': 'end' } });
    t.equal(ss.ok, true);
    t.same(ss.messages.map((m) => m.index), [0, 1, 2, 3, 4]);
    t.same(ss.trailers.get('x-t'), ['end']);

    const ssFail = await client.serverStream({ count: 2, reply_status: grpc.status.ABORTED, reply_message: 'midway' });
    t.equal(ssFail.messages.length, 2);
    t.equal(ssFail.status.code, grpc.status.ABORTED);
    t.equal(ssFail.status.details, 'midway');

    const cs = await client.clientStream([{ payload: Buffer.from('a') }, { payload: Buffer.from('b') }, { payload: Buffer.from('c') }]);
    t.equal(cs.response?.received, 3);
    t.same(cs.response?.payload, Buffer.from('abc'));
    t.equal(cs.response?.method, '/legate.test.Echo/ClientStream');

    const bidi = await client.bidi([{ payload: Buffer.from('1') }, { payload: Buffer.from('2'), count: 2 }]);
    t.equal(bidi.ok, true);
    t.same(bidi.messages.map((m) => [m.payload.toString(), m.index, m.received]), [['1', 0, 1], ['2', 1, 2], ['2', 2, 2]]);

    const bidiFail = await client.bidi([{ payload: Buffer.from('1') }, { reply_status: grpc.status.INTERNAL, reply_message: 'stop' }, { payload: Buffer.from('3') }]);
    t.equal(bidiFail.status.code, grpc.status.INTERNAL);
    t.equal(bidiFail.messages.length, 2);

    t.same(backend.callsByMethod, {
      '/legate.test.Echo/ServerStream': 2,
      '/legate.test.Echo/ClientStream': 1,
      '/legate.test.Echo/Bidi': 2,
    });
    client.close();
  });
});

t.test('dubbo greeter and helloworld name the backend', async (t) => {
  await withBackend(['dubbo', 'helloworld'], async (backend) => {
    const dubbo = createTestClient('dubbo', backend.address);
    const greet = await dubbo.unary<GreeterRequest, GreeterReply>('greet', { name: 'dubbo' });
    t.equal(greet.response.message, 'hello dubbo from b1');
    const ss = await dubbo.serverStream<GreeterRequest, GreeterReply>('greetServerStream', { name: 's' });
    t.equal(ss.messages.length, 3);
    const bidi = await dubbo.bidi<GreeterRequest, GreeterReply>('greetStream', [{ name: 'x' }, { name: 'y' }]);
    t.same(bidi.messages.map((m) => m.message), ['hello x from b1', 'hello y from b1']);
    const hw = createTestClient('helloworld', backend.address);
    const hello = await hw.unary<HelloRequest, HelloReply>('SayHello', { name: 'world' });
    t.equal(hello.response.message, 'hello world from b1');
    t.same(backend.callsByMethod, {
      '/org.apache.dubbo.samples.Greeter/greet': 1,
      '/org.apache.dubbo.samples.Greeter/greetServerStream': 1,
      '/org.apache.dubbo.samples.Greeter/greetStream': 1,
      '/helloworld.Greeter/SayHello': 1,
    });
    dubbo.close();
    hw.close();
  });
});

t.test('health check and watch follow setHealth', async (t) => {
  await withBackend(['echo', 'health'], async (backend) => {
    const health = createTestClient('health', backend.address);
    const check = (service: string) => health.unarySettled<{ service: string }, HealthCheckResponse>('Check', { service }, { deadlineMs: 1000 });
    t.equal((await check('')).response?.status, 'SERVING');
    t.equal((await check('legate.test.Echo')).response?.status, 'SERVING');
    t.equal((await check('nope')).status.code, grpc.status.NOT_FOUND);
    backend.setHealth('', 'NOT_SERVING');
    t.equal((await check('')).response?.status, 'NOT_SERVING');

    const watchDef = testServiceDefinition('health')['Watch']!;
    const watch = health.client.makeServerStreamRequest(watchDef.path, watchDef.requestSerialize, watchDef.responseDeserialize, { service: 'svc' });
    const seen: string[] = [];
    const got3 = new Promise<void>((resolve) => {
      watch.on('data', (m: HealthCheckResponse) => {
        seen.push(m.status);
        if (seen.length === 1) backend.setHealth('svc', 'SERVING');
        else if (seen.length === 2) backend.setHealth('svc', 'NOT_SERVING');
        else resolve();
      });
    });
    watch.on('error', () => undefined);
    await got3;
    t.same(seen, ['SERVICE_UNKNOWN', 'SERVING', 'NOT_SERVING']);
    watch.cancel();

    backend.setHealthCheckDelay(500);
    t.equal((await health.unarySettled('Check', { service: '' }, { deadlineMs: 100 })).status.code, grpc.status.DEADLINE_EXCEEDED);
    health.close();
  });
});

t.test('one client = one connection; counters; refuse; kill', async (t) => {
  const backend = await startGrpcBackend({ name: 'b1', services: ['echo'] });
  const client = createEchoClient(backend.address);
  const results = await Promise.all(Array.from({ length: 400 }, () => client.unary({})));
  t.equal(results.length, 400);
  t.equal(backend.calls, 400);
  t.equal(backend.connections, 1, 'all 400 calls over one connection');
  t.equal(backend.activeConnections, 1);

  const other = createEchoClient(backend.address);
  await other.unary({});
  t.equal(backend.connections, 2, 'a second client opens its own connection');
  other.close();

  backend.resetCounters();
  t.equal(backend.calls, 0);
  t.same(backend.callsByMethod, {});

  // A call in flight when the backend dies fails with UNAVAILABLE.
  const inflight = client.unarySettled({ sleep_ms: 5000 });
  await new Promise((r) => setTimeout(r, 100));
  backend.kill();
  const outcome = await inflight;
  t.equal(outcome.status.code, grpc.status.UNAVAILABLE);
  const after = await client.unarySettled({}, { deadlineMs: 500 });
  t.not(after.status.code, grpc.status.OK, 'nothing listens any more');
  client.close();
});

t.test('refuseConnections resets new connections', async (t) => {
  const backend = await startGrpcBackend({ name: 'b1', services: ['echo'] });
  backend.refuseConnections(true);
  const client = createEchoClient(backend.address);
  const refused = await client.unarySettled({}, { deadlineMs: 300 });
  t.not(refused.status.code, grpc.status.OK);
  t.equal(backend.connections, 0);
  client.close();
  backend.refuseConnections(false);
  const client2 = createEchoClient(backend.address);
  t.equal((await client2.unary({})).response.backend, 'b1');
  client2.close();
  await backend.stop();
});

t.test('stop() lets calls in flight finish', async (t) => {
  const backend = await startGrpcBackend({ name: 'b1', services: ['echo'] });
  const client = createEchoClient(backend.address);
  await client.unary({});
  const inflight = client.unarySettled({ sleep_ms: 200 });
  await new Promise((r) => setTimeout(r, 50));
  await backend.stop(2000);
  t.equal((await inflight).ok, true);
  client.close();
});

t.test('fixed port that is taken fails clearly', async (t) => {
  const a = await startGrpcBackend({ name: 'a', services: ['echo'] });
  await t.rejects(startGrpcBackend({ name: 'b', services: ['echo'], port: a.port }), /cannot listen on 127\.0\.0\.1:\d+: EADDRINUSE/);
  await a.stop();
});
