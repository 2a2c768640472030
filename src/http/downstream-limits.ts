/**
 * Downstream protocol limits, as Envoy's codecs and connection manager apply them:
 * server settings built from the HCM's `http2_protocol_options` and
 * `common_http_protocol_options`, per-connection flood accounting (premature resets,
 * PRIORITY frames), request header limits (`max_request_headers_kb`,
 * `max_headers_count`) and the HTTP/1.1 codec-error replies.
 *
 * The listener calls in here; nothing here knows about routing.
 */
import type http from 'node:http';
import type http2 from 'node:http2';
import { ErrorCode } from '../h2/frames';
import type { Socket } from 'node:net';
import type { HttpConnectionManagerModel } from '../snapshot/model';
import type { HcmStats } from './connection-manager';
import { resetH2Stream } from './h2-reset';

const NGHTTP2_INTERNAL_ERROR = ErrorCode.INTERNAL_ERROR;

/**
 * Envoy's runtime defaults `overload.premature_reset_total_stream_count` (500) and
 * `overload.premature_reset_min_stream_lifetime_seconds` (1). Legate has no runtime
 * layer: they are fixed here.
 */
export const PREMATURE_RESET_TOTAL_STREAM_COUNT = 500;
export const PREMATURE_RESET_MIN_STREAM_LIFETIME_MS = 1000;

/** node:http2 server options carrying the HCM's HTTP/2 settings and limits. */
export function http2ServerOptions(hm: HttpConnectionManagerModel): http2.ServerOptions {
  const h2 = hm.http2;
  return {
    settings: {
      maxConcurrentStreams: Math.min(h2.maxConcurrentStreams, 2 ** 32 - 1),
      initialWindowSize: Math.min(h2.initialStreamWindowSize, 2 ** 31 - 1),
      // Advertised so honest clients know; enforced per stream by admitHttp2Stream.
      maxHeaderListSize: hm.maxRequestHeadersKb * 1024,
      enablePush: false,
    },
    // Memory per connection (MiB, node's accounting: queued output, headers, unacknowledged
    // frames); beyond it new streams are refused. Generous, as before: body data is bounded by
    // flow control and the router's backpressure, not by this.
    maxSessionMemory: 256,
    // A backstop in nghttp2; the exact limit (Envoy's max_headers_count) is checked in JS.
    maxHeaderListPairs: Math.max(128, hm.maxHeadersCount * 2),
    // Envoy's max_consecutive_inbound_frames_with_empty_payload; node counts invalid and empty
    // frames per connection rather than consecutively (docs/compat.md), so the cap is never below
    // the one node ships with.
    maxSessionInvalidFrames: Math.max(1000, h2.maxConsecutiveInboundFramesWithEmptyPayload),
    maxSessionRejectedStreams: 100,
  };
}

/** node:http server options: header size and count limits as Envoy's HTTP/1 codec has them. */
export function http1ServerOptions(hm: HttpConnectionManagerModel): http.ServerOptions {
  return {
    requestTimeout: 0,
    maxHeaderSize: hm.maxRequestHeadersKb * 1024,
    keepAliveTimeout: 60_000,
  };
}

/**
 * node silently drops header lines past `server.maxHeadersCount` (2000 by default), so
 * admitHttp1Request sees an overflow only while the limit is below that; raise it for
 * larger limits. (Lowering it is no help: node then answers a bare 400 of its own.)
 */
export function http1MaxHeadersCount(hm: HttpConnectionManagerModel): number {
  return Math.max(2000, hm.maxHeadersCount + 1);
}

/** What one HTTP/2 connection has done so far, for flood accounting. */
interface SessionLedger {
  /** Streams closed while the connection stayed up (Envoy's closed_non_internally_destroyed_requests). */
  closed: number;
  /** Of those, closed within the minimum lifetime without a response (Envoy's isPrematureRstStream). */
  premature: number;
  /** Streams the client opened. */
  streams: number;
  /** PRIORITY frames received. */
  priority: number;
  aborted: boolean;
  /** Kept here because `stream.session` is cleared once a stream closes. */
  readonly session: http2.Http2Session;
  readonly current: CurrentHcm;
}

type CurrentHcm = () => { readonly model: HttpConnectionManagerModel; readonly stats: HcmStats };

const ledgers = new WeakMap<http2.Http2Session, SessionLedger>();
/** A stream's ledger and open time, so its listeners are shared functions (no closures per stream). */
const kLedger = Symbol('legate.streamLedger');
const kOpenedAt = Symbol('legate.streamOpenedAt');
type LedgeredStream = http2.ServerHttp2Stream & { [kLedger]: SessionLedger; [kOpenedAt]: number };

/**
 * Starts flood accounting on a new downstream HTTP/2 connection. `current` gives the
 * connection manager in force (limits and stats are read when they are needed).
 */
export function guardHttp2Session(session: http2.ServerHttp2Session, current: () => { readonly model: HttpConnectionManagerModel; readonly stats: HcmStats }): void {
  const ledger: SessionLedger = { closed: 0, premature: 0, streams: 0, priority: 0, aborted: false, session, current };
  ledgers.set(session, ledger);
  // PRIORITY frames for streams that do not exist (any more) land on the session.
  session.on('priority', () => onPriority(session, ledger, current));
}

/**
 * Registers a new stream on its connection's ledger and checks the request header
 * limits. Returns false when the stream was refused (reset, as Envoy's HTTP/2 codec does
 * on header overflow); the caller must not hand it on.
 */
