/**
 * Health-check configuration end to end: the Dubbo mesh sample's EnvoyFilter health check applied
 * to a static cluster, and bad health-check configs rejected with clear, located errors.
 */
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import YAML from 'yaml';
import { startGrpcBackend } from '../fakes/grpc-backend';
import { freePort, startLegate, writeTempConfig } from '../fakes/legate-process';
import { repoRoot } from '../fakes/repo-root';
import { bootstrapJson, bootstrapText } from './bootstrap-builder';
import { runLegate } from './run-legate';

function dubboHealthCheck(): Record<string, unknown> {
  const file = path.join(repoRoot(), '..', 'shared', 'fixtures', 'dubbo-samples', 'deploy', 'EnvoyFilter.yml');
  const doc = YAML.parse(fs.readFileSync(file, 'utf8')) as { spec: { configPatches: Array<{ patch: { value: { health_checks: Array<Record<string, unknown>> } } }> } };
  return doc.spec.configPatches[0]!.patch.value.health_checks[0]!;
}

t.test('the Dubbo sample EnvoyFilter health check behaves as configured', async (t) => {
  const hc = dubboHealthCheck();
  t.equal(hc['unhealthy_threshold'], 1);
  const provider = await startGrpcBackend({ name: 'provider', services: ['echo', 'health'] });
  t.teardown(() => provider.stop(100));
  const adminPort = await freePort();
  const listenerPort = await freePort();
  const name = 'outbound|50052||dubbo-samples-mesh-provider.dubbo-demo.svc.cluster.local';
  const proxy = await startLegate({ configYaml: bootstrapText({ adminPort, listenerPort, clusters: [{ name, endpoints: [provider.address], extra: { health_checks: [hc] } }] }) });
  t.teardown(() => proxy.stop());
  // initial_jitter 1s: the first check (which /ready waits for) comes within a second.
  t.ok(provider.callsByMethod['/grpc.health.v1.Health/Check']! >= 1, 'checked before /ready');
  const flags = async (): Promise<string> => (await proxy.admin('/clusters')).body.split('\n').find((l) => l.startsWith(`${name}::${provider.address}::health_flags::`))!.split('::')[3]!;
  t.equal(await flags(), 'healthy');
  t.match(proxy.stderr.join('\n'), /tls_options: accepted/, 'tls_options is accepted with a notice');
  // No traffic yet and healthy → no_traffic_healthy_interval 4s, plus up to 50% of it
  // (interval_jitter_percent) plus up to 1s (interval_jitter); unhealthy_threshold 1 ejects on one answer.
  provider.setHealth('', 'NOT_SERVING');
  const t0 = Date.now();
  while ((await flags()) !== '/failed_active_hc') {
    if (Date.now() - t0 > 9000) throw new Error('provider never failed');
    await new Promise((r) => setTimeout(r, 50));
  }
  const took = Date.now() - t0;
  t.ok(took <= 4000 + 2000 + 1000 + 300, `NOT_SERVING noticed after ${took} ms (at most no_traffic_healthy_interval + jitter)`);
  // Once failed and still without traffic: no_traffic_interval (2s) + jitter; SERVING again → healthy after 20 checks,
  // far too long for a test, so only check that it keeps being probed.
  const checks = provider.callsByMethod['/grpc.health.v1.Health/Check']!;
  await new Promise((r) => setTimeout(r, 2000 + 1000 + 1000 + 300));
  t.ok(provider.callsByMethod['/grpc.health.v1.Health/Check']! > checks, 'probed again within no_traffic_interval + jitter');
});

async function validate(hc: unknown): Promise<{ code: number | null; errors: string[] }> {
  const cfg = bootstrapJson({ adminPort: await freePort(), listenerPort: await freePort(), clusters: [{ name: 'svc', endpoints: ['127.0.0.1:1'], extra: { health_checks: [hc] } }] });
  const r = runLegate(['--mode', 'validate', '-c', writeTempConfig(JSON.stringify(cfg, null, 2))]);
  return { code: r.code, errors: r.stderr.split('\n').filter((l) => l.startsWith('error: ') || / static_resources/.test(l)) };
}

t.test('bad health-check config: clear errors with field paths', async (t) => {
  const negative = await validate({ timeout: '1s', interval: '-1s', unhealthy_threshold: 1, healthy_threshold: 1, grpc_health_check: {} });
  t.equal(negative.code, 1);
  t.match(negative.errors.join('\n'), /health_checks\[0\]\.interval: .*greater than 0/);
  const zero = await validate({ timeout: '1s', interval: '1s', unhealthy_threshold: 1, healthy_threshold: 0, grpc_health_check: {} });
  t.equal(zero.code, 1);
  t.match(zero.errors.join('\n'), /health_checks\[0\]\.healthy_threshold: must be at least 1, got 0/);
  const missing = await validate({ timeout: '1s', interval: '1s', unhealthy_threshold: 1, healthy_threshold: 1 });
  t.equal(missing.code, 1);
  t.match(missing.errors.join('\n'), /health_checks\[0\]: one of .*grpc_health_check/);
  const noTimeout = await validate({ interval: '1s', unhealthy_threshold: 1, healthy_threshold: 1, tcp_health_check: {} });
  t.match(noTimeout.errors.join('\n'), /health_checks\[0\]\.timeout: value is required/);
  const badHex = await validate({ timeout: '1s', interval: '1s', unhealthy_threshold: 1, healthy_threshold: 1, tcp_health_check: { send: { text: 'zz' } } });
  t.match(badHex.errors.join('\n'), /tcp_health_check\.send\.text: invalid hex payload "zz"/);
  const good = await validate({ timeout: '1s', interval: '1s', unhealthy_threshold: 1, healthy_threshold: 1, http_health_check: { path: '/healthz' } });
  t.equal(good.code, 0, good.errors.join('\n'));
});
