import t from 'tap';
import http from 'node:http';
import { startH1Backend, type H1EchoBody } from '../../fakes/h1-backend';

function post(url: string, path: string, body: string, headers: http.OutgoingHttpHeaders = {}): Promise<{ status: number; headers: http.IncomingHttpHeaders; json: H1EchoBody }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url + path, { method: 'POST', agent: false, headers: { 'content-type': 'application/json', ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, json: JSON.parse(Buffer.concat(chunks).toString()) as H1EchoBody }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

t.test('echoes method, path, headers and body', async (t) => {
  const backend = await startH1Backend({ name: 'web' });
  const res = await post(backend.url, '/org.apache.dubbo.samples.Greeter/greet?x=1', '{"name":"a"}', { 'tri-protocol-version': '1.0.0' });
  t.equal(res.status, 200);
  t.equal(res.headers['x-backend-name'], 'web');
  t.equal(res.json.backend, 'web');
  t.equal(res.json.method, 'POST');
  t.equal(res.json.path, '/org.apache.dubbo.samples.Greeter/greet?x=1');
  t.equal(res.json.httpVersion, '1.1');
  t.equal(res.json.headers['tri-protocol-version'], '1.0.0');
  t.equal(res.json.body, '{"name":"a"}');
  t.same(backend.lastRequest, res.json);
  const teapot = await post(backend.url, '/', '', { 'x-h1-status': '418' });
  t.equal(teapot.status, 418);
  t.equal(backend.requests, 2);
  t.ok(backend.connections >= 1);
  await backend.stop();
});

t.test('kill drops connections', async (t) => {
  const backend = await startH1Backend();
  await post(backend.url, '/', 'x');
  backend.kill();
  await t.rejects(post(backend.url, '/', 'x'), /ECONNREFUSED/);
});
