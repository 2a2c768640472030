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
import type * as net from 'node:net';
import { SessionDestroyedError, type PoolError } from './pool-error';
import { connectFailureOf, connectSocket, requestLimitOf } from './session-common';
import type { H2PoolEvents, SessionCloseReason } from './pool-events';
import type { H2PoolOptions, PoolAddress } from './pool-options';
import { POOL_TRACE, trace } from './trace';

export type SessionState = 'connecting' | 'ready' | 'draining' | 'closed';

export { ASSUMED_PEER_MAX_STREAMS } from './pool-options';
import { ASSUMED_PEER_MAX_STREAMS } from './pool-options';


/**
 * After a graceful close Node sends our FIN and then waits for the peer's before it emits
 * 'close'. A peer that never closes (e.g. it still believes refused streams are open) would keep
 * the session, and its slot under `maxSessions`, forever; after this grace we destroy the socket.
 */
const FIN_WAIT_MS = 1000;

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

let nextSessionId = 1;

export class PooledSession implements PoolSession<http2.ClientHttp2Stream> {
  readonly id = nextSessionId++;
  /** See the state diagram at the top of this file. */
  state: SessionState = 'connecting';
  /** Invariant: equals the number of pool-opened streams whose 'close' has not yet fired; >= 0. */
  activeStreams = 0;
  streamsOpened = 0;
  /** Streams whose 'close' fired after the session was destroyed (torn down with it). */
  private streamsLost = 0;
  /**
   * `min(peer SETTINGS_MAX_CONCURRENT_STREAMS, options.maxConcurrentStreams)`; the peer value is
   * {@link ASSUMED_PEER_MAX_STREAMS} until its first SETTINGS arrive. May drop below `activeStreams`.
   */
  streamLimit: number;
  goawayLastStreamId = -1;
  localAddress = '';
  localPort = 0;
  private endpoint: string | undefined;

  private readonly session: http2.ClientHttp2Session;
  private readonly socket: net.Socket;
  private readonly requestLimit: number;
  private readonly startedAt = Date.now();
  private connectedAt = 0;
  private tcpConnected = false;
  private settingsReceived = false;
  private timedOut = false;
  private closeReason: SessionCloseReason | undefined;
  private lastError: Error | undefined;
  private connectTimer: NodeJS.Timeout | undefined;
  /** Idle timer is lazy: armed when streams drop to 0, checked (not cleared) when it fires. */
  private idleTimer: NodeJS.Timeout | undefined;
  private idleTimerMs = 0;
  private idleArmed = false;
  private idleSince = 0;
  private keepaliveTimer: NodeJS.Timeout | undefined;
  private pingTimeoutTimer: NodeJS.Timeout | undefined;
  private finWaitTimer: NodeJS.Timeout | undefined;

  constructor(
    address: PoolAddress,
    private readonly label: string,
    private readonly options: H2PoolOptions,
    private readonly owner: SessionOwner,
    private readonly events: H2PoolEvents,
  ) {
    this.streamLimit = Math.min(ASSUMED_PEER_MAX_STREAMS, options.maxConcurrentStreams);
    this.requestLimit = requestLimitOf(options);
    events.onConnectStart(this.id);
    if (POOL_TRACE) trace('pool', `${this.label} session#${this.id} connecting`);

    const socket = connectSocket(address, options);
    this.socket = socket;
    this.session = http2.connect(authorityUrl(address, options.authority), {
      createConnection: () => socket,
      settings: { enablePush: false, initialWindowSize: options.initialStreamWindowSize },
    });
    this.session.on('connect', this.onConnect);
    this.session.on('remoteSettings', this.onRemoteSettings);
    this.session.on('goaway', this.onGoaway);
    this.session.on('error', this.onError);
    this.session.on('close', this.onClose);
    socket.on('finish', this.onSocketFinish);
    this.connectTimer = setTimeout(this.onConnectTimeout, options.connectTimeoutMs).unref();
  }

  /** True when a new stream may be opened now. */
  hasCapacity(): boolean {
    return this.state === 'ready' && this.activeStreams < this.streamLimit;
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
    this.activeStreams++;
    this.streamsOpened++;
    stream[kPooledSession] = this;
    stream.on('close', onPooledStreamClose);
    stream.on('response', onPooledStreamResponse);
    stream.on('error', ignoreStreamError);
    if (this.streamsOpened >= this.requestLimit) this.retire('max_requests');
    return stream;
  }

