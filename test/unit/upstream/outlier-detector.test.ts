/**
 * Outlier detection rules (Envoy's outlier_detection_impl.cc) on a driven clock: consecutive
 * errors, enforcement percentages, max_ejection_percent, back-off, success rate, gRPC mapping.
 */
import t from 'tap';
import { HealthFlag } from '../../../src/health/health-flags';
import { DecodeContext, formatIssue } from '../../../src/xds/resources/decode-context';
import { decodeCluster } from '../../../src/xds/resources/cluster';
import { OutlierDetector, grpcToHttpStatus, type HostMonitor, type OutlierHost } from '../../../src/upstream/outlier-detector';
import type { OutlierDetectionModel } from '../../../src/snapshot/model';

class FakeHost implements OutlierHost {
  flags = 0;
  outlier: HostMonitor | undefined;
  constructor(readonly name: string) {}
  healthFlagGet(f: number): boolean { return (this.flags & f) !== 0; }
  healthFlagSet(f: number): void { this.flags |= f; }
  healthFlagClear(f: number): void { this.flags &= ~f; }
  get ejected(): boolean { return this.healthFlagGet(HealthFlag.FAILED_OUTLIER_CHECK); }
}

function config(od: Record<string, unknown>): OutlierDetectionModel {
  const ctx = new DecodeContext();
  const m = decodeCluster({ name: 'c', type: 'STATIC', outlier_detection: od }, 'c', ctx);
  if (!ctx.ok) throw new Error(JSON.stringify(ctx.errors));
  return m.outlierDetection!;
}

function setup(od: Record<string, unknown>, n: number, random = () => 0) {
  let now = 0;
  let changes = 0;
  const hosts = Array.from({ length: n }, (_, i) => new FakeHost(`h${i}`));
  const d = new OutlierDetector(config(od), { onChange: () => changes++, now: () => now, random });
  d.addHosts(hosts);
  return { d, hosts, advance: (ms: number) => { now += ms; }, changes: () => changes };
}

const codes = (h: FakeHost, code: number, n: number) => { for (let i = 0; i < n; i++) h.outlier!.putHttpResponseCode(code); };

t.test('decoder fills in Envoy defaults', async (t) => {
  const c = config({});
  t.equal(c.consecutive5xx, 5);
  t.equal(c.intervalMs, 10_000);
  t.equal(c.baseEjectionTimeMs, 30_000);
  t.equal(c.maxEjectionTimeMs, 300_000);
  t.equal(c.maxEjectionPercent, 10);
  t.equal(c.enforcingConsecutive5xx, 100);
  t.equal(c.enforcingConsecutiveGatewayFailure, 0, 'gateway failures are detected but not enforced by default');
  t.equal(c.successRateStdevFactor, 1.9);
  const ctx = new DecodeContext();
  decodeCluster({ name: 'c', type: 'STATIC', outlier_detection: { base_ejection_time: 10_000, max_ejection_time: 5000 } }, 'c', ctx);
  t.match(ctx.errors.map(formatIssue).join('\n'), /max_ejection_time cannot be smaller than base_ejection_time/);
  const ctx2 = new DecodeContext();
  decodeCluster({ name: 'c', type: 'STATIC', outlier_detection: { enforcing_consecutive_5xx: 150 } }, 'c', ctx2);
  t.match(ctx2.errors.map(formatIssue).join('\n'), /enforcing_consecutive_5xx: must be a percentage/);
});

t.test('consecutive 5xx ejects at the threshold; a success in between resets the count', async (t) => {
  const { d, hosts: [a], changes } = setup({ consecutive_5xx: 3, max_ejection_percent: 100 }, 2);
  codes(a!, 500, 2);
  a!.outlier!.putHttpResponseCode(200);
  codes(a!, 500, 2);
  t.notOk(a!.ejected, 'two, a success, two: not three in a row');
  a!.outlier!.putHttpResponseCode(500);
  t.ok(a!.ejected, 'third consecutive 5xx ejects');
  t.equal(changes(), 1, 'the cluster is told (new picker)');
  t.equal(d.stats.ejections_active, 1);
  t.equal(d.stats.ejections_enforced_consecutive_5xx, 1);
  t.equal(d.stats.ejections_detected_consecutive_5xx, 1);
  t.equal(d.stats.ejections_enforced_total, 1);
});

