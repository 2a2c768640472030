import http2, { type IncomingHttpHeaders, type OutgoingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import type { Readable } from 'node:stream';
import type { Downstream, DownstreamCloseListener } from './downstream';
import { resetH2Stream } from './h2-reset';

const EMPTY_TRAILERS: OutgoingHttpHeaders = {};
/** The H2Downstream a stream belongs to, so the stream's listeners can be shared functions. */
const kDownstream = Symbol('legate.h2Downstream');
type OwnedStream = ServerHttp2Stream & { [kDownstream]: H2Downstream };

/** A downstream HTTP/2 stream (node:http2 core API). */
export class H2Downstream implements Downstream {
  readonly protocol = 'HTTP/2' as const;
  readonly body: Readable;
  private trailers: OutgoingHttpHeaders | undefined;
  private closeListener: DownstreamCloseListener | undefined;
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
    /** The original destination restored by original_dst (ORIGINAL_DST clusters connect to it). */
    readonly originalDst: string | undefined = undefined,
  ) {
    this.body = stream;
    this.session = stream.session;
    // Shared listeners (no closures per request); they find this object through the stream.
    (stream as OwnedStream)[kDownstream] = this;
    stream.on('close', H2Downstream.onStreamClose);
    // Errors surface through 'close' (rstCode); an unhandled 'error' would crash the process.
    stream.on('error', noop);
    // node may deliver END_STREAM before nghttp2 resets a stream whose body contradicts its
    // content-length; counting lets the router refuse to complete such a request upstream.
    const cl = headers['content-length'];
    this.declaredLength = cl === undefined ? -1 : Number(cl);
    if (this.declaredLength >= 0) stream.on('data', H2Downstream.countBody);
  }

  bodyMatchesContentLength(): boolean {
    return this.declaredLength < 0 || this.receivedLength === this.declaredLength;
  }

  private static countBody(this: OwnedStream, chunk: Buffer): void {
    this[kDownstream].receivedLength += chunk.length;
  }

  get headersSent(): boolean {
    return this.stream.headersSent;
  }

  get closed(): boolean {
    return this.done || this.stream.destroyed;
  }

  respond(headers: OutgoingHttpHeaders, endStream: boolean, expectTrailers: boolean): void {
    if (this.closed) return;
    this.stream.respond(headers, { endStream, waitForTrailers: expectTrailers && !endStream });
    if (expectTrailers && !endStream) this.stream.once('wantTrailers', H2Downstream.onWantTrailers);
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
    // Never END_STREAM first: a client must not take a cut-off response for a complete one.
    resetH2Stream(this.stream, h2Code);
  }

  onClose(listener: DownstreamCloseListener): void {
    this.closeListener = listener;
  }

  private static onWantTrailers(this: OwnedStream): void {
    // An empty HEADERS frame with END_STREAM is valid HTTP/2 when the upstream sent none.
    this.sendTrailers(this[kDownstream].trailers ?? EMPTY_TRAILERS);
  }

  private static onStreamClose(this: OwnedStream): void {
    this[kDownstream].handleStreamClose();
  }

  private handleStreamClose(): void {
    if (this.done) return;
    this.done = true;
    const code = this.stream.rstCode;
    const remoteReset = !this.localReset && code !== undefined && code !== http2.constants.NGHTTP2_NO_ERROR;
    const session = this.session;
    const connectionGone = session === undefined || session.destroyed;
    this.closeListener?.onDownstreamClose(remoteReset || (!this.stream.writableFinished && !this.localReset), connectionGone);
  }
}

function noop(): void {}