  /**
   * Stops new streams and closes once open streams finish: a connecting session is destroyed, a
   * ready one sends GOAWAY (Node's `session.close()`) and closes after its last stream.
   */
  retire(reason: SessionCloseReason): void {
    if (this.state === 'closed') return;
    if (this.state === 'connecting') {
      this.destroy(reason);
      return;
    }
    this.markDraining(reason);
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

  /** `reason` undefined: the session is going away for a reason its 'error'/'close' will reveal. */
  private markDraining(reason: SessionCloseReason | undefined): void {
    if (this.state !== 'ready' && this.state !== 'connecting') return;
    this.state = 'draining';
    if (reason !== undefined) this.closeReason ??= reason;
    if (POOL_TRACE) trace('pool', `${this.label} session#${this.id} draining (${reason ?? 'closing'}), ${this.activeStreams} active`);
    this.owner.onSessionDraining(this);
  }

  // === Node session events ===

  get localEndpoint(): string {
    // Read only after the session is ready, so the address and port are final by then.
    return (this.endpoint ??= `${this.localAddress}:${this.localPort}`);
  }

  /** Node's 'connect': the TCP connection is up and the HTTP/2 session set up (our SETTINGS queued). */
  private readonly onConnect = (): void => {
    if (this.state !== 'connecting') return;
    this.tcpConnected = true;
    this.localAddress = this.socket.localAddress ?? '';
    this.localPort = this.socket.localPort ?? 0;
    if (this.options.initialConnectionWindowSize > 65_535) {
      this.session.setLocalWindowSize(this.options.initialConnectionWindowSize);
    }
    if (POOL_TRACE) trace('pool', `${this.label} session#${this.id} TCP connected from ${this.localAddress}:${this.localPort}`);
    if (this.settingsReceived) this.becomeReady();
  };

  private readonly onRemoteSettings = (settings: http2.Settings): void => {
    const peer = settings.maxConcurrentStreams ?? 0xffff_ffff;
    const limit = Math.min(peer, this.options.maxConcurrentStreams);
    const raised = limit > this.streamLimit;
    this.streamLimit = limit;
    this.settingsReceived = true;
    if (POOL_TRACE) trace('pool', `${this.label} session#${this.id} peer SETTINGS: max_concurrent_streams=${peer}, limit now ${limit}`);
    this.owner.onSessionSettings(this);
    if (this.state === 'connecting') {
      if (this.tcpConnected) this.becomeReady();
    } else if (raised && this.state === 'ready') {
      this.owner.onSessionCapacity(this);
    }
  };

  private becomeReady(): void {
    clearTimeout(this.connectTimer);
    this.connectTimer = undefined;
    this.state = 'ready';
    this.connectedAt = Date.now();
    const connectMs = this.connectedAt - this.startedAt;
    if (POOL_TRACE) trace('pool', `${this.label} session#${this.id} ready in ${connectMs} ms, stream limit ${this.streamLimit}`);
    this.events.onConnect(this.id, connectMs);
    this.scheduleKeepalive();
    if (this.activeStreams === 0) this.armIdle();
    this.owner.onSessionCapacity(this);
  }

  /**
   * Node emits 'goaway' before acting on it (NO_ERROR: `session.close()`; any other code:
   * `session.destroy(ERR_HTTP2_SESSION_ERROR)`), and may emit it more than once per session.
   */
  private readonly onGoaway = (errorCode: number, lastStreamId: number): void => {
    const first = this.goawayLastStreamId === -1;
    if (first || lastStreamId < this.goawayLastStreamId) this.goawayLastStreamId = lastStreamId;
    if (POOL_TRACE) trace('pool', `${this.label} session#${this.id} GOAWAY code=${errorCode} last_stream_id=${lastStreamId}`);
    if (first) this.events.onGoaway(this.id, errorCode, lastStreamId);
    this.markDraining('goaway');
  };

  private readonly onError = (err: Error): void => {
    this.lastError ??= err;
    if (POOL_TRACE) trace('pool', `${this.label} session#${this.id} error: ${err.message}`);
  };

  private readonly onConnectTimeout = (): void => {
    this.connectTimer = undefined;
    if (this.state !== 'connecting') return;
    this.timedOut = true;
    this.destroyNow();
  };

  /** Our FIN is out (Node ended the socket after closing the session): bound the wait for the peer's. */
  private readonly onSocketFinish = (): void => {
    if (this.state === 'closed' || this.finWaitTimer !== undefined) return;
    this.finWaitTimer = setTimeout(() => {
      if (POOL_TRACE) trace('pool', `${this.label} session#${this.id} peer did not close within ${FIN_WAIT_MS} ms of our FIN; destroying socket`);
      this.socket.destroy();
    }, FIN_WAIT_MS).unref();
  };

  private readonly onClose = (): void => {
    const previous = this.state;
    this.state = 'closed';
    clearTimeout(this.connectTimer);
    clearTimeout(this.idleTimer);
    clearTimeout(this.keepaliveTimer);
    clearTimeout(this.pingTimeoutTimer);
    clearTimeout(this.finWaitTimer);
    this.connectTimer = this.idleTimer = this.keepaliveTimer = this.pingTimeoutTimer = this.finWaitTimer = undefined;

    if (previous === 'connecting' || this.connectedAt === 0) {
      let failure: PoolError | null = null;
      if (this.closeReason === undefined) {
        failure = connectFailureOf(this.timedOut, this.tcpConnected, this.lastError);
        this.events.onConnectFail(this.id, failure);
      }
      if (POOL_TRACE) trace('pool', `${this.label} session#${this.id} closed before connecting: ${failure?.message ?? this.closeReason}`);
      this.owner.onSessionClosed(this, failure);
      return;
    }

    const reason: SessionCloseReason = this.closeReason ?? (this.lastError !== undefined ? 'error' : 'remote_close');
    if (POOL_TRACE) trace('pool', `${this.label} session#${this.id} closed (${reason}) after ${this.streamsOpened} streams, ${this.activeStreams} active`);
    this.events.onSessionClose({
      sessionId: this.id,
      reason,
      activeStreams: this.activeStreams + this.streamsLost,
      streamsOpened: this.streamsOpened,
      lifetimeMs: Date.now() - this.connectedAt,
      bytesRead: this.socket.bytesRead,
      bytesWritten: this.socket.bytesWritten,
      error: this.lastError,
    });
    this.owner.onSessionClosed(this, null);
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
