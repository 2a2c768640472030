import t from 'tap';
import type * as http2 from 'node:http2';
import { H2HostPool } from '../../../src/upstream/pool';
import type { SessionCloseInfo } from '../../../src/upstream/pool';
import { FRAME, collect, echoHandler, openStream, sleep, startH2Server, startRawH2Server, waitFor } from './pool-test-helpers';

t.test('idle timeout closes an unused session gracefully', async (t) => {
  const server = await startH2Server(echoHandler);
  t.teardown(() => server.close());
  const closes: SessionCloseInfo[] = [];
  const pool = new H2HostPool({ host: '127.0.0.1', port: server.port }, { idleTimeoutMs: 150 }, {
    onSessionClose: (info) => closes.push(info),
  });
  t.teardown(() => pool.close());

  const { stream } = await openStream(pool);
  stream.end();
  await collect(stream);
  const idleAt = Date.now();
  await waitFor(() => pool.sessionCount === 0, 'idle close');
  const elapsed = Date.now() - idleAt;
  t.ok(elapsed >= 120, `not before the idle timeout (${elapsed} ms)`);
  t.equal(closes.length, 1);
  t.equal(closes[0]!.reason, 'idle_timeout');
  t.equal(closes[0]!.activeStreams, 0);
  t.equal(closes[0]!.streamsOpened, 1);
  await waitFor(() => server.sessions.size === 0, 'server saw the connection close');

  // The pool reconnects on demand afterwards.
  const again = await openStream(pool);
  again.stream.end();
  t.equal((await collect(again.stream)).status, 200);
  t.equal(server.sessionsCreated(), 2);
});

t.test('idle timeout does not touch a session with an open stream', async (t) => {
  const held: http2.ServerHttp2Stream[] = [];
  const server = await startH2Server((stream) => { held.push(stream); });
  t.teardown(() => server.close());
  const closes: SessionCloseInfo[] = [];
  const pool = new H2HostPool({ host: '127.0.0.1', port: server.port }, { idleTimeoutMs: 50 }, {
    onSessionClose: (info) => closes.push(info),
  });
  t.teardown(() => pool.close());

  const { stream } = await openStream(pool);
  const done = collect(stream);
  await sleep(300); // six idle periods with a stream open
  t.equal(closes.length, 0, 'still open');
  held[0]!.respond({ ':status': 200 });
  held[0]!.end('late');
  t.equal((await done).body.toString(), 'late');
  await waitFor(() => closes.length === 1, 'idle close after the stream ended');
  t.equal(closes[0]!.reason, 'idle_timeout');
});

t.test('keepalive PINGs flow on an idle session and keep it usable', async (t) => {
  let pings = 0;
  const server = await startH2Server(echoHandler);
  server.server.on('session', (session: http2.ServerHttp2Session) => session.on('ping', () => pings++));
  t.teardown(() => server.close());
  const closes: SessionCloseInfo[] = [];
  const pool = new H2HostPool({ host: '127.0.0.1', port: server.port }, { keepaliveIntervalMs: 30, keepaliveTimeoutMs: 2000 }, {
    onSessionClose: (info) => closes.push(info),
  });
  t.teardown(() => pool.close());

  const first = await openStream(pool);
  first.stream.end();
  await collect(first.stream);
  await waitFor(() => pings >= 3, 'three PINGs');
  t.equal(closes.length, 0, 'acknowledged PINGs keep the session');
  const second = await openStream(pool);
  second.stream.end();
  t.equal((await collect(second.stream)).status, 200);
  t.equal(second.session.id, first.session.id, 'same session');
});

t.test('a PING that is never acknowledged closes the session and fails its streams', async (t) => {
  let pingsSeen = 0;
  const raw = await startRawH2Server((_conn, frame) => {
    if (frame.type === FRAME.PING) pingsSeen++; // never ACKed
  });
  t.teardown(() => raw.close());
  const closes: SessionCloseInfo[] = [];
  const pool = new H2HostPool({ host: '127.0.0.1', port: raw.port }, { keepaliveIntervalMs: 50, keepaliveTimeoutMs: 150 }, {
    onSessionClose: (info) => closes.push(info),
  });
  t.teardown(() => pool.close());

  const { stream } = await openStream(pool);
  const res = await collect(stream); // the raw peer never answers: the stream ends with the session
  t.ok(pingsSeen >= 1, 'a PING was sent');
  await waitFor(() => closes.length === 1, 'session close (after its streams)');
  t.equal(closes[0]!.reason, 'keepalive_timeout');
  t.equal(closes[0]!.activeStreams, 1, 'destroyed with an active stream');
  t.equal(res.rstCode, 2, 'stream failed with INTERNAL_ERROR');
  t.equal(res.error?.code, 'ERR_LEGATE_SESSION_DESTROYED', 'and an error event naming the cause');
  t.match(res.error?.message, /keepalive timeout/);
  t.notOk(res.events.includes('end'), "no misleading 'end'");
  t.equal(pool.sessionCount, 0);
  t.equal(pool.activeStreams, 0);
});
