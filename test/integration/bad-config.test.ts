import net from 'node:net';
import t from 'tap';
import { freePort, writeTempConfig } from '../fakes/legate-process';
import { bootstrapJson } from './bootstrap-builder';
import { runLegate } from './run-legate';

async function goodConfig(): Promise<Record<string, unknown>> {
  return bootstrapJson({ adminPort: await freePort(), listenerPort: await freePort(), clusters: [{ name: 'svc', endpoints: ['127.0.0.1:1'] }] });
}

function errorLines(stderr: string): string[] {
  return stderr.split('\n').filter((l) => l.startsWith('error: '));
}

t.test('broken YAML: one line naming the file and the position', async (t) => {
  const file = writeTempConfig('static_resources:\n  clusters: [\n   - name: x\n');
  const r = runLegate(['-c', file]);
  t.equal(r.code, 1);
  const lines = errorLines(r.stderr);
  t.equal(lines.length, 1, r.stderr);
  t.match(lines[0], new RegExp(`^error: ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:\\d+:\\d+: `));
});

t.test('unknown field: names the file, line and field path', async (t) => {
  const cfg = await goodConfig();
  ((cfg['static_resources'] as { clusters: Array<Record<string, unknown>> }).clusters[0]!)['conect_timeout'] = '1s';
  const file = writeTempConfig(JSON.stringify(cfg, null, 2));
  const r = runLegate(['-c', file]);
  t.equal(r.code, 1);
  const lines = errorLines(r.stderr);
  t.equal(lines.length, 1, r.stderr);
  t.match(lines[0], /:\d+:\d+: static_resources\.clusters\[0\]/);
  t.match(lines[0], /conect_timeout/);
});

t.test('wrong type: names the field path', async (t) => {
  const cfg = await goodConfig();
  ((cfg['static_resources'] as { clusters: Array<Record<string, unknown>> }).clusters[0]!)['connect_timeout'] = 'soon';
  const file = writeTempConfig(JSON.stringify(cfg, null, 2));
  const r = runLegate(['-c', file]);
  t.equal(r.code, 1);
  const lines = errorLines(r.stderr);
  t.equal(lines.length, 1, r.stderr);
  t.match(lines[0], /static_resources\.clusters\[0\]\.connect_timeout: .*duration/);
});

t.test('a route naming a missing cluster', async (t) => {
  const cfg = await goodConfig();
  const text = JSON.stringify(cfg, null, 2).replace('"cluster": "svc"', '"cluster": "nope"');
  const file = writeTempConfig(text);
  const r = runLegate(['-c', file]);
  t.equal(r.code, 1);
  const lines = errorLines(r.stderr);
  t.equal(lines.length, 1, r.stderr);
  t.match(lines[0], /routes\[0\]\.route\.cluster: unknown cluster "nope"/);
});

t.test('a port in use: exits non-zero naming the listener and address', async (t) => {
  const blocker = net.createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  t.teardown(() => blocker.close());
  const port = (blocker.address() as net.AddressInfo).port;
  const cfg = bootstrapJson({ adminPort: await freePort(), listenerPort: port, clusters: [{ name: 'svc', endpoints: ['127.0.0.1:1'] }] });
  const r = runLegate(['-c', writeTempConfig(JSON.stringify(cfg))]);
  t.equal(r.code, 1);
  const lines = errorLines(r.stderr);
  t.equal(lines.length, 1, r.stderr);
  t.equal(lines[0], `error: listener "test_listener": cannot bind to 127.0.0.1:${port}: address already in use`);
});

t.test('--mode validate prints every error and exits 1; a good config exits 0', async (t) => {
  const cfg = await goodConfig();
  const c0 = (cfg['static_resources'] as { clusters: Array<Record<string, unknown>> }).clusters[0]!;
  c0['lb_policy'] = 'NOT_A_POLICY';
  c0['dns_refresh_rate'] = 'abc';
  const bad = runLegate(['--mode', 'validate', '-c', writeTempConfig(JSON.stringify(cfg, null, 2))]);
  t.equal(bad.code, 1);
  t.match(bad.stderr, /lb_policy/);
  t.match(bad.stderr, /dns_refresh_rate/);
  t.match(bad.stdout, /configuration has 2 error\(s\)/);
  const good = runLegate(['--mode', 'validate', '-c', writeTempConfig(JSON.stringify(await goodConfig()))]);
  t.equal(good.code, 0, good.stderr);
  t.match(good.stdout, /configuration OK/);
});
