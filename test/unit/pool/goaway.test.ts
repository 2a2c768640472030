/**
 * What Node 20 does to client streams when the peer sends GOAWAY, and how the pool and
 * isUnprocessedStreamFailure() let the router replay exactly the streams the peer never processed.
 */
import t from 'tap';
import * as http2 from 'node:http2';
import { H2HostPool, isUnprocessedStreamFailure } from '../../../src/upstream/pool';
import type { SessionCloseInfo } from '../../../src/upstream/pool';
import { FLAG, FRAME, HPACK_STATUS_200, collect, encodeFrame, openStream, startH2Server, startRawH2Server, waitFor } from './pool-test-helpers';
import type { Collected, Opened } from './pool-test-helpers';

const { NGHTTP2_NO_ERROR, NGHTTP2_INTERNAL_ERROR, NGHTTP2_REFUSED_STREAM } = http2.constants;

/**
 * The first connection collects three streams, then sends GOAWAY(code, last_stream_id = first
 * stream) and, for NO_ERROR, answers the first stream. Later connections answer normally.
 */
async function goawayServer(t: tap.Test, code: number) {
  let first: http2.ServerHttp2Session | undefined;
  const held: http2.ServerHttp2Stream[] = [];
  const server = await startH2Server((stream, _headers, session) => {
    first ??= session;
    if (session !== first) {
      stream.respond({ ':status': 200 });
      stream.end('processed');
      return;
    }
    held.push(stream);
    if (held.length === 3) {
      const lowest = held[0]!;
      session.goaway(code, lowest.id!);
      if (code === NGHTTP2_NO_ERROR) {
        lowest.respond({ ':status': 200 });
        lowest.end('processed');
      }
    }
  });
  t.teardown(() => server.close());
  return server;
}

async function threeStreams(pool: H2HostPool): Promise<{ opened: Opened[]; results: Collected[] }> {
  const opened = await Promise.all([0, 1, 2].map((i) => openStream(pool, { ':path': `/${i}` })));
  const results = await Promise.all(opened.map((o) => collect(o.stream)));
  return { opened, results };
}

t.test('GOAWAY(NO_ERROR): streams above last_stream_id are REFUSED_STREAM and replay on a new session', async (t) => {
  const server = await goawayServer(t, NGHTTP2_NO_ERROR);
  const goaways: [number, number, number][] = [];
  const closes: SessionCloseInfo[] = [];
  const pool = new H2HostPool({ host: '127.0.0.1', port: server.port }, {}, {
    onGoaway: (id, code, last) => goaways.push([id, code, last]),
    onSessionClose: (info) => closes.push(info),
  });
  t.teardown(() => pool.close());

  const { opened, results } = await threeStreams(pool);
  t.same(opened.map((o) => o.stream.id), [1, 3, 5], 'three streams on one session');
  const [processed, refused1, refused2] = results as [Collected, Collected, Collected];

  // Stream 1 (<= last_stream_id) completes normally.
  t.equal(processed.status, 200);
  t.equal(processed.body.toString(), 'processed');
  t.equal(processed.rstCode, NGHTTP2_NO_ERROR);
  t.notOk(isUnprocessedStreamFailure(opened[0]!.stream, processed.error));

  // Streams 3 and 5 (> last_stream_id): nghttp2 closes them with REFUSED_STREAM; Node reports
  // 'error' ERR_HTTP2_STREAM_ERROR and rstCode 7, with no response.
  for (const [i, res] of [[1, refused1], [2, refused2]] as const) {
    t.equal(res.status, undefined, 'no response headers');
    t.equal(res.error?.code, 'ERR_HTTP2_STREAM_ERROR');
    t.equal(res.error?.message, 'Stream closed with error code NGHTTP2_REFUSED_STREAM');
    t.equal(res.rstCode, NGHTTP2_REFUSED_STREAM);
    t.same(res.events, ['error', 'close']);
    t.ok(isUnprocessedStreamFailure(opened[i]!.stream, res.error), 'replayable');
  }

  t.same(goaways, [[opened[0]!.session.id, NGHTTP2_NO_ERROR, 1]], 'one onGoaway even though Node may emit several');
  t.equal(opened[0]!.session.goawayLastStreamId, 1);

  // Replay: the draining session is never chosen again.
  const replays = await Promise.all([1, 2].map(async () => {
    const { stream, session } = await openStream(pool, { ':path': '/replay' });
    return { session: session.id, res: await collect(stream) };
  }));
  for (const { session, res } of replays) {
    t.not(session, opened[0]!.session.id, 'replayed on a new session');
    t.equal(res.status, 200);
    t.equal(res.body.toString(), 'processed');
  }
  t.equal(server.sessionsCreated(), 2);
  // This test server never closes its side (it still holds streams 3 and 5), so the session is
  // closed by the pool's bounded wait for the peer's FIN.
  await waitFor(() => closes.length === 1, 'first session closed');
  t.equal(closes[0]!.reason, 'goaway');
  t.equal(pool.activeStreams, 0);
});

