/**
 * One pooled upstream HTTP/2 connection on the frame-level core (src/h2), with the same
 * state machine and contract as the node:http2 PooledSession (see pooled-session.ts):
 *
 *   connecting ──TCP connect + peer SETTINGS──> ready ──GOAWAY / idle / drain / max_requests──> draining ──> closed
 *
 * It counts its streams, honours the peer's SETTINGS_MAX_CONCURRENT_STREAMS, sends keepalive
 * PINGs, closes itself when idle, and tells its pool about each change.
 */
import type { OutgoingHttpHeaders } from 'node:http2';
import type * as net from 'node:net';
import { ErrorCode } from '../../h2/frames';
import { H2Connection, type ConnectionHandler } from '../../h2/h2-connection';
import type { H2Stream, StreamHandler } from '../../h2/h2-stream';
import type { PoolError } from './pool-error';
import { connectFailureOf, connectSocket, requestLimitOf } from './session-common';
import type { H2PoolEvents, SessionCloseReason } from './pool-events';
import type { H2PoolOptions, PoolAddress } from './pool-options';
import { ASSUMED_PEER_MAX_STREAMS } from './pool-options';
import type { PoolSession, SessionFactory, SessionOwner, SessionState } from './pooled-session';
import { POOL_TRACE, trace } from './trace';

/** After our GOAWAY and FIN, how long a peer may keep the connection before we drop it. */
const FIN_WAIT_MS = 1000;
const PING_PAYLOAD = Buffer.from('legateka');

/** Placeholder until the pool's caller takes the stream (synchronously, before any frame can arrive). */
const UNCLAIMED: StreamHandler = { onHeaders() {}, onData() {}, onReset() {}, onWritable() {} };

let nextSessionId = 1_000_000;

export class FramePooledSession implements PoolSession<H2Stream>, ConnectionHandler {
  readonly id = nextSessionId++;
  state: SessionState = 'connecting';
  activeStreams = 0;
  streamsOpened = 0;
  streamLimit: number;
  goawayLastStreamId = -1;
  localAddress = '';
  localPort = 0;
  private endpoint: string | undefined;

