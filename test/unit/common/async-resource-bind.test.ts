// The cheaper AsyncResource#bind keeps what callers rely on: the async context
// captured with the resource, `this` handling, length, and argument validation.
import t from 'tap';
import { AsyncLocalStorage, AsyncResource } from 'node:async_hooks';
import http2 from 'node:http2';
import { bindAddsDeprecatedProperty, installFastAsyncResourceBind } from '../../../src/common/async-resource-bind';

const hadProperty = bindAddsDeprecatedProperty();
const installed = installFastAsyncResourceBind();

t.test('installed exactly when Node still adds the deprecated property', async (t) => {
  t.equal(installed, hadProperty);
  t.equal(bindAddsDeprecatedProperty(), false, 'bound functions no longer carry asyncResource');
  t.equal(installFastAsyncResourceBind(), installed, 'second install is a no-op');
});

t.test('bound functions run in the resource scope with the right this and length', async (t) => {
  const als = new AsyncLocalStorage<string>();
  const resource = als.run('at-bind', () => new AsyncResource('Test'));
  function probe(this: unknown, a: number, b: number): [string | undefined, unknown, number] {
    return [als.getStore(), this, a + b];
  }
  const bound = resource.bind(probe);
  t.equal(bound.length, 2);
  const receiver = { name: 'receiver' };
  const [store, self, sum] = als.run('at-call', () => bound.call(receiver, 2, 3));
  t.equal(store, 'at-bind', 'context of the resource, not of the caller');
  t.equal(self, receiver, 'caller this without thisArg');
  t.equal(sum, 5);
  const fixed = { name: 'fixed' };
  const withThis = (resource.bind as (fn: typeof probe, thisArg: unknown) => typeof probe)(probe, fixed);
  t.equal(withThis.call(receiver, 1, 1)[1], fixed, 'thisArg wins');
  t.equal(AsyncResource.bind(probe).length, 2, 'static bind goes through the same path');
  t.throws(() => resource.bind('nope' as unknown as () => void), { code: 'ERR_INVALID_ARG_TYPE' });
});

t.test('http2 client requests still work, including ones queued before connect', async (t) => {
  const server = http2.createServer();
  server.on('stream', (stream) => {
    stream.respond({ ':status': 200 });
    stream.end('ok');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  const session = http2.connect(`http://127.0.0.1:${(server.address() as { port: number }).port}`);
  t.teardown(() => session.close());
  const get = (): Promise<string> =>
    new Promise((resolve, reject) => {
      const req = session.request({ ':path': '/' });
      let body = '';
      req.setEncoding('utf8').on('data', (c: string) => (body += c));
      req.on('end', () => resolve(body));
      req.on('error', reject);
      req.end();
    });
  // The first two are issued while the session is still connecting (the bound, queued path).
  t.same(await Promise.all([get(), get()]), ['ok', 'ok']);
  t.equal(await get(), 'ok');
});
