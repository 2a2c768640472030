import type { Http2Stream } from 'node:http2';

/**
 * Resets an HTTP/2 stream with RST_STREAM(`code`) and nothing else, as Envoy does.
 *
 * node's `close(code)` first ends the writable side when it is still open, and flushes what is
 * pending before the RST_STREAM: the peer gets END_STREAM, then the reset. An upstream would
 * take a cut-off request body for a complete request (and act on it), a client a cut-off
 * response for a complete one. node skips that end when the writable side is already "ending";
 * marking it so (without calling `end()`, whose `_final` would send the END_STREAM) leaves only
 * the RST_STREAM. Data already written still goes out first, without END_STREAM.
 */
export function resetH2Stream(stream: Http2Stream, code: number): void {
  if (stream.destroyed || stream.closed) return;
  const ws = (stream as unknown as { _writableState?: { ending: boolean } })._writableState;
  if (ws && !ws.ending) ws.ending = true;
  stream.close(code);
}
