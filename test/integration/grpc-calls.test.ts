import * as grpc from '@grpc/grpc-js';
import t from 'tap';
import { startGrpcBackend } from '../fakes/grpc-backend';
import { createEchoClient } from '../fakes/grpc-client';
import { freePort, startLegate } from '../fakes/legate-process';
import { bootstrapText } from './bootstrap-builder';

// Both HTTP/2 implementations: the frame-level core (default) and node:http2 (LEGATE_HTTP2_CORE=node).
for (const core of ['frame', 'node'] as const) t.test(`gRPC call shapes through the proxy (${core} HTTP/2 core)`, async (t) => {
  const big = { 'grpc.max_receive_message_length': 16 * 1024 * 1024, 'grpc.max_send_message_length': 16 * 1024 * 1024 };
  const backend = await startGrpcBackend({ name: 'b1', services: ['echo'], serverOptions: big });
  t.teardown(() => backend.stop(100));
  const adminPort = await freePort();
  const listenerPort = await freePort();
  const proxy = await startLegate({
    configYaml: bootstrapText({ adminPort, listenerPort, clusters: [{ name: 'svc', endpoints: [backend.address] }] }),
    env: { LEGATE_HTTP2_CORE: core === 'node' ? 'node' : '' },
  });
  t.teardown(() => proxy.stop());
  const client = createEchoClient(`127.0.0.1:${listenerPort}`, { channelOptions: big });
  t.teardown(() => client.close());

  t.test('unary with request metadata (incl. tri-* headers), response headers and trailers', async (t) => {
    const r = await client.unary(
      { payload: Buffer.from('hi'), response_headers: { 'x-resp-h': 'h1' }, response_trailers: { 'x-resp-t': 't1' } },
      { metadata: { 'tri-service-version': '1.0.0', 'tri-consumer-appname': 'consumer', 'x-custom': 'abc' } },
    );
    const md = r.response.request_metadata;
    t.equal(md['tri-service-version'], '1.0.0');
    t.equal(md['tri-consumer-appname'], 'consumer');
    t.equal(md['x-custom'], 'abc');
    t.match(md['x-request-id'], /^[0-9a-f-]{36}$/, 'x-request-id generated');
    t.equal(md['x-forwarded-proto'], 'http');
    t.equal(r.headers?.get('x-resp-h')[0], 'h1', 'response header passed through');
    t.equal(r.trailers.get('x-resp-t')[0], 't1', 'trailer passed through');
    t.ok(r.headers?.get('x-envoy-upstream-service-time').length, 'x-envoy-upstream-service-time added');
    t.equal(Buffer.from(r.response.payload).toString(), 'hi');
  });

  t.test('server streaming', async (t) => {
    const r = await client.serverStream({ count: 25 });
    t.ok(r.ok, `status ${r.status.code} ${r.status.details}`);
    t.equal(r.messages.length, 25);
    t.same(r.messages.map((m) => m.index), Array.from({ length: 25 }, (_, i) => i));
  });

  t.test('client streaming', async (t) => {
    const r = await client.clientStream(Array.from({ length: 30 }, () => ({ payload: Buffer.from('abc') })));
    t.ok(r.ok);
    t.equal(r.response?.received, 30);
  });

  t.test('bidi streaming', async (t) => {
    const r = await client.bidi(Array.from({ length: 20 }, (_, i) => ({ payload: Buffer.from(String(i)) })));
    t.ok(r.ok);
    t.equal(r.messages.length, 20);
  });

  t.test('a backend grpc-status and grpc-message pass through unchanged', async (t) => {
    const r = await client.unarySettled({ reply_status: grpc.status.FAILED_PRECONDITION, reply_message: 'bad precondition: ünïcode % ok' });
    t.equal(r.status.code, grpc.status.FAILED_PRECONDITION);
    t.equal(r.status.details, 'bad precondition: ünïcode % ok');
  });

  t.test('client deadlines end calls', async (t) => {
    const started = Date.now();
    const r = await client.unarySettled({ sleep_ms: 5000 }, { deadlineMs: 300 });
    t.equal(r.status.code, grpc.status.DEADLINE_EXCEEDED);
    t.ok(Date.now() - started < 4000, 'ended by the deadline, not by the backend');
  });

  t.test('64 KiB and 4 MiB messages pass intact', async (t) => {
    for (const size of [64 * 1024, 4 * 1024 * 1024]) {
      const payload = Buffer.alloc(size);
      for (let i = 0; i < size; i++) payload[i] = (i * 31 + 7) & 0xff;
      const r = await client.unary({ payload });
      t.equal(Buffer.compare(Buffer.from(r.response.payload), payload), 0, `${size} bytes echoed intact`);
    }
  });
});
