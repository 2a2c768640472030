/**
 * Drain for pods: SIGTERM bounded by --drain-time-s, and pilot-agent's POST /drain_listeners.
 */
import t from 'tap';
import { startGrpcBackend } from '../fakes/grpc-backend';
import { createEchoClient } from '../fakes/grpc-client';
import { freePort, startLegate } from '../fakes/legate-process';
import { bootstrapJson, bootstrapText } from './bootstrap-builder';

t.test('SIGTERM: the drain is bounded by --drain-time-s; /ready says DRAINING meanwhile', async (t) => {
  const backend = await startGrpcBackend({ name: 'stuck', services: ['echo'] });
  t.teardown(() => backend.stop(100));
  const adminPort = await freePort();
  const listenerPort = await freePort();
  const proxy = await startLegate({ configYaml: bootstrapText({ adminPort, listenerPort, clusters: [{ name: 'svc', endpoints: [backend.address] }] }), args: ['--drain-time-s', '2'] });
  const client = createEchoClient(`127.0.0.1:${listenerPort}`);
  t.teardown(() => client.close());
  const inflight = client.unarySettled({ sleep_ms: 30_000 });
  // The call must be in flight through the proxy before the signal (the machine may be slow).
  for (let i = 0; i < 200 && backend.calls === 0; i++) await new Promise((r) => setTimeout(r, 50));
  t.equal(backend.calls, 1, 'the call reached the backend');
  const started = Date.now();
  proxy.child.kill('SIGTERM');
  await proxy.waitForLine(/caught SIGTERM: draining listeners \(drain time 2s\)/);
  const during = await proxy.admin('/ready');
  t.equal(during.status, 503, 'not ready while draining');
  t.equal(during.body, 'DRAINING\n');
  const exit = await proxy.exited;
  const took = Date.now() - started;
  t.equal(exit.code, 0);
  t.ok(took >= 1800, `waited for the drain time with a call open (${took} ms)`);
  t.ok(took < 15_000, `did not wait for the 30 s call (${took} ms)`);
  t.ok(proxy.stderr.some((l) => /drain time elapsed with 1 streams/.test(l)), 'says what it cut');
  const r = await inflight;
  t.not(r.ok, true, 'the call still open at the end of the drain was cut');
});

t.test('POST /drain_listeners?inboundonly&graceful (pilot-agent on SIGTERM): inbound stops, outbound serves', async (t) => {
  const backend = await startGrpcBackend({ name: 'app', services: ['echo'] });
  t.teardown(() => backend.stop(100));
  const adminPort = await freePort();
  const inboundPort = await freePort();
  const outboundPort = await freePort();
  const b = bootstrapJson({ adminPort, listenerPort: inboundPort, clusters: [{ name: 'svc', endpoints: [backend.address] }] }) as { static_resources: { listeners: Array<Record<string, any>> } };
  const inbound = { ...b.static_resources.listeners[0]!, name: 'virtualInbound', traffic_direction: 'INBOUND' };
  const outbound = { ...inbound, name: 'virtualOutbound', traffic_direction: 'OUTBOUND', address: { socket_address: { address: '127.0.0.1', port_value: outboundPort } } };
  b.static_resources.listeners = [inbound, outbound];
  const proxy = await startLegate({ configYaml: JSON.stringify(b), args: ['--drain-time-s', '5'] });
  t.teardown(() => proxy.stop());
  const inClient = createEchoClient(`127.0.0.1:${inboundPort}`);
  const outClient = createEchoClient(`127.0.0.1:${outboundPort}`);
  t.teardown(() => { inClient.close(); outClient.close(); });
  t.ok((await inClient.unary({})).ok);

  t.equal((await proxy.admin('/drain_listeners?inboundonly&graceful', 'GET')).status, 405, 'POST only');
  t.equal((await proxy.admin('/drain_listeners?inboundonly&graceful', 'POST')).status, 200);
  const lateIn = createEchoClient(`127.0.0.1:${inboundPort}`);
  const refused = await lateIn.unarySettled({}, { deadlineMs: 1000 });
  lateIn.close();
  t.not(refused.ok, true, 'the inbound listener takes no new connection');
  t.ok((await outClient.unary({})).ok, 'outbound calls keep working (the app may still be finishing its work)');
  t.equal(proxy.child.exitCode, null, 'the process does not exit on drain_listeners');
});
