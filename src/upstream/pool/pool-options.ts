/**
 * Options of one per-host HTTP/2 session pool, with Envoy's defaults.
 *
 * Every field names the Envoy cluster field it mirrors. Options are resolved and checked once,
 * when the pool is built ({@link resolvePoolOptions}); the result is frozen and never mutated.
 */
import * as net from 'node:net';

/** Where a pool connects: a TCP host (IP literal or name) and port, or a Unix domain socket path. */
/**
 * Streams we allow on a session before the peer's first SETTINGS frame arrives, as nghttp2 and
 * Envoy assume (Node's `peerMaxConcurrentStreams` default is the same 100).
 */
export const ASSUMED_PEER_MAX_STREAMS = 100;

export type PoolAddress = { readonly host: string; readonly port: number } | { readonly path: string };

/** Resolved pool options. Construct with {@link resolvePoolOptions}; all fields are in milliseconds or bytes. */
export interface H2PoolOptions {
  /**
   * Cluster `connect_timeout`: deadline for a new session's TCP connect *and* the peer's first
   * SETTINGS frame (Envoy's covers TCP/TLS only). Envoy default 5000 ms. Must be > 0.
   */
  readonly connectTimeoutMs: number;
  /**
   * `common_http_protocol_options.idle_timeout`: a connected session that has had no streams for
   * this long is closed gracefully (GOAWAY, then close). Envoy default 1 h; 0 disables it.
   * PINGs do not count as activity, as in Envoy.
   */
  readonly idleTimeoutMs: number;
  /**
   * `http2_protocol_options.connection_keepalive.interval`: a PING is sent this often on every
   * connected session, whether or not it carries streams (Envoy pings regardless of activity).
   * 0 (the default, as when `connection_keepalive` is unset) disables keepalive.
   */
  readonly keepaliveIntervalMs: number;
  /**
   * `connection_keepalive.timeout`: a session whose PING is not acknowledged within this time is
   * destroyed (its streams fail). Envoy requires this field when keepalive is configured and has no
   * default; ours is 20000 ms, gRPC's `GRPC_ARG_KEEPALIVE_TIMEOUT_MS` default. Must be > 0.
   */
  readonly keepaliveTimeoutMs: number;
  /**
   * `connection_keepalive.interval_jitter` as a percentage of the interval: each period is
   * `interval + random() * interval * jitter / 100`. Envoy default 15.
   */
  readonly keepaliveJitterPercent: number;
  /**
   * `http2_protocol_options.max_concurrent_streams`: the most streams we open on one session even
   * if the peer allows more. The effective limit of a session is
   * `min(peer SETTINGS_MAX_CONCURRENT_STREAMS, this)`. Envoy default 2147483647; range 1..2^31-1.
   */
  readonly maxConcurrentStreams: number;
  /**
   * Most sessions (connecting, ready or draining) to this host at once. Guards against a peer that
   * advertises a tiny stream limit. Default 1024, Envoy's `max_connections` circuit-breaker default.
   */
  readonly maxSessions: number;
  /**
   * Most requests waiting in the pool's queue for a session. Beyond it `request()` fails at once
   * with kind `overflow`. Default 1024, Envoy's `max_pending_requests` circuit-breaker default;
   * cluster-wide circuit breakers are enforced above the pool, this is only the per-host bound.
   */
  readonly maxPendingRequests: number;
  /**
   * `common_http_protocol_options.max_requests_per_connection`: after this many streams a session
   * stops taking new ones and closes once they finish. 0 (default) = unlimited. Independently of
   * this, a session is retired before it runs out of client stream ids (2^30 - 1 streams).
   */
  readonly maxRequestsPerSession: number;
  /**
   * `http2_protocol_options.initial_stream_window_size`: sent as SETTINGS_INITIAL_WINDOW_SIZE.
   * Envoy default 268435456 (256 MiB); range 65535..2^31-1. This is also the most response data
   * one stream can buffer in this process while its reader is paused.
   */
  readonly initialStreamWindowSize: number;
  /**
   * `http2_protocol_options.initial_connection_window_size`: applied with
   * `session.setLocalWindowSize()` on connect (Node's own default is 64 KiB, far too small for
   * 4 MiB messages). Envoy default 268435456 (256 MiB); range 65535..2^31-1.
   */
  readonly initialConnectionWindowSize: number;
  /** `upstream_bind_config.source_address`: local IP to bind TCP connections to. Ignored for Unix sockets. */
  readonly localAddress: string | undefined;
  /**
   * The session's authority (`host:port`), used by Node as the default `:authority` of requests
   * that carry none. Default: the address's `host:port`, or `localhost` for a Unix socket.
   */
  readonly authority: string | undefined;
}

