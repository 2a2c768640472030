// Checks the benchmark and demo harness pieces that work without the proxy:
// h2load output parsing, percentile maths, the results table, the generated and
// demo bootstraps, the bench echo server (via grpc-js and, when installed, h2load),
// and demo/call against a fake provider.
import t from 'tap';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { benchBootstrap } from '../../../bench/macro/bench-config';
import { h2loadVersion, latencyFromLog, parseH2loadOutput, runH2load } from '../../../bench/macro/h2load';
import { cpuSeconds, peakRssMiB, procAvailable, processTree } from '../../../bench/macro/proc-stats';
import { renderSection, type PathResult } from '../../../bench/macro/results-table';
import { startH2GrpcEcho } from '../../../bench/servers/h2-grpc-echo';
import { frameMessage } from '../../fakes/grpc-frame';
import { startGrpcBackend } from '../../fakes/grpc-backend';
import { createTestClient } from '../../fakes/grpc-client';
import { messageCodec } from '../../fakes/proto-service';
import { repoRoot } from '../../fakes/repo-root';

const SAMPLE = `starting benchmark...
finished in 2.95s, 33863.73 req/s, 1.97MB/s
requests: 100000 total, 100000 started, 100000 done, 99990 succeeded, 10 failed, 3 errored, 1 timeout
status codes: 99990 2xx, 0 3xx, 4 4xx, 2 5xx
traffic: 5.82MB (6100749) total, 195.32KB (200012) headers (space savings 94.74%), 2.96MB (3100000) data
                     min         max         mean         sd        +/- sd
time for request:       20us       174us        27us         4us    88.53%
`;

t.test('h2load summary and log parsing', async (t) => {
  t.same(parseH2loadOutput(SAMPLE), { reqPerSec: 33863.73, succeeded: 99990, failed: 10, errored: 3, timeout: 1, non2xx: 6 });
  const log = Array.from({ length: 1000 }, (_, i) => `${1700000000000000 + i}\t200\t${i + 1}`).join('\n') + '\n1\t-1\t999999\n2\t503\t5\n';
  const stats = latencyFromLog(log);
  t.equal(stats?.count, 1000, 'failed and non-2xx rows excluded');
  t.equal(stats?.p50Us, 500);
  t.equal(stats?.p90Us, 900);
  t.equal(stats?.p99Us, 990);
  t.equal(stats?.p999Us, 999);
  t.equal(stats?.maxUs, 1000);
  t.equal(stats?.meanUs, 500.5);
  t.equal(latencyFromLog(''), undefined);
});

