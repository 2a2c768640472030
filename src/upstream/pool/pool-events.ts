/**
 * Callbacks through which a pool reports session lifecycle, for stats and logs.
 *
 * The pool normalises a partial set of callbacks into a full one with no-ops
 * ({@link resolvePoolEvents}), so emitting never branches on "is anyone listening".
 * Callbacks run synchronously inside the pool's event handlers: keep them short and never throw.
 */
import type { PoolError } from './pool-error';

/**
 * Why a connected session closed. Local reasons: `idle_timeout`, `keepalive_timeout`,
 * `max_requests`, `drain`, `pool_closed`. Remote: `goaway` (the peer sent GOAWAY first),
 * `remote_close` (socket ended without GOAWAY), `error` (session or socket error).
 */
export type SessionCloseReason =
  | 'idle_timeout'
  | 'keepalive_timeout'
  | 'max_requests'
  | 'drain'
  | 'pool_closed'
  | 'goaway'
  | 'remote_close'
  | 'error';

/** Facts about a connected session at the moment it closed. */
export interface SessionCloseInfo {
  /** Process-unique session id (Envoy's upstream connection id). */
  readonly sessionId: number;
  readonly reason: SessionCloseReason;
  /**
   * Streams still open when the session was torn down (`upstream_cx_destroy_with_active_rq` if
   * > 0). Always 0 for graceful closes, which wait for every stream.
   */
  readonly activeStreams: number;
  /** Streams opened over the session's life. */
  readonly streamsOpened: number;
  /** Milliseconds from connected to closed (`upstream_cx_length_ms`). */
  readonly lifetimeMs: number;
  /** Socket bytes read / written (`upstream_cx_rx_bytes_total` / `_tx_bytes_total`). */
  readonly bytesRead: number;
  readonly bytesWritten: number;
  /** The session error, for reason `error`. */
  readonly error: Error | undefined;
}

export interface H2PoolEvents {
  /** A new session started connecting (`upstream_cx_total`). */
  onConnectStart(sessionId: number): void;
  /**
   * A session became ready (TCP connected and the peer's SETTINGS arrived) `connectMs` after it
   * started (`upstream_cx_connect_ms`, `upstream_cx_active` + 1). Every session started gets
   * exactly one of `onConnect` (and later `onSessionClose`) or `onConnectFail`, except sessions
   * the pool itself closes while connecting (drain/close), which get neither.
   */
  onConnect(sessionId: number, connectMs: number): void;
  /** A session failed to become ready (`upstream_cx_connect_fail` or `_connect_timeout`, by `error.kind`). */
  onConnectFail(sessionId: number, error: PoolError): void;
  /** The first GOAWAY arrived on a session (`upstream_cx_close_notify`). */
  onGoaway(sessionId: number, errorCode: number, lastStreamId: number): void;
  /** A connected session closed (`upstream_cx_destroy*`, `upstream_cx_active` - 1). */
  onSessionClose(info: SessionCloseInfo): void;
}

function noop(): void {}

/** Fills missing callbacks with no-ops. */
export function resolvePoolEvents(events: Partial<H2PoolEvents> = {}): H2PoolEvents {
  return {
    onConnectStart: events.onConnectStart ?? noop,
    onConnect: events.onConnect ?? noop,
    onConnectFail: events.onConnectFail ?? noop,
    onGoaway: events.onGoaway ?? noop,
    onSessionClose: events.onSessionClose ?? noop,
  };
}