t.test('GOAWAY(INTERNAL_ERROR): Node destroys the session; only the stream id tells what to replay', async (t) => {
  const server = await goawayServer(t, NGHTTP2_INTERNAL_ERROR);
  const pool = new H2HostPool({ host: '127.0.0.1', port: server.port });
  t.teardown(() => pool.close());

  const { opened, results } = await threeStreams(pool);
  for (const res of results) {
    // Every stream, below or above last_stream_id, looks the same to the caller.
    t.equal(res.status, undefined);
    t.equal(res.error?.code, 'ERR_HTTP2_SESSION_ERROR');
    t.equal(res.error?.message, 'Session closed with error code 2');
    t.equal(res.rstCode, NGHTTP2_INTERNAL_ERROR);
  }
  t.same(results.map((res, i) => isUnprocessedStreamFailure(opened[i]!.stream, res.error)), [false, true, true],
    'stream 1 may have been processed; 3 and 5 were not');

  const { stream } = await openStream(pool, { ':path': '/replay' });
  const replay = await collect(stream);
  t.equal(replay.body.toString(), 'processed', 'replay succeeds on a new session');
});

t.test('a stream sent in the same tick the GOAWAY is read is refused locally (REFUSED_STREAM)', async (t) => {
  // Plain Node client, no pool: open a stream from the 'goaway' listener, i.e. after nghttp2 has
  // received the GOAWAY but before Node has closed the session. Its HEADERS are never sent.
  const server = await startH2Server((stream, _headers, session) => {
    session.goaway(NGHTTP2_NO_ERROR, stream.id!);
    stream.respond({ ':status': 200 });
    stream.end();
  });
  t.teardown(() => server.close());
  const client = http2.connect(`http://127.0.0.1:${server.port}`);
  client.on('error', () => {});
  t.teardown(() => client.destroy());

  const late = new Promise<{ stream: http2.ClientHttp2Stream; res: Collected; thrown: unknown }>((resolve) => {
    client.once('goaway', () => {
      const stream = client.request({ ':path': '/late' });
      void collect(stream).then((res) => {
        let thrown: unknown;
        try {
          client.request({ ':path': '/later' });
        } catch (err) {
          thrown = err;
        }
        resolve({ stream, res, thrown });
      });
    });
  });
  const first = client.request({ ':path': '/first' });
  t.equal((await collect(first)).status, 200);
  const { stream, res, thrown } = await late;
  t.equal(res.rstCode, NGHTTP2_REFUSED_STREAM);
  t.equal(res.error?.code, 'ERR_HTTP2_STREAM_ERROR');
  t.equal(server.sessionsCreated(), 1);
  t.ok(isUnprocessedStreamFailure(stream, res.error));
  t.equal((thrown as { code?: string }).code, 'ERR_HTTP2_GOAWAY_SESSION', 'request() after GOAWAY throws');
  t.ok(isUnprocessedStreamFailure(undefined, thrown));
});

