/**
 * Telling a stream the upstream never processed (safe to replay on a fresh session, even for
 * non-idempotent calls) from one that failed after the upstream may have acted on it.
 *
 * What Node 20 does (shown by test/unit/pool/goaway.test.ts):
 * - GOAWAY(NO_ERROR, last_stream_id = N): Node emits 'goaway', then `session.close()`. Streams
 *   with id <= N run to completion. Streams with id > N are closed by nghttp2 with
 *   REFUSED_STREAM: 'error' ERR_HTTP2_STREAM_ERROR ("Stream closed with error code
 *   NGHTTP2_REFUSED_STREAM"), `rstCode === 7`, no response.
 * - GOAWAY(any other code, N): Node destroys the session at once. Every stream, whether its id is
 *   above or below N, gets 'error' ERR_HTTP2_SESSION_ERROR ("Session closed with error code <code>")
 *   and `rstCode === <code>`; only the id comparison with N tells the unprocessed ones apart, so the
 *   pool records N per session.
 * - A stream submitted after the GOAWAY was received but before its HEADERS were written (for
 *   example opened from a 'goaway' listener) is refused locally by nghttp2: `rstCode === 7`.
 * - `session.request()` after the GOAWAY throws ERR_HTTP2_GOAWAY_SESSION (after `destroy()`:
 *   ERR_HTTP2_INVALID_SESSION); the pool catches both and uses another session.
 * - A peer's RST_STREAM(REFUSED_STREAM) means "closed before any processing" (RFC 9113 §8.7).
 */
import * as http2 from 'node:http2';
import { pooledSessionOf, responseStarted } from './pooled-session';

const REFUSED_STREAM = http2.constants.NGHTTP2_REFUSED_STREAM;

/** Node error codes that mean the request never left this process. */
const NEVER_SENT_CODES: ReadonlySet<string> = new Set([
  'ERR_HTTP2_GOAWAY_SESSION', // session.request() after GOAWAY / close()
  'ERR_HTTP2_INVALID_SESSION', // session.request() after destroy()
  'ERR_HTTP2_OUT_OF_STREAMS', // stream ids exhausted at creation
]);

/**
 * True when the upstream provably did not process the stream, so the router may replay the
 * request on another session (the pool will not reuse the refusing one):
 * - `err` is a Node error meaning the stream was never created/sent (ERR_HTTP2_GOAWAY_SESSION,
 *   ERR_HTTP2_INVALID_SESSION, ERR_HTTP2_OUT_OF_STREAMS);
 * - the stream was reset with REFUSED_STREAM (7) before response headers arrived, by the peer or
 *   by nghttp2 because of a GOAWAY;
 * - the stream was opened by the pool and its id is above the `last_stream_id` of a GOAWAY its
 *   session received (whatever the GOAWAY's error code).
 *
 * False once response headers arrived (tracked for pool-opened streams), and for everything else,
 * including a {@link PoolError}: that one never had a stream and its `kind` says what happened.
 * The caller must still not replay a request whose body it can no longer reproduce.
 * Call it from the stream's 'error' or 'close' handler (`rstCode` is set by then).
 */
export function isUnprocessedStreamFailure(stream: http2.ClientHttp2Stream | null | undefined, err?: unknown): boolean {
  const code = (err as { code?: unknown } | null | undefined)?.code;
  if (typeof code === 'string' && NEVER_SENT_CODES.has(code)) return true;
  if (stream === null || stream === undefined || responseStarted(stream)) return false;
  if (stream.rstCode === REFUSED_STREAM) return true;
  const session = pooledSessionOf(stream);
  return session !== undefined && session.goawayLastStreamId >= 0 && stream.id !== undefined && stream.id > session.goawayLastStreamId;
}
