import http2, { type ClientHttp2Stream, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http2';
import { resetH2Stream } from '../http/h2-reset';
import type { Host } from './host';
import { takePendingSlot, type PendingLimit } from './pending-slot';
import type { PoolError } from './pool/pool-error';
import { isUnprocessedStreamFailure } from './pool/unprocessed-stream';
import type { UpstreamFailure, UpstreamHandler, UpstreamRequest } from './upstream-request';

const { NGHTTP2_CANCEL, NGHTTP2_NO_ERROR, NGHTTP2_REFUSED_STREAM } = http2.constants;
const END_STREAM_FLAG = 0x1;
/** The H2Upstream a stream belongs to, so the stream's listeners can be shared functions. */
const kUpstream = Symbol('legate.h2Upstream');
type OwnedStream = ClientHttp2Stream & { [kUpstream]: H2Upstream };


/** One request over a pooled HTTP/2 session to a host. */
export class H2Upstream implements UpstreamRequest {
  private stream: ClientHttp2Stream | undefined;
  private cancelled = false;
  private finished = false;
  private gotHeaders = false;
  /** The response is complete by its own framing: END_STREAM on the headers, or trailers. */
  private framedComplete = false;
  private contentLength = -1;
  private bodyBytes = 0;
  /** 'end' seen, completion to be confirmed by 'close' (rstCode). */
  private endPending = false;
  private pending: { cancel(): void } | undefined;

  /** This request holds a slot of the pending-requests circuit breaker. */
  private pendCharged = false;

  constructor(
    private readonly host: Host,
    private readonly headers: OutgoingHttpHeaders,
    private readonly handler: UpstreamHandler,
    private readonly grpc: boolean,
    private readonly pendingLimit?: PendingLimit,
  ) {}

  /**
   * Asks the pool for a stream. Separate from the constructor because the pool may answer
   * synchronously (a ready session with room), and the router must already hold this object.
   * A request that would have to wait takes a max_pending_requests slot first; without one it
   * fails with `overflow` before anything is queued or connected (Envoy's newStreamImpl).
   */
  start(): void {
    const pool = this.host.h2Pool();
    const slot = takePendingSlot(this.pendingLimit, pool.wouldQueue());
    if (slot === 'overflow') {
      this.fail({ kind: 'overflow', message: 'pending overflow', unprocessed: true });
      return;
    }
    this.pendCharged = slot;
    this.pending = pool.request(this.headers, this.onStream);
  }

  private releasePending(): void {
    if (!this.pendCharged) return;
    this.pendCharged = false;
    this.pendingLimit!.unpend();
  }

  write(chunk: Buffer): boolean {
    return this.stream ? this.stream.write(chunk) : true;
  }

  onDrain(cb: () => void): void {
    this.stream?.once('drain', cb);
  }

  end(): void {
    if (this.stream && !this.stream.writableEnded) this.stream.end();
  }

  pause(): void {
    this.stream?.pause();
  }

  resume(): void {
    this.stream?.resume();
  }

  cancel(): void {
    if (this.cancelled || this.finished) return;
    this.cancelled = true;
    if (this.stream) {
      // Never END_STREAM: the upstream must not take a cut-off request for a complete one.
      resetH2Stream(this.stream, NGHTTP2_CANCEL);
    } else {
      this.pending?.cancel();
      this.releasePending();
    }
  }

  private readonly onStream = (err: PoolError | null, stream?: ClientHttp2Stream, info?: { readonly localEndpoint: string }): void => {
    this.releasePending();
    if (this.cancelled) {
      if (stream) resetH2Stream(stream, NGHTTP2_CANCEL);
      return;
    }
    if (err || !stream) {
      this.fail({
        kind: err?.kind === 'overflow' ? 'overflow' : 'connection_failure',
        message: err?.message ?? 'no stream',
        unprocessed: true,
      });
      return;
    }
    this.stream = stream;
    // Shared listeners (no closures per request); they find this object through the stream.
    (stream as OwnedStream)[kUpstream] = this;
    stream.on('response', H2Upstream.onResponse);
    stream.on('data', H2Upstream.onData);
    stream.on('trailers', H2Upstream.onTrailers);
    stream.on('end', H2Upstream.onEnd);
    stream.on('close', H2Upstream.onClose);
    stream.on('error', H2Upstream.onError);
    this.handler.onUpstreamReady(info ? info.localEndpoint : '');
  };

  private static onResponse(this: OwnedStream, headers: IncomingHttpHeaders, flags: number): void {
    this[kUpstream].handleResponse(headers, flags);
  }

  private static onData(this: OwnedStream, chunk: Buffer): void {
    this[kUpstream].handleData(chunk);
  }

  private static onTrailers(this: OwnedStream, trailers: IncomingHttpHeaders): void {
    this[kUpstream].handleTrailers(trailers);
  }

  private static onEnd(this: OwnedStream): void {
    this[kUpstream].handleEnd();
  }

  private static onClose(this: OwnedStream): void {
    this[kUpstream].handleClose();
  }

  private static onError(this: OwnedStream, err: Error): void {
    this[kUpstream].error = err;
  }

  private handleResponse(headers: IncomingHttpHeaders, flags: number): void {
    // After cancel() the router has moved on (retry, timeout, client gone): stay silent.
    if (this.cancelled || this.finished) return;
    const status = Number(headers[':status']);
    if (status >= 100 && status < 200) return; // interim (100-continue): not forwarded yet
    this.gotHeaders = true;
    const endStream = (flags & END_STREAM_FLAG) !== 0;
    if (endStream) this.framedComplete = true;
    const cl = headers['content-length'];
    if (cl !== undefined) this.contentLength = Number(cl);
    this.handler.onUpstreamHeaders(headers, endStream);
  }

  private handleData(chunk: Buffer): void {
    if (this.cancelled || this.finished) return;
    this.bodyBytes += chunk.length;
    this.handler.onUpstreamData(chunk);
  }

  private handleTrailers(trailers: IncomingHttpHeaders): void {
    if (this.cancelled || this.finished) return;
    this.framedComplete = true;
    this.handler.onUpstreamTrailers(trailers);
  }

  /**
   * Node emits 'end' both for a real END_STREAM and for a response cut short (the peer's
   * RST_STREAM or a dropped connection), so completion is decided from the framing:
   * trailers or END_STREAM on the headers are certain; a gRPC response without trailers
   * is not complete; otherwise the body must match content-length and, if our side is
   * done, the stream must close without an error code. A RST_STREAM(NO_ERROR) that follows a
   * complete response (the peer did not need the rest of our body) is success.
   */
  private handleEnd(): void {
    if (this.finished || this.cancelled) return;
    if (this.framedComplete) return this.succeed();
    if (this.grpc || (this.contentLength >= 0 && this.bodyBytes !== this.contentLength)) {
      this.fail({ kind: 'remote_reset', message: 'response ended before completion', unprocessed: false });
      return;
    }
    const stream = this.stream!;
    if (stream.rstCode !== undefined) {
      if (stream.rstCode === NGHTTP2_NO_ERROR) this.succeed();
      else this.fail({ kind: 'remote_reset', message: `remote reset (code ${stream.rstCode})`, unprocessed: false, h2Code: stream.rstCode });
      return;
    }
    // Our request side is still open: the stream will not close until it ends, so the
    // response's own END_STREAM is all there is to go on.
    if (!stream.writableEnded) return this.succeed();
    this.endPending = true;
  }

  private succeed(): void {
    if (this.finished || this.cancelled) return;
    this.finished = true;
    this.handler.onUpstreamEnd();
  }

  /** The stream's error, kept to tell a stream reset from a lost connection at 'close'. */
  private error: (Error & { code?: string }) | undefined;

  private handleClose(): void {
    if (this.finished || this.cancelled) return;
    const stream = this.stream!;
    const code = stream.rstCode;
    if (this.endPending && code === NGHTTP2_NO_ERROR) {
      this.succeed();
      return;
    }
    // ERR_HTTP2_STREAM_ERROR: the peer reset this stream. Anything else (session error,
    // the pool destroying a dead session, a socket error): the connection went away.
    const sessionGone = this.error !== undefined && this.error.code !== 'ERR_HTTP2_STREAM_ERROR';
    const unprocessed = !this.gotHeaders && (code === NGHTTP2_REFUSED_STREAM || isUnprocessedStreamFailure(stream));
    this.fail({
      kind: sessionGone && code !== NGHTTP2_REFUSED_STREAM ? 'connection_termination' : 'remote_reset',
      message: sessionGone ? 'connection termination' : `remote reset (code ${code})`,
      unprocessed,
      h2Code: code,
    });
  }

  private fail(f: UpstreamFailure): void {
    if (this.finished || this.cancelled) return;
    this.finished = true;
    this.handler.onUpstreamFailure(f);
  }
}