t.test('RST_STREAM(REFUSED_STREAM) from the peer: replayable only before response headers', async (t) => {
  // Raw frames: Node's own server would send END_STREAM before the RST_STREAM.
  let requests = 0;
  const raw = await startRawH2Server((conn, frame) => {
    if (frame.type !== FRAME.HEADERS) return;
    const refuse = encodeFrame(FRAME.RST_STREAM, 0, frame.streamId, Buffer.from([0, 0, 0, NGHTTP2_REFUSED_STREAM]));
    if (requests++ === 0) conn.send(refuse);
    else conn.send(encodeFrame(FRAME.HEADERS, FLAG.END_HEADERS, frame.streamId, HPACK_STATUS_200), refuse);
  });
  t.teardown(() => raw.close());
  const pool = new H2HostPool({ host: '127.0.0.1', port: raw.port });
  t.teardown(() => pool.close());

  const before = await openStream(pool, { ':path': '/before-headers' });
  const beforeRes = await collect(before.stream);
  t.equal(beforeRes.status, undefined);
  t.equal(beforeRes.rstCode, NGHTTP2_REFUSED_STREAM);
  t.ok(isUnprocessedStreamFailure(before.stream, beforeRes.error));

  const after = await openStream(pool, { ':path': '/after-headers' });
  const afterRes = await collect(after.stream);
  t.equal(afterRes.status, 200);
  t.equal(afterRes.rstCode, NGHTTP2_REFUSED_STREAM);
  t.notOk(isUnprocessedStreamFailure(after.stream, afterRes.error), 'response already started');
});

t.test('after GOAWAY new requests go to a new session while the old one finishes its streams', async (t) => {
  let firstSession: http2.ServerHttp2Session | undefined;
  let heldFirst: http2.ServerHttp2Stream | undefined;
  const server = await startH2Server((stream, _headers, session) => {
    if (firstSession === undefined) {
      firstSession = session;
      heldFirst = stream;
      session.goaway(NGHTTP2_NO_ERROR, stream.id!); // this stream will still be answered
      return;
    }
    stream.respond({ ':status': 200 });
    stream.end('second');
    heldFirst!.respond({ ':status': 200 }); // answer the old stream only now
    heldFirst!.end('first');
  });
  t.teardown(() => server.close());
  let goawaySeen = false;
  const pool = new H2HostPool({ host: '127.0.0.1', port: server.port }, {}, { onGoaway: () => { goawaySeen = true; } });
  t.teardown(() => pool.close());

  const a = await openStream(pool, { ':path': '/a' });
  const aDone = collect(a.stream);
  await waitFor(() => goawaySeen, 'GOAWAY');
  const b = await openStream(pool, { ':path': '/b' });
  t.not(b.session.id, a.session.id, 'new session');
  t.equal(a.session.state, 'draining');
  t.equal(pool.sessionCount, 2, 'old session still open for its stream');
  t.equal((await collect(b.stream)).body.toString(), 'second');
  t.equal((await aDone).body.toString(), 'first', 'stream <= last_stream_id finished on the draining session');
  await waitFor(() => pool.sessionCount === 1, 'draining session closed');
});

t.test('a session found destroyed at request() time is skipped transparently', async (t) => {
  const server = await startH2Server((stream) => {
    stream.respond({ ':status': 200 });
    stream.end('ok');
  });
  t.teardown(() => server.close());
  const pool = new H2HostPool({ host: '127.0.0.1', port: server.port });
  t.teardown(() => pool.close());

  const first = await openStream(pool, { ':path': '/', ':method': 'POST' });
  // Destroy the Node session behind the pool's back; its 'close' event has not run yet, so the
  // pool still believes it is ready. request() must notice and open another session.
  first.stream.session!.destroy();
  const second = await openStream(pool, { ':path': '/again' });
  t.not(second.session.id, first.session.id);
  t.equal((await collect(second.stream)).body.toString(), 'ok');
});
