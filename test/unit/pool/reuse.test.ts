import t from 'tap';
import { H2HostPool, SETTLED_HANDLE } from '../../../src/upstream/pool';
import type { PoolError } from '../../../src/upstream/pool';
import { collect, drained, echoHandler, openStream, startH2Server, waitFor } from './pool-test-helpers';

t.test('sequential streams reuse one session', async (t) => {
  const server = await startH2Server(echoHandler);
  t.teardown(() => server.close());
  const pool = new H2HostPool({ host: '127.0.0.1', port: server.port });
  t.teardown(() => pool.close());

  const sessionIds = new Set<number>();
  for (let i = 0; i < 20; i++) {
    const { stream, session, reused } = await openStream(pool, { ':path': `/seq/${i}`, ':method': 'POST' });
    t.equal(reused, i > 0, `stream ${i}: reused flag`);
    sessionIds.add(session.id);
    stream.end(`hello ${i}`);
    const res = await collect(stream);
    t.equal(res.status, 200);
    t.equal(res.body.toString(), `hello ${i}`);
    t.equal(res.rstCode, 0);
  }
  t.equal(sessionIds.size, 1, 'one pooled session');
  t.equal(server.sessionsCreated(), 1, 'server accepted one connection');
  t.equal(pool.sessionCount, 1);
  t.equal(pool.activeStreams, 0, 'no stream counted after all closed');
});

t.test('concurrent streams share one session; local address is reported', async (t) => {
  const server = await startH2Server(echoHandler);
  t.teardown(() => server.close());
  const pool = new H2HostPool({ host: '127.0.0.1', port: server.port });
  t.teardown(() => pool.close());

  const opened = await Promise.all(Array.from({ length: 50 }, (_, i) => openStream(pool, { ':path': `/c/${i}`, ':method': 'POST' })));
  t.equal(pool.activeStreams, 50, 'all 50 counted as active');
  const results = await Promise.all(opened.map(({ stream }, i) => {
    stream.end(String(i));
    return collect(stream);
  }));
  results.forEach((res, i) => t.equal(res.body.toString(), String(i)));
  t.equal(server.sessionsCreated(), 1, 'one connection carried 50 concurrent streams');
  t.equal(new Set(opened.map((o) => o.session.id)).size, 1);
  const info = opened[0]!.session;
  t.equal(info.localAddress, '127.0.0.1');
  t.ok(info.localPort > 0);
  t.equal(info.streamsOpened, 50);
  t.equal(pool.activeStreams, 0);
});

t.test('a ready session runs the callback synchronously, with no handle allocated', async (t) => {
  const server = await startH2Server(echoHandler);
  t.teardown(() => server.close());
  const pool = new H2HostPool({ host: '127.0.0.1', port: server.port });
  t.teardown(() => pool.close());
  const warm = await openStream(pool);
  warm.stream.end();
  await collect(warm.stream);

  let ranSync = false;
  const handle = pool.request({ ':path': '/sync' }, (err, stream) => {
    ranSync = true;
    t.equal(err, null);
    stream!.end();
    stream!.resume();
  });
  t.ok(ranSync, 'callback ran before request() returned');
  t.equal(handle, SETTLED_HANDLE, 'shared settled handle');
  t.equal(handle.cancel(), false);
});

t.test('cancel() withdraws a queued request', async (t) => {
  const server = await startH2Server(echoHandler);
  t.teardown(() => server.close());
  const pool = new H2HostPool({ host: '127.0.0.1', port: server.port });
  t.teardown(() => pool.close());

  let cancelledRan = false;
  const handle = pool.request({ ':path': '/cancelled' }, () => { cancelledRan = true; });
  const kept = openStream(pool, { ':path': '/kept' });
  t.equal(pool.pendingRequests, 2, 'both queued while the session connects');
  t.equal(handle.cancel(), true, 'withdrawn');
  t.equal(handle.cancel(), false, 'second cancel is a no-op');
  t.equal(pool.pendingRequests, 1);
  const { stream } = await kept;
  stream.end();
  t.equal((await collect(stream)).status, 200);
  t.notOk(cancelledRan, 'cancelled callback never ran');
  t.equal(pool.pendingRequests, 0);
});

t.test('invalid headers fail the request, not the pool', async (t) => {
  const server = await startH2Server(echoHandler);
  t.teardown(() => server.close());
  const pool = new H2HostPool({ host: '127.0.0.1', port: server.port });
  t.teardown(() => pool.close());
  const err = await openStream(pool, { ':path': '/', connection: 'keep-alive' }).then(() => null, (e: PoolError) => e);
  t.equal(err?.kind, 'invalid_request');
  t.equal((err?.cause as { code?: string }).code, 'ERR_HTTP2_INVALID_CONNECTION_HEADERS');
  const { stream } = await openStream(pool);
  stream.end();
  t.equal((await collect(stream)).status, 200, 'pool still serves');
  t.equal(pool.activeStreams, 0);
  await drained(pool);
  await waitFor(() => server.sessions.size === 0, 'server side closed');
});

t.test('localAddress binds the source address (upstream_bind_config); authority is the default :authority', async (t) => {
  let peer = '';
  let authority = '';
  const server = await startH2Server((stream, headers, session) => {
    peer = session.socket.remoteAddress ?? '';
    authority = String(headers[':authority']);
    stream.respond({ ':status': 200 });
    stream.end();
  });
  t.teardown(() => server.close());
  const pool = new H2HostPool({ host: '127.0.0.1', port: server.port }, { localAddress: '127.0.0.2', authority: 'echo.default.svc:8080' });
  t.teardown(() => pool.close());
  const { stream, session } = await openStream(pool);
  await collect(stream);
  t.equal(session.localAddress, '127.0.0.2');
  t.equal(peer, '127.0.0.2', 'server saw the bound source address');
  t.equal(authority, 'echo.default.svc:8080');
});
