import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import t from 'tap';
import { GrpcProber, grpcTimeout, encodeHealthCheckRequest } from '../../../src/health/grpc-prober';
import { HttpProber } from '../../../src/health/http-prober';
import { TcpProber } from '../../../src/health/tcp-prober';
import type { CheckOutcome, Prober } from '../../../src/health/types';

const run = (p: Prober): Promise<CheckOutcome> => new Promise((resolve) => p.check(resolve));
const frame = (msg: Buffer): Buffer => Buffer.concat([Buffer.from([0, 0, 0, 0, msg.length]), msg]);

t.test('gRPC probe: request headers and body as Envoy sends them; only SERVING is healthy', async (t) => {
  let reply: (s: http2.ServerHttp2Stream) => void = () => undefined;
  const seen: Array<{ headers: http2.IncomingHttpHeaders; body: Buffer }> = [];
  const server = http2.createServer();
  server.on('stream', (stream, headers) => {
    stream.on('error', () => undefined);
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => {
      seen.push({ headers, body: Buffer.concat(chunks) });
      reply(stream);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => server.close());
  const port = (server.address() as net.AddressInfo).port;
  const prober = new GrpcProber({
    address: { kind: 'tcp', host: '127.0.0.1', port }, authority: 'my-cluster', serviceName: 'svc.Name',
    initialMetadata: [{ key: 'x-extra', value: 'v', action: 'append' }], timeoutMs: 1000,
  });
  t.teardown(() => prober.close());
  const status = (s: number) => (stream: http2.ServerHttp2Stream): void => {
    stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
    stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
    stream.end(frame(Buffer.from([0x08, s])));
  };
  reply = status(1);
  t.same(await run(prober), { healthy: true, degraded: false });
  const h = seen[0]!.headers;
  t.equal(h[':method'], 'POST');
  t.equal(h[':path'], '/grpc.health.v1.Health/Check');
  t.equal(h[':authority'], 'my-cluster');
  t.equal(h['user-agent'], 'Envoy/HC');
  t.equal(h['content-type'], 'application/grpc');
  t.equal(h['te'], 'trailers');
  t.equal(h['grpc-timeout'], '1000m');
  t.equal(h['x-extra'], 'v');
  t.same(seen[0]!.body, frame(encodeHealthCheckRequest('svc.Name')));
  for (const [s, name] of [[0, 'UNKNOWN'], [2, 'NOT_SERVING'], [3, 'SERVICE_UNKNOWN'], [9, 'unknown serving status 9']] as const) {
    reply = status(s);
    t.match(await run(prober), { healthy: false, type: 'ACTIVE', detail: name });
  }
  reply = (stream) => stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '12' }, { endStream: true });
  t.match(await run(prober), { healthy: false, type: 'ACTIVE', detail: /grpc-status 12/ });
  reply = (stream) => stream.respond({ ':status': 503 }, { endStream: true });
  t.match(await run(prober), { healthy: false, type: 'ACTIVE', detail: /non-200/ });
  reply = (stream) => stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
  t.match(await run(prober), { healthy: false, type: 'NETWORK' });
  t.equal(seen.length, 8);
});

t.test('gRPC probe: a refused connection is a NETWORK failure', async (t) => {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  const prober = new GrpcProber({ address: { kind: 'tcp', host: '127.0.0.1', port }, authority: 'c', serviceName: '', initialMetadata: [], timeoutMs: 1000 });
  t.match(await run(prober), { healthy: false, type: 'NETWORK' });
  prober.close();
});

t.test('grpc-timeout in Envoy\'s format', async (t) => {
  t.equal(grpcTimeout(5000), '5000m');
  t.equal(grpcTimeout(100_000_000), '100000S');
});

t.test('HTTP probe: path, host, user-agent, header add/remove, expected and retriable statuses', async (t) => {
  let code = 200;
  let last: http.IncomingHttpHeaders = {};
  let lastUrl = '';
  const server = http.createServer((req, res) => {
    last = req.headers;
    lastUrl = req.url ?? '';
    res.writeHead(code, code === 204 ? { 'x-envoy-degraded': '1' } : {});
    res.end('ok body');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => server.close());
  const port = (server.address() as net.AddressInfo).port;
  const prober = new HttpProber({ kind: 'tcp', host: '127.0.0.1', port }, {
    kind: 'http', path: '/healthz', host: '', method: 'GET', expectedStatuses: [[200, 201], [204, 205]], retriableStatuses: [[503, 504]],
    requestHeadersToAdd: [{ key: 'x-a', value: '1', action: 'append' }, { key: 'x-b', value: '2', action: 'append' }], requestHeadersToRemove: ['x-b'],
    codec: 'HTTP1', receive: [],
  }, 'my-cluster', true);
  t.teardown(() => prober.close());
  t.same(await run(prober), { healthy: true, degraded: false });
  t.equal(lastUrl, '/healthz');
  t.equal(last.host, 'my-cluster');
  t.equal(last['user-agent'], 'Envoy/HC');
  t.equal(last['x-a'], '1');
  t.equal(last['x-b'], undefined);
  code = 204;
  t.same(await run(prober), { healthy: true, degraded: true }, 'x-envoy-degraded');
  code = 503;
  t.match(await run(prober), { healthy: false, type: 'ACTIVE', retriable: true });
  code = 500;
  t.match(await run(prober), { healthy: false, type: 'ACTIVE', retriable: false });
});

t.test('TCP probe: connect-only, and send/receive payloads matched in order', async (t) => {
  const server = net.createServer((sock) => {
    sock.on('data', (d) => { if (d.toString('hex') === '01020304') sock.write(Buffer.from('aa00bb00cc', 'hex')); });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => server.close());
  const port = (server.address() as net.AddressInfo).port;
  const address = { kind: 'tcp' as const, host: '127.0.0.1', port };
  const connectOnly = new TcpProber(address, Buffer.alloc(0), []);
  t.same(await run(connectOnly), { healthy: true, degraded: false });
  const payload = new TcpProber(address, Buffer.from('01020304', 'hex'), [Buffer.from('aa', 'hex'), Buffer.from('cc', 'hex')]);
  t.same(await run(payload), { healthy: true, degraded: false });
  t.same(await run(payload), { healthy: true, degraded: false }, 'again on the reused connection');
  payload.close();
  const closed = new TcpProber({ kind: 'tcp', host: '127.0.0.1', port: 1 }, Buffer.alloc(0), []);
  t.match(await run(closed), { healthy: false, type: 'NETWORK' });
});
