/**
 * One HTTP/2 stream of the frame-level core: a plain record (no Duplex, no emitter). The
 * owner reacts through a {@link StreamHandler}; the connection does all the framing.
 */
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http2';
import type { H2Connection } from './h2-connection';

export interface StreamHandler {
  /** Headers (request or response), then possibly trailers; `endStream` ends the peer's side. */
  onHeaders(stream: H2Stream, headers: IncomingHttpHeaders, endStream: boolean): void;
  /** A DATA payload (may be empty with `endStream`). Hand it on, then call `connection.consumed()`. */
  onData(stream: H2Stream, chunk: Buffer, endStream: boolean): void;
  /**
   * The stream ended abnormally: the peer reset it (`code` is its RST_STREAM code), or the
   * connection went away (`connectionGone`), or a GOAWAY said it was never processed
   * (`code` REFUSED_STREAM). Not called for a stream reset locally.
   */
  onReset(stream: H2Stream, code: number, connectionGone: boolean): void;
  /** Data that waited for flow-control window has all been sent (the stream may have closed with it). */
  onWritable(stream: H2Stream): void;
  /** Both sides ended and the stream is gone (not called for resets). */
  onComplete?(stream: H2Stream): void;
}

export class H2Stream {
  /** The connection the stream belongs to (set when it is created). */
  connection!: H2Connection;
  /** Owner's context (the router object): lets handlers be shared functions, not closures. */
  context: unknown;
  /** Our side has sent END_STREAM (or will, after the queued data). */
  localEnded = false;
  /** The peer has sent END_STREAM. */
  remoteEnded = false;
  /** Removed from the connection (both sides ended, or reset). */
  closed = false;
  /** Headers received (so a later HEADERS block is trailers, after any 1xx). */
  headersReceived = false;
  headersSent = false;
  sendWindow: number;
  recvWindow: number;
  /** Bytes received and handed to the owner, not yet returned to the peer by WINDOW_UPDATE. */
  recvUnacked = 0;
  /** Data waiting for window: chunks and the offset already sent of the first one. */
  pending: Buffer[] | undefined;
  pendingOffset = 0;
  /** In its connection's list of streams waiting for window (at most once). */
  inBlocked = false;
  /** Send END_STREAM (or these trailers) once `pending` is empty. */
  pendingEnd = false;
  /** Kept unencoded: HPACK blocks must be encoded in the order they go on the wire. */
  pendingTrailers: OutgoingHttpHeaders | undefined;
  /** Length of the DATA received so far and the content-length it must match (-1: none). */
  receivedBytes = 0;
  declaredLength = -1;
  /** RST_STREAM code when the stream was reset (either side). */
  rstCode: number | undefined;

  constructor(
    readonly id: number,
    public handler: StreamHandler,
    sendWindow: number,
    recvWindow: number,
  ) {
    this.sendWindow = sendWindow;
    this.recvWindow = recvWindow;
  }
}
