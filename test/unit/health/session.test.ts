import t from 'tap';
import { HealthFlag } from '../../../src/health/health-flags';
import { setup } from './helpers';

const FAILED = HealthFlag.FAILED_ACTIVE_HC;

t.test('first check: one success makes a new (failed) host healthy', async (t) => {
  const s = setup({ healthyThreshold: 5 }, { hostFlags: FAILED });
  s.start();
  t.equal(s.hc.stats.healthy, 0);
  s.prober.pass();
  t.equal(s.host.text, 'healthy');
  t.same(s.transitions, ['Changed']);
  t.equal(s.hc.stats.healthy, 1);
  t.equal(s.hc.stats.attempt, 1);
  t.equal(s.hc.stats.success, 1);
});

t.test('ACTIVE failure (e.g. NOT_SERVING) ejects a healthy host at once, whatever unhealthy_threshold', async (t) => {
  const s = setup({ unhealthyThreshold: 5 });
  s.start();
  s.prober.failActive();
  t.equal(s.host.text, '/failed_active_hc');
  t.same(s.transitions, ['Changed']);
  t.equal(s.hc.stats.failure, 1);
  t.equal(s.hc.stats.network_failure, 0);
  t.equal(s.hc.stats.healthy, 0);
});

t.test('NETWORK failures count toward unhealthy_threshold; a success resets the count', async (t) => {
  const s = setup({ unhealthyThreshold: 3 });
  s.start();
  s.prober.failNetwork();
  s.next();
  s.prober.failNetwork();
  s.next();
  s.prober.pass();
  s.next();
  s.prober.failNetwork();
  s.next();
  s.prober.failNetwork();
  t.equal(s.host.text, 'healthy', 'reset by the success in between');
  s.next();
  s.prober.failNetwork();
  t.equal(s.host.text, '/failed_active_hc');
  t.equal(s.hc.stats.network_failure, 5);
  t.same(s.transitions, ['ChangePending', 'ChangePending', 'Unchanged', 'ChangePending', 'ChangePending', 'Changed']);
});

t.test('retriable HTTP statuses count toward the threshold', async (t) => {
  const s = setup({ unhealthyThreshold: 2 });
  s.start();
  s.prober.answer({ healthy: false, type: 'ACTIVE', retriable: true, detail: '503' });
  t.equal(s.host.text, 'healthy');
  s.next();
  s.prober.answer({ healthy: false, type: 'ACTIVE', retriable: true, detail: '503' });
  t.equal(s.host.text, '/failed_active_hc');
});

t.test('timeout: NETWORK_TIMEOUT failure, the probe is aborted, /active_hc_timeout once failed', async (t) => {
  const s = setup({ timeoutMs: 1000, unhealthyThreshold: 2, intervalMs: 5000 });
  s.start();
  s.clock.advance(1000);
  t.equal(s.prober.aborts, 1);
  t.equal(s.host.text, 'healthy', 'one timeout, threshold 2');
  t.equal(s.hc.stats.network_failure, 1);
  s.clock.advance(5000); // next check
  t.equal(s.prober.checks, 2);
  s.clock.advance(1000);
  t.equal(s.host.text, '/failed_active_hc/active_hc_timeout');
  s.clock.advance(5000);
  s.prober.failActive();
  t.equal(s.host.text, '/failed_active_hc', 'another kind of failure clears the timeout flag');
  s.clock.advance(5000);
  s.prober.pass();
  s.clock.advance(5000);
  s.prober.pass();
  s.clock.advance(5000);
  s.prober.pass();
  t.equal(s.host.text, 'healthy', 'back after healthy_threshold (3)');
  t.equal(s.hc.stats.attempt, 6);
});

t.test('a late answer to a timed-out check is ignored', async (t) => {
  const s = setup({ timeoutMs: 1000 });
  s.start();
  const late = s.prober.pending!;
  s.clock.advance(1000);
  late({ healthy: true, degraded: false });
  t.equal(s.hc.stats.success, 0);
  t.equal(s.hc.stats.failure, 1);
});

t.test('clearing /pending_active_hc is a Changed transition even when health did not change', async (t) => {
  const s = setup({}, { hostFlags: HealthFlag.PENDING_ACTIVE_HC });
  s.start();
  s.prober.pass();
  t.same(s.transitions, ['Changed']);
  t.equal(s.host.text, 'healthy');
});

t.test('degraded results set /degraded_active_hc', async (t) => {
  const s = setup({});
  s.start();
  s.prober.pass(true);
  t.equal(s.host.text, '/degraded_active_hc');
  t.equal(s.hc.stats.degraded, 1);
  s.next();
  s.prober.pass(false);
  t.equal(s.host.text, 'healthy');
  t.equal(s.hc.stats.degraded, 0);
});

t.test('reuse_connection: false closes the probe connection after every check', async (t) => {
  const s = setup({ reuseConnection: false });
  s.start();
  s.prober.pass();
  t.equal(s.prober.closes, 1);
});

t.test('removing the host stops its timers and closes the prober', async (t) => {
  const s = setup({});
  s.start();
  s.prober.pass();
  s.hc.removeHosts([s.host]);
  t.equal(s.clock.nextIn(), undefined);
  t.equal(s.prober.closes, 1);
  t.equal(s.hc.stats.healthy, 0);
});
