/**
 * One pooled upstream HTTP/2 connection on the frame-level core (src/h2), with the same
 * state machine and contract as the node:http2 PooledSession (the shared part is SessionBase):
 *
 *   connecting ──TCP connect + peer SETTINGS──> ready ──GOAWAY / idle / drain / max_requests──> draining ──> closed
 *
 * It counts its streams, honours the peer's SETTINGS_MAX_CONCURRENT_STREAMS, sends keepalive
 * PINGs, closes itself when idle, and tells its pool about each change.
 */
import type { OutgoingHttpHeaders } from 'node:http2';
import { ErrorCode } from '../../h2/frames';
import { H2Connection, type ConnectionHandler } from '../../h2/h2-connection';
import type { H2Stream, StreamHandler } from '../../h2/h2-stream';
import type { H2PoolEvents, SessionCloseReason } from './pool-events';
import type { H2PoolOptions, PoolAddress } from './pool-options';
import type { PoolSession, SessionFactory, SessionOwner } from './pooled-session';
import { SessionBase } from './session-common';

const PING_PAYLOAD = Buffer.from('legateka');

/** Placeholder until the pool's caller takes the stream (synchronously, before any frame can arrive). */
const UNCLAIMED: StreamHandler = { onHeaders() {}, onData() {}, onReset() {}, onWritable() {} };

export class FramePooledSession extends SessionBase implements PoolSession<H2Stream>, ConnectionHandler {
  readonly conn: H2Connection;
  private idleTimer: NodeJS.Timeout | undefined;
  private keepaliveTimer: NodeJS.Timeout | undefined;
  private pingTimeoutTimer: NodeJS.Timeout | undefined;

  constructor(address: PoolAddress, label: string, options: H2PoolOptions, owner: SessionOwner, events: H2PoolEvents) {
    super(address, label, options, owner, events);
    this.conn = new H2Connection(this.socket, 'client', {
      streamWindow: Math.min(options.initialStreamWindowSize, 2 ** 31 - 1),
      connectionWindow: Math.min(options.initialConnectionWindowSize, 2 ** 31 - 1),
      maxConcurrentStreams: 100,
      maxHeaderListSize: 256 * 1024,
    }, this);
    this.socket.once('connect', this.onConnect);
    this.socket.on('error', (err) => (this.lastError ??= err));
  }

  open(headers: OutgoingHttpHeaders): H2Stream | undefined {
    if (this.conn.destroyed || this.conn.goawayReceived >= 0 || this.conn.goawaySent) {
      this.markDraining(undefined);
      return undefined;
    }
    const stream = this.conn.request(headers, UNCLAIMED, false);
    this.noteStreamOpened();
    return stream;
  }

  protected closeGracefully(): void {
    this.conn.goaway(ErrorCode.NO_ERROR);
    this.closeIfIdle();
  }

  /** Closes now; open streams fail (GOAWAY NO_ERROR for `pool_closed`, INTERNAL_ERROR otherwise). */
  destroy(reason: SessionCloseReason, message: string = reason): void {
    if (this.state === 'closed') return;
    this.closeReason ??= reason;
    if (reason !== 'pool_closed') this.lastError ??= new Error(message);
    this.conn.goaway(reason === 'pool_closed' ? ErrorCode.NO_ERROR : ErrorCode.INTERNAL_ERROR);
    this.conn.destroy(undefined);
  }

  // ---- ConnectionHandler ----

  onRemoteSettings(): void {
    this.notePeerSettings(this.conn.peerMaxConcurrentStreams);
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
    this.noteGoaway(code, lastStreamId);
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
    this.noteClosed();
  }

  // ---- SessionBase hooks ----

  protected abortConnect(): void {
    this.conn.destroy(undefined);
  }

  protected onReady(): void {
    this.scheduleKeepalive();
    if (this.activeStreams === 0) this.armIdle();
  }

  protected clearTimers(): void {
    clearTimeout(this.idleTimer);
    clearTimeout(this.keepaliveTimer);
    clearTimeout(this.pingTimeoutTimer);
    this.idleTimer = this.keepaliveTimer = this.pingTimeoutTimer = undefined;
  }

  // ---- internals ----

  private readonly onConnect = (): void => {
    if (this.state === 'connecting') this.noteTcpConnected();
  };

  /** A draining connection with no streams left ends: GOAWAY written, then our FIN. */
  private closeIfIdle(): void {
    if (this.state !== 'draining' || this.activeStreams > 0 || this.conn.destroyed) return;
    this.conn.end();
  }

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
