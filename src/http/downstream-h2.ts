import http2, { type IncomingHttpHeaders, type OutgoingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import type { Readable } from 'node:stream';
import type { Downstream } from './downstream';

const EMPTY_TRAILERS: OutgoingHttpHeaders = {};

/** A downstream HTTP/2 stream (node:http2 core API). */
export class H2Downstream implements Downstream {
  readonly protocol = 'HTTP/2' as const;
  readonly body: Readable;
  private trailers: OutgoingHttpHeaders | undefined;
  private closeCb: ((remoteReset: boolean, connectionGone: boolean) => void) | undefined;
  private localReset = false;
  private done = false;
  /** Kept because `stream.session` is cleared once the stream closes. */
  private readonly session: http2.Http2Session | undefined;
  /** content-length of the request, when it has one; -1 otherwise. */
  private readonly declaredLength: number;
  private receivedLength = 0;

  constructor(
    private readonly stream: ServerHttp2Stream,
    readonly headers: IncomingHttpHeaders,
    readonly localAddress: string,
    readonly remoteAddress: string,
  ) {
    this.body = stream;
    this.session = stream.session;
    stream.on('close', this.onStreamClose);
    // Errors surface through 'close' (rstCode); an unhandled 'error' would crash the process.
    stream.on('error', noop);
    // node may deliver END_STREAM before nghttp2 resets a stream whose body contradicts its
    // content-length; counting lets the router refuse to complete such a request upstream.
    const cl = headers['content-length'];
    this.declaredLength = cl === undefined ? -1 : Number(cl);
    if (this.declaredLength >= 0) stream.on('data', this.countBody);
  }

  bodyMatchesContentLength(): boolean {
    return this.declaredLength < 0 || this.receivedLength === this.declaredLength;
  }

  private readonly countBody = (chunk: Buffer): void => {
    this.receivedLength += chunk.length;
  };

  get headersSent(): boolean {
    return this.stream.headersSent;
  }

  get closed(): boolean {
    return this.done || this.stream.destroyed;
  }

  respond(headers: OutgoingHttpHeaders, endStream: boolean, expectTrailers: boolean): void {
    if (this.closed) return;
    this.stream.respond(headers, { endStream, waitForTrailers: expectTrailers && !endStream });
    if (expectTrailers && !endStream) this.stream.once('wantTrailers', this.onWantTrailers);
  }

  write(chunk: Buffer): boolean {
    if (this.closed) return true;
    return this.stream.write(chunk);
  }

  onDrain(cb: () => void): void {
    this.stream.once('drain', cb);
  }

  end(trailers: OutgoingHttpHeaders | undefined): void {
    if (this.closed) return;
    this.trailers = trailers;
    this.stream.end();
  }

  reset(h2Code: number): void {
    if (this.closed) return;
    this.localReset = true;
    this.stream.close(h2Code);
  }

  onClose(cb: (remoteReset: boolean, connectionGone: boolean) => void): void {
    this.closeCb = cb;
  }

  private readonly onWantTrailers = (): void => {
    // An empty HEADERS frame with END_STREAM is valid HTTP/2 when the upstream sent none.
    this.stream.sendTrailers(this.trailers ?? EMPTY_TRAILERS);
  };

  private readonly onStreamClose = (): void => {
    if (this.done) return;
    this.done = true;
    const code = this.stream.rstCode;
    const remoteReset = !this.localReset && code !== undefined && code !== http2.constants.NGHTTP2_NO_ERROR;
    const session = this.session;
    const connectionGone = session === undefined || session.destroyed;
    this.closeCb?.(remoteReset || (!this.stream.writableFinished && !this.localReset), connectionGone);
  };
}

function noop(): void {}
