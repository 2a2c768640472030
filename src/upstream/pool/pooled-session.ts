/**
 * One HTTP/2 client session of a host pool, as an explicit state machine:
 *
 * ```
 *   connecting ──TCP connect + peer SETTINGS──> ready ──GOAWAY / idle / drain / max_requests──> draining ──> closed
 *        │                    │                                                          ^
 *        └── error/timeout ───┴────────────── socket closed / destroyed ─────────────────┘
 * ```
 *
 * - `connecting`: TCP connect, then the peer's first SETTINGS frame, both within `connectTimeoutMs`.
 *   No streams. Waiting for SETTINGS (as gRPC clients do; Envoy only waits for TCP) means the
 *   peer's real stream limit is known before any stream is placed, and a peer that accepts TCP but
 *   does not speak HTTP/2 fails as `connect_timeout` instead of hanging requests.
 * - `ready`: takes new streams while `activeStreams < streamLimit`.
 * - `draining`: takes no new streams; existing ones finish (Node closes the session after the last).
 * - `closed`: final; the owner has been told exactly once.
 *
 * The session counts the streams it opened, tracks the peer's SETTINGS_MAX_CONCURRENT_STREAMS,
 * sends keepalive PINGs and closes itself when idle. It never queues requests: the pool does.
 */
import * as http2 from 'node:http2';
import { SessionDestroyedError, type PoolError } from './pool-error';
import { SessionBase } from './session-common';
import type { H2PoolEvents, SessionCloseReason } from './pool-events';
import type { H2PoolOptions, PoolAddress } from './pool-options';
import { POOL_TRACE, trace } from './trace';

export type SessionState = 'connecting' | 'ready' | 'draining' | 'closed';

export { ASSUMED_PEER_MAX_STREAMS } from './pool-options';



/** What a request callback may read about the session its stream runs on. */
export interface PooledSessionInfo {
  /** Process-unique id (Envoy's upstream connection id). */
  readonly id: number;
  readonly state: SessionState;
  /** Local address and port of the TCP connection (`''`/0 before connect and for Unix sockets). */
  readonly localAddress: string;
  readonly localPort: number;
  /** `localAddress:localPort`, built once per session (the router records it on every request). */
  readonly localEndpoint: string;
  /** Streams opened by the pool and not yet closed. */
  readonly activeStreams: number;
  /** Streams opened over the session's life. */
  readonly streamsOpened: number;
  /** Lowest `last_stream_id` of the GOAWAYs received, or -1 if none was received. */
  readonly goawayLastStreamId: number;
}

/** What the pool needs of a session, whatever carries its streams (node:http2 or the frame-level core). */
export interface PoolSession<S> extends PooledSessionInfo {
  /** `min(peer SETTINGS_MAX_CONCURRENT_STREAMS, options.maxConcurrentStreams)`. */
  readonly streamLimit: number;
  hasCapacity(): boolean;
  /** Opens a stream, or returns undefined when the session proved unusable (try another). */
  open(headers: http2.OutgoingHttpHeaders, options: http2.ClientSessionRequestOptions | undefined): S | undefined;
  retire(reason: SessionCloseReason): void;
  destroy(reason: SessionCloseReason, message?: string): void;
}

/** Makes the sessions of a pool. */
export type SessionFactory<S> = (address: PoolAddress, label: string, options: H2PoolOptions, owner: SessionOwner, events: H2PoolEvents) => PoolSession<S>;

/** How a session reports to its pool. Calls happen synchronously from Node's session events. */
export interface SessionOwner {
  /** The session can take streams it could not before (it became ready, or SETTINGS raised the limit). */
  onSessionCapacity(session: PoolSession<unknown>): void;
  /** The peer sent SETTINGS; `session.streamLimit` is now the negotiated limit. */
  onSessionSettings(session: PoolSession<unknown>): void;
  /** A stream opened on `session` has closed. */
  onSessionStreamClosed(session: PoolSession<unknown>): void;
  /** The session stopped taking new streams (GOAWAY, idle close, max requests, drain). */
  onSessionDraining(session: PoolSession<unknown>): void;
  /** The session closed. `connectError` is set if it never connected (and was not closed by us). */
  onSessionClosed(session: PoolSession<unknown>, connectError: PoolError | null): void;
}

const kPooledSession = Symbol('legate.pooledSession');
const kResponseStarted = Symbol('legate.responseStarted');

interface TaggedStream extends http2.ClientHttp2Stream {
  [kPooledSession]?: PooledSession;
  [kResponseStarted]?: boolean;
}

/** The pooled session a stream was opened on, or `undefined` if the pool did not open it. */
export function pooledSessionOf(stream: http2.ClientHttp2Stream): PooledSessionInfo | undefined {
  return (stream as TaggedStream)[kPooledSession];
}

/**
 * Whether final response headers arrived on a pool-opened stream. For streams the pool did not
 * open this is always false (the pool's listener was never attached).
 */
