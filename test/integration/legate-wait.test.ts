/**
 * `legate wait` against a real Legate held not-ready: an ADS listener warms until its RDS
 * arrives (initial_fetch_timeout 0s = forever), so /ready answers 503 until the test pushes it.
 */
import { spawn } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import t from 'tap';
import { startControlPlane } from '../fakes/control-plane';
import { startGrpcBackend } from '../fakes/grpc-backend';
import { createEchoClient } from '../fakes/grpc-client';
import { freePort, startLegate } from '../fakes/legate-process';
import { clusterJson } from './bootstrap-builder';
import { adsBootstrap, rdsListener, routeConfig, TYPE } from './xds-resources';

const BIN = path.resolve(__dirname, '..', '..', '..', 'bin', 'legate');

interface WaitRun {
  readonly code: number | null;
  readonly stderr: string;
  readonly elapsedMs: number;
}

/** Starts `legate wait <args>` as its own process (as a postStart hook would). */
function startWait(args: readonly string[]): { done: Promise<WaitRun>; polling: Promise<void> } {
  const started = Date.now();
  const child = spawn(process.execPath, [BIN, 'wait', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  let onPolling!: () => void;
  const polling = new Promise<void>((r) => (onPolling = r));
  child.stderr.setEncoding('utf8').on('data', (c: string) => {
    stderr += c;
    if (stderr.includes('waiting for')) onPolling();
  });
  child.stdout.resume();
  const done = new Promise<WaitRun>((resolve) => child.once('exit', (code) => {
    onPolling();
    resolve({ code, stderr, elapsedMs: Date.now() - started });
  }));
  return { done, polling };
}

function runWait(args: readonly string[]): Promise<WaitRun> {
  return startWait(args).done;
}

function connects(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });
}

t.test('legate wait: exit 1 at the timeout while warming, exit 0 once the first xDS config is applied', async (t) => {
  const backend = await startGrpcBackend({ name: 'a', services: ['echo'] });
  t.teardown(() => backend.stop(100));
  const cp = await startControlPlane();
  t.teardown(() => cp.stop());
  const listenerPort = await freePort();
  const listener = rdsListener('outbound', listenerPort, 'routes') as { filter_chains: Array<{ filters: Array<{ typed_config: { rds: { config_source: Record<string, unknown> } } }> }> };
  listener.filter_chains[0]!.filters[0]!.typed_config.rds.config_source['initial_fetch_timeout'] = '0s';
  cp.setResources(TYPE.listener, [{ name: 'outbound', value: listener as unknown as Record<string, unknown> }]);
  cp.setResources(TYPE.cluster, []);
  const adminPort = await freePort();
  const proxy = await startLegate({ configYaml: adsBootstrap(adminPort, cp.port), waitForReady: false });
  t.teardown(() => proxy.stop());
  await cp.waitForRequest((r) => r.typeUrl === TYPE.routeConfig && r.resourceNames.includes('routes'), 30_000);

  const early = await runWait(['--admin-port', String(adminPort), '--timeout-seconds', '1', '--period-millis', '100']);
  t.equal(early.code, 1, 'not ready within 1 s: exit 1');
  t.match(early.stderr, new RegExp(`http://127\\.0\\.0\\.1:${adminPort}/ready not ready within 1 seconds; last answer: HTTP 503 \\(INITIALIZING\\)`));
  t.ok(early.elapsedMs >= 900, `waited for the timeout (${early.elapsedMs} ms)`);
  t.equal(await connects(listenerPort), false, 'the warming listener is not bound while /ready says 503');

  // The same wait with room to spare; the routes arrive while it polls.
  const waiting = startWait(['--url', `http://127.0.0.1:${adminPort}/ready`, '--timeout-seconds', '30', '--period-millis', '100']);
  await waiting.polling;
  await new Promise((r) => setTimeout(r, 400));
  cp.setResources(TYPE.cluster, [{ name: 'svc', value: clusterJson({ name: 'svc', endpoints: [backend.address] }) }]);
  cp.setResources(TYPE.routeConfig, [{ name: 'routes', value: routeConfig('routes', [{ match: { prefix: '/' }, route: { cluster: 'svc' } }]) }]);
  const done = await waiting.done;
  t.equal(done.code, 0, `ready: exit 0 (${done.stderr.trim()})`);
  const waited = Number(/legate wait: ready after (\d+) ms/.exec(done.stderr)?.[1]);
  t.ok(waited >= 300, `it polled until the push (${waited} ms)`);
  // When wait returns, the listener is bound and routes: the app can start calling at once.
  const client = createEchoClient(`127.0.0.1:${listenerPort}`);
  t.teardown(() => client.close());
  t.equal((await client.unary({})).response.backend, 'a');
});

t.test('legate wait: usage errors name the flag', async (t) => {
  const bad = await runWait(['--timeout-seconds', 'soon']);
  t.equal(bad.code, 1);
  t.match(bad.stderr, /--timeout-seconds: expected an integer/);
  const both = await runWait(['--url', 'http://127.0.0.1:1/ready', '--admin-port', '2']);
  t.equal(both.code, 1);
  t.match(both.stderr, /--url and --admin-port are exclusive/);
  const unknown = await runWait(['--bogus', '1']);
  t.equal(unknown.code, 1);
  t.match(unknown.stderr, /unknown flag: --bogus/);
});

t.test('legate wait: nothing listening → connection refused, reported at the timeout', async (t) => {
  const port = await freePort();
  const r = await runWait(['--admin-port', String(port), '--timeoutSeconds', '0', '--periodMillis', '50']);
  t.equal(r.code, 1, 'pilot-agent\'s camelCase flags are accepted');
  t.match(r.stderr, /last answer: connection refused/);
});

