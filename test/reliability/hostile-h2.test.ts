/**
 * Hostile HTTP/2 clients against a real Legate process: each attack runs while an
 * honest gRPC client keeps calling through the same listener. For every attack the
 * proxy must stay up, its RSS must stay bounded, the honest calls must all succeed,
 * and where Envoy closes the abusive connection, Legate must close it too.
 */
import http from 'node:http';
import http2 from 'node:http2';
import t, { type Test } from 'tap';
import { startGrpcBackend } from '../fakes/grpc-backend';
import { frameMessage } from '../fakes/grpc-frame';
import { freePort, startLegate, type LegateProcess } from '../fakes/legate-process';
import { messageCodec } from '../fakes/proto-service';
import { startRawH2Backend } from '../fakes/raw-h2-backend';
import type { EchoRequest } from '../fakes/test-services';
import { bootstrapText } from '../integration/bootstrap-builder';
import {
  connectRaw, frame, FLAG_END_HEADERS, FLAG_END_STREAM, FrameType, headerBlock, indexed, literal, literalIndexed,
  requestPseudo, rstStream, settings, type RawH2Conn,
} from './h2-wire';
import { alive, rssKb, sleep, startHonestLoad } from './harness';

/** RSS growth allowed over the baseline during one attack (MiB): generous, the machine is shared. */
const RSS_BUDGET_MB = Number(process.env['LEGATE_RELIABILITY_RSS_BUDGET_MB'] ?? 150);
const UNARY = '/legate.test.Echo/Unary';

