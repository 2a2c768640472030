/**
 * The same pass-through as passthrough-node-h2.ts on Legate's frame-level HTTP/2 core
 * (src/h2): every downstream stream becomes a stream on one upstream connection; headers,
 * DATA and trailers are forwarded as frames, window returned as bytes move on.
 *
 *   node dist/bench/servers/passthrough-frame-core.js --upstream-port N
 * Prints `{"port":N}` when listening.
 */
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http2';
import net from 'node:net';
import { parseArgs } from 'node:util';
import { H2Connection, type H2ConnectionOptions } from '../../src/h2/h2-connection';
import type { H2Stream, StreamHandler } from '../../src/h2/h2-stream';

const { values } = parseArgs({ options: { 'upstream-port': { type: 'string' } } });
const OPTIONS: H2ConnectionOptions = { streamWindow: 1 << 20, connectionWindow: 16 << 20, maxConcurrentStreams: 1000, maxHeaderListSize: 60 * 1024 };
const HOP = new Set([':method', ':path', ':scheme', ':authority']);

const upstream = new H2Connection(net.connect(Number(values['upstream-port']), '127.0.0.1'), 'client', OPTIONS, {});

/** A forwarded exchange: the downstream stream and its upstream twin. */
interface Pair { ds: H2Stream; dconn: H2Connection; us: H2Stream | undefined }

const upstreamHandler: StreamHandler = {
  onHeaders(us, headers, endStream) {
    const p = us.context as Pair;
    if (!p.ds.headersSent) {
      const out: OutgoingHttpHeaders = {};
      for (const k in headers) out[k] = headers[k];
      p.dconn.respond(p.ds, out, endStream);
    } else {
      p.dconn.sendTrailers(p.ds, headers as OutgoingHttpHeaders);
    }
  },
  onData(us, chunk, endStream) {
    const p = us.context as Pair;
    if (p.dconn.sendData(p.ds, chunk, endStream)) upstream.consumed(us, chunk.length);
  },
  onReset(us, code) {
    const p = us.context as Pair;
    p.dconn.resetStream(p.ds, code === 0 ? 2 : code);
  },
  onWritable() {},
};

const downstreamHandler: StreamHandler = {
  onHeaders() {},
  onData(ds, chunk, endStream) {
    const p = ds.context as Pair;
    if (p.us && upstream.sendData(p.us, chunk, endStream)) p.dconn.consumed(ds, chunk.length);
  },
  onReset(ds) {
    const p = ds.context as Pair;
    if (p.us) upstream.resetStream(p.us, 8);
  },
  onWritable(ds) {
    // The downstream took what waited: give the upstream its window back.
    const p = ds.context as Pair;
    if (p.us) upstream.consumed(p.us, 1 << 19);
  },
};

function onStream(dconn: H2Connection, ds: H2Stream, headers: IncomingHttpHeaders, endStream: boolean): void {
  const out: OutgoingHttpHeaders = { ':method': headers[':method'], ':path': headers[':path'], ':scheme': 'http', ':authority': headers[':authority'] };
  for (const k in headers) if (!HOP.has(k)) out[k] = headers[k];
  const pair: Pair = { ds, dconn, us: undefined };
  ds.handler = downstreamHandler;
  ds.context = pair;
  pair.us = upstream.request(out, upstreamHandler, endStream);
  pair.us.context = pair;
}

const server = net.createServer((socket) => {
  const conn: H2Connection = new H2Connection(socket, 'server', OPTIONS, {
    onStream: (s, h, e) => onStream(conn, s, h, e),
  });
});
server.listen(0, '127.0.0.1', () => {
  const a = server.address();
  process.stdout.write(`${JSON.stringify({ port: typeof a === 'object' && a ? a.port : 0 })}\n`);
});