t.test('results table', async (t) => {
  const lat = { count: 1, meanUs: 100, p50Us: 90, p90Us: 150, p99Us: 300, p999Us: 500, maxUs: 900 };
  const direct: PathResult = { path: 'direct', closedReqPerSec: 20000, closedLatency: lat, openReqPerSec: 1000, openLatency: lat, proxyCpuUsPerCall: undefined, proxyPeakRssMiB: undefined, backendCpuUsPerCall: 50, errors: 0 };
  const legate: PathResult = { ...direct, path: 'legate', closedReqPerSec: 10000, openLatency: { ...lat, p50Us: 290, p99Us: 700 }, proxyCpuUsPerCall: 80.44, proxyPeakRssMiB: 61.2 };
  const md = renderSection({ date: 'D', machine: 'M', commit: 'C', node: 'v20', h2load: 'h2load x', workload: 'W.' }, [direct, legate]);
  t.match(md, /^### D · M\n/);
  t.match(md, /\| direct \| 20,000 \| 100 \| 90 \| 300 \| 1,000 \| 90 \| 150 \| 300 \| 500 \| – \| – \| 50\.0 \| 0 \|/);
  t.match(md, /\| legate \| 10,000 .* \| 80\.4 \| 61\.2 \| 50\.0 \| 0 \|/);
  t.match(md, /\| legate vs direct \| 0\.50× \| \+0 \| \+0 \| \+0 \| 1\.00× \| \+200 \| \+0 \| \+400 \| \+0 \|/);
  t.equal(md.split('\n').filter((l) => l.startsWith('|')).length, 5, 'header, rule, 2 rows, ratio');
});

t.test('bench bootstrap and demo bootstrap are well-formed', async (t) => {
  const bench = YAML.parse(benchBootstrap({ adminPort: 1, listenerPort: 2, backendPort: 3 }));
  t.equal(bench.admin.address.socket_address.port_value, 1);
  t.equal(bench.static_resources.listeners[0].address.socket_address.port_value, 2);
  t.equal(bench.static_resources.clusters[0].load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address.port_value, 3);

  const demo = YAML.parse(fs.readFileSync(path.join(repoRoot(), 'config', 'demo.yaml'), 'utf8'));
  t.equal(demo.admin.address.socket_address.port_value, 9901);
  const hcm = demo.static_resources.listeners[0].filter_chains[0].filters[0].typed_config;
  t.equal(hcm.stat_prefix, 'outbound_0.0.0.0_50052');
  t.equal(hcm.codec_type, 'AUTO');
  const format: string = hcm.access_log[0].typed_config.log_format.text_format_source.inline_string;
  t.ok(format.startsWith('[%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%"'));
  t.ok(format.endsWith('%UPSTREAM_CLUSTER_RAW% %UPSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_REMOTE_ADDRESS% %REQUESTED_SERVER_NAME% %ROUTE_NAME%\n'));
  const route = hcm.route_config.virtual_hosts[0].routes[0];
  t.same(route.match, { prefix: '/' });
  t.equal(route.route.timeout, '0s');
  const weighted = route.route.weighted_clusters.clusters as Array<{ name: string; weight: number }>;
  t.same(weighted.map((c) => c.weight), [80, 20]);
  const clusters = demo.static_resources.clusters as Array<{ name: string; type: string; lb_policy: string; load_assignment: { endpoints: Array<{ lb_endpoints: Array<{ endpoint: { address: { socket_address: { port_value: number } } } }> }> } }>;
  t.same(clusters.map((c) => c.name), weighted.map((c) => c.name));
  t.same(clusters.map((c) => c.name), [
    'outbound|50052|v1|dubbo-samples-mesh-provider.dubbo-demo.svc.cluster.local',
    'outbound|50052|v2|dubbo-samples-mesh-provider.dubbo-demo.svc.cluster.local',
  ]);
  t.same(clusters.map((c) => c.load_assignment.endpoints[0]?.lb_endpoints[0]?.endpoint.address.socket_address.port_value), [50061, 50062]);
  t.ok(clusters.every((c) => c.type === 'STATIC' && c.lb_policy === 'ROUND_ROBIN'));
});

t.test('bench echo server answers grpc-js and h2load', async (t) => {
  const echo = await startH2GrpcEcho();
  t.teardown(() => echo.close());
  const client = createTestClient('helloworld', `127.0.0.1:${echo.port}`);
  const r = await client.unary<{ name: string }, { message: string }>('SayHello', { name: 'bench' });
  t.equal(r.response.message, 'bench');
  client.close();
  t.equal(echo.requests, 1);

  if (h2loadVersion() === undefined) {
    t.comment('h2load not installed: h2load part skipped');
    return;
  }
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-test-'));
  t.teardown(() => fs.rmSync(tmp, { recursive: true, force: true }));
  const bodyFile = path.join(tmp, 'req.bin');
  fs.writeFileSync(bodyFile, frameMessage(messageCodec<{ name: string }>('helloworld.proto', 'helloworld.HelloRequest').encode({ name: 'world' })));
  const result = await runH2load({ url: `http://127.0.0.1:${echo.port}/helloworld.Greeter/SayHello`, bodyFile, requests: 200, clients: 2, streams: 4, logFile: path.join(tmp, 'log.tsv') });
  t.equal(result.succeeded, 200);
  t.equal(result.failed, 0);
  t.equal(result.latency?.count, 200);
  t.ok(result.reqPerSec > 0);
  t.equal(echo.requests, 201);
});

t.test('/proc helpers', { skip: !procAvailable() }, async (t) => {
  t.ok(processTree(process.pid).includes(process.pid));
  t.ok(cpuSeconds(process.pid) > 0);
  t.ok(peakRssMiB(process.pid) > 10);
});

t.test('demo/call tallies backends over one connection', async (t) => {
  const backend = await startGrpcBackend({ name: 'provider-v9', services: ['dubbo', 'helloworld'] });
  t.teardown(() => backend.stop(100));
  const call = path.join(repoRoot(), 'dist', 'demo', 'call.js');
  const run = (args: string[]) =>
    new Promise<{ code: number; out: string }>((resolve) => {
      execFile(process.execPath, [call, ...args], (err, stdout) => resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, out: stdout }));
    });
  const ok = await run(['--n', '12', '--target', backend.address, '--concurrency', '3']);
  t.equal(ok.code, 0);
  t.match(ok.out, /12 calls to \/org\.apache\.dubbo\.samples\.Greeter\/greet/);
  t.match(ok.out, /provider-v9\s+12\s+100%/);
  t.equal(backend.connections, 1, 'one connection for all calls');
  const hw = await run(['--n', '3', '--target', backend.address, '--method', 'SayHello']);
  t.match(hw.out, /helloworld\.Greeter\/SayHello/);
  t.same(backend.callsByMethod, { '/org.apache.dubbo.samples.Greeter/greet': 12, '/helloworld.Greeter/SayHello': 3 });
  backend.kill();
  const down = await run(['--n', '2', '--target', backend.address, '--deadline-ms', '500']);
  t.equal(down.code, 1);
  t.match(down.out, /failed\s+2/);
});
