/**
 * One downstream HTTP/2 connection served by the frame-level core: settings and limits from
 * the connection manager's config, each new stream handed to the manager in force as a
 * FrameDownstream, and Envoy's premature-reset rule (CVE-2023-44487) applied per connection.
 */
import type { IncomingHttpHeaders } from 'node:http2';
import type { Socket } from 'node:net';
import { eventNow } from '../common/event-clock';
import { ErrorCode } from '../h2/frames';
import { H2Connection, type ConnectionHandler, type H2ConnectionOptions } from '../h2/h2-connection';
import type { H2Stream } from '../h2/h2-stream';
import type { HttpConnectionManager } from '../http/connection-manager';
import { FrameDownstream, type FrameStreamObserver } from '../http/downstream-frame';
import { PREMATURE_RESET_MIN_STREAM_LIFETIME_MS, PREMATURE_RESET_TOTAL_STREAM_COUNT } from '../http/downstream-limits';
import { overloadManager } from '../overload/overload-manager';
import type { HttpConnectionManagerModel } from '../snapshot/model';

/** The connection's addresses, formatted once when it was accepted. */
export interface ConnectionEnds {
  readonly local: string;
  readonly remote: string;
  readonly originalDst: string | undefined;
}

/** The codec settings and limits of a connection manager, as the core takes them. */
export function frameServerOptions(hm: HttpConnectionManagerModel): H2ConnectionOptions {
  const h2 = hm.http2;
  return {
    streamWindow: Math.min(h2.initialStreamWindowSize, 2 ** 31 - 1),
    connectionWindow: Math.min(h2.initialConnectionWindowSize, 2 ** 31 - 1),
    maxConcurrentStreams: Math.min(h2.maxConcurrentStreams, 2 ** 31 - 1),
    maxHeaderListSize: hm.maxRequestHeadersKb * 1024,
    maxHeadersCount: hm.maxHeadersCount,
    maxHeaderBytes: hm.maxRequestHeadersKb * 1024,
    maxPriorityFramesPerStream: h2.maxInboundPriorityFramesPerStream,
    maxConsecutiveEmptyFrames: h2.maxConsecutiveInboundFramesWithEmptyPayload,
    maxOutboundControlFrames: h2.maxOutboundControlFrames,
  };
}

export class FrameServerConnection implements ConnectionHandler, FrameStreamObserver {
  readonly conn: H2Connection;
  /** Streams closed while the connection stayed up, and of those the premature resets. */
  private closedStreams = 0;
  private prematureResets = 0;
  private aborted = false;

  constructor(
    socket: Socket,
    private readonly current: () => HttpConnectionManager,
    private readonly ends: ConnectionEnds,
    private readonly onClosed: (c: FrameServerConnection) => void,
  ) {
    this.conn = new H2Connection(socket, 'server', frameServerOptions(current().model), this);
    // The listener hands sockets over paused, with any peeked bytes put back.
    socket.resume();
  }

  onStream(stream: H2Stream, headers: IncomingHttpHeaders, endStream: boolean): void {
    const hcm = this.current();
    // disable_http_keepalive: GOAWAY; the connection finishes its streams and closes.
    if (overloadManager.disableKeepalive) this.conn.goaway();
    const e = this.ends;
    hcm.handle(new FrameDownstream(this.conn, stream, headers, e.local, e.remote, e.originalDst, this, endStream));
  }

  onBadRequest(): void {
    this.current().stats.downstream_cx_protocol_error++;
  }

  onClose(): void {
    this.onClosed(this);
  }

  /**
   * Envoy's maybeDrainDueToPrematureResets: once enough streams closed on a connection, abort
   * it if at least half were reset by the client before any response within the minimum
   * lifetime; before that, abort as soon as the premature resets alone reach half the threshold.
   */
  onStreamEnd(ds: FrameDownstream, remoteReset: boolean): void {
    if (this.aborted || this.conn.destroyed) return;
    this.closedStreams++;
    if (remoteReset && !ds.headersSent && eventNow() - ds.openedAt < PREMATURE_RESET_MIN_STREAM_LIFETIME_MS) this.prematureResets++;
    const limit = PREMATURE_RESET_TOTAL_STREAM_COUNT;
    if (this.closedStreams < limit ? this.prematureResets * 2 >= limit : this.prematureResets * 2 >= this.closedStreams) {
      this.current().stats.downstream_rq_too_many_premature_resets++;
      this.abort();
    }
  }

  /** Graceful drain, two-phase as Envoy: a GOAWAY admitting everything in flight, then the final one. */
  drain(finalAfterMs: number): void {
    this.conn.announceShutdown();
    const t = setTimeout(() => {
      this.conn.goaway(ErrorCode.NO_ERROR);
      this.closeWhenIdle();
    }, finalAfterMs);
    t.unref();
  }

  /** Closes the connection once its streams are done (new ones are refused after the GOAWAY). */
  closeWhenIdle(): void {
    if (this.conn.destroyed) return;
    if (this.conn.activeStreams === 0) {
      this.conn.end();
      return;
    }
    const t = setTimeout(() => this.closeWhenIdle(), 50);
    t.unref();
  }

  destroy(): void {
    this.conn.destroy(undefined);
  }

  /** Envoy's ConnectionCloseType::Abort: no drain, no waiting for writes. */
  private abort(): void {
    this.aborted = true;
    this.conn.destroy(undefined);
  }
}
