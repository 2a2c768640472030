/**
 * The node:http2 floor: the smallest pass-through node:http2 allows (server stream → one
 * request on a single upstream session, headers copied, body and trailers forwarded), to
 * compare the frame-level core against. No routing, no stats, no logs.
 *
 *   node dist/bench/servers/passthrough-node-h2.js --upstream-port N
 * Prints `{"port":N}` when listening.
 */
import http2, { type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http2';
import { parseArgs } from 'node:util';
import { installFastAsyncResourceBind } from '../../src/common/async-resource-bind';

installFastAsyncResourceBind();
const { values } = parseArgs({ options: { 'upstream-port': { type: 'string' } } });
const upstream = http2.connect(`http://127.0.0.1:${values['upstream-port']}`);
const HOP = new Set([':method', ':path', ':scheme', ':authority']);

const server = http2.createServer();
server.on('stream', (ds, headers: IncomingHttpHeaders) => {
  const out: OutgoingHttpHeaders = { ':method': headers[':method'], ':path': headers[':path'], ':scheme': 'http', ':authority': headers[':authority'] };
  for (const k in headers) if (!HOP.has(k)) out[k] = headers[k];
  const us = upstream.request(out, { endStream: false });
  ds.pipe(us);
  let trailers: OutgoingHttpHeaders = {};
  us.on('response', (h) => {
    const rh: OutgoingHttpHeaders = {};
    for (const k in h) rh[k] = h[k];
    ds.respond(rh, { waitForTrailers: true });
  });
  us.on('trailers', (t) => { trailers = { ...t }; });
  ds.on('wantTrailers', () => ds.sendTrailers(trailers));
  us.pipe(ds);
  us.on('error', () => ds.close(http2.constants.NGHTTP2_INTERNAL_ERROR));
  ds.on('error', () => us.close(http2.constants.NGHTTP2_CANCEL));
});
server.listen(0, '127.0.0.1', () => {
  const a = server.address();
  process.stdout.write(`${JSON.stringify({ port: typeof a === 'object' && a ? a.port : 0 })}\n`);
});
