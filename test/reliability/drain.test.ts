/**
 * Drain (issue #9): SIGTERM with streams in flight. Every stream that can finish within
 * --drain-time-s finishes, new connections are refused from the moment the drain starts,
 * the process exits 0, and a stream that would outlive the drain time is cut at it.
 */
import net from 'node:net';
import t from 'tap';
import { startGrpcBackend } from '../fakes/grpc-backend';
import { createEchoClient } from '../fakes/grpc-client';
import { freePort, startLegate } from '../fakes/legate-process';
import { bootstrapText } from '../integration/bootstrap-builder';

/** Resolves with the error code of a TCP connect to `port` (undefined when it connects). */
function connectOutcome(port: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => { s.destroy(); resolve(undefined); });
    s.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
  });
}

t.test('SIGTERM with 40 streams in flight: all finish, new connections refused, exit 0', async (t) => {
  const backend = await startGrpcBackend({ name: 'b', services: ['echo'] });
  t.teardown(() => backend.stop(100));
  const listenerPort = await freePort();
  const proxy = await startLegate({
    configYaml: bootstrapText({ adminPort: await freePort(), listenerPort, clusters: [{ name: 'svc', endpoints: [backend.address] }], routes: [{ match: { prefix: '/' }, route: { cluster: 'svc', timeout: '0s' } }] }),
    args: ['--drain-time-s', '8'],
  });
  // Four downstream connections, ten streams each: unary calls and server streams of different lengths.
  const clients = Array.from({ length: 4 }, () => createEchoClient(`127.0.0.1:${listenerPort}`));
  t.teardown(() => { for (const c of clients) c.close(); });
  for (const c of clients) await c.unary({});
  const inflight = clients.flatMap((c, ci) => Array.from({ length: 10 }, (_, i) => (i % 2 === 0
    ? c.unarySettled({ sleep_ms: 500 + 150 * i + 100 * ci }).then((r) => ({ ok: r.ok, what: `unary ${ci}/${i}: ${r.status.code} ${r.status.details}`, messages: 1 }))
    : c.serverStream({ count: 10, sleep_ms: 50 + 20 * i }).then((r) => ({ ok: r.ok && r.messages.length === 10, what: `stream ${ci}/${i}: ${r.status.code} ${r.status.details} (${r.messages.length} messages)`, messages: r.messages.length })))));
  await new Promise((r) => setTimeout(r, 200));
  const sentAt = Date.now();
  proxy.child.kill('SIGTERM');
  await proxy.waitForLine(/draining listeners/);
  t.equal(await connectOutcome(listenerPort), 'ECONNREFUSED', 'a new connection during the drain is refused');

  const results = await Promise.all(inflight);
  const failed = results.filter((r) => !r.ok).map((r) => r.what);
  t.same(failed, [], 'all 40 in-flight streams finished successfully');
  const exit = await proxy.exited;
  t.equal(exit.code, 0, 'exit code 0');
  t.ok(Date.now() - sentAt < 8000, `exited as soon as the streams were done, before the 8 s drain time (${Date.now() - sentAt} ms)`);
});

t.test('a stream longer than --drain-time-s is cut when the drain time is up', async (t) => {
  const backend = await startGrpcBackend({ name: 'b', services: ['echo'] });
  t.teardown(() => backend.stop(100));
  const listenerPort = await freePort();
  const proxy = await startLegate({
    configYaml: bootstrapText({ adminPort: await freePort(), listenerPort, clusters: [{ name: 'svc', endpoints: [backend.address] }], routes: [{ match: { prefix: '/' }, route: { cluster: 'svc', timeout: '0s' } }] }),
    args: ['--drain-time-s', '1'],
  });
  const client = createEchoClient(`127.0.0.1:${listenerPort}`);
  t.teardown(() => client.close());
  const long = client.serverStream({ count: 100, sleep_ms: 100 });
  await new Promise((r) => setTimeout(r, 300));
  const sentAt = Date.now();
  proxy.child.kill('SIGTERM');
  const exit = await proxy.exited;
  const tookMs = Date.now() - sentAt;
  t.equal(exit.code, 0, 'exit code 0');
  t.ok(tookMs >= 900 && tookMs < 6000, `exited once the 1 s drain time was up (${tookMs} ms)`);
  const r = await long;
  t.ok(r.messages.length > 0 && r.messages.length < 100, `the long stream was cut part-way (${r.messages.length} of 100 messages, status ${r.status.code})`);
  t.not(r.status.code, 0, 'and ended with an error status');
});
