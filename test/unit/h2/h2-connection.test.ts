/**
 * The frame-level core against nghttp2 (node:http2) on loopback, both ways round: headers
 * (Huffman, dynamic table, repeated fields), bodies larger than every window, trailers,
 * resets and GOAWAY.
 */
import http2, { type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http2';
import net, { type AddressInfo } from 'node:net';
import t from 'tap';
import { H2Connection, type H2ConnectionOptions } from '../../../src/h2/h2-connection';
import type { H2Stream, StreamHandler } from '../../../src/h2/h2-stream';

const OPTIONS: H2ConnectionOptions = { streamWindow: 65535, connectionWindow: 1 << 20, maxConcurrentStreams: 100, maxHeaderListSize: 64 * 1024 };

/** A server on the frame core that echoes the request body and headers back, then trailers. */
function startEchoServer(onSocket?: (socket: net.Socket) => void): Promise<{ port: number; close(): void }> {
  const owed = new Map<H2Stream, number>();
  const echoed = (stream: H2Stream): void => {
    (stream.context as H2Connection).consumed(stream, owed.get(stream) ?? 0);
    owed.set(stream, 0);
  };
  const echo: StreamHandler = {
    onHeaders() {},
    onData(stream, chunk, endStream) {
      const conn = stream.context as H2Connection;
      // Window goes back to the client only once the echo has left (or been sent at once).
      owed.set(stream, (owed.get(stream) ?? 0) + chunk.length);
      if (conn.sendData(stream, Buffer.from(chunk), false)) echoed(stream);
      if (endStream) conn.sendTrailers(stream, { 'grpc-status': '0', 'x-got-bytes': String(stream.receivedBytes) });
    },
    onReset() {},
    onWritable(stream) {
      echoed(stream);
    },
  };
  const server = net.createServer((socket) => {
    onSocket?.(socket);
    const conn: H2Connection = new H2Connection(socket, 'server', OPTIONS, {
      onStream(stream: H2Stream, headers: IncomingHttpHeaders, endStream: boolean) {
        stream.handler = echo;
        stream.context = conn;
        const out: OutgoingHttpHeaders = { ':status': 200 };
        for (const [k, v] of Object.entries(headers)) if (!k.startsWith(':')) out[`echo-${k}`] = v;
        out['echo-path'] = headers[':path'];
        conn.respond(stream, out, false);
        if (endStream) conn.sendTrailers(stream, { 'grpc-status': '0', 'x-got-bytes': '0' });
      },
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ port: (server.address() as AddressInfo).port, close: () => server.close() })));
}

t.test('node:http2 client → frame-core server: headers, 1 MiB bodies, trailers', async (t) => {
  const server = await startEchoServer();
  const client = http2.connect(`http://127.0.0.1:${server.port}`);
  t.teardown(() => { client.close(); server.close(); });
  const body = Buffer.alloc(1 << 20, 7);
  for (let i = 0; i < 30; i++) {
    const req = client.request({ ':method': 'POST', ':path': `/p/${i}`, cookie: ['a=1', 'b=2'], 'x-long': 'z'.repeat(i * 100), 'x-bin': 'caf\u00e9' });
    const chunks: Buffer[] = [];
    const done = new Promise<{ headers: IncomingHttpHeaders; trailers: IncomingHttpHeaders }>((resolve, reject) => {
      let headers: IncomingHttpHeaders = {};
      req.on('response', (h) => (headers = h));
      req.on('trailers', (tr) => resolve({ headers, trailers: tr }));
      req.on('error', reject);
    });
    req.on('data', (c: Buffer) => chunks.push(c));
    const closed = new Promise((r) => req.on('close', r));
    req.end(i % 3 === 0 ? body : Buffer.from(`small ${i}`));
    const { headers, trailers } = await done;
    await closed;
    if (headers['echo-path'] !== `/p/${i}` || headers['echo-cookie'] !== 'a=1; b=2' || headers['echo-x-long'] !== 'z'.repeat(i * 100) || headers['echo-x-bin'] !== 'caf\u00e9') {
      t.fail(`request ${i}: headers ${JSON.stringify(headers).slice(0, 200)}`);
      return;
    }
    const got = Buffer.concat(chunks);
    const sent = i % 3 === 0 ? body : Buffer.from(`small ${i}`);
    if (!got.equals(sent) || trailers['x-got-bytes'] !== String(sent.length) || trailers['grpc-status'] !== '0') {
      t.fail(`request ${i}: body ${got.length} of ${sent.length}, trailers ${JSON.stringify(trailers)}`);
      return;
    }
  }
  t.pass('30 exchanges echoed exactly (10 of 1 MiB through 64 KiB stream windows)');
});

t.test('frames split anywhere across reads (inside frame headers, payloads, the preface) are read exactly', async (t) => {
  let serverReads = 0;
  const echo = await startEchoServer((socket) => socket.on('data', () => serverReads++));
  // A relay that re-cuts the client's byte stream into pieces of 1–40 bytes, one per event-loop
  // turn, so the frame-core server reads frames in fragments at every possible boundary.
  let seed = 11;
  const rand = (n: number): number => (seed = (seed * 1103515245 + 12345) % 2147483648) % n;
  const relay = net.createServer((client) => {
    const upstream = net.connect(echo.port, '127.0.0.1');
    upstream.setNoDelay(true);
    upstream.pipe(client);
    const queue: Buffer[] = [];
    let sending = false;
    const sendNext = (): void => {
      const head = queue[0];
      if (head === undefined) {
        sending = false;
        return;
      }
      const n = 1 + rand(40);
      upstream.write(head.subarray(0, n));
      if (n >= head.length) queue.shift();
      else queue[0] = head.subarray(n);
      setImmediate(sendNext);
    };
    client.on('data', (c: Buffer) => {
      queue.push(c);
      if (!sending) {
        sending = true;
        sendNext();
      }
    });
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((r) => relay.listen(0, '127.0.0.1', r));
  const client = http2.connect(`http://127.0.0.1:${(relay.address() as AddressInfo).port}`);
  t.teardown(() => { client.close(); relay.close(); echo.close(); });
  const calls = Array.from({ length: 20 }, (_, i) => new Promise<string>((resolve, reject) => {
    const req = client.request({ ':method': 'POST', ':path': `/split/${i}`, 'x-pad': 'p'.repeat(i * 37) });
    const chunks: Buffer[] = [];
    let path = '';
    req.on('response', (h) => (path = String(h['echo-path'])));
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('error', reject);
    req.on('close', () => resolve(`${path} ${Buffer.concat(chunks).toString()}`));
    req.end(Buffer.from(`body ${i} `.repeat(i * 9 + 1)));
  }));
  const got = await Promise.all(calls);
  const bad = got.filter((g, i) => g !== `/split/${i} ${`body ${i} `.repeat(i * 9 + 1)}`);
  t.equal(bad.length, 0, `20 requests echoed exactly (${bad.length} wrong: ${bad.slice(0, 2).join(' | ').slice(0, 200)})`);
  t.ok(serverReads > 200, `the server read the requests in fragments (${serverReads} reads)`);
});

t.test('frame-core client → node:http2 server: 300 requests, dynamic table churn, resets', async (t) => {
  const server = http2.createServer();
  server.on('stream', (stream, headers) => {
    stream.on('error', () => undefined); // the reset below is on purpose
    if (headers[':path'] === '/reset') {
      stream.close(http2.constants.NGHTTP2_ENHANCE_YOUR_CALM);
      return;
    }
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => {
      stream.respond({ ':status': 200, 'x-path': headers[':path'], 'x-rand': headers['x-rand'] }, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'x-len': String(Buffer.concat(chunks).length) }));
      stream.end(Buffer.concat(chunks));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const socket = net.connect((server.address() as AddressInfo).port, '127.0.0.1');
  const conn = new H2Connection(socket, 'client', OPTIONS, {});
  t.teardown(() => { conn.destroy(undefined); server.close(); });

  const call = (path: string, extra: OutgoingHttpHeaders, body: Buffer): Promise<{ headers?: IncomingHttpHeaders; trailers?: IncomingHttpHeaders; body: Buffer; reset?: number }> =>
    new Promise((resolve) => {
      const chunks: Buffer[] = [];
      let headers: IncomingHttpHeaders | undefined;
      const handler: StreamHandler = {
        onHeaders(s, h, end) {
          if (!headers) headers = h;
          else resolve({ headers, trailers: h, body: Buffer.concat(chunks) });
          if (end && headers === h) resolve({ headers, body: Buffer.concat(chunks) });
        },
        onData(s, chunk) {
          chunks.push(Buffer.from(chunk));
          conn.consumed(s, chunk.length);
        },
        onReset(s, code) { resolve({ body: Buffer.alloc(0), reset: code }); },
        onWritable() {},
      };
      const s = conn.request({ ':method': 'POST', ':path': path, ':scheme': 'http', ':authority': 'x', ...extra }, handler, false);
      conn.sendData(s, body, true);
    });

  let seed = 3;
  const rand = (n: number): number => (seed = (seed * 1103515245 + 12345) % 2147483648) % n;
  const all = [];
  for (let i = 0; i < 300; i++) {
    const r = 'r'.repeat(rand(600)) + i;
    const body = Buffer.alloc(rand(3) === 0 ? 200_000 : 10, i & 0xff);
    all.push(call(`/echo/${i % 7}`, { 'x-rand': r, [`x-k${rand(40)}`]: 'v' }, body).then((res) => ({ res, r, body, i })));
  }
  const results = await Promise.all(all);
  const bad = results.filter(({ res, r, body, i }) => res.headers?.['x-rand'] !== r || res.headers?.['x-path'] !== `/echo/${i % 7}` || !res.body.equals(body) || res.trailers?.['x-len'] !== String(body.length));
  t.equal(bad.length, 0, `300 concurrent requests answered exactly (${bad.length} wrong)`);
  const reset = await call('/reset', {}, Buffer.from('x'));
  t.equal(reset.reset, http2.constants.NGHTTP2_ENHANCE_YOUR_CALM, 'a peer reset reaches the stream with its code');
  const after = await call('/echo/1', { 'x-rand': 'after' }, Buffer.from('ok'));
  t.equal(after.body.toString(), 'ok', 'the connection keeps working after a reset');
});

t.test('GOAWAY resets the streams above last_stream_id as refused', async (t) => {
  const server = http2.createServer();
  const seen: number[] = [];
  server.on('stream', (stream) => {
    stream.on('error', () => undefined); // nghttp2 refuses the streams above the GOAWAY
    seen.push(stream.id!);
    if (seen.length === 1) {
      // Refuse everything after the first stream: the others were never processed.
      stream.session!.goaway(http2.constants.NGHTTP2_NO_ERROR, stream.id!);
      stream.respond({ ':status': 200 }, { endStream: true });
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const conn = new H2Connection(net.connect((server.address() as AddressInfo).port, '127.0.0.1'), 'client', OPTIONS, {});
  t.teardown(() => { conn.destroy(undefined); server.close(); });
  const outcomes = await Promise.all([1, 2, 3].map((n) => new Promise<string>((resolve) => {
    conn.request({ ':method': 'GET', ':path': `/${n}`, ':scheme': 'http', ':authority': 'x' }, {
      onHeaders() { resolve('headers'); },
      onData() {},
      onReset(s, code, gone) { resolve(gone ? 'connection gone' : `reset ${code}`); },
      onWritable() {},
    }, true);
  })));
  t.same(outcomes.slice(1), ['reset 7', 'reset 7'], 'streams 3 and 5 refused (REFUSED_STREAM: safe to retry)');
  t.ok(conn.goawayReceived === 1, 'GOAWAY last_stream_id recorded');
  t.equal(outcomes[0], 'headers', 'stream 1, below last_stream_id, is answered');
});
