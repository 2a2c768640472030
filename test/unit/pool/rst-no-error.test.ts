/**
 * RST_STREAM(NO_ERROR) after a complete response is success (RFC 9113 §8.1: a server may reset
 * with NO_ERROR once its response is complete, telling the client to stop sending). grpc-go does
 * this; so does Node's own server, as the first test shows.
 *
 * How the caller observes it with Node 20: 'response', data, 'trailers', 'end', then 'close' with
 * rstCode 0 and no 'error'. Node also emits 'aborted' because our request side was still open.
 * The last test shows the limit: a reset with NO_ERROR *before* END_STREAM is reported the same
 * way, minus the trailers, so for gRPC "trailers arrived" is what marks a complete response.
 */
import t from 'tap';
import * as http2 from 'node:http2';
import { H2HostPool, isUnprocessedStreamFailure } from '../../../src/upstream/pool';
import {
  FLAG, FRAME, HPACK_STATUS_200, collect, encodeFrame, hpackLiteral, openStream, startH2Server, startRawH2Server,
} from './pool-test-helpers';

const { NGHTTP2_NO_ERROR } = http2.constants;
const POST = { ':path': '/svc/Method', ':method': 'POST', 'content-type': 'application/grpc' };
const STREAMING = { endStream: false, waitForTrailers: true };

t.test('Node server: full response with trailers, then RST_STREAM(NO_ERROR) while we are still sending', async (t) => {
  const server = await startH2Server((stream) => {
    stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
    stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0', 'grpc-message': 'done' }));
    stream.write(Buffer.alloc(1000, 1));
    stream.end(Buffer.alloc(1000, 2));
    // Once headers, data and trailers are written, reset with NO_ERROR without reading our body.
    stream.on('finish', () => setImmediate(() => stream.close(NGHTTP2_NO_ERROR)));
  });
  t.teardown(() => server.close());
  const pool = new H2HostPool({ host: '127.0.0.1', port: server.port });
  t.teardown(() => pool.close());

  const { stream } = await openStream(pool, POST, STREAMING);
  stream.write('first message; the request body never ends');
  const res = await collect(stream);
  t.equal(res.status, 200);
  t.equal(res.body.length, 2000, 'all data delivered');
  t.equal(res.trailers?.['grpc-status'], '0', 'trailers delivered');
  t.equal(res.trailers?.['grpc-message'], 'done');
  t.equal(res.error, undefined, 'no error event');
  t.equal(res.rstCode, NGHTTP2_NO_ERROR);
  t.same(res.events.filter((e) => e !== 'aborted'), ['response', 'trailers', 'end', 'close']);
  t.notOk(isUnprocessedStreamFailure(stream, res.error));
  t.equal(pool.activeStreams, 0);
});

t.test('raw frames: HEADERS, DATA, trailers (END_STREAM) and RST_STREAM(NO_ERROR) in one write', async (t) => {
  const raw = await startRawH2Server((conn, frame) => {
    if (frame.type !== FRAME.HEADERS) return;
    const id = frame.streamId;
    conn.send(
      encodeFrame(FRAME.HEADERS, FLAG.END_HEADERS, id, HPACK_STATUS_200),
      encodeFrame(FRAME.DATA, 0, id, Buffer.from('response body')),
      encodeFrame(FRAME.HEADERS, FLAG.END_HEADERS | FLAG.END_STREAM, id, hpackLiteral('grpc-status', '0')),
      encodeFrame(FRAME.RST_STREAM, 0, id, Buffer.from([0, 0, 0, 0])),
    );
  });
  t.teardown(() => raw.close());
  const pool = new H2HostPool({ host: '127.0.0.1', port: raw.port });
  t.teardown(() => pool.close());

  const { stream } = await openStream(pool, POST, STREAMING);
  stream.write('still sending');
  const res = await collect(stream);
  t.equal(res.status, 200);
  t.equal(res.body.toString(), 'response body');
  t.equal(res.trailers?.['grpc-status'], '0');
  t.equal(res.error, undefined);
  t.equal(res.rstCode, NGHTTP2_NO_ERROR);
  t.ok(res.events.indexOf('trailers') < res.events.indexOf('end') && res.events.indexOf('end') < res.events.indexOf('close'));
});

t.test('raw frames: RST_STREAM(NO_ERROR) before END_STREAM looks like a clean end, without trailers', async (t) => {
  const raw = await startRawH2Server((conn, frame) => {
    if (frame.type !== FRAME.HEADERS) return;
    const id = frame.streamId;
    conn.send(
      encodeFrame(FRAME.HEADERS, FLAG.END_HEADERS, id, HPACK_STATUS_200),
      encodeFrame(FRAME.DATA, 0, id, Buffer.from('trunc')), // no END_STREAM
      encodeFrame(FRAME.RST_STREAM, 0, id, Buffer.from([0, 0, 0, 0])),
    );
  });
  t.teardown(() => raw.close());
  const pool = new H2HostPool({ host: '127.0.0.1', port: raw.port });
  t.teardown(() => pool.close());

  const { stream } = await openStream(pool, POST, STREAMING);
  stream.write('still sending');
  const res = await collect(stream);
  t.equal(res.body.toString(), 'trunc');
  t.equal(res.error, undefined, 'Node raises no error');
  t.equal(res.rstCode, NGHTTP2_NO_ERROR, 'and reports rstCode 0');
  t.ok(res.events.includes('end'), "and emits 'end'");
  t.equal(res.trailers, undefined, 'only the missing trailers reveal the truncation');
});
