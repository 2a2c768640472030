import http from 'node:http';
import t from 'tap';
import { startH1Backend } from '../fakes/h1-backend';
import { freePort, startLegate } from '../fakes/legate-process';
import { startRawH2Backend } from '../fakes/raw-h2-backend';
import { bootstrapText } from './bootstrap-builder';

function request(port: number, path: string, body?: string): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method: body ? 'POST' : 'GET', headers: { host: 'example.test', 'x-h1': 'yes', connection: 'keep-alive, x-drop-me', 'x-drop-me': 'hop', te: 'gzip' } }, (res) => {
      let b = '';
      res.on('data', (c) => (b += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: b }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

t.test('an HTTP/1.1 client reaches an HTTP/2 upstream and an HTTP/1.1 upstream', async (t) => {
  const h2 = await startRawH2Backend({ name: 'h2' });
  const h1 = await startH1Backend({ name: 'h1' });
  t.teardown(async () => { await h2.stop(100); await h1.stop(); });
  const adminPort = await freePort();
  const listenerPort = await freePort();
  const proxy = await startLegate({
    configYaml: bootstrapText({
      adminPort, listenerPort,
      clusters: [{ name: 'to_h2', endpoints: [h2.address] }, { name: 'to_h1', endpoints: [h1.address], http2: false }],
      routes: [
        { match: { prefix: '/h2' }, route: { cluster: 'to_h2' } },
        { match: { prefix: '/h1' }, route: { cluster: 'to_h1' } },
      ],
    }),
  });
  t.teardown(() => proxy.stop());

  const viaH2 = await request(listenerPort, '/h2/path?q=1', 'hello body');
  t.equal(viaH2.status, 200);
  const echoed = JSON.parse(viaH2.body) as { headers: Record<string, string>; bodyBytes: number };
  t.equal(echoed.headers[':authority'], 'example.test', 'Host became :authority');
  t.equal(echoed.headers[':path'], '/h2/path?q=1');
  t.equal(echoed.headers[':method'], 'POST');
  t.equal(echoed.headers['x-h1'], 'yes');
  t.notOk('connection' in echoed.headers, 'connection header not forwarded over HTTP/2');
  t.notOk('x-drop-me' in echoed.headers, 'headers named by Connection are hop-by-hop');
  t.notOk('te' in echoed.headers, 'te other than trailers is not forwarded over HTTP/2 (RFC 9113 §8.2.2)');
  t.equal(echoed.bodyBytes, 10);
  t.ok(viaH2.headers['x-envoy-upstream-service-time'] !== undefined);

  const viaH1 = await request(listenerPort, '/h1/thing', 'abc');
  t.equal(viaH1.status, 200);
  const e1 = JSON.parse(viaH1.body) as { method: string; path: string; headers: Record<string, string>; body: string; httpVersion: string };
  t.equal(e1.httpVersion, '1.1');
  t.equal(e1.method, 'POST');
  t.equal(e1.path, '/h1/thing');
  t.equal(e1.headers['host'], 'example.test');
  t.equal(e1.body, 'abc');
  t.equal(e1.headers['x-forwarded-proto'], 'http');
});
