import t from 'tap';
import { startGrpcBackend } from '../fakes/grpc-backend';
import { createEchoClient } from '../fakes/grpc-client';
import { freePort, startLegate } from '../fakes/legate-process';
import { bootstrapText } from './bootstrap-builder';

t.test('admin: /ready, /server_info, POST-only /quitquitquit', async (t) => {
  const adminPort = await freePort();
  const listenerPort = await freePort();
  const proxy = await startLegate({ configYaml: bootstrapText({ adminPort, listenerPort, clusters: [{ name: 'svc', endpoints: ['127.0.0.1:1'] }] }), args: ['--service-node', 'node-1', '--disable-hot-restart'] });
  const ready = await proxy.admin('/ready');
  t.equal(ready.status, 200);
  t.equal(ready.body, 'LIVE\n');
  const info = JSON.parse((await proxy.admin('/server_info')).body) as Record<string, any>;
  t.equal(info['state'], 'LIVE');
  t.match(info['version'], /^\d+\.\d+\.\d+\//);
  t.equal(info['command_line_options']['service_node'], 'node-1');
  t.equal(info['node']['id'], 'node-1');
  t.match(info['uptime_current_epoch'], /^\d+s$/);
  t.ok(proxy.stderr.some((l) => /--disable-hot-restart accepted and ignored/.test(l)), 'ignored flag gets a one-line notice');
  const get = await proxy.admin('/quitquitquit', 'GET');
  t.equal(get.status, 405, 'mutating endpoints answer only POST');
  const post = await proxy.admin('/quitquitquit', 'POST');
  t.equal(post.status, 200);
  const exit = await proxy.exited;
  t.equal(exit.code, 0, 'clean exit');
});

t.test('SIGTERM: in-flight calls finish, new connections are refused, exit 0', async (t) => {
  const backend = await startGrpcBackend({ name: 'slow', services: ['echo'] });
  t.teardown(() => backend.stop(100));
  const adminPort = await freePort();
  const listenerPort = await freePort();
  const proxy = await startLegate({ configYaml: bootstrapText({ adminPort, listenerPort, clusters: [{ name: 'svc', endpoints: [backend.address] }] }), args: ['--drain-time-s', '10'] });
  const client = createEchoClient(`127.0.0.1:${listenerPort}`);
  t.teardown(() => client.close());
  await client.unary({});
  const inflight = client.unarySettled({ sleep_ms: 700 });
  await new Promise((r) => setTimeout(r, 150));
  proxy.child.kill('SIGTERM');
  const r = await inflight;
  t.ok(r.ok, `the in-flight call completed (${r.status.code} ${r.status.details})`);
  const exit = await proxy.exited;
  t.equal(exit.code, 0);
  const late = createEchoClient(`127.0.0.1:${listenerPort}`);
  const after = await late.unarySettled({}, { deadlineMs: 1000 });
  late.close();
  t.not(after.ok, true, 'nothing listens after the drain');
});