export function responseStarted(stream: http2.ClientHttp2Stream): boolean {
  return (stream as TaggedStream)[kResponseStarted] === true;
}

// Shared stream listeners: `this` is the stream, state lives on it, so no closure per stream.
function onPooledStreamClose(this: TaggedStream): void {
  this[kPooledSession]?.streamClosed();
}
function onPooledStreamResponse(this: TaggedStream): void {
  this[kResponseStarted] = true;
}
/**
 * Safety net so a stream error the caller did not listen for cannot crash the process; the
 * caller's own 'error'/'close' listeners still see everything.
 */
function ignoreStreamError(): void {}

export class PooledSession extends SessionBase implements PoolSession<http2.ClientHttp2Stream> {
  /** Streams whose 'close' fired after the session was destroyed (torn down with it). */
  private streamsLost = 0;
  private readonly session: http2.ClientHttp2Session;
  /** Idle timer is lazy: armed when streams drop to 0, checked (not cleared) when it fires. */
  private idleTimer: NodeJS.Timeout | undefined;
  private idleTimerMs = 0;
  private idleArmed = false;
  private idleSince = 0;
  private keepaliveTimer: NodeJS.Timeout | undefined;
  private pingTimeoutTimer: NodeJS.Timeout | undefined;

  constructor(address: PoolAddress, label: string, options: H2PoolOptions, owner: SessionOwner, events: H2PoolEvents) {
    super(address, label, options, owner, events);
    const socket = this.socket;
    this.session = http2.connect(authorityUrl(address, options.authority), {
      createConnection: () => socket,
      settings: { enablePush: false, initialWindowSize: options.initialStreamWindowSize },
    });
    this.session.on('connect', this.onConnect);
    this.session.on('remoteSettings', this.onRemoteSettings);
    this.session.on('goaway', this.onGoaway);
    this.session.on('error', this.onError);
    this.session.on('close', this.onClose);
  }

  /**
   * Opens a stream. Returns the stream, or `undefined` if the session turned out to be unusable
   * (Node threw ERR_HTTP2_GOAWAY_SESSION / ERR_HTTP2_INVALID_SESSION): the session is then
   * marked draining and the caller should try another. Other exceptions (bad headers) propagate.
   */
  open(headers: http2.OutgoingHttpHeaders, options: http2.ClientSessionRequestOptions | undefined): http2.ClientHttp2Stream | undefined {
    const session = this.session;
    if (session.closed || session.destroyed) {
      this.markDraining(undefined); // Node is already closing it; its 'close' will tell why
      return undefined;
    }
    let stream: TaggedStream;
    try {
      stream = session.request(headers, options) as TaggedStream;
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      if (code === 'ERR_HTTP2_GOAWAY_SESSION' || code === 'ERR_HTTP2_INVALID_SESSION') {
        if (POOL_TRACE) trace('pool', `${this.label} session#${this.id} request() threw ${String(code)}; retrying elsewhere`);
        this.markDraining(undefined);
        return undefined;
      }
      throw err;
    }
    stream[kPooledSession] = this;
    stream.on('close', onPooledStreamClose);
    stream.on('response', onPooledStreamResponse);
    stream.on('error', ignoreStreamError);
    this.noteStreamOpened();
    return stream;
  }

  /** Node's `session.close()`: GOAWAY, then close after the last stream. */
  protected closeGracefully(): void {
    if (!this.session.closed) this.session.close();
  }

  /**
   * Closes the session now. Open streams fail with a {@link SessionDestroyedError} ('error',
   * rstCode 2); the peer gets GOAWAY(NO_ERROR) for `pool_closed`, GOAWAY(INTERNAL_ERROR) otherwise.
   */
  destroy(reason: SessionCloseReason, message: string = reason): void {
    if (this.state === 'closed') return;
    this.closeReason ??= reason;
    this.destroyNow(new SessionDestroyedError(reason, message), reason === 'pool_closed' ? http2.constants.NGHTTP2_NO_ERROR : http2.constants.NGHTTP2_INTERNAL_ERROR);
  }

  /**
   * Two Node traps handled here:
   * - `session.destroy()` without an error closes open streams with rstCode 0 and 'end', as if
   *   they had completed; so streams, if any, get `error`.
   * - `session.destroy()` ends the socket gracefully (`socket.end()`), which on a socket still
   *   connecting waits for the TCP handshake: against a black-holed peer, minutes of SYN retries
   *   before 'close'. A connecting socket is destroyed first so the session closes at once.
   */
  private destroyNow(error?: Error, code?: number): void {
    if (this.socket.connecting) this.socket.destroy();
    if (error !== undefined && this.activeStreams > 0) this.session.destroy(error, code);
    else this.session.destroy();
  }

  /** Called from the shared stream 'close' listener. */
  streamClosed(): void {
    this.activeStreams--;
    // Node closes a destroyed session's streams before the session's own 'close'.
    if (this.session.destroyed) this.streamsLost++;
    if (this.activeStreams === 0 && this.state === 'ready') this.armIdle();
    this.owner.onSessionStreamClosed(this);
  }

