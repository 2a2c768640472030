/**
 * Overload (issue #9): the overload manager subset. Under heap pressure requests are shed
 * with 503 `OM` ("envoy overloaded"; gRPC UNAVAILABLE) instead of the process dying; the
 * global downstream connection limit refuses connections beyond it while those admitted
 * keep working; config the manager cannot honour is refused by name.
 */
import * as grpc from '@grpc/grpc-js';
import net from 'node:net';
import t from 'tap';
import { startGrpcBackend } from '../fakes/grpc-backend';
import { createEchoClient } from '../fakes/grpc-client';
import { freePort, legateCommand, startLegate, writeTempConfig } from '../fakes/legate-process';
import { bootstrapJson } from '../integration/bootstrap-builder';
import { execFile } from 'node:child_process';

const FIXED_HEAP = 'type.googleapis.com/envoy.extensions.resource_monitors.fixed_heap.v3.FixedHeapConfig';
const DOWNSTREAM_CX = 'type.googleapis.com/envoy.extensions.resource_monitors.downstream_connections.v3.DownstreamConnectionsConfig';

function heapOverload(maxHeapBytes: number): Record<string, unknown> {
  return {
    refresh_interval: '0.1s',
    resource_monitors: [{ name: 'envoy.resource_monitors.fixed_heap', typed_config: { '@type': FIXED_HEAP, max_heap_size_bytes: String(maxHeapBytes) } }],
    actions: [{ name: 'envoy.overload_actions.stop_accepting_requests', triggers: [{ name: 'envoy.resource_monitors.fixed_heap', threshold: { value: 0.95 } }] }],
  };
}

t.test('heap pressure over the threshold sheds requests with 503 OM; under it, requests flow', async (t) => {
  const backend = await startGrpcBackend({ name: 'b', services: ['echo'] });
  t.teardown(() => backend.stop(100));
  for (const [label, maxHeap, shed] of [['a 1 MiB heap budget (always over)', 1 << 20, true], ['a 64 GiB heap budget (never reached)', 64 * 2 ** 30, false]] as const) {
    const listenerPort = await freePort();
    const config = bootstrapJson({
      adminPort: await freePort(),
      listenerPort,
      clusters: [{ name: 'svc', endpoints: [backend.address] }],
      accessLogFormat: '%RESPONSE_CODE% %RESPONSE_FLAGS% %RESPONSE_CODE_DETAILS%\n',
    });
    const proxy = await startLegate({ configYaml: JSON.stringify({ ...config, overload_manager: heapOverload(maxHeap) }) });
    const client = createEchoClient(`127.0.0.1:${listenerPort}`);
    const r = await client.unarySettled({});
    if (shed) {
      t.equal(r.status.code, grpc.status.UNAVAILABLE, `${label}: the call is shed with UNAVAILABLE (${r.status.details})`);
      t.equal(r.status.details, 'envoy overloaded', 'with Envoy\'s body as the message');
      t.ok(await proxy.waitForLine(/^200 OM overload$/), 'logged with flag OM and details overload');
      const stats = (await proxy.admin('/stats?filter=overload')).body;
      t.match(stats, /overload\.envoy\.overload_actions\.stop_accepting_requests\.active: 1/, 'the action is active');
      t.match(stats, /overload\.envoy\.resource_monitors\.fixed_heap\.pressure: \d{3,}/, 'the monitor reports its pressure in percent');
      t.match(stats, /http\.test\.downstream_rq_overload_close: [1-9]/, 'and the HCM counts the shed request');
      t.equal((await proxy.admin('/ready')).status, 200, 'the admin API is not shed');
    } else {
      t.ok(r.ok, `${label}: the call succeeds`);
      t.match((await proxy.admin('/stats?filter=overload')).body, /stop_accepting_requests\.active: 0/, 'the action is inactive');
    }
    client.close();
    await proxy.stop();
  }
});

t.test('global_downstream_max_connections: connections beyond the limit are refused, admitted ones keep working', async (t) => {
  const backend = await startGrpcBackend({ name: 'b', services: ['echo'] });
  t.teardown(() => backend.stop(100));
  const listenerPort = await freePort();
  const config = bootstrapJson({ adminPort: await freePort(), listenerPort, clusters: [{ name: 'svc', endpoints: [backend.address] }] });
  const proxy = await startLegate({
    configYaml: JSON.stringify({
      ...config,
      overload_manager: {
        refresh_interval: '0.1s',
        resource_monitors: [{ name: 'envoy.resource_monitors.global_downstream_max_connections', typed_config: { '@type': DOWNSTREAM_CX, max_active_downstream_connections: 2 } }],
      },
    }),
  });
  t.teardown(() => proxy.stop());
  const clients = [0, 1].map(() => createEchoClient(`127.0.0.1:${listenerPort}`));
  t.teardown(() => { for (const c of clients) c.close(); });
  for (const c of clients) t.ok((await c.unarySettled({})).ok, 'an admitted connection serves calls');

  // A third connection is accepted by the kernel and closed by Legate at once.
  const closed = await new Promise<boolean>((resolve) => {
    const s = net.connect(listenerPort, '127.0.0.1');
    s.on('error', () => resolve(true));
    s.on('close', () => resolve(true));
    setTimeout(() => { s.destroy(); resolve(false); }, 3000);
  });
  t.ok(closed, 'a third connection is closed at once');
  const third = createEchoClient(`127.0.0.1:${listenerPort}`);
  const r = await third.unarySettled({}, { deadlineMs: 2000 });
  third.close();
  t.not(r.status.code, grpc.status.OK, `a call on a third connection fails (${r.status.code} ${r.status.details})`);
  for (const c of clients) t.ok((await c.unarySettled({})).ok, 'the admitted connections still serve calls');
  await new Promise((r) => setTimeout(r, 300)); // a refresh interval or more: pressure is sampled, as in Envoy
  const stats = (await proxy.admin('/stats?filter=global_cx_overflow|global_downstream_max_connections')).body;
  t.match(stats, /downstream_global_cx_overflow: [1-9]/, `refusals are counted (${stats.trim().replace(/\n/g, '; ')})`);
  t.match(stats, /global_downstream_max_connections\.pressure: 100/, 'the monitor reports the limit as reached');
});

t.test('overload config Legate cannot honour is refused by name', async (t) => {
  const config = bootstrapJson({ adminPort: await freePort(), listenerPort: await freePort(), clusters: [{ name: 'svc', endpoints: ['127.0.0.1:9'] }] });
  const bad = {
    ...config,
    overload_manager: {
      resource_monitors: [{ name: 'envoy.resource_monitors.injected_resource', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.resource_monitors.injected_resource.v3.InjectedResourceConfig', filename: '/tmp/x' } }],
      actions: [{ name: 'envoy.overload_actions.make_coffee', triggers: [{ name: 'envoy.resource_monitors.injected_resource', threshold: { value: 0.5 } }] }],
    },
  };
  const path = writeTempConfig(JSON.stringify(bad));
  const { command, args } = legateCommand();
  const out = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
    execFile(command, [...args, '--mode', 'validate', '-c', path], (err, _stdout, stderr) => resolve({ code: err ? (err as { code?: number }).code ?? 1 : 0, stderr }));
  });
  t.not(out.code, 0, 'validation fails');
  t.match(out.stderr, /overload_manager\.resource_monitors\[0\]: resource monitor "envoy\.resource_monitors\.injected_resource" is not supported/, 'the unsupported monitor is named');
  t.match(out.stderr, /overload_manager\.actions\[0\]\.name: unknown overload action "envoy\.overload_actions\.make_coffee"/, 'the unknown action is named');
});
