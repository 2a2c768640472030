import * as grpc from '@grpc/grpc-js';
import http from 'node:http';
import t from 'tap';
import { startGrpcBackend } from '../fakes/grpc-backend';
import { createEchoClient } from '../fakes/grpc-client';
import { freePort, startLegate } from '../fakes/legate-process';
import { bootstrapText } from './bootstrap-builder';

const LOG = '%RESPONSE_CODE% %RESPONSE_FLAGS% %RESPONSE_CODE_DETAILS% %GRPC_STATUS% %REQ(:PATH)%\n';

t.test('local replies carry Envoy status, flags and gRPC shape', async (t) => {
  const backend = await startGrpcBackend({ name: 'up', services: ['echo'] });
  t.teardown(() => backend.stop(100));
  const dead = await freePort(); // nothing listens here: connections are refused
  const adminPort = await freePort();
  const listenerPort = await freePort();
  const proxy = await startLegate({
    configYaml: bootstrapText({
      adminPort, listenerPort, accessLogFormat: LOG,
      clusters: [{ name: 'good', endpoints: [backend.address] }, { name: 'refusing', endpoints: [`127.0.0.1:${dead}`] }, { name: 'empty', endpoints: [] }],
      routes: [
        { match: { prefix: '/legate.test.Echo/', headers: [{ name: 'x-target', string_match: { exact: 'refusing' } }] }, route: { cluster: 'refusing' } },
        { match: { prefix: '/legate.test.Echo/', headers: [{ name: 'x-target', string_match: { exact: 'empty' } }] }, route: { cluster: 'empty' } },
        { match: { prefix: '/legate.test.Echo/', headers: [{ name: 'x-target', string_match: { exact: 'slow' } }] }, route: { cluster: 'good', timeout: '0.2s' } },
        { match: { prefix: '/legate.test.Echo/' }, route: { cluster: 'good' } },
        { match: { prefix: '/plain' }, route: { cluster: 'refusing' } },
      ],
    }),
  });
  t.teardown(() => proxy.stop());
  const client = createEchoClient(`127.0.0.1:${listenerPort}`);
  t.teardown(() => client.close());

  t.test('no route → UNIMPLEMENTED, 404 NR in the access log', async (t) => {
    const r = await client.raw.unarySettled('Unary', {}, { metadata: {} }).catch(() => undefined);
    t.ok(r?.ok, 'routed call works');
    const other = new grpc.Client(`127.0.0.1:${listenerPort}`, grpc.credentials.createInsecure());
    t.teardown(() => other.close());
    const status = await new Promise<grpc.StatusObject>((resolve) => {
      const call = other.makeUnaryRequest('/no.Such/Method', (x: Buffer) => x, (x: Buffer) => x, Buffer.alloc(0), () => undefined);
      call.on('status', resolve);
    });
    t.equal(status.code, grpc.status.UNIMPLEMENTED);
    t.ok(await proxy.waitForLine(/^200 NR route_not_found Unimplemented \/no\.Such\/Method$/), 'access log: gRPC local reply is HTTP 200 with NR');
  });

  t.test('endpoint refusing connections → UNAVAILABLE, UF', async (t) => {
    const r = await client.unarySettled({}, { metadata: { 'x-target': 'refusing' } });
    t.equal(r.status.code, grpc.status.UNAVAILABLE);
    t.match(r.status.details, /upstream connect error or disconnect\/reset before headers\. reset reason: connection failure/);
    t.ok(await proxy.waitForLine(/^200 UF upstream_reset_before_response_started\{connection_failure.*\} Unavailable /));
  });

  t.test('no host → UNAVAILABLE, UH', async (t) => {
    const r = await client.unarySettled({}, { metadata: { 'x-target': 'empty' } });
    t.equal(r.status.code, grpc.status.UNAVAILABLE);
    t.equal(r.status.details, 'no healthy upstream');
    t.ok(await proxy.waitForLine(/^200 UH no_healthy_upstream Unavailable /));
  });

  t.test('route timeout → UT with upstream request timeout', async (t) => {
    const r = await client.unarySettled({ sleep_ms: 2000 }, { metadata: { 'x-target': 'slow' } });
    t.equal(r.status.code, grpc.status.UNAVAILABLE);
    t.equal(r.status.details, 'upstream request timeout');
    t.ok(await proxy.waitForLine(/^200 UT upstream_response_timeout Unavailable /));
  });

  t.test('plain HTTP/1.1 local reply is a 503 with a text body', async (t) => {
    const res = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      http.get({ host: '127.0.0.1', port: listenerPort, path: '/plain' }, (r) => {
        let body = '';
        r.on('data', (c) => (body += c));
        r.on('end', () => resolve({ status: r.statusCode ?? 0, body }));
      }).on('error', reject);
    });
    t.equal(res.status, 503);
    t.match(res.body, /^upstream connect error or disconnect\/reset before headers\. reset reason: connection failure, transport failure reason: /);
    const nr = await new Promise<number>((resolve, reject) => {
      http.get({ host: '127.0.0.1', port: listenerPort, path: '/nothing-here' }, (r) => { r.resume(); resolve(r.statusCode ?? 0); }).on('error', reject);
    });
    t.equal(nr, 404, 'no route → 404 for plain HTTP');
  });
});