  // === Node session events ===

  /** Node's 'connect': the TCP connection is up and the HTTP/2 session set up (our SETTINGS queued). */
  private readonly onConnect = (): void => {
    if (this.state !== 'connecting') return;
    if (this.options.initialConnectionWindowSize > 65_535) {
      this.session.setLocalWindowSize(this.options.initialConnectionWindowSize);
    }
    this.noteTcpConnected();
  };

  private readonly onRemoteSettings = (settings: http2.Settings): void => {
    this.notePeerSettings(settings.maxConcurrentStreams ?? 0xffff_ffff);
  };

  protected onReady(): void {
    this.scheduleKeepalive();
    if (this.activeStreams === 0) this.armIdle();
  }

  /**
   * Node emits 'goaway' before acting on it (NO_ERROR: `session.close()`; any other code:
   * `session.destroy(ERR_HTTP2_SESSION_ERROR)`), and may emit it more than once per session.
   */
  private readonly onGoaway = (errorCode: number, lastStreamId: number): void => {
    this.noteGoaway(errorCode, lastStreamId);
  };

  private readonly onError = (err: Error): void => {
    this.lastError ??= err;
    if (POOL_TRACE) trace('pool', `${this.label} session#${this.id} error: ${err.message}`);
  };

  protected abortConnect(): void {
    this.destroyNow();
  }

  protected clearTimers(): void {
    clearTimeout(this.idleTimer);
    clearTimeout(this.keepaliveTimer);
    clearTimeout(this.pingTimeoutTimer);
    this.idleTimer = this.keepaliveTimer = this.pingTimeoutTimer = undefined;
  }

  private readonly onClose = (): void => {
    this.noteClosed(this.streamsLost);
  };

  // === idle timeout ===

  private armIdle(): void {
    const timeout = this.options.idleTimeoutMs;
    if (timeout === 0) return;
    this.idleSince = Date.now();
    if (this.idleArmed) return; // the pending timer re-checks idleSince when it fires
    this.idleArmed = true;
    if (this.idleTimer !== undefined && this.idleTimerMs === timeout) {
      this.idleTimer.refresh();
    } else {
      this.idleTimer = setTimeout(this.onIdleTimer, timeout).unref();
      this.idleTimerMs = timeout;
    }
  }

  private readonly onIdleTimer = (): void => {
    this.idleArmed = false;
    if (this.state !== 'ready' || this.activeStreams > 0) return;
    const left = this.idleSince + this.options.idleTimeoutMs - Date.now();
    if (left > 0) {
      this.idleArmed = true;
      this.idleTimer = setTimeout(this.onIdleTimer, left).unref();
      this.idleTimerMs = left;
      return;
    }
    this.retire('idle_timeout');
  };

  // === keepalive ===

  private scheduleKeepalive(): void {
    const interval = this.options.keepaliveIntervalMs;
    if (interval === 0 || this.state === 'closed') return;
    const jitter = Math.floor(Math.random() * interval * this.options.keepaliveJitterPercent / 100);
    this.keepaliveTimer = setTimeout(this.onKeepaliveTimer, interval + jitter).unref();
  }

  private readonly onKeepaliveTimer = (): void => {
    this.keepaliveTimer = undefined;
    if (this.state !== 'ready' && this.state !== 'draining') return;
    let sent = false;
    try {
      sent = this.session.ping(this.onPingAck);
    } catch {
      sent = false; // session already closing
    }
    if (!sent) {
      this.scheduleKeepalive();
      return;
    }
    this.pingTimeoutTimer = setTimeout(this.onPingTimeout, this.options.keepaliveTimeoutMs).unref();
  };

  private readonly onPingAck = (err: Error | null): void => {
    clearTimeout(this.pingTimeoutTimer);
    this.pingTimeoutTimer = undefined;
    if (err !== null || this.state === 'closed') return;
    this.scheduleKeepalive();
  };

  private readonly onPingTimeout = (): void => {
    this.pingTimeoutTimer = undefined;
    const message = `keepalive timeout: PING not acknowledged within ${this.options.keepaliveTimeoutMs} ms`;
    if (POOL_TRACE) trace('pool', `${this.label} session#${this.id} ${message}`);
    this.destroy('keepalive_timeout', message);
  };
}

function authorityUrl(address: PoolAddress, authority: string | undefined): string {
  if (authority !== undefined) return `http://${authority}`;
  if ('path' in address) return 'http://localhost';
  return address.host.includes(':') ? `http://[${address.host}]:${address.port}` : `http://${address.host}:${address.port}`;
}

/** The default factory: sessions on node:http2. */
export const nodeSessionFactory: SessionFactory<http2.ClientHttp2Stream> = (address, label, options, owner, events) =>
  new PooledSession(address, label, options, owner, events);
