import http2 from 'node:http2';
import t from 'tap';
import { startH1Backend } from '../fakes/h1-backend';
import { frameMessage } from '../fakes/grpc-frame';
import { freePort, startLegate } from '../fakes/legate-process';
import { defaultRawHandler, startRawH2Backend } from '../fakes/raw-h2-backend';
import { bootstrapText } from './bootstrap-builder';
import { h2Request } from './h2-client';

const LOG = '%RESPONSE_CODE% %RESPONSE_FLAGS% %RESPONSE_CODE_DETAILS% %REQ(x-case)%\n';

t.test('router behaviour', async (t) => {
  const raw = await startRawH2Backend({ name: 'raw' });
  const h1 = await startH1Backend({ name: 'h1' });
  t.teardown(async () => { await raw.stop(100); await h1.stop(); });
  const cancelled: number[] = [];
  raw.setHandler((stream, headers, ctx) => {
    if (headers['x-case'] === 'hang') {
      // Never answer; record how the proxy ends the stream.
      stream.on('close', () => cancelled.push(stream.rstCode ?? -1));
      return;
    }
    defaultRawHandler(stream, headers, ctx);
  });
  const adminPort = await freePort();
  const listenerPort = await freePort();
  const proxy = await startLegate({
    configYaml: bootstrapText({
      adminPort, listenerPort, accessLogFormat: LOG,
      clusters: [{ name: 'raw', endpoints: [raw.address] }, { name: 'h1', endpoints: [h1.address], http2: false }],
      routes: [
        { match: { prefix: '/h1/' }, route: { cluster: 'h1' } },
        { match: { prefix: '/no-timeout/' }, route: { cluster: 'raw', timeout: '0s' } },
        { match: { prefix: '/grpc-timeout/' }, route: { cluster: 'raw', timeout: '0s', max_stream_duration: { grpc_timeout_header_max: '0s' } } },
        { match: { prefix: '/capped/' }, route: { cluster: 'raw', timeout: '0s', max_grpc_timeout: '0.2s' } },
        { match: { prefix: '/' }, route: { cluster: 'raw', timeout: '0.3s' } },
      ],
    }),
  });
  t.teardown(() => proxy.stop());

  t.test('an HTTP/2 client reaches an HTTP/1.1 upstream', async (t) => {
    const r = await h2Request(listenerPort, { ':method': 'POST', ':path': '/h1/echo?x=1', ':authority': 'svc.local', 'x-custom': 'v' }, Buffer.from('payload'));
    t.equal(r.headers[':status'], 200);
    const e = JSON.parse(r.body.toString()) as { httpVersion: string; path: string; headers: Record<string, string>; body: string };
    t.equal(e.httpVersion, '1.1');
    t.equal(e.path, '/h1/echo?x=1');
    t.equal(e.headers['host'], 'svc.local', ':authority became Host');
    t.equal(e.headers['x-custom'], 'v');
    t.equal(e.body, 'payload');
    t.ok(r.headers['x-envoy-upstream-service-time'] !== undefined);
  });

  t.test('client cancel → upstream RST_STREAM(CANCEL), access log DR with code 0', async (t) => {
    await new Promise<void>((resolve) => {
      const session = http2.connect(`http://127.0.0.1:${listenerPort}`);
      const req = session.request({ ':method': 'POST', ':path': '/no-timeout/x', 'x-case': 'hang', 'content-type': 'application/grpc' });
      req.on('error', () => undefined);
      req.write(frameMessage(Buffer.from('hi')));
      setTimeout(() => { req.close(http2.constants.NGHTTP2_CANCEL); setTimeout(() => { session.close(); resolve(); }, 200); }, 300);
    });
    await new Promise((r) => setTimeout(r, 300));
    t.same(cancelled, [http2.constants.NGHTTP2_CANCEL], 'the upstream stream was reset with CANCEL');
    t.ok(await proxy.waitForLine(/^0 DR downstream_remote_disconnect hang$/));
  });

  t.test('route timeout 0s disables the timer; the default route times out', async (t) => {
    const timed = await h2Request(listenerPort, { ':method': 'GET', ':path': '/slow', 'x-case': 'slow', 'x-raw-delay-ms': '600' });
    t.equal(timed.headers[':status'], 504);
    t.equal(timed.body.toString(), 'upstream request timeout');
    const untimed = await h2Request(listenerPort, { ':method': 'GET', ':path': '/no-timeout/slow', 'x-raw-delay-ms': '600' });
    t.equal(untimed.headers[':status'], 200, 'timeout: 0s waits as long as the upstream takes');
  });

  t.test('grpc-timeout is honoured when grpc_timeout_header_max is set, capped by max_grpc_timeout', async (t) => {
    const grpcHeaders = { ':method': 'POST', 'content-type': 'application/grpc', te: 'trailers' };
    const started = Date.now();
    const honoured = await h2Request(listenerPort, { ...grpcHeaders, ':path': '/grpc-timeout/m', 'grpc-timeout': '150m', 'x-raw-delay-ms': '2000', 'x-case': 'grpc-timeout' }, frameMessage(Buffer.alloc(0)));
    t.equal(honoured.headers['grpc-status'], '14');
    t.equal(honoured.headers['grpc-message'], 'upstream request timeout');
    t.ok(Date.now() - started < 1500, 'ended by the client deadline, not the backend');
    const capped = await h2Request(listenerPort, { ...grpcHeaders, ':path': '/capped/m', 'grpc-timeout': '10S', 'x-raw-delay-ms': '2000' }, frameMessage(Buffer.alloc(0)));
    t.equal(capped.headers['grpc-status'], '14', 'max_grpc_timeout caps a longer grpc-timeout');
    const ignored = await h2Request(listenerPort, { ...grpcHeaders, ':path': '/no-timeout/m', 'grpc-timeout': '50m', 'x-raw-delay-ms': '300' }, frameMessage(Buffer.alloc(0)));
    t.equal(ignored.trailers?.['grpc-status'], '0', 'without grpc_timeout_header_max, grpc-timeout is not enforced by the proxy (as Envoy)');
  });

  t.test('response header hygiene and x-request-id preservation', async (t) => {
    const r = await h2Request(listenerPort, { ':method': 'GET', ':path': '/no-timeout/plain', 'x-request-id': 'keep-me', te: 'trailers' });
    const seen = raw.lastHeaders!;
    t.equal(seen['x-request-id'], 'keep-me', 'an incoming x-request-id is kept');
    t.equal(seen['te'], 'trailers', 'te: trailers is forwarded');
    t.equal(seen['x-forwarded-proto'], 'http');
    t.equal(r.headers['server'], 'envoy');
  });
});
