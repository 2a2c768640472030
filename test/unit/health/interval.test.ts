import t from 'tap';
import { HealthFlag } from '../../../src/health/health-flags';
import { nextInterval, withJitter, initialDelay } from '../../../src/health/interval';
import { BASE, setup } from './helpers';

const FAILED = HealthFlag.FAILED_ACTIVE_HC;

t.test('no traffic yet: no_traffic_interval, or no_traffic_healthy_interval after a steady healthy result', async (t) => {
  const s = setup({ noTrafficIntervalMs: 2000, noTrafficHealthyIntervalMs: 4000, intervalMs: 5000, healthyThreshold: 2 }, { traffic: false, hostFlags: FAILED });
  const next = (): void => s.clock.advance(s.clock.nextIn()!);
  s.start();
  t.equal(s.prober.checks, 1, 'first check at once without initial_jitter');
  s.prober.pass(); // first check: healthy at once
  t.same(s.transitions, ['Changed']);
  t.equal(s.clock.nextIn(), 4000, 'healthy, Changed (not pending) → no_traffic_healthy_interval');
  next();
  s.prober.pass();
  t.equal(s.clock.nextIn(), 4000, 'healthy, Unchanged → no_traffic_healthy_interval');
  next();
  s.prober.failNetwork(); // unhealthy_threshold 2 → ChangePending
  t.equal(s.transitions.at(-1), 'ChangePending');
  t.equal(s.clock.nextIn(), 2000, 'unhealthy result → no_traffic_interval');
  next();
  s.prober.failActive();
  t.equal(s.transitions.at(-1), 'Changed');
  t.equal(s.clock.nextIn(), 2000, 'unhealthy result → no_traffic_interval');
  next();
  s.prober.pass(); // 1 of healthy_threshold 2
  t.equal(s.transitions.at(-1), 'ChangePending');
  t.equal(s.clock.nextIn(), 2000, 'healthy result pending a flip → no_traffic_interval');
  next();
  s.prober.pass();
  t.equal(s.transitions.at(-1), 'Changed');
  t.equal(s.clock.nextIn(), 4000);
});

t.test('no_traffic_healthy_interval defaults to no_traffic_interval (60 s)', async (t) => {
  const s = setup({}, { traffic: false });
  s.start();
  s.prober.pass();
  t.equal(s.clock.nextIn(), 60_000);
});

t.test('with traffic: Envoy\'s example sequence (unhealthy host, healthy_threshold 3)', async (t) => {
  const s = setup({ intervalMs: 1000, unhealthyIntervalMs: 2000, unhealthyEdgeIntervalMs: 3000, healthyEdgeIntervalMs: 4000, healthyThreshold: 3 }, { hostFlags: FAILED });
  s.start();
  s.prober.failActive(); // first check fails: host stays unhealthy, Unchanged
  t.equal(s.clock.nextIn(), 2000, 'fail → unhealthy_interval');
  s.clock.advance(2000);
  s.prober.pass();
  t.equal(s.clock.nextIn(), 4000, 'pass (1/3) → healthy_edge_interval');
  s.clock.advance(4000);
  s.prober.pass();
  t.equal(s.clock.nextIn(), 4000, 'pass (2/3) → healthy_edge_interval');
  t.ok(s.host.healthFlagGet(FAILED), 'still unhealthy');
  s.clock.advance(4000);
  s.prober.pass();
  t.notOk(s.host.healthFlagGet(FAILED), 'healthy after healthy_threshold');
  t.equal(s.clock.nextIn(), 1000, 'now healthy → interval');
  s.clock.advance(1000);
  s.prober.failNetwork();
  t.equal(s.transitions.at(-1), 'ChangePending');
  t.equal(s.clock.nextIn(), 3000, 'network failure below unhealthy_threshold → unhealthy_edge_interval');
  s.clock.advance(3000);
  s.prober.failNetwork();
  t.ok(s.host.healthFlagGet(FAILED), 'unhealthy after unhealthy_threshold network failures');
  t.equal(s.clock.nextIn(), 2000, 'Changed → unhealthy_interval');
});

t.test('defaults: unhealthy_interval = interval, unhealthy_edge = unhealthy_interval, healthy_edge = interval', async (t) => {
  const m = { ...BASE, intervalMs: 700, unhealthyIntervalMs: 700, unhealthyEdgeIntervalMs: 700, healthyEdgeIntervalMs: 700 };
  for (const [state, tr] of [['Healthy', 'Unchanged'], ['Healthy', 'ChangePending'], ['Unhealthy', 'Changed'], ['Unhealthy', 'ChangePending']] as const) {
    t.equal(nextInterval(m, true, state, tr, () => 0), 700, `${state}/${tr}`);
  }
});

t.test('interval_jitter adds random() % jitter; interval_jitter_percent adds random() % (percent * base / 100)', async (t) => {
  t.equal(withJitter(5000, 1000, 0, () => 123_456), 5000 + (123_456 % 1000));
  t.equal(withJitter(5000, 0, 50, () => 123_456), 5000 + (123_456 % 2500));
  let n = 0;
  const seq = [7_777, 999_999];
  t.equal(withJitter(5000, 1000, 50, () => seq[n++]!), 5000 + (7_777 % 2500) + (999_999 % 1000), 'both: percent first, then absolute');
  t.equal(withJitter(0, 0, 50, () => 5), 1, 'never below 1 ms');
  // Bounds over many draws.
  for (let i = 0; i < 1000; i++) {
    const v = withJitter(5000, 1000, 50, () => Math.floor(Math.random() * 2 ** 32));
    if (v < 5000 || v >= 5000 + 2500 + 1000) t.fail(`out of bounds: ${v}`);
  }
  const s = setup({ intervalMs: 5000, intervalJitterMs: 1000, intervalJitterPercent: 50 }, { random: () => 3001 });
  s.start();
  s.prober.pass();
  t.equal(s.clock.nextIn(), 5000 + (3001 % 2500) + (3001 % 1000), 'applied to the interval after a check');
});

t.test('initial_jitter: first check after random() % initial_jitter; at once when 0', async (t) => {
  t.equal(initialDelay({ ...BASE, initialJitterMs: 0 }, () => 99), 0);
  t.equal(initialDelay({ ...BASE, initialJitterMs: 1000 }, () => 1234), 234);
  t.equal(initialDelay({ ...BASE, initialJitterMs: 1000 }, () => 2000), 1, 'at least 1 ms once jitter is on');
  const s = setup({ initialJitterMs: 1000 }, { random: () => 1500 });
  s.start();
  t.equal(s.prober.checks, 0, 'not yet');
  s.clock.advance(499);
  t.equal(s.prober.checks, 0);
  s.clock.advance(1);
  t.equal(s.prober.checks, 1, 'after 500 ms');
});

t.test('the interval counts from completion, and traffic switches the rules over', async (t) => {
  const s = setup({ intervalMs: 1000, noTrafficIntervalMs: 9000, noTrafficHealthyIntervalMs: 9000 }, { traffic: false });
  s.start();
  s.clock.advance(300); // slow answer
  s.prober.pass();
  t.equal(s.clock.nextIn(), 9000);
  s.setTraffic(true);
  s.clock.advance(9000);
  s.prober.pass();
  t.equal(s.clock.nextIn(), 1000);
});
