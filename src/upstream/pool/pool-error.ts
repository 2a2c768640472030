/**
 * The one error type the pool hands to request callbacks.
 *
 * Invariant: a `PoolError` always means no stream was created, so nothing of the request reached
 * the upstream. `kind` tells the caller which Envoy retry condition / response flag applies.
 */
import type { SessionCloseReason } from './pool-events';

/**
 * - `connect_failure`: the session's connection failed (Envoy `upstream_cx_connect_fail`, flag UF).
 * - `connect_timeout`: the connection did not complete within `connectTimeoutMs`
 *   (`upstream_cx_connect_timeout`, flag UF).
 * - `overflow`: the pool's pending queue is full (`upstream_rq_pending_overflow`, flag UO).
 * - `closed`: the pool is draining or closed and takes no requests (treat like "no healthy upstream").
 * - `invalid_request`: Node's `session.request()` rejected the headers or options (e.g. a
 *   connection-specific header); retrying cannot help.
 */
export type PoolErrorKind = 'connect_failure' | 'connect_timeout' | 'overflow' | 'closed' | 'invalid_request';

export class PoolError extends Error {
  override readonly name = 'PoolError';
  /** Which failure this is; see {@link PoolErrorKind}. */
  readonly kind: PoolErrorKind;
  /** The underlying Node error, if any (e.g. the socket's ECONNREFUSED). */
  override readonly cause: unknown;

  constructor(kind: PoolErrorKind, message: string, cause?: unknown) {
    super(message);
    this.kind = kind;
    this.cause = cause;
  }
}

/** Envoy's transport failure reason for a timed-out connect. */
export const CONNECT_TIMEOUT_MESSAGE = 'connection timeout';

/**
 * Builds a `connect_failure` error with Envoy's wording: a socket error carrying an errno becomes
 * `delayed connect error: <errno>` (e.g. 111 for ECONNREFUSED on Linux), anything else
 * `connection failure` (with the cause attached).
 */
export function connectFailure(cause: unknown): PoolError {
  const errno = (cause as { errno?: unknown } | null | undefined)?.errno;
  if (typeof errno === 'number' && errno !== 0) {
    return new PoolError('connect_failure', `delayed connect error: ${Math.abs(errno)}`, cause);
  }
  return new PoolError('connect_failure', 'connection failure', cause);
}

/**
 * The error with which the pool destroys a session that still has streams (keepalive timeout,
 * `close()`); each open stream receives it as its 'error' and ends with `rstCode` 2
 * (INTERNAL_ERROR). Without an error Node would close those streams with rstCode 0 and even
 * emit 'end', indistinguishable from a complete response.
 */
export class SessionDestroyedError extends Error {
  override readonly name = 'SessionDestroyedError';
  readonly code = 'ERR_LEGATE_SESSION_DESTROYED';

  constructor(readonly reason: SessionCloseReason, message: string) {
    super(message);
  }
}
