/**
 * One request over a pooled upstream connection of the frame-level core: the UpstreamRequest
 * the router drives and the stream's handler at once. Same outcomes as H2Upstream (its
 * node:http2 twin), but END_STREAM and RST_STREAM arrive as what they are, so completion
 * needs no guessing from stream events.
 */
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http2';
import { ErrorCode } from '../h2/frames';
import type { H2Stream, StreamHandler } from '../h2/h2-stream';
import { takePendingSlot, type PendingLimit } from './pending-slot';
import type { Host } from './host';
import type { PoolError } from './pool/pool-error';
import type { PooledSessionInfo } from './pool/pooled-session';
import type { UpstreamFailure, UpstreamHandler, UpstreamRequest } from './upstream-request';

const EMPTY = Buffer.alloc(0);

export class FrameUpstream implements UpstreamRequest, StreamHandler {
  private stream: H2Stream | undefined;
  private session: PooledSessionInfo | undefined;
  private cancelled = false;
  private finished = false;
  private gotHeaders = false;
  private contentLength = -1;
  private bodyBytes = 0;
  private paused = false;
  /** Response bytes received while paused: returned to the upstream's window on resume. */
  private owed = 0;
  private drainCb: (() => void) | undefined;
  private pending: { cancel(): void } | undefined;
  private pendCharged = false;

  constructor(
    private readonly host: Host,
    private readonly headers: OutgoingHttpHeaders,
    private readonly handler: UpstreamHandler,
    private readonly grpc: boolean,
    private readonly pendingLimit?: PendingLimit,
  ) {}

  start(): void {
    const pool = this.host.framePool();
    const slot = takePendingSlot(this.pendingLimit, pool.wouldQueue());
    if (slot === 'overflow') {
      this.fail({ kind: 'overflow', message: 'pending overflow', unprocessed: true });
      return;
    }
    this.pendCharged = slot;
    this.pending = pool.request(this.headers, this.onStream);
  }

  write(chunk: Buffer): boolean {
    const s = this.stream;
    return s === undefined ? true : s.connection.sendData(s, chunk, false);
  }

  onDrain(cb: () => void): void {
    this.drainCb = cb;
  }

  end(): void {
    const s = this.stream;
    if (s !== undefined && !s.localEnded) s.connection.sendData(s, EMPTY, true);
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    const s = this.stream;
    if (s !== undefined && this.owed > 0) {
      s.connection.consumed(s, this.owed);
      this.owed = 0;
    }
  }

  cancel(): void {
    if (this.cancelled || this.finished) return;
    this.cancelled = true;
    const s = this.stream;
    if (s !== undefined) {
      // RST_STREAM without END_STREAM: the upstream must not take a cut-off request for a complete one.
      s.connection.resetStream(s, ErrorCode.CANCEL);
    } else {
      this.pending?.cancel();
      this.releasePending();
    }
  }

  private releasePending(): void {
    if (!this.pendCharged) return;
    this.pendCharged = false;
    this.pendingLimit!.unpend();
  }

  private readonly onStream = (err: PoolError | null, stream?: H2Stream, session?: PooledSessionInfo): void => {
    this.releasePending();
    if (this.cancelled) {
      if (stream) stream.connection.resetStream(stream, ErrorCode.CANCEL);
      return;
    }
    if (err || !stream) {
      this.fail({ kind: err?.kind === 'overflow' ? 'overflow' : 'connection_failure', message: err?.message ?? 'no stream', unprocessed: true });
      return;
    }
    this.stream = stream;
    stream.handler = this;
    this.session = session;
    this.handler.onUpstreamReady(session ? session.localEndpoint : '');
  };

  // ---- StreamHandler ----

  onHeaders(_s: H2Stream, headers: IncomingHttpHeaders, endStream: boolean): void {
    if (this.cancelled || this.finished) return;
    if (!this.gotHeaders) {
      this.gotHeaders = true;
      const cl = headers['content-length'];
      if (cl !== undefined) this.contentLength = Number(cl);
      this.handler.onUpstreamHeaders(headers, endStream);
    } else {
      this.handler.onUpstreamTrailers(headers);
    }
    if (endStream) this.succeed();
  }

  onData(s: H2Stream, chunk: Buffer, endStream: boolean): void {
    if (this.cancelled || this.finished) {
      s.connection.consumed(s, chunk.length);
      return;
    }
    if (chunk.length > 0) {
      this.bodyBytes += chunk.length;
      if (this.paused) this.owed += chunk.length;
      else s.connection.consumed(s, chunk.length);
      this.handler.onUpstreamData(chunk);
    }
    if (!endStream || this.finished || this.cancelled) return;
    // END_STREAM on DATA: complete, unless gRPC trailers are missing or the body contradicts content-length.
    if (this.grpc || (this.contentLength >= 0 && this.bodyBytes !== this.contentLength)) {
      this.fail({ kind: 'remote_reset', message: 'response ended before completion', unprocessed: false });
      return;
    }
    this.succeed();
  }

  onReset(s: H2Stream, code: number, connectionGone: boolean): void {
    if (this.owed > 0) {
      s.connection.consumed(s, this.owed);
      this.owed = 0;
    }
    if (this.cancelled || this.finished) return;
    const goawayLast = this.session?.goawayLastStreamId ?? -1;
    const neverProcessed = !this.gotHeaders && (code === ErrorCode.REFUSED_STREAM || (goawayLast >= 0 && s.id > goawayLast));
    this.fail({
      kind: connectionGone && code !== ErrorCode.REFUSED_STREAM ? 'connection_termination' : 'remote_reset',
      message: connectionGone ? 'connection termination' : `remote reset (code ${code})`,
      unprocessed: neverProcessed,
      h2Code: code,
    });
  }

  onWritable(): void {
    const cb = this.drainCb;
    this.drainCb = undefined;
    cb?.();
  }

  private succeed(): void {
    if (this.finished || this.cancelled) return;
    this.finished = true;
    // The response is complete while our request is not: stop sending it (as Envoy's router resets).
    const s = this.stream;
    if (s !== undefined && !s.localEnded && !s.closed) s.connection.resetStream(s, ErrorCode.CANCEL);
    this.handler.onUpstreamEnd();
  }

  private fail(f: UpstreamFailure): void {
    if (this.finished || this.cancelled) return;
    this.finished = true;
    this.handler.onUpstreamFailure(f);
  }
}