t.test('max_ejection_percent counts the host about to be ejected (2 hosts, 10%: none)', async (t) => {
  const { d, hosts: [a] } = setup({ consecutive_5xx: 2 }, 2);
  codes(a!, 503, 2);
  t.notOk(a!.ejected, '50% would exceed the default 10%');
  t.equal(d.stats.ejections_overflow, 1);
  const s = setup({ consecutive_5xx: 2, always_eject_one_host: true }, 2);
  codes(s.hosts[0]!, 503, 2);
  t.ok(s.hosts[0]!.ejected, 'always_eject_one_host lets the first one go');
  codes(s.hosts[1]!, 503, 2);
  t.notOk(s.hosts[1]!.ejected, 'but not a second');
});

t.test('gateway failures: detected, enforced only with enforcing_consecutive_gateway_failure', async (t) => {
  const off = setup({ consecutive_5xx: 100, consecutive_gateway_failure: 2, max_ejection_percent: 100 }, 2);
  codes(off.hosts[0]!, 502, 2);
  t.notOk(off.hosts[0]!.ejected, 'enforcing 0 by default');
  t.equal(off.d.stats.ejections_detected_consecutive_gateway_failure, 1);
  t.equal(off.d.stats.ejections_enforced_consecutive_gateway_failure, 0);
  const on = setup({ consecutive_5xx: 100, consecutive_gateway_failure: 2, enforcing_consecutive_gateway_failure: 100, max_ejection_percent: 100 }, 2);
  codes(on.hosts[0]!, 500, 1);
  codes(on.hosts[0]!, 504, 1);
  t.notOk(on.hosts[0]!.ejected, 'a 500 is not a gateway failure: the run restarts');
  codes(on.hosts[0]!, 503, 1);
  t.ok(on.hosts[0]!.ejected);
  t.equal(on.d.stats.ejections_enforced_consecutive_gateway_failure, 1);
});

t.test('enforcing percentage draws per ejection', async (t) => {
  const s = setup({ consecutive_5xx: 1, enforcing_consecutive_5xx: 30, max_ejection_percent: 100 }, 2, () => 0.5);
  codes(s.hosts[0]!, 500, 1);
  t.notOk(s.hosts[0]!.ejected, 'random 50 >= 30: not enforced');
  t.equal(s.d.stats.ejections_detected_consecutive_5xx, 1);
});

t.test('local-origin failures: 503 without split, own counter with split', async (t) => {
  const plain = setup({ consecutive_5xx: 2, max_ejection_percent: 100 }, 2);
  plain.hosts[0]!.outlier!.putResult('connect_failed');
  plain.hosts[0]!.outlier!.putResult('connect_success');
  plain.hosts[0]!.outlier!.putResult('timeout');
  t.ok(plain.hosts[0]!.ejected, 'connect failure (503) and timeout (504) count as 5xx; a connect success says nothing');
  const split = setup({ split_external_local_origin_errors: true, consecutive_local_origin_failure: 2, consecutive_5xx: 2, max_ejection_percent: 100 }, 2);
  const m = split.hosts[0]!.outlier!;
  m.putResult('connect_failed');
  m.putResult('connect_success');
  m.putResult('connect_failed');
  t.notOk(split.hosts[0]!.ejected, 'a connect success resets the local-origin run');
  m.putResult('timeout');
  t.ok(split.hosts[0]!.ejected);
  t.equal(split.d.stats.ejections_enforced_consecutive_local_origin_failure, 1);
});