t.test('hostile HTTP/2 clients', async (t) => {
  const backend = await startGrpcBackend({ name: 'up', services: ['echo'] });
  t.teardown(() => backend.stop(100));
  // A backend that writes as fast as it is allowed to, forever: the "client never opens its window" case.
  let floodWritten = 0;
  const flood = await startRawH2Backend({
    name: 'flood',
    handler: (stream) => {
      stream.respond({ ':status': 200, 'content-type': 'application/octet-stream' });
      const chunk = Buffer.alloc(64 * 1024, 0x62);
      const pump = (): void => {
        while (!stream.destroyed && !stream.closed) {
          floodWritten += chunk.length;
          if (!stream.write(chunk)) {
            stream.once('drain', pump);
            return;
          }
        }
      };
      stream.on('error', () => undefined);
      pump();
    },
  });
  t.teardown(() => flood.stop(100));
  const adminPort = await freePort();
  const listenerPort = await freePort();
  const proxy: LegateProcess = await startLegate({
    configYaml: bootstrapText({
      adminPort, listenerPort,
      clusters: [
        { name: 'up', endpoints: [backend.address] },
        // Envoy's edge recommendations (64 KiB stream, 1 MiB connection window): with the 256 MiB
        // defaults, flow control would let the upstream park 256 MiB per connection in the proxy, as in Envoy.
        {
          name: 'flood', endpoints: [flood.address], http2: false,
          extra: {
            typed_extension_protocol_options: {
              'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
                '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
                explicit_http_config: { http2_protocol_options: { initial_stream_window_size: 65536, initial_connection_window_size: 1048576 } },
              },
            },
          },
        },
      ],
      routes: [
        { match: { prefix: '/flood' }, route: { cluster: 'flood', timeout: '0s' } },
        { match: { prefix: '/' }, route: { cluster: 'up' } },
      ],
    }),
  });
  t.teardown(() => proxy.stop());
  const target = `127.0.0.1:${listenerPort}`;
  const baseline = rssKb(proxy.pid);
  t.comment(`proxy RSS at start: ${(baseline / 1024).toFixed(1)} MiB`);

  /** Runs `attack` under honest load and checks the invariants every attack shares. */
  const underAttack = async (t: Test, name: string, attack: () => Promise<void>): Promise<void> => {
    t.setTimeout(60_000);
    const before = rssKb(proxy.pid);
    const load = startHonestLoad(target, proxy.pid);
    const started = performance.now();
    await attack();
    // Let honest calls run a little after the attack too: the proxy must not be left broken.
    await sleep(200);
    await load.stop();
    const peak = Math.max(load.peakRssKb, rssKb(proxy.pid));
    t.comment(`${name}: ${(performance.now() - started).toFixed(0)} ms, honest calls ok=${load.ok} failed=${load.failed}, RSS ${(before / 1024).toFixed(1)} → peak ${(peak / 1024).toFixed(1)} MiB`);
    t.ok(alive(proxy.pid) && proxy.child.exitCode === null, `${name}: the proxy is still running`);
    t.equal(load.failed, 0, `${name}: no honest call failed ${load.failures.join('; ')}`);
    t.ok(load.ok > 0, `${name}: honest calls went through`);
    t.ok(peak - before < RSS_BUDGET_MB * 1024, `${name}: RSS grew by less than ${RSS_BUDGET_MB} MiB (${((peak - before) / 1024).toFixed(1)} MiB)`);
  };

  const closedOrGoaway = async (c: RawH2Conn, ms: number): Promise<boolean> => {
    const deadline = performance.now() + ms;
    while (performance.now() < deadline) {
      if (c.closed || c.goaways.length > 0) return true;
      await sleep(20);
    }
    return c.closed || c.goaways.length > 0;
  };

  t.test('rapid reset (CVE-2023-44487): HEADERS + RST_STREAM floods close the connection', async (t) => {
    let sent = 0;
    let conn: RawH2Conn | undefined;
    await underAttack(t, 'rapid reset', async () => {
      conn = await connectRaw(listenerPort);
      const block = headerBlock([...requestPseudo(UNARY), ['content-type', 'application/grpc'], ['te', 'trailers']]);
      let id = 1;
      const deadline = performance.now() + 8000;
      while (!conn.closed && id < 2 ** 31 - 2 && sent < 50_000 && performance.now() < deadline) {
        const batch: Buffer[] = [];
        for (let i = 0; i < 100; i++, id += 2) batch.push(frame(FrameType.HEADERS, FLAG_END_HEADERS, id, block), rstStream(id));
        sent += 100;
        if (!conn.write(Buffer.concat(batch))) await conn.drained();
        await new Promise((r) => setImmediate(r));
      }
      await closedOrGoaway(conn, 3000);
    });
    t.comment(`rapid reset: ${sent} HEADERS+RST_STREAM pairs sent before the connection closed; GOAWAY ${JSON.stringify(conn?.goaways)}`);
    t.ok(conn!.closed, 'the abusive connection was closed (not just sent a GOAWAY)');
    t.ok(sent < 50_000, 'it was closed before the attacker ran out of requests');
    const stats = await proxy.admin('/stats?filter=premature');
    t.match(stats.body, /http\.test\.downstream_rq_too_many_premature_resets: [1-9]/, 'counted in downstream_rq_too_many_premature_resets');
    conn?.destroy();
  });

  t.test('CONTINUATION flood: an endless header block is cut off', async (t) => {
    let sentBytes = 0;
    let conn: RawH2Conn | undefined;
    await underAttack(t, 'CONTINUATION flood', async () => {
      conn = await connectRaw(listenerPort);
      conn.write(frame(FrameType.HEADERS, 0, 1, headerBlock(requestPseudo(UNARY))));
      const cont = frame(FrameType.CONTINUATION, 0, 1, literal('x-flood', 'a'.repeat(1000)));
      const deadline = performance.now() + 8000;
      while (!conn.closed && sentBytes < 200 * 1024 * 1024 && performance.now() < deadline) {
        const batch = Buffer.concat(Array.from({ length: 64 }, () => cont));
        sentBytes += batch.length;
        if (!conn.write(batch)) await conn.drained();
      }
      await closedOrGoaway(conn, 3000);
    });
    t.comment(`CONTINUATION flood: ${(sentBytes / 1024 / 1024).toFixed(1)} MiB of CONTINUATION sent before the cut`);
    t.ok(conn!.closed || conn!.goaways.length > 0, 'the connection was closed');
    conn?.destroy();
  });

  for (const kind of ['SETTINGS', 'PING'] as const) {
    t.test(`${kind} flood from a client that never reads: bounded outbound control frames`, async (t) => {
      let sent = 0;
      let conn: RawH2Conn | undefined;
      await underAttack(t, `${kind} flood`, async () => {
        conn = await connectRaw(listenerPort);
        conn.socket.pause(); // never read the ACKs: they pile up on the proxy's side
        const one = kind === 'SETTINGS' ? settings([]) : frame(FrameType.PING, 0, 0, Buffer.alloc(8, 7));
        const batch = Buffer.concat(Array.from({ length: 1000 }, () => one));
        const deadline = performance.now() + 8000;
        while (!conn.closed && sent < 2_000_000 && performance.now() < deadline) {
          sent += 1000;
          if (!conn.write(batch)) await Promise.race([conn.drained(), sleep(500)]);
        }
        conn.socket.resume();
        await closedOrGoaway(conn, 3000);
      });
      t.comment(`${kind} flood: ${sent} frames sent; closed=${conn!.closed} GOAWAY ${JSON.stringify(conn!.goaways)}`);
      t.ok(conn!.closed || conn!.goaways.length > 0, 'the connection was closed');
      conn?.destroy();
    });
  }

  t.test('empty DATA frame flood closes the connection', async (t) => {
    let sent = 0;
    let conn: RawH2Conn | undefined;
    await underAttack(t, 'empty DATA flood', async () => {
      conn = await connectRaw(listenerPort);
      conn.write(frame(FrameType.HEADERS, FLAG_END_HEADERS, 1, headerBlock([...requestPseudo(UNARY), ['content-type', 'application/grpc']])));
      const batch = Buffer.concat(Array.from({ length: 1000 }, () => frame(FrameType.DATA, 0, 1)));
      const deadline = performance.now() + 8000;
      while (!conn.closed && sent < 1_000_000 && performance.now() < deadline) {
        sent += 1000;
        if (!conn.write(batch)) await conn.drained();
        await new Promise((r) => setImmediate(r));
      }
      await closedOrGoaway(conn, 3000);
    });
    t.comment(`empty DATA flood: ${sent} frames sent; GOAWAY ${JSON.stringify(conn!.goaways)}`);
    t.ok(conn!.closed || conn!.goaways.length > 0, 'the connection was closed');
    conn?.destroy();
  });

  t.test('PRIORITY flood closes the connection', async (t) => {
    let sent = 0;
    let conn: RawH2Conn | undefined;
    await underAttack(t, 'PRIORITY flood', async () => {
      conn = await connectRaw(listenerPort);
      conn.write(frame(FrameType.HEADERS, FLAG_END_HEADERS, 1, headerBlock([...requestPseudo(UNARY), ['content-type', 'application/grpc']])));
      const p = Buffer.alloc(5);
      p.writeUInt32BE(0);
      p[4] = 15;
      const batch = Buffer.concat(Array.from({ length: 1000 }, () => frame(FrameType.PRIORITY, 0, 1, p)));
      const deadline = performance.now() + 8000;
      while (!conn.closed && sent < 1_000_000 && performance.now() < deadline) {
        sent += 1000;
        if (!conn.write(batch)) await conn.drained();
        await new Promise((r) => setImmediate(r));
      }
      await closedOrGoaway(conn, 3000);
    });
    t.comment(`PRIORITY flood: ${sent} frames sent; GOAWAY ${JSON.stringify(conn!.goaways)}`);
    t.ok(conn!.closed, 'the connection was closed');
    t.ok(sent < 1_000_000, 'before the attacker was done');
    conn?.destroy();
  });

  t.test('HPACK bomb: one indexed 4 KiB entry referenced thousands of times', async (t) => {
    let conn: RawH2Conn | undefined;
    await underAttack(t, 'HPACK bomb', async () => {
      conn = await connectRaw(listenerPort);
      // Entry 62 is the newest dynamic table entry: 4000 bytes that each 1-byte reference repeats.
      const bomb = Buffer.concat([
        headerBlock([...requestPseudo(UNARY), ['content-type', 'application/grpc']]),
        literalIndexed('x-bomb', 'b'.repeat(4000)),
        Buffer.concat(Array.from({ length: 10_000 }, () => indexed(62))),
      ]);
      for (let id = 1; id < 200 && !conn.closed; id += 2) {
        conn.write(frame(FrameType.HEADERS, FLAG_END_HEADERS | FLAG_END_STREAM, id, bomb.subarray(0, 16_000)));
        conn.write(frame(FrameType.CONTINUATION, 0, id, bomb.subarray(16_000)));
        if (id > 1) conn.write(frame(FrameType.CONTINUATION, FLAG_END_HEADERS, id));
      }
      await closedOrGoaway(conn, 3000);
    });
    t.ok(conn!.closed || conn!.goaways.length > 0 || conn!.resets.size > 0, 'the bomb was refused');
    t.equal(conn!.responses.size, 0, 'no bomb request got an answer from upstream');
    conn?.destroy();
  });

  t.test('oversized header lists: max_request_headers_kb (default 60)', async (t) => {
    // HTTP/2: under the limit passes, over it the stream is reset (as Envoy's codec does).
    const h2call = (bytes: number): Promise<{ status: number | undefined; rst: number | undefined }> => new Promise((resolve) => {
      const s = http2.connect(`http://${target}`, { maxSendHeaderBlockLength: 1 << 20 } as http2.ClientSessionOptions);
      s.on('error', () => undefined);
      const req = s.request({ ':method': 'POST', ':path': UNARY, 'content-type': 'application/grpc', te: 'trailers', 'x-big': 'a'.repeat(bytes) });
      let status: number | undefined;
      req.on('response', (h) => (status = Number(h[':status'])));
      req.on('error', () => undefined);
      req.on('close', () => {
        s.destroy();
        resolve({ status, rst: req.rstCode });
      });
      req.end(frameMessage(messageCodec<EchoRequest>('legate_test.proto', 'legate.test.EchoRequest').encode({ payload: Buffer.from('x') })));
      req.resume();
    });
    await underAttack(t, 'oversized headers', async () => {
      const small = await h2call(50 * 1024);
      t.equal(small.status, 200, 'a 50 KiB header list passes');
      const big = await h2call(70 * 1024);
      t.equal(big.status, undefined, 'a 70 KiB header list gets no response');
      t.not(big.rst, 0, `the stream is reset (code ${big.rst})`);
      const h1 = await new Promise<number>((resolve) => {
        const req = http.request({ host: '127.0.0.1', port: listenerPort, path: '/x', headers: { 'x-big': 'a'.repeat(70 * 1024) } }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', () => resolve(-1));
        req.end();
      });
      t.equal(h1, 431, 'HTTP/1.1: 431 Request Header Fields Too Large');
    });
  });

  t.test('invalid frames and garbage bytes: the connection ends, nothing else does', async (t) => {
    const cases: Array<[string, Buffer]> = [
      ['garbage instead of a preface', Buffer.from('\x00\xff'.repeat(1000), 'latin1')],
      ['DATA on stream 0', frame(FrameType.DATA, 0, 0, Buffer.alloc(10))],
      ['HEADERS on stream 0', frame(FrameType.HEADERS, FLAG_END_HEADERS, 0, headerBlock(requestPseudo(UNARY)))],
      ['SETTINGS with a bad length', frame(FrameType.SETTINGS, 0, 0, Buffer.alloc(5))],
      ['WINDOW_UPDATE with 0 increment', frame(FrameType.WINDOW_UPDATE, 0, 0, Buffer.alloc(4))],
      ['PING with a bad length', frame(FrameType.PING, 0, 0, Buffer.alloc(3))],
      ['a client PUSH_PROMISE', frame(FrameType.PUSH_PROMISE, FLAG_END_HEADERS, 1, Buffer.alloc(4))],
      ['an even client stream id', frame(FrameType.HEADERS, FLAG_END_HEADERS, 2, headerBlock(requestPseudo(UNARY)))],
      ['a HPACK index out of range', frame(FrameType.HEADERS, FLAG_END_HEADERS, 1, indexed(300))],
      ['a frame larger than SETTINGS_MAX_FRAME_SIZE', frame(FrameType.DATA, 0, 1, Buffer.alloc(20_000))],
      ['random bytes after the preface', Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 2654435761) >>> 24))],
    ];
    await underAttack(t, 'invalid frames', async () => {
      for (const [name, bytes] of cases) {
        const conn = await connectRaw(listenerPort);
        conn.write(bytes);
        const ended = await closedOrGoaway(conn, 3000);
        t.ok(ended, `${name}: connection closed or GOAWAY (${JSON.stringify(conn.goaways)})`);
        conn.destroy();
      }
    });
  });
  t.test('a client that never opens its window: the upstream is held back', async (t) => {
    let conn: RawH2Conn | undefined;
    floodWritten = 0;
    await underAttack(t, 'zero window', async () => {
      // Initial stream window 0 (SETTINGS_INITIAL_WINDOW_SIZE = 4): the proxy may send no DATA at all.
      conn = await connectRaw(listenerPort, [[0x4, 0]]);
      for (let id = 1; id <= 19; id += 2) {
        conn.write(frame(FrameType.HEADERS, FLAG_END_HEADERS | FLAG_END_STREAM, id, headerBlock([[':method', 'GET'], [':scheme', 'http'], [':path', '/flood'], [':authority', 'x']])));
      }
      await sleep(3000);
    });
    t.comment(`zero window: the upstream wrote ${(floodWritten / 1024 / 1024).toFixed(1)} MiB for 10 stalled streams`);
    t.ok(conn!.responses.size > 0, 'the proxy answered the requests (headers need no window)');
    // 10 stream windows of 64 KiB, capped by the 1 MiB connection window, plus the backend's own socket buffers.
    t.ok(floodWritten < 16 * 1024 * 1024, 'flow control held the upstream back: it wrote under 16 MiB');
    conn?.destroy();
  });
});

