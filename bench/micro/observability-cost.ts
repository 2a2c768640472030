/**
 * Micro-benchmark: what observability costs per request, in-process, with the real code paths.
 *
 * - access-log formatting: Istio's default text format and Istio's JSON format rendered from a
 *   completed StreamInfo (the compiled formats `AccessLogger` uses; the sink's buffered string
 *   append is not included, the end-to-end benchmark has it);
 * - stats recording: the cluster stats a stream charges (`ClusterScope.chargeCode`,
 *   `upstream_rq_time`, the cluster's and host's counters, as proxy-stream.ts does), the HCM's
 *   `completed()` (downstream_rq_* and downstream_rq_time) without and with Istio's stats filter,
 *   and Istio's recorder alone.
 *
 * Three StreamInfo shapes are rotated (gRPC OK through an Istio outbound cluster, gRPC 503 UH,
 * HTTP/1.1 404 NR), so call sites are not monomorphic on one object. Each case runs R rounds of
 * N calls after a warm-up round; the median CPU ns/call (process.cpuUsage) is reported. A markdown section is printed
 * and appended to bench/RESULTS.md (unless `--no-append`).
 *
 *   npx tsc -p . && node dist/bench/micro/observability-cost.js [--calls 200000] [--rounds 5] [--no-append]
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { compileJsonFormat } from '../../src/access-log/access-logger';
import { compileTextFormat } from '../../src/access-log/formatter';
import { HttpConnectionManager } from '../../src/http/connection-manager';
import { StreamInfo } from '../../src/http/stream-info';
import { ClusterScope } from '../../src/stats/cluster-stats';
import { istioMetrics } from '../../src/stats/istio/istio-metrics';
import { IstioStatsRecorder } from '../../src/stats/istio/istio-recorder';
import { statsStore } from '../../src/stats/store';
import { ClusterManager } from '../../src/upstream/cluster-manager';
import { DecodeContext } from '../../src/xds/resources/decode-context';
import { decodeHttpConnectionManager } from '../../src/xds/resources/http-connection-manager';
import { installBuiltins } from '../../src/extensions/builtins';
import { repoRoot } from '../../test/fakes/repo-root';
import { ISTIO_JSON_FORMAT, ISTIO_TEXT_FORMAT } from '../common/istio-log-formats';

const CLUSTER = 'outbound|50052||echo.ns.svc.cluster.local';

function samples(): StreamInfo[] {
  const base = (): StreamInfo => {
    const s = new StreamInfo();
    s.requestHeaders = {
      ':method': 'POST', ':path': '/helloworld.Greeter/SayHello', ':authority': 'echo.ns.svc.cluster.local:50052', ':scheme': 'http',
      'content-type': 'application/grpc', te: 'trailers', 'user-agent': 'grpc-node-js/1.10.0', 'x-request-id': '6b8a2f3e-9c1d-4e5f-8a7b-0c1d2e3f4a5b',
    };
    s.responseHeaders = { ':status': 200, 'content-type': 'application/grpc', 'x-envoy-upstream-service-time': '1' };
    s.responseTrailers = { 'grpc-status': '0' };
    s.grpcStatus = 0;
    s.responseCode = 200;
    s.responseCodeDetails = 'via_upstream';
    s.bytesReceived = 17;
    s.bytesSent = 22;
    s.lastDownstreamRxByteMs = 0.4;
    s.firstUpstreamRxByteMs = 1.2;
    s.lastDownstreamTxByteMs = 1.6;
    s.upstreamHost = '10.0.0.7:50052';
    s.upstreamClusterName = CLUSTER;
    s.upstreamClusterObservabilityName = `${CLUSTER};`;
    s.upstreamLocalAddress = '10.0.0.5:41234';
    s.downstreamLocalAddress = '10.96.0.20:50052';
    s.downstreamRemoteAddress = '10.0.0.5:38488';
    s.routeName = 'default';
    s.upstreamRequestAttemptCount = 1;
    return s;
  };
  const ok = base();
  const uh = base();
  uh.responseHeaders = undefined;
  uh.responseTrailers = undefined;
  uh.grpcStatus = 14;
  uh.responseCode = 503;
  uh.responseCodeDetails = 'no_healthy_upstream';
  uh.setFlag('UH');
  uh.upstreamHost = '';
  uh.bytesSent = 0;
  const nr = base();
  nr.protocol = 'HTTP/1.1';
  nr.requestHeaders = { ':method': 'GET', ':path': '/nothing', ':authority': 'echo:8080', 'user-agent': 'curl/7.88.1', 'x-request-id': '1f2e3d4c-5b6a-4978-8695-a4b3c2d1e0f9' };
  nr.responseHeaders = { ':status': 404 };
  nr.responseTrailers = undefined;
  nr.grpcStatus = undefined;
  nr.responseCode = 404;
  nr.responseCodeDetails = 'route_not_found';
  nr.setFlag('NR');
  nr.upstreamHost = '';
  nr.upstreamClusterName = '';
  nr.upstreamClusterObservabilityName = '';
  nr.routeName = '';
  return [ok, uh, nr];
}

function hcm(withIstio: boolean, clusters: ClusterManager): HttpConnectionManager {
  installBuiltins();
  const ctx = new DecodeContext();
  const router = { name: 'envoy.filters.http.router', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } };
  const stats = { name: 'istio.stats', typed_config: { '@type': 'type.googleapis.com/stats.PluginConfig' } };
  const model = decodeHttpConnectionManager({
    stat_prefix: withIstio ? 'outbound_0.0.0.0_50052' : 'bench',
    route_config: { name: 'r', virtual_hosts: [{ name: 'v', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: CLUSTER } }] }] },
    http_filters: withIstio ? [stats, router] : [router],
    stream_idle_timeout: 0,
  }, 'hcm', ctx);
  if (!ctx.ok) throw new Error(JSON.stringify(ctx.errors));
  if (model.routeSource.kind !== 'inline') throw new Error('inline routes expected');
  return new HttpConnectionManager(model, model.routeSource.config, clusters, 1000, 'OUTBOUND');
}

interface Case {
  readonly name: string;
  readonly run: (s: StreamInfo) => number;
}

function cases(): Case[] {
  const text = compileTextFormat(ISTIO_TEXT_FORMAT);
  const json = compileJsonFormat(ISTIO_JSON_FORMAT, false);
  const clusters = new ClusterManager();
  const plainHcm = hcm(false, clusters);
  const istioHcm = hcm(true, clusters);
  const scope = new ClusterScope(`${CLUSTER};`);
  const clusterCounters = { upstream_rq_total: 0, upstream_rq_active: 0, upstream_rq_completed: 0 };
  const hostCounters = { rq_active: 0, rq_success: 0, rq_error: 0 };
  istioMetrics().setNode({ NAMESPACE: 'default', WORKLOAD_NAME: 'productpage-v1', CLUSTER_ID: 'Kubernetes', LABELS: { app: 'productpage', version: 'v1' } });
  const recorder = new IstioStatsRecorder({ reporter: 'UNSPECIFIED', disableHostHeaderFallback: false, droppedMetrics: [], tagsToRemove: {} }, 'OUTBOUND', clusters);
  istioMetrics().attach(statsStore());
  const clusterStats = (s: StreamInfo): number => {
    clusterCounters.upstream_rq_total++;
    clusterCounters.upstream_rq_active++;
    hostCounters.rq_active++;
    scope.chargeCode(s.responseCode);
    scope.upstreamRqTime.record(s.lastDownstreamTxByteMs);
    hostCounters.rq_active--;
    clusterCounters.upstream_rq_active--;
    clusterCounters.upstream_rq_completed++;
    if (s.responseCode < 500) hostCounters.rq_success++;
    else hostCounters.rq_error++;
    return 1;
  };
  return [
    { name: 'access log: Istio text format (render)', run: (s) => text.render(s).length },
    { name: 'access log: Istio JSON format (render)', run: (s) => json.render(s).length },
    { name: 'stats: cluster (codes, upstream_rq_time, cluster/host counters)', run: clusterStats },
    { name: 'stats: HCM completed() (downstream_rq_*, downstream_rq_time)', run: (s) => { plainHcm.completed(s); return 1; } },
    { name: 'stats: Istio recorder alone (4 metrics)', run: (s) => { recorder.record(s); return 1; } },
    { name: 'stats: HCM completed() with istio.stats', run: (s) => { istioHcm.completed(s); return 1; } },
    { name: 'stats: cluster + HCM + Istio (all per-request stats)', run: (s) => { clusterStats(s); istioHcm.completed(s); return 1; } },
  ];
}

function measure(c: Case, infos: readonly StreamInfo[], calls: number): number {
  let sink = 0;
  const n = infos.length;
  // CPU time, not wall time: on a shared machine the process is descheduled for long stretches.
  const c0 = process.cpuUsage();
  for (let i = 0; i < calls; i++) sink += c.run(infos[i % n]!);
  const d = process.cpuUsage(c0);
  if (sink < 0) process.stdout.write('');
  return ((d.user + d.system) * 1000) / calls;
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function main(): void {
  const { values } = parseArgs({ options: { calls: { type: 'string', default: '200000' }, rounds: { type: 'string', default: '5' }, 'no-append': { type: 'boolean', default: false } } });
  const calls = Number(values.calls);
  const rounds = Number(values.rounds);
  const infos = samples();
  const all = cases();
  const started = Date.now();
  const load = os.loadavg()[0]!.toFixed(1);
  const rows: Array<{ name: string; median: number; rounds: number[] }> = [];
  for (const c of all) {
    measure(c, infos, Math.min(calls, 50_000)); // warm-up: JIT, first series created
    const r: number[] = [];
    for (let i = 0; i < rounds; i++) r.push(measure(c, infos, calls));
    rows.push({ name: c.name, median: median(r), rounds: r });
    process.stderr.write(`[bench] ${c.name}: ${median(r).toFixed(0)} ns/call\n`);
  }
  const byName = (prefix: string): number => rows.find((r) => r.name.startsWith(prefix))!.median;
  const textNs = byName('access log: Istio text');
  const jsonNs = byName('access log: Istio JSON');
  const plain = byName('stats: HCM completed() (');
  const withIstio = byName('stats: HCM completed() with');
  const cluster = byName('stats: cluster (');
  const allStats = byName('stats: cluster + HCM');
  const cpu = os.cpus();
  const lines = [
    `## Observability cost per request, in-process (${new Date().toISOString().slice(0, 10)}, ${cpu[0]?.model.trim() ?? 'CPU'} ×${cpu.length} (load ${load} at start), node ${process.version})`,
    '',
    `\`bench/micro/observability-cost.ts\`: the real compiled access-log formats and stats objects, called on three rotating completed streams (gRPC 200 through \`${CLUSTER}\`, gRPC 503 UH, HTTP/1.1 404 NR); ${calls.toLocaleString('en-US')} calls per round, ${rounds} rounds after a warm-up, median CPU ns per call (\`process.cpuUsage\`, user+system, so time the process spends descheduled on a loaded machine is not counted; each round in the last column). Formatting excludes the sink (a buffered string append); the end-to-end section below has it. Whole run ${((Date.now() - started) / 1000).toFixed(0)} s.`,
    '',
    '| case | CPU ns/call (median) | rounds |',
    '|---|---:|---|',
    ...rows.map((r) => `| ${r.name} | ${r.median.toFixed(0)} | ${r.rounds.map((x) => x.toFixed(0)).join(' / ')} |`),
    '',
    `Ratios: JSON ÷ text format ${(jsonNs / textNs).toFixed(2)}×; Istio's stats filter adds ${(withIstio - plain).toFixed(0)} ns per request to the HCM's ${plain.toFixed(0)} ns (${(withIstio / plain).toFixed(2)}×); all per-request stats (cluster ${cluster.toFixed(0)} + HCM with Istio) ${allStats.toFixed(0)} ns; the Istio text log line costs ${(textNs / allStats).toFixed(2)}× all stats together. For scale: the first \`npm run bench\` section of this file (2026-11-22T02:13Z) measured Legate at ~230 µs CPU per proxied call, so stats are ~${((allStats / 230_000) * 100).toFixed(2)} % and a text log line ~${((textNs / 230_000) * 100).toFixed(2)} % of it.`,
    '',
  ];
  const section = lines.join('\n');
  process.stdout.write(`\n${section}\n`);
  if (values['no-append'] !== true) fs.appendFileSync(path.join(repoRoot(), 'bench', 'RESULTS.md'), `\n${section}`);
  // The HCMs' idle sweepers are unref'd; nothing else keeps the process alive.
}

main();
