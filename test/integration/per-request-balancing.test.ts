import t from 'tap';
import { startGrpcBackend, type GrpcBackend } from '../fakes/grpc-backend';
import { createEchoClient } from '../fakes/grpc-client';
import { freePort, startLegate } from '../fakes/legate-process';
import { bootstrapText } from './bootstrap-builder';

t.test('400 unary calls over ONE client connection are balanced per request across both endpoints', async (t) => {
  const a = await startGrpcBackend({ name: 'a', services: ['echo'] });
  const b = await startGrpcBackend({ name: 'b', services: ['echo'] });
  const backends: GrpcBackend[] = [a, b];
  t.teardown(async () => { for (const x of backends) await x.stop(100); });
  const adminPort = await freePort();
  const listenerPort = await freePort();
  const proxy = await startLegate({ configYaml: bootstrapText({ adminPort, listenerPort, clusters: [{ name: 'svc', endpoints: [a.address, b.address] }] }) });
  t.teardown(() => proxy.stop());

  const client = createEchoClient(`127.0.0.1:${listenerPort}`);
  t.teardown(() => client.close());
  const served: Record<string, number> = { a: 0, b: 0 };
  for (let i = 0; i < 40; i++) {
    const batch = await Promise.all(Array.from({ length: 10 }, () => client.unary({ payload: Buffer.from('x') })));
    for (const r of batch) served[r.response.backend] = (served[r.response.backend] ?? 0) + 1;
  }
  t.equal(served['a']! + served['b']!, 400, 'every call succeeded and was served by a or b');
  for (const name of ['a', 'b']) {
    const share = served[name]! / 400;
    t.ok(share >= 0.35 && share <= 0.65, `backend ${name} served ${(share * 100).toFixed(1)}% (35-65% expected)`);
  }
  // One downstream connection, yet both backends saw calls: balancing is per stream.
  t.equal(a.calls + b.calls, 400);
  t.ok(a.connections >= 1 && b.connections >= 1, 'the proxy opened upstream connections to both hosts');
});