/** Envoy's defaults (see each field of {@link H2PoolOptions}). */
export const DEFAULT_POOL_OPTIONS: H2PoolOptions = Object.freeze({
  connectTimeoutMs: 5_000,
  idleTimeoutMs: 3_600_000,
  keepaliveIntervalMs: 0,
  keepaliveTimeoutMs: 20_000,
  keepaliveJitterPercent: 15,
  maxConcurrentStreams: 2_147_483_647,
  maxSessions: 1024,
  maxPendingRequests: 1024,
  maxRequestsPerSession: 0,
  initialStreamWindowSize: 268_435_456,
  initialConnectionWindowSize: 268_435_456,
  localAddress: undefined,
  authority: undefined,
});

const MAX_WINDOW = 2 ** 31 - 1;

/**
 * Fills defaults and validates. Throws `RangeError` naming the offending field (config-time only;
 * never on the request path).
 */
export function resolvePoolOptions(partial: Partial<H2PoolOptions> = {}): H2PoolOptions {
  const o: Record<string, unknown> = { ...DEFAULT_POOL_OPTIONS };
  for (const [key, value] of Object.entries(partial)) {
    if (value !== undefined) o[key] = value; // undefined means "use the default"
  }
  return validate(o as unknown as H2PoolOptions);
}

function validate(o: H2PoolOptions): H2PoolOptions {
  checkInt('connectTimeoutMs', o.connectTimeoutMs, 1, Number.MAX_SAFE_INTEGER);
  checkInt('idleTimeoutMs', o.idleTimeoutMs, 0, Number.MAX_SAFE_INTEGER);
  checkInt('keepaliveIntervalMs', o.keepaliveIntervalMs, 0, Number.MAX_SAFE_INTEGER);
  checkInt('keepaliveTimeoutMs', o.keepaliveTimeoutMs, 1, Number.MAX_SAFE_INTEGER);
  checkNumber('keepaliveJitterPercent', o.keepaliveJitterPercent, 0, 100);
  checkInt('maxConcurrentStreams', o.maxConcurrentStreams, 1, MAX_WINDOW);
  checkInt('maxSessions', o.maxSessions, 1, Number.MAX_SAFE_INTEGER);
  checkInt('maxPendingRequests', o.maxPendingRequests, 0, Number.MAX_SAFE_INTEGER);
  checkInt('maxRequestsPerSession', o.maxRequestsPerSession, 0, Number.MAX_SAFE_INTEGER);
  checkInt('initialStreamWindowSize', o.initialStreamWindowSize, 65_535, MAX_WINDOW);
  checkInt('initialConnectionWindowSize', o.initialConnectionWindowSize, 65_535, MAX_WINDOW);
  if (o.authority !== undefined && !isAuthority(o.authority)) {
    throw new RangeError(`h2 pool: authority must be host[:port], got ${JSON.stringify(o.authority)}`);
  }
  if (o.localAddress !== undefined && net.isIP(o.localAddress) === 0) {
    throw new RangeError(`h2 pool: localAddress must be an IP address, got ${JSON.stringify(o.localAddress)}`);
  }
  return Object.freeze(o);
}

/** Checks an address and renders it for logs: `host:port`, `[v6]:port` or `unix:path`. */
export function describeAddress(address: PoolAddress): string {
  if ('path' in address) {
    if (typeof address.path !== 'string' || address.path === '') throw new RangeError('h2 pool: empty unix socket path');
    return `unix:${address.path}`;
  }
  if (typeof address.host !== 'string' || address.host === '') throw new RangeError('h2 pool: empty host');
  checkInt('port', address.port, 1, 65_535);
  return address.host.includes(':') ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`;
}

function checkInt(name: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`h2 pool: ${name} must be an integer in [${min}, ${max}], got ${String(value)}`);
  }
}

function checkNumber(name: string, value: number, min: number, max: number): void {
  if (typeof value !== 'number' || !(value >= min && value <= max)) {
    throw new RangeError(`h2 pool: ${name} must be a number in [${min}, ${max}], got ${String(value)}`);
  }
}

function isAuthority(value: string): boolean {
  if (typeof value !== 'string' || value === '' || /[\s/?#@]/.test(value)) return false;
  try {
    return new URL(`http://${value}`).host !== '';
  } catch {
    return false;
  }
}