t.test('header limits follow max_request_headers_kb and common_http_protocol_options.max_headers_count', async (t) => {
  const backend = await startGrpcBackend({ name: 'up', services: ['echo'] });
  t.teardown(() => backend.stop(100));
  const listenerPort = await freePort();
  const proxy = await startLegate({
    configYaml: bootstrapText({
      adminPort: await freePort(), listenerPort,
      clusters: [{ name: 'up', endpoints: [backend.address] }],
      hcmExtra: { max_request_headers_kb: 8, common_http_protocol_options: { max_headers_count: 20 } },
    }),
  });
  t.teardown(() => proxy.stop());
  const call = (extra: http2.OutgoingHttpHeaders): Promise<{ status: number | undefined; rst: number | undefined }> => new Promise((resolve) => {
    const s = http2.connect(`http://127.0.0.1:${listenerPort}`);
    s.on('error', () => undefined);
    const req = s.request({ ':method': 'POST', ':path': UNARY, 'content-type': 'application/grpc', te: 'trailers', ...extra });
    let status: number | undefined;
    req.on('response', (h) => (status = Number(h[':status'])));
    req.on('error', () => undefined);
    req.on('close', () => {
      s.destroy();
      resolve({ status, rst: req.rstCode });
    });
    req.end(frameMessage(messageCodec<EchoRequest>('legate_test.proto', 'legate.test.EchoRequest').encode({ payload: Buffer.from('x') })));
    req.resume();
  });
  const many = (n: number): http2.OutgoingHttpHeaders => Object.fromEntries(Array.from({ length: n }, (_, i) => [`x-h${i}`, 'v']));
  t.equal((await call({ 'x-big': 'a'.repeat(6 * 1024) })).status, 200, '6 KiB of headers pass an 8 KiB limit');
  const big = await call({ 'x-big': 'a'.repeat(9 * 1024) });
  t.equal(big.status, undefined, '9 KiB: no response');
  t.equal(big.rst, http2.constants.NGHTTP2_INTERNAL_ERROR, '9 KiB: stream reset');
  // 6 headers in the request besides these: 5 pseudo/standard + the extras.
  t.equal((await call(many(10))).status, 200, '16 header fields pass a limit of 20');
  t.equal((await call(many(20))).rst, http2.constants.NGHTTP2_INTERNAL_ERROR, '26 header fields: stream reset');
  const h1 = (headers: http.OutgoingHttpHeaders): Promise<number> => new Promise((resolve) => {
    const req = http.request({ host: '127.0.0.1', port: listenerPort, path: '/x', headers }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', () => resolve(-1));
    req.end();
  });
  t.equal(await h1(many(25) as http.OutgoingHttpHeaders), 431, 'HTTP/1.1, 25 header lines: 431');
  t.equal(await h1({ 'x-big': 'a'.repeat(9 * 1024) }), 431, 'HTTP/1.1, 9 KiB: 431');
  t.not(await h1(many(5) as http.OutgoingHttpHeaders), 431, 'HTTP/1.1 within the limits is not refused');
});
