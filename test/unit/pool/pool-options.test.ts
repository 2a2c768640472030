import t from 'tap';
import { DEFAULT_POOL_OPTIONS, H2HostPool, resolvePoolOptions } from '../../../src/upstream/pool';

t.test("defaults are Envoy's", async (t) => {
  const o = resolvePoolOptions();
  t.equal(o.connectTimeoutMs, 5000, 'cluster connect_timeout 5s');
  t.equal(o.idleTimeoutMs, 3_600_000, 'idle_timeout 1h');
  t.equal(o.keepaliveIntervalMs, 0, 'no connection_keepalive');
  t.equal(o.keepaliveJitterPercent, 15, 'interval_jitter 15%');
  t.equal(o.maxConcurrentStreams, 2_147_483_647);
  t.equal(o.initialStreamWindowSize, 268_435_456);
  t.equal(o.initialConnectionWindowSize, 268_435_456);
  t.equal(o.maxSessions, 1024, 'max_connections circuit breaker default');
  t.equal(o.maxPendingRequests, 1024, 'max_pending_requests circuit breaker default');
  t.ok(Object.isFrozen(o));
  t.ok(Object.isFrozen(DEFAULT_POOL_OPTIONS));
});

t.test('undefined fields fall back to defaults; others override', async (t) => {
  const o = resolvePoolOptions({ connectTimeoutMs: 250, idleTimeoutMs: undefined });
  t.equal(o.connectTimeoutMs, 250);
  t.equal(o.idleTimeoutMs, 3_600_000);
});

t.test('invalid values throw RangeError naming the field', async (t) => {
  t.throws(() => resolvePoolOptions({ connectTimeoutMs: 0 }), RangeError);
  t.throws(() => resolvePoolOptions({ maxConcurrentStreams: 0 }), /maxConcurrentStreams/);
  t.throws(() => resolvePoolOptions({ initialStreamWindowSize: 1000 }), /initialStreamWindowSize/);
  t.throws(() => resolvePoolOptions({ initialConnectionWindowSize: 2 ** 31 }), /initialConnectionWindowSize/);
  t.throws(() => resolvePoolOptions({ keepaliveJitterPercent: 101 }), /keepaliveJitterPercent/);
  t.throws(() => resolvePoolOptions({ localAddress: 'not-an-ip' }), /localAddress/);
  t.throws(() => new H2HostPool({ host: '127.0.0.1', port: 0 }), /port/);
  t.throws(() => new H2HostPool({ path: '' }), /unix socket path/);
});

t.test('authority is validated and used as the default :authority', async (t) => {
  t.throws(() => resolvePoolOptions({ authority: 'bad authority' }), /authority/);
  t.throws(() => resolvePoolOptions({ authority: 'a/b' }), /authority/);
  t.equal(resolvePoolOptions({ authority: 'svc.ns.svc.cluster.local:8080' }).authority, 'svc.ns.svc.cluster.local:8080');
});
