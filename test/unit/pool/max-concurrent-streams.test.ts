import t from 'tap';
import type * as http2 from 'node:http2';
import { H2HostPool } from '../../../src/upstream/pool';
import type { PoolError } from '../../../src/upstream/pool';
import { collect, echoHandler, openStream, startH2Server } from './pool-test-helpers';

/** Server with SETTINGS_MAX_CONCURRENT_STREAMS = 2 that answers only once `expected` streams are open. */
async function holdingServer(t: tap.Test, expected: number) {
  const held: http2.ServerHttp2Stream[] = [];
  const perSession = new Map<http2.ServerHttp2Session, { open: number; peak: number }>();
  const server = await startH2Server((stream, _headers, session) => {
    const counts = perSession.get(session) ?? { open: 0, peak: 0 };
    perSession.set(session, counts);
    counts.open++;
    counts.peak = Math.max(counts.peak, counts.open);
    stream.on('close', () => counts.open--);
    held.push(stream);
    if (held.length === expected) {
      for (const s of held) {
        s.respond({ ':status': 200 });
        s.end('done');
      }
    }
  }, { settings: { maxConcurrentStreams: 2 } });
  t.teardown(() => server.close());
  return { server, perSession };
}

t.test('peer limit 2: ten concurrent calls open five sessions instead of queueing', async (t) => {
  const { server, perSession } = await holdingServer(t, 10);
  const pool = new H2HostPool({ host: '127.0.0.1', port: server.port });
  t.teardown(() => pool.close());

  const results = await Promise.all(Array.from({ length: 10 }, async (_, i) => {
    const { stream, session } = await openStream(pool, { ':path': `/${i}` });
    stream.end();
    return { session: session.id, res: await collect(stream) };
  }));
  for (const { res } of results) {
    t.equal(res.status, 200);
    t.equal(res.body.toString(), 'done');
  }
  // Only possible if every call was in flight at once: the server answers when it holds all ten.
  t.equal(server.sessionsCreated(), 5, 'ten streams / limit 2 = five connections');
  t.equal(new Set(results.map((r) => r.session)).size, 5);
  for (const { peak } of perSession.values()) t.ok(peak <= 2, `a session peaked at ${peak} streams (limit 2)`);
  t.equal(pool.activeStreams, 0);
});

t.test('maxSessions bounds connections; the rest wait for capacity', async (t) => {
  const server = await startH2Server((stream) => {
    setTimeout(() => {
      if (stream.destroyed) return;
      stream.respond({ ':status': 200 });
      stream.end('ok');
    }, 5);
  }, { settings: { maxConcurrentStreams: 2 } });
  t.teardown(() => server.close());
  const pool = new H2HostPool({ host: '127.0.0.1', port: server.port }, { maxSessions: 2 });
  t.teardown(() => pool.close());

  const results = await Promise.all(Array.from({ length: 12 }, async () => {
    const { stream } = await openStream(pool);
    stream.end();
    return collect(stream);
  }));
  t.equal(results.filter((r) => r.status === 200).length, 12, 'all succeed');
  t.ok(server.sessionsCreated() <= 2, `at most 2 connections (saw ${server.sessionsCreated()})`);
});

t.test('our maxConcurrentStreams caps streams per session below the peer limit', async (t) => {
  const server = await startH2Server(echoHandler); // answers after our END_STREAM, so streams stay open
  t.teardown(() => server.close());
  const pool = new H2HostPool({ host: '127.0.0.1', port: server.port }, { maxConcurrentStreams: 1 });
  t.teardown(() => pool.close());
  const post = { ':path': '/', ':method': 'POST' };
  const opened = await Promise.all([openStream(pool, post), openStream(pool, post), openStream(pool, post)]);
  t.equal(new Set(opened.map((o) => o.session.id)).size, 3, 'one stream per session');
  await Promise.all(opened.map(({ stream }) => {
    stream.end();
    return collect(stream);
  }));
});

t.test('a full pending queue fails with overflow, synchronously', async (t) => {
  const server = await startH2Server(() => {});
  t.teardown(() => server.close());
  const pool = new H2HostPool({ host: '127.0.0.1', port: server.port }, { maxPendingRequests: 3 });
  t.teardown(() => pool.close());
  for (let i = 0; i < 3; i++) pool.request({ ':path': '/' }, () => {});
  let error: PoolError | null = null;
  pool.request({ ':path': '/' }, (err) => { error = err; });
  t.equal(error!.kind, 'overflow');
  t.equal(pool.pendingRequests, 3);
});