t.test('ejection time: base × times ejected, capped by max_ejection_time, checked every interval', async (t) => {
  const { d, hosts: [a], advance } = setup({ consecutive_5xx: 1, interval: 100, base_ejection_time: 1000, max_ejection_time: 2500, max_ejection_percent: 100 }, 2);
  codes(a!, 500, 1);
  advance(900);
  d.onInterval();
  t.ok(a!.ejected, 'still out before base_ejection_time');
  advance(100);
  d.onInterval();
  t.notOk(a!.ejected, 'back after 1 s');
  t.equal(d.stats.ejections_active, 0);
  codes(a!, 500, 1);
  advance(1999);
  d.onInterval();
  t.ok(a!.ejected, 'second ejection lasts 2 × base');
  advance(1);
  d.onInterval();
  t.notOk(a!.ejected);
  codes(a!, 500, 1);
  codes(a!, 500, 1);
  advance(2500);
  d.onInterval();
  t.notOk(a!.ejected, 'third ejection is capped at max_ejection_time (2.5 s, not 3 s)');
});

t.test('a host that stays in rotation for an interval works its back-off down', async (t) => {
  const { d, hosts: [a], advance } = setup({ consecutive_5xx: 1, interval: 100, base_ejection_time: 1000, max_ejection_percent: 100 }, 2);
  codes(a!, 500, 1);
  advance(1000);
  d.onInterval();
  t.equal(a!.outlier!.backoff, 1);
  advance(100);
  d.onInterval();
  t.equal(a!.outlier!.backoff, 0, 'one interval healthy: back-off down by one');
  codes(a!, 500, 1);
  advance(1000);
  d.onInterval();
  t.notOk(a!.ejected, 'next ejection lasts the base time again');
});

t.test('success rate: hosts below mean − 1.9 σ of the last interval are ejected', async (t) => {
  const { d, hosts, advance } = setup({ consecutive_5xx: 1000, interval: 100, max_ejection_percent: 100, success_rate_request_volume: 10 }, 5);
  for (const h of hosts.slice(0, 4)) codes(h, 200, 20);
  codes(hosts[4]!, 200, 10);
  codes(hosts[4]!, 500, 10);
  advance(100);
  d.onInterval();
  t.ok(hosts[4]!.ejected, 'the interval just ended is judged: 50% among four 100% hosts is an outlier');
  t.equal(d.stats.ejections_enforced_success_rate, 1);
  t.equal(Math.round(d.successRateAverage), 90);
  for (const h of hosts.slice(0, 4)) t.notOk(h.ejected);
});

t.test('an active health check pass ends an ejection (successful_active_health_check_uneject_host)', async (t) => {
  const { d, hosts: [a] } = setup({ consecutive_5xx: 1, max_ejection_percent: 100 }, 2);
  codes(a!, 500, 1);
  d.onHealthCheckSuccess(a!);
  t.notOk(a!.ejected);
  t.equal(d.stats.ejections_active, 0);
  const off = setup({ consecutive_5xx: 1, max_ejection_percent: 100, successful_active_health_check_uneject_host: false }, 2);
  codes(off.hosts[0]!, 500, 1);
  off.d.onHealthCheckSuccess(off.hosts[0]!);
  t.ok(off.hosts[0]!.ejected);
});

t.test('removing an ejected host lowers ejections_active', async (t) => {
  const { d, hosts: [a] } = setup({ consecutive_5xx: 1, max_ejection_percent: 100 }, 2);
  codes(a!, 500, 1);
  d.removeHosts([a!]);
  t.equal(d.stats.ejections_active, 0);
});

t.test('grpc-status → HTTP as Envoy maps it for outlier detection', async (t) => {
  t.equal(grpcToHttpStatus(0), 200);
  t.equal(grpcToHttpStatus(14), 503, 'UNAVAILABLE is a gateway failure');
  t.equal(grpcToHttpStatus(4), 504);
  t.equal(grpcToHttpStatus(13), 500);
  t.equal(grpcToHttpStatus(8), 429);
  t.equal(grpcToHttpStatus(99), 500);
});
