import http2, { type ClientHttp2Stream, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http2';
import type { Host } from './host';
import { isUnprocessedStreamFailure, type PoolError } from './pool/h2-host-pool';
import type { UpstreamFailure, UpstreamHandler, UpstreamRequest } from './upstream-request';

const { NGHTTP2_CANCEL, NGHTTP2_NO_ERROR, NGHTTP2_REFUSED_STREAM } = http2.constants;
const END_STREAM_FLAG = 0x1;

/** One request over a pooled HTTP/2 session to a host. */
export class H2Upstream implements UpstreamRequest {
  private stream: ClientHttp2Stream | undefined;
  private cancelled = false;
  private finished = false;
  private gotHeaders = false;
  private ended = false;
  private readonly pending: { cancel(): void } | undefined;

  constructor(host: Host, headers: OutgoingHttpHeaders, private readonly handler: UpstreamHandler) {
    this.pending = host.h2Pool().request(headers, this.onStream);
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
      if (!this.stream.destroyed) this.stream.close(NGHTTP2_CANCEL);
    } else {
      this.pending?.cancel();
    }
  }

  private readonly onStream = (err: PoolError | null, stream?: ClientHttp2Stream, info?: { localAddress: string; localPort: number }): void => {
    if (this.cancelled) {
      if (stream && !stream.destroyed) stream.close(NGHTTP2_CANCEL);
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
    stream.on('response', this.onResponse);
    stream.on('data', this.onData);
    stream.on('trailers', this.onTrailers);
    stream.on('end', this.onEnd);
    stream.on('close', this.onClose);
    stream.on('error', this.onError);
    this.handler.onUpstreamReady(info ? `${info.localAddress}:${info.localPort}` : '');
  };

  private readonly onResponse = (headers: IncomingHttpHeaders, flags: number): void => {
    const status = Number(headers[':status']);
    if (status >= 100 && status < 200) return; // interim (100-continue): not forwarded yet
    this.gotHeaders = true;
    this.handler.onUpstreamHeaders(headers, (flags & END_STREAM_FLAG) !== 0);
  };

  private readonly onData = (chunk: Buffer): void => {
    this.handler.onUpstreamData(chunk);
  };

  private readonly onTrailers = (trailers: IncomingHttpHeaders): void => {
    this.handler.onUpstreamTrailers(trailers);
  };

  private readonly onEnd = (): void => {
    // END_STREAM received: the response is complete. A RST_STREAM(NO_ERROR) that may
    // follow (the server did not need the rest of our body) is not an error.
    this.ended = true;
    if (this.finished) return;
    this.finished = true;
    this.handler.onUpstreamEnd();
  };

  private readonly onError = (): void => {
    // Surfaced through 'close' with rstCode; listening prevents an unhandled 'error'.
  };

  private readonly onClose = (): void => {
    if (this.finished || this.cancelled) return;
    const stream = this.stream!;
    const code = stream.rstCode;
    if (this.ended || (code === NGHTTP2_NO_ERROR && this.gotHeaders && stream.readableEnded)) {
      this.finished = true;
      this.handler.onUpstreamEnd();
      return;
    }
    const sessionGone = stream.session === undefined || stream.session.destroyed || stream.session.closed;
    const unprocessed = !this.gotHeaders && (code === NGHTTP2_REFUSED_STREAM || isUnprocessedStreamFailure(stream));
    this.fail({
      kind: sessionGone && code !== NGHTTP2_REFUSED_STREAM ? 'connection_termination' : 'remote_reset',
      message: sessionGone ? 'connection termination' : `remote reset (code ${code})`,
      unprocessed,
      h2Code: code,
    });
  };

  private fail(f: UpstreamFailure): void {
    if (this.finished) return;
    this.finished = true;
    this.handler.onUpstreamFailure(f);
  }
}
