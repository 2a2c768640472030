import t from 'tap';
import type * as http2 from 'node:http2';
import { H2HostPool } from '../../../src/upstream/pool';
import type { PoolError, SessionCloseInfo } from '../../../src/upstream/pool';
import { collect, openStream, startH2Server, waitFor } from './pool-test-helpers';

t.test('drain(): no new streams, in-flight streams finish, then sessions close and the callback runs', async (t) => {
  const held: http2.ServerHttp2Stream[] = [];
  let goawaysAtServer = 0;
  const server = await startH2Server((stream) => { held.push(stream); });
  server.server.on('session', (session: http2.ServerHttp2Session) => session.on('goaway', () => goawaysAtServer++));
  t.teardown(() => server.close());
  const closes: SessionCloseInfo[] = [];
  const pool = new H2HostPool({ host: '127.0.0.1', port: server.port }, {}, { onSessionClose: (info) => closes.push(info) });
  t.teardown(() => pool.close());

  const a = await openStream(pool, { ':path': '/a' });
  const b = await openStream(pool, { ':path': '/b' });
  const done = Promise.all([collect(a.stream), collect(b.stream)]);
  await waitFor(() => held.length === 2, 'server holds both streams');

  let drainedCalled = false;
  pool.drain(() => { drainedCalled = true; });
  t.equal(pool.state, 'draining');

  let rejected: PoolError | null = null;
  pool.request({ ':path': '/c' }, (err) => { rejected = err; });
  t.equal(rejected!.kind, 'closed', 'new requests fail at once');
  t.equal(rejected!.message, 'pool draining');

  await waitFor(() => goawaysAtServer > 0, 'server received our GOAWAY');
  t.equal(pool.sessionCount, 1, 'session stays while streams run');
  for (const s of held) {
    s.respond({ ':status': 200 });
    s.end('finished');
  }
  const results = await done;
  for (const res of results) {
    t.equal(res.status, 200);
    t.equal(res.body.toString(), 'finished');
    t.equal(res.rstCode, 0);
  }
  await waitFor(() => drainedCalled, 'drain callback');
  t.equal(pool.sessionCount, 0);
  t.equal(pool.state, 'closed');
  t.equal(closes[0]!.reason, 'drain');
  t.equal(closes[0]!.activeStreams, 0);
});

t.test('drain() fails queued requests with kind closed and cancels connecting sessions', async (t) => {
  const server = await startH2Server(() => {});
  t.teardown(() => server.close());
  const pool = new H2HostPool({ host: '127.0.0.1', port: server.port });
  t.teardown(() => pool.close());
  const queued = openStream(pool).then(() => null, (err: PoolError) => err);
  t.equal(pool.sessionCount, 1, 'connecting');
  let drainedCalled = false;
  pool.drain(() => { drainedCalled = true; });
  t.equal((await queued)?.kind, 'closed');
  await waitFor(() => drainedCalled, 'drain callback');
  t.equal(pool.sessionCount, 0);
});

t.test('drain() on an empty pool calls back asynchronously', async (t) => {
  const pool = new H2HostPool({ host: '127.0.0.1', port: 9 });
  let called = false;
  pool.drain(() => { called = true; });
  t.notOk(called, 'not synchronously');
  await waitFor(() => called, 'drain callback');
  t.equal(pool.state, 'closed');
});

t.test('close(): open streams fail with an error and a non-zero rstCode; queued requests fail', async (t) => {
  const server = await startH2Server(() => {});
  t.teardown(() => server.close());
  const closes: SessionCloseInfo[] = [];
  const pool = new H2HostPool({ host: '127.0.0.1', port: server.port }, { maxConcurrentStreams: 1, maxSessions: 1 }, {
    onSessionClose: (info) => closes.push(info),
  });
  const open = await openStream(pool, { ':path': '/open' });
  const queued = openStream(pool, { ':path': '/queued' }).then(() => null, (err: PoolError) => err);
  t.equal(pool.pendingRequests, 1, 'second request waits for capacity');
  const result = collect(open.stream);
  pool.close();
  t.equal((await queued)?.kind, 'closed');
  const res = await result;
  t.equal(res.error?.code, 'ERR_LEGATE_SESSION_DESTROYED');
  t.equal(res.rstCode, 2);
  t.notOk(res.events.includes('end'));
  await waitFor(() => pool.sessionCount === 0, 'sessions gone');
  t.equal(closes[0]!.reason, 'pool_closed');
  t.equal(closes[0]!.activeStreams, 1);
  t.equal(pool.activeStreams, 0);
});

t.test('maxRequestsPerSession retires a session after N streams', async (t) => {
  const server = await startH2Server((stream) => {
    stream.respond({ ':status': 200 });
    stream.end();
  });
  t.teardown(() => server.close());
  const closes: SessionCloseInfo[] = [];
  const pool = new H2HostPool({ host: '127.0.0.1', port: server.port }, { maxRequestsPerSession: 2 }, {
    onSessionClose: (info) => closes.push(info),
  });
  t.teardown(() => pool.close());
  const ids: number[] = [];
  for (let i = 0; i < 4; i++) {
    const { stream, session } = await openStream(pool);
    ids.push(session.id);
    await collect(stream);
  }
  t.equal(ids[0], ids[1]);
  t.equal(ids[2], ids[3]);
  t.not(ids[1], ids[2], 'a new session after two streams');
  await waitFor(() => closes.length >= 1, 'first session closed');
  t.equal(closes[0]!.reason, 'max_requests');
});
