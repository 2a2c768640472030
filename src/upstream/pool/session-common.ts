/**
 * What both kinds of pooled session (node:http2's PooledSession and the frame-level core's
 * FramePooledSession) share: the TCP connection, the state and counters the pool reads, the
 * connecting → ready → draining → closed transitions and how each is reported. A subclass
 * owns its HTTP/2 transport and calls these at the matching transport events.
 */
import * as net from 'node:net';
import { CONNECT_TIMEOUT_MESSAGE, PoolError, connectFailure } from './pool-error';
import type { H2PoolEvents, SessionCloseReason } from './pool-events';
import { ASSUMED_PEER_MAX_STREAMS, type H2PoolOptions, type PoolAddress } from './pool-options';
import type { OutgoingHttpHeaders } from 'node:http2';
import type { PoolSession, SessionOwner, SessionState } from './pooled-session';
import { POOL_TRACE, trace } from './trace';

/** Client stream ids are odd and below 2^31, so one connection can open at most 2^30 streams. */
const STREAM_ID_LIMIT = 2 ** 30 - 1;

/**
 * After a graceful close we send our FIN and wait for the peer's. A peer that never closes
 * (e.g. it still believes refused streams are open) would keep the connection, and its slot
 * under `maxSessions`, forever; after this grace the socket is destroyed.
 */
const FIN_WAIT_MS = 1000;

let nextSessionId = 1;

/** The TCP (or Unix socket) connection to a host, with Nagle off and the cluster's source address. */
export function connectSocket(address: PoolAddress, options: H2PoolOptions): net.Socket {
  return 'path' in address
    ? net.connect({ path: address.path })
    : net.connect({ host: address.host, port: address.port, localAddress: options.localAddress, noDelay: true });
}

export abstract class SessionBase implements PoolSession<unknown> {
  readonly id = nextSessionId++;
  /** See the state diagram in pooled-session.ts. */
  state: SessionState = 'connecting';
  /** Streams opened by the pool and not yet closed; >= 0. */
  activeStreams = 0;
  streamsOpened = 0;
  /**
   * `min(peer SETTINGS_MAX_CONCURRENT_STREAMS, options.maxConcurrentStreams)`; the peer value is
   * {@link ASSUMED_PEER_MAX_STREAMS} until its first SETTINGS arrive. May drop below `activeStreams`.
   */
  streamLimit: number;
  goawayLastStreamId = -1;
  localAddress = '';
  localPort = 0;
  private endpoint: string | undefined;

  protected readonly socket: net.Socket;
  /** Streams this connection may open over its life (max_requests_per_connection, and the id space). */
  protected readonly requestLimit: number;
  protected readonly startedAt = Date.now();
  protected connectedAt = 0;
  protected tcpConnected = false;
  protected settingsReceived = false;
  protected timedOut = false;
  protected closeReason: SessionCloseReason | undefined;
  protected lastError: Error | undefined;
  protected connectTimer: NodeJS.Timeout | undefined;
  private finWaitTimer: NodeJS.Timeout | undefined;

  constructor(
    address: PoolAddress,
    protected readonly label: string,
    protected readonly options: H2PoolOptions,
    protected readonly owner: SessionOwner,
    protected readonly events: H2PoolEvents,
  ) {
    this.streamLimit = Math.min(ASSUMED_PEER_MAX_STREAMS, options.maxConcurrentStreams);
    this.requestLimit = options.maxRequestsPerSession > 0 ? Math.min(options.maxRequestsPerSession, STREAM_ID_LIMIT) : STREAM_ID_LIMIT;
    events.onConnectStart(this.id);
    if (POOL_TRACE) trace('pool', `${this.label} session#${this.id} connecting`);
    this.socket = connectSocket(address, options);
    this.socket.on('finish', this.onSocketFinish);
    this.connectTimer = setTimeout(this.onConnectTimeout, options.connectTimeoutMs).unref();
  }

  /** True when a new stream may be opened now. */
  hasCapacity(): boolean {
    return this.state === 'ready' && this.activeStreams < this.streamLimit;
  }

  get localEndpoint(): string {
    // Read only after the session is ready, so the address and port are final by then.
    return (this.endpoint ??= `${this.localAddress}:${this.localPort}`);
  }

  abstract open(headers: OutgoingHttpHeaders, options: unknown): unknown;
  abstract destroy(reason: SessionCloseReason, message?: string): void;

  /**
   * Stops new streams and closes once open streams finish: a connecting session is destroyed, a
   * ready one sends GOAWAY and closes after its last stream.
   */
  retire(reason: SessionCloseReason): void {
    if (this.state === 'closed') return;
    if (this.state === 'connecting') {
      this.destroy(reason);
      return;
    }
    this.markDraining(reason);
    this.closeGracefully();
  }

  /** GOAWAY, then close when the last stream is done. */
  protected abstract closeGracefully(): void;

  /** A stream was opened: counted, and the session retires at max_requests_per_connection. */
  protected noteStreamOpened(): void {
    this.activeStreams++;
    this.streamsOpened++;
    if (this.streamsOpened >= this.requestLimit) this.retire('max_requests');
  }