  readonly conn: H2Connection;
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
  private idleTimer: NodeJS.Timeout | undefined;
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
    const socket = connectSocket(address, options);
    this.socket = socket;
    this.conn = new H2Connection(socket, 'client', {
      streamWindow: Math.min(options.initialStreamWindowSize, 2 ** 31 - 1),
      connectionWindow: Math.min(options.initialConnectionWindowSize, 2 ** 31 - 1),
      maxConcurrentStreams: 100,
      maxHeaderListSize: 256 * 1024,
    }, this);
    socket.once('connect', this.onConnect);
    socket.on('error', (err) => (this.lastError ??= err));
    socket.on('finish', this.onSocketFinish);
    this.connectTimer = setTimeout(this.onConnectTimeout, options.connectTimeoutMs).unref();
  }

  get localEndpoint(): string {
    return (this.endpoint ??= `${this.localAddress}:${this.localPort}`);
  }

  hasCapacity(): boolean {
    return this.state === 'ready' && this.activeStreams < this.streamLimit;
  }

  open(headers: OutgoingHttpHeaders): H2Stream | undefined {
    if (this.conn.destroyed || this.conn.goawayReceived >= 0 || this.conn.goawaySent) {
      this.markDraining(undefined);
      return undefined;
    }
    const stream = this.conn.request(headers, UNCLAIMED, false);
    this.activeStreams++;
    this.streamsOpened++;
    if (this.streamsOpened >= this.requestLimit) this.retire('max_requests');
    return stream;
  }

  retire(reason: SessionCloseReason): void {
    if (this.state === 'closed') return;
    if (this.state === 'connecting') {
      this.destroy(reason);
      return;
    }
    this.markDraining(reason);
    this.conn.goaway(ErrorCode.NO_ERROR);
    this.closeIfIdle();
  }

  destroy(reason: SessionCloseReason, message: string = reason): void {
    if (this.state === 'closed') return;
    this.closeReason ??= reason;
    if (reason !== 'pool_closed') this.lastError ??= new Error(message);
    this.conn.goaway(reason === 'pool_closed' ? ErrorCode.NO_ERROR : ErrorCode.INTERNAL_ERROR);
    this.conn.destroy(undefined);
  }

  // ---- ConnectionHandler ----

  onRemoteSettings(): void {
    const limit = Math.min(this.conn.peerMaxConcurrentStreams, this.options.maxConcurrentStreams);
    const raised = limit > this.streamLimit;
    this.streamLimit = limit;
    this.settingsReceived = true;
    this.owner.onSessionSettings(this);
    if (this.state === 'connecting') {
      if (this.tcpConnected) this.becomeReady();
    } else if (raised && this.state === 'ready') {
      this.owner.onSessionCapacity(this);
    }
  }

  onStreamClosed(): void {
    this.activeStreams--;
    if (this.activeStreams === 0) {
      if (this.state === 'ready') this.armIdle();
      else if (this.state === 'draining') this.closeIfIdle();
    }
    this.owner.onSessionStreamClosed(this);
  }

  onGoaway(lastStreamId: number, code: number): void {
    const first = this.goawayLastStreamId === -1;
    if (first || lastStreamId < this.goawayLastStreamId) this.goawayLastStreamId = lastStreamId;
    if (first) this.events.onGoaway(this.id, code, lastStreamId);
    this.markDraining('goaway');
    if (code !== ErrorCode.NO_ERROR) {
      this.lastError ??= new Error(`GOAWAY with error code ${code}`);
      this.conn.destroy(undefined);
      return;
    }
    this.closeIfIdle();
  }

  onPingAck(): void {
    clearTimeout(this.pingTimeoutTimer);
    this.pingTimeoutTimer = undefined;
    if (this.state !== 'closed') this.scheduleKeepalive();
  }

  onClose(error: Error | undefined): void {
    if (error !== undefined) this.lastError ??= error;
    const previous = this.state;
    this.state = 'closed';
    clearTimeout(this.connectTimer);
    clearTimeout(this.idleTimer);
    clearTimeout(this.keepaliveTimer);
    clearTimeout(this.pingTimeoutTimer);
    clearTimeout(this.finWaitTimer);
    if (previous === 'connecting' || this.connectedAt === 0) {
      let failure: PoolError | null = null;
      if (this.closeReason === undefined) {
        failure = connectFailureOf(this.timedOut, this.tcpConnected, this.lastError);
        this.events.onConnectFail(this.id, failure);
      }
      this.owner.onSessionClosed(this, failure);
      return;
    }
    const reason: SessionCloseReason = this.closeReason ?? (this.lastError !== undefined ? 'error' : 'remote_close');
    if (POOL_TRACE) trace('pool', `${this.label} frame-session#${this.id} closed (${reason}) after ${this.streamsOpened} streams`);
    this.events.onSessionClose({
      sessionId: this.id,
      reason,
      activeStreams: this.activeStreams,
      streamsOpened: this.streamsOpened,
      lifetimeMs: Date.now() - this.connectedAt,
      bytesRead: this.socket.bytesRead,
      bytesWritten: this.socket.bytesWritten,
      error: this.lastError,
    });
    this.owner.onSessionClosed(this, null);
  }

  // ---- internals ----

  private readonly onConnect = (): void => {
    if (this.state !== 'connecting') return;
    this.tcpConnected = true;
    this.localAddress = this.socket.localAddress ?? '';
    this.localPort = this.socket.localPort ?? 0;
    if (this.settingsReceived) this.becomeReady();
  };

  private becomeReady(): void {
    clearTimeout(this.connectTimer);
    this.connectTimer = undefined;
    this.state = 'ready';
    this.connectedAt = Date.now();
    this.events.onConnect(this.id, this.connectedAt - this.startedAt);
    this.scheduleKeepalive();
    if (this.activeStreams === 0) this.armIdle();
    this.owner.onSessionCapacity(this);
  }

  private markDraining(reason: SessionCloseReason | undefined): void {
    if (this.state !== 'ready' && this.state !== 'connecting') return;
    this.state = 'draining';
    if (reason !== undefined) this.closeReason ??= reason;
    this.owner.onSessionDraining(this);
  }

  /** A draining connection with no streams left ends (FIN), bounded by FIN_WAIT_MS for the peer's. */
  private closeIfIdle(): void {
    if (this.state !== 'draining' || this.activeStreams > 0 || this.conn.destroyed) return;
    this.conn.end();
  }

  private readonly onSocketFinish = (): void => {
    if (this.state === 'closed' || this.finWaitTimer !== undefined) return;
    this.finWaitTimer = setTimeout(() => this.socket.destroy(), FIN_WAIT_MS).unref();
  };

  private readonly onConnectTimeout = (): void => {
    this.connectTimer = undefined;
    if (this.state !== 'connecting') return;
    this.timedOut = true;
    this.conn.destroy(undefined);
  };

  private armIdle(): void {
    const timeout = this.options.idleTimeoutMs;
    if (timeout === 0) return;
    if (this.idleTimer === undefined) this.idleTimer = setTimeout(this.onIdleTimer, timeout).unref();
    else this.idleTimer.refresh();
  }

  private readonly onIdleTimer = (): void => {
    if (this.state === 'ready' && this.activeStreams === 0) this.retire('idle_timeout');
  };

  private scheduleKeepalive(): void {
    const interval = this.options.keepaliveIntervalMs;
    if (interval === 0 || this.state === 'closed') return;
    const jitter = Math.floor(Math.random() * interval * this.options.keepaliveJitterPercent / 100);
    this.keepaliveTimer = setTimeout(this.onKeepaliveTimer, interval + jitter).unref();
  }

  private readonly onKeepaliveTimer = (): void => {
    this.keepaliveTimer = undefined;
    if (this.state !== 'ready' && this.state !== 'draining') return;
    this.conn.ping(PING_PAYLOAD);
    this.pingTimeoutTimer = setTimeout(this.onPingTimeout, this.options.keepaliveTimeoutMs).unref();
  };

  private readonly onPingTimeout = (): void => {
    this.pingTimeoutTimer = undefined;
    this.destroy('keepalive_timeout', `keepalive timeout: PING not acknowledged within ${this.options.keepaliveTimeoutMs} ms`);
  };
}

export const frameSessionFactory: SessionFactory<H2Stream> = (address, label, options, owner, events) =>
  new FramePooledSession(address, label, options, owner, events);