export function admitHttp2Stream(
  stream: http2.ServerHttp2Stream,
  rawHeaders: readonly string[] | undefined,
  current: () => { readonly model: HttpConnectionManagerModel; readonly stats: HcmStats },
): boolean {
  const session = stream.session;
  const ledger = session ? ledgers.get(session) : undefined;
  if (session && ledger) {
    ledger.streams++;
    const owned = stream as LedgeredStream;
    owned[kLedger] = ledger;
    owned[kOpenedAt] = performance.now();
    stream.on('priority', onStreamPriority);
    // 'close' is emitted once; `on` spares the wrapper `once` would allocate.
    stream.on('close', onStreamClose);
  }
  const hm = current().model;
  if (rawHeaders && exceedsHeaderLimits(rawHeaders, hm)) {
    // Envoy's codec fails the header callback; nghttp2 then resets the stream with INTERNAL_ERROR.
    stream.on('error', noop);
    resetH2Stream(stream, NGHTTP2_INTERNAL_ERROR);
    return false;
  }
  return true;
}

function onStreamPriority(this: LedgeredStream): void {
  const ledger = this[kLedger];
  onPriority(ledger.session, ledger, ledger.current);
}

function onStreamClose(this: LedgeredStream): void {
  const ledger = this[kLedger];
  const session = ledger.session;
  if (ledger.aborted || session.destroyed || session.closed) return;
  ledger.closed++;
  if (!this.headersSent && performance.now() - this[kOpenedAt] < PREMATURE_RESET_MIN_STREAM_LIFETIME_MS) ledger.premature++;
  maybeAbortForPrematureResets(session, ledger, ledger.current().stats);
}

/**
 * Envoy's header-map limits: the sum of name and value lengths over every field,
 * pseudo-headers included, against max_request_headers_kb; the number of fields
 * against max_headers_count.
 */
function exceedsHeaderLimits(raw: readonly string[], hm: HttpConnectionManagerModel): boolean {
  if (raw.length / 2 > hm.maxHeadersCount) return true;
  const max = hm.maxRequestHeadersKb * 1024;
  let bytes = 0;
  for (let i = 0; i < raw.length; i++) {
    bytes += raw[i]!.length;
    if (bytes > max) return true;
  }
  return false;
}

/**
 * Envoy's maybeDrainDueToPrematureResets: once enough streams closed on a connection,
 * abort it if at least half of them were reset prematurely; before that, abort as soon
 * as the premature resets alone reach half the threshold.
 */
function maybeAbortForPrematureResets(session: http2.Http2Session, ledger: SessionLedger, stats: HcmStats): void {
  const limit = PREMATURE_RESET_TOTAL_STREAM_COUNT;
  if (ledger.closed < limit) {
    if (ledger.premature * 2 < limit) return;
  } else if (ledger.premature * 2 < ledger.closed) {
    return;
  }
  stats.downstream_rq_too_many_premature_resets++;
  abort(session, ledger);
}

/** Envoy's max_inbound_priority_frames_per_stream: a flood once PRIORITY frames pass limit × (1 + streams opened). */
function onPriority(session: http2.Http2Session, ledger: SessionLedger, current: () => { readonly model: HttpConnectionManagerModel; readonly stats: HcmStats }): void {
  ledger.priority++;
  if (ledger.aborted) return;
  if (ledger.priority > current().model.http2.maxInboundPriorityFramesPerStream * (1 + ledger.streams)) abort(session, ledger);
}

/** Closes a connection at once, as Envoy's ConnectionCloseType::Abort: no drain, no waiting for writes. */
function abort(session: http2.Http2Session, ledger: SessionLedger): void {
  ledger.aborted = true;
  const socket = session.socket as Socket | undefined;
  session.destroy();
  socket?.destroy();
}

/**
 * Checks an HTTP/1.1 request against max_headers_count; answers 431 and closes the
 * connection when over (Envoy's HTTP/1 codec: `http1.too_many_headers`). Returns false
 * when the request was answered here.
 */
export function admitHttp1Request(req: http.IncomingMessage, res: http.ServerResponse, hm: HttpConnectionManagerModel, stats: HcmStats): boolean {
  // Envoy's HTTP/1 codec counts the header lines as they are parsed.
  if (req.rawHeaders.length / 2 <= hm.maxHeadersCount) return true;
  stats.downstream_cx_protocol_error++;
  const body = 'Request Header Fields Too Large';
  res.writeHead(431, { 'content-length': body.length, 'content-type': 'text/plain', connection: 'close' });
  res.end(body);
  req.resume();
  return false;
}

/**
 * Answers a request node's HTTP/1.1 parser rejected, as Envoy's HTTP/1 codec does: 431
 * for a header section over max_request_headers_kb, 400 for anything else, then closes.
 */
export function answerHttp1ClientError(err: NodeJS.ErrnoException, socket: Socket, stats: HcmStats | undefined): void {
  if (stats) stats.downstream_cx_protocol_error++;
  if (!socket.writable || err.code === 'ECONNRESET') {
    socket.destroy();
    return;
  }
  const tooLarge = err.code === 'HPE_HEADER_OVERFLOW';
  const status = tooLarge ? '431 Request Header Fields Too Large' : '400 Bad Request';
  const body = tooLarge ? 'Request Header Fields Too Large' : 'Bad Request';
  socket.end(`HTTP/1.1 ${status}\r\ncontent-length: ${body.length}\r\ncontent-type: text/plain\r\nconnection: close\r\n\r\n${body}`);
}

function noop(): void {}