  /** The connect timer fired before the session was ready: close it now (reported as `connect_timeout`). */
  protected abstract abortConnect(): void;
  /** Ready: start keepalive PINGs and the idle timer. */
  protected abstract onReady(): void;
  /** Timers the subclass owns, cleared when the session closes. */
  protected abstract clearTimers(): void;

  /** The TCP connection is up. */
  protected noteTcpConnected(): void {
    this.tcpConnected = true;
    this.localAddress = this.socket.localAddress ?? '';
    this.localPort = this.socket.localPort ?? 0;
    if (POOL_TRACE) trace('pool', `${this.label} session#${this.id} TCP connected from ${this.localAddress}:${this.localPort}`);
    if (this.settingsReceived) this.becomeReady();
  }

  /** The peer's SETTINGS arrived with this SETTINGS_MAX_CONCURRENT_STREAMS. */
  protected notePeerSettings(peerMaxStreams: number): void {
    const limit = Math.min(peerMaxStreams, this.options.maxConcurrentStreams);
    const raised = limit > this.streamLimit;
    this.streamLimit = limit;
    this.settingsReceived = true;
    if (POOL_TRACE) trace('pool', `${this.label} session#${this.id} peer SETTINGS: max_concurrent_streams=${peerMaxStreams}, limit now ${limit}`);
    this.owner.onSessionSettings(this);
    if (this.state === 'connecting') {
      if (this.tcpConnected) this.becomeReady();
    } else if (raised && this.state === 'ready') {
      this.owner.onSessionCapacity(this);
    }
  }

  /** A GOAWAY arrived (possibly not the first): records the lowest last_stream_id and drains. */
  protected noteGoaway(errorCode: number, lastStreamId: number): void {
    const first = this.goawayLastStreamId === -1;
    if (first || lastStreamId < this.goawayLastStreamId) this.goawayLastStreamId = lastStreamId;
    if (POOL_TRACE) trace('pool', `${this.label} session#${this.id} GOAWAY code=${errorCode} last_stream_id=${lastStreamId}`);
    if (first) this.events.onGoaway(this.id, errorCode, lastStreamId);
    this.markDraining('goaway');
  }

  /** `reason` undefined: the session is going away for a reason its error/close will reveal. */
  protected markDraining(reason: SessionCloseReason | undefined): void {
    if (this.state !== 'ready' && this.state !== 'connecting') return;
    this.state = 'draining';
    if (reason !== undefined) this.closeReason ??= reason;
    if (POOL_TRACE) trace('pool', `${this.label} session#${this.id} draining (${reason ?? 'closing'}), ${this.activeStreams} active`);
    this.owner.onSessionDraining(this);
  }

  /**
   * The connection is gone: reports a session that never became ready as a connect failure
   * (unless we closed it), otherwise how it ended. `lostStreams`: streams torn down with it
   * that the active count no longer shows.
   */
  protected noteClosed(lostStreams = 0): void {
    const previous = this.state;
    this.state = 'closed';
    clearTimeout(this.connectTimer);
    clearTimeout(this.finWaitTimer);
    this.connectTimer = this.finWaitTimer = undefined;
    this.clearTimers();
    if (previous === 'connecting' || this.connectedAt === 0) {
      let failure: PoolError | null = null;
      if (this.closeReason === undefined) {
        failure = this.timedOut
          ? new PoolError('connect_timeout', CONNECT_TIMEOUT_MESSAGE,
            new Error(this.tcpConnected ? 'TCP connected but no HTTP/2 SETTINGS from the peer' : 'TCP connect did not complete'))
          : connectFailure(this.lastError);
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
      activeStreams: this.activeStreams + lostStreams,
      streamsOpened: this.streamsOpened,
      lifetimeMs: Date.now() - this.connectedAt,
      bytesRead: this.socket.bytesRead,
      bytesWritten: this.socket.bytesWritten,
      error: this.lastError,
    });
    this.owner.onSessionClosed(this, null);
  }

  private becomeReady(): void {
    clearTimeout(this.connectTimer);
    this.connectTimer = undefined;
    this.state = 'ready';
    this.connectedAt = Date.now();
    const connectMs = this.connectedAt - this.startedAt;
    if (POOL_TRACE) trace('pool', `${this.label} session#${this.id} ready in ${connectMs} ms, stream limit ${this.streamLimit}`);
    this.events.onConnect(this.id, connectMs);
    this.onReady();
    this.owner.onSessionCapacity(this);
  }

  private readonly onConnectTimeout = (): void => {
    this.connectTimer = undefined;
    if (this.state !== 'connecting') return;
    this.timedOut = true;
    this.abortConnect();
  };

  /** Our FIN is out: bound the wait for the peer's. */
  private readonly onSocketFinish = (): void => {
    if (this.state === 'closed' || this.finWaitTimer !== undefined) return;
    this.finWaitTimer = setTimeout(() => {
      if (POOL_TRACE) trace('pool', `${this.label} session#${this.id} peer did not close within ${FIN_WAIT_MS} ms of our FIN; destroying socket`);
      this.socket.destroy();
    }, FIN_WAIT_MS).unref();
  };
}
