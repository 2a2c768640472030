/**
 * On the wire: regex_rewrite changes the path the upstream sees (query kept, original path in
 * x-envoy-original-path), and a route's idle_timeout replaces the connection manager's
 * stream_idle_timeout in both directions (shorter: the stream is cut; 0: never cut).
 */
import http from 'node:http';
import t from 'tap';
import * as grpc from '@grpc/grpc-js';
import { startGrpcBackend } from '../fakes/grpc-backend';
import { startH1Backend, type H1EchoBody } from '../fakes/h1-backend';
import { createEchoClient } from '../fakes/grpc-client';
import { freePort, startLegate } from '../fakes/legate-process';
import { bootstrapText } from './bootstrap-builder';

function get(port: number, path: string): Promise<{ status: number; body: H1EchoBody | undefined }> {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      let b = '';
      res.on('data', (c) => (b += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: res.statusCode === 200 ? (JSON.parse(b) as H1EchoBody) : undefined }));
    }).on('error', reject);
  });
}

t.test('regex_rewrite rewrites the path sent upstream', async (t) => {
  const backend = await startH1Backend({ name: 'h1' });
  t.teardown(() => backend.stop());
  const listenerPort = await freePort();
  const proxy = await startLegate({
    configYaml: bootstrapText({
      adminPort: await freePort(), listenerPort,
      clusters: [{ name: 'svc', endpoints: [backend.address], http2: false }],
      routes: [
        { match: { prefix: '/service/' }, route: { cluster: 'svc', regex_rewrite: { pattern: { regex: '^/service/([^/]+)(/.*)$' }, substitution: '\\2/instance/\\1' } } },
        { match: { prefix: '/' }, route: { cluster: 'svc', regex_rewrite: { pattern: { regex: 'one' }, substitution: 'two' } } },
      ],
    }),
  });
  t.teardown(() => proxy.stop());
  const a = await get(listenerPort, '/service/foo/v1/api?x=one');
  t.equal(a.body?.path, '/v1/api/instance/foo?x=one', 'groups substituted, query string kept');
  t.equal(a.body?.headers['x-envoy-original-path'], '/service/foo/v1/api?x=one');
  const b = await get(listenerPort, '/xxx/one/yyy/one?q=one');
  t.equal(b.body?.path, '/xxx/two/yyy/two?q=one', 'every match in the path is replaced, none in the query');
});

t.test("route idle_timeout overrides the connection manager's stream_idle_timeout", async (t) => {
  const backend = await startGrpcBackend({ name: 'a', services: ['echo'] });
  t.teardown(() => backend.stop(100));
  const listenerPort = await freePort();
  const proxy = await startLegate({
    configYaml: bootstrapText({
      adminPort: await freePort(), listenerPort,
      accessLogFormat: '%RESPONSE_FLAGS% %RESPONSE_CODE_DETAILS% %REQ(x-case)%\n',
      hcmExtra: { stream_idle_timeout: '0.4s' },
      clusters: [{ name: 'svc', endpoints: [backend.address] }],
      routes: [
        { match: { prefix: '/', headers: [{ name: 'x-case', string_match: { exact: 'short' } }] }, route: { cluster: 'svc', timeout: '0s', idle_timeout: '0.3s' } },
        { match: { prefix: '/', headers: [{ name: 'x-case', string_match: { exact: 'off' } }] }, route: { cluster: 'svc', timeout: '0s', idle_timeout: '0s' } },
        { match: { prefix: '/' }, route: { cluster: 'svc', timeout: '0s' } },
      ],
    }),
  });
  t.teardown(() => proxy.stop());
  const client = createEchoClient(`127.0.0.1:${listenerPort}`);
  t.teardown(() => client.close());
  const short = await client.unarySettled({ sleep_ms: 2000 }, { metadata: { 'x-case': 'short' } });
  t.not(short.status.code, grpc.status.OK, `a silent upstream is cut after the route's 0.3 s (${short.status.code} ${short.status.details})`);
  t.ok(await proxy.waitForLine(/^SI stream_idle_timeout short$/), 'access log: SI');
  const off = await client.unarySettled({ sleep_ms: 1500 }, { metadata: { 'x-case': 'off' } });
  t.ok(off.ok, 'idle_timeout 0s on the route disables the 0.4 s stream_idle_timeout');
  const dflt = await client.unarySettled({ sleep_ms: 2000 }, { metadata: { 'x-case': 'default' } });
  t.not(dflt.status.code, grpc.status.OK, 'without a route override the connection manager’s timeout applies');
  t.ok(await proxy.waitForLine(/^SI stream_idle_timeout default$/));
});
